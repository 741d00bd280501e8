"""WeCom's side of callbacks: encrypted messages and events POSTed to a bot.

`CallbackDriver` plays the WeCom server calling a bot's callback URL:

- self-built app (自建应用): XML envelopes ``<xml><ToUserName/><Encrypt/>
  <AgentID/></xml>`` signed in the query string, retried like WeCom when no
  HTTP 200 arrives within the timeout (5 s by default) — the same message (same
  MsgId/CreateTime) up to `attempts` deliveries in all
  (https://developer.work.weixin.qq.com/document/path/90930, /90238);
- AI bot (智能机器人): JSON ``{"encrypt": ...}`` with receive id ``""``
  (/101033); card clicks are never retried (/101027).

Encryption and signatures are real (wechatpy's `PrpCrypto`: AES-256-CBC, PKCS#7
to 32 bytes), and passive replies are checked and decrypted. `forge` sends the
broken requests a bot must refuse. The REST API is `fakewecom.server`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import xmltodict
from wechatpy.enterprise.crypto import PrpCrypto

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_ATTEMPTS = 3
AIBOT_RECEIVE_ID = ""
FORGERIES = ("bad_signature", "stale_timestamp", "garbage_body")


class CallbackCryptoError(Exception):
    """A passive reply that fails its signature or does not decrypt."""


class CallbackCrypto:
    """Sign, encrypt and decrypt callback payloads (/101033, /90968).

    Args:
        token: the callback Token.
        aes_key: the 43-character EncodingAESKey.
    """

    def __init__(self, token: str, aes_key: str) -> None:
        self.token = token
        self._prp = PrpCrypto(base64.b64decode(aes_key + "="))

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        """msg_signature = sha1 of the four strings sorted and joined."""
        parts = sorted([self.token, timestamp, nonce, encrypt])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def seal(self, plaintext: str, receive_id: str) -> str:
        return self._prp.encrypt(plaintext, receive_id).decode("ascii")

    def open(self, encrypt: str, receive_id: str) -> str:
        try:
            return self._prp.decrypt(encrypt, receive_id)
        except Exception as exc:  # wechatpy raises bare errors on bad input
            raise CallbackCryptoError(f"cannot decrypt: {exc!r}") from exc

    def open_signed(
        self, encrypt: str, signature: str, timestamp: str, nonce: str, receive_id: str
    ) -> str:
        """Check `signature` over `encrypt`, then decrypt it."""
        if self.sign(timestamp, nonce, encrypt) != signature:
            raise CallbackCryptoError("bad signature")
        return self.open(encrypt, receive_id)


@dataclass
class Delivery:
    """What happened to one callback: every attempt and the bot's reply.

    `reply` is the decrypted passive reply (XML text for the app, a dict for
    the AI bot), None when the last body was empty or undecryptable; then
    `reply_error` says why.
    """

    plaintext: str
    statuses: list[int | None] = field(default_factory=list)
    elapsed: list[float] = field(default_factory=list)
    raw_reply: str = ""
    reply: str | dict[str, Any] | None = None
    reply_error: str = ""

    @property
    def attempts(self) -> int:
        return len(self.statuses)

    @property
    def ok(self) -> bool:
        return bool(self.statuses) and self.statuses[-1] == 200


@dataclass
class Verification:
    """The answer to a URL verification (GET with echostr)."""

    status: int
    body: str
    echo: str

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.body == self.echo


class CallbackDriver:
    """Sends encrypted callbacks to a bot at `url`, as WeCom does.

    Args:
        url: the bot's callback URL.
        token, aes_key: the callback Token and EncodingAESKey.
        receive_id: the CorpID for app callbacks (AI bot calls always use "").
        agent_id: default AgentID of app callbacks.
        timeout: seconds to wait for an answer before a retry (WeCom: 5).
        attempts: deliveries in all for app callbacks (WeCom: 3).
        aibot_id: the ``aibotid`` of AI bot callbacks.
        clock: epoch seconds for CreateTime and timestamps.
    """

    def __init__(
        self,
        url: str,
        token: str,
        aes_key: str,
        receive_id: str,
        *,
        agent_id: int = 1000002,
        timeout: float = DEFAULT_TIMEOUT_S,
        attempts: int = DEFAULT_ATTEMPTS,
        aibot_id: str = "fakeaibot",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.crypto = CallbackCrypto(token, aes_key)
        self.receive_id = receive_id
        self.agent_id = agent_id
        self.timeout = timeout
        self.attempts = attempts
        self.aibot_id = aibot_id
        self._clock = clock

    def _timestamp(self) -> str:
        return str(int(self._clock()))

    # -- URL verification ------------------------------------------------

    async def verify_url(self, receive_id: str | None = None) -> Verification:
        """GET with msg_signature/timestamp/nonce/echostr; the bot must echo."""
        echo = str(secrets.randbelow(10**19))
        rid = self.receive_id if receive_id is None else receive_id
        echostr = self.crypto.seal(echo, rid)
        timestamp, nonce = self._timestamp(), _nonce()
        params = {
            "msg_signature": self.crypto.sign(timestamp, nonce, echostr),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": echostr,
        }
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            answer = await client.get(self.url, params=params)
        return Verification(answer.status_code, answer.text, echo)

    # -- self-built app (XML) --------------------------------------------

    async def app_text(
        self,
        from_user: str,
        content: str,
        msg_id: int | None = None,
        agent_id: int | None = None,
    ) -> Delivery:
        fields = {
            "MsgType": "text",
            "Content": content,
            "MsgId": msg_id if msg_id is not None else secrets.randbelow(2**63),
        }
        return await self.send_app_xml(self._app_xml(from_user, fields, agent_id))

    async def app_event(
        self,
        from_user: str,
        event: str,
        event_key: str = "",
        agent_id: int | None = None,
    ) -> Delivery:
        fields = {"MsgType": "event", "Event": event, "EventKey": event_key}
        return await self.send_app_xml(self._app_xml(from_user, fields, agent_id))

    async def app_card_click(
        self,
        from_user: str,
        task_id: str,
        event_key: str,
        response_code: str,
        card_type: str = "button_interaction",
        selected: dict[str, list[str]] | None = None,
        agent_id: int | None = None,
    ) -> Delivery:
        """A ``template_card_event`` (/90240); `selected`: question -> options."""
        fields: dict[str, Any] = {
            "MsgType": "event",
            "Event": "template_card_event",
            "EventKey": event_key,
            "TaskId": task_id,
            "CardType": card_type,
            "ResponseCode": response_code,
        }
        extra = _selected_items_xml(selected) if selected else ""
        xml = self._app_xml(from_user, fields, agent_id, extra)
        return await self.send_app_xml(xml)

    def _app_xml(
        self,
        from_user: str,
        fields: dict[str, Any],
        agent_id: int | None,
        extra: str = "",
    ) -> str:
        head = {
            "ToUserName": self.receive_id,
            "FromUserName": from_user,
            "CreateTime": int(self._clock()),
        }
        agent = {"AgentID": agent_id if agent_id is not None else self.agent_id}
        items = "".join(_xml_field(k, v) for k, v in (head | fields | agent).items())
        return f"<xml>{items}{extra}</xml>"

    async def send_app_xml(
        self, plaintext: str, agent_id: int | None = None
    ) -> Delivery:
        """Encrypt, sign and POST an app message; retry like WeCom."""
        encrypt = self.crypto.seal(plaintext, self.receive_id)
        agent = agent_id if agent_id is not None else self.agent_id
        body = (
            f"<xml><ToUserName>{_cdata(self.receive_id)}</ToUserName>"
            f"<Encrypt>{_cdata(encrypt)}</Encrypt>"
            f"<AgentID>{_cdata(str(agent))}</AgentID></xml>"
        )
        timestamp, nonce = self._timestamp(), _nonce()
        params = self._signed_params(timestamp, nonce, encrypt)
        delivery = Delivery(plaintext)
        await self._post(delivery, params, body.encode("utf-8"), self.attempts)
        if delivery.raw_reply.strip():
            self._open_xml_reply(delivery)
        return delivery

    def _open_xml_reply(self, delivery: Delivery) -> None:
        try:
            envelope = xmltodict.parse(delivery.raw_reply)["xml"]
            delivery.reply = self.crypto.open_signed(
                envelope["Encrypt"],
                envelope["MsgSignature"],
                str(envelope["TimeStamp"]),
                envelope["Nonce"],
                self.receive_id,
            )
        except (CallbackCryptoError, KeyError, TypeError, ValueError) as exc:
            delivery.reply_error = str(exc) or type(exc).__name__

    # -- AI bot (JSON) ---------------------------------------------------

    async def aibot_text(
        self,
        from_user: str,
        content: str,
        chatid: str | None = None,
        chattype: str = "single",
        msgid: str | None = None,
        response_url: str = "",
    ) -> Delivery:
        """A text message (/100719); in groups `content` carries the @mention."""
        message = self._aibot_head(from_user, chatid, chattype, msgid, response_url)
        message |= {"msgtype": "text", "text": {"content": content}}
        return await self.send_aibot_json(message, retry=True)

    async def aibot_card_click(
        self,
        from_user: str,
        task_id: str,
        event_key: str,
        chatid: str | None = None,
        chattype: str = "single",
        response_url: str = "",
        card_type: str = "button_interaction",
        selected: dict[str, list[str]] | None = None,
        msgid: str | None = None,
    ) -> Delivery:
        """A ``template_card_event`` (/101027); sent once, never retried."""
        event: dict[str, Any] = {
            "card_type": card_type,
            "event_key": event_key,
            "task_id": task_id,
        }
        if selected:
            event["selected_items"] = {
                "selected_item": [
                    {"question_key": key, "option_ids": {"option_id": list(ids)}}
                    for key, ids in selected.items()
                ]
            }
        message = self._aibot_head(from_user, chatid, chattype, msgid, response_url)
        message |= {
            "create_time": int(self._clock()),
            "msgtype": "event",
            "event": {"eventtype": "template_card_event", "template_card_event": event},
        }
        return await self.send_aibot_json(message, retry=False)

    def _aibot_head(
        self,
        from_user: str,
        chatid: str | None,
        chattype: str,
        msgid: str | None,
        response_url: str,
    ) -> dict[str, Any]:
        head: dict[str, Any] = {
            "msgid": msgid or secrets.token_urlsafe(18),
            "aibotid": self.aibot_id,
        }
        if chatid is not None:
            head["chatid"] = chatid
        head |= {
            "chattype": chattype,
            "from": {"userid": from_user},
            "response_url": response_url,
        }
        return head

    async def send_aibot_json(self, message: dict[str, Any], retry: bool) -> Delivery:
        """Encrypt (receive id "") and POST; `retry` only for user messages."""
        plaintext = json.dumps(message, ensure_ascii=False)
        encrypt = self.crypto.seal(plaintext, AIBOT_RECEIVE_ID)
        timestamp, nonce = self._timestamp(), _nonce()
        params = self._signed_params(timestamp, nonce, encrypt)
        body = json.dumps({"encrypt": encrypt}).encode("utf-8")
        delivery = Delivery(plaintext)
        await self._post(delivery, params, body, self.attempts if retry else 1)
        if delivery.raw_reply.strip():
            self._open_json_reply(delivery)
        return delivery

    def _open_json_reply(self, delivery: Delivery) -> None:
        try:
            envelope = json.loads(delivery.raw_reply)
            plaintext = self.crypto.open_signed(
                envelope["encrypt"],
                envelope["msgsignature"],
                str(envelope["timestamp"]),
                str(envelope["nonce"]),
                AIBOT_RECEIVE_ID,
            )
            delivery.reply = json.loads(plaintext)
        except (CallbackCryptoError, KeyError, TypeError, ValueError) as exc:
            delivery.reply_error = str(exc) or type(exc).__name__

    # -- broken requests -------------------------------------------------

    async def forge(
        self, kind: str, plaintext: str | None = None, age_s: int = 3600
    ) -> Delivery:
        """Send one request a bot must refuse; never retried.

        Args:
            kind: ``bad_signature`` (valid body, wrong msg_signature),
                ``stale_timestamp`` (correctly signed, `age_s` seconds old) or
                ``garbage_body`` (not an envelope at all).
            plaintext: the app message XML to wrap (a text from "forger").
        """
        if kind not in FORGERIES:
            raise ValueError(f"kind must be one of {FORGERIES}, not {kind!r}")
        plaintext = plaintext or self._app_xml(
            "forger", {"MsgType": "text", "Content": "forged", "MsgId": 1}, None
        )
        encrypt = self.crypto.seal(plaintext, self.receive_id)
        timestamp, nonce = self._timestamp(), _nonce()
        if kind == "stale_timestamp":
            timestamp = str(int(self._clock()) - age_s)
        params = self._signed_params(timestamp, nonce, encrypt)
        body = (
            f"<xml><ToUserName>{_cdata(self.receive_id)}</ToUserName>"
            f"<Encrypt>{_cdata(encrypt)}</Encrypt></xml>"
        ).encode()
        if kind == "bad_signature":
            params["msg_signature"] = "0" * 40
        elif kind == "garbage_body":
            body = b"\x00not xml at all <xml"
        delivery = Delivery(plaintext)
        await self._post(delivery, params, body, 1)
        return delivery

    # -- transport -------------------------------------------------------

    def _signed_params(
        self, timestamp: str, nonce: str, encrypt: str
    ) -> dict[str, str]:
        return {
            "msg_signature": self.crypto.sign(timestamp, nonce, encrypt),
            "timestamp": timestamp,
            "nonce": nonce,
        }

    async def _post(
        self, delivery: Delivery, params: dict[str, str], body: bytes, attempts: int
    ) -> None:
        """POST until HTTP 200 or `attempts` run out; record each attempt."""
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            for attempt in range(1, attempts + 1):
                started = time.monotonic()
                status: int | None = None
                try:
                    answer = await client.post(self.url, params=params, content=body)
                    status = answer.status_code
                    delivery.raw_reply = answer.text
                except httpx.TransportError as exc:
                    logger.debug(
                        "callback attempt failed attempt=%d error=%r", attempt, exc
                    )
                delivery.statuses.append(status)
                delivery.elapsed.append(time.monotonic() - started)
                if status == 200:
                    return
                delivery.raw_reply = ""
        logger.info(
            "callback undelivered url=%s attempts=%d last_status=%s",
            self.url,
            attempts,
            delivery.statuses[-1],
        )


def _nonce() -> str:
    return str(secrets.randbelow(10**10))


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_field(name: str, value: object) -> str:
    # Numbers go bare, text in CDATA, as WeCom's own callbacks do.
    inner = str(value) if isinstance(value, int) else _cdata(str(value))
    return f"<{name}>{inner}</{name}>"


def _selected_items_xml(selected: dict[str, list[str]]) -> str:
    items = "".join(
        "<SelectedItem>"
        f"<QuestionKey>{_cdata(key)}</QuestionKey><OptionIds>"
        + "".join(f"<OptionId>{_cdata(option)}</OptionId>" for option in options)
        + "</OptionIds></SelectedItem>"
        for key, options in selected.items()
    )
    return f"<SelectedItems>{items}</SelectedItems>"


__all__ = [
    "CallbackCrypto",
    "CallbackCryptoError",
    "CallbackDriver",
    "Delivery",
    "Verification",
]
