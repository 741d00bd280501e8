"""Scanning end to end: feeds served over a real local socket, hits in the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from tests.conftest import BASE_CONFIG, ROOT
from tests.feedserver import Route

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 5, 10, 0, tzinfo=TZ)

RULES = """
[[rules]]
name = "个税汇算"
expr = "个人所得税 汇算"
section = "nfk"

[[rules]]
name = "虚开发票"
expr = "虚开发票"
section = "szk"
level = "重大"
"""


def sources(feed_server, *names: str, section: str = "szk") -> str:
    return "".join(
        f'[[sources]]\nname = "{name}"\nkind = "rss"\n'
        f'url = "{feed_server.url("/feeds/" + name)}"\nsection = "{section}"\n'
        for name in names
    )


@pytest.fixture
def make_app(write_config):
    async def make(extra: str) -> App:
        base = BASE_CONFIG.split("[[rules]]")[0]
        settings = config.load(write_config(extra + RULES, base=base), env={})
        return App.open(settings, clock=lambda: NOW)

    return make


async def test_scan_stores_hits_for_the_sources_section(make_app, feed_server):
    app = await make_app(sources(feed_server, "tax-news.rss"))
    async with app:
        report = await app.scan_all()
        stored = app.store.hits.since(datetime(2025, 3, 1, tzinfo=TZ))

    assert [h.rule for h in report.hits] == ["虚开发票"]
    hit = report.hits[0]
    assert hit.title == "国家税务总局：进一步规范发票管理 严厉打击虚开发票行为"
    assert hit.level == "重大" and hit.section == "szk"
    assert hit.url == "https://tax.example.cn/art/2025/3/4/art_2.html"
    assert [h.id for h in stored] == [hit.id]


async def test_scan_second_run_posts_nothing_twice(make_app, feed_server):
    app = await make_app(sources(feed_server, "tax-news.rss"))
    async with app:
        first = await app.scan_all()
        second = await app.scan_all()

    assert len(first.hits) == 1
    assert second.hits == []
    assert second.sources[0].new_items == 0


async def test_scan_skips_items_older_than_a_week(make_app, feed_server):
    app = await make_app(sources(feed_server, "tax-news.rss", section="nfk"))
    async with app:
        report = await app.scan_all()

    # The 汇算 notice was published on 2025-02-28, within the week before NOW.
    assert [h.rule for h in report.hits] == ["个税汇算"]


async def test_scan_broken_source_reported_others_still_scanned(make_app, feed_server):
    extra = sources(feed_server, "not-a-feed.html", "tax-news.rss")
    app = await make_app(extra)
    async with app:
        report = await app.scan_all()
        state = app.store.sources.get("not-a-feed.html")

    broken, good = report.sources
    assert not broken.ok and "不是有效的 RSS/Atom 订阅源" in broken.error
    assert good.ok and good.hits == 1
    assert state.consecutive_failures == 1
    assert "不是有效的" in state.last_error


async def test_scan_malformed_links_are_dropped_not_fatal(make_app, feed_server):
    body = feed(
        ("坏端口 虚开发票", "http://example.com:99999/x", "虚开发票"),
        ("坏地址 虚开发票", "http://[bad/x", "虚开发票"),
        ("好链接 虚开发票", "https://x.cn/ok", "虚开发票"),
    )
    app = await make_app(serve(feed_server, "/bad-links", body))
    async with app:
        report = await app.scan_all()

    (source,) = report.sources
    assert source.ok and source.items == 1
    assert [h.url for h in report.hits] == ["https://x.cn/ok"]


class Recorder:
    """A channel that remembers what it was asked to post (or fails on demand)."""

    def __init__(self, fail: bool = False) -> None:
        self.posted: list[tuple[str, str]] = []
        self.fail = fail

    async def post(self, chat: str, text: str) -> None:
        if self.fail:
            raise ConnectionError("channel down")
        self.posted.append((chat, text))


def feed(*items: tuple[str, str, str]) -> bytes:
    """An RSS body with (title, link, description) items dated NOW."""
    date = format_datetime(NOW)
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link>"
        f"<description>{d}</description><pubDate>{date}</pubDate></item>"
        for t, link, d in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>x</title><link>https://x.cn/</link>{entries}</channel></rss>"
    ).encode()


def serve(feed_server, path: str, body: bytes, status: int = 200) -> str:
    feed_server.routes[path] = Route(
        status=status,
        body=body,
        headers={"Content-Type": "application/rss+xml; charset=utf-8"},
    )
    return (
        f'[[sources]]\nname = "{path.strip("/")}"\nkind = "rss"\n'
        f'url = "{feed_server.url(path)}"\nsection = "szk"\n'
    )


STORY = "某市警方破获虚开发票案 涉案金额超十亿元"
STORY_TEXT = "某市公安局会同税务部门破获一起特大虚开发票案件，抓获犯罪嫌疑人二十余名。"


async def test_scan_announces_hits_to_section_chat(make_app, feed_server):
    app = await make_app(sources(feed_server, "tax-news.rss"))
    channel = Recorder()
    async with app:
        app.poster = channel
        await app.scan_all()

    assert len(channel.posted) == 1
    chat, text = channel.posted[0]
    assert chat == "szk-group"
    assert "【重大·" in text and "国家税务总局：进一步规范发票管理" in text
    assert '<font color="warning">虚开发票</font>' in text
    assert "<@lisi>" in text


async def test_scan_reposts_fold_into_one_hit_without_new_message(
    make_app, feed_server
):
    first = serve(
        feed_server, "/a.rss", feed((STORY, "https://a.cn/1.html", STORY_TEXT))
    )
    second = serve(
        feed_server,
        "/b.rss",
        feed((f"转发：{STORY}", "https://b.cn/9.html", STORY_TEXT)),
    )
    app = await make_app(first)
    channel = Recorder()
    async with app:
        app.poster = channel
        report_a = await app.scan_all()
        source_b = app.settings.sources[0].__class__(
            name="b.rss", kind="rss", url=feed_server.url("/b.rss"), section="szk"
        )
        await app.scan_one(source_b)
        stored = app.store.hits.get(report_a.hits[0].id)

    assert second  # served
    assert stored.copy_count == 1
    assert [c.source for c in stored.copies] == ["b.rss"]
    assert any("另有 1 处转载" in r for r in stored.reasons)
    assert len(channel.posted) == 1


async def test_scan_tracking_params_do_not_make_a_new_hit(make_app, feed_server):
    link = "https://a.cn/1.html"
    extra = serve(feed_server, "/a.rss", feed((STORY, link, STORY_TEXT)))
    app = await make_app(extra)
    async with app:
        first = await app.scan_all()
        feed_server.routes["/a.rss"].body = feed(
            (STORY, f"{link}?utm_source=weixin&from=timeline#top", STORY_TEXT)
        )
        second = await app.scan_all()

    assert len(first.hits) == 1
    assert second.hits == [] and second.sources[0].new_items == 0


async def test_scan_failing_source_alerts_office_once_then_recovers(
    make_app, feed_server
):
    extra = serve(feed_server, "/down.rss", b"oops", status=503)
    app = await make_app(extra.replace('every = "30m"', "") + "[scan]\n")
    channel = Recorder()
    async with app:
        app.poster = channel
        for _ in range(4):
            await app.scan_all()
        feed_server.routes["/down.rss"] = Route(
            body=feed(("无关新闻", "https://a.cn/2.html", "")),
            headers={"Content-Type": "application/rss+xml"},
        )
        await app.scan_all()

    office = [text for chat, text in channel.posted if chat == "office-group"]
    assert len(office) == 2
    assert "监测来源异常" in office[0] and "已连续失败 3 次" in office[0]
    assert "监测来源已恢复" in office[1]


async def test_scan_messages_wait_in_outbox_while_channel_down(make_app, feed_server):
    app = await make_app(sources(feed_server, "tax-news.rss"))
    async with app:
        app.poster = Recorder(fail=True)
        await app.scan_all()
        pending = len(app.outbox.pending())
        app.poster = healthy = Recorder()
        delivered = await app.deliver()
        again = await app.deliver()

    assert pending == 1
    assert delivered == 1 and again == 0
    assert len(healthy.posted) == 1


def test_scan_cli_once_json_prints_one_line_per_hit(
    tmp_path, feed_server, write_config
):
    fresh = format_datetime(datetime.now(TZ))
    feed_server.routes["/fresh.rss"] = Route(
        body=FRESH_FEED.format(date=fresh).encode("utf-8"),
        headers={"Content-Type": "application/rss+xml; charset=utf-8"},
    )
    extra = (
        f'[[sources]]\nname = "今日要闻"\nkind = "rss"\n'
        f'url = "{feed_server.url("/fresh.rss")}"\nsection = "szk"\n'
    )
    path = write_config(extra + RULES, base=BASE_CONFIG.split("[[rules]]")[0])

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(path),
            "scan",
            "--once",
            "--json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["title"] for r in records] == ["某地严查虚开发票团伙"]
    record = records[0]
    assert record["id"].startswith("H")
    assert record["url"] == "https://news.example.cn/2.html"
    assert (record["source"], record["rule"], record["level"]) == (
        "今日要闻",
        "虚开发票",
        "重大",
    )


FRESH_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>今日要闻</title><link>https://news.example.cn/</link>
<item><title>某地优化纳税服务</title><link>https://news.example.cn/1.html</link>
<pubDate>{date}</pubDate></item>
<item><title>某地严查虚开发票团伙</title><link>https://news.example.cn/2.html</link>
<pubDate>{date}</pubDate></item>
</channel></rss>
"""


async def test_scan_regex_hit_keeps_the_words_found(write_config, feed_server):
    extra = serve(
        feed_server, "/a.rss", feed((STORY, "https://a.cn/1.html", STORY_TEXT))
    )
    rules = '[[rules]]\nname = "虚开"\nexpr = "/虚开.{0,2}发票/"\nsection = "szk"\n'
    base = BASE_CONFIG.split("[[rules]]")[0]
    settings = config.load(write_config(extra + rules, base=base), env={})
    async with App.open(settings, clock=lambda: NOW) as app:
        report = await app.scan_all()

    (hit,) = report.hits
    assert hit.matched == ("虚开发票",)
    assert hit.rule == "虚开"
