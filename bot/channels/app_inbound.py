"""The receiving side of the self-built app (自建应用): chat lines in, replies out.

The callback server hands over events already checked, decrypted and
de-duplicated. Text messages, card button clicks and menu entries whose key is
``cmd:<command>`` go to the dispatcher in a background task, because WeCom wants
an answer at once and retries after 5 s
(https://developer.work.weixin.qq.com/document/path/90238: "建议开发者接受回调后
立即应答，业务异步处理"). The server therefore answers an empty 200 and the
dispatcher's reply goes out through the injected `send_reply(userid, text)`
coroutine (the REST sender of `bot.channels.app`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.cards import outcome_card
from bot.channels.base import InboundHandler, SendError
from bot.events import Inbound
from bot.wecom.inbound import Event, InboundContext, Unsupported, to_inbound

if TYPE_CHECKING:
    from bot.server import BackgroundTasks, PassiveReply

logger = logging.getLogger(__name__)

# Sends `text` to one member through the app (message/send).
SendReply = Callable[[str, str], Awaitable[None]]
# Queues message/update_template_card for every recipient: (response_code, card).
UpdateCards = Callable[[str, dict[str, Any]], None]


class AppInbound:
    """Hands app callbacks to the dispatcher and sends its replies to the sender."""

    name = "app"

    def __init__(
        self,
        handler: InboundHandler,
        send_reply: SendReply,
        update_cards: UpdateCards | None = None,
    ) -> None:
        self._handler = handler
        self._send_reply = send_reply
        self._update_cards = update_cards

    async def on_event(self, event: Event, tasks: BackgroundTasks) -> PassiveReply:
        converted = to_inbound(event)
        if isinstance(converted, Unsupported):
            logger.info(
                "app event ignored msg_id=%s sender=%s type=%s event=%s why=%s",
                converted.msg_id or "-",
                converted.sender,
                converted.msg_type,
                converted.event or "-",
                converted.why,
            )
            return None
        inbound, context = converted
        tasks.spawn(
            self._answer(inbound, context),
            f"app-reply msg_id={inbound.msg_id} sender={inbound.sender}",
        )
        return None

    async def on_duplicate(self, event: Event) -> PassiveReply:
        return None  # the first delivery is being answered already

    async def _answer(self, inbound: Inbound, context: InboundContext) -> None:
        reply = await self._handler(inbound)
        done = context.kind == "card_click" and reply.card_title and context.task_id
        if done and context.response_code and self._update_cards is not None:
            # Everyone who got this card sees the outcome and who acted.
            card = outcome_card(context.task_id, inbound.sender, reply)
            self._update_cards(context.response_code, card)
        try:
            await self._send_reply(inbound.sender, reply.text)
        except SendError as exc:
            logger.warning(
                "app reply not sent msg_id=%s sender=%s kind=%s code=%s "
                "retryable=%s reason=%s",
                inbound.msg_id,
                inbound.sender,
                context.kind,
                exc.code,
                exc.retryable,
                exc.reason,
            )
            return
        logger.info(
            "app reply sent msg_id=%s sender=%s kind=%s",
            inbound.msg_id,
            inbound.sender,
            context.kind,
        )
