"""The patrol log (监控日志), partitioned by year: ``patrol/2026.json``.

Ids look like ``P2026-15``: the year partition and the TinyDB doc_id.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import datetime, tzinfo

from bot.models import PatrolEntry
from bot.store._codec import from_doc, local, to_doc
from bot.store._partitions import PartitionSet

log = logging.getLogger(__name__)

_ID = re.compile(r"P(\d{4})-0*([1-9]\d{0,8})", re.IGNORECASE)


class PatrolRepo:
    """Stores and lists patrol entries."""

    def __init__(self, parts: PartitionSet, tz: tzinfo) -> None:
        self._parts = parts
        self._tz = tz

    def add(self, entry: PatrolEntry) -> PatrolEntry:
        """Store `entry`; return it with its new id."""
        key = f"{local(entry.at, self._tz).year:04d}"
        table = self._parts.table(key, create=True)
        assert table is not None
        doc_id = table.insert(to_doc(entry, self._tz))
        return replace(entry, id=f"P{key}-{doc_id}")

    def get(self, entry_id: str) -> PatrolEntry | None:
        """The entry `entry_id` (any case); None if malformed or unknown."""
        match = _ID.fullmatch(entry_id.strip())
        if match is None:
            return None
        table = self._parts.table(match[1])
        doc = None if table is None else table.get(doc_id=int(match[2]))
        if doc is None:
            return None
        return from_doc(PatrolEntry, doc, self._tz, id=f"P{match[1]}-{doc.doc_id}")

    def between(self, start: datetime, end: datetime) -> list[PatrolEntry]:
        """Entries with ``start <= at < end``, oldest first."""
        first, last = local(start, self._tz), local(end, self._tz)
        rows: list[tuple[datetime, int, int, PatrolEntry]] = []
        for key in self._parts.keys():
            if not first.year <= int(key) <= last.year:
                continue
            table = self._parts.table(key)
            assert table is not None
            for doc in table:
                entry = from_doc(PatrolEntry, doc, self._tz, id=f"P{key}-{doc.doc_id}")
                if first <= entry.at < last:
                    rows.append((entry.at, int(key), doc.doc_id, entry))
        rows.sort(key=lambda row: row[:3])
        return [row[3] for row in rows]
