"""`[patrol]`: the daily patrol plan (监控日志): reminder time, cutoff, default scope.

On every working day each monitor records at least one patrol. At `remind_at` the
section chats get the day's prompt, naming the monitors still missing; at `cutoff`
the heads and the office are told who is still missing. What is due when is left
to `bot.patrol_reminders`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path

from bot.errors import ConfigError

DEFAULT_SCOPE = "按关键词巡查搜索引擎、新闻媒体、留言板、微博、论坛"
_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _clock(text: str) -> time:
    m = _AT.match(text.strip())
    assert m is not None  # checked at load
    return time(int(m[1]), int(m[2]))


@dataclass(frozen=True)
class PatrolSettings:
    """`[patrol]`: reminders at `remind_at`, who is missing at `cutoff` (HH:MM)."""

    enabled: bool = True  # false: no reminders or cutoff notices (commands stay)
    remind_at: str = "16:00"
    cutoff: str = "17:30"
    scope: str = DEFAULT_SCOPE  # what a patrol covers when 巡查 names nothing

    @property
    def remind_time(self) -> time:
        return _clock(self.remind_at)

    @property
    def cutoff_time(self) -> time:
        return _clock(self.cutoff)

    def check(self, key: str, file: Path) -> None:
        for name in ("remind_at", "cutoff"):
            text = getattr(self, name)
            if not _AT.match(text.strip()):
                raise ConfigError(
                    file,
                    f"{key}.{name}",
                    f'"{text}" 不是时刻，应写成 "HH:MM"，如 "16:00"',
                )
        if self.cutoff_time <= self.remind_time:
            raise ConfigError(
                file,
                f"{key}.cutoff",
                f'"{self.cutoff}" 应晚于提醒时间 remind_at "{self.remind_at}"'
                "（先提醒，截止时再告知负责人和办公室）",
            )
        if not self.scope.strip():
            raise ConfigError(
                file,
                f"{key}.scope",
                f'不能为空；删去此项则使用默认值 "{DEFAULT_SCOPE}"',
            )
