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

Events other than messages and command buttons are ignored (empty answer).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import httpx

from bot.cards import outcome_card
from bot.channels.base import InboundHandler
from bot.events import Inbound, Reply
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

PLACEHOLDER = "收到，正在处理，结果稍后发到本群。"
PLACEHOLDER_SINGLE = "收到，正在处理，结果稍后发给你。"
FAILED = "抱歉，处理时出错了，请稍后再试。"
CARD_PENDING = "处理中，结果稍后发送"


class AiBotCallback:
    """Answers AI bot callbacks with the dispatcher's replies.

    `http` posts to response_url (one is made, and closed by `aclose`, when not
    given).
    """

    name = "aibot"

    def __init__(
        self,
        handler: InboundHandler,
        *,
        http: httpx.AsyncClient | None = None,
        reply_wait_s: float = REPLY_WAIT_S,
    ) -> None:
        self._handler = handler
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
            tasks.spawn(
                self._deliver_later(work, inbound, context),
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
        body = {
            "msgtype": "markdown",
            "markdown": {"content": _clip_bytes(text, TEXT_LIMIT_BYTES)},
        }
        try:
            response = await self._http.post(context.response_url, json=body)
        except httpx.HTTPError as exc:
            logger.warning(
                "aibot late reply failed msg_id=%s sender=%s error=%s",
                inbound.msg_id,
                inbound.sender,
                type(exc).__name__,
            )
            return
        errcode = _errcode(response)
        if response.status_code != 200 or errcode != 0:
            logger.warning(
                "aibot late reply refused msg_id=%s sender=%s status=%d errcode=%s",
                inbound.msg_id,
                inbound.sender,
                response.status_code,
                errcode,
            )
            return
        logger.info(
            "aibot late reply sent msg_id=%s sender=%s kind=%s",
            inbound.msg_id,
            inbound.sender,
            context.kind,
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
