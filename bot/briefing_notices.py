"""Send briefings (舆情简报): the daily one on working days, the weekly and the
monthly one with a trend chart, each once (a marker per day in the store).

`briefing_tick` runs every minute, like the patrol notices: a bot started after
the configured time still sends that day's briefing, a restart does not repeat
it. Briefings go to the office chat and, when the leaders have their own, to
theirs. The chart is sent as a PNG file (WeCom channels here have no image
kind); where a chat cannot take files (AI bot) it goes to the office members
through the self-built app, or the text says where it lies on the server.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot import briefing, chart, notify
from bot.config_wecom import ChatAddress
from bot.models import OutboxMessage

if TYPE_CHECKING:
    from bot.briefing import Briefing
    from bot.config import Settings
    from bot.patrol_reminders import Host
    from bot.render import Renderer

logger = logging.getLogger(__name__)

DAILY, WEEKLY, MONTHLY = "briefing-daily", "briefing-weekly", "briefing-monthly"
TITLES = {
    "今日": "舆情日报",
    "本周": "舆情周报",
    "本月": "舆情月报",
    "上月": "舆情月报",
}


def render(
    renderer: Renderer, settings: Settings, brief: Briefing, chart_note: str = ""
) -> str:
    """The briefing as chat markdown."""
    return renderer.render(
        "briefing/briefing.j2",
        b=brief,
        title=TITLES[brief.period.name],
        bot=settings.bot.name,
        names=settings.names,
        section_name=settings.section_name,
        chart_note=chart_note,
    )


def chart_file(settings: Settings, brief: Briefing) -> Path:
    """Draw the briefing's trend chart under ``<data_dir>/exports/``."""
    p = brief.period
    title = f"{TITLES[p.name]} 每日命中（{p.start:%m-%d} 至 {p.end:%m-%d}）"
    out = settings.data_dir / "exports" / f"简报-{p.start}-{p.end}-趋势.png"
    return chart.trend_png(brief.per_day, title, out)


def file_address(settings: Settings, chat: ChatAddress) -> ChatAddress | None:
    """Where a file meant for `chat` can go; None when nowhere."""
    if chat.channel != "aibot":
        return chat
    if settings.has_wecom_app and settings.office.members:
        return ChatAddress("app", "|".join(settings.office.members))
    return None


def briefing_messages(
    host: Host, brief: Briefing, now: datetime
) -> list[OutboxMessage]:
    """The briefing text for the office (and leaders') chat, plus the chart."""
    settings = host.settings
    chats = [settings.chat(settings.office.chat)]
    if settings.leaders.chat and settings.leaders.chat != settings.office.chat:
        chats.append(settings.chat(settings.leaders.chat))
    png = chart_file(settings, brief) if brief.period.is_long else None
    messages = []
    for chat in chats:
        to = file_address(settings, chat) if png else None
        note = ""
        if png is not None:
            note = "趋势图见随后的图片文件。" if to else f"趋势图已保存在服务器：{png}"
        messages.append(
            notify.markdown(chat, render(host.renderer, settings, brief, note), now)
        )
        if png is not None and to is not None:
            body: dict[str, object] = {"path": str(png), "filename": png.name}
            messages.append(
                OutboxMessage(to.channel, to.id, "file", body, created_at=now)
            )
    return messages


def due(host: Host, now: datetime) -> list[tuple[str, str]]:
    """The (marker, period) briefings due at `now` and not sent today."""
    plan = host.settings.briefing
    today = now.date()
    wanted = []
    if host.calendar.is_workday(today) and now.time() >= plan.daily_time:
        wanted.append((DAILY, "今日"))
    if (
        plan.weekly
        and today.weekday() == plan.weekday
        and now.time() >= plan.weekly_time
    ):
        wanted.append((WEEKLY, "本周"))
    if (
        plan.monthly
        and today.day == plan.monthly_day
        and now.time() >= plan.monthly_time
    ):
        wanted.append((MONTHLY, "上月"))
    return [(k, p) for k, p in wanted if not host.store.patrol_marks.has(k, today)]


def briefing_tick(host: Host, now: datetime) -> int:
    """Queue the briefings due at `now`; how many messages."""
    if not host.settings.briefing.enabled:
        return 0
    queued = 0
    for kind, name in due(host, now):
        chosen = briefing.period(name, now.date(), host.calendar)
        brief = briefing.build(
            host.settings,
            host.store,
            host.calendar,
            chosen,
            now,
            top=host.settings.briefing.top,
        )
        messages = briefing_messages(host, brief, now)
        # Queued before the marker: a crash in between repeats one, never loses it.
        host.outbox.enqueue(messages)
        host.store.patrol_marks.add(kind, now.date(), now)
        queued += len(messages)
        logger.info(
            "briefing queued kind=%s start=%s end=%s hits=%d messages=%d",
            kind,
            chosen.start,
            chosen.end,
            brief.total,
            len(messages),
        )
    return queued


def expire_charts(settings: Settings, now: datetime, keep: timedelta) -> int:
    """Delete chart PNGs older than `keep` from the exports folder; how many."""
    folder = settings.data_dir / "exports"
    cut = (now - keep).timestamp()
    old = [p for p in folder.glob("简报-*.png") if p.stat().st_mtime < cut]
    for path in old:
        path.unlink(missing_ok=True)
    return len(old)
