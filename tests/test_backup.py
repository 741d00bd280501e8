"""Hot backup and restore through the real CLI, with a real writer process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.models import Hit
from bot.store import Store
from tests._backup_writer import BASE, TZ

ROOT = Path(__file__).resolve().parent.parent
WRITER = Path(__file__).with_name("_backup_writer.py")


def _bot(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextmanager
def _writer(data_dir: Path) -> Iterator[Callable[[], int]]:
    """Run the writer on `data_dir`; yield a function giving the last acked i."""
    out = data_dir.parent / "writer.out"
    with open(out, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, str(WRITER), str(data_dir)],
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    try:

        def last_ack() -> int:
            acks = [ln for ln in out.read_text().splitlines() if ln.startswith("ACK")]
            return int(acks[-1].split()[1]) if acks else -1

        deadline = time.monotonic() + 20
        while last_ack() < 20:
            assert proc.poll() is None, out.read_text()
            assert time.monotonic() < deadline, "writer made no progress"
            time.sleep(0.01)
        yield last_ack
    finally:
        proc.kill()
        proc.wait()


def _hit_numbers(store: Store) -> list[int]:
    hits = store.hits.since(BASE)
    return sorted(int(hit.title.split()[1]) for hit in hits)


def test_backup_while_writer_runs_is_point_in_time(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config()
    data_dir = tmp_path / "data"

    with _writer(data_dir) as last_ack:
        acked_before = last_ack()
        result = _bot(config, "backup", str(tmp_path / "bk"))
        still_writing = last_ack() > acked_before

    assert result.returncode == 0, result.stderr
    assert "已备份" in result.stdout
    assert still_writing
    with Store.open(tmp_path / "bk", TZ) as copy:
        numbers = _hit_numbers(copy)
        seen = [i for i in range(len(numbers) + 1) if copy.seen.has(f"k-{i}")]
        tickets = [t for year in range(2026, 2031) for t in copy.tickets.in_year(year)]
    assert numbers == list(range(len(numbers)))
    assert len(numbers) > acked_before
    # Written in the order hit, seen, ticket: any cut in time keeps that order.
    assert seen == list(range(len(seen)))
    assert len(numbers) - 1 <= len(seen) <= len(numbers)
    assert len(seen) - 1 <= len(tickets) <= len(seen)


def test_restore_round_trip_puts_data_back(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config()
    data_dir = tmp_path / "data"
    with Store.open(data_dir, TZ) as store:
        store.hits.add(Hit("备份前", "https://a.test/1", "s", "szk", "r", "一般", BASE))
    assert _bot(config, "backup", str(tmp_path / "bk")).returncode == 0
    with Store.open(data_dir, TZ) as store:
        store.hits.add(Hit("备份后", "https://a.test/2", "s", "szk", "r", "一般", BASE))

    result = _bot(config, "restore", str(tmp_path / "bk"))

    assert result.returncode == 0, result.stderr
    assert "原有数据已移到" in result.stdout
    with Store.open(data_dir, TZ) as store:
        assert [hit.title for hit in store.hits.since(BASE)] == ["备份前"]
    aside = [p for p in data_dir.iterdir() if p.name.startswith("before-restore-")]
    with Store.open(aside[0], TZ) as old:
        assert len(old.hits.since(BASE)) == 2


def test_restore_refused_while_bot_runs(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config()
    with Store.open(tmp_path / "data", TZ):
        pass
    assert _bot(config, "backup", str(tmp_path / "bk")).returncode == 0

    with _writer(tmp_path / "data"):
        result = _bot(config, "restore", str(tmp_path / "bk"))

    assert result.returncode == 1
    assert "机器人正在运行" in result.stderr
    assert "请先停止机器人" in result.stderr


def test_restore_refuses_folder_not_backup(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "meta.json").write_text("{}")

    result = _bot(config, "restore", str(tmp_path / "junk"))

    assert result.returncode == 1
    assert "不是机器人的备份" in result.stderr
    assert not (tmp_path / "data").exists()


def test_restore_refuses_damaged_backup(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config()
    with Store.open(tmp_path / "data", TZ) as store:
        store.hits.add(Hit("一条", "https://a.test/1", "s", "szk", "r", "一般", BASE))
    assert _bot(config, "backup", str(tmp_path / "bk")).returncode == 0
    manifest = json.loads((tmp_path / "bk" / "backup.json").read_text())
    damaged = next(rel for rel in manifest["files"] if rel.startswith("hits/"))
    (tmp_path / "bk" / damaged).write_text("{}")

    result = _bot(config, "restore", str(tmp_path / "bk"))

    assert result.returncode == 1
    assert "校验值不符" in result.stderr


def test_backup_refuses_non_empty_target(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config()
    (tmp_path / "data").mkdir()
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "x.txt").write_text("x")

    result = _bot(config, "backup", str(tmp_path / "bk"))

    assert result.returncode == 1
    assert "不是空目录" in result.stderr


def test_backup_of_crashed_store_drops_torn_line(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config = write_config()
    with Store.open(tmp_path / "data", TZ) as store:
        store.hits.add(Hit("一条", "https://a.test/1", "s", "szk", "r", "一般", BASE))
    journal = next((tmp_path / "data" / "hits").glob("*.jsonl"))
    with open(journal, "ab") as fh:
        fh.write(b'{"t":"hits","c":{"2":{"ti')  # killed mid-append

    result = _bot(config, "backup", str(tmp_path / "bk"))

    assert result.returncode == 0, result.stderr
    copied = tmp_path / "bk" / "hits" / journal.name
    assert copied.read_bytes().endswith(b"\n")
    with Store.open(tmp_path / "bk", TZ) as copy:
        assert [hit.title for hit in copy.hits.since(BASE)] == ["一条"]
