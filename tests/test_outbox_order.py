"""Ten simulated minutes of mixed WeCom faults: afterwards every message, in order.

The real outbox, app and webhook channels against the fake WeCom over HTTP. While
messages keep arriving for four chats (two members, an app group chat, a group
robot), WeCom answers HTTP 502/503, -1 (busy), 45009 (rate), 45033 (concurrency),
hangs past the client's timeout, and turns tokens invalid or expired. One clock
moves the outbox, the token manager and the fake together, in 10 s steps.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.channels.app import AppChannel
from bot.channels.webhook import WebhookChannel
from bot.models import OutboxMessage
from bot.outbox import Outbox
from bot.store import Store
from bot.wecom.api import WeComClient
from fakewecom import FakeWeCom
from tests.test_outbox import Clock

TZ = ZoneInfo("Asia/Shanghai")
CORP = "wworder"
AGENT = 1000002
SECRET = "order-secret-0123456789"
HOOK = "hook-order-0123456789"
CLIENT_TIMEOUT_S = 0.2
APIS = ("message/send", "appchat/send", "webhook/send")


@pytest.fixture
async def fake():
    server = FakeWeCom(
        corp_id=CORP,
        apps={AGENT: SECRET},
        users=["zhangsan", "lisi", "wangwu"],
        webhooks={HOOK: "szk"},
    )
    await server.start()
    yield server
    await server.stop()  # releases calls still hanging: they are never delivered


@pytest.fixture
async def setup(fake: FakeWeCom, tmp_path: Path):
    clock = Clock(fake)
    client = WeComClient(
        fake.base_url,
        CORP,
        AGENT,
        SECRET,
        clock=clock.monotonic,
        timeout=CLIENT_TIMEOUT_S,
    )
    http = httpx.AsyncClient(timeout=CLIENT_TIMEOUT_S)
    channels = {
        "app": AppChannel(client, "app"),
        "appchat": AppChannel(client, "appchat"),
        "webhook": WebhookChannel(fake.webhook_base, {"szk": HOOK}.get, http=http),
    }
    group = await client.appchat_create(
        {"name": "纳服科", "owner": "zhangsan", "userlist": ["zhangsan", "wangwu"]}
    )
    store = Store.open(tmp_path / "data", TZ)
    yield clock, channels, group, store
    store.close()
    await http.aclose()
    await client.aclose()


def _fault(fake: FakeWeCom, kind: str, api: str) -> None:
    if kind == "http":
        fake.http_error_next(api, 502)
        fake.http_error_next(api, 503)
    elif kind == "hang":
        fake.hang_next(api, 60.0)  # longer than the test: this call never lands
    elif kind == "expire":
        fake.expire_tokens()  # 40014 on the next call: a new token, one retry
        fake.fail_next("gettoken", -1)
    elif kind == "expired":
        fake.fail_next(api, 42001)
    else:
        fake.fail_next(api, int(kind), times=2)


def _shown(fake: FakeWeCom, group: str) -> dict[str, list[str]]:
    def direct(user: str) -> list[str]:
        return [m["content"] for m in fake.seen_by(user) if m["via"] == "app"]

    return {
        "lisi": direct("lisi"),
        "zhangsan": direct("zhangsan"),
        "group": [m["content"] for m in fake.chat_log(group)],
        "szk": [m["content"] for m in fake.webhook_log("szk")],
    }


async def test_outbox_mixed_faults_ten_minutes_deliver_all_in_order(fake, setup):
    clock, channels, group, store = setup
    outbox = Outbox(store, clock, rng=lambda: 1.0)
    chats = {
        "lisi": ("app", "lisi"),
        "zhangsan": ("app", "zhangsan"),
        "group": ("appchat", group),
        "szk": ("webhook", "szk"),
    }
    kinds = itertools.cycle(["http", "-1", "45009", "45033", "hang", "expire"])
    apis = itertools.cycle(APIS + ("message/send",))
    names = itertools.cycle(chats)
    expected: dict[str, list[str]] = {name: [] for name in chats}
    for step in range(60):  # ten minutes in 10 s steps, a new fault each step
        name = next(names)
        text = f"{name} 第 {step:02d} 条"
        expected[name].append(text)
        outbox.enqueue([OutboxMessage(*chats[name], "text", {"text": text})])
        _fault(fake, next(kinds), next(apis))
        if step % 7 == 0:
            _fault(fake, "expired", "message/send")
        await outbox.deliver(channels)
        clock.advance(10)
    faulted = _shown(fake, group)
    fake.clear_faults()

    for _ in range(180):  # WeCom is well again: half an hour at most
        if not outbox.pending():
            break
        await outbox.deliver(channels)
        clock.advance(10)

    assert outbox.pending() == []
    assert _shown(fake, group) == expected
    assert faulted != expected  # the faults did hold messages back


async def _time_out_once(outbox: Outbox, channels, clock: Clock) -> None:
    await outbox.deliver(channels)  # gives up at 0.2 s; WeCom acts on it at 0.5 s
    await asyncio.sleep(0.6)
    clock.advance(10)
    await outbox.deliver(channels)


async def test_outbox_timed_out_app_call_that_landed_shown_once(fake, setup):
    clock, channels, _group, store = setup
    outbox = Outbox(store, clock, rng=lambda: 1.0)
    fake.hang_next("message/send", 0.5)
    outbox.enqueue([OutboxMessage("app", "lisi", "text", {"text": t}) for t in "一二"])

    await _time_out_once(outbox, channels, clock)

    assert outbox.pending() == []
    assert [m["content"] for m in fake.seen_by("lisi")] == ["一", "二"]
    assert len(fake.state.duplicates) == 1  # enable_duplicate_check absorbed it


async def test_outbox_timed_out_robot_call_that_landed_repeats_in_order(fake, setup):
    clock, channels, _group, store = setup
    outbox = Outbox(store, clock, rng=lambda: 1.0)
    fake.hang_next("webhook/send", 0.5)
    outbox.enqueue(
        [OutboxMessage("webhook", "szk", "text", {"text": t}) for t in "一二"]
    )

    await _time_out_once(outbox, channels, clock)

    # A group robot has no duplicate check: at least once, first sightings in order.
    assert outbox.pending() == []
    assert [m["content"] for m in fake.webhook_log("szk")] == ["一", "一", "二"]
