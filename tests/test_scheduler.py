from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import config
from bot.app import App
from bot.scheduler import build_scheduler

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=TZ)

SOURCES = """
[[sources]]
name = "要闻"
kind = "rss"
url = "http://127.0.0.1:9/feed"
section = "szk"
every = "15m"

[[sources]]
name = "停用的"
kind = "rss"
url = "http://127.0.0.1:9/off"
section = "szk"
enabled = false
"""


async def test_scheduler_one_job_per_enabled_source(write_config):
    settings = config.load(write_config(SOURCES), env={})
    async with App.open(settings, clock=lambda: NOW) as app:
        scheduler = build_scheduler(app)
        jobs = {job.id: job for job in scheduler.get_jobs()}

    assert [j for j in jobs if j.startswith("scan:")] == ["scan:要闻"]
    assert {"chase", "expire-seen", "weekly-supervision"} <= set(jobs)
    assert jobs["scan:要闻"].trigger.interval == timedelta(minutes=15)


async def test_scheduler_expire_seen_drops_keys_past_retention(write_config):
    settings = config.load(write_config(), env={})
    async with App.open(settings, clock=lambda: NOW) as app:
        app.store.seen.add("old", NOW - timedelta(days=61))
        app.store.seen.add("recent", NOW - timedelta(days=59))

        dropped = await app.expire_seen()

        assert dropped == 1
        assert not app.store.seen.has("old")
        assert app.store.seen.has("recent")
