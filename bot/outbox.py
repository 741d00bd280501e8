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
  one Chinese alert to the admins, per (channel, error). The alert goes to the
  admins through the app when the app works, else to the first working chat of
  `alert_chats` (the office chat first, on whatever channel serves it), else to the
  console; never through the channel (or, for one chat's problem, the chat) that
  just failed;
- WeCom silently drops app messages beyond 30 a minute and 1000 an hour to one
  member (https://developer.work.weixin.qq.com/document/path/90236), so for the
  ``app`` channel those windows are kept per member of ``"u1|u2"``, not per chat.
  The windows live in memory: right after a restart they start empty.
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

from bot.channels.app import APP_MEMBER_RATES
from bot.channels.base import Channel, SendError
from bot.models import OutboxMessage
from bot.render import Renderer
from bot.store import Store

logger = logging.getLogger(__name__)

# The most UTF-8 bytes of one markdown message per channel, when the channels are
# not known yet (`limits` overrides; `deliver` learns each channel's `text_limit`).
DEFAULT_LIMITS: dict[str, int] = {
    "aibot": 20480,
    "aibot_reply": 20480,
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
# Channels whose `rate` WeCom counts per member, with every window it keeps.
_MEMBER_RATES: dict[str, tuple[tuple[int, float], ...]] = {"app": APP_MEMBER_RATES}

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
    `admins`: user ids alerted through the ``app`` channel when a channel has a
    configuration problem; `alert_chats`: (channel, chat) pairs tried in order when
    the app cannot carry the alert (the office chat first), before the console;
    `rng` (0..1) jitters the backoff.
    """

    def __init__(
        self,
        store: Store,
        clock: Callable[[], datetime],
        *,
        limits: Mapping[str, int] | None = None,
        admins: Sequence[str] = (),
        alert_chats: Sequence[ChatKey] = (),
        rng: Callable[[], float] = random.random,
        tick: float = TICK_S,
        concurrency: int = CONCURRENCY,
    ) -> None:
        self._store = store
        self._clock = clock
        self._limits = {**DEFAULT_LIMITS, **(limits or {})}
        self._admins = tuple(admins)
        self._alert_chats = tuple(alert_chats)
        self._renderer = Renderer()
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
        """Whether one more message fits the chat's windows (and count it if so)."""
        member_rates = _MEMBER_RATES.get(key[0])
        if member_rates is not None:
            members = {m.strip().lower() for m in key[1].split("|") if m.strip()}
            windows = [
                (self._window((key[0], f"{member}/{seconds:g}"), now, seconds), most)
                for member in sorted(members)
                for most, seconds in member_rates
            ]
        elif rate is not None:
            windows = [(self._window(key, now, rate[1]), rate[0])]
        else:
            return True
        # All or nothing: a message counts for every member only when all have room.
        if any(len(window) >= most for window, most in windows):
            return False
        for window, _most in windows:
            window.append(now)
        return True

    def _window(self, key: ChatKey, now: datetime, seconds: float) -> deque[datetime]:
        window = self._windows.setdefault(key, deque())
        start = now - timedelta(seconds=seconds)
        while window and window[0] <= start:
            window.popleft()
        return window

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
            self._config_problem(key, error.code, error.reason, channels)
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
        key: ChatKey,
        code: int | None,
        reason: str,
        channels: Mapping[str, Channel],
    ) -> None:
        channel = key[0]
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
        self._alert(key, code, channel, reason, channels)

    def _missing_channel(self, name: str, channels: Mapping[str, Channel]) -> None:
        mark = (name, "missing")
        if mark in self._reported:
            return
        self._reported.add(mark)
        logger.error("outbox channel not available, messages kept channel=%s", name)
        self._alert((name, ""), None, name, None, channels)

    def _alert(
        self,
        failed: ChatKey,
        code: int | None,
        channel: str,
        reason: str | None,
        channels: Mapping[str, Channel],
    ) -> None:
        """Queue one alert for the admins, not through what failed.

        `reason` None: the channel is not set up at all (so a restart is needed
        once it is configured); else WeCom's refusal, re-checked every 5 minutes.
        """
        route = self._alert_route(failed, code, channels)
        if route is None:
            logger.error(
                "outbox alert has no channel to go through channel=%s", failed[0]
            )
            return
        text = self._renderer.render(
            "outbox_alert.j2",
            channel=channel,
            reason=reason,
            recheck_min=round(CONFIG_RECHECK_S / 60),
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
        logger.info("outbox alert queued via=%s about=%s", route[0], failed[0])

    def _alert_route(
        self, failed: ChatKey, code: int | None, channels: Mapping[str, Channel]
    ) -> ChatKey | None:
        """The first chat that can carry an alert about `failed`, if any."""
        channel = failed[0]
        # A whole channel is out when it is missing or its credentials or IP are
        # wrong; otherwise only the chat that failed (e.g. one robot's key).
        avoid = set(self._broken)
        if code is None or code in _CLIENT_WIDE or channel not in channels:
            avoid.add(channel)
        if channel in _APP_FAMILY and code in _CLIENT_WIDE:
            avoid |= _APP_FAMILY
        candidates: list[ChatKey] = []
        if self._admins:
            candidates.append(("app", "|".join(self._admins)))
        candidates += self._alert_chats
        candidates.append(("console", "管理员"))
        now = self._clock()
        for route in candidates:
            parked = self._parked.get(route)
            if (
                route[0] in channels
                and route[0] not in avoid
                and route != failed
                and (parked is None or parked <= now)
            ):
                return route
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
