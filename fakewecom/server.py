"""`FakeWeCom`: the WeCom REST API over real HTTP, with switches for faults.

Serves ``/cgi-bin/`` on an aiohttp server: gettoken, message/send,
message/update_template_card, message/recall, appchat/create|get|update|send,
media/upload, webhook/send, webhook/upload_media and aibot/response. Answers are
HTTP 200 with ``{"errcode", "errmsg", ...}`` as the real server gives them
(https://developer.work.weixin.qq.com/document/path/90313), unless a test asks
for an HTTP error or a hang. The fake's memory is `fakewecom.state`; the
encrypted callbacks WeCom sends to a bot are `fakewecom.callbacks`.

Extra routes (the AI bot long connection, ``GET /aibot/ws``) are added with
`FakeWeCom.add_routes` before `start`; if a module ``fakewecom.aibot_ws`` exists,
`start` calls its ``setup(fake)`` (or adds its ``routes`` table) first.

Not imitated: departments and tags (every toparty/totag id is invalid), the
daily per-app and per-corp quotas, base API frequency limits, 43012 (no
callback URL) and the 86xxx daily group caps.
"""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web

from fakewecom.errors import ApiError, error_body
from fakewecom.state import (
    AIBOT_CODE_TTL_S,
    APP_MSGTYPES,
    APPCHAT_MSGTYPES,
    NOTICE_TYPES,
    RECALL_WINDOW_S,
    WEBHOOK_MSGTYPES,
    Chat,
    Message,
    RecordedRequest,
    WeComState,
    check_articles,
    check_base64_image,
    check_card,
    check_text,
    check_textcard,
    is_updatable,
)

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json"
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MEDIA_LIMITS = {
    "image": 10 << 20,
    "voice": 2 << 20,
    "video": 10 << 20,
    "file": 20 << 20,
}
WEBHOOK_MEDIA_LIMITS = {"file": 20 << 20, "voice": 2 << 20}
CHAT_ID = re.compile(r"[0-9a-zA-Z]{1,32}")
CHAT_NAME_MAX = 50
CHAT_MEMBERS = range(2, 2001)

Handler = Callable[["Call"], Awaitable[dict[str, Any]]]


@dataclass
class Call:
    """One API request as the handlers see it."""

    request: web.Request
    ip: str
    query: dict[str, str]
    body: Any
    recorded: int  # index into WeComState.requests


@dataclass
class Fault:
    """A programmed misbehaviour for the next `times` calls to `api`."""

    api: str
    kind: str  # "fail" | "http" | "hang"
    times: int
    errcode: int = 0
    errmsg: str | None = None
    status: int = 0
    seconds: float = 0.0


def _api_name(api: str) -> str:
    return api.strip("/").removeprefix("cgi-bin/")


class FakeWeCom:
    """A fake WeCom server for tests and the offline demo.

    Args:
        corp_id: the corp id gettoken expects.
        apps: agentid -> secret; each secret gets tokens bound to its agent.
        users: member userids.
        webhooks: group-robot key -> robot name.
        webhook_members: robot name -> userids who see that robot's posts.
        clock: base time source (epoch seconds); `advance` moves on from it.
    """

    def __init__(
        self,
        corp_id: str = "wwfakecorp",
        apps: dict[int, str] | None = None,
        users: Iterable[str] = ("zhangsan", "lisi", "wangwu", "zhaoliu"),
        webhooks: dict[str, str] | None = None,
        clock: Callable[[], float] | None = None,
        webhook_members: dict[str, list[str]] | None = None,
    ) -> None:
        self.state = WeComState(
            corp_id,
            apps if apps is not None else {1000002: "app-secret"},
            users,
            webhooks or {},
            webhook_members,
            clock,
        )
        self.app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        self._faults: list[Fault] = []
        self._down_status: int | None = None
        self._down = False
        self._ip_blocked = False
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._extensions_mounted = False
        # The AI bot long-connection fake, set by fakewecom.aibot_ws.setup.
        self.aibot: Any = None
        self.host = ""
        self.port = 0
        self._add_api_routes()

    # -- lifecycle -------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on `host`:`port` (0 = any free port) and serve."""
        self._mount_extensions()
        self._stopping.clear()
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.host, self.port = self._runner.addresses[0][:2]
        logger.info("fake wecom listening url=%s", self.root_url)

    async def stop(self) -> None:
        """Release hung calls and shut the server down."""
        self._stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeWeCom:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def add_routes(self, routes: Iterable[web.AbstractRouteDef]) -> None:
        """Serve extra routes (e.g. ``GET /aibot/ws``); call before `start`."""
        self.app.router.add_routes(routes)

    def _mount_extensions(self) -> None:
        if self._extensions_mounted:
            return
        self._extensions_mounted = True
        try:
            module = importlib.import_module("fakewecom.aibot_ws")
        except ModuleNotFoundError as exc:
            if exc.name != "fakewecom.aibot_ws":
                raise
            return
        if callable(getattr(module, "setup", None)):
            module.setup(self)
        elif getattr(module, "routes", None) is not None:
            self.add_routes(module.routes)

    # -- addresses -------------------------------------------------------

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/cgi-bin/"

    @property
    def webhook_base(self) -> str:
        return f"{self.root_url}/cgi-bin/webhook/"

    # -- what people saw -------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self.state.requests)

    def seen_by(self, userid: str) -> list[Message]:
        """Messages delivered to `userid`: app messages and posts in their chats."""
        return self.state.seen_by(userid)

    def chat_log(self, chatid: str) -> list[Message]:
        """Messages posted in a group chat (appchat or AI bot)."""
        return self.state.chat_log(chatid)

    def webhook_log(self, name_or_key: str) -> list[Message]:
        return self.state.webhook_log(name_or_key)

    def cards(self, userid: str) -> dict[str, dict[str, Any]]:
        """task_id -> {"card", "greyed", "replace_name", "updated_at"} for a user."""
        return self.state.cards(userid)

    def now(self) -> float:
        """The fake clock, epoch seconds."""
        return self.state.now()

    # -- test set-up -----------------------------------------------------

    def add_chat(
        self, chatid: str, members: Iterable[str], name: str = "", owner: str = ""
    ) -> None:
        """A group no app created (e.g. one the AI bot is in)."""
        userlist = list(members)
        self.state.chats[chatid] = Chat(
            chatid,
            name or chatid,
            owner or (userlist[0] if userlist else ""),
            userlist,
            None,
        )

    def issue_aibot_response_code(
        self, chatid: str | None = None, userid: str | None = None
    ) -> str:
        """A ``response_url`` code for a message from `userid` (in `chatid`)."""
        return self.state.issue_aibot_code(chatid, userid)

    def aibot_response_url(
        self, chatid: str | None = None, userid: str | None = None
    ) -> str:
        code = self.issue_aibot_response_code(chatid, userid)
        return f"{self.base_url}aibot/response?response_code={code}"

    def issue_click_response_code(
        self, task_id: str, userid: str, agentid: int | None = None
    ) -> str:
        """The ``ResponseCode`` a click by `userid` on the card `task_id` carries."""
        if agentid is None:
            agentid = next(
                (a for (a, t) in self.state.tasks if t == task_id),
                next(iter(self.state.apps)),
            )
        return self.state.issue_response_code(agentid, task_id, clicker=userid)

    def record_aibot_push(self, target: str, body: dict[str, Any]) -> Message:
        """Deliver an AI bot message (long-connection push or reply).

        `target` is a group chatid or a userid, as in ``aibot_send_msg``.
        """
        chat = self.state.chats.get(target)
        user = None if chat is not None else self.state.find_user(target)
        if user is not None:
            record = self._record(body, body.get("msgtype", ""), "aibot", None)
            self.state.deliver_direct(record, [user])
            return record
        # A group the fake was not told about still gets a chat log.
        chat = chat or Chat(target, target, "", [], None)
        record = self._record(body, body.get("msgtype", ""), "aibot", target)
        self.state.deliver_chat(chat, record, capped=False)
        return record

    # -- faults ----------------------------------------------------------

    def fail_next(
        self, api: str, errcode: int, times: int = 1, errmsg: str | None = None
    ) -> None:
        """The next `times` calls to `api` answer `errcode` (HTTP 200)."""
        self._faults.append(Fault(_api_name(api), "fail", times, errcode, errmsg))

    def http_error_next(self, api: str, status: int, times: int = 1) -> None:
        self._faults.append(Fault(_api_name(api), "http", times, status=status))

    def hang_next(self, api: str, seconds: float, times: int = 1) -> None:
        """The next `times` calls wait `seconds` (or until `stop`) first."""
        self._faults.append(Fault(_api_name(api), "hang", times, seconds=seconds))

    def clear_faults(self) -> None:
        """Forget the programmed faults not used up yet (WeCom is well again)."""
        self._faults.clear()

    def expire_tokens(self) -> None:
        self.state.expire_tokens()

    def block_ip(self, blocked: bool = True) -> None:
        """The app's APIs answer 60020 (group robots do not check the IP)."""
        self._ip_blocked = blocked

    def down(self, is_down: bool = True, status: int | None = None) -> None:
        """Every API answers -1 (or HTTP `status`) until ``down(False)``."""
        self._down = is_down
        self._down_status = status if is_down else None

    def advance(self, seconds: float) -> None:
        self.state.clock.advance(seconds)

    def _take_fault(self, api: str, kind: str) -> Fault | None:
        for fault in self._faults:
            if fault.api == api and fault.kind == kind and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    # -- request plumbing ------------------------------------------------

    def _add_api_routes(self) -> None:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "gettoken", self._gettoken),
            ("POST", "message/send", self._message_send),
            ("POST", "message/update_template_card", self._update_card),
            ("POST", "message/recall", self._recall),
            ("POST", "appchat/create", self._appchat_create),
            ("GET", "appchat/get", self._appchat_get),
            ("POST", "appchat/update", self._appchat_update),
            ("POST", "appchat/send", self._appchat_send),
            ("POST", "media/upload", self._media_upload),
            ("POST", "webhook/send", self._webhook_send),
            ("POST", "webhook/upload_media", self._webhook_upload),
            ("POST", "aibot/response", self._aibot_response),
        ]
        for method, api, handler in table:
            self.app.router.add_route(
                method, f"/cgi-bin/{api}", self._endpoint(api, handler)
            )

    def _endpoint(
        self, api: str, handler: Handler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def endpoint(request: web.Request) -> web.StreamResponse:
            return await self._serve(api, handler, request)

        return endpoint

    async def _serve(
        self, api: str, handler: Handler, request: web.Request
    ) -> web.StreamResponse:
        ip = request.remote or "127.0.0.1"
        query = dict(request.query)
        multipart = request.content_type.startswith("multipart/")
        raw = b"" if multipart else await request.read()
        body = _parse_json(raw) if raw else None
        masked = {k: ("***" if k == "access_token" else v) for k, v in query.items()}
        self.state.requests.append(
            RecordedRequest(request.method, request.path, masked, body)
        )
        call = Call(request, ip, query, body, len(self.state.requests) - 1)
        logger.debug("fake wecom call api=%s", api)

        # Switches first, in the order a real outage would show them.
        if self._down:
            if self._down_status:
                return web.Response(status=self._down_status, text="Bad Gateway")
            return _json(error_body(-1, ip))
        # The trusted-IP list (企业可信IP) belongs to the app: robots and
        # response_url do not check it.
        if self._ip_blocked and api not in _NO_TRUSTED_IP:
            return _json(error_body(60020, ip))
        hang = self._take_fault(api, "hang")
        if hang is not None and await self._hang(hang.seconds):
            return web.Response(status=503, text="stopping")
        http = self._take_fault(api, "http")
        if http is not None:
            return web.Response(status=http.status, text=f"HTTP {http.status}")
        fail = self._take_fault(api, "fail")
        if fail is not None:
            return _json(error_body(fail.errcode, ip, fail.errmsg))

        if raw and body is _BAD_JSON:
            return _json(error_body(47001, ip))
        try:
            return _json(await handler(call))
        except ApiError as exc:
            return _json(error_body(exc.errcode, ip, detail=exc.detail))

    async def _hang(self, seconds: float) -> bool:
        """Wait; True when the server is stopping meanwhile."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def _agent(self, call: Call, agentid: object = None, required: bool = False) -> int:
        """The agent the call's token belongs to, checking a body ``agentid``."""
        token = self.state.check_token(call.query.get("access_token"))
        if agentid is None or agentid == "":
            if required:
                raise ApiError(41011)
            return token.agentid
        try:
            agent = int(str(agentid))
        except ValueError:
            raise ApiError(40056) from None
        if agent not in self.state.apps:
            raise ApiError(40056)
        if agent != token.agentid:
            raise ApiError(301002)
        return agent

    def _record(
        self, body: dict[str, Any], msgtype: str, via: str, chatid: str | None
    ) -> Message:
        record: Message = {
            "msgid": self.state.new_msgid(),
            "msgtype": msgtype,
            msgtype: copy.deepcopy(body.get(msgtype)),
            "via": via,
            "chatid": chatid,
            "at": self.state.now(),
            "recalled": False,
        }
        content = body.get(msgtype)
        if isinstance(content, dict) and "content" in content:
            record["content"] = content["content"]
        return record

    # -- tokens ----------------------------------------------------------

    async def _gettoken(self, call: Call) -> dict[str, Any]:
        # https://developer.work.weixin.qq.com/document/path/91039
        corpid = call.query.get("corpid", "")
        secret = call.query.get("corpsecret", "")
        if not corpid:
            raise ApiError(41002)
        if corpid != self.state.corp_id:
            raise ApiError(40013)
        if not secret:
            raise ApiError(41004)
        agent = next((a for a, s in self.state.apps.items() if s == secret), None)
        if agent is None:
            raise ApiError(40001)
        token = self.state.issue_token(agent)
        return _ok(access_token=token.value, expires_in=7200)

    # -- app messages ----------------------------------------------------

    async def _message_send(self, call: Call) -> dict[str, Any]:
        # https://developer.work.weixin.qq.com/document/path/90236
        body = _object(call.body)
        agent = self._agent(call, body.get("agentid"), required=True)
        msgtype = body.get("msgtype")
        if msgtype not in APP_MSGTYPES:
            raise ApiError(40008)
        touser = _ids(body.get("touser"))
        toparty = _ids(body.get("toparty"))
        totag = _ids(body.get("totag"))
        if not (touser or toparty or totag):
            raise ApiError(82001)
        task_id = self._check_content(body, msgtype, scope="corp")

        if "@all" in touser:
            users, invalid = list(self.state.users), []
        else:
            users, invalid = self.state.split_users(touser)
        if not users:
            raise ApiError(81013)
        if task_id is not None and (agent, task_id) in self.state.tasks:
            raise ApiError(42014, f"task_id {task_id} already used")
        dedupe = self._duplicate_key(agent, users, msgtype, body)
        earlier = self.state.recent_app_bodies.get(dedupe[0]) if dedupe else None
        if dedupe and earlier and self.state.now() - earlier[0] < dedupe[1]:
            self.state.duplicates.append(self._record(body, msgtype, "app", None))
            return _ok(msgid=earlier[1])

        record = self._record(body, msgtype, "app", None)
        record["agentid"] = agent
        post = self.state.deliver_app(agent, record, users)
        answer = _ok(msgid=record["msgid"])
        if dedupe:
            sent_at = self.state.now()
            self.state.recent_app_bodies[dedupe[0]] = (sent_at, record["msgid"])
        if invalid:
            answer["invaliduser"] = "|".join(invalid)
        if toparty:
            answer["invalidparty"] = "|".join(toparty)
        if totag:
            answer["invalidtag"] = "|".join(totag)
        if msgtype == "template_card" and task_id is not None:
            card = body["template_card"]
            self.state.register_task(agent, task_id, card, post.delivered_to)
            if is_updatable(card):
                answer["response_code"] = self.state.issue_response_code(agent, task_id)
        logger.debug(
            "fake wecom app message msgid=%s delivered=%d dropped=%d",
            record["msgid"],
            len(post.delivered_to),
            len(post.dropped_for),
        )
        return answer

    def _duplicate_key(
        self, agent: int, users: list[str], msgtype: str, body: dict[str, Any]
    ) -> tuple[tuple[object, ...], float] | None:
        """With ``enable_duplicate_check`` on: what makes a message the same (app,
        members, type, content) and the interval to look back (D90236: default
        1800 s, at most 4 h). WeCom answers such a repeat ok, delivering nothing."""
        if not body.get("enable_duplicate_check"):
            return None
        content = json.dumps(body.get(msgtype), sort_keys=True, ensure_ascii=False)
        interval = min(int(body.get("duplicate_check_interval") or 1800), 4 * 3600)
        return (agent, tuple(sorted(users)), msgtype, content), float(interval)

    def _check_content(
        self, body: dict[str, Any], msgtype: str, scope: str, text_limit: int = 2048
    ) -> str | None:
        """Check the `msgtype` part of a message; the card's task_id if any."""
        content = body.get(msgtype)
        if msgtype in ("text", "markdown", "markdown_v2"):
            check_text(content, text_limit)
        elif msgtype in ("image", "voice", "video", "file"):
            # A media_id only works where it was uploaded (app or that robot).
            self.state.find_media(_object(content).get("media_id", ""), scope, msgtype)
        elif msgtype == "textcard":
            check_textcard(content)
        elif msgtype in ("news", "mpnews"):
            check_articles(content)
        elif msgtype == "template_card":
            return check_card(content)
        return None

    async def _update_card(self, call: Call) -> dict[str, Any]:
        # https://developer.work.weixin.qq.com/document/path/94888
        body = _object(call.body)
        agent = self._agent(call, body.get("agentid"), required=True)
        code = self.state.take_response_code(body.get("response_code"))
        if code.agentid != agent:
            raise ApiError(42015)
        task = self.state.tasks.get((agent, code.task_id))
        if task is None:
            raise ApiError(42016, f"task_id {code.task_id} not found")

        if "button" in body:
            name = _object(body["button"]).get("replace_name")
            if not name:
                raise ApiError(42020)
            new_card = None
        elif "template_card" in body:
            check_card(body["template_card"], check_task_id=False)
            name, new_card = None, body["template_card"]
        else:
            raise ApiError(40058, "button or template_card required")

        if int(body.get("atall") or 0) == 1:
            targets, invalid = list(task.recipients), []
        else:
            targets, invalid = self.state.split_users(_ids(body.get("userids")))
            targets = [u for u in targets if u in task.recipients]
            if not targets and not invalid and code.clicker:
                targets = [code.clicker]
        if not targets and not invalid:
            raise ApiError(82001)
        code.used = True
        self.state.update_cards(task, targets, name, new_card)
        answer = _ok()
        if invalid:
            answer["invaliduser"] = invalid
        return answer

    async def _recall(self, call: Call) -> dict[str, Any]:
        # https://developer.work.weixin.qq.com/document/path/94867
        body = _object(call.body)
        agent = self._agent(call)
        msgid = body.get("msgid")
        for post in self.state.posts:
            record = post.record
            if record["msgid"] == msgid and record.get("agentid") == agent:
                if self.state.now() - record["at"] >= RECALL_WINDOW_S:
                    raise ApiError(40058, "msgid older than 24 h")
                record["recalled"] = True
                return _ok()
        raise ApiError(40058, "invalid msgid")

    # -- group chats -----------------------------------------------------

    def _own_chat(self, agent: int, chatid: object) -> Chat:
        chat = self.state.chats.get(str(chatid or ""))
        if chat is None:
            raise ApiError(86003)
        if chat.agentid != agent:
            raise ApiError(86008)
        return chat

    async def _appchat_create(self, call: Call) -> dict[str, Any]:
        # https://developer.work.weixin.qq.com/document/path/90245
        body = _object(call.body)
        agent = self._agent(call)
        name = str(body.get("name") or "")
        if len(name) > CHAT_NAME_MAX:
            raise ApiError(86004)
        userlist = body.get("userlist")
        if not isinstance(userlist, list) or len(userlist) not in CHAT_MEMBERS:
            raise ApiError(86006)
        members, unknown = self.state.split_users(str(u) for u in userlist)
        if unknown:
            raise ApiError(86007, "|".join(unknown))
        owner = self.state.find_user(str(body.get("owner") or members[0]))
        if owner is None or owner not in members:
            raise ApiError(86005)
        chatid = body.get("chatid")
        if chatid is None or chatid == "":
            chatid = self.state.new_chatid()
        elif not isinstance(chatid, str) or not CHAT_ID.fullmatch(chatid):
            raise ApiError(86001)
        if chatid in self.state.chats:
            raise ApiError(86215)
        self.state.chats[chatid] = Chat(chatid, name, owner, members, agent)
        return _ok(chatid=chatid)

    async def _appchat_get(self, call: Call) -> dict[str, Any]:
        agent = self._agent(call)
        chat = self._own_chat(agent, call.query.get("chatid"))
        info = {
            "chatid": chat.chatid,
            "name": chat.name,
            "owner": chat.owner,
            "userlist": list(chat.members),
            "chat_type": 0,
        }
        return _ok(chat_info=info)

    async def _appchat_update(self, call: Call) -> dict[str, Any]:
        body = _object(call.body)
        agent = self._agent(call)
        chat = self._own_chat(agent, body.get("chatid"))
        name = body.get("name")
        if name is not None and len(str(name)) > CHAT_NAME_MAX:
            raise ApiError(86004)
        added, unknown = self.state.split_users(
            map(str, body.get("add_user_list") or [])
        )
        removed, unknown_del = self.state.split_users(
            map(str, body.get("del_user_list") or [])
        )
        if unknown or unknown_del or any(u not in chat.members for u in removed):
            raise ApiError(86216)
        members = [u for u in chat.members if u not in removed]
        members += [u for u in added if u not in members]
        if len(members) not in CHAT_MEMBERS:
            raise ApiError(86006)
        owner = chat.owner
        if body.get("owner"):
            owner = self.state.find_user(str(body["owner"])) or ""
        if owner not in members:
            raise ApiError(86005)
        chat.members, chat.owner = members, owner
        if name is not None:
            chat.name = str(name)
        return _ok()

    async def _appchat_send(self, call: Call) -> dict[str, Any]:
        # https://developer.work.weixin.qq.com/document/path/90248
        body = _object(call.body)
        agent = self._agent(call)
        chat = self._own_chat(agent, body.get("chatid"))
        msgtype = body.get("msgtype")
        if msgtype not in APPCHAT_MSGTYPES:
            raise ApiError(40008)
        self._check_content(body, msgtype, scope="corp")
        record = self._record(body, msgtype, "appchat", chat.chatid)
        record["agentid"] = agent
        self.state.deliver_chat(chat, record)
        return _ok()

    # -- media -----------------------------------------------------------

    async def _read_media(
        self, call: Call, limits: dict[str, int], scope: str
    ) -> dict[str, Any]:
        type_ = call.query.get("type", "")
        if type_ not in limits:
            raise ApiError(40005)
        form = await call.request.post()
        upload = form.get("media")
        if not isinstance(upload, web.FileField):
            raise ApiError(44001)
        data = upload.file.read()
        self.state.requests[call.recorded] = self.state.requests[
            call.recorded
        ]._replace(body={"media": {"filename": upload.filename, "size": len(data)}})
        if len(data) <= 5:
            raise ApiError(40006)
        if len(data) > limits[type_]:
            raise ApiError(45001)
        media = self.state.add_media(type_, upload.filename, len(data), scope)
        return {
            "type": type_,
            "media_id": media.media_id,
            "created_at": str(int(media.created_at)),
        }

    async def _media_upload(self, call: Call) -> dict[str, Any]:
        # https://developer.work.weixin.qq.com/document/path/90253
        self._agent(call)
        answer = await self._read_media(call, MEDIA_LIMITS, "corp")
        return {"errcode": 0, "errmsg": "", **answer}

    # -- group robot -----------------------------------------------------

    def _webhook_name(self, call: Call) -> str:
        key = call.query.get("key", "")
        if key not in self.state.webhooks:
            raise ApiError(93000)
        return key

    async def _webhook_upload(self, call: Call) -> dict[str, Any]:
        key = self._webhook_name(call)
        answer = await self._read_media(call, WEBHOOK_MEDIA_LIMITS, f"webhook:{key}")
        return _ok(**answer)

    async def _webhook_send(self, call: Call) -> dict[str, Any]:
        # https://developer.work.weixin.qq.com/document/path/91770
        key = self._webhook_name(call)
        now = self.state.now()
        if not self.state.webhook_per_minute.allows(key, now):
            raise ApiError(45009)
        body = _object(call.body)
        msgtype = body.get("msgtype")
        if msgtype not in WEBHOOK_MSGTYPES:
            raise ApiError(40008)
        if msgtype == "template_card":
            check_card(
                body.get("template_card"),
                allowed=NOTICE_TYPES,
                check_task_id=False,
            )
        elif msgtype == "image":
            check_base64_image(body.get("image"))
        else:
            limit = 2048 if msgtype == "text" else 4096
            self._check_content(body, msgtype, f"webhook:{key}", text_limit=limit)

        self.state.webhook_per_minute.record(key, now)
        name = self.state.webhooks[key]
        record = self._record(body, msgtype, "webhook", None)
        record["webhook"] = name
        self.state.webhook_posts[name].append(record)
        self.state.deliver_direct(record, self.state.webhook_members.get(name, []))
        return _ok()

    # -- AI bot ----------------------------------------------------------

    async def _aibot_response(self, call: Call) -> dict[str, Any]:
        # https://developer.work.weixin.qq.com/document/path/101138
        code = self.state.aibot_codes.get(call.query.get("response_code", ""))
        if code is None or code.used:
            raise ApiError(40058, "invalid response_code")
        if self.state.now() - code.issued_at >= AIBOT_CODE_TTL_S:
            raise ApiError(40058, "response_code expired")
        body = _object(call.body)
        msgtype = body.get("msgtype")
        if msgtype == "markdown":
            check_text(body.get("markdown"), 20480)
        elif msgtype == "template_card":
            if code.chatid is not None:
                raise ApiError(40058, "template_card only in single chats")
            check_card(body.get("template_card"), check_task_id=False)
        else:
            raise ApiError(40008)
        code.used = True
        self.record_aibot_push(code.chatid or code.userid or "", body)
        return _ok()


_BAD_JSON = object()
_NO_TRUSTED_IP = frozenset({"webhook/send", "webhook/upload_media", "aibot/response"})


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _BAD_JSON


def _json(payload: dict[str, Any]) -> web.Response:
    return web.Response(
        text=json.dumps(payload, ensure_ascii=False),
        content_type=JSON_TYPE,
        charset="utf-8",
    )


def _ok(**fields: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **fields}


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ids(value: Any) -> list[str]:
    """Recipients given as ``"a|b"`` or a list, blanks dropped."""
    if isinstance(value, list):
        items = [str(v) for v in value]
    elif value is None:
        items = []
    else:
        items = str(value).split("|")
    return [item.strip() for item in items if item.strip()]
