"""`Store`: the bot's embedded database, one data directory owned by one process.

Layout of ``<data_dir>``::

    .lock                   flock held by the owning process (pid, since when)
    meta.json               {"schema_version": n}
    state.json(.jsonl)      rules, source state, outbox months with pending mail
    hits/2026-12.json(l)    hits by month of found_at
    tickets/2026.json(l)    tickets by year of created_at
    patrol/2026.json(l)     patrol log by year
    outbox/2026-12.json(l)  outgoing messages by month of created_at
    seen/2026-12-31.json(l) seen item keys by day, expired a whole day at a time
    items/2026-12-31.json(l) every item scans read, by day, for 测试关键词

Every ``X.json`` / ``X.jsonl`` pair is a snapshot plus journal (see `_journal`).
The store is meant to be used from one thread.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

from bot.store import migrations
from bot.store._journal import DEFAULT_COMPACT_MIN_BYTES
from bot.store._partitions import PartitionSet
from bot.store._table import JournalDB
from bot.store.hits import HitRepo
from bot.store.items import ItemRepo
from bot.store.leave import LeaveRepo, MarkRepo
from bot.store.lock import DirLock
from bot.store.outbox import OutboxRepo
from bot.store.patrol import PatrolRepo
from bot.store.seen import SeenRepo
from bot.store.settings import ChangeLogRepo, RuleRepo, SourceRepo, SourceStateRepo
from bot.store.tickets import TicketRepo
from bot.store.warnings import IntensifyRepo, WarningRepo

log = logging.getLogger(__name__)


class Store:
    """All repositories of one data directory; open with `Store.open`."""

    def __init__(
        self,
        data_dir: Path,
        tz: ZoneInfo,
        lock: DirLock,
        schema_version: int,
        compact_min_bytes: int,
    ) -> None:
        self.data_dir = data_dir
        self.tz = tz
        self.schema_version = schema_version
        self._lock = lock
        self._state = JournalDB(data_dir / "state", compact_min_bytes)
        self._parts = {
            name: PartitionSet(data_dir / name, name, compact_min_bytes)
            for name in ("hits", "tickets", "patrol", "seen", "outbox", "items")
        }
        try:
            self.hits = HitRepo(self._parts["hits"], tz)
            self.tickets = TicketRepo(self._parts["tickets"], tz)
            self.patrol = PatrolRepo(self._parts["patrol"], tz)
            self.leave = LeaveRepo(self._state.table("leave"), tz)
            self.warnings = WarningRepo(self._state.table("warnings"), tz)
            self.intensify = IntensifyRepo(self._state.table("intensify"), tz)
            self.patrol_marks = MarkRepo(self._state.table("patrol_marks"), tz)
            self.rules = RuleRepo(self._state.table("rules"))
            self.sources = SourceStateRepo(self._state.table("sources"), tz)
            self.seen = SeenRepo(self._parts["seen"], tz)
            self.items = ItemRepo(self._parts["items"], tz)
            self.chat_sources = SourceRepo(self._state.table("chat_sources"))
            self.changes = ChangeLogRepo(self._state.table("changes"), tz)
            self.outbox = OutboxRepo(
                self._parts["outbox"], self._state.table("outbox_months"), tz
            )
        except BaseException:
            self._close_files()
            raise

    @classmethod
    def open(
        cls,
        data_dir: Path,
        tz: ZoneInfo,
        *,
        compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES,
    ) -> Store:
        """Create `data_dir` if needed, lock it, migrate it and open the store.

        Raises `StoreLockedError` when another process owns the directory,
        `StoreError` when its schema is newer than this code, and
        `StoreCorruptError` when a file cannot be read back.
        """
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        lock = DirLock.acquire(data_dir)
        try:
            version = migrations.prepare(data_dir)
            store = cls(data_dir, tz, lock, version, compact_min_bytes)
        except BaseException:
            lock.release()
            raise
        log.info("store opened dir=%s schema_version=%d", data_dir, version)
        return store

    def close(self) -> None:
        """Close every file and release the directory lock."""
        self._close_files()
        self._lock.release()
        log.info("store closed dir=%s", self.data_dir)

    def _close_files(self) -> None:
        for parts in self._parts.values():
            parts.close()
        self._state.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
