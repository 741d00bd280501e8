"""TinyDB table and database classes whose writes cost O(changed documents).

TinyDB's own ``Table._update_table`` copies the whole table into a new dict and
hands everything to the storage on every write. `JournalTable` instead runs the
updater against a view over the live table that remembers which documents it
touched, then asks the `JournalStorage` to journal just those.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Table

from bot.store._journal import DEFAULT_COMPACT_MIN_BYTES, Changes, JournalStorage

_MISSING: Any = object()


class _TrackingView(MutableMapping[int, Any]):
    """The live ``{str(doc_id): doc}`` dict seen with int ids, recording touches."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw
        self._before: dict[str, Any] = {}

    def _touch(self, key: str) -> None:
        if key not in self._before:
            old = self._raw.get(key, _MISSING)
            self._before[key] = old if old is _MISSING else copy.deepcopy(old)

    def __getitem__(self, doc_id: int) -> Any:
        key = str(doc_id)
        doc = self._raw[key]
        self._touch(key)  # the updater may mutate the document in place
        return doc

    def __setitem__(self, doc_id: int, doc: Any) -> None:
        key = str(doc_id)
        self._touch(key)
        self._raw[key] = doc

    def __delitem__(self, doc_id: int) -> None:
        key = str(doc_id)
        if key not in self._raw:
            raise KeyError(doc_id)
        self._touch(key)
        del self._raw[key]

    def __contains__(self, doc_id: object) -> bool:
        return str(doc_id) in self._raw

    def __iter__(self) -> Iterator[int]:
        return iter([int(key) for key in self._raw])

    def __len__(self) -> int:
        return len(self._raw)

    def changes(self) -> Changes:
        """Documents that differ from before the update (None = deleted)."""
        out: Changes = {}
        for key, old in self._before.items():
            new = self._raw.get(key, _MISSING)
            if new is _MISSING:
                if old is not _MISSING:
                    out[key] = None
            elif old is _MISSING or new != old:
                out[key] = new
        return out

    def rollback(self) -> None:
        for key, old in self._before.items():
            if old is _MISSING:
                self._raw.pop(key, None)
            else:
                self._raw[key] = old


class JournalTable(Table):
    """A TinyDB table over a `JournalStorage`; each write journals what changed.

    ``_update_table`` is private TinyDB API. Overriding it is safe because the
    project pins ``tinydb>=4.8,<5``, whose updaters (insert, update, upsert, remove,
    truncate) only use item access, ``in``, ``keys``, ``pop`` and ``clear`` on the
    dict they are given. Reads go through ``_read_table``, which returns the live
    dict, so ``get(doc_id=...)`` is one dict lookup.
    """

    def _update_table(self, updater: Callable[[dict[int, Mapping]], None]) -> None:
        storage = self._storage
        assert isinstance(storage, JournalStorage)
        raw = storage.read().setdefault(self.name, {})
        view = _TrackingView(raw)
        try:
            updater(view)  # type: ignore[arg-type]
            changes = view.changes()
            if changes:
                storage.commit(self.name, changes)
        except BaseException:
            view.rollback()  # keep memory equal to what is on disk
            raise
        finally:
            self.clear_cache()


class JournalDB(TinyDB):
    """TinyDB over one partition file, using `JournalTable` for its tables."""

    table_class = JournalTable

    def __init__(
        self, path: Path, compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES
    ) -> None:
        super().__init__(
            path, storage=JournalStorage, compact_min_bytes=compact_min_bytes
        )
