"""Writer process for the SIGKILL test: writes to a store until it is killed.

Usage: ``python tests/_store_writer.py DATA_DIR RUN`` (``STORE_COMPACT_MIN_BYTES``
in the environment sets the compaction threshold). Prints ``READY`` once the store
is open. Before each write that changes an existing record it prints
``TRY <kind> <id> <digest>``; after each write returns it prints
``ACK <kind> <id> <digest>``. Every line is flushed before the next write starts.
The digest functions are shared with the test that checks the store afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.models import (  # noqa: E402
    Hit,
    OutboxMessage,
    PatrolEntry,
    SourceState,
    Ticket,
    TicketEvent,
)
from bot.store import Store  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 1, 1, tzinfo=TZ)


def digest(record: object) -> str:
    """A short fingerprint of a record's full content (ids and times included)."""
    if isinstance(record, dict):
        text = json.dumps(record, sort_keys=True, ensure_ascii=False)
    else:
        text = repr(record)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def _say(*words: str) -> None:
    sys.stdout.write(" ".join(words) + "\n")
    sys.stdout.flush()


def _write_forever(store: Store, run: int) -> None:
    rng = random.Random(run)
    tickets: list[Ticket] = []
    for i in range(1_000_000):
        at = BASE + timedelta(hours=run * 1000 + i)

        hit = store.hits.add(
            Hit(
                f"命中 {run}-{i}",
                f"https://x.test/{run}/{i}",
                "src",
                "税务",
                "r",
                "一般",
                at,
                summary="摘要" * (i % 7),
            )
        )
        _say("ACK", "hit", hit.id, digest(hit))

        created = datetime(2025 + i % 2, at.month, min(at.day, 28), at.hour, tzinfo=TZ)
        ticket = store.tickets.add(
            Ticket(f"工单 {run}-{i}", "https://t.test", "税务", "待处理", "u1", created)
        )
        tickets.append(ticket)
        _say("ACK", "ticket", ticket.id, digest(ticket))

        old = rng.choice(tickets)
        event = TicketEvent(at, "u2", "comment", comment=f"备注 {run}-{i}")
        new = replace(old, state=f"s{run}-{i}", history=(*old.history, event))
        _say("TRY", "ticket", new.id, digest(new))
        store.tickets.save(new)
        tickets[tickets.index(old)] = new
        _say("ACK", "ticket", new.id, digest(new))

        entry = store.patrol.add(PatrolEntry("u1", "税务", at, findings=f"{i}"))
        _say("ACK", "patrol", entry.id, digest(entry))

        key = f"k{run}-{i}"
        store.seen.add(key, at)
        _say("ACK", "seen", key, "-")

        message = store.outbox.enqueue(
            OutboxMessage("wecom", "chat", "text", {"n": i, "run": run}, at)
        )
        _say("ACK", "outbox", message.id, digest(message))
        if i % 3:
            sent = replace(message, sent_at=at + timedelta(minutes=1))
            _say("TRY", "outbox", sent.id, digest(sent))
            store.outbox.mark_sent(sent.id, at + timedelta(minutes=1))
            _say("ACK", "outbox", sent.id, digest(sent))

        rule = {
            "name": f"r{i % 3}",
            "expr": f"{run}-{i}",
            "section": "税务",
            "level": "一般",
        }
        _say("TRY", "rule", rule["name"], digest(rule))
        store.rules.put(rule)
        _say("ACK", "rule", rule["name"], digest(rule))

        state = SourceState(f"src{i % 2}", last_success=at, items_seen=i)
        _say("TRY", "source", state.name, digest(state))
        store.sources.put(state)
        _say("ACK", "source", state.name, digest(state))


def main() -> None:
    data_dir, run = Path(sys.argv[1]), int(sys.argv[2])
    compact = int(os.environ.get("STORE_COMPACT_MIN_BYTES", str(256 * 1024)))
    store = Store.open(data_dir, TZ, compact_min_bytes=compact)
    _say("READY")
    _write_forever(store, run)


if __name__ == "__main__":
    main()
