"""The contract every channel keeps: deliver one stored message, say why it could not.

A channel sends `OutboxMessage`s to one kind of chat (``aibot``, ``appchat``, ``app``,
``webhook``, ``console``) and may also receive chat lines, which it hands to the
dispatcher as `bot.events.Inbound`. Storing, ordering, rate limits, splitting and
retries are the outbox's job (`bot.outbox`), not the channel's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.errors import BotError
from bot.events import Inbound, Reply
from bot.models import OutboxMessage

# Answers one inbound chat line (the dispatcher's `handle`).
InboundHandler = Callable[[Inbound], Awaitable[Reply]]


class SendError(BotError):
    """A channel could not deliver a message.

    `retryable`: a later attempt may work (busy, rate limited, network, 5xx);
    `retry_after`: seconds to wait at least (0: the outbox's own backoff);
    `config_problem`: an operator must fix something (secret, IP allow-list,
    recipients), so admins are alerted; `code` is WeCom's errcode when there is one.
    `reason` is Chinese, for operators.
    """

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float = 0.0,
        config_problem: bool = False,
        code: int | None = None,
    ) -> None:
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.config_problem = config_problem
        self.code = code
        super().__init__(reason)


class Channel(Protocol):
    """One way of reaching chats.

    `text_limit`: the most UTF-8 bytes one markdown message may carry (the outbox
    splits longer text at line boundaries); `rate`: at most `rate[0]` messages per
    `rate[1]` seconds to one chat, or None for no limit.
    """

    name: str
    text_limit: int
    rate: tuple[int, float] | None

    async def send(self, message: OutboxMessage) -> None:
        """Deliver `message` to `message.chat`; raise `SendError` when it fails."""
        ...

    async def start(self, on_inbound: InboundHandler) -> None:
        """Begin receiving (if this channel receives at all)."""
        ...

    async def stop(self) -> None: ...
