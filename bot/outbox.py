"""The outbox: every outbound message is stored first, then delivered.

`enqueue` writes messages to the store; `deliver` sends what is pending, oldest
first, through the current channel and marks each one sent only after the channel
accepted it, so a crash or an outage leaves it queued for the next round.
Rate limits, retries with backoff and WeCom's error codes arrive with the WeCom
channels.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.models import OutboxMessage
from bot.store import Store

logger = logging.getLogger(__name__)


class Poster(Protocol):
    """A channel's way to post one markdown message to one chat."""

    async def post(self, chat: str, text: str) -> None: ...


class Outbox:
    """Queue and deliver outbound messages."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    def enqueue(self, messages: list[OutboxMessage]) -> list[OutboxMessage]:
        return [self._store.outbox.enqueue(m) for m in messages]

    def pending(self) -> list[OutboxMessage]:
        return self._store.outbox.pending()

    async def deliver(self, poster: Poster) -> int:
        """Send pending messages in order; stop at the first failure. Return sent."""
        sent = 0
        for message in self._store.outbox.pending():
            try:
                await poster.post(message.chat, str(message.body.get("text", "")))
            except Exception as exc:
                # TODO(#4): classify WeCom errors, back off and alert admins.
                self._store.outbox.mark_failed(message.id, str(exc))
                logger.warning(
                    "outbox delivery failed id=%s chat=%s attempts=%d error=%s",
                    message.id,
                    message.chat,
                    message.attempts + 1,
                    type(exc).__name__,
                )
                break
            self._store.outbox.mark_sent(message.id, self._clock())
            sent += 1
        if sent:
            logger.info("outbox delivered count=%d", sent)
        return sent
