"""Keys of items already seen, partitioned by day: ``seen/2026-12-31.json``.

An in-memory index (key -> day) built at open answers `has` without touching disk.
Expiry deletes whole day files, so it costs nothing per remaining key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date, datetime, tzinfo

from bot.store._codec import local, time_out
from bot.store._partitions import PartitionSet

log = logging.getLogger(__name__)


class SeenRepo:
    """Remembers which item keys were already seen, for a limited number of days."""

    def __init__(self, parts: PartitionSet, tz: tzinfo) -> None:
        self._parts = parts
        self._tz = tz
        self._day_of: dict[str, str] = {}
        self._keys_of: dict[str, list[str]] = {}
        self._open_day = ""
        for day in parts.keys():
            table = parts.table(day)
            assert table is not None
            keys = [doc["k"] for doc in table]
            self._keys_of[day] = keys
            for key in keys:
                self._day_of[key] = day
            parts.release(day)  # the index is enough; reopen only to write

    def has(self, key: str) -> bool:
        return key in self._day_of

    def add(self, key: str, at: datetime) -> bool:
        """Remember `key` as seen at `at`; False if it was already known."""
        return self.add_many([key], at) == 1

    def add_many(self, keys: Iterable[str], at: datetime) -> int:
        """Remember several keys in one durable write; return how many were new."""
        when = local(at, self._tz)
        day = when.date().isoformat()
        fresh = list(dict.fromkeys(k for k in keys if k not in self._day_of))
        if not fresh:
            return 0
        table = self._parts.table(day, create=True)
        assert table is not None
        stamp = time_out(when, self._tz)
        table.insert_multiple({"k": key, "at": stamp} for key in fresh)
        self._keys_of.setdefault(day, []).extend(fresh)
        for key in fresh:
            self._day_of[key] = day
        if self._open_day != day:
            if self._open_day:
                self._parts.release(self._open_day)
            self._open_day = day
        return len(fresh)

    def expire(self, before: date) -> int:
        """Forget every day before `before`; return how many keys were dropped."""
        limit = before.isoformat()
        dropped = 0
        for day in self._parts.keys():
            if day >= limit:
                break
            self._parts.drop(day)
            for key in self._keys_of.pop(day, []):
                if self._day_of.get(key) == day:
                    del self._day_of[key]
                    dropped += 1
        if dropped:
            log.info("seen keys expired before=%s dropped=%d", limit, dropped)
        return dropped

    def count(self) -> int:
        return len(self._day_of)
