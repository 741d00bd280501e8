"""Scheduled jobs of early warning (预警), briefings (简报) and 加强监测.

`add_watch_jobs` registers them with the bot's scheduler (`bot.scheduler`); each
job is the boundary of one run: a failure is logged and the next run tries again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.triggers.interval import IntervalTrigger

from bot.briefing_notices import briefing_tick
from bot.config_scan import parse_duration
from bot.intensify import sync_scan_jobs
from bot.warning_notices import warning_tick

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.app import App

logger = logging.getLogger(__name__)

WARNING_EVERY_MIN = 5


async def warning_job(app: App, started: datetime) -> int:
    """Detect and send early warnings (every few minutes)."""
    try:
        now = app.now()
        queued = warning_tick(app, now, started)
        app.store.warnings.expire(now - parse_duration(app.settings.warning.keep))
    except Exception:
        # Boundary of a scheduled job: log it, try again next time.
        logger.exception("warning job failed")
        return 0
    if queued:
        await app.deliver()
    return queued


async def briefing_job(app: App) -> int:
    """Send the daily, weekly or monthly briefing when due (every minute)."""
    try:
        queued = briefing_tick(app, app.now())
    except Exception:
        # Boundary of a scheduled job: log it, try again next minute.
        logger.exception("briefing job failed")
        return 0
    if queued:
        await app.deliver()
    return queued


def add_watch_jobs(scheduler: AsyncIOScheduler, app: App) -> None:
    """Warnings every few minutes; briefings and 加强监测 every minute."""
    tz = app.settings.tz
    every_minute = {
        "max_instances": 1,
        "coalesce": True,
        "misfire_grace_time": 300,
    }
    scheduler.add_job(
        warning_job,
        IntervalTrigger(minutes=WARNING_EVERY_MIN, timezone=tz),
        args=[app, app.now()],
        id="warnings",
        name="early warnings",
        **every_minute,
    )
    scheduler.add_job(
        briefing_job,
        IntervalTrigger(minutes=1, timezone=tz),
        args=[app],
        id="briefings",
        name="briefings",
        next_run_time=app.now(),
        **every_minute,
    )
    scheduler.add_job(
        sync_scan_jobs,
        IntervalTrigger(minutes=1, timezone=tz),
        args=[scheduler, app],
        id="intensify",
        name="加强监测 scan intervals",
        next_run_time=app.now(),
        **every_minute,
    )
