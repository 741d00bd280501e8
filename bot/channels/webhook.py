"""Group robots (群机器人): post to a group through its webhook.

``message.chat`` is the robot's name from ``[[wecom.webhooks]]``; its key comes from
the environment (``WECOM_WEBHOOK_KEY_<NAME>``) and is never logged. Kinds:
``markdown`` (up to 4096 bytes), ``text`` (``<@userid>`` mentions become the
``mentioned_list``), ``card`` (text_notice/news_notice template cards, else the
fallback ``body["text"]`` as markdown), ``textcard`` (as markdown with its link) and
``file`` (uploaded first). WeCom lets a
robot post 20 messages a minute.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.channels.app import read_file, textcard_markdown
from bot.channels.base import InboundHandler, SendError
from bot.config_wecom import WEBHOOK_KEY_PREFIX
from bot.models import OutboxMessage
from bot.wecom.api import WebhookClient

if TYPE_CHECKING:
    import httpx

    from bot.config import Settings

logger = logging.getLogger(__name__)

MARKDOWN_LIMIT = 4096
RATE = (20, 60.0)
_MENTION = re.compile(r"<@([^>]+)>")
_ROBOT_CARDS = ("text_notice", "news_notice")


class WebhookChannel:
    """Send outbox messages through the group robot named by ``message.chat``."""

    name = "webhook"
    text_limit = MARKDOWN_LIMIT
    rate: tuple[int, float] | None = RATE

    def __init__(
        self,
        webhook_base: str,
        key_for: Callable[[str], str],
        *,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._base = webhook_base
        self._key_for = key_for
        self._http = http
        self._clients: dict[str, WebhookClient] = {}

    @classmethod
    def from_settings(
        cls, settings: Settings, *, http: httpx.AsyncClient | None = None
    ) -> WebhookChannel:
        return cls(settings.wecom.webhook_base, settings.secrets.webhook_key, http=http)

    async def send(self, message: OutboxMessage) -> None:
        client = self._client(message.chat)
        body = await self._content(message, client)
        await client.send(body)
        logger.info(
            "wecom webhook message sent robot=%s id=%s kind=%s",
            message.chat,
            message.id,
            message.kind,
        )

    async def start(self, on_inbound: InboundHandler) -> None:
        """Nothing to start: group robots only send."""

    async def stop(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def _client(self, robot: str) -> WebhookClient:
        client = self._clients.get(robot)
        if client is not None:
            return client
        key = self._key_for(robot)
        if not key:
            raise SendError(
                f"群机器人 {robot} 没有设置密钥：请把机器人 Webhook 地址中 key= 后面的"
                f"部分设为环境变量 {WEBHOOK_KEY_PREFIX}{robot.upper()}，然后重启机器人",
                retryable=False,
                config_problem=True,
            )
        client = WebhookClient(self._base, key, http=self._http)
        self._clients[robot] = client
        return client

    async def _content(
        self, message: OutboxMessage, client: WebhookClient
    ) -> dict[str, Any]:
        kind = message.kind
        text = str(message.body.get("text", "")).strip()
        if kind == "card":
            card = message.body.get("template_card")
            if isinstance(card, dict) and card.get("card_type") in _ROBOT_CARDS:
                return {"msgtype": "template_card", "template_card": card}
            kind = "markdown"
        if kind == "textcard":
            # Robots have no textcard: the same title, text and link as markdown.
            text, kind = textcard_markdown(message), "markdown"
        if kind == "markdown":
            if not text:
                raise SendError("消息内容为空，无法发送", retryable=False)
            return {"msgtype": "markdown", "markdown": {"content": text}}
        if kind == "text":
            return _text_body(text, message.body.get("mentions"))
        if kind == "file":
            filename, data = read_file(message)
            media_id = await client.upload_media("file", filename, data)
            return {"msgtype": "file", "file": {"media_id": media_id}}
        raise SendError(f"不支持的消息类型 {kind}", retryable=False)


def _text_body(text: str, extra: object) -> dict[str, Any]:
    """A text body: ``<@userid>`` marks move to ``mentioned_list`` (WeCom appends
    the @names itself), plus any ids listed in ``body["mentions"]``."""
    mentioned: list[str] = []
    for userid in _MENTION.findall(text):
        if userid not in mentioned:
            mentioned.append(userid)
    if isinstance(extra, list | tuple):
        mentioned += [str(u) for u in extra if str(u) not in mentioned]
    content = re.sub(r"[ \t]+\n", "\n", _MENTION.sub("", text)).strip()
    if not content and not mentioned:
        raise SendError("消息内容为空，无法发送", retryable=False)
    body: dict[str, Any] = {"content": content}
    if mentioned:
        body["mentioned_list"] = mentioned
    return {"msgtype": "text", "text": body}
