"""SIGKILL proof: a store killed at any instant loads with every acknowledged write.

A writer subprocess (`_store_writer.py`) writes to the store and acknowledges each
returned write on stdout; the test kills it at a random moment, opens the store
in-process and checks every acknowledged record. A record whose change was in
flight when the process died may hold either its last acknowledged content or the
new one, nothing else.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import Store
from tests._store_writer import BASE, TZ, digest

WRITER = Path(__file__).with_name("_store_writer.py")

Key = tuple[str, str]


class Ledger:
    """What the writers acknowledged: record -> digests the store may hold."""

    def __init__(self) -> None:
        self.allowed: dict[Key, set[str]] = {}
        self.acks = 0

    def feed(self, output: str) -> None:
        lines = output.split("\n")
        lines.pop()  # a line cut short by the kill was never acknowledged
        in_flight: tuple[Key, str] | None = None
        for line in lines:
            word, *rest = line.split(" ")
            if word == "TRY":
                in_flight = ((rest[0], rest[1]), rest[2])
            elif word == "ACK":
                self.allowed[(rest[0], rest[1])] = {rest[2]}
                self.acks += 1
                in_flight = None
        if in_flight is not None:
            key, value = in_flight
            self.allowed.setdefault(key, set()).add(value)


def _actual(store: Store, rules: dict[str, dict[str, object]], key: Key) -> str:
    kind, name = key
    if kind == "seen":
        return "-" if store.seen.has(name) else "missing"
    if kind == "rule":
        rule = rules.get(name)
        return "missing" if rule is None else digest(rule)
    if kind == "source":
        return digest(store.sources.get(name))
    repo = {
        "hit": store.hits,
        "ticket": store.tickets,
        "patrol": store.patrol,
        "outbox": store.outbox,
    }[kind]
    record = repo.get(name)
    return "missing" if record is None else digest(record)


def _verify(data_dir: Path, ledger: Ledger) -> None:
    with Store.open(data_dir, TZ) as store:
        rules = {str(rule["name"]): rule for rule in store.rules.all()}
        for key, allowed in ledger.allowed.items():
            actual = _actual(store, rules, key)
            assert actual in allowed, f"{key}: stored {actual}, acknowledged {allowed}"
            ledger.allowed[key] = {actual}
        # Everything else still reads back.
        store.hits.since(BASE - timedelta(days=1))
        store.patrol.between(BASE, BASE + timedelta(days=365 * 20))
        store.tickets.in_year(2025)
        store.tickets.in_year(2026)
        pending = {message.id for message in store.outbox.pending()}
        for kind, name in ledger.allowed:
            if kind == "outbox":
                message = store.outbox.get(name)
                assert message is not None
                assert (message.sent_at is None) == (name in pending)


def _run_and_kill(
    data_dir: Path, run: int, env: dict[str, str], rng: random.Random
) -> str:
    out_path = data_dir.parent / f"writer-{run}.out"
    err_path = data_dir.parent / f"writer-{run}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(data_dir), str(run)],
            stdout=out,
            stderr=err,
            env=env,
        )
        try:
            if rng.random() < 0.2:
                time.sleep(rng.uniform(0.005, 0.2))  # maybe while opening/recovering
            else:
                deadline = time.monotonic() + 20
                while not out_path.read_bytes().startswith(b"READY\n"):
                    assert proc.poll() is None, err_path.read_text()
                    assert time.monotonic() < deadline, "writer never became ready"
                    time.sleep(0.002)
                time.sleep(rng.uniform(0.002, 0.1))
            assert proc.poll() is None, err_path.read_text()
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, err_path.read_text()
    return out_path.read_text()


@pytest.mark.parametrize(
    ("compact_min_bytes", "kills"),
    [(256 * 1024, 50), (600, 60)],
    ids=["journal", "compacting"],
)
def test_store_crash_sigkill_keeps_every_acked_write(
    tmp_path: Path, compact_min_bytes: int, kills: int
) -> None:
    data_dir = tmp_path / "data"
    env = {**os.environ, "STORE_COMPACT_MIN_BYTES": str(compact_min_bytes)}
    rng = random.Random(compact_min_bytes)
    ledger = Ledger()

    for run in range(kills):
        ledger.feed(_run_and_kill(data_dir, run, env, rng))
        _verify(data_dir, ledger)

    assert ledger.acks > kills
    snapshots = list(data_dir.glob("*/*.json"))
    if compact_min_bytes < 1000:
        assert len(snapshots) > 10
