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

if TYPE_CHECKING:
    from bot.app import App

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
        scheduler.add_job(
            app.scan_one,
            IntervalTrigger(
                seconds=source.interval.total_seconds(), timezone=app.settings.tz
            ),
            args=[source],
            id=f"scan:{source.name}",
            name=f"scan {source.name}",
            next_run_time=app.now(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(source.interval.total_seconds()),
        )
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
    scheduler.add_job(
        app.expire_seen,
        CronTrigger(hour=3, minute=30, timezone=app.settings.tz),
        id="expire-seen",
        name="expire seen items",
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    return scheduler
