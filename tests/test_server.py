"""The callback server over real HTTP: verification, checks, dedupe, replies."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from bot import config
from bot.app import App
from bot.channels.aibot_callback import FAILED, PLACEHOLDER, AiBotCallback
from bot.channels.app_inbound import AppInbound
from bot.errors import ConfigError
from bot.events import Inbound, Reply
from bot.server import AIBOT_PATH, APP_PATH, CallbackServer
from bot.wecom.crypto import CallbackCrypto

# Official vector A (wecom-api.md §10) for the app; its own keys for the AI bot.
APP_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
APP_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "ww1436e0e65a779aee"
AIBOT_TOKEN = "aibotTokenForTests42"
AIBOT_KEY = base64.b64encode(bytes(range(7, 39))).decode().rstrip("=")

WECOM_CONFIG = f"""
[wecom.app]
corp_id = "{CORP}"
agent_id = 1000002

[wecom.aibot]
bot_id = "BOT1"
mode = "callback"
"""
ENV = {
    "WECOM_APP_SECRET": "appSecretForTests",
    "WECOM_APP_TOKEN": APP_TOKEN,
    "WECOM_APP_AES_KEY": APP_KEY,
    "WECOM_AIBOT_TOKEN": AIBOT_TOKEN,
    "WECOM_AIBOT_AES_KEY": AIBOT_KEY,
}


def app_text(sender: str, content: str, msg_id: str = "1456453720") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>"
        "<AgentID>1000002</AgentID></xml>"
    )


def app_card_click(sender: str, key: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<FromUserName><![CDATA[{sender}]]></FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[template_card_event]]></Event>"
        f"<EventKey><![CDATA[{key}]]></EventKey><TaskId><![CDATA[YQ-12-r1]]></TaskId>"
        "<CardType><![CDATA[button_interaction]]></CardType>"
        "<ResponseCode><![CDATA[RC-1]]></ResponseCode><AgentID>1000002</AgentID>"
        "<SelectedItems><SelectedItem><QuestionKey><![CDATA[q1]]></QuestionKey>"
        "<OptionIds><OptionId><![CDATA[o1]]></OptionId></OptionIds></SelectedItem>"
        "</SelectedItems></xml>"
    )


def aibot_text(sender: str, content: str, response_url: str, msg_id: str) -> dict:
    return {
        "msgid": msg_id,
        "aibotid": "BOT1",
        "chatid": "CHAT1",
        "chattype": "group",
        "from": {"userid": sender},
        "response_url": response_url,
        "msgtype": "text",
        "text": {"content": content},
    }


def aibot_card_click(sender: str, key: str, response_url: str) -> dict:
    return {
        "msgid": "CLICK1",
        "create_time": 1700000000,
        "aibotid": "BOT1",
        "chatid": "CHAT1",
        "chattype": "group",
        "from": {"userid": sender},
        "response_url": response_url,
        "msgtype": "event",
        "event": {
            "eventtype": "template_card_event",
            "template_card_event": {
                "card_type": "button_interaction",
                "event_key": key,
                "task_id": "YQ-12-r1",
            },
        },
    }


class FakeDispatcher:
    """Records chat lines; answers ``已收到：<text>`` once `gate` (if any) opens."""

    def __init__(self, gate: asyncio.Event | None = None, fail: bool = False) -> None:
        self.seen: list[Inbound] = []
        self.gate = gate
        self.fail = fail
        self.events: list[str] = []

    async def __call__(self, msg: Inbound) -> Reply:
        self.seen.append(msg)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("handler exploded")
        self.events.append("handler finished")
        # A command word starting with 批示 "succeeds" (card_title), others refuse.
        title = "已批示" if msg.text.startswith("批示") else ""
        return Reply(f"已收到：{msg.text}", card_title=title)


class FakeSender:
    """The app's REST sender: records (userid, text)."""

    def __init__(self, events: list[str] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.done = asyncio.Event()
        self.events = events if events is not None else []

    async def __call__(self, userid: str, text: str) -> None:
        self.sent.append((userid, text))
        self.events.append("reply sent")
        self.done.set()


class WeComCaller:
    """Plays WeCom: encrypts and signs callbacks, decrypts passive replies."""

    def __init__(self, server: CallbackServer, http: httpx.AsyncClient) -> None:
        self.server = server
        self.http = http
        self.app_crypto = CallbackCrypto(APP_TOKEN, APP_KEY, CORP)
        self.aibot_crypto = CallbackCrypto(AIBOT_TOKEN, AIBOT_KEY, "")
        self.signatures: list[str] = []

    def _query(
        self, crypto: CallbackCrypto, encrypted: str, timestamp: int | None
    ) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = secrets.token_hex(5)
        signature = crypto.signature(ts, nonce, encrypted)
        self.signatures.append(signature)
        return {"msg_signature": signature, "timestamp": ts, "nonce": nonce}

    async def post_app(
        self, xml: str, *, timestamp: int | None = None, forge: bool = False
    ) -> httpx.Response:
        encrypted = self.app_crypto.encrypt(xml)
        query = self._query(self.app_crypto, encrypted, timestamp)
        if forge:
            query["msg_signature"] = "f" * 40
        body = (
            f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            "<AgentID><![CDATA[1000002]]></AgentID></xml>"
        )
        return await self.http.post(APP_PATH, params=query, content=body.encode())

    async def post_aibot(self, payload: dict) -> tuple[httpx.Response, dict | None]:
        encrypted = self.aibot_crypto.encrypt(json.dumps(payload, ensure_ascii=False))
        query = self._query(self.aibot_crypto, encrypted, None)
        response = await self.http.post(
            AIBOT_PATH, params=query, json={"encrypt": encrypted}
        )
        if not response.content:
            return response, None
        body = response.json()
        assert body["nonce"] == query["nonce"]
        self.signatures.append(body["msgsignature"])
        plain = self.aibot_crypto.decrypt_json(
            body, body["msgsignature"], str(body["timestamp"]), body["nonce"]
        )
        return response, json.loads(plain)


@contextlib.asynccontextmanager
async def serve(settings: config.Settings, **handlers) -> AsyncIterator[WeComCaller]:
    server = CallbackServer(settings, handlers, host="127.0.0.1", port=0)
    async with server:
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base) as http:
            yield WeComCaller(server, http)


@contextlib.asynccontextmanager
async def response_url_server() -> AsyncIterator[tuple[str, list[dict], asyncio.Event]]:
    """A stand-in for WeCom's aibot/response endpoint."""
    posted: list[dict] = []
    arrived = asyncio.Event()

    async def respond(request: web.Request) -> web.Response:
        posted.append(await request.json())
        arrived.set()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    app = web.Application()
    app.router.add_post("/cgi-bin/aibot/response", respond)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield (
            f"http://127.0.0.1:{port}/cgi-bin/aibot/response?response_code=RC9",
            posted,
            arrived,
        )
    finally:
        await runner.cleanup()


@pytest.fixture
def settings(write_config) -> config.Settings:
    return config.load(write_config(WECOM_CONFIG), env=ENV)


async def test_server_verification_get_official_vector_a(settings):
    sender = FakeSender()
    async with serve(settings, app=AppInbound(FakeDispatcher(), sender)) as wecom:
        response = await wecom.http.get(
            APP_PATH,
            params={
                "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
                "timestamp": "1476416373",
                "nonce": "47744683",
                "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN"
                "/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
            },
        )

    assert response.status_code == 200
    assert response.text == "1288432023552776189"
    assert response.headers["content-type"].startswith("text/plain")


async def test_server_verification_unescaped_plus_still_verifies(settings):
    query = (
        "msg_signature=012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb&timestamp=1476416373"
        "&nonce=47744683&echostr=fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbE"
        "kRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA%3D%3D"
    )
    async with serve(settings, app=AppInbound(FakeDispatcher(), FakeSender())) as wecom:
        response = await wecom.http.get(f"{APP_PATH}?{query}")

    assert response.status_code == 200
    assert response.text == "1288432023552776189"


async def test_server_verification_bad_signature_400(settings, caplog):
    async with serve(settings, app=AppInbound(FakeDispatcher(), FakeSender())) as wecom:
        response = await wecom.http.get(
            APP_PATH,
            params={
                "msg_signature": "0" * 40,
                "timestamp": "1476416373",
                "nonce": "47744683",
                "echostr": "abc",
            },
        )

    assert response.status_code == 400
    assert "callback rejected reason=bad_signature" in caplog.text


async def test_server_healthz_ok(settings):
    async with serve(settings) as wecom:
        response = await wecom.http.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"ok": True}


async def test_server_routes_only_configured_channels(settings):
    async with serve(settings, app=AppInbound(FakeDispatcher(), FakeSender())) as wecom:
        response = await wecom.http.post(AIBOT_PATH, json={"encrypt": "x"})

    assert response.status_code in (404, 405)


async def test_server_missing_token_is_config_error(write_config):
    env = {k: v for k, v in ENV.items() if k != "WECOM_AIBOT_TOKEN"}
    settings = config.load(write_config(WECOM_CONFIG), env=env)

    with pytest.raises(ConfigError) as caught:
        CallbackServer(settings, {"aibot": AiBotCallback(FakeDispatcher())})

    assert "WECOM_AIBOT_TOKEN" in str(caught.value)


async def test_server_app_text_delivered_three_times_dispatched_once(settings):
    dispatcher = FakeDispatcher()
    sender = FakeSender()
    xml = app_text("zhangsan", "命中 今日")

    async with serve(settings, app=AppInbound(dispatcher, sender)) as wecom:
        statuses = [(await wecom.post_app(xml)).status_code for _ in range(3)]
        await sender.done.wait()

    assert statuses == [200, 200, 200]
    assert [m.text for m in dispatcher.seen] == ["命中 今日"]
    assert dispatcher.seen[0].channel == "app"
    assert dispatcher.seen[0].msg_id == "1456453720"
    assert sender.sent == [("zhangsan", "已收到：命中 今日")]


async def test_server_app_answers_before_slow_dispatcher_finishes(settings):
    gate = asyncio.Event()
    dispatcher = FakeDispatcher(gate)
    sender = FakeSender(dispatcher.events)

    async with serve(settings, app=AppInbound(dispatcher, sender)) as wecom:
        response = await wecom.post_app(app_text("zhangsan", "查询 12"))
        dispatcher.events.append("200 received")
        gate.set()
        await sender.done.wait()

    assert response.status_code == 200
    assert response.content == b""
    assert dispatcher.events == ["200 received", "handler finished", "reply sent"]


async def test_server_forged_signature_400_nothing_dispatched(settings, caplog):
    dispatcher = FakeDispatcher()

    async with serve(settings, app=AppInbound(dispatcher, FakeSender())) as wecom:
        response = await wecom.post_app(app_text("zhangsan", "帮助"), forge=True)

    assert response.status_code == 400
    assert dispatcher.seen == []
    assert "callback rejected reason=bad_signature" in caplog.text


async def test_server_stale_timestamp_400(settings, caplog):
    dispatcher = FakeDispatcher()
    old = int(time.time()) - settings.wecom.callback_max_age_s - 600

    async with serve(settings, app=AppInbound(dispatcher, FakeSender())) as wecom:
        response = await wecom.post_app(app_text("zhangsan", "帮助"), timestamp=old)

    assert response.status_code == 400
    assert dispatcher.seen == []
    stale = [r for r in caplog.records if "reason=stale" in r.getMessage()]
    assert [r.levelno for r in stale] == [logging.WARNING]


async def test_server_oversized_body_413(settings):
    dispatcher = FakeDispatcher()

    async with serve(settings, app=AppInbound(dispatcher, FakeSender())) as wecom:
        response = await wecom.http.post(
            APP_PATH,
            params={"msg_signature": "0" * 40, "timestamp": "1", "nonce": "1"},
            content=b"<xml>" + b"x" * 70_000 + b"</xml>",
        )

    assert response.status_code == 413
    assert dispatcher.seen == []


async def test_server_oversized_chunked_body_413(settings):
    async def chunks():
        for _ in range(20):
            yield b"x" * 8192

    async with serve(settings, app=AppInbound(FakeDispatcher(), FakeSender())) as wecom:
        response = await wecom.http.post(
            APP_PATH,
            params={"msg_signature": "0" * 40, "timestamp": "1", "nonce": "1"},
            content=chunks(),
        )

    assert response.status_code == 413


@pytest.mark.parametrize("body", [b"garbage", b"", b"<xml><Encrypt></Encrypt></xml>"])
async def test_server_garbage_body_400(settings, body):
    dispatcher = FakeDispatcher()

    async with serve(settings, app=AppInbound(dispatcher, FakeSender())) as wecom:
        response = await wecom.http.post(
            APP_PATH,
            params={"msg_signature": "0" * 40, "timestamp": "1", "nonce": "1"},
            content=body,
        )

    assert response.status_code == 400
    assert dispatcher.seen == []


async def test_server_signed_but_unparsable_plaintext_400(settings, caplog):
    dispatcher = FakeDispatcher()

    async with serve(settings, app=AppInbound(dispatcher, FakeSender())) as wecom:
        response = await wecom.post_app("this is not xml")

    assert response.status_code == 400
    assert "callback rejected reason=malformed" in caplog.text


async def test_server_unknown_sender_ignored_with_warning(settings, caplog):
    dispatcher = FakeDispatcher()
    sender = FakeSender()

    async with serve(settings, app=AppInbound(dispatcher, sender)) as wecom:
        response = await wecom.post_app(app_text("stranger", "帮助"))

    assert response.status_code == 200
    assert response.content == b""
    assert dispatcher.seen == [] and sender.sent == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("reason=unknown_sender" in r.getMessage() for r in warnings)
    assert any("sender=stranger" in r.getMessage() for r in warnings)


async def test_server_app_card_click_single_selected_item_runs_command(settings):
    dispatcher = FakeDispatcher()
    sender = FakeSender()
    xml = app_card_click("lisi", "cmd:批示 YQ-2026-0012 同意")

    async with serve(settings, app=AppInbound(dispatcher, sender)) as wecom:
        first = await wecom.post_app(xml)
        again = await wecom.post_app(xml)
        await sender.done.wait()

    assert (first.status_code, again.status_code) == (200, 200)
    assert [(m.sender, m.text) for m in dispatcher.seen] == [
        ("lisi", "批示 YQ-2026-0012 同意")
    ]
    assert sender.sent == [("lisi", "已收到：批示 YQ-2026-0012 同意")]


async def test_server_app_card_click_other_key_ignored(settings):
    dispatcher = FakeDispatcher()

    async with serve(settings, app=AppInbound(dispatcher, FakeSender())) as wecom:
        response = await wecom.post_app(app_card_click("lisi", "approve:YQ-1"))
        await wecom.server.tasks.drain()

    assert response.status_code == 200
    assert dispatcher.seen == []


async def test_server_app_handler_crash_logged_server_keeps_serving(settings, caplog):
    dispatcher = FakeDispatcher(fail=True)
    sender = FakeSender()

    async with serve(settings, app=AppInbound(dispatcher, sender)) as wecom:
        first = await wecom.post_app(app_text("zhangsan", "坏", msg_id="1"))
        await wecom.server.tasks.drain()
        dispatcher.fail = False
        second = await wecom.post_app(app_text("zhangsan", "帮助", msg_id="2"))
        await sender.done.wait()

    assert (first.status_code, second.status_code) == (200, 200)
    assert sender.sent == [("zhangsan", "已收到：帮助")]
    crashes = [r for r in caplog.records if "background task failed" in r.getMessage()]
    assert len(crashes) == 1 and crashes[0].exc_info is not None


async def test_server_aibot_group_help_answered_with_stream(settings):
    async with App.open(settings) as bot:
        channel = AiBotCallback(bot.dispatcher.handle)
        async with serve(settings, aibot=channel) as wecom:
            payload = aibot_text("lisi", "@机器人 帮助", "http://127.0.0.1:9/x", "M1")
            response, reply = await wecom.post_aibot(payload)
        await channel.aclose()

    assert response.status_code == 200
    assert reply["msgtype"] == "stream"
    assert reply["stream"]["finish"] is True
    assert reply["stream"]["id"]
    assert "你的角色：负责人" in reply["stream"]["content"]


async def test_server_aibot_duplicate_gets_same_answer_dispatched_once(settings):
    dispatcher = FakeDispatcher()
    channel = AiBotCallback(dispatcher)
    payload = aibot_text("lisi", "@机器人 查询 12", "http://127.0.0.1:9/x", "M2")

    async with serve(settings, aibot=channel) as wecom:
        _, first = await wecom.post_aibot(payload)
        _, again = await wecom.post_aibot(payload)
    await channel.aclose()

    assert len(dispatcher.seen) == 1
    assert dispatcher.seen[0].chat == "CHAT1"
    assert first == again
    assert first["stream"]["content"] == "已收到：@机器人 查询 12"


async def test_server_aibot_card_click_updates_card(settings):
    dispatcher = FakeDispatcher()
    channel = AiBotCallback(dispatcher)
    payload = aibot_card_click(
        "lisi", "cmd:批示 YQ-2026-0012 同意", "http://127.0.0.1:9/x"
    )

    async with serve(settings, aibot=channel) as wecom:
        response, reply = await wecom.post_aibot(payload)
    await channel.aclose()

    assert response.status_code == 200
    assert [m.text for m in dispatcher.seen] == ["批示 YQ-2026-0012 同意"]
    assert reply["response_type"] == "update_template_card"
    assert "userids" not in reply  # done: every member of the group sees it
    card = reply["template_card"]
    assert card["task_id"] == "YQ-12-r1"
    assert card["main_title"] == {"title": "已批示", "desc": "操作人：lisi"}
    assert card["sub_title_text"] == "已收到：批示 YQ-2026-0012 同意"
    assert card["button_list"][0]["text"] == "已批示"


async def test_server_aibot_refused_card_click_changes_only_clickers_card(settings):
    channel = AiBotCallback(FakeDispatcher())
    payload = aibot_card_click("lisi", "cmd:退回 12#1 理由", "http://127.0.0.1:9/x")

    async with serve(settings, aibot=channel) as wecom:
        _response, reply = await wecom.post_aibot(payload)
    await channel.aclose()

    assert reply["userids"] == ["lisi"]
    assert reply["template_card"]["main_title"]["title"] == "未执行"


async def test_server_aibot_slow_handler_placeholder_then_response_url(settings):
    gate = asyncio.Event()
    dispatcher = FakeDispatcher(gate)

    async with response_url_server() as (url, posted, arrived):
        channel = AiBotCallback(dispatcher, reply_wait_s=0.01)
        async with serve(settings, aibot=channel) as wecom:
            _, reply = await wecom.post_aibot(
                aibot_text("lisi", "@机器人 统计 本周", url, "M3")
            )
            gate.set()
            await arrived.wait()
        await channel.aclose()

    assert reply["msgtype"] == "stream"
    assert reply["stream"]["finish"] is True
    assert reply["stream"]["content"] == PLACEHOLDER
    assert posted == [
        {"msgtype": "markdown", "markdown": {"content": "已收到：@机器人 统计 本周"}}
    ]


async def test_server_aibot_slow_card_click_still_processed(settings):
    gate = asyncio.Event()
    dispatcher = FakeDispatcher(gate)

    async with response_url_server() as (url, posted, arrived):
        channel = AiBotCallback(dispatcher, reply_wait_s=0.01)
        async with serve(settings, aibot=channel) as wecom:
            _, reply = await wecom.post_aibot(
                aibot_card_click("lisi", "cmd:批示 YQ-1 退回", url)
            )
            gate.set()
            await arrived.wait()
        await channel.aclose()

    assert reply["template_card"]["main_title"]["title"] == "处理中"
    assert reply["userids"] == ["lisi"]
    assert reply["template_card"]["sub_title_text"] == "处理中，结果稍后发送"
    assert posted[0]["markdown"]["content"] == "已收到：批示 YQ-1 退回"


async def test_server_aibot_handler_crash_answers_apology(settings, caplog):
    channel = AiBotCallback(FakeDispatcher(fail=True))

    async with serve(settings, aibot=channel) as wecom:
        _, reply = await wecom.post_aibot(
            aibot_text("lisi", "@机器人 坏", "http://127.0.0.1:9/x", "M4")
        )
    await channel.aclose()

    assert reply["stream"]["content"] == FAILED
    assert "background task failed" in caplog.text


async def test_server_aibot_enter_chat_ignored(settings):
    dispatcher = FakeDispatcher()
    channel = AiBotCallback(dispatcher)
    payload = {
        "msgid": "E1",
        "chattype": "single",
        "from": {"userid": "lisi"},
        "msgtype": "event",
        "event": {"eventtype": "enter_chat"},
    }

    async with serve(settings, aibot=channel) as wecom:
        response, reply = await wecom.post_aibot(payload)
    await channel.aclose()

    assert response.status_code == 200
    assert reply is None
    assert dispatcher.seen == []


async def test_server_logs_carry_no_secrets_or_message_text(settings, caplog):
    caplog.set_level(logging.DEBUG)
    secret_text = "绝密内容甲乙丙"
    gate = asyncio.Event()

    async with response_url_server() as (url, _posted, arrived):
        sender = FakeSender()
        aibot = AiBotCallback(FakeDispatcher(gate), reply_wait_s=0.01)
        app = AppInbound(FakeDispatcher(), sender)
        async with serve(settings, app=app, aibot=aibot) as wecom:
            await wecom.http.get(
                APP_PATH,
                params={
                    "msg_signature": "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb",
                    "timestamp": "1476416373",
                    "nonce": "47744683",
                    "echostr": "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbE"
                    "kRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==",
                },
            )
            await wecom.post_app(app_text("zhangsan", secret_text))
            await wecom.post_app(app_text("zhangsan", secret_text), forge=True)
            await wecom.post_app(app_text("nobody", secret_text, msg_id="9"))
            await wecom.post_app(app_card_click("lisi", f"cmd:{secret_text}"))
            await wecom.post_aibot(
                aibot_text("lisi", f"@机器人 {secret_text}", url, "L1")
            )
            gate.set()
            await arrived.wait()
            await sender.done.wait()
        await aibot.aclose()

    # httpx/httpcore are set to WARNING by bot.log (they print URLs at INFO); the
    # test client's own request lines are not the bot's.
    ours = [r for r in caplog.records if r.name.startswith(("bot", "aiohttp"))]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in ours)
    forbidden = [APP_TOKEN, APP_KEY, AIBOT_TOKEN, AIBOT_KEY, secret_text, "RC9"]
    forbidden += ["012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "f" * 40]
    forbidden += wecom.signatures
    assert "callback accepted" in logged
    assert [s for s in forbidden if s in logged] == []


async def test_server_stop_waits_for_background_replies(settings):
    gate = asyncio.Event()
    dispatcher = FakeDispatcher(gate)
    sender = FakeSender()

    async with serve(settings, app=AppInbound(dispatcher, sender)) as wecom:
        await wecom.post_app(app_text("zhangsan", "查询 12"))
        stopping = asyncio.ensure_future(wecom.server.stop())
        await asyncio.sleep(0)
        gate.set()
        await stopping

    assert sender.sent == [("zhangsan", "已收到：查询 12")]


async def test_server_end_to_end_with_fake_wecom_driver(settings):
    callbacks = pytest.importorskip("fakewecom.callbacks")
    app_dispatcher = FakeDispatcher()
    sender = FakeSender()
    aibot_dispatcher = FakeDispatcher()
    aibot = AiBotCallback(aibot_dispatcher)
    handlers = {"app": AppInbound(app_dispatcher, sender), "aibot": aibot}

    async with serve(settings, **handlers) as wecom:
        app_url = wecom.server.url(APP_PATH)
        aibot_url = wecom.server.url(AIBOT_PATH)
        app_side = callbacks.CallbackDriver(app_url, APP_TOKEN, APP_KEY, CORP)
        aibot_side = callbacks.CallbackDriver(aibot_url, AIBOT_TOKEN, AIBOT_KEY, "")
        verified = [await app_side.verify_url(), await aibot_side.verify_url()]
        text = await app_side.app_text("zhangsan", "命中 今日", msg_id=77)
        click = await app_side.app_card_click(
            "lisi", "YQ-9-r1", "cmd:批示 YQ-9 同意", "RC", selected={"q": ["o"]}
        )
        forged = [await app_side.forge(kind) for kind in callbacks.FORGERIES]
        card = await aibot_side.aibot_card_click(
            "lisi", "YQ-9-r2", "cmd:批示 YQ-9 退回", chatid="CHAT1", chattype="group"
        )
        await wecom.server.tasks.drain()
    await aibot.aclose()

    assert [v.ok for v in verified] == [True, True]
    assert (text.statuses, click.statuses) == ([200], [200])
    assert [f.statuses for f in forged] == [[400], [400], [400]]
    assert sorted(m.text for m in app_dispatcher.seen) == [
        "命中 今日",
        "批示 YQ-9 同意",
    ]
    assert sorted(sender.sent) == [
        ("lisi", "已收到：批示 YQ-9 同意"),
        ("zhangsan", "已收到：命中 今日"),
    ]
    assert card.reply["response_type"] == "update_template_card"
    assert card.reply["template_card"]["sub_title_text"] == "已收到：批示 YQ-9 退回"


async def test_server_aibot_late_reply_kept_when_response_url_fails_once(
    settings, tmp_path
):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from bot.outbox import Outbox
    from bot.store import Store
    from fakewecom import FakeWeCom

    tz = ZoneInfo("Asia/Shanghai")
    now = [datetime.now(tz)]
    store = Store.open(tmp_path / "data", tz)
    outbox = Outbox(store, lambda: now[0])
    gate = asyncio.Event()
    async with FakeWeCom() as fake:
        url = fake.aibot_response_url(chatid="grp-szk", userid="lisi")
        fake.http_error_next("aibot/response", 502)
        channel = AiBotCallback(
            FakeDispatcher(gate), reply_wait_s=0.01, late=outbox.enqueue
        )
        async with serve(settings, aibot=channel) as wecom:
            payload = aibot_text("lisi", "@机器人 统计 本周", url, "M77")
            payload["chatid"], payload["chattype"] = "grp-szk", "group"
            await wecom.post_aibot(payload)
            gate.set()
            for _ in range(200):
                if outbox.pending():
                    break
                await asyncio.sleep(0.02)
        kept = outbox.pending()
        now[0] += timedelta(seconds=2)
        sent = await outbox.deliver({"aibot_reply": channel.reply_channel})
        shown = fake.chat_log("grp-szk")
        await channel.aclose()
    store.close()

    assert len(kept) == 1 and kept[0].channel == "aibot_reply"
    assert sent == 1 and outbox.pending() == []
    assert [m["content"] for m in shown] == ["已收到：@机器人 统计 本周"]
