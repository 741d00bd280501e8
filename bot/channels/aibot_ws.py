"""The AI bot (智能机器人) over its long connection: @-mentions and card clicks in,
replies and proactive markdown or cards out.

Protocol (https://developer.work.weixin.qq.com/document/path/101463): one WebSocket to
``wss://openws.work.weixin.qq.com``. Every frame is ``{"cmd", "headers": {"req_id"},
"body"}`` and is acknowledged by ``{"headers": {"req_id"}, "errcode", "errmsg"}``. The
bot subscribes with ``aibot_subscribe`` (bot id and secret), pings every ~30 s,
receives ``aibot_msg_callback`` / ``aibot_event_callback`` and answers on the
callback's req_id; ``aibot_send_msg`` posts without a callback. One connection per bot
lives: when a newer one subscribes, the older one receives ``disconnected_event``.

We speak the protocol ourselves over aiohttp rather than through the vendor SDK (which
leaves a rejected connection open, reconnects into a takeover fight, and brings
websockets, pyee and certifi along). Storing, rate limiting and retrying proactive
messages is the outbox's job; replies to callbacks are sent here, once. Images, files
and media upload are not supported. Chat-visible texts below belong in ``templates/``.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp

from bot.cards import outcome_card
from bot.channels.app import textcard_markdown
from bot.channels.base import InboundHandler, SendError
from bot.config_wecom import WecomAiBot
from bot.events import Inbound, Reply
from bot.models import OutboxMessage
from bot.wecom.inbound import command_of

logger = logging.getLogger(__name__)

TEXT_LIMIT = 20480  # UTF-8 bytes of a stream reply or a markdown push (D101031)

WELCOME_TEXT = (
    "您好，我是舆情值守机器人。发送“帮助”查看可用命令；在群里请先 @我 再输入命令。"
)
INTERIM_TEXT = "正在处理，请稍候……"
LATE_CARD_TEXT = "正在处理，结果稍后发到本会话。"
APOLOGY_TEXT = "抱歉，处理时出错了，请稍后再试。"
UNSUPPORTED_TEXT = "暂不支持这类消息，请发送文字命令（例如“帮助”）。"
UNKNOWN_BUTTON_TEXT = "这个按钮已失效，请发送文字命令。"
AUTH_HINT = (
    "请核对 config.toml 中 [wecom.aibot] 的 bot_id 与环境变量 WECOM_AIBOT_SECRET "
    "是否与企业微信管理后台该智能机器人（API 模式·长连接）的一致"
)
TAKEOVER_HINT = "同一机器人的另一条长连接已接管，请确认没有第二个进程在运行"

_AUTH_REJECTED = 853000  # "invalid bot_id or secret" (observed, not in the docs)
_MISSED_PINGS = 2  # unanswered pings before the connection counts as dead
_TAKEOVER_MAX_S = 3600.0
_SEEN_MAX = 2048  # msgids remembered for dedupe ("可能因为网络等原因重复回调")
_RATE_LIMITED = {45009: 60.0, 45033: 5.0, -1: 0.0}
_CHAT_PROBLEMS = {86001, 86003, 81013, 60011, 60020}  # chat/recipient unusable
_BAD_MESSAGE = {40008, 40058, 44004, 45002, 41016, 41033}  # never accepted as is
TASK_ID_USED = 42014
TASK_ID_MAX_BYTES = 128


class _Outcome(enum.Enum):
    UNREACHABLE = "unreachable"
    REJECTED = "rejected"
    DROPPED = "dropped"
    TAKEN_OVER = "taken_over"


class _AckError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        super().__init__(f"errcode={errcode} errmsg={errmsg}")


class AiBotWsChannel:
    """Keeps the bot's long connection up and turns its traffic into `Inbound`s.

    Args:
        bot: bot id and WebSocket URL (``[wecom.aibot]``).
        secret: the bot's secret (``WECOM_AIBOT_SECRET``).
        heartbeat_s: seconds between pings.
        backoff: first and largest delay (s) between reconnects; doubles per failure.
        takeover_backoff_s: delay after another connection took over; doubles per
            takeover in a row, up to an hour.
        ack_timeout_s: how long to wait for WeCom to acknowledge a frame.
        interim_after_s: a reply slower than this gets a "正在处理" stream first.
        card_deadline_s: a card click must be answered within 5 s; a handler slower
            than this gets a "processing" card, its result is pushed afterwards.
        clock: monotonic seconds, for connection uptime in logs.
        sleep: waits between reconnects (tests pass a recording one).
    """

    name = "aibot"
    text_limit = TEXT_LIMIT
    rate: tuple[int, float] | None = (20, 60.0)

    def __init__(
        self,
        bot: WecomAiBot,
        secret: str,
        *,
        heartbeat_s: float = 30.0,
        backoff: tuple[float, float] = (1.0, 60.0),
        takeover_backoff_s: float = 300.0,
        ack_timeout_s: float = 5.0,
        interim_after_s: float = 3.0,
        card_deadline_s: float = 4.0,
        welcome_text: str = WELCOME_TEXT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        late: Callable[[list[OutboxMessage]], object] | None = None,
    ) -> None:
        self._bot_id = bot.bot_id
        self._late = late  # the outbox's enqueue: late replies survive an outage
        self._secret = secret
        self._url = bot.ws_url
        self._heartbeat_s = heartbeat_s
        self._backoff = backoff
        self._takeover_backoff_s = takeover_backoff_s
        self._ack_timeout_s = ack_timeout_s
        self._interim_after_s = interim_after_s
        self._card_deadline_s = card_deadline_s
        self._welcome_text = welcome_text
        self._clock = clock
        self._sleep = sleep

        # task_id sent -> the outbox message that used it (see `_send_card`).
        self._task_owner: dict[str, str] = {}
        self._on_inbound: InboundHandler | None = None
        self._http: aiohttp.ClientSession | None = None
        self._runner: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ready = asyncio.Event()
        self._send_lock = asyncio.Lock()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seen: OrderedDict[str, str | None] = OrderedDict()
        self._failures = 0
        self._takeovers = 0
        self._missed_pings = 0
        self._taken_over = False
        self._problem = ""

    @property
    def connected(self) -> bool:
        """True while subscribed, i.e. while `send` can work."""
        return self._ready.is_set()

    async def wait_connected(self) -> None:
        """Wait until the connection is subscribed."""
        await self._ready.wait()

    async def start(self, on_inbound: InboundHandler) -> None:
        """Connect in the background; reconnect until `stop`."""
        if self._runner is not None:
            return
        self._on_inbound = on_inbound
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=15.0)
        )
        self._runner = asyncio.create_task(self._run(), name="aibot-ws")

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        tasks = [t for t in (runner, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
            self._http = None
        logger.info("aibot channel stopped bot_id=%s", self._bot_id)

    async def send(self, message: OutboxMessage) -> None:
        """Push markdown or a template card to `message.chat` with ``aibot_send_msg``.

        Raises:
            SendError: retryable while disconnected, on timeout or when WeCom is
                busy; not retryable for a bad chat id or a message WeCom rejects.
        """
        body = _send_body(message)
        ws = self._ws
        if ws is None or not self._ready.is_set():
            raise SendError("智能机器人长连接未建立，稍后重试", retryable=True)
        try:
            if body["msgtype"] == "template_card":
                await self._send_card(ws, body, message.id)
            else:
                await self._exchange(ws, "aibot_send_msg", body)
        except _AckError as exc:
            raise _send_error(exc.errcode) from None
        except _AlreadyShown:
            logger.info(
                "aibot card already delivered id=%s chat=%s", message.id, message.chat
            )
        except ConnectionError:
            raise SendError("智能机器人长连接中断，稍后重试", retryable=True) from None
        except TimeoutError:
            # The push may have gone through; a retry can show it twice.
            raise SendError("等待企业微信确认超时，稍后重试", retryable=True) from None

    async def _send_card(
        self, ws: aiohttp.ClientWebSocketResponse, body: dict[str, Any], owner: str
    ) -> None:
        """Push a card under a task_id no other push of this bot used.

        WeCom takes a task_id once per bot, forever (42014 on reuse, D101032), yet
        the same card can be pushed again: a ticket's card to a second chat, the
        day's patrol card after a restart. The first push keeps the card's own
        task_id; a later message with that task_id, or a 42014 for one this
        process never sent (pushed before a restart), gets the outbox message id
        appended. Clicks carry the task_id back and the outcome card reuses it.
        A retry of one message keeps its task_id, so when WeCom says 42014 to a
        push whose ack was lost, the card is already shown: `_AlreadyShown`.
        """
        card = body["template_card"]
        task_id = card.get("task_id")
        if not isinstance(task_id, str) or not task_id or not owner:
            await self._exchange(ws, "aibot_send_msg", body)
            return
        known = self._task_owner.get(task_id, owner)
        wire = task_id if known == owner else _suffixed(task_id, owner)
        tried_before = self._task_owner.get(wire) == owner
        self._task_owner[wire] = owner
        try:
            await self._push_card(ws, body, wire)
        except _AckError as exc:
            if exc.errcode != TASK_ID_USED:
                raise
            if tried_before:
                raise _AlreadyShown from None
            if wire != task_id:
                raise
            # Pushed by an earlier run of the bot: mark it taken, use our own.
            self._task_owner[task_id] = ""
            wire = _suffixed(task_id, owner)
            self._task_owner[wire] = owner
            await self._push_card(ws, body, wire)

    async def _push_card(
        self, ws: aiohttp.ClientWebSocketResponse, body: dict[str, Any], task_id: str
    ) -> None:
        card = {**body["template_card"], "task_id": task_id}
        await self._exchange(ws, "aibot_send_msg", {**body, "template_card": card})

    # --- connection lifecycle -------------------------------------------------

    async def _run(self) -> None:
        while True:
            outcome = await self._connect_once()
            delay = self._delay_after(outcome)
            self._log_retry(outcome, delay)
            await self._sleep(delay)

    async def _connect_once(self) -> _Outcome:
        assert self._http is not None
        try:
            ws = await self._http.ws_connect(self._url, autoping=True, heartbeat=None)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            self._problem = type(exc).__name__
            return _Outcome.UNREACHABLE

        self._ws = ws
        self._taken_over = False
        reader = asyncio.create_task(self._read(ws))
        heartbeat: asyncio.Task[None] | None = None
        try:
            # Subscribe (D101463 "订阅请求"); a rejection leaves the socket open
            # on WeCom's side, so we close it ourselves (finally).
            body = {"bot_id": self._bot_id, "secret": self._secret}
            try:
                await self._exchange(ws, "aibot_subscribe", body)
            except _AckError as exc:
                self._problem = f"errcode={exc.errcode} errmsg={exc.errmsg}"
                return _Outcome.REJECTED
            except (ConnectionError, TimeoutError) as exc:
                self._problem = f"subscribe unanswered ({type(exc).__name__})"
                return _Outcome.DROPPED

            since = self._clock()
            self._failures = 0
            self._missed_pings = 0
            self._ready.set()
            logger.info("aibot subscribed bot_id=%s url=%s", self._bot_id, self._url)
            heartbeat = asyncio.create_task(self._heartbeat(ws))
            await reader

            up_s = self._clock() - since
            if self._taken_over:
                self._problem = f"up_s={up_s:.0f}"
                return _Outcome.TAKEN_OVER
            self._takeovers = 0
            self._problem = f"close_code={ws.close_code} up_s={up_s:.0f}"
            return _Outcome.DROPPED
        finally:
            self._ready.clear()
            self._ws = None
            tasks = [t for t in (reader, heartbeat) if t is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await ws.close()
            self._fail_pending()

    def _delay_after(self, outcome: _Outcome) -> float:
        if outcome is _Outcome.TAKEN_OVER:
            # Reconnecting at once would take the bot back and start a kick loop.
            self._takeovers += 1
            delay = self._takeover_backoff_s * 2 ** (self._takeovers - 1)
            return min(delay, _TAKEOVER_MAX_S)
        self._failures += 1
        first, largest = self._backoff
        return min(first * 2 ** (self._failures - 1), largest)

    def _log_retry(self, outcome: _Outcome, delay: float) -> None:
        if outcome is _Outcome.REJECTED:
            logger.error(
                "aibot subscribe rejected bot_id=%s %s attempt=%d retry_in_s=%.1f "
                "hint=%s",
                self._bot_id,
                self._problem,
                self._failures,
                delay,
                AUTH_HINT,
            )
        elif outcome is _Outcome.TAKEN_OVER:
            logger.warning(
                "aibot connection taken over bot_id=%s %s takeovers=%d "
                "retry_in_s=%.0f hint=%s",
                self._bot_id,
                self._problem,
                self._takeovers,
                delay,
                TAKEOVER_HINT,
            )
        else:
            logger.warning(
                "aibot connection %s url=%s %s attempt=%d retry_in_s=%.1f",
                outcome.value,
                self._url,
                self._problem,
                self._failures,
                delay,
            )

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        # Application-level ping (D101463 "保持心跳"), not the WebSocket ping.
        while True:
            await asyncio.sleep(self._heartbeat_s)
            if self._missed_pings >= _MISSED_PINGS:
                logger.warning(
                    "aibot heartbeat unanswered missed=%d; reconnecting",
                    self._missed_pings,
                )
                await ws.close()
                return
            self._missed_pings += 1
            frame = {"cmd": "ping", "headers": {"req_id": _req_id("ping")}}
            try:
                await self._write(ws, frame)
            except ConnectionError:
                return

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                logger.warning("aibot frame is not JSON length=%d", len(msg.data))
                continue
            if isinstance(frame, dict):
                self._on_frame(ws, frame)

    def _on_frame(self, ws: aiohttp.ClientWebSocketResponse, frame: dict) -> None:
        cmd = frame.get("cmd")
        req_id = str((frame.get("headers") or {}).get("req_id", ""))
        body = frame.get("body") or {}
        if cmd == "aibot_msg_callback":
            self._spawn(self._on_message(req_id, body), "message")
        elif cmd == "aibot_event_callback":
            self._on_event(ws, req_id, body)
        elif req_id.startswith("ping_"):
            if frame.get("errcode", 0) == 0:
                self._missed_pings = 0
        else:
            future = self._pending.pop(req_id, None)
            if future is not None and not future.done():
                future.set_result(frame)

    def _on_event(
        self, ws: aiohttp.ClientWebSocketResponse, req_id: str, body: dict
    ) -> None:
        kind = (body.get("event") or {}).get("eventtype")
        if kind == "disconnected_event":
            # Another connection subscribed for this bot; WeCom closes ours later,
            # at a time of its choosing, so we leave now and stay away a while.
            self._taken_over = True
            self._ready.clear()
            self._spawn(ws.close(), "close")
        elif kind == "template_card_event":
            self._spawn(self._on_card_click(req_id, body), "card click")
        elif kind == "enter_chat":
            welcome = {"msgtype": "text", "text": {"content": self._welcome_text}}
            reply = self._respond("aibot_respond_welcome_msg", req_id, welcome)
            self._spawn(reply, "welcome")
        else:
            logger.debug("aibot event ignored eventtype=%s", kind)

    # --- answering callbacks ----------------------------------------------------

    async def _on_message(self, req_id: str, body: dict) -> None:
        if body.get("msgtype") == "stream":
            return  # a stream-refresh poll; our streams always finish at once
        msg_id = str(body.get("msgid", ""))
        if msg_id and msg_id in self._seen:
            await self._answer_duplicate(req_id, msg_id)
            return
        self._remember(msg_id, None)

        sender = str((body.get("from") or {}).get("userid", ""))
        chat = str(body.get("chatid", ""))
        text = _message_text(body)
        started = self._clock()
        stream_id = _req_id("stream")
        if text is None:
            reply = UNSUPPORTED_TEXT
        else:
            inbound = Inbound(sender, text, chat, msg_id, channel="aibot")
            reply = await self._answer_in_time(req_id, stream_id, inbound)
        self._remember(msg_id, reply)

        delivered = await self._reply_stream(req_id, stream_id, reply, finish=True)
        if not delivered:
            await self._deliver_late(chat or sender, reply)
        logger.info(
            "aibot message handled msg_id=%s chat=%s sender=%s delivered=%s ms=%d",
            msg_id,
            chat,
            sender,
            delivered,
            (self._clock() - started) * 1000,
        )

    async def _answer_in_time(
        self, req_id: str, stream_id: str, inbound: Inbound
    ) -> str:
        task = self._start_answer(inbound)
        try:
            reply = await asyncio.wait_for(asyncio.shield(task), self._interim_after_s)
        except TimeoutError:
            await self._reply_stream(req_id, stream_id, INTERIM_TEXT, finish=False)
            reply = await task
        return reply.text

    async def _answer_duplicate(self, req_id: str, msg_id: str) -> None:
        cached = self._seen[msg_id]
        logger.info(
            "aibot duplicate callback msg_id=%s answered=%s", msg_id, cached is not None
        )
        if cached is not None:
            await self._reply_stream(req_id, _req_id("stream"), cached, finish=True)

    async def _on_card_click(self, req_id: str, body: dict) -> None:
        msg_id = str(body.get("msgid", ""))
        if msg_id and msg_id in self._seen:
            logger.info("aibot duplicate card click ignored msg_id=%s", msg_id)
            return
        self._remember(msg_id, "")
        click = (body.get("event") or {}).get("template_card_event") or {}
        key = str(click.get("event_key", ""))
        task_id = str(click.get("task_id", ""))
        sender = str((body.get("from") or {}).get("userid", ""))
        chat = str(body.get("chatid", ""))

        task: asyncio.Task[Reply] | None = None
        outcome: Reply | None = Reply(UNKNOWN_BUTTON_TEXT)
        command = command_of(key)  # "cmd:查询 YQ-0001" runs "查询 YQ-0001"
        if command:
            inbound = Inbound(sender, command, chat, msg_id, channel="aibot")
            task = self._start_answer(inbound)
            try:
                outcome = await asyncio.wait_for(
                    asyncio.shield(task), self._card_deadline_s
                )
            except TimeoutError:
                outcome = None
        else:
            logger.warning(
                "aibot card key is not a command msg_id=%s task_id=%s", msg_id, task_id
            )

        # WeCom drops the click unless the update comes within 5 s (D101463).
        outcome = outcome or Reply(LATE_CARD_TEXT, card_title="处理中")
        card = outcome_card(task_id, sender, outcome)
        update: dict[str, Any] = {
            "response_type": "update_template_card",
            "template_card": card,
        }
        if not outcome.card_for_all or outcome.text == LATE_CARD_TEXT:
            # Refused, personal or not done yet: only the clicker's card says so.
            update["userids"] = [sender]
        await self._respond("aibot_respond_update_msg", req_id, update)
        if task is not None and outcome.text == LATE_CARD_TEXT:
            await self._deliver_late(chat or sender, (await task).text)
        logger.info(
            "aibot card click handled msg_id=%s chat=%s sender=%s task_id=%s",
            msg_id,
            chat,
            sender,
            task_id,
        )

    def _start_answer(self, inbound: Inbound) -> asyncio.Task[Reply]:
        # Tracked with the other tasks, so `stop` cancels a handler still running.
        task = asyncio.create_task(self._answer(inbound))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _answer(self, inbound: Inbound) -> Reply:
        assert self._on_inbound is not None
        try:
            return await self._on_inbound(inbound)
        except Exception:
            logger.exception("aibot handler failed msg_id=%s", inbound.msg_id)
            return Reply(APOLOGY_TEXT)

    async def _reply_stream(
        self, req_id: str, stream_id: str, text: str, *, finish: bool
    ) -> bool:
        stream = {"id": stream_id, "finish": finish, "content": _clip(text)}
        body = {"msgtype": "stream", "stream": stream}
        return await self._respond("aibot_respond_msg", req_id, body)

    async def _respond(self, cmd: str, req_id: str, body: dict) -> bool:
        """Answer a callback on its req_id; False when WeCom did not take it."""
        ws = self._ws
        if ws is None or not self._ready.is_set():
            logger.warning("aibot reply skipped cmd=%s reason=disconnected", cmd)
            return False
        try:
            await self._exchange(ws, cmd, body, req_id=req_id)
        except _AckError as exc:
            logger.warning("aibot reply rejected cmd=%s errcode=%d", cmd, exc.errcode)
            return False
        except (ConnectionError, TimeoutError) as exc:
            logger.warning("aibot reply lost cmd=%s error=%s", cmd, type(exc).__name__)
            return False
        return True

    async def _deliver_late(self, chat: str, text: str) -> None:
        message = OutboxMessage("aibot", chat, "markdown", {"text": _clip(text)})
        if self._late is not None:
            self._late([message])  # stored first; the outbox retries through outages
            return
        try:
            await self.send(message)
        except SendError as exc:
            logger.error("aibot late reply lost chat=%s code=%s", chat, exc.code)

    # --- frames -------------------------------------------------------------------

    async def _exchange(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        cmd: str,
        body: dict,
        *,
        req_id: str = "",
    ) -> dict[str, Any]:
        """Send one frame and wait for its ack; raise `_AckError` on errcode != 0."""
        req_id = req_id or _req_id(cmd)
        future: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[req_id] = future
        try:
            await self._write(
                ws, {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}
            )
            ack = await asyncio.wait_for(future, self._ack_timeout_s)
        finally:
            if self._pending.get(req_id) is future:
                del self._pending[req_id]
        errcode = int(ack.get("errcode", 0) or 0)
        if errcode:
            raise _AckError(errcode, str(ack.get("errmsg", "")))
        return ack

    async def _write(self, ws: aiohttp.ClientWebSocketResponse, frame: dict) -> None:
        if ws.closed:
            raise ConnectionError("aibot connection closed")
        try:
            async with self._send_lock:
                await ws.send_str(json.dumps(frame, ensure_ascii=False))
        except aiohttp.ClientError as exc:
            raise ConnectionError(str(exc)) from exc

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(ConnectionError("aibot connection lost"))

    def _remember(self, msg_id: str, reply: str | None) -> None:
        if not msg_id:
            return
        self._seen[msg_id] = reply
        self._seen.move_to_end(msg_id)
        while len(self._seen) > _SEEN_MAX:
            self._seen.popitem(last=False)

    def _spawn(self, work: Coroutine[Any, Any, Any], what: str) -> None:
        task = asyncio.create_task(_guarded(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _guarded(work: Coroutine[Any, Any, Any], what: str) -> None:
    try:
        await work
    except Exception:
        logger.exception("aibot %s failed", what)


def _req_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _clip(text: str, limit: int = TEXT_LIMIT) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", errors="ignore") + "…"


def _message_text(body: dict) -> str | None:
    """The text of a text, voice (transcribed) or mixed message; None otherwise."""
    kind = body.get("msgtype")
    if kind in ("text", "voice"):
        return str((body.get(kind) or {}).get("content", ""))
    if kind == "mixed":
        items = (body.get("mixed") or {}).get("msg_item") or []
        parts = [
            str((item.get("text") or {}).get("content", ""))
            for item in items
            if isinstance(item, dict) and item.get("msgtype") == "text"
        ]
        return "\n".join(parts) if parts else None
    return None


def _send_body(message: OutboxMessage) -> dict[str, Any]:
    # aibot_send_msg takes markdown or template_card only (D101463 "主动推送消息").
    if not message.chat:
        raise SendError(
            "未指定智能机器人会话（chatid）", retryable=False, config_problem=True
        )
    if message.kind in ("markdown", "text", "textcard"):
        content = (
            textcard_markdown(message)
            if message.kind == "textcard"
            else str(message.body.get("text", ""))
        )
        return {
            "chatid": message.chat,
            "msgtype": "markdown",
            "markdown": {"content": content},
        }
    card = message.body.get("template_card")
    if message.kind == "card" and isinstance(card, dict) and card:
        return {
            "chatid": message.chat,
            "msgtype": "template_card",
            "template_card": card,
        }
    raise SendError(f"智能机器人不能发送 {message.kind} 类消息", retryable=False)


def _suffixed(task_id: str, message_id: str) -> str:
    """`task_id` made this outbox message's own, within WeCom's 128 bytes."""
    suffix = "-" + message_id
    head = task_id.encode("utf-8")[: TASK_ID_MAX_BYTES - len(suffix)]
    return head.decode("utf-8", errors="ignore") + suffix


class _AlreadyShown(Exception):
    """WeCom refused a card's task_id that this very message pushed before."""


def _send_error(errcode: int) -> SendError:
    if errcode in _RATE_LIMITED:
        return SendError(
            f"企业微信繁忙或限流（errcode {errcode}）",
            retryable=True,
            retry_after=_RATE_LIMITED[errcode],
            code=errcode,
        )
    if errcode in _CHAT_PROBLEMS:
        return SendError(
            f"会话无效或机器人未在该会话中（errcode {errcode}），请核对群聊 chatid",
            retryable=False,
            config_problem=True,
            code=errcode,
        )
    if errcode in _BAD_MESSAGE:
        return SendError(
            f"企业微信拒收此消息（errcode {errcode}）", retryable=False, code=errcode
        )
    return SendError(
        f"企业微信暂时无法发送（errcode {errcode}）", retryable=True, code=errcode
    )
