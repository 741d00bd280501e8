"""The AI bot long-connection channel against the fake WeCom side, over a real
WebSocket on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.channels.aibot_ws import AUTH_HINT, AiBotWsChannel
from bot.channels.base import SendError
from bot.config_wecom import WecomAiBot
from bot.events import Inbound, Reply
from bot.models import OutboxMessage
from fakewecom import FakeWeCom
from fakewecom.aibot_ws import FakeAiBotServer

TZ = ZoneInfo("Asia/Shanghai")

BOT_ID = "aibtest"
SECRET = "s3cret-value"
WAIT_S = 5.0  # a safety net against hangs, not a measured threshold


class Recorder:
    """An inbound handler that records what it was given and answers."""

    def __init__(self, answer: str = "好的") -> None:
        self.seen: list[Inbound] = []
        self.answer = answer
        self.release: asyncio.Event | None = None
        self.fail = False

    async def __call__(self, inbound: Inbound) -> Reply:
        self.seen.append(inbound)
        if self.release is not None:
            await self.release.wait()
        if self.fail:
            raise RuntimeError("boom")
        return Reply(f"{self.answer}：{inbound.text}")


class GatedSleep:
    """Records reconnect delays; each wait holds until the test opens the gate."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        await self.gate.wait()


@pytest.fixture
async def fake() -> AsyncIterator[FakeAiBotServer]:
    server = FakeAiBotServer(BOT_ID, SECRET)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def make_channel(
    fake: FakeAiBotServer,
) -> AsyncIterator[Callable[..., AiBotWsChannel]]:
    channels: list[AiBotWsChannel] = []

    def make(secret: str = SECRET, **options: object) -> AiBotWsChannel:
        options.setdefault("backoff", (0.01, 0.05))
        options.setdefault("ack_timeout_s", WAIT_S)
        bot = WecomAiBot(bot_id=BOT_ID, ws_url=fake.ws_url)
        channel = AiBotWsChannel(bot, secret, **options)  # type: ignore[arg-type]
        channels.append(channel)
        return channel

    yield make
    for channel in channels:
        await channel.stop()


async def started(channel: AiBotWsChannel, handler: Callable) -> AiBotWsChannel:
    await channel.start(handler)
    await asyncio.wait_for(channel.wait_connected(), WAIT_S)
    return channel


def markdown(chat: str, text: str) -> OutboxMessage:
    return OutboxMessage("aibot", chat, "markdown", {"text": text})


async def test_aibot_ws_subscribes_with_id_and_secret(fake, make_channel):
    channel = make_channel()

    await started(channel, Recorder())

    frame = fake.frames("aibot_subscribe")[0]
    assert frame["body"] == {"bot_id": BOT_ID, "secret": SECRET}
    assert frame["headers"]["req_id"]
    assert fake.subscribed and channel.connected


async def test_aibot_ws_bad_secret_retries_with_backoff(fake, make_channel, caplog):
    sleep = GatedSleep()
    channel = make_channel("wrong", sleep=sleep, backoff=(1.0, 4.0))

    await channel.start(Recorder())
    await fake.wait_until(lambda: len(sleep.delays) >= 4)
    sleep.gate.clear()
    await fake.wait_until(lambda: fake.open_connections == 0)

    assert sleep.delays[:4] == [1.0, 2.0, 4.0, 4.0]
    assert not channel.connected and fake.subscriptions == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and AUTH_HINT in errors[0].getMessage()
    assert "wrong" not in caplog.text


async def test_aibot_ws_group_text_reaches_dispatcher(fake, make_channel):
    handler = Recorder()
    await started(make_channel(), handler)

    await fake.push_text("lisi", "@舆情助手 帮助", chatid="g1", msgid="m-1")
    await fake.wait_until(lambda: fake.chat_log("g1"))

    assert handler.seen == [
        Inbound("lisi", "@舆情助手 帮助", "g1", "m-1", channel="aibot")
    ]
    [reply] = fake.chat_log("g1")
    assert reply.kind == "stream" and reply.finish
    assert reply.content == "好的：@舆情助手 帮助"


async def test_aibot_ws_single_chat_has_empty_chat(fake, make_channel):
    handler = Recorder()
    await started(make_channel(), handler)

    await fake.push_text("zhangsan", "命中 今日")
    await fake.wait_until(lambda: fake.chat_log("zhangsan"))

    assert handler.seen[0].chat == "" and handler.seen[0].sender == "zhangsan"
    assert fake.seen_by("zhangsan")[0].content == "好的：命中 今日"


async def test_aibot_ws_duplicate_msgid_handled_once(fake, make_channel):
    handler = Recorder()
    await started(make_channel(), handler)

    first = await fake.push_text("lisi", "帮助", chatid="g1", msgid="dup")
    await fake.wait_until(lambda: len(fake.chat_log("g1")) == 1)
    second = await fake.push_text("lisi", "帮助", chatid="g1", msgid="dup")
    await fake.wait_until(lambda: len(fake.chat_log("g1")) == 2)

    assert len(handler.seen) == 1
    assert [d.req_id for d in fake.chat_log("g1")] == [first, second]
    assert {d.content for d in fake.chat_log("g1")} == {"好的：帮助"}


async def test_aibot_ws_slow_handler_gets_interim_stream(fake, make_channel):
    handler = Recorder()
    handler.release = asyncio.Event()
    await started(make_channel(interim_after_s=0.01), handler)

    await fake.push_text("lisi", "简报", chatid="g1")
    await fake.wait_until(lambda: fake.chat_log("g1"))
    interim = fake.chat_log("g1")[0].content
    handler.release.set()
    await fake.wait_until(lambda: fake.chat_log("g1")[0].finish)

    replies = fake.frames("aibot_respond_msg")
    assert [f["body"]["stream"]["finish"] for f in replies] == [False, True]
    assert replies[0]["body"]["stream"]["id"] == replies[1]["body"]["stream"]["id"]
    assert "正在处理" in interim
    assert fake.chat_log("g1")[0].content == "好的：简报"


async def test_aibot_ws_handler_error_answers_apology(fake, make_channel):
    handler = Recorder()
    handler.fail = True
    await started(make_channel(), handler)

    await fake.push_text("lisi", "帮助", chatid="g1")
    await fake.wait_until(lambda: fake.chat_log("g1"))

    assert "抱歉" in fake.chat_log("g1")[0].content


async def test_aibot_ws_card_click_updates_card(fake, make_channel):
    handler = Recorder(answer="已批示")
    await started(make_channel(), handler)

    await fake.push_card_click("lisi", "YQ-1-r1", "cmd:批示 YQ-1 同意", chatid="g1")
    await fake.wait_until(lambda: "YQ-1-r1" in fake.card_updates)

    assert handler.seen[0].text == "批示 YQ-1 同意"
    assert handler.seen[0].sender == "lisi" and handler.seen[0].chat == "g1"
    card = fake.card_updates["YQ-1-r1"]
    assert card["main_title"]["desc"] == "操作人：lisi"
    assert card["sub_title_text"] == "已批示：批示 YQ-1 同意"
    assert fake.chat_log("g1")[0].kind == "card_update"


async def test_aibot_ws_personal_click_updates_only_clickers_card(fake, make_channel):
    async def patrol(inbound: Inbound) -> Reply:
        return Reply("已记入监控日志", card_title="已记录巡查", card_personal=True)

    await started(make_channel(), patrol)

    await fake.push_card_click(
        "zhangsan", "patrol-szk-1", "cmd:巡查 无异常", chatid="g1"
    )
    await fake.wait_until(lambda: "patrol-szk-1" in fake.card_updates)

    assert fake.card_updates["patrol-szk-1"]["main_title"]["title"] == "已记录巡查"
    assert fake.card_update_users["patrol-szk-1"] == ["zhangsan"]


async def test_aibot_ws_card_key_without_command_greys_card(fake, make_channel):
    handler = Recorder()
    await started(make_channel(), handler)

    await fake.push_card_click("lisi", "t-3", "approve:YQ-3", chatid="g1")
    await fake.wait_until(lambda: "t-3" in fake.card_updates)

    assert handler.seen == []
    assert "失效" in fake.card_updates["t-3"]["sub_title_text"]


async def test_aibot_ws_slow_card_click_result_pushed(fake, make_channel):
    handler = Recorder()
    handler.release = asyncio.Event()
    await started(make_channel(card_deadline_s=0.01), handler)

    await fake.push_card_click("lisi", "t-2", "cmd:查询 YQ-2", chatid="g1")
    await fake.wait_until(lambda: "t-2" in fake.card_updates)
    handler.release.set()
    await fake.wait_until(lambda: len(fake.chat_log("g1")) == 2)

    update, pushed = fake.chat_log("g1")
    assert "稍后" in update.card["sub_title_text"]
    assert pushed.kind == "markdown" and pushed.content == "好的：查询 YQ-2"


async def test_aibot_ws_enter_chat_sends_welcome(fake, make_channel):
    await started(make_channel(), Recorder())

    await fake.push_enter_chat("zhangsan")
    await fake.wait_until(lambda: fake.chat_log("zhangsan"))

    welcome = fake.chat_log("zhangsan")[0]
    assert welcome.kind == "welcome" and "帮助" in welcome.content


async def test_aibot_ws_send_markdown_reaches_chat(fake, make_channel):
    channel = await started(make_channel(), Recorder())
    fake.allow_chat("g1", members=("lisi",))

    await channel.send(markdown("g1", "**新命中** 1 条"))

    [shown] = fake.chat_log("g1")
    assert shown.kind == "markdown" and shown.content == "**新命中** 1 条"
    assert fake.seen_by("lisi") == [shown]


async def test_aibot_ws_send_card_posts_template_card(fake, make_channel):
    channel = await started(make_channel(), Recorder())
    fake.allow_chat("g1")
    card = {
        "card_type": "button_interaction",
        "main_title": {"title": "待批示"},
        "task_id": "YQ-0001-r1",
        "button_list": [{"text": "同意", "key": "同意 YQ-0001#1"}],
    }

    await channel.send(OutboxMessage("aibot", "g1", "card", {"template_card": card}))

    assert fake.chat_log("g1")[0].card == card


async def test_aibot_ws_send_unknown_chat_not_retryable(fake, make_channel):
    channel = await started(make_channel(), Recorder())

    with pytest.raises(SendError) as caught:
        await channel.send(markdown("nowhere", "你好"))

    assert not caught.value.retryable and caught.value.config_problem
    assert caught.value.code == 86003


async def test_aibot_ws_send_busy_is_retryable(fake, make_channel):
    channel = await started(make_channel(), Recorder())
    fake.allow_chat("g1")
    fake.fail_next("aibot_send_msg", -1, "system busy")

    with pytest.raises(SendError) as caught:
        await channel.send(markdown("g1", "你好"))

    assert caught.value.retryable and caught.value.code == -1
    assert fake.chat_log("g1") == []


async def test_aibot_ws_send_unacknowledged_is_retryable(fake, make_channel):
    channel = await started(make_channel(ack_timeout_s=0.01), Recorder())
    fake.allow_chat("g1")
    fake.silent_cmds.add("aibot_send_msg")

    with pytest.raises(SendError) as caught:
        await channel.send(markdown("g1", "你好"))

    assert caught.value.retryable


async def test_aibot_ws_drop_reconnects_without_losing(fake, make_channel):
    sleep = GatedSleep()
    channel = await started(make_channel(sleep=sleep), Recorder())
    fake.allow_chat("g1")
    sleep.gate.clear()

    await fake.drop_connection()
    await fake.wait_until(lambda: sleep.delays)
    with pytest.raises(SendError) as caught:
        await channel.send(markdown("g1", "断线期间的消息"))
    sleep.gate.set()
    await fake.wait_until(lambda: fake.subscriptions == 2)
    await asyncio.wait_for(channel.wait_connected(), WAIT_S)
    await channel.send(markdown("g1", "断线期间的消息"))

    assert caught.value.retryable
    assert [d.content for d in fake.chat_log("g1")] == ["断线期间的消息"]


async def test_aibot_ws_takeover_backs_off_longer(fake, make_channel, caplog):
    sleep = GatedSleep()
    sleep.gate.clear()
    channel = make_channel(sleep=sleep, takeover_backoff_s=300.0)
    await started(channel, Recorder())

    await fake.kick_with_new_connection()
    await fake.wait_until(lambda: sleep.delays and fake.open_connections == 0)

    assert sleep.delays == [300.0]
    assert not channel.connected and fake.subscriptions == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("taken over" in r.getMessage() for r in warnings)


async def test_aibot_ws_heartbeat_pings_are_sent(fake, make_channel):
    await started(make_channel(heartbeat_s=0.01), Recorder())

    ping = await fake.wait_for_frame("ping", count=3)

    assert ping["headers"]["req_id"].startswith("ping")
    assert fake.subscriptions == 1


async def test_aibot_ws_unanswered_pings_reconnect(fake, make_channel):
    fake.silent_cmds.add("ping")

    await started(make_channel(heartbeat_s=0.01), Recorder())
    await fake.wait_until(lambda: fake.subscriptions >= 2)

    assert len(fake.frames("ping")) >= 2


async def test_aibot_ws_stop_closes_connection(fake, make_channel):
    channel = await started(make_channel(), Recorder())
    fake.allow_chat("g1")

    await channel.stop()
    await fake.wait_until(lambda: fake.open_connections == 0)

    with pytest.raises(SendError) as caught:
        await channel.send(markdown("g1", "你好"))
    assert caught.value.retryable


async def test_aibot_ws_fake_wecom_logs_group_posts():
    wecom = FakeWeCom()
    wecom.aibot = FakeAiBotServer(BOT_ID, SECRET)
    async with wecom:
        wecom.add_chat("g1", ["lisi", "zhangsan"])
        bot = WecomAiBot(bot_id=BOT_ID, ws_url=wecom.aibot.ws_url)
        channel = await started(AiBotWsChannel(bot, SECRET), Recorder())

        await channel.send(markdown("g1", "新命中"))
        await wecom.aibot.push_text("lisi", "@舆情助手 帮助", chatid="g1")
        await wecom.aibot.wait_until(lambda: len(wecom.chat_log("g1")) == 2)
        await channel.stop()

    contents = [m["content"] for m in wecom.seen_by("zhangsan")]
    assert contents == ["新命中", "好的：@舆情助手 帮助"]


def button_card(task_id: str, buttons: int = 2) -> dict:
    return {
        "card_type": "button_interaction",
        "main_title": {"title": "巡查提醒"},
        "task_id": task_id,
        "button_list": [{"text": f"按钮{i}", "key": f"k{i}"} for i in range(buttons)],
    }


async def test_fake_aibot_refuses_reused_task_id_and_seven_buttons(fake):
    import aiohttp

    fake.allow_chat("g1")
    pushes = [button_card("t-1"), button_card("t-1"), button_card("t-2", buttons=7)]

    codes = []
    async with aiohttp.ClientSession() as http, http.ws_connect(fake.ws_url) as ws:
        frames = [("aibot_subscribe", {"bot_id": BOT_ID, "secret": SECRET})] + [
            (
                "aibot_send_msg",
                {"chatid": "g1", "msgtype": "template_card", "template_card": card},
            )
            for card in pushes
        ]
        for n, (cmd, body) in enumerate(frames):
            await ws.send_json(
                {"cmd": cmd, "headers": {"req_id": f"r{n}"}, "body": body}
            )
            codes.append((await ws.receive_json(timeout=WAIT_S))["errcode"])

    assert codes == [0, 0, 42014, 40058]
    assert len(fake.chat_log("g1")) == 1 and fake.task_ids == {"t-1"}


async def test_aibot_ws_card_resent_after_lost_ack_shown_once(fake, make_channel):
    channel = await started(make_channel(), Recorder())
    fake.allow_chat("g1")
    card = button_card("t-9")
    send = OutboxMessage("aibot", "g1", "card", {"template_card": card}, id="O2603-5")

    await channel.send(send)
    await channel.send(send)  # the outbox retrying after a lost ack

    assert len(fake.chat_log("g1")) == 1
    assert fake.chat_log("g1")[0].card["task_id"] == "t-9"


async def test_aibot_ws_same_card_twice_gets_two_task_ids(fake, make_channel, tmp_path):
    from bot.outbox import Outbox
    from bot.store import Store

    channel = await started(make_channel(), Recorder())
    fake.allow_chat("g1")
    store = Store.open(tmp_path / "data", TZ)
    outbox = Outbox(store, lambda: datetime.now(TZ))
    card = button_card("patrol-szk-20260302")
    outbox.enqueue(
        [OutboxMessage("aibot", "g1", "card", {"template_card": card})] * 2
        + [OutboxMessage("aibot", "g2", "card", {"template_card": card})]
    )
    fake.allow_chat("g2")

    sent = await outbox.deliver({"aibot": channel})
    left = outbox.pending()
    store.close()

    shown = [d.card["task_id"] for d in fake.deliveries if d.kind == "template_card"]
    assert sent == 3 and left == []
    assert len(shown) == 3 and len(set(shown)) == 3
    assert shown[0] == "patrol-szk-20260302"
    assert all(t.startswith("patrol-szk-20260302-O") for t in shown[1:])
    assert fake.task_ids == set(shown)


async def test_aibot_ws_task_id_from_before_restart_not_reused(fake, make_channel):
    fake.allow_chat("g1")
    card = {"template_card": button_card("patrol-szk-20260302")}
    before = await started(make_channel(), Recorder())
    await before.send(OutboxMessage("aibot", "g1", "card", card, id="O2603-1"))
    await before.stop()
    after = await started(make_channel(), Recorder())

    await after.send(OutboxMessage("aibot", "g1", "card", card, id="O2603-2"))

    shown = [d.card["task_id"] for d in fake.chat_log("g1")]
    assert shown == ["patrol-szk-20260302", "patrol-szk-20260302-O2603-2"]
