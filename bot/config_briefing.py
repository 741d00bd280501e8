"""`[briefing]` and `[warning]`: when briefings (舆情简报) go out, and what raises an
early warning (预警): volume spikes, fast spread, scans that did not run on time.

What the values mean for the hits is left to `bot.warnings` and `bot.briefing`;
quiet hours come from `[tickets] quiet_hours`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path

from bot.config_scan import parse_duration
from bot.config_supervision import WEEKDAYS
from bot.errors import ConfigError

_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def clock(text: str) -> time:
    """``"HH:MM"`` as a time (checked at load)."""
    m = _AT.match(text.strip())
    assert m is not None
    return time(int(m[1]), int(m[2]))


def _check_clock(text: str, key: str, file: Path) -> None:
    if not _AT.match(text.strip()):
        raise ConfigError(file, key, f'"{text}" 不是时刻，应写成 "HH:MM"，如 "17:00"')


def _check_span(
    text: str, key: str, file: Path, low: timedelta, high: timedelta, words: str
) -> timedelta:
    try:
        span = parse_duration(text)
    except ValueError:
        raise ConfigError(
            file, key, f'"{text}" 不是时间间隔，应如 "30m"、"6h"、"14d"'
        ) from None
    if not low <= span <= high:
        raise ConfigError(file, key, f'"{text}" 超出范围，应在 {words} 之间')
    return span


@dataclass(frozen=True)
class BriefingSettings:
    """Daily (working days), weekly and monthly briefings to the office and leaders."""

    enabled: bool = True
    daily_at: str = "17:00"
    weekly: bool = True
    weekly_day: str = "周五"
    weekly_at: str = "16:30"
    monthly: bool = True
    monthly_day: int = 1  # day of month; the briefing covers the previous month
    monthly_at: str = "09:00"
    top: int = 5  # stories listed by spread, sources and rules listed by count

    @property
    def daily_time(self) -> time:
        return clock(self.daily_at)

    @property
    def weekly_time(self) -> time:
        return clock(self.weekly_at)

    @property
    def monthly_time(self) -> time:
        return clock(self.monthly_at)

    @property
    def weekday(self) -> int:
        """0 for Monday ... 6 for Sunday."""
        return WEEKDAYS.index(self.weekly_day)

    def check(self, key: str, file: Path) -> None:
        for name in ("daily_at", "weekly_at", "monthly_at"):
            _check_clock(getattr(self, name), f"{key}.{name}", file)
        if self.weekly_day not in WEEKDAYS:
            raise ConfigError(
                file,
                f"{key}.weekly_day",
                f'"{self.weekly_day}" 无效，应为 {"、".join(WEEKDAYS)} 之一',
            )
        if not 1 <= self.monthly_day <= 28:
            raise ConfigError(
                file,
                f"{key}.monthly_day",
                f"{self.monthly_day} 超出范围，应为 1 到 28（每月都有的日子）",
            )
        if not 1 <= self.top <= 20:
            raise ConfigError(file, f"{key}.top", f"{self.top} 超出范围，应为 1 到 20")


@dataclass(frozen=True)
class WarningSettings:
    """`[warning]`: spikes (mean + k·sd over `window`), spread and late scans.

    A spike compares the hits of the last `bucket` with the counts of the
    `window` of buckets before it; spread counts copies found within
    `spread_within` across distinct sources.
    """

    enabled: bool = True
    window: str = "14d"
    bucket: str = "1d"
    k: float = 3.0
    min_hits: int = 3  # a bucket needs at least this many hits to be a spike
    spread_within: str = "6h"
    spread_copies: int = 5
    spread_sources: int = 3
    scan_grace: str = "15m"  # a scan later than its interval plus this is late
    intensify_every: str = "5m"  # 加强监测: scan interval while it lasts
    keep: str = "180d"  # how long warnings are kept

    @property
    def window_span(self) -> timedelta:
        return parse_duration(self.window)

    @property
    def bucket_span(self) -> timedelta:
        return parse_duration(self.bucket)

    @property
    def spread_span(self) -> timedelta:
        return parse_duration(self.spread_within)

    @property
    def grace_span(self) -> timedelta:
        return parse_duration(self.scan_grace)

    @property
    def intensify_span(self) -> timedelta:
        return parse_duration(self.intensify_every)

    def check(self, key: str, file: Path) -> None:
        hour, day = timedelta(hours=1), timedelta(days=1)
        bucket = _check_span(
            self.bucket, f"{key}.bucket", file, hour, 7 * day, "1h 到 7d"
        )
        window = _check_span(
            self.window, f"{key}.window", file, day, 90 * day, "1d 到 90d"
        )
        if window < 3 * bucket:
            raise ConfigError(
                file,
                f"{key}.window",
                f'"{self.window}" 太短：至少要有 3 个 bucket'
                f"（{self.bucket}）才能算均值和标准差",
            )
        if not 0.5 <= self.k <= 10:
            raise ConfigError(
                file, f"{key}.k", f"{self.k} 超出范围，应在 0.5 到 10 之间"
            )
        for name, low, high in (
            ("min_hits", 1, 1000),
            ("spread_copies", 1, 1000),
            ("spread_sources", 1, 100),
        ):
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigError(
                    file, f"{key}.{name}", f"{value} 超出范围，应为 {low} 到 {high}"
                )
        minute = timedelta(minutes=1)
        _check_span(
            self.spread_within, f"{key}.spread_within", file, hour, 7 * day, "1h 到 7d"
        )
        _check_span(self.scan_grace, f"{key}.scan_grace", file, minute, day, "1m 到 1d")
        _check_span(
            self.intensify_every,
            f"{key}.intensify_every",
            file,
            minute,
            hour,
            "1m 到 1h",
        )
        _check_span(self.keep, f"{key}.keep", file, 7 * day, 3650 * day, "7d 到 3650d")
