"""What the fake WeCom holds: its clock, corp, tokens, chats, media, posts and cards.

`WeComState` is the fake's memory and the bookkeeping every API shares: issuing
and checking access tokens, finding members, per-member rate windows (the
silent-drop caps of https://developer.work.weixin.qq.com/document/path/90236 and
/90248), recording delivered messages, and the per-user card state. The
``check_*`` functions at the end are the rules a message body must meet (sizes,
card structure, task_id). Which API applies which rule, and the HTTP side
(faults, routes, JSON), live in `fakewecom.server`.

Time is the fake clock's: `FakeClock.now()` is epoch seconds (real time unless a
base callable is given) plus whatever the tests `advance()`d.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import re
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from fakewecom.errors import ApiError

TOKEN_TTL_S = 7200
RESPONSE_CODE_TTL_S = 72 * 3600
AIBOT_CODE_TTL_S = 3600
MEDIA_TTL_S = 3 * 24 * 3600
RECALL_WINDOW_S = 24 * 3600

Message = dict[str, Any]

APP_MSGTYPES = frozenset(
    "text image voice video file textcard news mpnews markdown"
    " miniprogram_notice template_card".split()
)
APPCHAT_MSGTYPES = frozenset(
    "text image voice video file textcard news mpnews markdown".split()
)
WEBHOOK_MSGTYPES = frozenset(
    "text markdown markdown_v2 image news file voice template_card".split()
)
NOTICE_TYPES = frozenset({"text_notice", "news_notice"})
INTERACTIVE_TYPES = frozenset(
    {"button_interaction", "vote_interaction", "multiple_interaction"}
)
CARD_TYPES = NOTICE_TYPES | INTERACTIVE_TYPES
TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")
# Most list fields of a template card and their allowed sizes (D90236).
CARD_LIST_LIMITS = {
    "horizontal_content_list": 6,
    "jump_list": 3,
    "vertical_content_list": 4,
}
WEBHOOK_IMAGE_MAX = 2 << 20


class FakeClock:
    """Epoch seconds from `base` (default `time.time`) plus an offset tests move."""

    def __init__(self, base: Callable[[], float] | None = None) -> None:
        self._base = base or time.time
        self.offset = 0.0

    def now(self) -> float:
        return self._base() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class SlidingWindow:
    """At most `limit` events per key within any trailing `seconds`."""

    def __init__(self, seconds: float, limit: int) -> None:
        self.seconds = seconds
        self.limit = limit
        self._events: dict[object, deque[float]] = defaultdict(deque)

    def allows(self, key: object, now: float) -> bool:
        events = self._events[key]
        while events and now - events[0] >= self.seconds:
            events.popleft()
        return len(events) < self.limit

    def record(self, key: object, now: float) -> None:
        self._events[key].append(now)


class RecordedRequest(NamedTuple):
    """One API call as the fake saw it; ``access_token`` values are masked."""

    method: str
    path: str
    query: dict[str, str]
    body: Any

    @property
    def api(self) -> str:
        """The API name, e.g. ``message/send`` (the path after ``/cgi-bin/``)."""
        return self.path.removeprefix("/cgi-bin/")


@dataclass
class Token:
    value: str
    agentid: int
    issued_at: float
    revoked: bool = False


@dataclass
class Chat:
    """A group chat; `agentid` is the app that created it (None: not an app's)."""

    chatid: str
    name: str
    owner: str
    members: list[str]
    agentid: int | None


@dataclass
class Media:
    media_id: str
    type: str
    filename: str
    size: int
    created_at: float
    scope: str  # "corp" (media/upload) or "webhook:<key>" (webhook/upload_media)


@dataclass
class ResponseCode:
    """A card's update ticket: single use, 72 h (message/update_template_card)."""

    code: str
    agentid: int
    task_id: str
    issued_at: float
    clicker: str | None = None
    used: bool = False


@dataclass
class AibotCode:
    """An AI bot ``response_url`` ticket: single use, 1 h (aibot/response)."""

    code: str
    chatid: str | None
    userid: str | None
    issued_at: float
    used: bool = False


@dataclass
class Task:
    """A template card sent by an app, and who received it."""

    agentid: int
    task_id: str
    card: dict[str, Any]
    recipients: list[str]


@dataclass
class CardState:
    """The card one user currently sees for one task."""

    card: dict[str, Any]
    greyed: bool = False
    replace_name: str | None = None
    updated_at: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "card": copy.deepcopy(self.card),
            "greyed": self.greyed,
            "replace_name": self.replace_name,
            "updated_at": self.updated_at,
        }


@dataclass
class Post:
    """A message the fake accepted: what it was, who got it, who it dropped for."""

    record: Message
    delivered_to: list[str] = field(default_factory=list)
    dropped_for: list[str] = field(default_factory=list)


class WeComState:
    """The corp, its apps and members, and everything the APIs did to them.

    Args:
        corp_id: the corp's id (``corpid`` of gettoken).
        apps: agentid -> app secret.
        users: member userids (matched case-insensitively, as WeCom does).
        webhooks: group-robot key -> robot name.
        webhook_members: robot name -> userids in that robot's group, so
            `seen_by` can include webhook posts.
        clock: optional base time source (epoch seconds).
    """

    def __init__(
        self,
        corp_id: str,
        apps: dict[int, str],
        users: Iterable[str],
        webhooks: dict[str, str],
        webhook_members: dict[str, list[str]] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.corp_id = corp_id
        self.apps = dict(apps)
        self.users = list(users)
        self._user_index = {u.lower(): u for u in self.users}
        self.webhooks = dict(webhooks)
        self.webhook_members = {k: list(v) for k, v in (webhook_members or {}).items()}
        self.clock = FakeClock(clock)

        self.tokens: dict[str, Token] = {}
        self.chats: dict[str, Chat] = {}
        self.media: dict[str, Media] = {}
        self.response_codes: dict[str, ResponseCode] = {}
        self.aibot_codes: dict[str, AibotCode] = {}
        self.tasks: dict[tuple[int, str], Task] = {}
        self.card_states: dict[str, dict[str, CardState]] = defaultdict(dict)
        self.posts: list[Post] = []
        self.webhook_posts: dict[str, list[Message]] = defaultdict(list)
        self.requests: list[RecordedRequest] = []
        self._next_msgid = 1
        # enable_duplicate_check: (agent, users, msgtype, content) -> (at, msgid),
        # and the records WeCom took but did not deliver again.
        self.recent_app_bodies: dict[tuple[object, ...], tuple[float, str]] = {}
        self.duplicates: list[Message] = []

        # Silent caps on delivery (accepted with errcode 0, not shown to people).
        self.app_per_minute = SlidingWindow(60, 30)
        self.app_per_hour = SlidingWindow(3600, 1000)
        self.chat_per_minute = SlidingWindow(60, 200)
        # A refused limit (45009) on the group robot.
        self.webhook_per_minute = SlidingWindow(60, 20)

    def now(self) -> float:
        return self.clock.now()

    # -- members ---------------------------------------------------------

    def find_user(self, userid: str) -> str | None:
        """The member's canonical userid, or None when the corp has no such one."""
        return self._user_index.get(userid.strip().lower())

    def split_users(self, userids: Iterable[str]) -> tuple[list[str], list[str]]:
        """(known canonical userids, unknown ones lower-cased), order kept."""
        known: list[str] = []
        unknown: list[str] = []
        for raw in userids:
            if not raw.strip():
                continue
            user = self.find_user(raw)
            if user is None:
                unknown.append(raw.strip().lower())
            elif user not in known:
                known.append(user)
        return known, unknown

    # -- tokens ----------------------------------------------------------

    def issue_token(self, agentid: int) -> Token:
        token = Token(secrets.token_urlsafe(96), agentid, self.now())
        self.tokens[token.value] = token
        return token

    def check_token(self, value: str | None) -> Token:
        """The live token, else ApiError 41001 (missing), 42001 or 40014."""
        if not value:
            raise ApiError(41001)
        token = self.tokens.get(value)
        if token is None:
            raise ApiError(40014)
        if self.now() - token.issued_at >= TOKEN_TTL_S:
            raise ApiError(42001)
        if token.revoked:
            raise ApiError(40014)
        return token

    def expire_tokens(self) -> None:
        for token in self.tokens.values():
            token.revoked = True

    # -- ids and tickets -------------------------------------------------

    def new_msgid(self) -> str:
        msgid = f"fakemsg{self._next_msgid:06d}{secrets.token_hex(6)}"
        self._next_msgid += 1
        return msgid

    def issue_response_code(
        self, agentid: int, task_id: str, clicker: str | None = None
    ) -> str:
        code = secrets.token_urlsafe(24)
        self.response_codes[code] = ResponseCode(
            code, agentid, task_id, self.now(), clicker
        )
        return code

    def take_response_code(self, code: str | None) -> ResponseCode:
        """The live, unused code; 42016 when unknown, used or older than 72 h."""
        found = self.response_codes.get(code or "")
        if found is None:
            raise ApiError(42016, "response_code unknown")
        if found.used:
            raise ApiError(42016, "response_code already used")
        if self.now() - found.issued_at >= RESPONSE_CODE_TTL_S:
            raise ApiError(42016, "response_code expired")
        return found

    def issue_aibot_code(self, chatid: str | None, userid: str | None) -> str:
        code = secrets.token_urlsafe(24)
        self.aibot_codes[code] = AibotCode(code, chatid, userid, self.now())
        return code

    # -- media -----------------------------------------------------------

    def add_media(self, type_: str, filename: str, size: int, scope: str) -> Media:
        media = Media(
            secrets.token_urlsafe(33), type_, filename, size, self.now(), scope
        )
        self.media[media.media_id] = media
        return media

    def find_media(self, media_id: str, scope: str, type_: str | None) -> Media:
        """The live media of that scope (and type); else 41006/40007."""
        if not media_id:
            raise ApiError(41006)
        media = self.media.get(media_id)
        if (
            media is None
            or media.scope != scope
            or self.now() - media.created_at >= MEDIA_TTL_S
            or (type_ is not None and media.type != type_)
        ):
            raise ApiError(40007)
        return media

    # -- delivery --------------------------------------------------------

    def deliver_app(self, agentid: int, record: Message, users: list[str]) -> Post:
        """Record an app message; users over 30/min or 1000/h silently miss it."""
        post = Post(record)
        now = self.now()
        for user in users:
            key = (agentid, user)
            if self.app_per_minute.allows(key, now) and self.app_per_hour.allows(
                key, now
            ):
                self.app_per_minute.record(key, now)
                self.app_per_hour.record(key, now)
                post.delivered_to.append(user)
            else:
                post.dropped_for.append(user)
        self.posts.append(post)
        return post

    def deliver_chat(self, chat: Chat, record: Message, capped: bool = True) -> Post:
        """Record a group message; members over 200/min from one app miss it."""
        post = Post(record)
        now = self.now()
        for user in chat.members:
            key = ("chat", chat.agentid, user)
            if not capped or self.chat_per_minute.allows(key, now):
                if capped:
                    self.chat_per_minute.record(key, now)
                post.delivered_to.append(user)
            else:
                post.dropped_for.append(user)
        self.posts.append(post)
        return post

    def deliver_direct(self, record: Message, users: list[str]) -> Post:
        """Record a message every listed user gets (webhook, AI bot)."""
        post = Post(record, delivered_to=list(users))
        self.posts.append(post)
        return post

    def new_chatid(self) -> str:
        while True:
            chatid = "wr" + secrets.token_hex(15)
            if chatid not in self.chats:
                return chatid

    # -- cards -----------------------------------------------------------

    def register_task(
        self, agentid: int, task_id: str, card: dict[str, Any], users: list[str]
    ) -> Task:
        """Remember a sent card and show it to the users who got it."""
        task = Task(agentid, task_id, copy.deepcopy(card), list(users))
        self.tasks[(agentid, task_id)] = task
        for user in users:
            self.card_states[user][task_id] = CardState(
                copy.deepcopy(card), updated_at=self.now()
            )
        return task

    def update_cards(
        self,
        task: Task,
        users: list[str],
        replace_name: str | None,
        new_card: dict[str, Any] | None,
    ) -> None:
        """Grey the buttons (`replace_name`) or replace the card for `users`."""
        for user in users:
            state = self.card_states[user].get(task.task_id)
            if state is None:
                continue  # never delivered to this user (silently dropped)
            if new_card is not None:
                state.card = copy.deepcopy(new_card)
                state.greyed = bool(new_card.get("replace_text"))
                state.replace_name = new_card.get("replace_text")
            else:
                state.greyed = True
                state.replace_name = replace_name
            state.updated_at = self.now()

    # -- what people saw -------------------------------------------------

    def seen_by(self, userid: str) -> list[Message]:
        user = self.find_user(userid) or userid
        return [
            copy.deepcopy(post.record)
            for post in self.posts
            if user in post.delivered_to
        ]

    def chat_log(self, chatid: str) -> list[Message]:
        return [
            copy.deepcopy(post.record)
            for post in self.posts
            if post.record.get("chatid") == chatid
        ]

    def webhook_log(self, name_or_key: str) -> list[Message]:
        name = self.webhooks.get(name_or_key, name_or_key)
        return copy.deepcopy(self.webhook_posts.get(name, []))

    def cards(self, userid: str) -> dict[str, dict[str, Any]]:
        user = self.find_user(userid) or userid
        states = self.card_states.get(user, {})
        return {task_id: state.as_dict() for task_id, state in states.items()}


# -- message rules ---------------------------------------------------------


def check_text(content: object, limit: int) -> None:
    """A text/markdown part: non-empty ``content`` of at most `limit` bytes."""
    text = content.get("content") if isinstance(content, dict) else None
    if not isinstance(text, str) or not text:
        raise ApiError(44004)
    if len(text.encode("utf-8")) > limit:
        raise ApiError(45002, f"more than {limit} bytes")


def check_textcard(content: object) -> None:
    """title <= 128 bytes, description <= 512 bytes, url, btntxt <= 4 chars."""
    card = content if isinstance(content, dict) else {}
    title, description = card.get("title"), card.get("description")
    if not title:
        raise ApiError(41016)
    if not description:
        raise ApiError(41033)
    if not card.get("url"):
        raise ApiError(41010)
    if len(str(title).encode("utf-8")) > 128:
        raise ApiError(45002, "textcard.title more than 128 bytes")
    if len(str(description).encode("utf-8")) > 512:
        raise ApiError(45002, "textcard.description more than 512 bytes")
    if len(str(card.get("btntxt", ""))) > 4:
        raise ApiError(40058, "textcard.btntxt more than 4 characters")


def check_articles(content: object) -> None:
    """news/mpnews: 1 to 8 articles, each with a title."""
    articles = content.get("articles") if isinstance(content, dict) else None
    if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
        raise ApiError(45008)
    if not all(isinstance(a, dict) and a.get("title") for a in articles):
        raise ApiError(41016)


def check_base64_image(content: object) -> None:
    """A webhook image: base64 data whose md5 matches, at most 2 MB."""
    image = content if isinstance(content, dict) else {}
    try:
        data = base64.b64decode(str(image.get("base64", "")), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(40058, "image.base64") from None
    if not data or hashlib.md5(data).hexdigest() != str(image.get("md5", "")).lower():
        raise ApiError(40058, "image.md5")
    if len(data) > WEBHOOK_IMAGE_MAX:
        raise ApiError(45001)


def is_updatable(card: dict[str, Any]) -> bool:
    """Cards whose send answer carries a response_code (D94888)."""
    return card.get("card_type") in INTERACTIVE_TYPES or "action_menu" in card


def check_card(
    card: object,
    allowed: frozenset[str] = CARD_TYPES,
    check_task_id: bool = True,
) -> str | None:
    """Check a template_card; its task_id when it needs (or carries) one.

    Codes: 40058 for structure errors (the docs give no finer code), 42014 for a
    task_id that is missing where required, too long or of the wrong charset.
    """
    if not isinstance(card, dict):
        raise ApiError(40058, "template_card")
    card_type = card.get("card_type")
    if card_type not in allowed:
        raise ApiError(40058, f"card_type {card_type!r}")
    _check_titles(card, card_type)
    for name, limit in CARD_LIST_LIMITS.items():
        items = card.get(name)
        if items is not None and (not isinstance(items, list) or len(items) > limit):
            raise ApiError(40058, f"{name} holds at most {limit}")
    if card_type == "button_interaction":
        _check_buttons(card.get("button_list"))
    elif card_type == "vote_interaction":
        _check_vote(card)
    elif card_type == "multiple_interaction":
        _check_selects(card)

    needs_task = is_updatable(card)
    if not needs_task and "task_id" not in card:
        return None
    task_id = card.get("task_id")
    if check_task_id and (
        not isinstance(task_id, str) or not TASK_ID.fullmatch(task_id)
    ):
        raise ApiError(42014, "task_id missing or malformed")
    return task_id if isinstance(task_id, str) else None


def _check_titles(card: dict[str, Any], card_type: str) -> None:
    main_title = card.get("main_title")
    title = main_title.get("title") if isinstance(main_title, dict) else None
    if card_type in INTERACTIVE_TYPES:
        if not title:
            raise ApiError(40058, "main_title.title required")
        return
    if not title and not card.get("sub_title_text"):
        raise ApiError(40058, "main_title.title or sub_title_text required")
    action = card.get("card_action")
    if not isinstance(action, dict) or action.get("type") not in (1, 2):
        raise ApiError(40058, "card_action required")
    if action.get("type") == 1 and not action.get("url"):
        raise ApiError(40058, "card_action.url required")
    menu = card.get("action_menu")
    if menu is not None:
        actions = menu.get("action_list") if isinstance(menu, dict) else None
        if not isinstance(actions, list) or not 1 <= len(actions) <= 3:
            raise ApiError(40058, "action_menu.action_list holds 1 to 3")


def _check_buttons(buttons: object) -> None:
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
        raise ApiError(40058, "button_list holds 1 to 6 buttons")
    keys: set[str] = set()
    for button in buttons:
        if not isinstance(button, dict) or not button.get("text"):
            raise ApiError(40058, "button text required")
        if button.get("type", 0) == 1:
            if not button.get("url"):
                raise ApiError(40058, "button url required")
            continue
        key = button.get("key")
        if not isinstance(key, str) or not key or len(key.encode()) > 1024:
            raise ApiError(40058, "button key required, at most 1024 bytes")
        if key in keys:
            raise ApiError(40058, f"button key {key!r} repeated")
        keys.add(key)


def _check_submit(card: dict[str, Any]) -> None:
    submit = card.get("submit_button")
    if not isinstance(submit, dict) or not submit.get("text") or not submit.get("key"):
        raise ApiError(40058, "submit_button text and key required")


def _check_vote(card: dict[str, Any]) -> None:
    checkbox = card.get("checkbox")
    options = checkbox.get("option_list") if isinstance(checkbox, dict) else None
    if not isinstance(options, list) or not 1 <= len(options) <= 20:
        raise ApiError(40058, "checkbox.option_list holds 1 to 20")
    _check_submit(card)


def _check_selects(card: dict[str, Any]) -> None:
    selects = card.get("select_list")
    if not isinstance(selects, list) or not 1 <= len(selects) <= 3:
        raise ApiError(40058, "select_list holds 1 to 3")
    _check_submit(card)
