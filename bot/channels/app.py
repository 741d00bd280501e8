"""The self-built app's sending side: private messages and the app's group chats.

Two channels share one `WeComClient`:

- ``app``: ``message.chat`` is ``"u1|u2"``; ``message/send`` to those members;
- ``appchat``: ``message.chat`` is a chatid; ``appchat/send`` to a group the app
  created.

Kinds: ``markdown`` and ``text`` (``body["text"]``), ``card`` (``body
["template_card"]``; group chats cannot show template cards, so they get the
card's fallback ``body["text"]``), ``textcard`` (``body["title"]``,
``["description"]``, ``["url"]``, optional ``["btntxt"]``: a card that opens a
link), ``file`` (``body["path"]``, shown as ``body["filename"]``; uploaded first).
Receiving app callbacks is elsewhere.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.channels.base import InboundHandler, SendError
from bot.models import OutboxMessage
from bot.wecom.api import WeComClient

if TYPE_CHECKING:
    import httpx

    from bot.config import Settings

logger = logging.getLogger(__name__)

TEXT_LIMIT = 2048
# WeCom drops (silently) more than 30 app messages a minute, or 1000 an hour, to one
# member, and more than 200 a minute to one member from the app's groups
# (https://developer.work.weixin.qq.com/document/path/90236, /90248). The outbox
# keeps the app's windows per member of ``"u1|u2"``.
APP_RATE = (30, 60.0)
APP_HOURLY_RATE = (1000, 3600.0)
APP_MEMBER_RATES = (APP_RATE, APP_HOURLY_RATE)
APPCHAT_RATE = (200, 60.0)
# An identical message/send body within this many seconds is not delivered again.
# The outbox marks a message sent only after WeCom accepted it, so a crash between
# the two makes it send the same body again after a restart: WeCom's duplicate
# check drops that second copy. Half an hour is WeCom's default; longer would also
# swallow legitimately repeated notices (the same alert twice in an afternoon).
DUPLICATE_CHECK_INTERVAL_S = 1800

_MENTION = re.compile(r"<@([^>]+)>")
# textcard limits (https://developer.work.weixin.qq.com/document/path/90236).
TEXTCARD_TITLE_BYTES = 128
TEXTCARD_DESCRIPTION_BYTES = 512
TEXTCARD_BUTTON_CHARS = 4


class AppChannel:
    """Send outbox messages as the app, to members (``app``) or groups (``appchat``)."""

    text_limit = TEXT_LIMIT

    def __init__(
        self,
        client: WeComClient,
        name: str = "app",
        *,
        duplicate_check_interval: int = DUPLICATE_CHECK_INTERVAL_S,
    ) -> None:
        if name not in ("app", "appchat"):
            raise ValueError(name)
        self.name = name
        self.rate: tuple[int, float] | None = (
            APP_RATE if name == "app" else APPCHAT_RATE
        )
        self._client = client
        self._interval = duplicate_check_interval

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        name: str = "app",
        *,
        client: WeComClient | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> AppChannel:
        """The channel for `settings`' app (share `client` between app and appchat)."""
        app = settings.wecom.app
        client = client or WeComClient(
            app.api_base,
            app.corp_id,
            app.agent_id,
            settings.secrets.app_secret,
            http=http,
        )
        return cls(client, name)

    @property
    def client(self) -> WeComClient:
        return self._client

    async def send(self, message: OutboxMessage) -> None:
        if message.kind == "card_update":
            await self._client.update_template_card(dict(message.body))
            logger.info("wecom app card updated id=%s", message.id)
            return
        body = await self._content(message)
        if self.name == "app":
            body["touser"] = message.chat
            body["enable_duplicate_check"] = 1
            body["duplicate_check_interval"] = self._interval
            await self._client.send(body)
        else:
            body["chatid"] = message.chat
            await self._client.appchat_send(body)
        logger.info(
            "wecom app message sent channel=%s id=%s kind=%s",
            self.name,
            message.id,
            message.kind,
        )

    async def start(self, on_inbound: InboundHandler) -> None:
        """Nothing to start: app callbacks are received by the callback server."""

    async def stop(self) -> None:
        """Nothing to stop; the client belongs to whoever built it."""

    async def _content(self, message: OutboxMessage) -> dict[str, Any]:
        kind = message.kind
        if kind == "card" and self.name == "app":
            card = message.body.get("template_card")
            if isinstance(card, dict) and card:
                return {"msgtype": "template_card", "template_card": card}
        if kind in ("markdown", "text", "card"):
            text = _MENTION.sub(r"@\1", str(message.body.get("text", ""))).strip()
            if not text:
                raise SendError("消息内容为空，无法发送", retryable=False)
            msgtype = "text" if kind == "text" else "markdown"
            return {"msgtype": msgtype, msgtype: {"content": text}}
        if kind == "textcard":
            return {"msgtype": "textcard", "textcard": textcard(message)}
        if kind == "file":
            filename, data = read_file(message)
            media_id = await self._client.upload_media("file", filename, data)
            return {"msgtype": "file", "file": {"media_id": media_id}}
        raise SendError(f"不支持的消息类型 {kind}", retryable=False)


def textcard(message: OutboxMessage) -> dict[str, str]:
    """The ``textcard`` part of a textcard message, clipped to WeCom's limits.

    Raises:
        SendError: no title, no description or no http(s) url (never retried).
    """
    body = message.body
    title = str(body.get("title", "")).strip()
    description = str(body.get("description", "")).strip()
    url = str(body.get("url", "")).strip()
    if not title or not description:
        raise SendError("文本卡片缺少标题或描述，无法发送", retryable=False)
    if not url.startswith(("http://", "https://")):
        raise SendError("文本卡片缺少链接（url），无法发送", retryable=False)
    card = {
        "title": clip_bytes(title, TEXTCARD_TITLE_BYTES),
        "description": clip_bytes(description, TEXTCARD_DESCRIPTION_BYTES),
        "url": url,
    }
    button = str(body.get("btntxt", "")).strip()
    if button:
        card["btntxt"] = button[:TEXTCARD_BUTTON_CHARS]
    return card


def textcard_markdown(message: OutboxMessage) -> str:
    """A textcard as markdown, for chats that cannot show one (robots, AI bot)."""
    card = textcard(message)
    description = re.sub(r"</?div[^>]*>", "", card["description"])
    button = card.get("btntxt", "详情")
    return f"**{card['title']}**\n{description}\n[{button}]({card['url']})"


def clip_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes (between characters, with …)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def read_file(message: OutboxMessage) -> tuple[str, bytes]:
    """The (display name, bytes) of a ``file`` message; a SendError if unreadable."""
    path = Path(str(message.body.get("path", "")))
    filename = str(message.body.get("filename", "") or path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SendError(
            f"要发送的文件 {filename} 无法读取（{type(exc).__name__}）",
            retryable=False,
        ) from None
    return filename, data
