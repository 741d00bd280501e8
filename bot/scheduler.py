"""Scheduled work in the bot's event loop: scans, ticket reminders, housekeeping.

APScheduler (3.x, asyncio flavour) with the bot's time zone. A job that overran is
not stacked (one instance per source) and missed runs are coalesced into one.
Patrol checks and briefings join here in later versions.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.crawlers import crawler_for
from bot.watch import add_watch_jobs

if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Source

logger = logging.getLogger(__name__)


def build_scheduler(app: App) -> AsyncIOScheduler:
    """One scan job per source, reminders every minute, nightly expiry of seen items."""
    scheduler = AsyncIOScheduler(timezone=app.settings.tz)
    for source in app.settings.sources:
        if not source.enabled:
            continue
        if crawler_for(source.kind) is None:
            logger.warning(
                "source skipped, kind not supported yet source=%s kind=%s",
                source.name,
                source.kind,
            )
            continue
        _add_scan_job(scheduler, app, source)
    scheduler.add_job(
        app.chase,
        IntervalTrigger(minutes=1, timezone=app.settings.tz),
        id="chase",
        name="ticket reminders",
        next_run_time=app.now(),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=300,
    )
    # Every minute rather than at fixed times: a bot started late still catches up.
    scheduler.add_job(
        app.patrol_check,
        IntervalTrigger(minutes=1, timezone=app.settings.tz),
        id="patrol",
        name="patrol reminders",
        next_run_time=app.now(),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=300,
    )
    weekly = app.settings.supervision
    if weekly.weekly:
        scheduler.add_job(
            app.weekly_supervision,
            CronTrigger(
                day_of_week=weekly.weekday,
                hour=weekly.at.hour,
                minute=weekly.at.minute,
                timezone=app.settings.tz,
            ),
            id="weekly-supervision",
            name="weekly supervision report",
            coalesce=True,
            misfire_grace_time=6 * 3600,
        )
    scheduler.add_job(
        app.expire_seen,
        CronTrigger(hour=3, minute=30, timezone=app.settings.tz),
        id="expire-seen",
        name="expire seen items",
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    scheduler.add_job(
        sync_chat_sources,
        IntervalTrigger(minutes=1, timezone=app.settings.tz),
        args=[scheduler, app],
        id="sync-sources",
        name="scan jobs of sources added in chat",
        next_run_time=app.now(),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=300,
    )
    add_watch_jobs(scheduler, app)  # warnings, briefings, 加强监测
    return scheduler


async def sync_chat_sources(scheduler: AsyncIOScheduler, app: App) -> None:
    """Start scan jobs for sources added in chat and stop those of removed ones.

    Runs every minute, so a source added or removed in chat is picked up without a
    restart. Config sources keep the jobs `build_scheduler` gave them; a paused
    source keeps its job too (the scanner skips it).
    """
    configured = {s.name for s in app.settings.sources}
    wanted = {
        s.name: s
        for s in app.scanner.sources()
        if s.name not in configured and s.enabled and crawler_for(s.kind) is not None
    }
    for job in scheduler.get_jobs():
        name = job.id.removeprefix("scan:")
        if job.id == name or name in configured:
            continue
        if wanted.get(name) != job.args[0]:
            scheduler.remove_job(job.id)
            logger.info("scan job stopped source=%s", name)
    running = {job.id for job in scheduler.get_jobs()}
    for name, source in wanted.items():
        if f"scan:{name}" not in running:
            _add_scan_job(scheduler, app, source)
            logger.info("scan job started source=%s every=%s", name, source.every)


def _add_scan_job(scheduler: AsyncIOScheduler, app: App, source: Source) -> None:
    """Scan `source` now and then every `source.every`, never two scans at once."""
    seconds = source.interval.total_seconds()
    scheduler.add_job(
        app.scan_one,
        IntervalTrigger(seconds=seconds, timezone=app.settings.tz),
        args=[source],
        id=f"scan:{source.name}",
        name=f"scan {source.name}",
        next_run_time=app.now(),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=int(seconds),
    )
