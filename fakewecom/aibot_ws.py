"""A fake of the AI bot (智能机器人) long connection, for tests and local runs.

Serves ``GET /aibot/ws`` the way ``wss://openws.work.weixin.qq.com`` behaves
(https://developer.work.weixin.qq.com/document/path/101463): answers
``aibot_subscribe`` (853000 for a wrong bot id or secret, leaving the socket open as
the real server does), acks ``ping``, accepts replies only on a live callback's
req_id, and records proactive ``aibot_send_msg`` pushes. When a second connection
subscribes, the first receives ``disconnected_event`` and is not closed (the real
server closes it minutes later, or seconds; a client must leave by itself).

Tests drive it: `push_text`, `push_card_click`, `push_enter_chat`, `drop_connection`,
`kick_with_new_connection`, `fail_next`, `silent_cmds`; and read it: `received`,
`chat_log`, `seen_by`, `card_updates`, `wait_until`. Run it alone with `start()` /
`stop()`, or let `fakewecom.server.FakeWeCom` call `setup` at its start: the route is
then served by the fake WeCom, which also records what chats show.

Fake-only choices, as the real codes are undocumented: 86003 for a push to a chat the
bot never talked in, 846609 for a command before subscribing, 846608 for a welcome
or card update after the 5 s window or a stream update after it finished.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

from fakewecom.errors import ApiError
from fakewecom.state import check_card

if TYPE_CHECKING:
    from fakewecom.server import FakeWeCom

PATH = "/aibot/ws"
DEFAULT_BOT_ID = "aibfake"
DEFAULT_SECRET = "aibot-secret"
TEXT_LIMIT = 20480

OK = (0, "ok")
AUTH_FAILED = (853000, "invalid bot_id or secret")
INVALID_REQ_ID = (846605, "invalid req_id")
EXPIRED = (846608, "reply window expired")
NOT_SUBSCRIBED = (846609, "not subscribed")
UNKNOWN_CHAT = (86003, "chat not found")
BAD_MSGTYPE = (40008, "invalid message type")
BAD_PARAM = (40058, "invalid parameter")
EMPTY = (44004, "empty content")
TOO_LONG = (45002, "content exceeds limit")
TASK_ID_USED = (42014, "taskid has existed or empty or exceed max len")

# Which callback each reply command answers.
_REPLY_TO = {
    "aibot_respond_msg": "msg",
    "aibot_respond_welcome_msg": "enter_chat",
    "aibot_respond_update_msg": "card",
}


@dataclass
class Delivery:
    """Something a chat shows: a reply, a welcome, a card update or a push."""

    chat: str
    kind: str  # stream | welcome | card_update | markdown | template_card
    content: str = ""
    card: dict[str, Any] | None = None
    finish: bool = True
    stream_id: str = ""
    req_id: str = ""


@dataclass
class _Callback:
    kind: str  # msg | enter_chat | card
    chat: str
    at: float


@dataclass(eq=False)
class _Conn:
    ws: web.WebSocketResponse
    subscribed: bool = False


@dataclass
class FakeAiBotServer:
    """The WeCom side of one bot's long connection."""

    bot_id: str
    secret: str
    reply_window_s: float = 5.0
    received: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    card_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    # task_id -> the userids an update was limited to ([]: everyone in the chat)
    card_update_users: dict[str, list[str]] = field(default_factory=dict)
    # every task_id pushed with aibot_send_msg (each may be pushed once)
    task_ids: set[str] = field(default_factory=set)
    silent_cmds: set[str] = field(default_factory=set)
    subscriptions: int = 0
    kicks: int = 0

    def __post_init__(self) -> None:
        self._conns: list[_Conn] = []
        self._live: _Conn | None = None
        self._callbacks: dict[str, _Callback] = {}
        self._known_chats: set[str] = set()
        self._members: dict[str, set[str]] = defaultdict(set)
        self._failures: dict[str, deque[tuple[int, str]]] = defaultdict(deque)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._ws_url = ""
        self._host: FakeWeCom | None = None

    # --- serving ------------------------------------------------------------------

    @property
    def ws_url(self) -> str:
        if self._host is not None:
            return self._host.root_url.replace("http", "ws", 1) + PATH
        return self._ws_url

    def mount(self, app: web.Application) -> None:
        app.router.add_get(PATH, self.handle)
        app.on_shutdown.append(self._close_all)

    def attach(self, host: FakeWeCom) -> None:
        """Serve inside `host`: its chats count as known, its logs get our posts."""
        self._host = host
        self.mount(host.app)

    async def start(self) -> None:
        """Serve alone on 127.0.0.1 (a free port); `ws_url` says where."""
        app = web.Application()
        self.mount(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self._ws_url = f"ws://127.0.0.1:{port}{PATH}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _close_all(self, app: web.Application) -> None:
        for conn in list(self._conns):
            await conn.ws.close(code=WSCloseCode.GOING_AWAY)

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = _Conn(ws)
        self._conns.append(conn)
        await self._notify()
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(conn, json.loads(msg.data))
        finally:
            self._conns.remove(conn)
            if self._live is conn:
                self._live = None
            await self._notify()
        return ws

    # --- what tests read ------------------------------------------------------------

    @property
    def open_connections(self) -> int:
        return len(self._conns)

    @property
    def subscribed(self) -> bool:
        """True while a client holds the bot's subscription."""
        return self._live is not None

    def frames(self, cmd: str) -> list[dict[str, Any]]:
        return [f for f in self.received if f.get("cmd") == cmd]

    def chat_log(self, chatid: str) -> list[Delivery]:
        """What the chat shows; a user's 1:1 chat is named by the userid."""
        return [d for d in self.deliveries if d.chat == chatid]

    def seen_by(self, userid: str) -> list[Delivery]:
        """What `userid` sees: their 1:1 chat and groups they wrote in."""
        return [
            d
            for d in self.deliveries
            if d.chat == userid or userid in self._members.get(d.chat, ())
        ]

    async def wait_until(
        self, predicate: Callable[[], object], timeout: float = 5.0
    ) -> None:
        """Wait until `predicate()` is true (TimeoutError after `timeout` s).

        Re-checked after every change here and every 20 ms, so a predicate may
        also look at the client's state.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        async with self._changed:
            while not predicate():
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    raise TimeoutError(f"not true within {timeout} s")
                try:
                    await asyncio.wait_for(self._changed.wait(), min(left, 0.02))
                except TimeoutError:
                    pass

    async def wait_for_frame(
        self, cmd: str, count: int = 1, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Wait for the `count`-th frame of `cmd` from the client and return it."""
        await self.wait_until(lambda: len(self.frames(cmd)) >= count, timeout)
        return self.frames(cmd)[count - 1]

    # --- what tests do ----------------------------------------------------------------

    def allow_chat(self, chatid: str, members: tuple[str, ...] = ()) -> None:
        """Let the bot push to `chatid` without a message there first."""
        self._known_chats.add(chatid)
        self._members[chatid].update(members)

    def fail_next(self, cmd: str, errcode: int, errmsg: str = "injected") -> None:
        """Answer the next `cmd` frame with this error instead of handling it."""
        self._failures[cmd].append((errcode, errmsg))

    async def push_text(
        self,
        userid: str,
        content: str,
        chatid: str | None = None,
        chattype: str | None = None,
        *,
        msgid: str | None = None,
    ) -> str:
        """Deliver a text message (a group one when `chatid` is given); its req_id."""
        chattype = chattype or ("group" if chatid else "single")
        body = self._common(userid, chatid, chattype, msgid)
        body.update(msgtype="text", text={"content": content})
        return await self._push("aibot_msg_callback", "msg", body)

    async def push_card_click(
        self,
        userid: str,
        task_id: str,
        event_key: str,
        chatid: str | None = None,
        *,
        card_type: str = "button_interaction",
        msgid: str | None = None,
    ) -> str:
        """Deliver a template-card button click; its req_id."""
        chattype = "group" if chatid else "single"
        body = self._common(userid, chatid, chattype, msgid)
        click = {"card_type": card_type, "event_key": event_key, "task_id": task_id}
        body.update(
            msgtype="event",
            event={"eventtype": "template_card_event", "template_card_event": click},
        )
        return await self._push("aibot_event_callback", "card", body)

    async def push_enter_chat(self, userid: str) -> str:
        """Deliver enter_chat (a user opens the 1:1 chat); its req_id."""
        body = self._common(userid, None, "single", None)
        body.update(msgtype="event", event={"eventtype": "enter_chat"})
        return await self._push("aibot_event_callback", "enter_chat", body)

    async def drop_connection(self) -> None:
        """Close the subscribed connection, as a network failure would."""
        conn = self._require_live()
        self._live = None
        await conn.ws.close(code=WSCloseCode.GOING_AWAY)

    async def kick_with_new_connection(self) -> None:
        """Act as another client subscribing: the current one is told to leave."""
        conn = self._require_live()
        self._live = None
        await self._kick(conn)

    # --- frames from the client ---------------------------------------------------

    async def _on_frame(self, conn: _Conn, frame: dict[str, Any]) -> None:
        self.received.append(frame)
        cmd = str(frame.get("cmd", ""))
        req_id = str((frame.get("headers") or {}).get("req_id", ""))
        body = frame.get("body") or {}
        if cmd == "aibot_subscribe":
            result = await self._subscribe(conn, body)
        elif not conn.subscribed:
            result = NOT_SUBSCRIBED
        elif self._failures[cmd]:
            result = self._failures[cmd].popleft()
        elif cmd == "ping":
            result = OK
        elif cmd in _REPLY_TO:
            result = self._reply(cmd, req_id, body)
        elif cmd == "aibot_send_msg":
            result = self._send_msg(body)
        else:
            result = BAD_PARAM
        await self._notify()
        if cmd in self.silent_cmds:
            return
        ack = {"headers": {"req_id": req_id}, "errcode": result[0], "errmsg": result[1]}
        await conn.ws.send_json(ack)

    async def _subscribe(self, conn: _Conn, body: dict[str, Any]) -> tuple[int, str]:
        if body.get("bot_id") != self.bot_id or body.get("secret") != self.secret:
            return AUTH_FAILED  # the real server keeps the socket open
        previous, self._live = self._live, conn
        conn.subscribed = True
        self.subscriptions += 1
        if previous is not None and previous is not conn:
            await self._kick(previous)
        return OK

    def _reply(self, cmd: str, req_id: str, body: dict[str, Any]) -> tuple[int, str]:
        callback = self._callbacks.get(req_id)
        if callback is None or callback.kind != _REPLY_TO[cmd]:
            return INVALID_REQ_ID
        late = time.monotonic() - callback.at > self.reply_window_s
        if callback.kind != "msg" and late:
            return EXPIRED
        if cmd == "aibot_respond_msg":
            return self._stream(callback.chat, req_id, body)
        if cmd == "aibot_respond_welcome_msg":
            content = str((body.get("text") or {}).get("content", ""))
            card = body.get("template_card")
            shown = Delivery(callback.chat, "welcome", content, card, req_id=req_id)
            self._show(shown, body)
            return OK
        card = body.get("template_card")
        if body.get("response_type") != "update_template_card" or not card:
            return BAD_PARAM
        task_id = str(card.get("task_id", ""))
        self.card_updates[task_id] = card
        self.card_update_users[task_id] = [str(u) for u in body.get("userids") or []]
        title = str((card.get("main_title") or {}).get("title", ""))
        shown = Delivery(callback.chat, "card_update", title, card, req_id=req_id)
        self._show(shown, {"msgtype": "template_card", "template_card": card})
        return OK

    def _stream(self, chat: str, req_id: str, body: dict[str, Any]) -> tuple[int, str]:
        stream = body.get("stream") or {}
        if body.get("msgtype") != "stream" or not stream.get("id"):
            return BAD_PARAM
        content = str(stream.get("content", ""))
        if len(content.encode("utf-8")) > TEXT_LIMIT:
            return TOO_LONG
        for shown in self.deliveries:
            if shown.kind == "stream" and shown.stream_id == stream["id"]:
                if shown.finish:
                    return EXPIRED
                # Each state of a stream replaces the text shown (D101031).
                shown.content = content
                shown.finish = bool(stream.get("finish"))
                self._show(shown, body)
                return OK
        shown = Delivery(
            chat,
            "stream",
            content,
            finish=bool(stream.get("finish")),
            stream_id=str(stream["id"]),
            req_id=req_id,
        )
        self._show(shown, body)
        return OK

    def _send_msg(self, body: dict[str, Any]) -> tuple[int, str]:
        chat = str(body.get("chatid", ""))
        if not chat:
            return BAD_PARAM
        if not self._knows(chat):
            return UNKNOWN_CHAT
        msgtype = body.get("msgtype")
        if msgtype == "markdown":
            content = str((body.get("markdown") or {}).get("content", ""))
            if not content.strip():
                return EMPTY
            if len(content.encode("utf-8")) > TEXT_LIMIT:
                return TOO_LONG
            self._show(Delivery(chat, "markdown", content), body)
            return OK
        if msgtype == "template_card":
            card = body.get("template_card")
            if not isinstance(card, dict) or not card.get("card_type"):
                return BAD_PARAM
            # The REST fake's card rules (at most 6 buttons, task_id charset), and
            # a task_id is taken once per bot, forever (D101032).
            try:
                task_id = check_card(card)
            except ApiError as exc:
                return exc.errcode, exc.detail or "invalid template_card"
            if task_id is not None and task_id in self.task_ids:
                return TASK_ID_USED
            if task_id is not None:
                self.task_ids.add(task_id)
            title = str((card.get("main_title") or {}).get("title", ""))
            self._show(Delivery(chat, "template_card", title, card), body)
            return OK
        return BAD_MSGTYPE

    # --- helpers ----------------------------------------------------------------------

    def _common(
        self, userid: str, chatid: str | None, chattype: str, msgid: str | None
    ) -> dict[str, Any]:
        if chattype == "group" and not chatid:
            raise ValueError("a group message needs a chatid")
        body: dict[str, Any] = {
            "msgid": msgid or uuid.uuid4().hex,
            "create_time": int(time.time()),
            "aibotid": self.bot_id,
            "chattype": chattype,
            "from": {"userid": userid},
            "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response"
            f"?response_code={uuid.uuid4().hex}",
        }
        if chattype == "group":
            body["chatid"] = chatid
        return body

    async def _push(self, cmd: str, kind: str, body: dict[str, Any]) -> str:
        conn = self._require_live()
        chat = str(body.get("chatid") or body["from"]["userid"])
        self._known_chats.add(chat)
        self._members[chat].add(body["from"]["userid"])
        req_id = uuid.uuid4().hex
        self._callbacks[req_id] = _Callback(kind, chat, time.monotonic())
        await conn.ws.send_json(
            {"cmd": cmd, "headers": {"req_id": req_id}, "body": body}
        )
        return req_id

    async def _kick(self, conn: _Conn) -> None:
        self.kicks += 1
        conn.subscribed = False
        body = {
            "msgid": uuid.uuid4().hex,
            "create_time": int(time.time()),
            "aibotid": self.bot_id,
            "msgtype": "event",
            "event": {"eventtype": "disconnected_event"},
        }
        frame = {
            "cmd": "aibot_event_callback",
            "headers": {"req_id": uuid.uuid4().hex},
            "body": body,
        }
        if not conn.ws.closed:
            await conn.ws.send_json(frame)
        await self._notify()

    def _knows(self, chat: str) -> bool:
        if chat in self._known_chats:
            return True
        host = self._host
        return host is not None and (
            chat in host.state.chats or host.state.find_user(chat) is not None
        )

    def _show(self, shown: Delivery, body: dict[str, Any]) -> None:
        """Record what a chat now shows (in the host's log too, once final)."""
        if not any(d is shown for d in self.deliveries):
            self.deliveries.append(shown)
        if self._host is not None and shown.finish:
            self._host.record_aibot_push(shown.chat, body)

    def _require_live(self) -> _Conn:
        if self._live is None:
            raise RuntimeError("no client is subscribed")
        return self._live

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def setup(fake: FakeWeCom) -> None:
    """Called by `FakeWeCom.start`: serve ``GET /aibot/ws`` as ``fake.aibot``.

    A test may set ``fake.aibot = FakeAiBotServer(bot_id, secret)`` before starting;
    otherwise one with `DEFAULT_BOT_ID` and `DEFAULT_SECRET` is made.
    """
    server = getattr(fake, "aibot", None)
    if not isinstance(server, FakeAiBotServer):
        server = FakeAiBotServer(DEFAULT_BOT_ID, DEFAULT_SECRET)
        fake.aibot = server  # type: ignore[attr-defined]
    server.attach(fake)
