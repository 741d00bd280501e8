"""Crash-safe TinyDB storage: data in memory, a snapshot plus a journal on disk.

One partition ``X`` lives on disk as two files:

- ``X.json``: a snapshot ``{"gen": n, "tables": {...}}``, only ever replaced whole
  (temp file, fsync, ``os.replace``, fsync of the directory);
- ``X.jsonl``: an append-only journal. Its first line is ``{"gen": n}``; every other
  line is one write ``{"t": table, "c": {doc_id: document or null}}``, appended and
  fsynced before the write returns.

Loading replays the journal over the snapshot. A torn last line (killed mid-append)
was never acknowledged: it is dropped and the file truncated. A journal whose
generation differs from the snapshot's predates the last compaction (the process
died between the snapshot rename and the journal reset) and is already contained in
the snapshot, so it is discarded. Compaction runs when the journal outgrows the
snapshot, which keeps its cost amortised O(1) per write.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from bot.errors import StoreCorruptError, StoreError

log = logging.getLogger(__name__)

DEFAULT_COMPACT_MIN_BYTES = 256 * 1024

Tables = dict[str, dict[str, Any]]
Changes = dict[str, dict[str, Any] | None]

_sync = getattr(os, "fdatasync", os.fsync)


def dumps(value: object) -> bytes:
    """Serialise `value` as compact UTF-8 JSON."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def fsync_dir(path: Path) -> None:
    """Make a rename, creation or deletion inside `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write all of `data` to `fd` (``os.write`` may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class JournalStorage(Storage):
    """TinyDB storage for one partition; `commit` journals only the changed docs."""

    def __init__(
        self, path: str | Path, compact_min_bytes: int = DEFAULT_COMPACT_MIN_BYTES
    ) -> None:
        base = Path(path)
        self.snapshot_path = base.with_name(base.name + ".json")
        self.journal_path = base.with_name(base.name + ".jsonl")
        self._tmp_path = base.with_name(base.name + ".json.tmp")
        self._compact_min = compact_min_bytes
        self._broken = ""
        self._tmp_path.unlink(missing_ok=True)
        self._data, self._gen, self._snapshot_bytes = self._load_snapshot()
        created = not self.journal_path.exists()
        good_bytes = -1 if created else self._replay()
        self._fd = os.open(
            self.journal_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
        )
        try:
            if good_bytes < 0:
                self._reset_journal()
            else:
                self._journal_bytes = good_bytes
                if os.fstat(self._fd).st_size > good_bytes:
                    log.warning(
                        "journal torn tail dropped path=%s kept_bytes=%d",
                        self.journal_path,
                        good_bytes,
                    )
                    os.ftruncate(self._fd, good_bytes)
                    os.fsync(self._fd)
            if created:
                fsync_dir(self.journal_path.parent)
        except BaseException:
            os.close(self._fd)
            raise

    # TinyDB storage interface -------------------------------------------------

    def read(self) -> Tables:
        """Return the live in-memory tables (no copy: callers must not mutate)."""
        return self._data

    def write(self, data: Tables) -> None:
        """Replace everything (TinyDB's drop_table/drop_tables): rewrite snapshot."""
        self._data = data
        self._compact(strict=True)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    # Journal --------------------------------------------------------------------

    def commit(self, table: str, changes: Changes) -> None:
        """Append one write to the journal and make it durable before returning."""
        if self._broken:
            raise StoreError(f"数据文件 {self.journal_path} 已停止写入：{self._broken}")
        line = dumps({"t": table, "c": changes}) + b"\n"
        try:
            write_all(self._fd, line)
            _sync(self._fd)
        except OSError as exc:
            try:
                os.ftruncate(self._fd, self._journal_bytes)
            except OSError:
                self._broken = f"写入失败后无法恢复日志文件（{exc}）"
            raise StoreError(f"写入数据文件 {self.journal_path} 失败：{exc}") from exc
        self._journal_bytes += len(line)
        if self._journal_bytes > max(self._compact_min, self._snapshot_bytes):
            try:
                self._compact(strict=False)
            except StoreError as exc:
                # The write itself is durable; later writes will refuse.
                log.error("compaction failed path=%s error=%s", self.snapshot_path, exc)

    def _load_snapshot(self) -> tuple[Tables, int, int]:
        try:
            raw = self.snapshot_path.read_bytes()
        except FileNotFoundError:
            return {}, 0, 0
        try:
            snap = json.loads(raw)
            gen, tables = snap["gen"], snap["tables"]
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreCorruptError(
                self.snapshot_path, f"快照不是有效的 JSON（{exc}）"
            ) from exc
        if not isinstance(gen, int) or not isinstance(tables, dict):
            raise StoreCorruptError(self.snapshot_path, "快照格式不对")
        return tables, gen, len(raw)

    def _replay(self) -> int:
        """Apply the journal; return the length of its good prefix, -1 to reset it."""
        raw = self.journal_path.read_bytes()
        lines = raw.split(b"\n")
        lines.pop()  # what follows the last newline: empty, or a torn append
        header = _parse(lines[0]) if lines else None
        if not isinstance(header, dict) or header.get("gen") != self._gen:
            if header is None and len(lines) > 1:
                raise StoreCorruptError(self.journal_path, "日志文件的第一行无法解析")
            return -1
        good = len(lines[0]) + 1
        for number, line in enumerate(lines[1:], start=2):
            record = _parse(line)
            if record is None and number == len(lines):
                break  # last complete line unreadable: garbage left by a crash
            if not self._apply(record):
                raise StoreCorruptError(
                    self.journal_path, f"第 {number} 行不是有效的日志记录"
                )
            good += len(line) + 1
        return good

    def _apply(self, record: object) -> bool:
        if not isinstance(record, dict):
            return False
        table, changes = record.get("t"), record.get("c")
        if not isinstance(table, str) or not isinstance(changes, dict):
            return False
        docs = self._data.setdefault(table, {})
        for doc_id, doc in changes.items():
            if doc is None:
                docs.pop(doc_id, None)
            else:
                docs[doc_id] = doc
        return True

    def _reset_journal(self) -> None:
        header = dumps({"gen": self._gen}) + b"\n"
        os.ftruncate(self._fd, 0)
        write_all(self._fd, header)
        os.fsync(self._fd)
        self._journal_bytes = len(header)

    def _compact(self, *, strict: bool) -> None:
        gen = self._gen + 1
        payload = dumps({"gen": gen, "tables": self._data})
        try:
            with open(self._tmp_path, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(self._tmp_path, self.snapshot_path)
        except OSError as exc:
            self._tmp_path.unlink(missing_ok=True)
            if strict:
                raise StoreError(
                    f"写入数据文件 {self.snapshot_path} 失败：{exc}"
                ) from exc
            log.warning("compaction skipped path=%s error=%s", self.snapshot_path, exc)
            return
        # From here on the snapshot on disk may carry the new generation: the
        # journal must follow it, or later appends would be discarded on load.
        self._gen = gen
        self._snapshot_bytes = len(payload)
        try:
            fsync_dir(self.snapshot_path.parent)
            self._reset_journal()
        except OSError as exc:
            self._broken = f"整理数据文件时出错（{exc}）"
            raise StoreError(f"整理数据文件 {self.snapshot_path} 失败：{exc}") from exc
        log.debug(
            "compacted path=%s gen=%d bytes=%d", self.snapshot_path, gen, len(payload)
        )


def _parse(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None
