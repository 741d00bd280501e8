"""``python -m bot check``: validate the configuration and say what would run.

Prints a Chinese report for the operator: sections and people, sources (and whether
their kind is supported yet), rules, channels, data directory and holiday coverage
for the next 30 days. Exit code 0 when the bot can run, 1 when something is broken.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TextIO

from bot.config import Settings
from bot.crawlers import crawler_for
from bot.render import Renderer
from bot.roles import everyone
from bot.workdays import WorkCalendar


def print_check(settings: Settings, out: TextIO, today: date | None = None) -> int:
    """Write the report to `out` and return the exit code."""
    problems: list[str] = []
    warnings: list[str] = []

    sources = []
    for source in settings.sources:
        supported = crawler_for(source.kind) is not None
        if source.enabled and not supported:
            warnings.append(
                f"来源“{source.name}”的类型 {source.kind} 暂不支持，运行时会跳过"
            )
        sources.append({"source": source, "supported": supported})

    for section in settings.sections:
        if not section.monitors:
            warnings.append(f"科室“{section.name}”没有监控人员")
        if not section.heads:
            warnings.append(f"科室“{section.name}”没有负责人，处理单无人批示")

    today = today or datetime.now(settings.tz).date()
    uncovered = WorkCalendar(settings.calendar).uncovered(today, 30)
    if uncovered:
        warnings.append(
            f"未来 30 天中有 {len(uncovered)} 天（{uncovered[0]} 起）"
            "没有官方节假日安排，将按周一至周五计算；"
            "请在 [calendar] 中录入当年的放假和调休安排，并把年份加入 years"
        )
    if not settings.has_wecom_app and not settings.admins and not settings.console.user:
        problems.append(
            "没有企业微信凭据，也没有 admins 或 [console] user，run 无法提供对话"
        )

    out.write(
        Renderer().render(
            "check.j2",
            settings=settings,
            people=len(everyone(settings)),
            sources=sources,
            problems=problems,
            warnings=warnings,
            channel="企业微信自建应用"
            if settings.has_wecom_app
            else "终端对话（未设置企业微信凭据）",
        )
        + "\n"
    )
    return 1 if problems else 0
