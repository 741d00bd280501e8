"""Early warnings (预警) and 加强监测 windows, kept in ``state.json``.

Warnings are de-duplicated by their event key: `WarningRepo.put` replaces the
record with the same key, so one event is one record however often it is updated.
Both tables stay small (a few warnings a day, pruned after `[warning] keep`;
at most one 加强监测 window per section), so lookups scan the table.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, tzinfo

from tinydb import Query
from tinydb.table import Table

from bot.alerts import EarlyWarning, Intensify
from bot.store._codec import from_doc, local, to_doc

log = logging.getLogger(__name__)


class WarningRepo:
    """Stores one record per warning event (its `key`)."""

    def __init__(self, table: Table, tz: tzinfo) -> None:
        self._table = table
        self._tz = tz

    def get(self, key: str) -> EarlyWarning | None:
        doc = self._table.get(Query().key == key)
        if not isinstance(doc, dict):
            return None
        return from_doc(EarlyWarning, doc, self._tz, id=f"W{doc.doc_id}")

    def put(self, warning: EarlyWarning) -> EarlyWarning:
        """Insert `warning` or replace the record with its key; return it with id."""
        doc = to_doc(warning, self._tz)
        updated = self._table.update(doc, Query().key == warning.key)
        doc_id = updated[0] if updated else self._table.insert(doc)
        return replace(warning, id=f"W{doc_id}")

    def since(self, t: datetime) -> list[EarlyWarning]:
        """Warnings last updated at or after `t`, newest first."""
        start = local(t, self._tz)
        found = [
            from_doc(EarlyWarning, doc, self._tz, id=f"W{doc.doc_id}")
            for doc in self._table
        ]
        return sorted(
            (w for w in found if w.last_at >= start),
            key=lambda w: w.last_at,
            reverse=True,
        )

    def unsent(self) -> list[EarlyWarning]:
        """Warnings held back by quiet hours, oldest first."""
        held = [
            from_doc(EarlyWarning, doc, self._tz, id=f"W{doc.doc_id}")
            for doc in self._table
            if doc.get("sent_at") is None
        ]
        return sorted(held, key=lambda w: w.first_at)

    def open_of(self, kind: str) -> list[EarlyWarning]:
        """Unresolved warnings of `kind`."""
        return [
            from_doc(EarlyWarning, doc, self._tz, id=f"W{doc.doc_id}")
            for doc in self._table
            if doc.get("kind") == kind and doc.get("resolved_at") is None
        ]

    def expire(self, before: datetime) -> int:
        """Forget warnings last updated before `before`; how many."""
        cut = local(before, self._tz)
        old = [
            doc.doc_id
            for doc in self._table
            if datetime.fromisoformat(doc["last_at"]) < cut
        ]
        if old:
            self._table.remove(doc_ids=old)
            log.info("warnings expired before=%s count=%d", cut.date(), len(old))
        return len(old)


class IntensifyRepo:
    """At most one 加强监测 window per section; the until-time survives a restart."""

    def __init__(self, table: Table, tz: tzinfo) -> None:
        self._table = table
        self._tz = tz

    def all(self) -> list[Intensify]:
        rows = [from_doc(Intensify, doc, self._tz) for doc in self._table]
        return sorted(rows, key=lambda row: row.section)

    def get(self, section: str) -> Intensify | None:
        doc = self._table.get(Query().section == section)
        return from_doc(Intensify, doc, self._tz) if isinstance(doc, dict) else None

    def put(self, window: Intensify) -> None:
        """Start or extend the window of `window.section`."""
        self._table.upsert(to_doc(window, self._tz), Query().section == window.section)

    def remove(self, section: str) -> bool:
        return bool(self._table.remove(Query().section == section))

    def ended(self, now: datetime) -> list[Intensify]:
        """Windows whose until-time has passed at `now`."""
        return [w for w in self.all() if w.until <= now]
