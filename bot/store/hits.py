"""Hits (命中), partitioned by month of ``found_at``: ``hits/2026-12.json``.

Ids look like ``H2612-37``: the partition's yymm and the TinyDB doc_id, so a lookup
by id opens one month and does one dict lookup.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, tzinfo

from bot.errors import StoreError
from bot.models import Hit
from bot.store._codec import from_doc, local, to_doc
from bot.store._partitions import PartitionSet

log = logging.getLogger(__name__)

_ID = re.compile(r"H(\d{2})(0[1-9]|1[0-2])-0*([1-9]\d{0,8})", re.IGNORECASE)


def month_key(at: datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


class HitRepo:
    """Stores and finds hits."""

    def __init__(self, parts: PartitionSet, tz: tzinfo) -> None:
        self._parts = parts
        self._tz = tz

    def add(self, hit: Hit) -> Hit:
        """Store `hit`; return it with its new id."""
        return self.add_many([hit])[0]

    def add_many(self, hits: Iterable[Hit]) -> list[Hit]:
        """Store several hits, one durable write per month; return them with ids."""
        pending = list(hits)
        groups: dict[str, list[int]] = {}
        for index, hit in enumerate(pending):
            key = month_key(local(hit.found_at, self._tz))
            groups.setdefault(key, []).append(index)
        out: list[Hit] = list(pending)
        for key, indexes in groups.items():
            table = self._parts.table(key, create=True)
            assert table is not None
            docs = [to_doc(pending[i], self._tz) for i in indexes]
            doc_ids = table.insert_multiple(docs)
            for i, doc_id in zip(indexes, doc_ids, strict=True):
                out[i] = replace(pending[i], id=_format(key, doc_id))
        return out

    def get(self, hit_id: str) -> Hit | None:
        """The hit with id `hit_id` (any case); None if malformed or unknown."""
        match = _ID.fullmatch(hit_id.strip())
        if match is None:
            return None
        key = f"20{match[1]}-{match[2]}"
        table = self._parts.table(key)
        doc = None if table is None else table.get(doc_id=int(match[3]))
        if doc is None:
            return None
        return from_doc(Hit, doc, self._tz, id=_format(key, doc.doc_id))

    def save(self, hit: Hit) -> None:
        """Replace the stored hit that has `hit.id` (e.g. to add a copy)."""
        match = _ID.fullmatch(hit.id.strip())
        key = f"20{match[1]}-{match[2]}" if match else ""
        table = self._parts.table(key) if match else None
        updated = []
        if match is not None and table is not None:
            updated = table.update(to_doc(hit, self._tz), doc_ids=[int(match[3])])
        if not updated:
            raise StoreError(f"命中 {hit.id or '（无编号）'} 不存在，无法保存。")

    def since(self, t: datetime) -> list[Hit]:
        """Hits found at or after `t`, newest first."""
        start = local(t, self._tz)
        first = month_key(start)
        found: list[tuple[datetime, str, int, Hit]] = []
        for key in self._parts.keys():
            if key < first:
                continue
            table = self._parts.table(key)
            assert table is not None
            for doc in table:
                hit = from_doc(Hit, doc, self._tz, id=_format(key, doc.doc_id))
                if hit.found_at >= start:
                    found.append((hit.found_at, key, doc.doc_id, hit))
        found.sort(key=lambda row: row[:3], reverse=True)
        return [row[3] for row in found]

    def expire(self, before: datetime) -> list[str]:
        """Drop every month that ended before `before`; return the months dropped.

        Tickets keep their own copy of the hit's fields, so they outlive it.
        """
        first = month_key(local(before, self._tz))
        months = [key for key in self._parts.keys() if key < first]
        for key in months:
            self._parts.drop(key)
        if months:
            log.info("hits expired before=%s months=%d", first, len(months))
        return months


def _format(key: str, doc_id: int) -> str:
    return f"H{key[2:4]}{key[5:7]}-{doc_id}"
