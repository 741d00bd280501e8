"""Every item a scan read, hit or not, partitioned by day: ``items/2026-12-31.json``.

The archive lets 测试关键词 try an expression on what the sources actually
published before anyone adds it as a rule. Only the fields matching needs and a
person recognises are kept (title, summary capped at `SUMMARY_CHARS`, link,
source, section, times); article text fetched by html sources is not. Expiry
deletes whole day files, so its cost does not grow with the items kept. Reading a
day loads its file; the files are closed again after reading, except the day
being written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, tzinfo

from bot.models import ArchivedItem
from bot.store._codec import from_doc, local, to_doc
from bot.store._partitions import PartitionSet

log = logging.getLogger(__name__)

SUMMARY_CHARS = 500


class ItemRepo:
    """Keeps archived items by the day they were read, for a limited number of days."""

    def __init__(self, parts: PartitionSet, tz: tzinfo) -> None:
        self._parts = parts
        self._tz = tz
        self._open_day = ""

    def add_many(self, items: Iterable[ArchivedItem]) -> int:
        """Archive `items` in one durable write per day; return how many."""
        by_day: dict[str, list[dict[str, object]]] = {}
        for item in items:
            if len(item.summary) > SUMMARY_CHARS:
                item = replace(item, summary=item.summary[:SUMMARY_CHARS])
            day = local(item.found_at, self._tz).date().isoformat()
            by_day.setdefault(day, []).append(to_doc(item, self._tz))
        for day, docs in by_day.items():
            table = self._parts.table(day, create=True)
            assert table is not None
            table.insert_multiple(docs)
            self._keep_open(day)
        return sum(len(docs) for docs in by_day.values())

    def since(self, t: datetime) -> list[ArchivedItem]:
        """Items read at or after `t`, newest first."""
        start = local(t, self._tz)
        first = start.date().isoformat()
        found: list[ArchivedItem] = []
        for day in self._parts.keys():
            if day < first:
                continue
            table = self._parts.table(day)
            assert table is not None
            for doc in table:
                item = from_doc(ArchivedItem, doc, self._tz)
                if item.found_at >= start:
                    found.append(item)
            if day != self._open_day:
                self._parts.release(day)
        found.sort(key=lambda item: item.found_at, reverse=True)
        return found

    def expire(self, before: date) -> int:
        """Delete every day before `before`; return how many days were dropped."""
        limit = before.isoformat()
        days = [day for day in self._parts.keys() if day < limit]
        for day in days:
            self._parts.drop(day)
            if day == self._open_day:
                self._open_day = ""
        if days:
            log.info("archived items expired before=%s days=%d", limit, len(days))
        return len(days)

    def days(self) -> list[str]:
        """The days that have archived items, oldest first (``2026-12-31``)."""
        return self._parts.keys()

    def _keep_open(self, day: str) -> None:
        """Keep only the day being written open; earlier days are rarely read."""
        if self._open_day and self._open_day != day:
            self._parts.release(self._open_day)
        self._open_day = day
