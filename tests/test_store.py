"""Tests of the embedded store: repositories, ids, journal recovery, lock, schema."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import StoreCorruptError, StoreError, StoreLockedError
from bot.models import (
    Hit,
    OutboxMessage,
    PatrolEntry,
    SourceState,
    Ticket,
    TicketEvent,
)
from bot.store import Store, migrations
from bot.store._journal import JournalStorage
from bot.store.tickets import format_id

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[1]


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)


def _hit(found_at: datetime, title: str = "个税退税投诉") -> Hit:
    return Hit(title, "https://x.test/1", "微博", "nfk", "个税退税", "一般", found_at)


def _ticket(created_at: datetime, title: str = "退税慢") -> Ticket:
    return Ticket(title, "https://x.test/t", "nfk", "待处理", "zhangsan", created_at)


# Hits ---------------------------------------------------------------------------


def test_hits_add_assigns_month_id_and_get_returns_it(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)

    first = store.hits.add(_hit(_at(2026, 12, 3, 9)))
    second = store.hits.add(replace(_hit(_at(2026, 12, 4, 9)), summary="摘要"))
    loaded = store.hits.get(second.id)
    store.close()

    assert (first.id, second.id) == ("H2612-1", "H2612-2")
    assert loaded == second
    assert loaded is not None and loaded.found_at.tzinfo == TZ


def test_hits_found_at_in_other_zone_is_stored_in_store_zone(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    utc_evening = datetime(2026, 11, 30, 20, tzinfo=ZoneInfo("UTC"))

    hit = store.hits.add(_hit(utc_evening))
    loaded = store.hits.get(hit.id)
    store.close()

    assert hit.id == "H2612-1"  # 04:00 on 1 December in Shanghai
    assert loaded is not None and loaded.found_at == utc_evening
    assert loaded.found_at.tzinfo == TZ


def test_hits_get_is_case_insensitive_and_none_when_malformed_or_unknown(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path, TZ)
    hit = store.hits.add(_hit(_at(2026, 12, 3, 9)))

    found = [store.hits.get(i) for i in ("h2612-1", " H2612-01 ")]
    missing = [
        store.hits.get(i)
        for i in ("H2612-2", "H2611-1", "H2613-1", "H26121", "", "X2612-1", "H2612-0")
    ]
    store.close()

    assert found == [hit, hit]
    assert missing == [None] * len(missing)


def test_hits_since_is_newest_first_and_opens_only_recent_months(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path, TZ) as store:
        for month in range(1, 13):
            store.hits.add(_hit(_at(2026, month, 15, 8), f"m{month}"))
    store = Store.open(tmp_path, TZ)

    recent = store.hits.since(_at(2026, 11, 20))
    opened = sorted(store._parts["hits"]._open)
    store.close()

    assert [hit.title for hit in recent] == ["m12"]
    assert opened == ["2026-11", "2026-12"]


# Tickets ------------------------------------------------------------------------


def test_tickets_ids_accept_case_padding_and_short_number(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    for n in range(12):
        ticket = store.tickets.add(_ticket(_at(2026, 3, 1, 8), f"t{n + 1}"))

    spellings = ["YQ-2026-0012", "yq-2026-12", "Yq-2026-000012", "12", " 0012 "]
    found = [store.tickets.get(s, today=date(2026, 7, 1)) for s in spellings]
    other_year = store.tickets.get("12", today=date(2027, 1, 1))
    store.close()

    assert ticket.id == "YQ-2026-0012"
    assert found == [ticket] * len(spellings)
    assert other_year is None


def test_tickets_get_none_for_malformed_or_unknown(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    store.tickets.add(_ticket(_at(2026, 3, 1, 8)))

    results = [
        store.tickets.get(s, today=date(2026, 7, 1))
        for s in ("YQ-2026-0002", "YQ-2025-0001", "YQ-26-1", "abc", "", "0", "-1")
    ]
    store.close()

    assert results == [None] * len(results)


def test_tickets_format_id_grows_past_four_digits() -> None:
    ids = (format_id(2026, 7), format_id(2026, 9999), format_id(2026, 12345))

    assert ids == ("YQ-2026-0007", "YQ-2026-9999", "YQ-2026-12345")


def test_tickets_save_replaces_ticket_and_history(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    ticket = store.tickets.add(_ticket(_at(2026, 3, 1, 8)))
    event = TicketEvent(
        _at(2026, 3, 1, 9), "lisi", "assign", "待处理", "处理中", "请跟进"
    )

    store.tickets.save(replace(ticket, state="处理中", history=(event,)))
    store.close()
    store = Store.open(tmp_path, TZ)
    loaded = store.tickets.get(ticket.id)
    store.close()

    assert loaded == replace(ticket, state="处理中", history=(event,))
    assert isinstance(loaded.history, tuple)


def test_tickets_save_unknown_id_raises(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)

    with pytest.raises(StoreError, match="不存在"):
        store.tickets.save(replace(_ticket(_at(2026, 3, 1)), id="YQ-2026-0009"))
    with pytest.raises(StoreError, match="无编号"):
        store.tickets.save(_ticket(_at(2026, 3, 1)))
    store.close()


def test_tickets_in_year_lists_only_that_year(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    a = store.tickets.add(_ticket(_at(2025, 12, 31, 23), "a"))
    b = store.tickets.add(_ticket(_at(2026, 1, 1, 0), "b"))
    c = store.tickets.add(_ticket(_at(2026, 5, 1, 0), "c"))

    years = (store.tickets.in_year(2025), store.tickets.in_year(2026))
    empty = store.tickets.in_year(2020)
    store.close()

    assert years == ([a], [b, c])
    assert (a.id, c.id) == ("YQ-2025-0001", "YQ-2026-0002")
    assert empty == []


# Patrol, rules, sources ---------------------------------------------------------


def test_patrol_add_get_and_between(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    old = store.patrol.add(PatrolEntry("zhangsan", "nfk", _at(2025, 12, 31, 22)))
    mid = store.patrol.add(PatrolEntry("zhangsan", "nfk", _at(2026, 1, 1, 9), "微博"))
    new = store.patrol.add(PatrolEntry("wangwu", "szk", _at(2026, 1, 2, 9)))

    window = store.patrol.between(_at(2025, 12, 31, 22), _at(2026, 1, 2, 9))
    loaded = store.patrol.get(mid.id.lower())
    store.close()

    assert window == [old, mid]
    assert (old.id, mid.id, new.id) == ("P2025-1", "P2026-1", "P2026-2")
    assert loaded == mid


def test_rules_put_upserts_by_name_and_delete(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    store.rules.put({"name": "退税", "expr": "退税", "section": "nfk", "level": "一般"})
    store.rules.put({"name": "发票", "expr": "发票", "section": "szk", "level": "较大"})

    store.rules.put({"name": "退税", "expr": "退税 慢", "section": "nfk"})
    deleted = (store.rules.delete("发票"), store.rules.delete("没有"))
    store.close()
    store = Store.open(tmp_path, TZ)
    rules = store.rules.all()
    store.close()

    assert rules == [{"name": "退税", "expr": "退税 慢", "section": "nfk"}]
    assert deleted == (True, False)


def test_rules_put_without_name_raises(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)

    with pytest.raises(ValueError, match="name"):
        store.rules.put({"expr": "x"})
    store.close()


def test_sources_get_defaults_then_put_replaces(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    fresh = store.sources.get("微博")

    store.sources.put(SourceState("微博", last_success=_at(2026, 1, 1), items_seen=3))
    store.sources.put(SourceState("微博", consecutive_failures=2, last_error="超时"))
    store.sources.put(SourceState("网站", etag='"abc"'))
    loaded = store.sources.get("微博")
    everything = store.sources.all()
    store.close()

    assert fresh == SourceState("微博")
    assert loaded == SourceState("微博", consecutive_failures=2, last_error="超时")
    assert [state.name for state in everything] == ["微博", "网站"]


# Seen ---------------------------------------------------------------------------


def test_seen_add_has_and_count(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)

    first = store.seen.add("url-1", _at(2026, 1, 1, 8))
    again = store.seen.add("url-1", _at(2026, 1, 2, 8))
    store.seen.add("url-2", _at(2026, 1, 2, 8))
    store.close()
    store = Store.open(tmp_path, TZ)
    state = (store.seen.has("url-1"), store.seen.has("url-3"), store.seen.count())
    store.close()

    assert (first, again) == (True, False)
    assert state == (True, False, 2)


def test_seen_expire_drops_old_days_only(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    for day in range(1, 6):
        for n in range(3):
            store.seen.add(f"d{day}-{n}", _at(2026, 1, day, 12))

    dropped = store.seen.expire(date(2026, 1, 4))
    after = [store.seen.has(f"d{day}-0") for day in range(1, 6)]
    readded = store.seen.add("d1-0", _at(2026, 1, 6, 12))
    store.close()
    store = Store.open(tmp_path, TZ)
    count = store.seen.count()
    store.close()

    assert dropped == 9
    assert after == [False, False, False, True, True]
    assert readded is True
    assert count == 7
    assert sorted(p.name for p in (tmp_path / "seen").iterdir()) == [
        "2026-01-04.jsonl",
        "2026-01-05.jsonl",
        "2026-01-06.jsonl",
    ]


# Outbox -------------------------------------------------------------------------


def test_outbox_enqueue_pending_sent_and_failed(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    a = store.outbox.enqueue(
        OutboxMessage("wecom", "g1", "text", {"t": "a"}, _at(2026, 1, 1))
    )
    b = store.outbox.enqueue(
        OutboxMessage("wecom", "g2", "card", {"t": "b"}, _at(2026, 2, 1))
    )
    c = store.outbox.enqueue(OutboxMessage("wecom", "g3", "text", {}, _at(2026, 1, 5)))

    store.outbox.mark_failed(b.id, "网络超时")
    store.outbox.mark_failed(b.id, "网络超时2")
    store.outbox.mark_sent(a.id.lower(), _at(2026, 1, 1, 0, 1))
    store.close()
    store = Store.open(tmp_path, TZ)
    pending = store.outbox.pending()
    sent = store.outbox.get(a.id)
    store.close()

    assert (a.id, b.id, c.id) == ("O2601-1", "O2602-1", "O2601-2")
    assert [m.id for m in pending] == [c.id, b.id]
    assert pending[1].attempts == 2 and pending[1].last_error == "网络超时2"
    assert sent == replace(a, sent_at=_at(2026, 1, 1, 0, 1))


def test_outbox_enqueue_sets_created_at_and_unknown_ids_raise(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    before = datetime.now(TZ)

    message = store.outbox.enqueue(OutboxMessage("wecom", "g1", "text"))
    with pytest.raises(StoreError, match="不存在"):
        store.outbox.mark_sent("O2601-99", before)
    with pytest.raises(StoreError, match="不存在"):
        store.outbox.mark_failed("garbage", "x")
    missing = store.outbox.get("O2601-99")
    store.close()

    assert message.created_at is not None and message.created_at >= before
    assert missing is None


def test_outbox_open_reads_only_months_with_pending_messages(tmp_path: Path) -> None:
    with Store.open(tmp_path, TZ) as store:
        for month in (1, 2, 3):
            m = store.outbox.enqueue(
                OutboxMessage("w", "g", "t", {}, _at(2026, month, 1))
            )
            if month < 3:
                store.outbox.mark_sent(m.id, _at(2026, month, 2))
    Store.open(tmp_path, TZ).close()  # prunes the drained months

    store = Store.open(tmp_path, TZ)
    opened = sorted(store._parts["outbox"]._open)
    pending = [m.id for m in store.outbox.pending()]
    store.close()

    assert opened == ["2026-03"]
    assert pending == ["O2603-1"]


# Journal ------------------------------------------------------------------------


def test_journal_torn_last_line_is_dropped_and_rest_loads(tmp_path: Path) -> None:
    with Store.open(tmp_path, TZ) as store:
        kept = store.hits.add(_hit(_at(2026, 12, 1)))
    journal = tmp_path / "hits" / "2026-12.jsonl"
    good_size = journal.stat().st_size
    with open(journal, "ab") as fh:
        fh.write(b'{"t":"hits","c":{"2":{"title":"half')

    store = Store.open(tmp_path, TZ)
    loaded = store.hits.get(kept.id)
    truncated = journal.stat().st_size
    after = store.hits.add(_hit(_at(2026, 12, 2)))
    store.close()
    store = Store.open(tmp_path, TZ)
    reloaded = store.hits.get(after.id)
    store.close()

    assert loaded == kept
    assert truncated == good_size
    assert after.id == "H2612-2" and reloaded == after


def test_journal_unreadable_last_full_line_is_dropped(tmp_path: Path) -> None:
    with Store.open(tmp_path, TZ) as store:
        kept = store.hits.add(_hit(_at(2026, 12, 1)))
    journal = tmp_path / "hits" / "2026-12.jsonl"
    with open(journal, "ab") as fh:
        fh.write(b"\x00\x00\x00\n")

    with Store.open(tmp_path, TZ) as store:
        loaded = store.hits.get(kept.id)

    assert loaded == kept


def test_journal_bad_line_in_the_middle_raises_corrupt(tmp_path: Path) -> None:
    with Store.open(tmp_path, TZ) as store:
        store.hits.add(_hit(_at(2026, 12, 1)))
        store.hits.add(_hit(_at(2026, 12, 2)))
    journal = tmp_path / "hits" / "2026-12.jsonl"
    lines = journal.read_bytes().split(b"\n")
    lines[1] = b"garbage"
    journal.write_bytes(b"\n".join(lines))

    store = Store.open(tmp_path, TZ)
    with pytest.raises(StoreCorruptError, match="第 2 行"):
        store.hits.get("H2612-1")
    store.close()


def test_journal_compaction_keeps_data_and_shrinks_journal(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ, compact_min_bytes=2_000)
    hits = [store.hits.add(_hit(_at(2026, 12, 1), f"h{n}")) for n in range(60)]
    ticket = store.tickets.add(_ticket(_at(2026, 1, 1)))
    for n in range(40):
        store.tickets.save(replace(ticket, state=f"s{n}"))

    store.close()
    store = Store.open(tmp_path, TZ)
    loaded = [store.hits.get(hit.id) for hit in hits]
    loaded_ticket = store.tickets.get(ticket.id)
    store.close()

    assert loaded == hits
    assert loaded_ticket == replace(ticket, state="s39")
    assert (tmp_path / "hits" / "2026-12.json").exists()
    assert (tmp_path / "tickets" / "2026.jsonl").stat().st_size < 4_000
    assert not list(tmp_path.glob("*/*.tmp"))


def test_journal_left_over_from_before_compaction_is_ignored(tmp_path: Path) -> None:
    base = tmp_path / "part"
    storage = JournalStorage(base, compact_min_bytes=10**9)
    storage.commit("t", {"1": {"v": 1}, "2": {"v": 2}})
    stale = base.with_name("part.jsonl").read_bytes()
    storage.write({"t": {"1": {"v": 1}}})  # drop doc 2, new snapshot generation
    storage.close()
    base.with_name("part.jsonl").write_bytes(stale)  # as if killed before reset

    reopened = JournalStorage(base)
    data = reopened.read()
    reopened.close()

    assert data == {"t": {"1": {"v": 1}}}


def test_journal_failed_write_leaves_memory_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(tmp_path, TZ)
    ticket = store.tickets.add(_ticket(_at(2026, 1, 1)))

    def fail(*args: object) -> None:
        raise StoreError("磁盘已满")

    monkeypatch.setattr(JournalStorage, "commit", fail)
    with pytest.raises(StoreError):
        store.tickets.save(replace(ticket, state="已办结"))
    with pytest.raises(StoreError):
        store.tickets.add(_ticket(_at(2026, 1, 2)))
    monkeypatch.undo()
    loaded = store.tickets.get(ticket.id)
    listed = store.tickets.in_year(2026)
    store.close()

    assert loaded == ticket
    assert listed == [ticket]


# Whole store --------------------------------------------------------------------


def test_store_reopen_after_close_keeps_everything(tmp_path: Path) -> None:
    with Store.open(tmp_path / "d", TZ) as store:
        hit = store.hits.add(_hit(_at(2026, 6, 1)))
        ticket = store.tickets.add(_ticket(_at(2026, 6, 1)))
        entry = store.patrol.add(PatrolEntry("u", "nfk", _at(2026, 6, 1, 10)))
        store.rules.put({"name": "r", "expr": "e", "section": "s", "level": "一般"})
        store.sources.put(SourceState("微博", items_seen=5))
        store.seen.add("k", _at(2026, 6, 1))
        message = store.outbox.enqueue(OutboxMessage("w", "g", "t", {"a": [1, 2]}))

    with Store.open(tmp_path / "d", TZ) as store:
        state = (
            store.hits.get(hit.id),
            store.tickets.get(ticket.id),
            store.patrol.get(entry.id),
            store.rules.all(),
            store.sources.get("微博"),
            store.seen.has("k"),
            store.outbox.pending(),
        )

    assert state == (
        hit,
        ticket,
        entry,
        [{"name": "r", "expr": "e", "section": "s", "level": "一般"}],
        SourceState("微博", items_seen=5),
        True,
        [message],
    )


def test_store_second_open_in_same_process_is_refused(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)

    with pytest.raises(StoreLockedError) as caught:
        Store.open(tmp_path, TZ)
    store.close()
    Store.open(tmp_path, TZ).close()

    assert f"进程号 {os.getpid()}" in str(caught.value)
    assert re.search(r"，\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 起占用", str(caught.value))


def test_store_second_open_from_another_process_names_the_owner(
    tmp_path: Path,
) -> None:
    script = (
        "import sys, time; from pathlib import Path; from zoneinfo import ZoneInfo;"
        "from bot.store import Store;"
        "s = Store.open(Path(sys.argv[1]), ZoneInfo('Asia/Shanghai'));"
        "print('READY', flush=True); time.sleep(60)"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert owner.stdout is not None
        assert owner.stdout.readline() == b"READY\n"

        with pytest.raises(StoreLockedError) as caught:
            Store.open(tmp_path, TZ)
    finally:
        owner.kill()
        owner.wait()
        assert owner.stdout is not None
        owner.stdout.close()
    Store.open(tmp_path, TZ).close()  # SIGKILL released the lock

    message = str(caught.value)
    assert f"进程号 {owner.pid}" in message
    assert "正被另一个进程使用" in message
    assert caught.value.data_dir == tmp_path


# Schema -------------------------------------------------------------------------


def test_schema_version_is_stored_on_create(tmp_path: Path) -> None:
    store = Store.open(tmp_path, TZ)
    version = store.schema_version
    store.close()

    meta = json.loads((tmp_path / "meta.json").read_text())

    assert version == migrations.current_version() == 1
    assert meta == {"schema_version": 1}


def test_schema_migrations_run_in_order_when_stored_version_is_older(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store.open(tmp_path, TZ) as store:
        store.rules.put({"name": "r", "expr": "e", "section": "s", "level": "一般"})
    calls: list[tuple[int, Path]] = []
    monkeypatch.setattr(
        migrations,
        "MIGRATIONS",
        [(3, lambda d: calls.append((3, d))), (2, lambda d: calls.append((2, d)))],
    )

    store = Store.open(tmp_path, TZ)
    version = store.schema_version
    rules = store.rules.all()
    store.close()
    Store.open(tmp_path, TZ).close()

    assert calls == [(2, tmp_path), (3, tmp_path)]
    assert version == 3
    assert json.loads((tmp_path / "meta.json").read_text()) == {"schema_version": 3}
    assert rules[0]["name"] == "r"


def test_schema_newer_than_code_refuses_to_open(tmp_path: Path) -> None:
    Store.open(tmp_path, TZ).close()
    (tmp_path / "meta.json").write_text('{"schema_version": 7}')

    with pytest.raises(StoreError, match="版本是 7") as caught:
        Store.open(tmp_path, TZ)
    (tmp_path / "meta.json").write_text('{"schema_version": 1}')
    Store.open(tmp_path, TZ).close()  # the refusal released the lock

    assert "请升级" in str(caught.value)


def test_store_unreadable_snapshot_raises_corrupt_and_releases_lock(
    tmp_path: Path,
) -> None:
    Store.open(tmp_path, TZ).close()
    (tmp_path / "state.json").write_text("{not json")

    with pytest.raises(StoreCorruptError, match="state.json"):
        Store.open(tmp_path, TZ)
    (tmp_path / "state.json").unlink()
    Store.open(tmp_path, TZ).close()
