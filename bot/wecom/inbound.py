"""Typed events from decrypted WeCom callbacks, and their chat lines for the dispatcher.

Two sources:

- the self-built app (自建应用) sends XML: text messages and events such as
  ``enter_agent``, menu ``click`` and ``template_card_event`` (card button clicks)
  — https://developer.work.weixin.qq.com/document/path/90238 (messages) and
  https://developer.work.weixin.qq.com/document/path/90240 (events);
- the AI bot (智能机器人) sends JSON: text (with the @mention) from groups and 1:1
  chats, ``template_card_event``, ``enter_chat`` and stream refreshes —
  https://developer.work.weixin.qq.com/document/path/100719 and
  https://developer.work.weixin.qq.com/document/path/101027.

Anything else becomes `Unsupported` (logged and ignored by the caller). xmltodict
gives a dict for one ``SelectedItem``/``OptionId`` and a list for several; both are
normalised to tuples here.

`to_inbound` turns an event into `bot.events.Inbound` plus an `InboundContext`
carrying what the channel needs to answer (response_url, task id, …). A card
button (or app menu entry) runs a command when its key is ``cmd:<command text>``,
e.g. ``cmd:批示 YQ-2026-0012 同意``; other keys are `Unsupported`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import xmltodict

from bot.events import Inbound
from bot.wecom.crypto import MALFORMED, CallbackRejected

COMMAND_PREFIX = "cmd:"


@dataclass(frozen=True)
class SelectedItem:
    """One question of a vote/multiple-choice card and the options picked."""

    question_key: str
    option_ids: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """What every callback event carries; `msg_type`/`event` name its kind."""

    channel: str
    msg_type: str
    event: str = ""
    sender: str = ""
    msg_id: str = ""
    create_time: int = 0

    @property
    def dedupe_key(self) -> str:
        """The key a retried delivery of this callback repeats."""
        if self.msg_id:
            return f"{self.channel}:msg:{self.msg_id}"
        return f"{self.channel}:event:{self.sender}:{self.create_time}:{self.event}"


@dataclass(frozen=True, kw_only=True)
class AppText(Delivery):
    """A text message typed in the app's 1:1 chat."""

    content: str
    agent_id: str = ""


@dataclass(frozen=True, kw_only=True)
class AppEvent(Delivery):
    """An app event other than a card click (enter_agent, click, view, …)."""

    event_key: str = ""
    agent_id: str = ""

    @property
    def dedupe_key(self) -> str:
        return (
            f"{self.channel}:event:{self.sender}:{self.create_time}:{self.event}:"
            f":{self.event_key}"
        )


@dataclass(frozen=True, kw_only=True)
class CardClick(Delivery):
    """A ``template_card_event``: a button or submit of a card was clicked.

    App clicks carry `response_code` (for ``message/update_template_card``); AI bot
    clicks carry `msg_id`, `chat_id`, `chattype` and `response_url` instead.
    """

    task_id: str
    event_key: str
    card_type: str = ""
    selected_items: tuple[SelectedItem, ...] = ()
    response_code: str = ""
    agent_id: str = ""
    chat_id: str = ""
    chattype: str = ""
    response_url: str = ""

    @property
    def dedupe_key(self) -> str:
        if self.msg_id:
            return f"{self.channel}:msg:{self.msg_id}"
        return (
            f"{self.channel}:event:{self.sender}:{self.create_time}:{self.event}:"
            f"{self.task_id}:{self.event_key}"
        )


@dataclass(frozen=True, kw_only=True)
class AiBotText(Delivery):
    """A message to the AI bot; in groups `content` starts with the @mention."""

    content: str
    chat_id: str = ""
    chattype: str = ""
    response_url: str = ""


@dataclass(frozen=True, kw_only=True)
class AiBotEvent(Delivery):
    """An AI bot event other than a card click (enter_chat, feedback_event, …)."""

    chat_id: str = ""
    chattype: str = ""


@dataclass(frozen=True, kw_only=True)
class StreamRefresh(Delivery):
    """WeCom asks for the next state of a stream reply that has not finished."""

    stream_id: str
    chat_id: str = ""


@dataclass(frozen=True, kw_only=True)
class Unsupported(Delivery):
    """A callback the bot does not act on; `why` says what it was."""

    why: str = ""


Event = AppText | AppEvent | CardClick | AiBotText | AiBotEvent | StreamRefresh


@dataclass(frozen=True)
class InboundContext:
    """What a channel needs, besides the chat line, to answer it.

    `kind` is ``"text"``, ``"card_click"`` or ``"menu_click"`` (an app menu entry
    whose key is a command).
    """

    kind: str
    chattype: str = ""
    response_url: str = ""
    task_id: str = ""
    event_key: str = ""
    card_type: str = ""
    response_code: str = ""
    selected_items: tuple[SelectedItem, ...] = ()


def parse_app_xml(xml: str) -> Event | Unsupported:
    """The event in a decrypted app callback; raise CallbackRejected if malformed."""
    try:
        root = xmltodict.parse(xml)["xml"]
    except Exception:  # expat errors, wrong root element
        raise CallbackRejected(MALFORMED) from None
    if not isinstance(root, dict):
        raise CallbackRejected(MALFORMED)
    msg_type = _text(root, "MsgType")
    common: dict[str, Any] = {
        "channel": "app",
        "msg_type": msg_type,
        "sender": _text(root, "FromUserName"),
        "msg_id": _text(root, "MsgId"),
        "create_time": _int(_text(root, "CreateTime")),
    }
    if not common["sender"] or not msg_type:
        raise CallbackRejected(MALFORMED)
    agent_id = _text(root, "AgentID")
    if msg_type == "text":
        return AppText(**common, content=_text(root, "Content"), agent_id=agent_id)
    if msg_type != "event":
        return Unsupported(**common, why=f"msgtype={msg_type}")
    event = _text(root, "Event")
    if event == "template_card_event":
        return CardClick(
            **common,
            event=event,
            task_id=_text(root, "TaskId"),
            event_key=_text(root, "EventKey"),
            card_type=_text(root, "CardType"),
            selected_items=_app_selected(root.get("SelectedItems")),
            response_code=_text(root, "ResponseCode"),
            agent_id=agent_id,
        )
    if event in ("enter_agent", "click", "view", "subscribe", "unsubscribe"):
        return AppEvent(
            **common, event=event, event_key=_text(root, "EventKey"), agent_id=agent_id
        )
    return Unsupported(**common, event=event, why=f"event={event}")


def _require_sender(sender: str) -> None:
    """A message or click without a sender can be nobody's command."""
    if not sender:
        raise CallbackRejected(MALFORMED)


def parse_aibot_json(text: str) -> Event | Unsupported:
    """The event in a decrypted AI bot callback; raise CallbackRejected if malformed."""
    try:
        data = json.loads(text)
    except ValueError:
        raise CallbackRejected(MALFORMED) from None
    if not isinstance(data, dict):
        raise CallbackRejected(MALFORMED)
    sender = _text(_dict(data.get("from")), "userid")
    msg_type = _text(data, "msgtype")
    common: dict[str, Any] = {
        "channel": "aibot",
        "msg_type": msg_type,
        "sender": sender,
        "msg_id": _text(data, "msgid"),
        "create_time": _int(_text(data, "create_time")),
    }
    if not msg_type:
        raise CallbackRejected(MALFORMED)
    chat = {"chat_id": _text(data, "chatid"), "chattype": _text(data, "chattype")}
    if msg_type in ("text", "voice", "mixed"):
        _require_sender(sender)
        return AiBotText(
            **common,
            **chat,
            content=_aibot_content(data, msg_type),
            response_url=_text(data, "response_url"),
        )
    if msg_type == "stream":
        stream_id = _text(_dict(data.get("stream")), "id")
        return StreamRefresh(**common, stream_id=stream_id, chat_id=chat["chat_id"])
    if msg_type != "event":
        return Unsupported(**common, why=f"msgtype={msg_type}")
    body = _dict(data.get("event"))
    event = _text(body, "eventtype")
    if event == "template_card_event":
        _require_sender(sender)
        card = _dict(body.get(event))
        return CardClick(
            **common,
            **chat,
            event=event,
            task_id=_text(card, "task_id"),
            event_key=_text(card, "event_key"),
            card_type=_text(card, "card_type"),
            selected_items=_aibot_selected(card.get("selected_items")),
            response_url=_text(data, "response_url"),
        )
    if event in ("enter_chat", "feedback_event"):
        return AiBotEvent(**common, **chat, event=event)
    return Unsupported(**common, event=event, why=f"event={event}")


def to_inbound(
    event: Event | Unsupported,
) -> tuple[Inbound, InboundContext] | Unsupported:
    """The chat line `event` stands for, or `Unsupported` when it is not one."""
    if isinstance(event, Unsupported):
        return event
    if isinstance(event, AppText):
        return _inbound(event, event.content, ""), InboundContext("text")
    if isinstance(event, AiBotText):
        context = InboundContext(
            "text", chattype=event.chattype, response_url=event.response_url
        )
        return _inbound(event, event.content, event.chat_id), context
    if isinstance(event, AppEvent) and event.event == "click":
        command = command_of(event.event_key)
        if not command:
            return _unsupported(event, "key_without_command")
        context = InboundContext("menu_click", event_key=event.event_key)
        return _inbound(event, command, ""), context
    if isinstance(event, CardClick):
        command = command_of(event.event_key)
        if not command:
            return _unsupported(event, "key_without_command")
        context = InboundContext(
            "card_click",
            chattype=event.chattype,
            response_url=event.response_url,
            task_id=event.task_id,
            event_key=event.event_key,
            card_type=event.card_type,
            response_code=event.response_code,
            selected_items=event.selected_items,
        )
        return _inbound(event, command, event.chat_id), context
    return _unsupported(event, "not_a_chat_line")


def command_of(key: str) -> str:
    """The command text in a button key ``cmd:<command>``, or ``""``."""
    if not key.startswith(COMMAND_PREFIX):
        return ""
    return key[len(COMMAND_PREFIX) :].strip()


def _inbound(event: Delivery, text: str, chat: str) -> Inbound:
    # Events have no MsgId; a digest of the delivery key is stable across retries
    # and keeps the button key (a command, i.e. message text) out of logs.
    digest = hashlib.sha1(event.dedupe_key.encode("utf-8")).hexdigest()[:16]
    msg_id = event.msg_id or f"evt-{digest}"
    return Inbound(
        sender=event.sender, text=text, chat=chat, msg_id=msg_id, channel=event.channel
    )


def _unsupported(event: Delivery, why: str) -> Unsupported:
    return Unsupported(
        channel=event.channel,
        msg_type=event.msg_type,
        event=event.event,
        sender=event.sender,
        msg_id=event.msg_id,
        create_time=event.create_time,
        why=why,
    )


def _aibot_content(data: dict[str, Any], msg_type: str) -> str:
    if msg_type == "mixed":
        items = _as_list(_dict(data.get("mixed")).get("msg_item"))
        parts = [
            _text(_dict(_dict(item).get("text")), "content")
            for item in items
            if _dict(item).get("msgtype") == "text"
        ]
        return " ".join(p for p in parts if p)
    return _text(_dict(data.get(msg_type)), "content")


def _app_selected(raw: Any) -> tuple[SelectedItem, ...]:
    items = _as_list(_dict(raw).get("SelectedItem"))
    return tuple(
        SelectedItem(
            _text(_dict(item), "QuestionKey"),
            tuple(
                _scalar(o)
                for o in _as_list(_dict(_dict(item).get("OptionIds")).get("OptionId"))
            ),
        )
        for item in items
    )


def _aibot_selected(raw: Any) -> tuple[SelectedItem, ...]:
    items = _as_list(_dict(raw).get("selected_item"))
    return tuple(
        SelectedItem(
            _text(_dict(item), "question_key"),
            tuple(
                _scalar(o)
                for o in _as_list(_dict(_dict(item).get("option_ids")).get("option_id"))
            ),
        )
        for item in items
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _scalar(value: Any) -> str:
    """A text value: xmltodict gives None for an empty element, a dict with
    ``#text`` when the element has attributes."""
    if value is None:
        return ""
    if isinstance(value, dict):
        value = value.get("#text", "")
    if isinstance(value, list | dict):
        raise CallbackRejected(MALFORMED)
    return value if isinstance(value, str) else str(value)


def _text(data: dict[str, Any], key: str) -> str:
    return _scalar(data.get(key))


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
