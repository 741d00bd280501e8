"""The running bot's objects, built once from settings and shared by every command.

`App` owns the store (and so the data-directory lock), the HTTP client for sources,
the working-day calendar, the renderer and the dispatcher. `__main__` builds one per
process; tests build them the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.dispatcher import Dispatcher
from bot.handlers import all_commands
from bot.http import HttpFetcher
from bot.render import Renderer
from bot.scan import (
    SEEN_RETENTION,
    ScanReport,
    active_rules,
    scan_all,
    scan_source,
)
from bot.store import Store
from bot.workdays import WorkCalendar

if TYPE_CHECKING:
    from bot.config import Settings, Source
    from bot.models import Hit

logger = logging.getLogger(__name__)


class Poster(Protocol):
    async def post(self, chat: str, text: str) -> None: ...


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
        self.dispatcher = Dispatcher(
            settings, store, self.calendar, all_commands(), self.renderer, self._clock
        )
        self.poster: Poster | None = None
        self._fetcher: HttpFetcher | None = None

    @classmethod
    def open(
        cls, settings: Settings, clock: Callable[[], datetime] | None = None
    ) -> App:
        """Open the store (taking the data-directory lock) and build the app."""
        return cls(settings, Store.open(settings.data_dir, settings.tz), clock)

    async def __aenter__(self) -> App:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
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
        """Scan every enabled source once and announce the new hits."""
        report = await scan_all(self.settings, self.store, self.fetcher, self.now())
        await self.announce(report.hits)
        return report

    async def scan_one(self, source: Source) -> None:
        """Scan one source (a scheduled job) and announce its new hits."""
        try:
            rules = active_rules(self.settings, self.store)
            _, hits = await scan_source(
                source, rules, self.store, self.fetcher, self.now(), self.settings
            )
            await self.announce(hits)
        except Exception:
            # Boundary of one scheduled job: log it, keep the scheduler running.
            logger.exception("scan job failed source=%s", source.name)

    def expire_seen(self) -> int:
        """Forget seen-item keys older than the retention (a daily job)."""
        before = (self.now() - SEEN_RETENTION).date()
        dropped = self.store.seen.expire(before)
        logger.info("seen items expired before=%s dropped=%d", before, dropped)
        return dropped

    async def announce(self, hits: list[Hit]) -> None:
        """Post new hits to each section's group chat, one digest per section."""
        if self.poster is None or not hits:
            return
        # TODO(#4): go through the outbox so a WeCom outage never loses a notice.
        for section in self.settings.sections:
            mine = [h for h in hits if h.section == section.id]
            if mine:
                text = self.renderer.render(
                    "hit_notice.j2", hits=mine, section=section.name
                )
                await self.poster.post(section.chat, text)
