"""Tests of the outbox worker: splitting, order, rate limits, retries, alerts, restart.

Most run against the fake WeCom over real HTTP with a simulated clock that moves
the outbox, the client's token clock and the fake's clock together.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.channels.app import AppChannel
from bot.channels.base import SendError
from bot.channels.console import ConsoleChannel
from bot.channels.webhook import WebhookChannel
from bot.models import OutboxMessage
from bot.outbox import Outbox, split_text
from bot.store import Store
from bot.wecom.api import WeComClient
from fakewecom import FakeWeCom

TZ = ZoneInfo("Asia/Shanghai")
CORP = "wwtestcorp"
AGENT = 1000002
SECRET = "app-secret-0123456789"
HOOK_KEY = "hook-key-abcdef123456"
USERS = ["zhangsan", "lisi", "wangwu", "admin"]


class Clock:
    """Simulated time for the outbox (datetime), the token manager and the fake."""

    def __init__(self, fake: FakeWeCom | None = None) -> None:
        self.at = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
        self.mono = 1000.0
        self.fake = fake

    def __call__(self) -> datetime:
        return self.at

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
        self.mono += seconds
        if self.fake is not None:
            self.fake.advance(seconds)


class Recorder:
    """A channel that keeps what it was given (the console, for alerts)."""

    def __init__(self, name: str = "console") -> None:
        self.name = name
        self.text_limit = 1_000_000
        self.rate: tuple[int, float] | None = None
        self.sent: list[OutboxMessage] = []
        self.got_one = asyncio.Event()

    async def send(self, message: OutboxMessage) -> None:
        self.sent.append(message)
        self.got_one.set()

    async def start(self, on_inbound: object) -> None: ...

    async def stop(self) -> None: ...


class Flaky(Recorder):
    """An ``app`` channel whose chats in `failing` fail (retryable) `times` times."""

    def __init__(
        self, failing: set[str], times: int = 1, retry_after: float = 0.0
    ) -> None:
        super().__init__("app")
        self.failing = failing
        self.times = times
        self.retry_after = retry_after

    async def send(self, message: OutboxMessage) -> None:
        if message.chat in self.failing and self.times > 0:
            self.times -= 1
            raise SendError(
                "繁忙", retryable=True, retry_after=self.retry_after, code=-1
            )
        await super().send(message)


@pytest.fixture
async def fake():
    server = FakeWeCom(
        corp_id=CORP, apps={AGENT: SECRET}, users=USERS, webhooks={HOOK_KEY: "szk"}
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock(fake) -> Clock:
    return Clock(fake)


@pytest.fixture
def store(tmp_path: Path):
    opened = Store.open(tmp_path / "data", TZ)
    yield opened
    opened.close()


@pytest.fixture
async def client(fake, clock):
    wecom = WeComClient(fake.base_url, CORP, AGENT, SECRET, clock=clock.monotonic)
    yield wecom
    await wecom.aclose()


@pytest.fixture
async def channels(fake, client):
    robots = WebhookChannel(fake.webhook_base, {"szk": HOOK_KEY}.get)
    yield {
        "app": AppChannel(client, "app"),
        "appchat": AppChannel(client, "appchat"),
        "webhook": robots,
        "console": Recorder(),
    }
    await robots.stop()


@pytest.fixture
async def group(client):
    return await client.appchat_create(
        {"name": "纳服科", "owner": "zhangsan", "userlist": ["zhangsan", "wangwu"]}
    )


def message(channel: str, chat: str, text: str, kind: str = "markdown"):
    return OutboxMessage(channel, chat, kind, {"text": text})


def calls(fake: FakeWeCom, api: str) -> int:
    return sum(1 for r in fake.requests if r.api == api)


def contents(records: list[dict]) -> list[str]:
    return [r["content"] for r in records]


# -- splitting ----------------------------------------------------------------


def test_split_text_cuts_at_line_boundaries_under_the_byte_limit():
    lines = [f"第{i}行：" + "税" * 40 for i in range(30)]
    text = "\n".join(lines)

    parts = split_text(text, 500)

    assert len(parts) > 1
    assert all(len(p.encode("utf-8")) <= 500 for p in parts)
    assert "\n".join(parts) == text
    assert all(p.split("\n")[0] in lines for p in parts)


def test_split_text_cuts_one_long_line_at_character_boundaries():
    text = "发票" * 600  # 3600 bytes on one line

    parts = split_text(text, 1000)

    assert [len(p.encode("utf-8")) <= 1000 for p in parts] == [True] * 4
    assert "".join(parts) == text


def test_split_text_leaves_short_text_alone():
    assert split_text("短消息\n第二行", 2048) == ["短消息\n第二行"]


async def test_outbox_long_markdown_split_under_app_and_webhook_limits(
    fake, clock, store, channels
):
    text = "\n".join(f"{i:02d} " + "涉税舆情监测内容" * 12 for i in range(40))
    outbox = Outbox(store, clock)

    stored = outbox.enqueue(
        [message("app", "lisi", text), message("webhook", "szk", text)]
    )
    sent = await outbox.deliver(channels)

    app_parts = contents(fake.seen_by("lisi"))
    hook_parts = contents(fake.webhook_log("szk"))
    assert sent == len(stored) == len(app_parts) + len(hook_parts)
    assert len(app_parts) > len(hook_parts) > 1
    assert all(len(p.encode("utf-8")) <= 2048 for p in app_parts)
    assert all(len(p.encode("utf-8")) <= 4096 for p in hook_parts)
    assert "\n".join(app_parts) == text and "\n".join(hook_parts) == text


async def test_outbox_text_kind_split_at_2048_bytes_even_on_webhook(store, clock):
    outbox = Outbox(store, clock)
    text = "\n".join("通知" * 100 for _ in range(20))  # 12 000 bytes

    stored = outbox.enqueue([message("webhook", "szk", text, kind="text")])

    assert all(len(m.body["text"].encode()) <= 2048 for m in stored)
    assert len(stored) == 7  # three 601-byte lines per part


# -- WeCom behaviour ------------------------------------------------------------


async def test_outbox_token_expiry_mid_run_refreshes_once_and_delivers(
    fake, clock, store, channels
):
    outbox = Outbox(store, clock)
    outbox.enqueue([message("app", "lisi", "第一条")])
    await outbox.deliver(channels)
    fake.expire_tokens()
    clock.advance(30)
    outbox.enqueue([message("app", "lisi", "第二条")])

    sent = await outbox.deliver(channels)

    assert sent == 1
    assert contents(fake.seen_by("lisi")) == ["第一条", "第二条"]
    assert calls(fake, "gettoken") == 2
    assert outbox.pending() == []


async def test_outbox_permanent_invalid_token_is_bounded_and_kept(
    fake, clock, store, channels
):
    fake.fail_next("message/send", 40014, times=1000)
    outbox = Outbox(store, clock)
    outbox.enqueue([message("app", "lisi", "发不出去")])

    first = await outbox.deliver(channels)
    again = await outbox.deliver(channels)

    assert first == again == 0
    assert calls(fake, "message/send") == 2 and calls(fake, "gettoken") == 2
    [kept] = outbox.pending()
    assert "40014" in kept.last_error and kept.attempts == 1
    assert kept.not_before is not None and kept.not_before > clock()


async def test_outbox_blocked_ip_alerts_once_with_ip_and_keeps_messages(
    fake, clock, store, channels, group
):
    fake.block_ip(True)
    outbox = Outbox(store, clock, admins=["admin"])
    outbox.enqueue(
        [message("appchat", group, "群消息"), message("app", "lisi", "私信")]
    )

    for _ in range(4):
        await outbox.deliver(channels)
        clock.advance(400)

    alerts = channels["console"].sent
    assert len(alerts) == 1
    assert "127.0.0.1" in alerts[0].body["text"]
    assert "企业可信IP" in alerts[0].body["text"]
    assert {m.chat for m in outbox.pending()} == {group, "lisi"}
    assert fake.chat_log(group) == [] and fake.seen_by("lisi") == []

    fake.block_ip(False)
    clock.advance(301)
    sent = await outbox.deliver(channels)

    assert sent == 2 and outbox.pending() == []
    assert contents(fake.chat_log(group)) == ["群消息"]
    assert contents(fake.seen_by("lisi")) == ["私信"]
    assert len(channels["console"].sent) == 1


async def test_outbox_webhook_problem_alerts_admins_through_the_app(
    fake, clock, store, channels
):
    outbox = Outbox(store, clock, admins=["admin", "lisi"])
    outbox.enqueue([message("webhook", "bgs", "没有密钥的机器人")])

    await outbox.deliver(channels)
    await outbox.deliver(channels)

    [alert] = fake.seen_by("admin")
    assert "WECOM_WEBHOOK_KEY_BGS" in alert["content"]
    assert fake.seen_by("lisi") == [alert]
    assert [m.chat for m in outbox.pending()] == ["bgs"]


async def test_outbox_webhook_21_messages_20_in_first_minute_then_the_rest(
    fake, clock, store, channels
):
    outbox = Outbox(store, clock)
    texts = [f"第{i}条" for i in range(1, 22)]
    outbox.enqueue([message("webhook", "szk", t) for t in texts])

    first = await outbox.deliver(channels)
    clock.advance(30)
    middle = await outbox.deliver(channels)
    clock.advance(31)
    last = await outbox.deliver(channels)

    assert (first, middle, last) == (20, 0, 1)
    assert contents(fake.webhook_log("szk")) == texts
    assert calls(fake, "webhook/send") == 21
    assert outbox.pending() == []


async def test_outbox_ten_minute_outage_delivers_all_once_in_order(
    fake, clock, store, channels, group
):
    outbox = Outbox(store, clock, rng=lambda: 1.0)
    targets = [("app", "lisi"), ("appchat", group), ("webhook", "szk")]
    expected: dict[str, list[str]] = {"app": [], "appchat": [], "webhook": []}
    fake.down(True)
    for step in range(60):  # ten minutes in 10 s steps
        if step % 2 == 0:
            channel, chat = targets[(step // 2) % 3]
            text = f"{channel}-{step:02d}"
            expected[channel].append(text)
            outbox.enqueue([message(channel, chat, text)])
        await outbox.deliver(channels)
        clock.advance(10)
    during = len(fake.requests)
    fake.down(False)

    for _ in range(60):
        if not outbox.pending():
            break
        await outbox.deliver(channels)
        clock.advance(10)

    assert outbox.pending() == []
    assert during < 60  # backoff: fewer tries than rounds, let alone messages
    assert contents(fake.seen_by("lisi")) == expected["app"]
    assert contents(fake.chat_log(group)) == expected["appchat"]
    assert contents(fake.webhook_log("szk")) == expected["webhook"]


async def test_outbox_restart_resumes_pending_messages(fake, clock, tmp_path, channels):
    first = Store.open(tmp_path / "data", TZ)
    fake.down(True)
    Outbox(first, clock).enqueue([message("app", "lisi", f"消息{i}") for i in range(3)])
    await Outbox(first, clock).deliver(channels)
    first.close()
    fake.down(False)

    second = Store.open(tmp_path / "data", TZ)
    outbox = Outbox(second, clock)
    waiting = outbox.pending()
    clock.advance(5)
    sent = await outbox.deliver(channels)
    again = await outbox.deliver(channels)
    second.close()

    assert len(waiting) == 3 and waiting[0].not_before is not None
    assert (sent, again) == (3, 0)
    assert contents(fake.seen_by("lisi")) == ["消息0", "消息1", "消息2"]


async def test_outbox_message_problem_is_given_up_and_chat_goes_on(
    fake, clock, tmp_path, channels, caplog
):
    store = Store.open(tmp_path / "data", TZ)
    fake.fail_next("message/send", 45002)
    outbox = Outbox(store, clock)
    bad, good = outbox.enqueue(
        [message("app", "lisi", "太长"), message("app", "lisi", "正常")]
    )

    sent = await outbox.deliver(channels)
    buried = store.outbox.get(bad.id)
    store.close()
    reopened = Store.open(tmp_path / "data", TZ)
    after_restart = reopened.outbox.pending()
    reopened.close()

    assert sent == 1 and contents(fake.seen_by("lisi")) == ["正常"]
    assert buried.last_error.startswith("已放弃发送") and "45002" in buried.last_error
    assert buried.sent_at is None and after_restart == []
    assert outbox.pending() == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and bad.id in errors[0].getMessage()


# -- scheduling without WeCom -----------------------------------------------------


async def test_outbox_missing_channel_keeps_messages_and_alerts_once(
    store, clock, caplog
):
    console = Recorder()
    outbox = Outbox(store, clock)
    outbox.enqueue([message("webhook", "szk", "a"), message("webhook", "szk", "b")])

    for _ in range(3):
        await outbox.deliver({"console": console})

    assert [m.body["text"] for m in outbox.pending()] == ["a", "b"]
    assert len(console.sent) == 1 and "webhook" in console.sent[0].body["text"]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1


async def test_outbox_retry_waits_per_chat_while_other_chats_go_on(store, clock):
    flaky = Flaky({"a"})
    outbox = Outbox(store, clock, rng=lambda: 1.0)
    outbox.enqueue(
        [message("app", "a", "a1"), message("app", "b", "b1")]
        + [message("app", "a", "a2")]
    )

    first = await outbox.deliver({"app": flaky})
    early = [m.body["text"] for m in flaky.sent]
    clock.advance(1)
    second = await outbox.deliver({"app": flaky})

    assert (first, second) == (1, 2)
    assert early == ["b1"]
    assert [m.body["text"] for m in flaky.sent] == ["b1", "a1", "a2"]


async def test_outbox_backoff_doubles_to_five_minutes(store, clock):
    flaky = Flaky({"a"}, times=12)
    outbox = Outbox(store, clock, rng=lambda: 1.0)
    outbox.enqueue([message("app", "a", "x")])

    delays = []
    for _ in range(12):
        await outbox.deliver({"app": flaky})
        [waiting] = outbox.pending()
        delay = (waiting.not_before - clock()).total_seconds()
        delays.append(delay)
        clock.advance(delay)

    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]


async def test_outbox_backoff_jitter_stays_within_half_to_full(store, clock):
    flaky = Flaky({"a"}, times=1)
    outbox = Outbox(store, clock, rng=lambda: 0.0)
    outbox.enqueue([message("app", "a", "x")])

    await outbox.deliver({"app": flaky})

    [waiting] = outbox.pending()
    assert (waiting.not_before - clock()).total_seconds() == 0.5


async def test_outbox_retry_after_wins_when_larger(store, clock):
    flaky = Flaky({"a"}, times=1, retry_after=60)
    outbox = Outbox(store, clock, rng=lambda: 1.0)
    outbox.enqueue([message("app", "a", "x")])

    await outbox.deliver({"app": flaky})
    clock.advance(59)
    early = await outbox.deliver({"app": flaky})
    clock.advance(1)
    late = await outbox.deliver({"app": flaky})

    assert (early, late) == (0, 1)


async def test_outbox_run_wakes_on_enqueue_and_stops(store, clock):
    console = Recorder()
    outbox = Outbox(store, clock, tick=3600)
    stop = asyncio.Event()
    worker = asyncio.create_task(outbox.run({"console": console}, stop))
    await asyncio.sleep(0)

    outbox.enqueue([message("console", "szk-group", "醒来")])
    await asyncio.wait_for(console.got_one.wait(), 10)
    stop.set()
    await asyncio.wait_for(worker, 10)

    assert [m.body["text"] for m in console.sent] == ["醒来"]
    assert outbox.pending() == []


async def test_outbox_accepts_a_single_poster_as_before(store, clock):
    posted: list[tuple[str, str]] = []

    class Poster:
        async def post(self, chat: str, text: str) -> None:
            posted.append((chat, text))

    outbox = Outbox(store, clock)
    outbox.enqueue([message("console", "szk-group", "旧接口")])

    sent = await outbox.deliver(Poster())

    assert sent == 1 and posted == [("szk-group", "旧接口")]


async def test_console_channel_send_prints_like_post(store, clock):
    out = io.StringIO()
    console = ConsoleChannel(None, "admin", io.StringIO(), out, False)  # type: ignore[arg-type]
    outbox = Outbox(store, clock)
    outbox.enqueue([message("console", "szk-group", '<font color="warning">急</font>')])

    sent = await outbox.deliver({"console": console})

    assert sent == 1
    assert out.getvalue() == "〔发往群聊 szk-group〕\n【急】\n\n"
    assert console.rate is None and console.text_limit >= 100_000


# -- the repository additions -------------------------------------------------------


def test_outbox_repo_keeps_not_before_and_given_up_across_reopen(tmp_path):
    store = Store.open(tmp_path / "data", TZ)
    at = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
    kept = store.outbox.enqueue(OutboxMessage("app", "a", "text", {}, at))
    dead = store.outbox.enqueue(OutboxMessage("app", "a", "text", {}, at))
    store.outbox.mark_failed(kept.id, "忙", at + timedelta(seconds=8))
    store.outbox.give_up(dead.id, "已放弃发送：太长", at)
    store.close()

    reopened = Store.open(tmp_path / "data", TZ)
    pending = reopened.outbox.pending()
    buried = reopened.outbox.get(dead.id)
    reopened.close()

    assert [m.id for m in pending] == [kept.id]
    assert pending[0].not_before == at + timedelta(seconds=8)
    assert pending[0].attempts == 1 and pending[0].last_error == "忙"
    assert buried.last_error == "已放弃发送：太长" and buried.attempts == 1


# -- per-member caps ----------------------------------------------------------------


async def test_outbox_app_caps_count_each_member_not_each_chat(
    fake, clock, store, channels
):
    outbox = Outbox(store, clock)
    outbox.enqueue(
        [message("app", "lisi", f"单发{i}", kind="text") for i in range(20)]
        + [message("app", "lisi|zhangsan", f"群发{i}", kind="text") for i in range(20)]
    )

    first = await outbox.deliver(channels)
    clock.advance(61)
    second = await outbox.deliver(channels)

    dropped = [u for post in fake.state.posts for u in post.dropped_for]
    assert dropped == []
    assert first == 30 and first + second == 40
    assert len(fake.seen_by("lisi")) == 40 and len(fake.seen_by("zhangsan")) == 20
    assert outbox.pending() == []


async def test_outbox_alert_skips_broken_app_for_office_chat(
    fake, clock, store, channels
):
    fake.block_ip(True)
    outbox = Outbox(store, clock, admins=["admin"], alert_chats=[("webhook", "szk")])
    outbox.enqueue([message("app", "lisi", "私信")])

    await outbox.deliver(channels)
    await outbox.deliver(channels)

    [alert] = contents(fake.webhook_log("szk"))
    assert "127.0.0.1" in alert and "无需重启" in alert
    assert channels["console"].sent == [] and fake.seen_by("admin") == []


# -- textcard -------------------------------------------------------------------------


def textcard(channel: str, chat: str, **extra: str) -> OutboxMessage:
    body = {
        "title": "处理单 YQ-2026-0001 待批示",
        "description": "某论坛 · 发票投诉 · 较大",
        "url": "https://yq.example.cn/t/YQ-2026-0001",
        "btntxt": "查看",
        **extra,
    }
    return OutboxMessage(channel, chat, "textcard", body)


async def test_outbox_textcard_to_member_and_app_group(
    fake, clock, store, channels, group
):
    outbox = Outbox(store, clock)
    long_title = "处理单" * 50  # 450 bytes
    outbox.enqueue(
        [textcard("app", "lisi", title=long_title), textcard("appchat", group)]
    )

    sent = await outbox.deliver(channels)

    [private] = fake.seen_by("lisi")
    [in_group] = fake.chat_log(group)
    assert sent == 2 and outbox.pending() == []
    assert private["msgtype"] == "textcard"
    assert len(private["textcard"]["title"].encode()) <= 128
    assert private["textcard"]["url"] == "https://yq.example.cn/t/YQ-2026-0001"
    assert in_group["textcard"]["btntxt"] == "查看"


async def test_outbox_textcard_without_url_given_up(fake, clock, store, channels):
    outbox = Outbox(store, clock)
    [stored] = outbox.enqueue([textcard("app", "lisi", url="")])

    await outbox.deliver(channels)

    assert outbox.pending() == [] and fake.seen_by("lisi") == []
    assert "url" in store.outbox.get(stored.id).last_error


async def test_outbox_textcard_on_webhook_becomes_markdown_link(
    fake, clock, store, channels
):
    outbox = Outbox(store, clock)
    outbox.enqueue([textcard("webhook", "szk")])

    await outbox.deliver(channels)

    [post] = fake.webhook_log("szk")
    assert post["msgtype"] == "markdown"
    assert "[查看](https://yq.example.cn/t/YQ-2026-0001)" in post["content"]
