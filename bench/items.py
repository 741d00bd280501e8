"""Benchmark of the item archive (``store.items``) that 测试关键词 reads.

Archiving: 10,000 generated items (a 20-30 character Chinese title, a 200-character
summary, a news URL, source, section, times) are written to one day through
``store.items.add_many`` in batches of 50, as a scan writes one batch per source
page; every batch is one durable (fsynced) write. Reports the wall and CPU time per
item and the bytes on disk of that day's files per 10,000 items.

测试关键词: a week of items (10,000 a day) in seven day files, then
``ChatRules.trial`` with a typical expression, as the chat command runs it
(reading the week from disk and matching every item). Prints a table and one JSON
line.

    .venv/bin/python bench/items.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.chat_rules import ChatRules  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.models import ArchivedItem  # noqa: E402
from bot.store import Store  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 10, 12, 0, tzinfo=TZ)
SEED = 20261210
BATCH = 50
EXPR = "(个税 | 个人所得税) (退税 | 汇算) (慢 | 未到账 | 投诉) -招聘"

WORDS = (
    "发票 税务局 纳税人 办税服务厅 电子税务局 社保费 增值税 留抵退税 企业所得税 "
    "减税降费 营商环境 网友 反映 答复 政策 解读 优化 服务 排队 系统 升级 通知 "
    "公告 某市 某区 记者 采访 群众 办事 窗口 热线 12366 稽查 经济 发展 会议"
).split()
MATCHING = ("个税", "退税", "未到账")  # about 1 % of items carry all three


def make_item(rng: random.Random, n: int, found_at: datetime) -> ArchivedItem:
    words = rng.choices(WORDS, k=rng.randint(5, 8))
    if rng.random() < 0.01:
        words[1:1] = MATCHING
    title = "".join(words)[:30]
    summary = "".join(rng.choices(WORDS, k=80))[:200]
    return ArchivedItem(
        title=title,
        url=f"https://news.example.com.cn/tax/2026/12/{n:08d}.html",
        source=f"来源{n % 200:03d}",
        section=rng.choice(("szk", "nfk")),
        found_at=found_at,
        summary=summary,
        published=found_at - timedelta(hours=rng.randint(0, 48)),
    )


def bench_archive(root: Path, count: int, rng: random.Random) -> dict[str, float]:
    """Write `count` items to one day in batches; time, CPU and bytes per item."""
    items = [make_item(rng, n, NOW) for n in range(count)]
    batches = [items[i : i + BATCH] for i in range(0, count, BATCH)]
    store = Store.open(root, TZ)
    batch_ms: list[float] = []
    cpu_start = time.process_time()
    wall_start = time.perf_counter()
    for batch in batches:
        started = time.perf_counter()
        store.items.add_many(batch)
        batch_ms.append((time.perf_counter() - started) * 1000)
    wall = time.perf_counter() - wall_start
    cpu = time.process_time() - cpu_start
    store.close()
    size = sum(p.stat().st_size for p in (root / "items").iterdir())
    return {
        "items": count,
        "batch_median_ms": statistics.median(batch_ms),
        "wall_us_per_item": wall / count * 1e6,
        "cpu_us_per_item": cpu / count * 1e6,
        "bytes_per_10k": size / count * 10_000,
    }


def bench_trial(root: Path, per_day: int, rng: random.Random) -> dict[str, float]:
    """A week of items, then 测试关键词 over it (median of three runs)."""
    store = Store.open(root, TZ)
    n = 0
    for day in range(7):
        at = NOW - timedelta(days=day, hours=1)
        items = [make_item(rng, n + i, at) for i in range(per_day)]
        n += per_day
        for i in range(0, per_day, BATCH):
            store.items.add_many(items[i : i + BATCH])
    rules = ChatRules(Settings(), store)
    runs: list[float] = []
    matched = 0
    for _ in range(3):
        started = time.perf_counter()
        trial = rules.trial(EXPR, "", NOW)
        runs.append((time.perf_counter() - started) * 1000)
        matched = len(trial.matched)
    store.close()
    return {
        "items": trial.considered,
        "matched": matched,
        "trial_median_ms": statistics.median(runs),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="小数据量快速运行")
    args = parser.parse_args()
    count, per_day = (2_000, 1_000) if args.quick else (10_000, 10_000)
    rng = random.Random(SEED)
    with tempfile.TemporaryDirectory() as tmp:
        archive = bench_archive(Path(tmp) / "archive", count, rng)
        trial = bench_trial(Path(tmp) / "week", per_day, rng)
    result = {"quick": args.quick, "archive": archive, "trial": trial}
    _report(result)


def _report(r: dict) -> None:
    a, t = r["archive"], r["trial"]
    print(f"条目存档（{a['items']:,} 条，每批 {BATCH} 条、一次落盘）")
    print(f"  每批耗时中位数      {a['batch_median_ms']:.2f} ms")
    wall, cpu = a["wall_us_per_item"], a["cpu_us_per_item"]
    print(f"  每条墙钟 / CPU      {wall:.0f} / {cpu:.0f} µs")
    print(f"  每万条占用磁盘      {a['bytes_per_10k'] / 1e6:.2f} MB")
    print(f"测试关键词（近 7 天 {t['items']:,} 条，符合 {t['matched']:,} 条）")
    print(f"  耗时中位数          {t['trial_median_ms']:.0f} ms")
    print(f"  进程峰值内存        {t['peak_rss_mb']:.0f} MB")
    print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
