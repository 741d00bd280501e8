"""Writer process for the hot-backup test: writes to a store in short bursts.

Usage: ``python tests/_backup_writer.py DATA_DIR``. Prints ``READY`` once the store
is open, then for each ``i``: adds hit ``命中 i``, then seen key ``k-i``, then ticket
``工单 i``, prints ``ACK i`` and pauses 20 ms, as the bot does between
scans. Compaction is forced often (a tiny threshold), so a backup meets it.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.models import Hit, Ticket  # noqa: E402
from bot.store import Store  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 1, 1, tzinfo=TZ)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    store = Store.open(Path(sys.argv[1]), TZ, compact_min_bytes=2000)
    _say("READY")
    for i in range(1_000_000):
        at = BASE + timedelta(hours=i)
        store.hits.add(
            Hit(f"命中 {i}", f"https://x.test/{i}", "s", "szk", "r", "一般", at)
        )
        store.seen.add(f"k-{i}", at)
        store.tickets.add(
            Ticket(f"工单 {i}", "https://t.test", "szk", "待批示", "u", at)
        )
        _say(f"ACK {i}")
        time.sleep(0.02)


if __name__ == "__main__":
    main()
