"""Build the channels the settings ask for, start them, and stop them again.

Which channels exist follows the configuration and the secrets in the
environment: the AI bot (long connection, or callback URL), the self-built app
(members and its group chats), group robots, and the console. The callback server
starts only when a channel receives through it. Replies to app messages go through
the outbox like every other message, so rate limits and retries apply to them too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.channels.aibot_callback import AiBotCallback
from bot.channels.aibot_ws import AiBotWsChannel
from bot.channels.app import AppChannel
from bot.channels.app_inbound import AppInbound, SendReply, UpdateCards
from bot.channels.webhook import WebhookChannel
from bot.models import OutboxMessage
from bot.server import CallbackServer
from bot.wecom.api import WeComClient

if TYPE_CHECKING:
    from bot.channels.base import Channel, InboundHandler
    from bot.config import Settings
    from bot.outbox import Outbox
    from bot.server import CallbackChannel

logger = logging.getLogger(__name__)


@dataclass
class ChannelSet:
    """The running channels by name, and the callback server if one is needed."""

    channels: dict[str, Channel] = field(default_factory=dict)
    server: CallbackServer | None = None
    _aibot_callback: AiBotCallback | None = None
    _app_client: WeComClient | None = None

    async def stop(self) -> None:
        """Stop receiving first, then close the senders."""
        if self.server is not None:
            await self.server.stop()
        if self._aibot_callback is not None:
            await self._aibot_callback.aclose()
        for channel in self.channels.values():
            await channel.stop()
        if self._app_client is not None:
            await self._app_client.aclose()


async def start_channels(
    settings: Settings,
    handler: InboundHandler,
    outbox: Outbox,
    extra: dict[str, Channel] | None = None,
) -> ChannelSet:
    """Start every configured channel (plus `extra`, e.g. the console)."""
    found = ChannelSet(channels=dict(extra or {}))
    receivers: dict[str, CallbackChannel] = {}

    if settings.has_wecom_app:
        app = AppChannel.from_settings(settings, "app")
        found._app_client = app.client  # shared by app and appchat; closed by us
        found.channels["app"] = app
        found.channels["appchat"] = AppChannel(app.client, "appchat")
        if settings.secrets.app_token and settings.secrets.app_aes_key:
            receivers["app"] = AppInbound(
                handler, _reply_through(outbox), _card_updates_through(outbox)
            )
    if settings.wecom.webhooks:
        found.channels["webhook"] = WebhookChannel.from_settings(settings)
    if settings.has_aibot and settings.wecom.aibot.mode == "ws":
        aibot = AiBotWsChannel(
            settings.wecom.aibot, settings.secrets.aibot_secret, late=outbox.enqueue
        )
        await aibot.start(handler)
        found.channels["aibot"] = aibot
    elif settings.has_aibot:
        found._aibot_callback = AiBotCallback(handler, late=outbox.enqueue)
        receivers["aibot"] = found._aibot_callback
        reply = found._aibot_callback.reply_channel
        found.channels[reply.name] = reply

    if receivers:
        found.server = CallbackServer(settings, receivers)
        await found.server.start()
        logger.info(
            "callback server listening host=%s port=%d routes=%s",
            settings.server.host,
            found.server.port,
            ",".join(found.server.paths),
        )
    logger.info("channels started names=%s", ",".join(sorted(found.channels)))
    return found


def alert_chats(settings: Settings) -> list[tuple[str, str]]:
    """Where admin alerts go when the app cannot carry them: the office chat, then
    the section chats, as (channel, chat), each on the channel that serves it."""
    texts = [settings.office.chat, *(s.chat for s in settings.sections)]
    found: list[tuple[str, str]] = []
    for text in texts:
        if not text.strip():
            continue
        try:
            address = settings.chat(text)
        except ValueError:
            continue
        route = (address.channel, address.id)
        if address.id and route not in found:
            found.append(route)
    return found


def _card_updates_through(outbox: Outbox) -> UpdateCards:
    def update_cards(response_code: str, card: dict[str, Any]) -> None:
        body = {"response_code": response_code, "atall": 1, "template_card": card}
        outbox.enqueue([OutboxMessage("app", "", "card_update", body)])

    return update_cards


def _reply_through(outbox: Outbox) -> SendReply:
    async def send_reply(userid: str, text: str) -> None:
        outbox.enqueue(
            [
                OutboxMessage(
                    channel="app", chat=userid, kind="text", body={"text": text}
                )
            ]
        )

    return send_reply
