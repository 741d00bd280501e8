"""The data-directory lock: one process owns a store at a time.

``fcntl.flock`` on ``<data_dir>/.lock``, taken without blocking. The kernel drops
the lock when the owning process exits, however it exits (SIGKILL included), so a
stale lock file never blocks a restart. The file holds the owner's pid and the time
it opened the store, for the error message a second opener gets.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from datetime import datetime
from pathlib import Path

from bot.errors import StoreLockedError

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"


class DirLock:
    """An exclusive lock on a data directory, held until `release`."""

    def __init__(self, data_dir: Path, fd: int) -> None:
        self.data_dir = data_dir
        self._fd = fd

    @classmethod
    def acquire(cls, data_dir: Path) -> DirLock:
        """Take the lock or raise `StoreLockedError` naming the current owner."""
        path = data_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _describe_owner(os.pread(fd, 4096, 0))
            os.close(fd)
            raise StoreLockedError(data_dir, owner) from None
        except BaseException:
            os.close(fd)
            raise
        info = {"pid": os.getpid(), "since": datetime.now().astimezone().isoformat()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        log.debug("store lock taken dir=%s pid=%d", data_dir, info["pid"])
        return cls(data_dir, fd)

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the only descriptor drops the flock
            self._fd = -1


def _describe_owner(raw: bytes) -> str:
    try:
        info = json.loads(raw)
        since = datetime.fromisoformat(info["since"]).strftime("%Y-%m-%d %H:%M:%S")
        return f"进程号 {int(info['pid'])}，{since} 起占用"
    except (ValueError, KeyError, TypeError):
        return "进程号未知"
