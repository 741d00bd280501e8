"""Schema version of a data directory and the migrations that bring it up to date.

The version lives in ``<data_dir>/meta.json`` (``{"schema_version": n}``), replaced
atomically. `MIGRATIONS` is an ordered list of ``(version, function)``: when the
stored version is older than `current_version()`, each function whose version is
newer runs in order with the data directory as argument, and the stored version is
bumped after each one, so an interrupted upgrade resumes where it stopped.

To change the on-disk format: append ``(N, migrate_to_N)`` where ``migrate_to_N``
rewrites the files of version N-1 into version N. It runs on `Store.open`, with the
lock held and before any partition is loaded; it must be safe to run again if the
process dies half-way (write new files beside old ones and rename).

A stored version newer than this code knows refuses to open: older code could
silently damage data it does not understand.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

from bot.errors import StoreCorruptError, StoreError
from bot.store._journal import dumps, fsync_dir

log = logging.getLogger(__name__)

META_NAME = "meta.json"
BASE_VERSION = 1

Migration = Callable[[Path], None]

#: (version it produces, function), strictly increasing; version 1 is the base.
MIGRATIONS: list[tuple[int, Migration]] = []


def current_version() -> int:
    """The schema version this code writes."""
    return max([BASE_VERSION, *(version for version, _ in MIGRATIONS)])


def read_version(data_dir: Path) -> int | None:
    """The stored schema version, or None when the directory has no meta file."""
    path = data_dir / META_NAME
    try:
        meta = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise StoreCorruptError(path, f"不是有效的 JSON（{exc}）") from exc
    version = meta.get("schema_version") if isinstance(meta, dict) else None
    if not isinstance(version, int):
        raise StoreCorruptError(path, "缺少整数字段 schema_version")
    return version


def write_version(data_dir: Path, version: int) -> None:
    """Store `version` atomically and durably."""
    path = data_dir / META_NAME
    tmp = path.with_name(META_NAME + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(dumps({"schema_version": version}))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(data_dir)


def prepare(data_dir: Path) -> int:
    """Check the stored version and run pending migrations; return the version."""
    target = current_version()
    stored = read_version(data_dir)
    if stored is None:
        has_data = any(p.name not in {".lock", META_NAME} for p in data_dir.iterdir())
        if not has_data:
            write_version(data_dir, target)
            return target
        stored = BASE_VERSION
    if stored > target:
        raise StoreError(
            f"数据目录 {data_dir} 的数据格式版本是 {stored}，"
            f"而本程序只认识到版本 {target}。请升级机器人程序后再启动，"
            "不要用旧版本打开新版本的数据。"
        )
    steps = sorted(MIGRATIONS, key=lambda step: step[0])
    for version, migrate in steps:
        if version <= stored:
            continue
        log.info(
            "store migration start dir=%s from=%d to=%d", data_dir, stored, version
        )
        migrate(data_dir)
        write_version(data_dir, version)
        stored = version
    if stored < target:
        write_version(data_dir, target)
    return target
