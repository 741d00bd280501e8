"""Partitioned collections: one journal-backed TinyDB file per month, year or day.

A `PartitionSet` knows which partition keys exist from the directory listing alone
and opens a partition file only when it is first used, so history that is never
read is never loaded.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from tinydb.table import Table

from bot.store._journal import fsync_dir
from bot.store._table import JournalDB

log = logging.getLogger(__name__)

_SUFFIXES = (".jsonl", ".json")


class PartitionSet:
    """The partition files of one collection under `directory`, table `table`."""

    def __init__(self, directory: Path, table: str, compact_min_bytes: int) -> None:
        self.directory = directory
        self._table = table
        self._compact_min = compact_min_bytes
        self._open: dict[str, JournalDB] = {}
        self._keys: set[str] = set()
        if directory.is_dir():
            for name in os.listdir(directory):
                for suffix in _SUFFIXES:
                    if name.endswith(suffix):
                        self._keys.add(name[: -len(suffix)])

    def keys(self) -> list[str]:
        """Existing partition keys, sorted (keys sort chronologically)."""
        return sorted(self._keys)

    def table(self, key: str, *, create: bool = False) -> Table | None:
        """The table of partition `key`; None if it does not exist and not `create`."""
        db = self._open.get(key)
        if db is None:
            if key not in self._keys:
                if not create:
                    return None
                self._ensure_directory()
            db = JournalDB(self.directory / key, self._compact_min)
            self._open[key] = db
            self._keys.add(key)
        return db.table(self._table)

    def release(self, key: str) -> None:
        """Close partition `key` to free its memory; it reopens on next use."""
        db = self._open.pop(key, None)
        if db is not None:
            db.close()

    def drop(self, key: str) -> None:
        """Delete partition `key` and its files."""
        self.release(key)
        self._keys.discard(key)
        base = self.directory / key
        # Snapshot first: a journal left alone by a crash here no longer matches
        # any snapshot generation (or holds only what was never compacted).
        for suffix in (".json", ".jsonl", ".json.tmp"):
            base.with_name(key + suffix).unlink(missing_ok=True)
        fsync_dir(self.directory)
        log.info("partition dropped dir=%s key=%s", self.directory, key)

    def close(self) -> None:
        for key in list(self._open):
            self.release(key)

    def _ensure_directory(self) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            fsync_dir(self.directory.parent)
