"""Hot backup and restore of a data directory (``python -m bot backup|restore``).

Backup runs in a second process while the bot keeps the data-directory lock, so it
cannot open the store; it copies files instead and makes the copy consistent:

- A snapshot (``X.json``) is only ever replaced whole by ``os.replace``, so reading
  it through one descriptor yields one complete version. Other plain files (meta,
  evidence, exports) are copied the same way.
- A journal (``X.jsonl``) only grows by whole lines, or is reset to a new generation
  header on compaction. The copy keeps the bytes up to the last newline; a torn line
  being appended at that moment was not acknowledged yet.
- After copying every file, each one is checked again: same inode and size (and
  for a journal the same header line, so a compaction in between is seen). Files
  that changed are copied again and the whole check repeats until one pass finds no
  change. At that point every copied file equals the file on disk, all at the same
  moment: the backup is exactly what a SIGKILL of the bot at that moment would have
  left, which the store already recovers from (see `bot.store._journal`). The bot
  writes in short bursts, so this settles within a few passes; a writer that never
  pauses makes the backup give up after `SETTLE_TIMEOUT_S` rather than copy an
  inconsistent state.

Asking the running bot to write the copy (a signal or an admin endpoint) would also
work but needs the bot to be up and adds an entry point; copying needs neither.

The backup folder holds the files plus ``backup.json`` (written last: a folder
without it is an interrupted backup) listing every file with its SHA-256. The lock
file and ``logs/`` are not copied.

Restore refuses while a process holds the lock and refuses a folder whose manifest
is missing or whose files do not match it. It copies the backup into
``<data_dir>/.restoring``, moves the current contents aside to
``<data_dir>/before-restore-<time>/`` and moves the staged files in, all with the
lock held. Both stay inside the data directory so that every rename is on one file
system even when the data directory is a mount point (a Docker volume). The next
start opens the restored data as after a crash; backups skip the set-aside folders.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from bot.errors import BotError, StoreLockedError
from bot.store import current_version
from bot.store._journal import dumps, fsync_dir
from bot.store.lock import LOCK_NAME, DirLock

logger = logging.getLogger(__name__)

MANIFEST = "backup.json"
KIND = "shuiwu-yuqing-bot-backup"
FORMAT = 1
SETTLE_TIMEOUT_S = 30.0
STAGING = ".restoring"
ASIDE_PREFIX = "before-restore-"
_CHUNK = 1 << 20


class BackupError(BotError):
    """A backup or restore that cannot be done; the message is for the operator."""


@dataclass(frozen=True)
class _Copied:
    """What a copied file looked like on disk when it was read."""

    inode: int
    size: int  # as read, a torn journal line included
    mtime_ns: int
    header: bytes  # a journal's first line; empty for other files


@dataclass(frozen=True)
class BackupResult:
    files: int
    bytes: int
    passes: int


def backup(data_dir: Path, target: Path) -> BackupResult:
    """Copy `data_dir` into the new or empty folder `target`, consistently.

    Raises:
        BackupError: `target` is not empty, lies inside `data_dir`, or the data
            kept changing for `SETTLE_TIMEOUT_S`.
    """
    data_dir, target = data_dir.resolve(), target.resolve()
    _check_target(data_dir, target)
    target.mkdir(parents=True, exist_ok=True)

    copied: dict[str, _Copied] = {}
    dirty = set(_listing(data_dir))
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    passes = 0
    while True:
        passes += 1
        for rel in sorted(dirty):
            _copy_one(data_dir, target, rel, copied)
        current = _listing(data_dir)
        for rel in set(copied) - current:
            del copied[rel]  # deleted meanwhile (an expired partition)
            (target / rel).unlink(missing_ok=True)
        dirty = {
            rel for rel in current if not _unchanged(data_dir / rel, copied.get(rel))
        }
        if not dirty:
            break
        if time.monotonic() > deadline:
            raise BackupError(
                f"数据目录 {data_dir} 一直在写入，{SETTLE_TIMEOUT_S:.0f} 秒内没能"
                "取得一致的副本；请稍后重试。"
            )
        time.sleep(0.005)  # let the bot finish its burst of writes

    manifest = _write_manifest(data_dir, target, sorted(copied))
    total = sum(entry["bytes"] for entry in manifest["files"].values())
    logger.info(
        "backup written dir=%s files=%d bytes=%d passes=%d",
        target,
        len(copied),
        total,
        passes,
    )
    return BackupResult(len(copied), total, passes)


def restore(source: Path, data_dir: Path) -> Path | None:
    """Replace the contents of `data_dir` with the backup in `source`.

    Returns:
        Where the previous contents were moved, or None if there were none.

    Raises:
        BackupError: `source` is not a complete backup, is newer than this code,
            or the bot is running on `data_dir`.
    """
    source, data_dir = source.resolve(), data_dir.resolve()
    files = _verified_files(source)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        lock = DirLock.acquire(data_dir)
    except StoreLockedError as exc:
        raise BackupError(
            f"机器人正在运行（数据目录 {data_dir} 被占用：{exc.owner}）；"
            "请先停止机器人，再恢复备份。"
        ) from None
    try:
        staging = data_dir / STAGING
        shutil.rmtree(staging, ignore_errors=True)
        for rel in files:
            _copy_file(source / rel, staging / rel)
        aside = _move_aside(data_dir)
        for entry in os.listdir(staging):
            os.replace(staging / entry, data_dir / entry)
        fsync_dir(data_dir)
        staging.rmdir()
    finally:
        lock.release()
    logger.info("backup restored from=%s dir=%s files=%d", source, data_dir, len(files))
    return aside


def _check_target(data_dir: Path, target: Path) -> None:
    if target == data_dir or target.is_relative_to(data_dir):
        raise BackupError(f"备份目录 {target} 不能放在数据目录 {data_dir} 里面。")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"备份目录 {target} 已存在且不是空目录；请指定一个新目录。")
    if not data_dir.is_dir():
        raise BackupError(f"数据目录 {data_dir} 不存在，没有可备份的数据。")


def _listing(data_dir: Path) -> set[str]:
    found = set()
    for folder, dirs, names in os.walk(data_dir):
        here = Path(folder)
        if here == data_dir:
            dirs[:] = [d for d in dirs if not _is_skipped(d)]
        for name in names:
            if name == LOCK_NAME or name.endswith(".tmp"):
                continue
            found.add((here / name).relative_to(data_dir).as_posix())
    return found


def _copy_one(
    data_dir: Path, target: Path, rel: str, copied: dict[str, _Copied]
) -> None:
    src, dst = data_dir / rel, target / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(src, os.O_RDONLY)
    except FileNotFoundError:
        copied.pop(rel, None)
        dst.unlink(missing_ok=True)
        return
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        data = fh.read()
    size, header = len(data), b""
    if rel.endswith(".jsonl"):
        # Keep whole lines only: a line still being appended (or torn by a
        # crash) was never acknowledged, and loading drops it anyway.
        data = data[: data.rfind(b"\n") + 1]
        header = data[: data.find(b"\n") + 1]
    with open(dst, "wb") as out:
        out.write(data)
    copied[rel] = _Copied(info.st_ino, size, info.st_mtime_ns, header)


def _unchanged(path: Path, was: _Copied | None) -> bool:
    if was is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        info = os.fstat(fd)
        if info.st_ino != was.inode or info.st_size != was.size:
            return False
        if was.header or path.suffix == ".jsonl":
            return os.pread(fd, len(was.header), 0) == was.header
        return info.st_mtime_ns == was.mtime_ns
    finally:
        os.close(fd)


def _write_manifest(data_dir: Path, target: Path, files: list[str]) -> dict:
    entries = {}
    for rel in files:
        path = target / rel
        entries[rel] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        _fsync_file(path)
    for folder in {(target / rel).parent for rel in files} | {target}:
        fsync_dir(folder)
    manifest = {
        "kind": KIND,
        "format": FORMAT,
        "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "data_dir": str(data_dir),
        "schema_version": _schema_version(target),
        "files": entries,
    }
    tmp = target / (MANIFEST + ".tmp")
    tmp.write_bytes(dumps(manifest))
    _fsync_file(tmp)
    os.replace(tmp, target / MANIFEST)
    fsync_dir(target)
    return manifest


def _verified_files(source: Path) -> list[str]:
    try:
        manifest = json.loads((source / MANIFEST).read_bytes())
    except (OSError, ValueError):
        raise BackupError(
            f"{source} 不是机器人的备份（缺少或读不出 {MANIFEST}）；"
            "请指定 python -m bot backup 生成的目录。"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise BackupError(f"{source} 不是机器人的备份（{MANIFEST} 内容不对）。")
    version = manifest.get("schema_version")
    if isinstance(version, int) and version > current_version():
        raise BackupError(
            f"备份 {source} 的数据格式版本 {version} 比本程序支持的 "
            f"{current_version()} 新；请先升级机器人再恢复。"
        )
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise BackupError(f"{source} 不是机器人的备份（{MANIFEST} 缺少文件清单）。")
    for rel, entry in files.items():
        path = source / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise BackupError(f"备份清单中的路径 {rel} 不安全，已拒绝恢复。")
        if not path.is_file() or _sha256(path) != entry.get("sha256"):
            raise BackupError(
                f"备份 {source} 不完整或已损坏：{rel} 缺失或与清单中的校验值不符。"
            )
    return sorted(files)


def _move_aside(data_dir: Path) -> Path | None:
    entries = [e for e in os.listdir(data_dir) if e != LOCK_NAME and not _is_skipped(e)]
    if not entries:
        return None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = data_dir / f"{ASIDE_PREFIX}{stamp}"
    aside.mkdir()
    for entry in entries:
        os.replace(data_dir / entry, aside / entry)
    fsync_dir(aside)
    return aside


def _is_skipped(name: str) -> bool:
    """Top-level folders that are not data: logs and restore leftovers."""
    return name in ("logs", STAGING) or name.startswith(ASIDE_PREFIX)


def _schema_version(folder: Path) -> int | None:
    try:
        meta = json.loads((folder / "meta.json").read_bytes())
    except (OSError, ValueError):
        return None
    version = meta.get("schema_version") if isinstance(meta, dict) else None
    return version if isinstance(version, int) else None


def _copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    _fsync_file(dst)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def backup_command(data_dir: Path, target: Path, out: TextIO) -> int:
    """``python -m bot backup <dir>``: print one Chinese line; return the exit code."""
    try:
        result = backup(data_dir, target)
    except BackupError as exc:
        sys.stderr.write(f"备份失败：{exc}\n")
        return 1
    size_mb = result.bytes / 1_000_000
    out.write(
        f"已备份 {data_dir} 到 {target.resolve()}：{result.files} 个文件，"
        f"{size_mb:.1f} MB。恢复：python -m bot restore {target}\n"
    )
    return 0


def restore_command(source: Path, data_dir: Path, out: TextIO) -> int:
    """``python -m bot restore <dir>``: print one Chinese line; return the exit code."""
    try:
        aside = restore(source, data_dir)
    except BackupError as exc:
        sys.stderr.write(f"恢复失败：{exc}\n")
        return 1
    out.write(f"已把备份 {source.resolve()} 恢复到 {data_dir}。\n")
    if aside is not None:
        out.write(f"原有数据已移到 {aside}，确认无误后可删除。\n")
    return 0
