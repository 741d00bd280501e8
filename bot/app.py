"""The running bot's objects, built once from settings and shared by every command.

`App` owns the store (and so the data-directory lock), the fetcher for sources, the
scanner, the outbox, the working-day calendar, the renderer and the dispatcher.
`__main__` builds one per process; tests build them the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot import notify, supervision
from bot.casework import Casework
from bot.channels.setup import ChannelSet, alert_chats, start_channels
from bot.config import parse_duration
from bot.dispatcher import Dispatcher
from bot.handlers import all_commands
from bot.http import HttpFetcher
from bot.outbox import Outbox, Poster
from bot.patrol_reminders import patrol_tick
from bot.render import Renderer
from bot.scan import Scanner, ScanReport
from bot.store import Store
from bot.workdays import WorkCalendar

if TYPE_CHECKING:
    from bot.channels.base import Channel
    from bot.config import Settings, Source
    from bot.models import Hit
    from bot.server import CallbackServer

logger = logging.getLogger(__name__)


class App:
    """Everything one bot process needs; use as ``async with App.open(settings)``."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.calendar = WorkCalendar(settings.calendar)
        self.renderer = Renderer()
        self._clock = clock or (lambda: datetime.now(settings.tz))
        self.outbox = Outbox(
            store,
            self._clock,
            admins=settings.admins,
            alert_chats=alert_chats(settings),
        )
        self.casework = Casework(
            settings,
            store,
            self.calendar,
            self.renderer,
            self.outbox.enqueue,
            lambda: self.fetcher,
        )
        self.dispatcher = Dispatcher(
            settings,
            store,
            self.calendar,
            all_commands(),
            self.renderer,
            self._clock,
            self.casework,
        )
        self.scanner = Scanner(settings, store)
        self.channels: dict[str, Channel] = {}
        self.poster: Poster | None = None
        self._fetcher: HttpFetcher | None = None
        self._running: ChannelSet | None = None
        self._missed_checked = False
        self._scans: set[asyncio.Task[None]] = set()  # scheduled scans in flight
        self._stopping = False

    @classmethod
    def open(
        cls, settings: Settings, clock: Callable[[], datetime] | None = None
    ) -> App:
        """Open the store (taking the data-directory lock) and build the app."""
        store = Store.open(settings.data_dir, settings.tz)
        try:
            return cls(settings, store, clock)
        except BaseException:
            store.close()
            raise

    async def __aenter__(self) -> App:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.stop_channels()
        await self.casework.stop()
        if self._fetcher is not None:
            await self._fetcher.aclose()
            self._fetcher = None
        self.store.close()

    def now(self) -> datetime:
        return self._clock()

    @property
    def fetcher(self) -> HttpFetcher:
        if self._fetcher is None:
            self._fetcher = HttpFetcher(self.settings.http)
        return self._fetcher

    async def scan_all(self) -> ScanReport:
        """Scan every enabled source once and queue the announcements."""
        self._announce_missed()
        report = await self.scanner.scan_all(self.fetcher, self.now())
        await self.announce(report)
        return report

    async def scan_one(self, source: Source) -> None:
        """Scan one source (a scheduled job) and queue its announcements."""
        task = asyncio.current_task()
        if task is not None:
            self._scans.add(task)
        try:
            self._announce_missed()
            report = await self.scanner.scan(source, self.fetcher, self.now())
            await self.announce(report)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            # Stopped by `stop_scans`: nothing of it was stored, the next start
            # scans again. Returning keeps APScheduler from logging an error.
            logger.info("scan stopped for shutdown source=%s", source.name)
        except Exception:
            # Boundary of one scheduled job: log it, keep the scheduler running.
            logger.exception("scan job failed source=%s", source.name)
        finally:
            self._scans.discard(task)  # type: ignore[arg-type]

    async def stop_scans(self, grace_s: float) -> None:
        """Let scheduled scans in flight finish for up to `grace_s` seconds, then
        cancel the rest, so none is still running when the store closes."""
        self._stopping = True
        running = set(self._scans)
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=grace_s)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        logger.info(
            "scans stopped finished=%d cancelled=%d",
            len(running) - len(late),
            len(late),
        )

    async def announce(self, report: ScanReport) -> None:
        """Queue messages for new hits and health events, then try to deliver.

        The scan stored the hits with ``announced=False``; they are marked once
        their messages are queued, so a crash in between cannot lose them (see
        `_announce_missed`), at worst announce them twice.
        """
        now = self.now()
        messages = notify.hit_messages(self.settings, self.renderer, report.hits, now)
        messages += notify.health_messages(
            self.settings, self.renderer, report.events, now
        )
        self.outbox.enqueue(messages)
        self._mark_announced(report.hits)
        await self.deliver()

    def _announce_missed(self) -> None:
        """Queue the hits an earlier process stored but died before announcing.

        Runs once, before this process's first scan, so every hit still
        unannounced was left by a crash (not by a scan of ours still running).
        Without it such a hit was never pushed, and a repost of it was folded
        into it silently.
        """
        if self._missed_checked:
            return
        self._missed_checked = True
        now = self.now()
        since = now - parse_duration(self.settings.scan.max_item_age)
        missed = [h for h in self.store.hits.since(since) if not h.announced]
        if not missed:
            return
        logger.warning("unannounced hits found, queued now count=%d", len(missed))
        missed.reverse()  # oldest first, as they were found
        renderer = self.renderer
        self.outbox.enqueue(notify.hit_messages(self.settings, renderer, missed, now))
        self._mark_announced(missed)

    def _mark_announced(self, hits: list[Hit]) -> None:
        for hit in hits:
            # Re-read: a repost may have been folded into the hit since.
            current = self.store.hits.get(hit.id)
            if current is not None and not current.announced:
                self.store.hits.save(replace(current, announced=True))

    async def start_channels(self, extra: dict[str, Channel] | None = None) -> None:
        """Start the configured channels (and `extra`, e.g. the console)."""
        self._running = await start_channels(
            self.settings, self.dispatcher.handle, self.outbox, extra
        )
        self.channels = self._running.channels

    @property
    def callback_server(self) -> CallbackServer | None:
        """The channels' WeCom callback server, when one of them needs it."""
        return self._running.server if self._running is not None else None

    async def stop_channels(self) -> None:
        if self._running is not None:
            running, self._running = self._running, None
            await running.stop()
            self.channels = {}

    async def deliver(self) -> int:
        """Send what is queued through the running channels (or the test poster)."""
        if self.channels:
            return await self.outbox.deliver(self.channels)
        if self.poster is not None:
            return await self.outbox.deliver(self.poster)
        return 0

    async def chase(self) -> int:
        """Send the ticket reminders that are due (a job every minute)."""
        try:
            sent = self.casework.chase(self.now())
        except Exception:
            # Boundary of a scheduled job: log it, try again next minute.
            logger.exception("reminder job failed")
            return 0
        if sent:
            await self.deliver()
        return sent

    async def patrol_check(self) -> int:
        """Send the daily patrol prompt or cutoff notice when due (every minute)."""
        try:
            queued = patrol_tick(self, self.now())
        except Exception:
            # Boundary of a scheduled job: log it, try again next minute.
            logger.exception("patrol job failed")
            return 0
        if queued:
            await self.deliver()
        return queued

    async def weekly_supervision(self) -> None:
        """Send this week's 督查 figures to the office chat (a weekly job)."""
        try:
            now = self.now()
            chosen = supervision.period("本周", now.date())
            figures = supervision.report(
                self.settings, self.store, self.calendar, chosen, now
            )
            text = self.renderer.render(
                "supervision.j2", r=figures, now=now, names=self.settings.names
            )
            chat = self.settings.chat(self.settings.office.chat)
            self.outbox.enqueue([notify.markdown(chat, text, now)])
        except Exception:
            # Boundary of a scheduled job: log it, the next week tries again.
            logger.exception("weekly supervision report failed")
            return
        await self.deliver()

    async def expire_seen(self) -> int:
        """Forget seen-item keys, archived items and hit months older than their
        retention (a daily job); return how many seen keys were dropped.

        A coroutine so that APScheduler runs it in the event loop: a plain job
        would run in a worker thread, and the store is used from one thread.
        """
        retention = parse_duration(self.settings.scan.seen_retention)
        before = (self.now() - retention).date()
        dropped = self.store.seen.expire(before)
        logger.info("seen items expired before=%s dropped=%d", before, dropped)
        keep_items = parse_duration(self.settings.scan.item_retention)
        self.store.items.expire((self.now() - keep_items).date())
        keep_hits = parse_duration(self.settings.scan.hit_retention)
        self.store.hits.expire(self.now() - keep_hits)
        return dropped
