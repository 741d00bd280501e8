"""加强监测: scan a section's sources more often for a while, then go back by itself.

A window per section is stored with its until-time (``store.intensify``), so it
survives a restart. While it lasts, the section's sources are scanned every
`[warning] intensify_every` (or their own interval, when shorter). `sync_scan_jobs`
runs every minute: it closes windows that ended (and says so in the section and
office chats) and reschedules the scan jobs whose interval should change.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.triggers.interval import IntervalTrigger

from bot import notify
from bot.alerts import Intensify
from bot.models import OutboxMessage

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.app import App
    from bot.config import Settings, Source
    from bot.patrol_reminders import Host
    from bot.store import Store

logger = logging.getLogger(__name__)

MAX_HOURS = 72


def start(
    store: Store, sections: list[str], hours: int, by: str, now: datetime
) -> list[Intensify]:
    """Open (or extend, or shorten) the window of each of `sections`."""
    until = now + timedelta(hours=hours)
    windows = [Intensify(section, until, by, now) for section in sections]
    for window in windows:
        store.intensify.put(window)
    logger.info("intensify started sections=%s until=%s", ",".join(sections), until)
    return windows


def stop(store: Store, sections: list[str]) -> list[str]:
    """End the windows of `sections` now; the sections that had one."""
    return [s for s in sections if store.intensify.remove(s)]


def active(store: Store, now: datetime) -> dict[str, Intensify]:
    """The windows still running at `now`, by section."""
    return {w.section: w for w in store.intensify.all() if w.until > now}


def interval_for(
    source: Source, windows: dict[str, Intensify], every: timedelta
) -> timedelta:
    """How often `source` should be scanned under the running `windows`."""
    if source.section in windows:
        return min(source.interval, every)
    return source.interval


def close_ended(host: Host, now: datetime) -> list[OutboxMessage]:
    """Remove the windows that ended by `now`; the messages saying so."""
    settings = host.settings
    messages = []
    for window in host.store.intensify.ended(now):
        host.store.intensify.remove(window.section)
        name = settings.section_name(window.section)
        text = host.renderer.render(
            "warnings/intensify_ended.j2", w=window, section=name
        )
        messages += _to_section_and_office(settings, window.section, text, now)
        logger.info("intensify ended section=%s", window.section)
    return messages


def _to_section_and_office(
    settings: Settings, section_id: str, text: str, now: datetime
) -> list[OutboxMessage]:
    chats = []
    section = settings.section(section_id)
    if section is not None and section.chat:
        chats.append(section.chat)
    if settings.office.chat and settings.office.chat not in chats:
        chats.append(settings.office.chat)
    return [notify.markdown(settings.chat(chat), text, now) for chat in chats]


async def sync_scan_jobs(scheduler: AsyncIOScheduler, app: App) -> None:
    """Close ended windows and give each scan job the interval it should have now."""
    try:
        now = app.now()
        messages = close_ended(app, now)
        windows = active(app.store, now)
        every = app.settings.warning.intensify_span
        for job in scheduler.get_jobs():
            if not job.id.startswith("scan:") or not job.args:
                continue
            source = job.args[0]
            wanted = interval_for(source, windows, every)
            if getattr(job.trigger, "interval", wanted) == wanted:
                continue
            seconds = wanted.total_seconds()
            job.reschedule(IntervalTrigger(seconds=seconds, timezone=app.settings.tz))
            if wanted < source.interval:
                job.modify(next_run_time=now)  # start scanning often at once
            logger.info(
                "scan job rescheduled source=%s every_s=%d", source.name, seconds
            )
        if messages:
            app.outbox.enqueue(messages)
            await app.deliver()
    except Exception:
        # Boundary of a scheduled job: log it, try again next minute.
        logger.exception("intensify job failed")
