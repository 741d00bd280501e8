"""Ticket settings: deadlines per risk level, reminders, escalation, quiet hours.

Defaults follow the State Council's rules on answering government-related public
opinion: a response within 48 hours at the latest for ordinary cases and within
24 hours for major incidents, with the head's instruction (批示) due within the
hour for 重大 and 特别重大 ("own the first hour"). What the values mean for a
ticket is left to `bot.deadlines`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path

from bot.config_scan import LEVELS, parse_duration
from bot.errors import ConfigError

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class LevelDeadlines:
    """How long each step may take at one risk level."""

    instruct: str  # 批示, from 登记
    handle: str  # 办结, from 批示
    working_days: bool  # count only working days (the clock pauses otherwise)

    def check(self, key: str, file: Path) -> None:
        for name in ("instruct", "handle"):
            text = getattr(self, name)
            try:
                span = parse_duration(text)
            except ValueError:
                raise ConfigError(
                    file,
                    f"{key}.{name}",
                    f'"{text}" 不是时间间隔，应如 "30m"、"4h"、"2d"',
                ) from None
            if not timedelta(minutes=5) <= span <= timedelta(days=30):
                raise ConfigError(file, f"{key}.{name}", "应在 5 分钟到 30 天之间")


def _default_levels() -> dict[str, LevelDeadlines]:
    return {
        "一般": LevelDeadlines("1d", "48h", True),
        "较大": LevelDeadlines("4h", "48h", True),
        "重大": LevelDeadlines("1h", "24h", False),
        "特别重大": LevelDeadlines("30m", "24h", False),
    }


@dataclass(frozen=True)
class TicketSettings:
    """`[tickets]`: deadlines by level plus reminder rhythm and quiet hours."""

    remind_before: str = "1h"
    escalate_every: str = "2h"
    quiet_hours: str = "22:00-07:00"
    browser: str = ""  # chromium for evidence screenshots; "" finds one on PATH
    一般: LevelDeadlines = field(default_factory=lambda: _default_levels()["一般"])
    较大: LevelDeadlines = field(default_factory=lambda: _default_levels()["较大"])
    重大: LevelDeadlines = field(default_factory=lambda: _default_levels()["重大"])
    特别重大: LevelDeadlines = field(
        default_factory=lambda: _default_levels()["特别重大"]
    )

    def for_level(self, level: str) -> LevelDeadlines:
        return getattr(self, level if level in LEVELS else "一般")

    @property
    def quiet(self) -> tuple[time, time] | None:
        """Start and end of quiet hours, or None when there are none."""
        if not self.quiet_hours.strip():
            return None
        m = _HOURS.match(self.quiet_hours)
        assert m is not None  # checked at load
        return time(int(m[1]), int(m[2])), time(int(m[3]), int(m[4]))

    def check(self, key: str, file: Path) -> None:
        for name in ("remind_before", "escalate_every"):
            try:
                parse_duration(getattr(self, name))
            except ValueError:
                raise ConfigError(
                    file, f"{key}.{name}", '应为时间间隔，如 "1h"'
                ) from None
        m = _HOURS.match(self.quiet_hours)
        valid = (
            m
            and int(m[1]) < 24
            and int(m[3]) < 24
            and int(m[2]) < 60
            and int(m[4]) < 60
        )
        if self.quiet_hours.strip() and not valid:
            raise ConfigError(
                file,
                f"{key}.quiet_hours",
                f'"{self.quiet_hours}" 无效，应如 "22:00-07:00"，不设则写 ""',
            )
