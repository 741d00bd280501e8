"""A hit is announced exactly when its scan stored it, even across a crash.

Regression tests of issue 9 (found by ``bench/kills.py``): a bot killed after a
scan stored its hits but before their message was queued never pushed them, and
a later repost was folded into the silent hit.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from bot import config
from bot.app import App

TZ = ZoneInfo("Asia/Shanghai")


def _settings(write_config, feed_server):
    date = format_datetime(datetime.now(TZ))
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>x</title><link>https://x.cn/</link><item><title>某区发票投诉无人理"
        "</title><link>https://x.cn/1.html</link><description>网友投诉发票难开。"
        f"</description><pubDate>{date}</pubDate></item></channel></rss>"
    )
    url = feed_server.route("/news.rss", feed, headers={"Content-Type": "text/xml"})
    extra = f'[[sources]]\nname = "本地新闻"\nkind = "rss"\nurl = "{url}"\n'
    return config.load(write_config(extra + 'section = "szk"\n'))


def _announcing(app: App, hit_id: str) -> list[str]:
    texts = [str(m.body.get("text", "")) for m in app.outbox.pending()]
    return [t for t in texts if hit_id in t]


async def test_issue9_hit_stored_before_crash_announced_on_restart(
    write_config, feed_server
):
    settings = _settings(write_config, feed_server)
    crashed = App.open(settings)
    report = await crashed.scanner.scan(
        settings.sources[0], crashed.fetcher, crashed.now()
    )
    await crashed.close()  # as if killed: the hit is stored, nothing was queued

    async with App.open(settings) as app:
        await app.scan_all()
        queued = _announcing(app, report.hits[0].id)
        stored = app.store.hits.get(report.hits[0].id)

    assert len(report.hits) == 1
    assert len(queued) == 1
    assert stored is not None and stored.announced


async def test_issue9_announced_hit_not_repeated_on_restart(write_config, feed_server):
    settings = _settings(write_config, feed_server)
    async with App.open(settings) as first:
        report = await first.scan_all()

    async with App.open(settings) as app:
        await app.scan_all()
        queued = _announcing(app, report.hits[0].id)

    assert len(report.hits) == 1
    assert len(queued) == 1  # the first process's message, still waiting
