"""The AI bot (智能机器人) in callback mode: chat lines in, passive replies out.

WeCom waits 5 s for the answer to a callback, and the answer is the reply
(https://developer.work.weixin.qq.com/document/path/101031):

- a message (text, in groups with the @mention) is answered with a one-shot
  ``stream`` (``finish: true``) carrying the dispatcher's reply. When the
  dispatcher needs longer than `reply_wait_s`, a placeholder stream goes back
  instead and the final reply is POSTed, as markdown, to the message's
  ``response_url`` (usable once, for an hour —
  https://developer.work.weixin.qq.com/document/path/101138);
- a card button click (``template_card_event``) is answered with
  ``response_type: update_template_card``: the card greyed, showing the reply
  and who clicked, for the whole chat when the command did what the button asked
  (``Reply.card_title``), else only for the clicker. WeCom sends a click only
  once and drops it when unanswered in 5 s ("企业微信服务只会发起一次请求",
  https://developer.work.weixin.qq.com/document/path/101027), so the command is
  dispatched before answering; a slow one still completes and its reply goes to
  ``response_url``;
- a stream refresh is answered with the stream's final state.

A late reply whose POST to ``response_url`` fails (network, HTTP 5xx, busy) is
not dropped: it is handed to the outbox as an ``aibot_reply`` message, which
`ResponseUrlChannel` retries with the outbox's backoff until it is delivered or
the hour of ``response_url`` is over (then the outbox gives it up and logs why).

Events other than messages and command buttons are ignored (empty answer).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from bot.cards import outcome_card
from bot.channels.base import InboundHandler, SendError
from bot.events import Inbound, Reply
from bot.models import OutboxMessage
from bot.wecom.inbound import (
    Event,
    InboundContext,
    StreamRefresh,
    Unsupported,
    to_inbound,
)

if TYPE_CHECKING:
    from bot.server import BackgroundTasks, PassiveReply

logger = logging.getLogger(__name__)

REPLY_WAIT_S = 3.0  # leaves 2 s of WeCom's 5 s for encryption and the network
TEXT_LIMIT_BYTES = 20480  # stream content and response_url markdown
REMEMBERED = 256
HTTP_TIMEOUT_S = 10.0
RESPONSE_URL_VALID_S = 3600  # D101138: usable once, within an hour
REPLY_CHANNEL = "aibot_reply"
# errcodes worth another try on response_url: busy and rate limits.
_RETRYABLE_CODES = frozenset({-1, 45009, 45033})

Late = Callable[[list[OutboxMessage]], object]

PLACEHOLDER = "收到，正在处理，结果稍后发到本群。"
PLACEHOLDER_SINGLE = "收到，正在处理，结果稍后发给你。"
FAILED = "抱歉，处理时出错了，请稍后再试。"
CARD_PENDING = "处理中，结果稍后发送"


class AiBotCallback:
    """Answers AI bot callbacks with the dispatcher's replies.

    `http` posts to response_url (one is made, and closed by `aclose`, when not
    given); `late` (the outbox's ``enqueue``) keeps a late reply whose POST failed,
    to be retried through `reply_channel`.
    """

    name = "aibot"

    def __init__(
        self,
        handler: InboundHandler,
        *,
        http: httpx.AsyncClient | None = None,
        reply_wait_s: float = REPLY_WAIT_S,
        late: Late | None = None,
    ) -> None:
        self._handler = handler
        self._late = late
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=HTTP_TIMEOUT_S)
        self._reply_wait_s = reply_wait_s
        # Passive replies by delivery key (to answer a repeated delivery the same
        # way) and final stream texts by stream id (for refresh callbacks).
        self._answers: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._streams: OrderedDict[str, str] = OrderedDict()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    @property
    def reply_channel(self) -> ResponseUrlChannel:
        """The outbox channel that retries late replies (shares our HTTP client)."""
        return ResponseUrlChannel(self._http)

    async def on_event(self, event: Event, tasks: BackgroundTasks) -> PassiveReply:
        if isinstance(event, StreamRefresh):
            return self._refresh(event)
        converted = to_inbound(event)
        if isinstance(converted, Unsupported):
            logger.info(
                "aibot event ignored msg_id=%s sender=%s type=%s event=%s why=%s",
                converted.msg_id or "-",
                converted.sender,
                converted.msg_type,
                converted.event or "-",
                converted.why,
            )
            return None
        inbound, context = converted
        work = tasks.spawn(
            self._handler(inbound),
            f"aibot-dispatch msg_id={inbound.msg_id} sender={inbound.sender}",
        )
        done, _pending = await asyncio.wait({work}, timeout=self._reply_wait_s)
        if work in done:
            reply = work.result() or Reply(FAILED)
            payload = self._answer(inbound, context, reply, finished=True)
            outcome = "answered"
        else:
            expires = time.time() + RESPONSE_URL_VALID_S
            tasks.spawn(
                self._deliver_later(work, inbound, context, expires),
                f"aibot-response-url msg_id={inbound.msg_id}",
            )
            payload = self._answer(inbound, context, None, finished=False)
            outcome = "deferred"
        _remember(self._answers, event.dedupe_key, payload)
        logger.info(
            "aibot reply msg_id=%s sender=%s chattype=%s kind=%s outcome=%s",
            inbound.msg_id,
            inbound.sender,
            context.chattype or "-",
            context.kind,
            outcome,
        )
        return payload

    async def on_duplicate(self, event: Event) -> PassiveReply:
        if isinstance(event, StreamRefresh):
            return self._refresh(event)
        return self._answers.get(event.dedupe_key)

    def _answer(
        self,
        inbound: Inbound,
        context: InboundContext,
        reply: Reply | None,
        finished: bool,
    ) -> dict[str, Any]:
        if context.kind == "card_click":
            shown = reply or Reply(CARD_PENDING, card_title="处理中")
            answer: dict[str, Any] = {
                "response_type": "update_template_card",
                "template_card": outcome_card(context.task_id, inbound.sender, shown),
            }
            if reply is None or not reply.card_for_all:
                # Refused, personal or not done yet: only the clicker's card says so.
                answer["userids"] = [inbound.sender]
            return answer
        text = reply.text if reply is not None else ""
        if not finished:
            text = PLACEHOLDER if context.chattype == "group" else PLACEHOLDER_SINGLE
        stream_id = secrets.token_hex(8)
        content = _clip_bytes(text, TEXT_LIMIT_BYTES)
        _remember(self._streams, stream_id, content)
        return {
            "msgtype": "stream",
            "stream": {"id": stream_id, "finish": True, "content": content},
        }

    def _refresh(self, event: StreamRefresh) -> PassiveReply:
        content = self._streams.get(event.stream_id)
        if content is None:
            logger.info(
                "aibot stream refresh for unknown stream msg_id=%s sender=%s",
                event.msg_id or "-",
                event.sender,
            )
            return None
        return {
            "msgtype": "stream",
            "stream": {"id": event.stream_id, "finish": True, "content": content},
        }

    async def _deliver_later(
        self,
        work: asyncio.Task[Reply | None],
        inbound: Inbound,
        context: InboundContext,
        expires: float,
    ) -> None:
        reply = await work
        text = reply.text if reply is not None else FAILED
        if not context.response_url:
            logger.warning(
                "aibot late reply dropped reason=no_response_url msg_id=%s sender=%s",
                inbound.msg_id,
                inbound.sender,
            )
            return
        content = _clip_bytes(text, TEXT_LIMIT_BYTES)
        try:
            await post_response(self._http, context.response_url, content)
        except SendError as exc:
            self._keep_late(inbound, content, context.response_url, expires, exc)
            return
        logger.info(
            "aibot late reply sent msg_id=%s sender=%s kind=%s",
            inbound.msg_id,
            inbound.sender,
            context.kind,
        )

    def _keep_late(
        self,
        inbound: Inbound,
        content: str,
        url: str,
        expires: float,
        error: SendError,
    ) -> None:
        if self._late is None or not error.retryable:
            logger.warning(
                "aibot late reply failed msg_id=%s sender=%s code=%s kept=no",
                inbound.msg_id,
                inbound.sender,
                error.code,
            )
            return
        message = OutboxMessage(
            channel=REPLY_CHANNEL,
            chat=inbound.chat or inbound.sender,
            kind="response_url",
            body={"text": content, "url": url, "expires_at": expires},
        )
        self._late([message])
        logger.warning(
            "aibot late reply failed, kept in outbox msg_id=%s sender=%s code=%s",
            inbound.msg_id,
            inbound.sender,
            error.code,
        )


class ResponseUrlChannel:
    """Outbox channel ``aibot_reply``: POST a kept late reply to its response_url.

    ``body["url"]`` is the response_url (never logged), ``body["text"]`` the
    markdown, ``body["expires_at"]`` (epoch seconds) the end of its hour: after
    that WeCom no longer takes it, so the message is given up, not retried.
    """

    name = REPLY_CHANNEL
    text_limit = TEXT_LIMIT_BYTES
    rate: tuple[int, float] | None = None

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def send(self, message: OutboxMessage) -> None:
        expires = float(message.body.get("expires_at", 0) or 0)
        if expires and time.time() > expires:
            raise SendError(
                "智能机器人的 response_url 已超过 1 小时有效期，无法再补发这条回复",
                retryable=False,
            )
        await post_response(
            self._http, str(message.body.get("url", "")), str(message.body["text"])
        )
        logger.info("aibot late reply sent from outbox id=%s", message.id)

    async def start(self, on_inbound: InboundHandler) -> None:
        """Nothing to start: callbacks arrive through the callback server."""

    async def stop(self) -> None:
        """Nothing to stop: the HTTP client belongs to `AiBotCallback`."""


async def post_response(http: httpx.AsyncClient, url: str, content: str) -> None:
    """POST markdown to a response_url; a `SendError` when WeCom did not take it."""
    body = {"msgtype": "markdown", "markdown": {"content": content}}
    try:
        response = await http.post(url, json=body)
    except httpx.HTTPError as exc:
        raise SendError(
            f"无法连接企业微信（{type(exc).__name__}），稍后自动重试", retryable=True
        ) from None
    if response.status_code != 200:
        raise SendError(
            f"企业微信返回 HTTP {response.status_code}",
            retryable=response.status_code >= 500 or response.status_code == 429,
        )
    errcode = _errcode(response)
    if errcode != 0:
        raise SendError(
            f"企业微信拒绝了这条回复（错误码 {errcode}）",
            retryable=errcode in _RETRYABLE_CODES,
            code=errcode,
        )


def _errcode(response: httpx.Response) -> int | None:
    try:
        data = response.json()
    except ValueError:
        return None
    code = data.get("errcode") if isinstance(data, dict) else None
    return code if isinstance(code, int) else None


def _remember(store: OrderedDict[str, Any], key: str, value: Any) -> None:
    store[key] = value
    store.move_to_end(key)
    while len(store) > REMEMBERED:
        store.popitem(last=False)


def _clip_bytes(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"
