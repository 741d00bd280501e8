"""Casework against the store and the channels: approval cards, people at once."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from bot.events import Inbound
from bot.models import Hit
from bot.roles import person
from fakewecom import FakeWeCom
from tests.conftest import BASE_CONFIG
from tests.test_e2e_wecom import AES_KEY, CORP, TOKEN, free_port, wait_for

TZ = ZoneInfo("Asia/Shanghai")
PAGE = (
    "<html><body><article><p>某网友称个税退税三个月未到账。</p></article></body></html>"
)


async def say(app: App, sender: str, text: str) -> str:
    reply = await app.dispatcher.handle(Inbound(sender=sender, text=text))
    return reply.text


async def test_app_section_chat_gets_one_approval_card(write_config):
    fake = FakeWeCom(
        corp_id=CORP, apps={1000002: "app-secret"}, users=["lisi", "zhangsan"]
    )
    async with fake:
        extra = (
            f'[wecom.app]\ncorp_id = "{CORP}"\nagent_id = 1000002\n'
            f'api_base = "{fake.base_url}"\n[server]\nport = {free_port()}\n'
        )
        env = {
            "WECOM_APP_SECRET": "app-secret",
            "WECOM_APP_TOKEN": TOKEN,
            "WECOM_APP_AES_KEY": AES_KEY,
        }
        base = BASE_CONFIG.replace('chat = "szk-group"', 'chat = "app:zhangsan"')
        settings = config.load(write_config(extra, base=base), env=env)
        stop = asyncio.Event()
        async with App.open(settings) as app:
            await app.start_channels()
            worker = asyncio.ensure_future(app.outbox.run(app.channels, stop))
            ticket = app.casework.register_manual(
                person(settings, "zhangsan"),
                "http://127.0.0.1:9/t/1",
                "网友称退税难",
                "",
                app.now(),
            )
            await wait_for(lambda: not app.outbox.pending())
            await app.casework.stop()
            stop.set()
            await worker

    task_id = f"{ticket.id}-r1"
    sends = [
        r.body
        for r in fake.requests
        if r.api == "message/send" and r.body.get("msgtype") == "template_card"
    ]
    assert len(sends) == 1
    assert sends[0]["touser"] == "zhangsan|lisi"
    assert task_id in fake.cards("lisi") and task_id in fake.cards("zhangsan")


@pytest.fixture
async def app(write_config, monkeypatch):
    """Two heads for 纳税服务科, a clock fixed on a Thursday morning."""
    monkeypatch.setenv("PATH", "")  # no headless browser: no screenshot
    base = BASE_CONFIG.replace('heads = ["zhaoliu"]', 'heads = ["zhaoliu", "qianba"]')
    settings = config.load(write_config(base=base), env={})
    now = datetime(2026, 12, 3, 9, 30, tzinfo=TZ)
    async with App.open(settings, clock=lambda: now) as app:
        yield app


@pytest.fixture
def slow_page(feed_server):
    """A page whose download is held until the test sets the event."""
    release = threading.Event()
    url = feed_server.route(
        "/bbs/t/9.html", PAGE, headers={"Content-Type": "text/html"}, hold=release
    )
    yield url, release
    release.set()


def add_hit(app: App, url: str) -> Hit:
    return app.store.hits.add(
        Hit(
            title="网友反映个税退税慢",
            url=url,
            source="本地论坛",
            section="nfk",
            rule="个税退税",
            level="一般",
            found_at=datetime(2026, 12, 3, 9, 0, tzinfo=TZ),
        )
    )


async def fetch_in_flight(feed_server, path: str) -> None:
    await wait_for(lambda: feed_server.in_flight.get(path) == 1)


async def test_two_people_register_one_hit_at_once(app, feed_server, slow_page):
    url, release = slow_page
    hit = add_hit(app, url)

    replies = await asyncio.gather(
        say(app, "wangwu", f"登记 {hit.id} 建议核实"),
        say(app, "zhaoliu", f"登记 {hit.id} 建议答复"),
    )
    await fetch_in_flight(feed_server, "/bbs/t/9.html")
    late = await say(app, "sunqi", f"登记 {hit.id}")  # the snapshot still loads
    release.set()
    await app.casework.settle()

    assert "已登记处理单 **YQ-2026-0001**" in replies[0]
    assert "已登记为处理单 YQ-2026-0001，无需重复登记" in replies[1]
    assert "已登记为处理单 YQ-2026-0001" in late
    (ticket,) = app.store.tickets.in_year(2026)
    assert (ticket.created_by, ticket.proposal) == ("wangwu", "建议核实")
    assert app.store.hits.get(hit.id).ticket == ticket.id
    assert len(ticket.evidence) == 1 and feed_server.hits("/bbs/t/9.html") == 1


async def test_two_heads_click_one_card_while_evidence_loads(
    app, feed_server, slow_page
):
    url, release = slow_page
    hit = add_hit(app, url)
    await say(app, "wangwu", f"登记 {hit.id}")
    await fetch_in_flight(feed_server, "/bbs/t/9.html")

    first, second = await asyncio.gather(
        say(app, "zhaoliu", "批示 1#1 同意"), say(app, "qianba", "退回 1#1 再看看")
    )
    release.set()
    await app.casework.settle()

    assert "已批示 YQ-2026-0001" in first
    assert "已被他人处理，你的操作未执行" in second
    assert "zhaoliu 已“批示”（同意）" in second and "当前状态“待办理”" in second
    ticket = app.store.tickets.get("YQ-2026-0001")
    assert (ticket.state, ticket.revision, ticket.instructed_by) == (
        "待办理",
        2,
        "zhaoliu",
    )
    assert [e.action for e in ticket.history] == ["登记", "批示"]
    assert len(ticket.evidence) == 1  # attached to the new revision, not undone
