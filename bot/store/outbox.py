"""Outgoing messages, partitioned by month of ``created_at``: ``outbox/2026-12.json``.

Ids look like ``O2612-5``. The months that may still hold unsent messages are
listed in the ``outbox_months`` table of ``state.json`` (written before the message
itself, so a crash can only leave a harmless extra month). A message the outbox
gave up on (WeCom will never take it as it is) keeps ``sent_at`` empty and gets
``given_up_at``: it is no longer pending. At open only those
months are read, to rebuild the index of pending ids; months found with nothing
pending, except the newest, are dropped from the list.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any

from tinydb import Query
from tinydb.table import Table

from bot.errors import StoreError
from bot.models import OutboxMessage
from bot.store._codec import from_doc, local, time_out, to_doc
from bot.store._partitions import PartitionSet

log = logging.getLogger(__name__)

_ID = re.compile(r"O(\d{2})(0[1-9]|1[0-2])-0*([1-9]\d{0,8})", re.IGNORECASE)

Location = tuple[str, int]


class OutboxRepo:
    """Queue of messages to send, with delivery bookkeeping."""

    def __init__(self, parts: PartitionSet, months: Table, tz: tzinfo) -> None:
        self._parts = parts
        self._months = months
        self._tz = tz
        self._active = {doc["month"] for doc in months}
        self._pending: dict[str, Location] = {}
        for key in sorted(self._active):
            table = parts.table(key)
            for doc in table if table is not None else []:
                if doc.get("sent_at") is None and doc.get("given_up_at") is None:
                    self._pending[_format(key, doc.doc_id)] = (key, doc.doc_id)
        busy = {key for key, _ in self._pending.values()}
        for key in sorted(self._active)[:-1]:
            if key not in busy:
                self._months.remove(Query().month == key)
                self._active.discard(key)
                parts.release(key)

    def enqueue(self, message: OutboxMessage) -> OutboxMessage:
        """Queue `message`; return it with its id (and created_at, if unset)."""
        created = local(message.created_at or datetime.now(self._tz), self._tz)
        key = f"{created.year:04d}-{created.month:02d}"
        if key not in self._active:
            self._months.insert({"month": key})
            self._active.add(key)
        table = self._parts.table(key, create=True)
        assert table is not None
        stored = replace(message, created_at=created, id="")
        doc_id = table.insert(to_doc(stored, self._tz))
        message_id = _format(key, doc_id)
        self._pending[message_id] = (key, doc_id)
        return replace(stored, id=message_id)

    def pending(self) -> list[OutboxMessage]:
        """Messages not sent yet, oldest first."""
        out = [self._load(key, doc_id) for key, doc_id in self._pending.values()]
        found = [m for m in out if m is not None]
        return sorted(found, key=lambda m: (m.created_at, _sort_key(m.id)))

    def get(self, message_id: str) -> OutboxMessage | None:
        """The message `message_id` (any case); None if malformed or unknown."""
        location = _parse(message_id)
        return None if location is None else self._load(*location)

    def mark_sent(self, message_id: str, at: datetime) -> None:
        """Record that `message_id` was delivered at `at`."""
        stamp = time_out(at, self._tz)
        location = self._update(message_id, lambda doc: doc.update(sent_at=stamp))
        self._pending.pop(_format(*location), None)

    def mark_failed(
        self, message_id: str, error: str, not_before: datetime | None = None
    ) -> None:
        """Record a failed attempt: one more attempt, the error text and, when
        given, the time before which it should not be tried again."""

        def bump(doc: dict[str, Any]) -> None:
            doc["attempts"] = int(doc.get("attempts", 0)) + 1
            doc["last_error"] = error
            if not_before is not None:
                doc["not_before"] = time_out(not_before, self._tz)

        self._update(message_id, bump)

    def give_up(self, message_id: str, error: str, at: datetime) -> None:
        """Record a final failed attempt: the message leaves the pending list."""
        stamp = time_out(at, self._tz)

        def bury(doc: dict[str, Any]) -> None:
            doc["attempts"] = int(doc.get("attempts", 0)) + 1
            doc["last_error"] = error
            doc["given_up_at"] = stamp

        location = self._update(message_id, bury)
        self._pending.pop(_format(*location), None)

    def _update(
        self, message_id: str, change: Callable[[dict[str, Any]], None]
    ) -> Location:
        location = _parse(message_id)
        table = None if location is None else self._parts.table(location[0])
        if location is None or table is None:
            raise StoreError(f"待发消息 {message_id} 不存在。")
        if not table.update(change, doc_ids=[location[1]]):
            raise StoreError(f"待发消息 {message_id} 不存在。")
        return location

    def _load(self, key: str, doc_id: int) -> OutboxMessage | None:
        table = self._parts.table(key)
        doc = None if table is None else table.get(doc_id=doc_id)
        if doc is None:
            return None
        return from_doc(OutboxMessage, doc, self._tz, id=_format(key, doc_id))


def _format(key: str, doc_id: int) -> str:
    return f"O{key[2:4]}{key[5:7]}-{doc_id}"


def _parse(message_id: str) -> Location | None:
    match = _ID.fullmatch(message_id.strip())
    if match is None:
        return None
    return f"20{match[1]}-{match[2]}", int(match[3])


def _sort_key(message_id: str) -> Location:
    location = _parse(message_id)
    assert location is not None
    return location
