"""The outbox: every outbound message is stored first, then delivered.

`enqueue` stores messages, splitting text longer than the target channel allows
(UTF-8 bytes) at line boundaries into several stored messages, so a part that went
out is never sent again when a later part fails. `deliver` is one round over what
is pending, oldest first, through the channel each message names; `run` repeats
rounds every second, or at once when something is enqueued.

Rules of a round:

- a message is marked sent only after its channel accepted it, so a crash or an
  outage leaves it queued, and a new `Outbox` on the same store resumes it;
- per chat, order is kept: while a message waits for a retry, later messages to
  the same chat wait too; other chats go on;
- per chat, at most ``channel.rate`` messages go out in a sliding window; the
  rest wait for the window, none is dropped;
- a retryable failure (`SendError.retryable`) sets ``not_before`` with exponential
  backoff and jitter (1 s doubling up to 5 min; WeCom's ``retry_after`` wins);
- a message WeCom will never take as it is is given up (``last_error`` says why)
  and logged as an ERROR;
- a configuration problem (secret, trusted IP, robot key, missing channel) keeps
  the chat's messages queued, re-checked every 5 minutes, logs one ERROR and queues
  one Chinese alert to the admins through another channel, per (channel, error).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.channels.base import Channel, SendError
from bot.models import OutboxMessage
from bot.store import Store

logger = logging.getLogger(__name__)

# The most UTF-8 bytes of one markdown message per channel, when the channels are
# not known yet (`limits` overrides; `deliver` learns each channel's `text_limit`).
DEFAULT_LIMITS: dict[str, int] = {
    "aibot": 20480,
    "app": 2048,
    "appchat": 2048,
    "webhook": 4096,
    "console": 1_000_000,
}
FALLBACK_LIMIT = 2048
# WeCom's plain text messages carry at most 2048 bytes on every channel.
TEXT_KIND_LIMIT = 2048
SPLIT_KINDS = ("markdown", "text")

BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 300.0
CONFIG_RECHECK_S = 300.0
TICK_S = 1.0
CONCURRENCY = 8

# Config problems that break every chat of the app (the token, the app itself, the
# server's IP), as opposed to one chat's recipients or one robot's key.
_CLIENT_WIDE = frozenset({40001, 40013, 40091, 40056, 301002, 48002, 50003, 60020})
_APP_FAMILY = frozenset({"app", "appchat"})

ChatKey = tuple[str, str]


class Poster(Protocol):
    """The old single-channel way to post one markdown message to one chat."""

    async def post(self, chat: str, text: str) -> None: ...


def split_text(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit` UTF-8 bytes, cut between lines (a line
    longer than `limit` is cut between characters); blank parts are dropped."""
    if len(text.encode("utf-8")) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    size = 0
    for line in text.splitlines(keepends=True):
        pieces = [line] if len(line.encode("utf-8")) <= limit else _cut(line, limit)
        for piece in pieces:
            width = len(piece.encode("utf-8"))
            if size + width > limit and current:
                parts.append(current)
                current, size = "", 0
            current += piece
            size += width
    parts.append(current)
    return [p.strip("\n") for p in parts if p.strip()]


def _cut(line: str, limit: int) -> list[str]:
    pieces: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
        current += char
        size += width
    if current:
        pieces.append(current)
    return pieces


class Outbox:
    """Queue and deliver outbound messages.

    `limits`: most UTF-8 bytes per message by channel name (defaults to WeCom's);
    `admins`: user ids alerted (through the ``app`` channel, else the console) when
    a channel has a configuration problem; `rng` (0..1) jitters the backoff.
    """

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        *,
        limits: Mapping[str, int] | None = None,
        admins: Sequence[str] = (),
        rng: Callable[[], float] = random.random,
        tick: float = TICK_S,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._store = store
        self._clock = clock
        self._limits = {**DEFAULT_LIMITS, **(limits or {})}
        self._admins = tuple(admins)
        self._rng = rng
        self._tick = tick
        self._concurrency = concurrency
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._windows: dict[ChatKey, deque[datetime]] = {}
        self._parked: dict[ChatKey, datetime] = {}
        self._reported: set[tuple[str, object]] = set()
        self._broken: set[str] = set()

    # -- queueing ---------------------------------------------------------------

    def enqueue(self, messages: list[OutboxMessage]) -> list[OutboxMessage]:
        """Store `messages` (long text split in parts, in order); the stored ones."""
        stored = [
            self._store.outbox.enqueue(part)
            for message in messages
            for part in self._split(message)
        ]
        if stored:
            self._wake.set()
        return stored

    def pending(self) -> list[OutboxMessage]:
        """Messages still to send, oldest first (given-up ones are not)."""
        return self._store.outbox.pending()

    def wake(self) -> None:
        """Start the next round of `run` now."""
        self._wake.set()

    def limit(self, channel: str, kind: str) -> int:
        """The most UTF-8 bytes a `kind` message may carry on `channel`."""
        limit = self._limits.get(channel, FALLBACK_LIMIT)
        if kind == "text" and channel != "console":
            limit = min(limit, TEXT_KIND_LIMIT)
        return limit

    def _split(self, message: OutboxMessage) -> list[OutboxMessage]:
        created = message.created_at or self._clock()
        text = message.body.get("text")
        if message.kind not in SPLIT_KINDS or not isinstance(text, str):
            return [replace(message, created_at=created)]
        parts = split_text(text, self.limit(message.channel, message.kind))
        return [
            replace(message, created_at=created, body={**message.body, "text": part})
            for part in parts or [text]
        ]

    # -- delivery ---------------------------------------------------------------

    async def run(
        self, channels: Mapping[str, Channel], stop_event: asyncio.Event
    ) -> None:
        """Deliver rounds until `stop_event` is set: every tick, or when woken."""
        while not stop_event.is_set():
            self._wake.clear()
            try:
                await self.deliver(channels)
            except Exception:
                # One bad round (e.g. the store) must not stop later deliveries.
                logger.exception("outbox round failed")
            waits = [
                asyncio.ensure_future(self._wake.wait()),
                asyncio.ensure_future(stop_event.wait()),
            ]
            try:
                await asyncio.wait(
                    waits, timeout=self._tick, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in waits:
                    waiter.cancel()

    async def deliver(self, channels: Mapping[str, Channel] | Poster) -> int:
        """One round over the pending messages; the number delivered.

        `channels` maps channel names to channels. (A single `Poster` is still
        accepted for the console-only wiring: every message goes to its `post`.)
        """
        async with self._lock:
            if not isinstance(channels, Mapping):
                return await self._deliver_to_poster(channels)
            for name, channel in channels.items():
                self._limits[name] = channel.text_limit
            queues: dict[ChatKey, list[OutboxMessage]] = {}
            for message in self._store.outbox.pending():
                queues.setdefault((message.channel, message.chat), []).append(message)
            gate = asyncio.Semaphore(self._concurrency)
            counts = await asyncio.gather(
                *(
                    self._drain(key, queue, channels, gate)
                    for key, queue in queues.items()
                )
            )
        sent = sum(counts)
        if sent:
            logger.info("outbox delivered count=%d", sent)
        return sent

    async def _drain(
        self,
        key: ChatKey,
        queue: list[OutboxMessage],
        channels: Mapping[str, Channel],
        gate: asyncio.Semaphore,
    ) -> int:
        """Send one chat's messages in order until one has to wait."""
        channel = channels.get(key[0])
        if channel is None:
            self._missing_channel(key[0], channels)
            return 0
        parked = self._parked.get(key)
        if parked is not None and self._clock() < parked:
            return 0
        sent = 0
        async with gate:
            for message in queue:
                now = self._clock()
                if message.not_before is not None and now < message.not_before:
                    break
                if not self._window_open(key, channel.rate, now):
                    break
                try:
                    await channel.send(message)
                except SendError as exc:
                    if self._failed(message, exc, channels):
                        continue
                    break
                except Exception as exc:
                    logger.exception(
                        "outbox channel raised unexpectedly channel=%s id=%s",
                        key[0],
                        message.id,
                    )
                    error = SendError(
                        f"发送时出现意外错误（{type(exc).__name__}），稍后自动重试",
                        retryable=True,
                    )
                    self._failed(message, error, channels)
                    break
                self._store.outbox.mark_sent(message.id, self._clock())
                self._parked.pop(key, None)
                self._broken.discard(key[0])
                sent += 1
        return sent

    def _window_open(
        self, key: ChatKey, rate: tuple[int, float] | None, now: datetime
    ) -> bool:
        """Whether one more message fits the chat's window (and count it if so)."""
        if rate is None:
            return True
        most, seconds = rate
        window = self._windows.setdefault(key, deque())
        start = now - timedelta(seconds=seconds)
        while window and window[0] <= start:
            window.popleft()
        if len(window) >= most:
            return False
        window.append(now)
        return True

    def _failed(
        self,
        message: OutboxMessage,
        error: SendError,
        channels: Mapping[str, Channel],
    ) -> bool:
        """Record a failed send; True when the chat may go on with its next message."""
        now = self._clock()
        key = (message.channel, message.chat)
        if error.config_problem:
            self._parked[key] = now + timedelta(seconds=CONFIG_RECHECK_S)
            self._store.outbox.mark_failed(message.id, error.reason)
            if error.code in _CLIENT_WIDE:
                self._broken.add(message.channel)
            self._config_problem(message.channel, error.code, error.reason, channels)
            return False
        if error.retryable:
            delay = self._backoff(message.attempts, error.retry_after)
            self._store.outbox.mark_failed(
                message.id, error.reason, now + timedelta(seconds=delay)
            )
            logger.warning(
                "outbox send failed, will retry channel=%s id=%s attempts=%d "
                "code=%s retry_in_s=%.1f",
                message.channel,
                message.id,
                message.attempts + 1,
                error.code,
                delay,
            )
            return False
        self._store.outbox.give_up(message.id, f"已放弃发送：{error.reason}", now)
        logger.error(
            "outbox message given up channel=%s chat=%s id=%s code=%s reason=%s",
            message.channel,
            message.chat,
            message.id,
            error.code,
            error.reason,
        )
        return True

    def _backoff(self, attempts: int, retry_after: float) -> float:
        base = min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** min(attempts, 16))
        delay = base * (0.5 + 0.5 * self._rng())
        return max(delay, retry_after)

    def _config_problem(
        self,
        channel: str,
        code: int | None,
        reason: str,
        channels: Mapping[str, Channel],
    ) -> None:
        # One alert for the app's token or IP, whether app or appchat hit it.
        family = "app" if channel in _APP_FAMILY and code in _CLIENT_WIDE else channel
        mark = (family, code if code is not None else reason)
        if mark in self._reported:
            logger.debug("outbox config problem persists channel=%s", channel)
            return
        self._reported.add(mark)
        logger.error(
            "outbox channel config problem, messages kept channel=%s code=%s reason=%s",
            channel,
            code,
            reason,
        )
        self._alert(
            channel, code, f"企业微信通道 {channel} 无法发送：{reason}", channels
        )

    def _missing_channel(self, name: str, channels: Mapping[str, Channel]) -> None:
        mark = (name, "missing")
        if mark in self._reported:
            return
        self._reported.add(mark)
        logger.error("outbox channel not available, messages kept channel=%s", name)
        self._alert(
            name,
            None,
            f"有消息要经通道 {name} 发送，但该通道没有启用"
            "（例如没有设置群机器人密钥或应用 Secret）",
            channels,
        )

    def _alert(
        self,
        channel: str,
        code: int | None,
        problem: str,
        channels: Mapping[str, Channel],
    ) -> None:
        """Queue one alert for the admins through a channel other than `channel`."""
        route = self._alert_route(channel, code, channels)
        if route is None:
            logger.error(
                "outbox alert has no channel to go through channel=%s", channel
            )
            return
        text = (
            f"【机器人告警】{problem}。\n"
            "相关消息仍保留在待发队列中，问题解决并重启机器人后会自动补发。"
        )
        self.enqueue(
            [
                OutboxMessage(
                    channel=route[0],
                    chat=route[1],
                    kind="text",
                    body={"text": text},
                    created_at=self._clock(),
                )
            ]
        )
        logger.info("outbox alert queued via=%s about=%s", route[0], channel)

    def _alert_route(
        self, channel: str, code: int | None, channels: Mapping[str, Channel]
    ) -> tuple[str, str] | None:
        avoid = {channel} | self._broken
        if channel in _APP_FAMILY and code in _CLIENT_WIDE:
            avoid |= _APP_FAMILY
        if self._admins and "app" in channels and "app" not in avoid:
            return "app", "|".join(self._admins)
        if "console" in channels and "console" not in avoid:
            return "console", "管理员"
        return None

    async def _deliver_to_poster(self, poster: Poster) -> int:
        """Send everything through one poster, in order; stop at the first failure."""
        sent = 0
        for message in self._store.outbox.pending():
            try:
                await poster.post(message.chat, str(message.body.get("text", "")))
            except Exception as exc:
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
