"""Leave records (请假) and the patrol job's daily markers, kept in ``state.json``.

Both stay small: a bureau records a few hundred leaves a year, and markers older
than `MarkRepo.KEEP_DAYS` are pruned as new ones are written. Leave ids look like
``L12`` (the TinyDB doc_id); lookups scan the table.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import date, datetime, timedelta, tzinfo

from tinydb import Query
from tinydb.table import Table

from bot.models import Leave
from bot.store._codec import from_doc, time_out, to_doc

log = logging.getLogger(__name__)

_ID = re.compile(r"L([1-9]\d{0,8})", re.IGNORECASE)


class LeaveRepo:
    """Stores leave records; a record covers ``start..end`` (ISO dates, inclusive)."""

    def __init__(self, table: Table, tz: tzinfo) -> None:
        self._table = table
        self._tz = tz

    def add(self, leave: Leave) -> Leave:
        """Store `leave`; return it with its new id."""
        doc_id = self._table.insert(to_doc(leave, self._tz))
        return replace(leave, id=f"L{doc_id}")

    def remove(self, leave_id: str) -> bool:
        """Delete the record `leave_id`; False if there is none."""
        match = _ID.fullmatch(leave_id.strip())
        if match is None:
            return False
        return bool(self._table.remove(doc_ids=[int(match[1])]))

    def overlapping(
        self, start: date, end: date, user: str | None = None
    ) -> list[Leave]:
        """Records sharing a day with ``start..end`` (of `user`, if given)."""
        first, last = start.isoformat(), end.isoformat()
        found = [
            from_doc(Leave, doc, self._tz, id=f"L{doc.doc_id}")
            for doc in self._table
            if doc["start"] <= last
            and doc["end"] >= first
            and (user is None or doc["user"] == user)
        ]
        return sorted(found, key=lambda leave: (leave.start, leave.user, leave.id))


class MarkRepo:
    """Remembers which daily patrol notices (remind, cutoff) went out on which day."""

    KEEP_DAYS = 40

    def __init__(self, table: Table, tz: tzinfo) -> None:
        self._table = table
        self._tz = tz

    def has(self, kind: str, day: date) -> bool:
        mark = Query()
        return self._table.contains((mark.kind == kind) & (mark.day == day.isoformat()))

    def add(self, kind: str, day: date, at: datetime) -> None:
        """Record that `kind` was sent for `day`, and forget marks long past."""
        self._table.insert(
            {"kind": kind, "day": day.isoformat(), "at": time_out(at, self._tz)}
        )
        old = (day - timedelta(days=self.KEEP_DAYS)).isoformat()
        self._table.remove(Query().day < old)
