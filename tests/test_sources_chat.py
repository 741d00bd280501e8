"""Sources managed in chat: list, pause, resume, add (address checks), remove,
the scheduler picking chat sources up without a restart, and the item archive."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from bot.errors import ConfigError
from bot.events import Inbound
from bot.models import ArchivedItem
from bot.scheduler import build_scheduler, sync_chat_sources
from tests.conftest import ROOT
from tests.feedserver import Route

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 9, 30, tzinfo=TZ)
RSS_TYPE = {"Content-Type": "application/rss+xml"}


async def say(app: App, sender: str, text: str) -> str:
    reply = await app.dispatcher.handle(Inbound(sender=sender, text=text))
    return reply.text


def rss(*titles: str) -> bytes:
    date = format_datetime(NOW)
    entries = "".join(
        f"<item><title>{t}</title><link>https://bbs.cn/{n}.html</link>"
        f"<pubDate>{date}</pubDate></item>"
        for n, t in enumerate(titles)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>x</title><link>https://x.cn/</link>{entries}</channel></rss>"
    ).encode()


@pytest.fixture
def forum(feed_server) -> str:
    """A feed with one hit for the 发票投诉 rule of szk; returns its URL."""
    feed_server.routes["/forum.rss"] = Route(
        body=rss("网友发票投诉无人理", "某地优化纳税服务"), headers=RSS_TYPE
    )
    return feed_server.url("/forum.rss")


@pytest.fixture
def make_app(write_config, forum):
    async def make(extra: str = "") -> App:
        source = (
            f'[[sources]]\nname = "本地论坛"\nkind = "rss"\n'
            f'url = "{forum}"\nsection = "szk"\n'
        )
        settings = config.load(write_config(source + extra), env={})
        return App.open(settings, clock=lambda: NOW)

    return make


ALLOW_PRIVATE = "[scan]\nallow_private_sources = true\n"


async def test_sources_list_shows_origin_and_pause(make_app):
    async with await make_app(ALLOW_PRIVATE) as app:
        await say(app, "admin", "添加来源 新闻源 rss http://127.0.0.1:9/a.rss nfk 2h")
        await say(app, "sunqi", "暂停来源 本地论坛")
        reply = await say(app, "wangwu", "来源")

    assert "1. 本地论坛（rss，税政管理科，每 30m，配置文件） " in reply
    assert "已暂停</font>（sunqi 于 2026-12-03 09:30 暂停）" in reply
    assert "2. 新闻源（rss，纳税服务科，每 2h，群内添加）" in reply


async def test_paused_source_is_not_scanned_until_resumed(make_app, feed_server):
    async with await make_app() as app:
        paused = await say(app, "sunqi", "暂停来源 本地论坛")
        skipped = await app.scan_all()
        await app.scan_one(app.settings.sources[0])  # the scheduled job
        requests_while_paused = feed_server.hits("/forum.rss")
        resumed = await say(app, "admin", "恢复来源 本地论坛")
        scanned = await app.scan_all()
        state = app.store.sources.get("本地论坛")

    assert "已暂停来源“本地论坛”" in paused and "已恢复来源“本地论坛”" in resumed
    assert skipped.sources[0].paused and skipped.hits == []
    assert requests_while_paused == 0
    assert [h.title for h in scanned.hits] == ["网友发票投诉无人理"]
    assert not state.paused and state.paused_by == ""


async def test_pause_is_kept_when_a_running_scan_ends(make_app, feed_server):
    hold = threading.Event()
    feed_server.routes["/forum.rss"].hold = hold
    async with await make_app() as app:
        scan = asyncio.ensure_future(app.scan_all())
        await asyncio.to_thread(feed_server.wait_for_hits, "/forum.rss", 1)
        await say(app, "sunqi", "暂停来源 本地论坛")
        hold.set()
        report = await scan
        state = app.store.sources.get("本地论坛")

    assert report.sources[0].ok and state.last_success == NOW
    assert state.paused and state.paused_by == "sunqi"


async def test_pause_refusals_are_explained(make_app):
    async with await make_app() as app:
        monitor = await say(app, "zhangsan", "暂停来源 本地论坛")
        unknown = await say(app, "sunqi", "暂停来源 微博")
        not_paused = await say(app, "sunqi", "恢复来源 本地论坛")
        await say(app, "sunqi", "暂停来源 本地论坛")
        twice = await say(app, "admin", "暂停来源 本地论坛")
        missing = await say(app, "sunqi", "暂停来源")
        records = app.store.changes.recent("来源")

    assert "“暂停来源”仅限办公室、管理员使用" in monitor
    assert "没有名为“微博”的来源。现有来源：本地论坛" in unknown
    assert "来源“本地论坛”没有暂停" in not_paused
    assert "已经是暂停状态（sunqi 于 2026-12-03 09:30 暂停）" in twice
    assert "缺少来源名称" in missing and "暂停来源 <来源名称>" in missing
    assert [(r.action, r.actor) for r in records] == [("暂停", "sunqi")]


def test_scan_once_says_which_sources_are_paused(make_app, tmp_path):
    async def pause() -> config.Settings:
        async with await make_app() as app:
            await say(app, "sunqi", "暂停来源 本地论坛")
            return app.settings

    settings = asyncio.run(pause())

    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(settings.path), "scan", "--once"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )

    assert result.returncode == 0, result.stderr
    assert "⏸ 本地论坛：已暂停，本轮跳过" in result.stdout
    assert "本轮共新增命中 0 条" in result.stdout


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        pytest.param("http://127.0.0.1:8080/feed", "127.0.0.1", id="loopback"),
        pytest.param("http://10.1.2.3/rss.xml", "10.1.2.3", id="private"),
        pytest.param("http://169.254.169.254/latest", "169.254.169.254", id="link"),
        pytest.param("http://localhost:8000/rss", "127.0.0.1", id="localhost"),
        pytest.param("http://[::1]/rss", "::1", id="ipv6-loopback"),
        pytest.param("https://240.0.0.1/rss", "240.0.0.1", id="reserved"),
    ],
)
async def test_add_source_refuses_internal_addresses(make_app, url, shown):
    async with await make_app() as app:
        reply = await say(app, "admin", f"添加来源 内网 rss {url} szk")
        stored = app.store.chat_sources.all()

    assert "不能添加这个来源" in reply
    assert f"指向内部网络地址（{shown}" in reply
    assert "allow_private_sources = true" in reply
    assert stored == []


async def test_add_source_unresolvable_host_refused(make_app):
    async with await make_app() as app:
        reply = await say(
            app, "admin", "添加来源 坏 rss http://no-such-host.invalid/ szk"
        )

    assert "无法解析域名 no-such-host.invalid" in reply


async def test_add_source_public_address_accepted(make_app):
    async with await make_app() as app:
        reply = await say(app, "admin", "添加来源 公网 rss http://8.8.8.8/rss.xml nfk")

    assert "已添加来源“公网”（rss，纳税服务科，每 30m）" in reply


async def test_add_source_when_allowed_is_stored_audited_and_scanned(
    make_app, feed_server
):
    url = feed_server.url("/forum.rss")
    async with await make_app(ALLOW_PRIVATE) as app:
        scheduler = build_scheduler(app)
        before = {job.id for job in scheduler.get_jobs()}
        reply = await say(app, "admin", f"添加来源 论坛二 rss {url} szk 15m")
        await sync_chat_sources(scheduler, app)
        job = scheduler.get_job("scan:论坛二")
        await job.func(*job.args)
        hits = app.store.hits.since(NOW - timedelta(hours=1))

    assert "sync-sources" in before and "scan:论坛二" not in before
    assert "已添加来源“论坛二”（rss，税政管理科，每 15m）" in reply
    assert "1 分钟内开始扫描" in reply
    assert job.trigger.interval == timedelta(minutes=15)
    assert [(h.source, h.rule) for h in hits] == [("论坛二", "发票投诉")]
    (record,) = app.store.changes.recent("来源")
    assert (record.action, record.actor, record.name) == ("添加", "admin", "论坛二")
    assert record.new == f"rss {url}（税政管理科，每 15m）"


async def test_remove_source_stops_its_job(make_app, forum):
    async with await make_app(ALLOW_PRIVATE) as app:
        scheduler = build_scheduler(app)
        await say(app, "admin", f"添加来源 论坛二 rss {forum} szk")
        await sync_chat_sources(scheduler, app)
        await app.scan_all()
        reply = await say(app, "admin", "删除来源 论坛二")
        await sync_chat_sources(scheduler, app)
        jobs = {job.id for job in scheduler.get_jobs()}
        listing = await say(app, "admin", "来源")
        state = app.store.sources.get("论坛二")

    assert "已删除来源“论坛二”，1 分钟内停止扫描" in reply
    assert "scan:论坛二" not in jobs and "scan:本地论坛" in jobs
    assert "论坛二" not in listing
    assert state.last_attempt is None


async def test_remove_config_source_refused(make_app):
    async with await make_app() as app:
        reply = await say(app, "admin", "删除来源 本地论坛")

    assert "“本地论坛”是配置文件中的来源，不能在群里删除" in reply
    assert "config.toml 的 [[sources]]" in reply and "暂停来源 本地论坛" in reply


async def test_add_and_remove_source_are_for_admins_only(make_app):
    async with await make_app() as app:
        add = await say(app, "sunqi", "添加来源 x rss http://8.8.8.8/ szk")
        remove = await say(app, "lisi", "删除来源 本地论坛")

    assert "“添加来源”仅限管理员使用；你的角色是办公室" in add
    assert "“删除来源”仅限管理员使用" in remove


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param("x rss http://8.8.8.8/", "四项都要写", id="too-few"),
        pytest.param("x atom http://8.8.8.8/ szk", "类型“atom”不对", id="kind"),
        pytest.param("x rss ftp://8.8.8.8/ szk", "来源的 url 有误", id="scheme"),
        pytest.param("x rss http://8.8.8.8/ 财务科", "没有“财务科”这个科室", id="sect"),
        pytest.param("x rss http://8.8.8.8/ szk 30s", "超出范围", id="every"),
        pytest.param(
            "x rss http://8.8.8.8/ szk colour=red", "不认识“colour=red”", id="key"
        ),
        pytest.param(
            "本地论坛 rss http://8.8.8.8/ szk", "已有名为“本地论坛”", id="taken"
        ),
        pytest.param("x search http://8.8.8.8/s szk", "必须有 {q}", id="search-q"),
        pytest.param(
            'x html http://8.8.8.8/ szk item="ul li', "引号没有闭合", id="quote"
        ),
    ],
)
async def test_add_source_bad_input_says_what_and_how(make_app, args, expected):
    async with await make_app() as app:
        reply = await say(app, "admin", f"添加来源 {args}")
        stored = app.store.chat_sources.all()

    assert expected in reply
    assert stored == []


async def test_add_source_bad_args_show_the_syntax(make_app):
    async with await make_app() as app:
        reply = await say(app, "admin", "添加来源 x rss")

    assert (
        "正确写法：添加来源 <名称> <类型> <网址> <科室> [间隔] [设置=值 ...]" in reply
    )


async def test_add_html_source_needs_selectors_then_accepts_them(make_app):
    async with await make_app() as app:
        missing = await say(app, "admin", "添加来源 留言板 html http://8.8.8.8/ly nfk")
        added = await say(
            app,
            "admin",
            '添加来源 留言板 html http://8.8.8.8/ly nfk 2h item="ul.list li" title=a',
        )
        (doc,) = app.store.chat_sources.all()

    assert "来源的 item 有误：网页类来源必须配置此选择器" in missing
    assert 'item="ul.list li" title=a' in missing
    assert "已添加来源“留言板”（html，纳税服务科，每 2h）" in added
    assert (doc["item"], doc["title"], doc["added_by"]) == ("ul.list li", "a", "admin")


async def test_add_json_source_with_paths(make_app):
    async with await make_app() as app:
        reply = await say(
            app,
            "admin",
            "添加来源 接口 json http://8.8.8.8/api szk item=data.list title=t "
            "weight=1.5 rules=发票投诉,个税退税",
        )
        source = app.scanner.sources()[-1]

    assert "已添加来源“接口”（json，税政管理科，每 30m）" in reply
    assert (source.item, source.title, source.weight) == ("data.list", "t", 1.5)
    assert source.rules == ("发票投诉", "个税退税")


async def test_change_log_lists_source_changes(make_app):
    async with await make_app() as app:
        await say(app, "admin", "添加来源 公网 rss http://8.8.8.8/rss.xml nfk")
        await say(app, "sunqi", "暂停来源 公网")
        await say(app, "admin", "删除来源 公网")
        reply = await say(app, "zhangsan", "变更记录 来源")

    assert "来源变更记录（共 3 条）" in reply
    lines = [line for line in reply.splitlines() if "“公网”" in line]
    assert lines == [
        "2026-12-03 09:30 admin 删除来源“公网”",
        "2026-12-03 09:30 sunqi 暂停来源“公网”",
        "2026-12-03 09:30 admin 添加来源“公网”",
    ]


async def test_scan_archives_every_new_item_once(make_app):
    async with await make_app() as app:
        await app.scan_all()
        await app.scan_all()
        items = app.store.items.since(NOW - timedelta(days=1))

    assert sorted(i.title for i in items) == ["某地优化纳税服务", "网友发票投诉无人理"]
    assert {(i.source, i.section, i.found_at) for i in items} == {
        ("本地论坛", "szk", NOW)
    }


async def test_nightly_job_expires_archived_items(make_app):
    def item(days: int) -> ArchivedItem:
        return ArchivedItem(
            f"{days} 天前", "", "本地论坛", "szk", NOW - timedelta(days)
        )

    async with await make_app() as app:
        app.store.items.add_many([item(20), item(15), item(13), item(1)])
        await app.expire_seen()
        kept = app.store.items.since(NOW - timedelta(days=30))

    assert [i.title for i in kept] == ["1 天前", "13 天前"]


async def test_archived_summary_is_capped(make_app):
    long = ArchivedItem("长文", "", "本地论坛", "szk", NOW, summary="税" * 2000)
    async with await make_app() as app:
        app.store.items.add_many([long])
        (stored,) = app.store.items.since(NOW - timedelta(days=1))

    assert len(stored.summary) == 500


def test_item_retention_shorter_than_a_week_refused(write_config):
    path = write_config('[scan]\nitem_retention = "3d"\n')

    with pytest.raises(ConfigError, match="item_retention"):
        config.load(path, env={})
