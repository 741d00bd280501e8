"""Handling tickets (监控处理单), partitioned by year of ``created_at``.

Ids look like ``YQ-2026-0012``: the year partition and the TinyDB doc_id, padded to
four digits (more when needed). Lookups accept any case, unpadded numbers, and the
bare number (``12``) meaning this year.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, tzinfo

from bot.errors import StoreError
from bot.models import Ticket
from bot.store._codec import from_doc, local, to_doc
from bot.store._partitions import PartitionSet

log = logging.getLogger(__name__)

_FULL_ID = re.compile(r"YQ-(\d{4})-0*([1-9]\d{0,8})", re.IGNORECASE)
_SHORT_ID = re.compile(r"0*([1-9]\d{0,8})")


class RevisionConflict(StoreError):
    """The ticket changed since it was read: the other change came first."""

    def __init__(self, ticket_id: str, revision: int) -> None:
        self.ticket_id = ticket_id
        self.revision = revision
        super().__init__(f"处理单 {ticket_id} 已被他人更新（第 {revision} 版）")


class TicketRepo:
    """Stores, finds and replaces tickets."""

    def __init__(self, parts: PartitionSet, tz: tzinfo) -> None:
        self._parts = parts
        self._tz = tz

    def add(self, ticket: Ticket) -> Ticket:
        """Store `ticket`; return it with its new id."""
        return self.add_many([ticket])[0]

    def add_many(self, tickets: Iterable[Ticket]) -> list[Ticket]:
        """Store several tickets, one durable write per year; return them with ids."""
        pending = list(tickets)
        groups: dict[str, list[int]] = {}
        for index, ticket in enumerate(pending):
            key = f"{local(ticket.created_at, self._tz).year:04d}"
            groups.setdefault(key, []).append(index)
        out = list(pending)
        for key, indexes in groups.items():
            table = self._parts.table(key, create=True)
            assert table is not None
            docs = [to_doc(pending[i], self._tz) for i in indexes]
            for i, doc_id in zip(indexes, table.insert_multiple(docs), strict=True):
                out[i] = replace(pending[i], id=format_id(int(key), doc_id))
        return out

    def get(self, ticket_id: str, today: date | None = None) -> Ticket | None:
        """The ticket `ticket_id` (``YQ-2026-0012``, ``yq-2026-12`` or ``12``).

        A bare number is looked up in the year of `today` (default: now in the
        store's time zone). None if malformed or unknown.
        """
        location = self._locate(ticket_id, today)
        if location is None:
            return None
        year, doc_id = location
        table = self._parts.table(f"{year:04d}")
        doc = None if table is None else table.get(doc_id=doc_id)
        if doc is None:
            return None
        return from_doc(Ticket, doc, self._tz, id=format_id(year, doc_id))

    def save(self, ticket: Ticket, expected_revision: int | None = None) -> None:
        """Replace the stored ticket that has `ticket.id`.

        With `expected_revision`, the stored copy must still have that revision
        (nobody changed it since it was read), else `RevisionConflict`.
        """
        match = _FULL_ID.fullmatch(ticket.id.strip())
        table = None if match is None else self._parts.table(match[1])
        doc_id = int(match[2]) if match is not None else 0
        current = None if table is None else table.get(doc_id=doc_id)
        if table is None or current is None:
            raise StoreError(f"处理单 {ticket.id or '（无编号）'} 不存在，无法保存。")
        stored = int(current.get("revision", 0))
        if expected_revision is not None and stored != expected_revision:
            raise RevisionConflict(ticket.id, stored)
        table.update(to_doc(ticket, self._tz), doc_ids=[doc_id])

    def recent(self, today: date, years: int = 2) -> list[Ticket]:
        """Tickets of this year and the `years - 1` before it, newest first."""
        out: list[Ticket] = []
        for year in range(today.year, today.year - years, -1):
            out.extend(reversed(self.in_year(year)))
        return out

    def in_year(self, year: int) -> list[Ticket]:
        """All tickets created in `year`, in id order."""
        table = self._parts.table(f"{year:04d}")
        if table is None:
            return []
        docs = sorted(table, key=lambda doc: doc.doc_id)
        return [
            from_doc(Ticket, doc, self._tz, id=format_id(year, doc.doc_id))
            for doc in docs
        ]

    def _locate(self, ticket_id: str, today: date | None) -> tuple[int, int] | None:
        text = ticket_id.strip()
        match = _FULL_ID.fullmatch(text)
        if match is not None:
            return int(match[1]), int(match[2])
        match = _SHORT_ID.fullmatch(text)
        if match is None:
            return None
        year = (today or datetime.now(self._tz).date()).year
        return year, int(match[1])


def format_id(year: int, doc_id: int) -> str:
    """``YQ-<year>-<number>``, the number padded to at least four digits."""
    return f"YQ-{year:04d}-{doc_id:04d}"
