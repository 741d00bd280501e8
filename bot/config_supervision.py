"""`[supervision]`: when the weekly supervision report (督查周报) goes out."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from bot.errors import ConfigError

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class SupervisionSettings:
    """The weekly report to the office chat: on `weekly_day` at `weekly_at`."""

    weekly: bool = True
    weekly_day: str = "周五"
    weekly_at: str = "16:00"

    @property
    def weekday(self) -> int:
        """0 for Monday ... 6 for Sunday."""
        return WEEKDAYS.index(self.weekly_day)

    @property
    def at(self) -> time:
        m = _AT.match(self.weekly_at)
        assert m is not None  # checked at load
        return time(int(m[1]), int(m[2]))

    def check(self, key: str, file: Path) -> None:
        if self.weekly_day not in WEEKDAYS:
            raise ConfigError(
                file, f"{key}.weekly_day", f"应为 {'、'.join(WEEKDAYS)} 之一"
            )
        if not _AT.match(self.weekly_at):
            raise ConfigError(
                file, f"{key}.weekly_at", f'"{self.weekly_at}" 无效，应如 "16:00"'
            )
