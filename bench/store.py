"""Benchmark of the store: per-operation cost with an empty store and one year of data.

Measures inserting one hit (``store.hits.add``) and looking up a ticket by id
(``store.tickets.get``) through the public API, with an empty store and with a year
of data (60,000 hits, 5,000 tickets, 250,000 seen keys), next to TinyDB's default
single JSON file holding the same data (``db.table("hits").insert(doc)`` and
``db.table("tickets").get(Query().id == ...)``). Prints a table and one JSON line.

    .venv/bin/python bench/store.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tinydb import Query, TinyDB  # noqa: E402

from bot.models import Hit, Ticket  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store._codec import to_doc  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
YEAR_START = datetime(2026, 1, 1, tzinfo=TZ)
LAST_MONTH = datetime(2026, 12, 15, 12, tzinfo=TZ)


def _hit(n: int, at: datetime) -> Hit:
    return Hit(
        f"关于个税汇算退税进度的网民留言 {n}",
        f"https://bbs.example.test/thread/{n}",
        "某论坛",
        "nfk",
        "个税退税",
        "一般",
        at,
        summary="网民反映个人所得税汇算清缴退税长时间未到账，询问办理进度。",
    )


def _ticket(n: int, at: datetime) -> Ticket:
    return Ticket(
        f"舆情处置 {n}",
        f"https://bbs.example.test/thread/{n}",
        "nfk",
        "处理中",
        "zhangsan",
        at,
        hit_id=f"H2601-{n}",
        proposal="联系网民核实情况并答复。",
    )


def _median_ms(op: Callable[[int], object], count: int) -> float:
    samples = []
    for i in range(count):
        start = time.perf_counter()
        op(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def _populate(store: Store, hits: int, tickets: int, seen: int) -> None:
    """Bulk-load a year through the store's batch methods (one write per batch)."""
    step = timedelta(days=365) / max(hits, 1)
    batch = [_hit(n, YEAR_START + step * n) for n in range(hits)]
    store.hits.add_many(batch)
    step = timedelta(days=365) / max(tickets, 1)
    store.tickets.add_many(_ticket(n, YEAR_START + step * n) for n in range(tickets))
    per_day = seen // 365
    for day in range(365):
        keys = (f"https://bbs.example.test/item/{day}/{k}" for k in range(per_day))
        store.seen.add_many(keys, YEAR_START + timedelta(days=day, hours=12))


def _measure_store(
    data_dir: Path, sizes: tuple[int, int, int], ops: int
) -> dict[str, float]:
    hits, tickets, seen = sizes
    with Store.open(data_dir, TZ) as store:
        _populate(store, hits, tickets, seen)
    start = time.perf_counter()
    store = Store.open(data_dir, TZ)
    open_ms = (time.perf_counter() - start) * 1000
    ids = [t.id for t in store.tickets.in_year(2026)]
    rng = random.Random(1)
    store.hits.add(_hit(-1, LAST_MONTH))  # warm-up: opens this month's partition
    insert = _median_ms(lambda i: store.hits.add(_hit(i, LAST_MONTH)), ops)
    lookup = _median_ms(lambda i: store.tickets.get(rng.choice(ids)), ops)
    store.close()
    return {"insert_ms": insert, "lookup_ms": lookup, "open_ms": open_ms}


def _measure_default(path: Path, sizes: tuple[int, int, int], ops: int) -> dict:
    """TinyDB's default JSONStorage file with the same data (written in one go)."""
    hits, tickets, seen = sizes
    step = timedelta(days=365) / max(hits, 1)
    data: dict[str, dict[str, object]] = {"hits": {}, "tickets": {}, "seen": {}}
    for n in range(hits):
        data["hits"][str(n + 1)] = to_doc(_hit(n, YEAR_START + step * n), TZ)
    for n in range(tickets):
        doc = to_doc(_ticket(n, YEAR_START), TZ)
        data["tickets"][str(n + 1)] = {**doc, "id": f"YQ-2026-{n + 1:04d}"}
    for n in range(seen):
        data["seen"][str(n + 1)] = {"k": f"https://bbs.example.test/item/{n}"}
    path.write_text(json.dumps(data, ensure_ascii=False))
    size_mb = path.stat().st_size / 1e6
    rng = random.Random(1)
    with TinyDB(path) as db:
        insert = _median_ms(
            lambda i: db.table("hits").insert(to_doc(_hit(i, LAST_MONTH), TZ)), ops
        )
        ids = [f"YQ-2026-{n + 1:04d}" for n in range(tickets)] or ["YQ-2026-0001"]
        query = Query()
        lookup = _median_ms(
            lambda i: db.table("tickets").get(query.id == rng.choice(ids)), ops
        )
    return {"insert_ms": insert, "lookup_ms": lookup, "file_mb": size_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="小数据量快速运行")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    year = (60_000 // scale, 5_000 // scale, 250_000 // scale)
    empty = (0, 20, 0)  # a few tickets so that lookups find something
    ops, slow_ops = (50, 5) if args.quick else (200, 20)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ours_empty = _measure_store(root / "empty", empty, ops)
        ours_year = _measure_store(root / "year", year, ops)
        default_empty = _measure_default(root / "empty.json", empty, slow_ops)
        default_year = _measure_default(root / "year.json", year, slow_ops)

    result = {
        "quick": args.quick,
        "year": {"hits": year[0], "tickets": year[1], "seen": year[2]},
        "ops": ops,
        "default_ops": slow_ops,
        "ours_empty": ours_empty,
        "ours_year": ours_year,
        "default_empty": default_empty,
        "default_year": default_year,
        "insert_year_vs_empty": ours_year["insert_ms"] / ours_empty["insert_ms"],
        "lookup_year_vs_empty": ours_year["lookup_ms"] / ours_empty["lookup_ms"],
        "insert_default_vs_ours": default_year["insert_ms"] / ours_year["insert_ms"],
        "lookup_default_vs_ours": default_year["lookup_ms"] / ours_year["lookup_ms"],
    }
    result["goals_met"] = (
        result["insert_year_vs_empty"] <= 3
        and result["lookup_year_vs_empty"] <= 3
        and result["insert_default_vs_ours"] >= 20
        and result["lookup_default_vs_ours"] >= 20
    )
    _report(result)


def _report(r: dict) -> None:
    y = r["year"]
    rows = [
        f"存储基准（{'快速' if r['quick'] else '完整'}）："
        f"一年数据 = 命中 {y['hits']} 条、工单 {y['tickets']} 张、"
        f"已见条目 {y['seen']} 条；中位数，单位毫秒",
        f"{'':<22}{'插入一条命中':>12}{'按编号查工单':>12}",
        _row("本存储（空）", r["ours_empty"]),
        _row("本存储（一年数据）", r["ours_year"]),
        _row("TinyDB 默认单文件（空）", r["default_empty"]),
        _row("TinyDB 默认单文件（一年）", r["default_year"]),
        f"一年/空：插入 {r['insert_year_vs_empty']:.2f} 倍，"
        f"查询 {r['lookup_year_vs_empty']:.2f} 倍（目标 ≤ 3）",
        f"默认单文件/本存储（一年）：插入 {r['insert_default_vs_ours']:.0f} 倍，"
        f"查询 {r['lookup_default_vs_ours']:.0f} 倍（目标 ≥ 20）",
        f"本存储打开一年数据用时 {r['ours_year']['open_ms']:.0f} ms；"
        f"默认单文件大小 {r['default_year']['file_mb']:.1f} MB",
        "结论：" + ("达到目标" if r["goals_met"] else "未达到目标"),
        json.dumps(r, ensure_ascii=False),
    ]
    sys.stdout.write("\n".join(rows) + "\n")


def _row(label: str, m: dict[str, float]) -> str:
    return f"{label:<22}{m['insert_ms']:>12.3f}{m['lookup_ms']:>12.4f}"


if __name__ == "__main__":
    main()
