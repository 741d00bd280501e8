"""A day of scans at ten times the shipped config, in fast-forward: is memory flat?

The shipped ``config.toml`` lists 8 sources (RSS, web pages, a JSON API, keyword
searches); this bench serves ten local copies of each (80) from a local HTTP
server, with the same kinds, selectors and intervals, whose pages gain new items
through the simulated day (each source every 15 to 90 minutes; about one item in
eight matches a shipped rule). A simulated clock walks 24 hours minute by minute
and runs what the scheduler would run: every due source through `App.scan_one`
(fetch, parse, match, store, announce, deliver), ticket reminders and patrol checks
every minute, the nightly expiry at 03:30. Messages go to a poster that accepts
everything. The resident set size (RSS) of this process is sampled every
simulated hour.

Flat means: the last hour's RSS is within 10 % (or 20 MB) of the second hour's.
The first hour is left out because it loads jieba's dictionary and the page
parsers once.

    .venv/bin/python bench/soak.py              # 24 simulated hours
    .venv/bin/python bench/soak.py --hours 6    # shorter
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot import config  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import Settings, Source  # noqa: E402
from tests.feedserver import FeedServer, Route  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 7, 0, 0, tzinfo=TZ)  # a Monday
COPIES = 10
PAGE_ITEMS = 30
TOLERANCE = 0.10
TOLERANCE_MB = 20.0

RULE_WORDS = [
    "个税 退税",
    "个人所得税 汇算",
    "发票 投诉",
    "发票 举报",
    "税务局 维权",
    "税务稽查 冲突",
    "社保费 乱收费",
]
FILLER = (
    "城关区 七里河区 安宁区 西固区 榆中县 皋兰县 永登县 红古区 记者 调查 网友 "
    "企业 个体户 社区 街道 商户 市民 上午 下午 昨日 本周 近期 多名 一位 老人 "
    "学生 窗口 系统 电话 短信 材料 流程 政策 公告 通知 说明 回应 答复 天气 交通 "
    "文化 体育 旅游 教育 农业 医疗 展览 演出 美食 公园 项目 建设 会议 部署 推进"
).split()


@dataclass
class Feed:
    """One local source: its kind, and the items it has published so far."""

    source: Source
    path: str
    gap: timedelta
    next_item: datetime
    items: list[tuple[str, str, datetime]] = field(default_factory=list)


class World:
    """The local sources, their pages at the simulated time, and the counters."""

    def __init__(self, server: FeedServer, rng: random.Random) -> None:
        self.server = server
        self.rng = rng
        self.feeds: dict[str, Feed] = {}
        self.published = 0
        self.backfilled = 0  # items already on the pages at the start

    def add(self, source: Source, index: int) -> Source:
        path = f"/{source.kind}/{index}"
        url = self.server.url(path) + ("?q={q}" if source.kind == "search" else "")
        local = replace(source, name=f"{source.name}#{index}", url=url)
        gap = timedelta(minutes=self.rng.randint(15, 90))
        first = START - gap * PAGE_ITEMS
        feed = Feed(local, path, gap, first)
        self.feeds[local.name] = feed
        self.publish(feed, START)
        self.backfilled = self.published
        return local

    def publish(self, feed: Feed, now: datetime) -> None:
        """Add the items due by `now` and serve the page as it looks then."""
        while feed.next_item <= now:
            self.published += 1
            words = self.rng.sample(FILLER, 7)
            if self.rng.random() < 0.125:
                words[2:2] = self.rng.choice(RULE_WORDS).split()
            title = "".join(words) + f"（{self.published}）"
            link = self.server.url(f"/art/{self.published}.html")
            feed.items.insert(0, (title, link, feed.next_item))
            feed.next_item += feed.gap
        del feed.items[PAGE_ITEMS:]
        body, content_type = _page(feed.source, feed.items)
        self.server.routes[feed.path] = Route(
            body=body, headers={"Content-Type": content_type}
        )


def _page(source: Source, items: list[tuple[str, str, datetime]]) -> tuple[bytes, str]:
    if source.kind in ("rss", "search"):
        entries = "".join(
            f"<item><title>{escape(t)}</title><link>{link}</link>"
            f"<description>{escape(t)}。</description>"
            f"<pubDate>{at.strftime('%a, %d %b %Y %H:%M:%S +0800')}</pubDate></item>"
            for t, link, at in items
        )
        rss = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{escape(source.name)}</title><link>http://x/</link>{entries}"
            "</channel></rss>"
        )
        return rss.encode(), "application/rss+xml"
    if source.kind == "json":
        rows = [
            {
                "TITLE": t,
                "URL": link,
                "DOCRELPUBTIME": f"{at:%Y-%m-%d %H:%M:%S}",
                "SUB_TITLE": t,
            }
            for t, link, at in items
        ]
        return json.dumps(rows, ensure_ascii=False).encode(), "application/json"
    rows_html = "".join(
        f'<li><a href="{link}">{escape(t)}</a><span>{at:%Y-%m-%d %H:%M}</span></li>'
        for t, link, at in items
    )
    page = (
        "<html><head><meta charset='utf-8'></head><body>"
        f'<div class="common_list"><ul class="list">{rows_html}</ul></div>'
        "</body></html>"
    )
    return page.encode(), "text/html; charset=utf-8"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class Swallow:
    """A poster that accepts every message (stands in for WeCom here)."""

    def __init__(self) -> None:
        self.count = 0

    async def post(self, chat: str, text: str) -> None:
        self.count += 1


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def soak_settings(world: World, data_dir: Path) -> Settings:
    shipped = config.load(ROOT / "config.toml", env={})
    sources = [
        world.add(source, n * len(shipped.sources) + i)
        for n in range(COPIES)
        for i, source in enumerate(shipped.sources)
    ]
    # All 80 live on one local host: the per-host politeness delay is for real
    # sites, and here it would only measure sleeping.
    http = replace(shipped.http, per_host_delay_s=0.0, per_host_concurrency=8)
    settings = replace(
        shipped,
        bot=replace(shipped.bot, data_dir=data_dir),
        sources=tuple(sources),
        http=http,
    )
    object.__setattr__(settings, "path", shipped.path)
    return settings


@dataclass
class Sample:
    hour: int
    rss_mb: float
    scans: int
    hits: int


async def soak(hours: int, data_dir: Path, seed: int) -> dict[str, object]:
    server = FeedServer()
    server.start()
    world = World(server, random.Random(seed))
    clock = Clock()
    settings = soak_settings(world, data_dir)
    poster = Swallow()
    samples: list[Sample] = []
    due = {s.name: START for s in settings.sources}
    scans = hits = 0
    failing: list[str] = []
    started = time.monotonic()
    try:
        async with App.open(settings, clock=clock) as app:
            app.poster = poster
            for minute in range(hours * 60 + 1):
                clock.now = START + timedelta(minutes=minute)
                if minute % 60 == 0:
                    hits = len(app.store.hits.since(START - timedelta(days=1)))
                    samples.append(Sample(minute // 60, rss_mb(), scans, hits))
                    print(
                        f"  hour {minute // 60:2d}: rss {samples[-1].rss_mb:6.1f} MB"
                        f", scans {scans}, hits {hits}",
                        flush=True,
                    )
                ready = [s for s in settings.sources if due[s.name] <= clock.now]
                for source in ready:
                    world.publish(world.feeds[source.name], clock.now)
                    due[source.name] = clock.now + source.interval
                await asyncio.gather(*(app.scan_one(s) for s in ready))
                scans += len(ready)
                await app.chase()
                await app.patrol_check()
                if clock.now.hour == 3 and clock.now.minute == 30:
                    await app.expire_seen()
            failing = [
                s.name
                for s in settings.sources
                if app.store.sources.get(s.name).consecutive_failures
            ]
    finally:
        server.stop()
    wall = time.monotonic() - started
    items = world.published - world.backfilled
    summary = _summary(samples, scans, items, poster.count, wall)
    summary["sources_failing"] = len(failing)
    return summary


def _summary(
    samples: list[Sample], scans: int, items: int, messages: int, wall: float
) -> dict[str, object]:
    steady = samples[1:] if len(samples) > 2 else samples
    xs = [s.hour for s in steady]
    ys = [s.rss_mb for s in steady]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs) or 1.0
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var
    first, last = steady[0].rss_mb, steady[-1].rss_mb
    limit = max(first * TOLERANCE, TOLERANCE_MB)
    return {
        "hours": samples[-1].hour,
        "scans": scans,
        "new_items": items,
        "hits": samples[-1].hits,
        "messages": messages,
        "rss_after_1h_mb": round(first, 1),
        "rss_last_mb": round(last, 1),
        "rss_peak_mb": round(max(s.rss_mb for s in samples), 1),
        "rss_slope_mb_per_hour": round(slope, 2),
        "flat": abs(last - first) <= limit,
        "wall_s": round(wall, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    data_dir = Path(tempfile.mkdtemp(prefix="bot-soak-")) / "data"
    result = asyncio.run(soak(args.hours, data_dir, args.seed))
    print(json.dumps(result, ensure_ascii=False, indent=1))
    return 0 if result["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
