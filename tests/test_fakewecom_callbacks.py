"""WeCom's side of callbacks: official crypto vectors, retries, passive replies.

A stand-in bot endpoint (aiohttp, decrypting with wechatpy's own
`WeChatCrypto`, not the driver's code) receives what `CallbackDriver` sends.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable

import pytest
import xmltodict
from aiohttp import web
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from fakewecom.callbacks import CallbackCrypto, CallbackDriver

# Vector A: the official WeCom Python sample (weworkapi_python callback/Sample.py).
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP_ID = "ww1436e0e65a779aee"
ECHOSTR = (
    "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbh"
    "nFyq6SVHyA=="
)
SAMPLE_ENCRYPT = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIj"
    "eLvEl3NyeTkAgGzBhzTtRLNshw2AEew+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz"
    "1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24YhmZH4ch4Ka7ilEbjb"
    "fvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQV"
    "DGxQDCWjayJOpcwocugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)
SAMPLE_BODY = (
    f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>\n"
    f"<Encrypt><![CDATA[{SAMPLE_ENCRYPT}]]></Encrypt>\n"
    "<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)
SAMPLE_PLAINTEXT = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun"
    "</FromUserName><CreateTime>1476422779</CreateTime><MsgType>text</MsgType>"
    "<Content>你好</Content><MsgId>1456453720</MsgId><AgentID>1000002</AgentID>"
    "</xml>"
)
# Vector C: an AI bot echostr (receive id ""), keys of vector A.
AIBOT_ECHOSTR = (
    "/K4xJYsBwQssQzE/v2nbvK6YJE+5LmSsVJLXhKjeDY/mnD//LzNmXYHxk2FyFS8SJ64KAFyeNrBl"
    "8Wr5Ecvdsg=="
)
MAX_AGE_S = 300


class BotEndpoint:
    """A bot's callback URL: checks, decrypts, records, answers as programmed."""

    def __init__(self, receive_id: str) -> None:
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, receive_id)
        self.received: list[str] = []
        self.statuses: list[int] = []
        self.hold = 0
        self.release = asyncio.Event()
        self.reply: Callable[[str, str], str] | None = None

    async def get(self, request: web.Request) -> web.Response:
        q = request.query
        try:
            echo = self.crypto.check_signature(
                q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"]
            )
        except InvalidSignatureException:
            return web.Response(status=403)
        return web.Response(text=echo)

    async def post(self, request: web.Request) -> web.Response:
        q = request.query
        raw = await request.text()
        if abs(time.time() - int(q["timestamp"])) > MAX_AGE_S:
            return web.Response(status=403)
        try:
            envelope = (
                {"Encrypt": json.loads(raw)["encrypt"]} if raw.startswith("{") else raw
            )
            plaintext = self.crypto.decrypt_message(
                envelope, q["msg_signature"], q["timestamp"], q["nonce"]
            )
        except InvalidSignatureException:
            return web.Response(status=403)
        except Exception:  # anything unparsable is a bad request
            return web.Response(status=400)
        self.received.append(plaintext)

        if self.hold > 0:
            self.hold -= 1
            await self.release.wait()
        if self.statuses:
            return web.Response(status=self.statuses.pop(0))
        text = self.reply(plaintext, q["nonce"]) if self.reply else ""
        return web.Response(text=text)


Pair = tuple[BotEndpoint, CallbackDriver]


async def serve(bot: BotEndpoint) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/callback", bot.get)
    app.router.add_post("/callback", bot.post)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/callback"


@pytest.fixture
async def app_bot() -> AsyncIterator[Pair]:
    bot = BotEndpoint(CORP_ID)
    runner, url = await serve(bot)
    yield bot, CallbackDriver(url, TOKEN, AES_KEY, CORP_ID, timeout=0.5)
    bot.release.set()
    await runner.cleanup()


@pytest.fixture
async def aibot() -> AsyncIterator[Pair]:
    bot = BotEndpoint("")
    runner, url = await serve(bot)
    yield bot, CallbackDriver(url, TOKEN, AES_KEY, "", timeout=0.5)
    bot.release.set()
    await runner.cleanup()


def xml_reply(crypto: WeChatCrypto, content: str, nonce: str) -> str:
    reply = (
        "<xml><ToUserName>u</ToUserName><FromUserName>c</FromUserName>"
        f"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>{content}"
        "</Content></xml>"
    )
    return crypto.encrypt_message(reply, nonce)


def json_reply(payload: dict, nonce: str) -> str:
    key = base64.b64decode(AES_KEY + "=")
    encrypt = PrpCrypto(key).encrypt(json.dumps(payload), "").decode()
    timestamp = str(int(time.time()))
    signature = hashlib.sha1(
        "".join(sorted([TOKEN, timestamp, nonce, encrypt])).encode()
    ).hexdigest()
    return json.dumps(
        {
            "encrypt": encrypt,
            "msgsignature": signature,
            "timestamp": int(timestamp),
            "nonce": nonce,
        }
    )


# -- official vectors -------------------------------------------------------


def test_crypto_vector_a_verify_url_echostr() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY)

    signature = crypto.sign("1476416373", "47744683", ECHOSTR)
    echo = crypto.open(ECHOSTR, CORP_ID)

    assert signature == "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    assert echo == "1288432023552776189"


def test_crypto_vector_a_decrypt_msg_sample() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY)
    encrypt = xmltodict.parse(SAMPLE_BODY)["xml"]["Encrypt"]

    plaintext = crypto.open_signed(
        encrypt,
        "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
        "1476422779",
        "1597212914",
        CORP_ID,
    )

    assert plaintext == SAMPLE_PLAINTEXT


def test_crypto_vector_c_aibot_echostr() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY)

    signature = crypto.sign("1700000000", "1372623149", AIBOT_ECHOSTR)
    echo = crypto.open(AIBOT_ECHOSTR, "")

    assert signature == "87af13bf44c202b6bfd2d3049f1cd6a09cdd5862"
    assert echo == "echo-1700000000"


def test_crypto_seal_pads_to_32_bytes() -> None:
    crypto = CallbackCrypto(TOKEN, AES_KEY)

    sealed = [crypto.seal("x" * n, CORP_ID) for n in range(40)]

    assert all(len(base64.b64decode(s)) % 32 == 0 for s in sealed)
    assert crypto.open(sealed[7], CORP_ID) == "x" * 7


# -- self-built app callbacks -----------------------------------------------


async def test_verify_url_bot_echoes_plaintext(app_bot: Pair) -> None:
    bot, driver = app_bot

    result = await driver.verify_url()

    assert result.ok
    assert result.body == result.echo


async def test_app_text_reaches_bot_decrypted(app_bot: Pair) -> None:
    bot, driver = app_bot

    delivery = await driver.app_text("lisi", "批示 YQ-0001 同意", msg_id=42)

    assert delivery.statuses == [200] and delivery.reply is None
    message = xmltodict.parse(bot.received[0])["xml"]
    assert message["FromUserName"] == "lisi"
    assert message["ToUserName"] == CORP_ID
    assert message["Content"] == "批示 YQ-0001 同意"
    assert message["MsgId"] == "42" and message["AgentID"] == "1000002"


async def test_app_callback_timeout_resends_same_message(app_bot: Pair) -> None:
    bot, driver = app_bot
    bot.hold = 1

    delivery = await driver.app_text("lisi", "查询 YQ-0001")

    assert delivery.statuses == [None, 200]
    assert len(delivery.elapsed) == 2
    assert bot.received[0] == bot.received[1]


async def test_app_callback_non_200_retried_three_times_in_all(app_bot: Pair) -> None:
    bot, driver = app_bot
    bot.statuses = [500, 502, 503, 200]

    delivery = await driver.app_event("zhangsan", "enter_agent")

    assert delivery.statuses == [500, 502, 503]
    assert not delivery.ok
    assert len(set(bot.received)) == 1


async def test_app_passive_reply_decrypted(app_bot: Pair) -> None:
    bot, driver = app_bot
    bot.reply = lambda plaintext, nonce: xml_reply(bot.crypto, "已收到", nonce)

    delivery = await driver.app_text("lisi", "帮助")

    assert delivery.reply is not None
    assert xmltodict.parse(delivery.reply)["xml"]["Content"] == "已收到"


async def test_app_card_click_carries_task_and_selection(app_bot: Pair) -> None:
    bot, driver = app_bot

    await driver.app_card_click(
        "lisi",
        "YQ-0001-r1",
        "approve:YQ-0001",
        "rc-123",
        selected={"q1": ["o1"]},
    )

    event = xmltodict.parse(bot.received[0])["xml"]
    assert event["Event"] == "template_card_event"
    assert event["TaskId"] == "YQ-0001-r1"
    assert event["EventKey"] == "approve:YQ-0001"
    assert event["ResponseCode"] == "rc-123"
    assert event["SelectedItems"]["SelectedItem"]["OptionIds"]["OptionId"] == "o1"


@pytest.mark.parametrize(
    ("kind", "status"),
    [("bad_signature", 403), ("stale_timestamp", 403), ("garbage_body", 400)],
)
async def test_forge_refused_by_checking_bot(
    app_bot: Pair, kind: str, status: int
) -> None:
    bot, driver = app_bot

    delivery = await driver.forge(kind)

    assert delivery.statuses == [status]
    assert bot.received == []


# -- AI bot callbacks -------------------------------------------------------


async def test_aibot_text_json_and_stream_reply(aibot: Pair) -> None:
    bot, driver = aibot
    stream = {"msgtype": "stream", "stream": {"id": "s1", "finish": True}}
    bot.reply = lambda plaintext, nonce: json_reply(stream, nonce)

    delivery = await driver.aibot_text(
        "lisi", "@舆情助手 批示 YQ-0001 同意", chatid="grp1", chattype="group"
    )

    message = json.loads(bot.received[0])
    assert message["from"] == {"userid": "lisi"}
    assert message["chatid"] == "grp1" and message["chattype"] == "group"
    assert message["text"]["content"].startswith("@舆情助手")
    assert delivery.reply == stream


async def test_aibot_card_click_never_retried(aibot: Pair) -> None:
    bot, driver = aibot
    bot.statuses = [500]

    delivery = await driver.aibot_card_click("lisi", "YQ-0001-r1", "approve:YQ-0001")

    assert delivery.statuses == [500]
    event = json.loads(bot.received[0])["event"]
    assert event["eventtype"] == "template_card_event"
    assert event["template_card_event"]["task_id"] == "YQ-0001-r1"


async def test_aibot_bad_reply_signature_reported(aibot: Pair) -> None:
    bot, driver = aibot

    def tampered(plaintext: str, nonce: str) -> str:
        envelope = json.loads(json_reply({"msgtype": "stream"}, nonce))
        return json.dumps(envelope | {"msgsignature": "0" * 40})

    bot.reply = tampered

    delivery = await driver.aibot_text("lisi", "hi")

    assert delivery.reply is None
    assert delivery.reply_error == "bad signature"
