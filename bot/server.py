"""The HTTP server WeCom calls back: URL verification, callbacks, health.

Routes (only for the channels handed in):

- ``GET /wecom/app/callback`` and ``GET /wecom/aibot/callback``: URL verification,
  answered with the decrypted echostr as plain text at once (WeCom allows 1 s);
- ``POST`` on the same paths: encrypted callbacks (app XML, AI bot JSON);
- ``GET /healthz``: the bot's status as JSON (200 when ``ok``, else 503) and
  ``GET /metrics``: the same in Prometheus text format, both from `status` (a
  `bot.healthz.BotStatus` set by ``run``); without one, ``{"ok": true}`` and 404.

A POST is checked in this order, and rejected with a WARNING
``callback rejected reason=…``: body size (413), signature, timestamp freshness
(``wecom.callback_max_age_s``) and shape (400: WeCom shows the failure). Then
callbacks the bot does not act on, and senders in no role, are answered with an
empty 200 and ignored; a retried delivery (same MsgId, or for events FromUserName +
CreateTime + Event + TaskId + EventKey) is recognised by `bot.dedupe.RecentKeys` and
not dispatched again. What is left goes to the channel, which may return a passive
reply for the server to encrypt. Rules:
https://developer.work.weixin.qq.com/document/path/90930 (verification, replies),
https://developer.work.weixin.qq.com/document/path/90238 (5 s limit, retries),
https://developer.work.weixin.qq.com/document/path/101031 (AI bot replies).

Work that outlives a request runs in `BackgroundTasks`, which logs a crash with its
traceback and is drained on `stop`. aiohttp's access log is off: it would print
query strings, and those carry signatures and echostr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from aiohttp import web

from bot.dedupe import RecentKeys
from bot.errors import ConfigError
from bot.roles import person
from bot.wecom.crypto import MALFORMED, CallbackCrypto, CallbackRejected
from bot.wecom.inbound import (
    Event,
    Unsupported,
    parse_aibot_json,
    parse_app_xml,
)

if TYPE_CHECKING:
    from bot.config import Settings

logger = logging.getLogger(__name__)

APP_PATH = "/wecom/app/callback"
AIBOT_PATH = "/wecom/aibot/callback"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MAX_BODY_BYTES = 64 * 1024
DRAIN_TIMEOUT_S = 30.0

T = TypeVar("T")

# A passive reply: plaintext XML (app), a JSON object (AI bot), or None (empty 200).
PassiveReply = str | dict[str, Any] | None


class BackgroundTasks:
    """Tasks that outlive the request that started them.

    A task that raises is logged with its traceback and yields None; it never
    takes the server down. `drain` waits for the ones still running.
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Awaitable[T], what: str) -> asyncio.Task[T | None]:
        """Run `coro` in the background; `what` names it in logs (no secrets)."""
        task = asyncio.ensure_future(self._guard(coro, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float | None = DRAIN_TIMEOUT_S) -> None:
        """Wait for running tasks; cancel those still running after `timeout`."""
        while self._tasks:
            pending = set(self._tasks)
            _done, late = await asyncio.wait(pending, timeout=timeout)
            if late:
                logger.warning(
                    "background tasks cancelled at shutdown count=%d", len(late)
                )
                for task in late:
                    task.cancel()
                await asyncio.gather(*late, return_exceptions=True)
                return

    def __len__(self) -> int:
        return len(self._tasks)

    @staticmethod
    async def _guard(coro: Awaitable[T], what: str) -> T | None:
        try:
            return await coro
        except Exception:
            logger.exception("background task failed task=%s", what)
            return None


class CallbackChannel(Protocol):
    """What a callback route hands its decrypted, de-duplicated events to."""

    async def on_event(self, event: Event, tasks: BackgroundTasks) -> PassiveReply:
        """Act on a first delivery; return the passive reply (None: empty 200)."""
        ...

    async def on_duplicate(self, event: Event) -> PassiveReply:
        """Answer a repeated delivery (it is not dispatched again)."""
        ...


@dataclass(frozen=True)
class _Route:
    name: str
    path: str
    crypto: CallbackCrypto
    channel: CallbackChannel
    decrypt: Callable[[bytes, str, str, str], str]
    parse: Callable[[str], Event | Unsupported]
    encode: Callable[[PassiveReply, str, str], tuple[str, str]]


class StatusSource(Protocol):
    """What ``/healthz`` and ``/metrics`` report (see `bot.healthz`)."""

    def health(self) -> dict[str, Any]: ...

    def metrics(self) -> str: ...


class CallbackServer:
    """aiohttp server for WeCom callbacks; use ``async with`` or `start`/`stop`.

    `handlers` maps ``"app"`` and/or ``"aibot"`` to their channels. `host`/`port`
    override ``settings.server`` (port 0: any free port, see `port`). `clock` is
    epoch seconds, for the freshness check.
    """

    def __init__(
        self,
        settings: Settings,
        handlers: Mapping[str, CallbackChannel],
        *,
        host: str | None = None,
        port: int | None = None,
        clock: Callable[[], float] = time.time,
        max_body: int = MAX_BODY_BYTES,
        seen: RecentKeys | None = None,
    ) -> None:
        self._settings = settings
        self._host = settings.server.host if host is None else host
        self._port = settings.server.port if port is None else port
        self._clock = clock
        self._max_body = max_body
        self._seen = seen or RecentKeys()
        self.tasks = BackgroundTasks()
        self._routes = [self._route(name, ch) for name, ch in handlers.items()]
        self._runner: web.AppRunner | None = None
        self._bound_port = 0
        self.status: StatusSource | None = None

    @property
    def port(self) -> int:
        """The port actually listened on (after `start`)."""
        return self._bound_port

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self._routes]

    def url(self, path: str) -> str:
        return f"http://{self._host}:{self._bound_port}{path}"

    async def start(self) -> None:
        app = web.Application(client_max_size=self._max_body)
        for route in self._routes:
            app.router.add_get(route.path, self._verify_handler(route))
            app.router.add_post(route.path, self._post_handler(route))
        app.router.add_get(HEALTH_PATH, self._health)
        app.router.add_get(METRICS_PATH, self._metrics)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        self._bound_port = self._runner.addresses[0][1]
        logger.info(
            "callback server listening host=%s port=%d routes=%s",
            self._host,
            self._bound_port,
            ",".join(self.paths) or "-",
        )

    async def stop(self) -> None:
        """Stop accepting requests, then wait for background work to finish."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.tasks.drain()
        logger.info("callback server stopped")

    async def __aenter__(self) -> CallbackServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- routes ----------------------------------------------------------------

    def _route(self, name: str, channel: CallbackChannel) -> _Route:
        s = self._settings.secrets
        if name == "app":
            path, receive_id = APP_PATH, self._settings.wecom.app.corp_id
            token, aes_key = s.app_token, s.app_aes_key
            needed = {
                "WECOM_APP_TOKEN": token,
                "WECOM_APP_AES_KEY": aes_key,
                "wecom.app.corp_id": receive_id,
            }
        elif name == "aibot":
            path, receive_id = AIBOT_PATH, ""
            token, aes_key = s.aibot_token, s.aibot_aes_key
            needed = {"WECOM_AIBOT_TOKEN": token, "WECOM_AIBOT_AES_KEY": aes_key}
        else:
            raise ValueError(f"unknown callback channel {name!r}")
        missing = [key for key, value in needed.items() if not value]
        if missing:
            raise ConfigError(
                self._settings.path,
                missing[0],
                f"接收企业微信回调需要设置 {'、'.join(missing)}",
            )
        try:
            crypto = CallbackCrypto(
                token,
                aes_key,
                receive_id,
                max_age_s=self._settings.wecom.callback_max_age_s,
                clock=self._clock,
            )
        except ValueError:
            raise ConfigError(
                self._settings.path,
                list(needed)[1],
                "EncodingAESKey 应为 43 个字符，请从企业微信管理后台的回调配置中复制",
            ) from None
        if name == "app":
            decrypt, parse, encode = (
                crypto.decrypt_xml,
                parse_app_xml,
                self._encode_xml(crypto),
            )
        else:
            decrypt, parse, encode = (
                self._decrypt_json(crypto),
                parse_aibot_json,
                self._encode_json(crypto),
            )
        return _Route(name, path, crypto, channel, decrypt, parse, encode)

    @staticmethod
    def _decrypt_json(
        crypto: CallbackCrypto,
    ) -> Callable[[bytes, str, str, str], str]:
        def decrypt(body: bytes, signature: str, timestamp: str, nonce: str) -> str:
            try:
                data = json.loads(body)
            except ValueError:
                raise CallbackRejected(MALFORMED) from None
            if not isinstance(data, dict):
                raise CallbackRejected(MALFORMED)
            return crypto.decrypt_json(data, signature, timestamp, nonce)

        return decrypt

    def _encode_xml(
        self, crypto: CallbackCrypto
    ) -> Callable[[PassiveReply, str, str], tuple[str, str]]:
        def encode(reply: PassiveReply, nonce: str, timestamp: str) -> tuple[str, str]:
            if not isinstance(reply, str):
                raise TypeError("app passive replies are XML text")
            return crypto.encrypt_xml_reply(reply, nonce, timestamp), "text/xml"

        return encode

    def _encode_json(
        self, crypto: CallbackCrypto
    ) -> Callable[[PassiveReply, str, str], tuple[str, str]]:
        def encode(reply: PassiveReply, nonce: str, timestamp: str) -> tuple[str, str]:
            if not isinstance(reply, dict):
                raise TypeError("AI bot passive replies are JSON objects")
            text = json.dumps(reply, ensure_ascii=False, separators=(",", ":"))
            body = crypto.encrypt_json_reply(text, nonce, timestamp)
            return json.dumps(body), "application/json"

        return encode

    async def _health(self, request: web.Request) -> web.Response:
        if self.status is None:
            return web.json_response({"ok": True})
        body = self.status.health()
        text = json.dumps(body, ensure_ascii=False)
        return web.json_response(text=text, status=200 if body.get("ok") else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        if self.status is None:
            raise web.HTTPNotFound()
        return web.Response(
            body=self.status.metrics().encode(),
            headers={"Content-Type": METRICS_TYPE},
        )

    def _verify_handler(
        self, route: _Route
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            q = request.query
            # Base64 has no spaces: a "+" WeCom left unescaped was read as a space.
            echostr = q.get("echostr", "").replace(" ", "+")
            try:
                plain = route.crypto.verify_url(
                    q.get("msg_signature", ""),
                    q.get("timestamp", ""),
                    q.get("nonce", ""),
                    echostr,
                )
            except CallbackRejected as exc:
                return self._reject(route, exc.reason, 400, "verify")
            logger.info("callback url verified channel=%s", route.name)
            return web.Response(text=plain, content_type="text/plain")

        return handle

    def _post_handler(
        self, route: _Route
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            length = request.content_length
            if length is not None and length > self._max_body:
                return self._reject(route, "too_large", 413, "post")
            try:
                body = await request.read()
            except web.HTTPRequestEntityTooLarge:
                return self._reject(route, "too_large", 413, "post")
            q = request.query
            nonce = q.get("nonce", "")
            try:
                plaintext = route.decrypt(
                    body, q.get("msg_signature", ""), q.get("timestamp", ""), nonce
                )
                event = route.parse(plaintext)
            except CallbackRejected as exc:
                return self._reject(route, exc.reason, 400, "post")
            reply = await self._deliver(route, event)
            if reply is None:
                return web.Response(status=200, text="")
            text, content_type = route.encode(reply, nonce, str(int(self._clock())))
            return web.Response(text=text, content_type=content_type)

        return handle

    async def _deliver(self, route: _Route, event: Event | Unsupported) -> PassiveReply:
        fields = (
            route.name,
            event.msg_id or "-",
            event.sender or "-",
            event.msg_type,
            event.event or "-",
        )
        if isinstance(event, Unsupported):
            logger.info(
                "callback ignored reason=unsupported channel=%s msg_id=%s sender=%s "
                "type=%s event=%s why=%s",
                *fields,
                event.why,
            )
            return None
        if not person(self._settings, event.sender).is_known:
            logger.warning(
                "callback ignored reason=unknown_sender channel=%s msg_id=%s "
                "sender=%s type=%s event=%s",
                *fields,
            )
            return None
        first = self._seen.first_time(event.dedupe_key)
        logger.info(
            "callback %s channel=%s msg_id=%s sender=%s type=%s event=%s",
            "accepted" if first else "duplicate",
            *fields,
        )
        try:
            if first:
                return await route.channel.on_event(event, self.tasks)
            return await route.channel.on_duplicate(event)
        except Exception:
            # Boundary of one callback: log it, answer empty, keep serving.
            logger.exception(
                "callback handler failed channel=%s msg_id=%s sender=%s type=%s "
                "event=%s",
                *fields,
            )
            return None

    @staticmethod
    def _reject(route: _Route, reason: str, status: int, what: str) -> web.Response:
        logger.warning(
            "callback rejected reason=%s channel=%s request=%s status=%d",
            reason,
            route.name,
            what,
            status,
        )
        return web.Response(status=status, text="")
