"""Decrypted WeCom payloads become typed events and chat lines; retries are seen."""

from __future__ import annotations

import json

import pytest

from bot.dedupe import RecentKeys
from bot.events import Inbound
from bot.wecom.crypto import CallbackRejected
from bot.wecom.inbound import (
    AiBotEvent,
    AiBotText,
    AppEvent,
    AppText,
    CardClick,
    SelectedItem,
    StreamRefresh,
    Unsupported,
    parse_aibot_json,
    parse_app_xml,
    to_inbound,
)

APP_TEXT = (
    "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>"
    "<FromUserName><![CDATA[zhangsan]]></FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[命中 今日]]></Content><MsgId>1456453720</MsgId>"
    "<AgentID>1000002</AgentID></xml>"
)


def app_event(event: str, extra: str = "") -> str:
    return (
        "<xml><ToUserName><![CDATA[toUser]]></ToUserName>"
        "<FromUserName><![CDATA[lisi]]></FromUserName>"
        "<CreateTime>123456789</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>{extra}<AgentID>1</AgentID></xml>"
    )


def card_event(key: str, selected: str) -> str:
    return app_event(
        "template_card_event",
        f"<EventKey><![CDATA[{key}]]></EventKey><TaskId><![CDATA[YQ-1-r1]]></TaskId>"
        "<CardType><![CDATA[button_interaction]]></CardType>"
        "<ResponseCode><![CDATA[RC-1]]></ResponseCode>"
        f"<SelectedItems>{selected}</SelectedItems>",
    )


ONE_ITEM = (
    "<SelectedItem><QuestionKey><![CDATA[q1]]></QuestionKey>"
    "<OptionIds><OptionId><![CDATA[o1]]></OptionId></OptionIds></SelectedItem>"
)
TWO_ITEMS = (
    "<SelectedItem><QuestionKey><![CDATA[q1]]></QuestionKey>"
    "<OptionIds><OptionId><![CDATA[o1]]></OptionId>"
    "<OptionId><![CDATA[o2]]></OptionId></OptionIds></SelectedItem>"
    "<SelectedItem><QuestionKey><![CDATA[q2]]></QuestionKey>"
    "<OptionIds><OptionId><![CDATA[o3]]></OptionId></OptionIds></SelectedItem>"
)


def aibot(payload: dict) -> str:
    base = {
        "msgid": "MSG1",
        "aibotid": "BOT",
        "chatid": "CHAT1",
        "chattype": "group",
        "from": {"userid": "lisi"},
        "response_url": "https://example.invalid/aibot/response?response_code=x",
    }
    return json.dumps({**base, **payload}, ensure_ascii=False)


def test_parse_app_xml_text_message():
    event = parse_app_xml(APP_TEXT)

    assert event == AppText(
        channel="app",
        msg_type="text",
        sender="zhangsan",
        msg_id="1456453720",
        create_time=1476422779,
        content="命中 今日",
        agent_id="1000002",
    )
    assert event.dedupe_key == "app:msg:1456453720"


def test_parse_app_xml_enter_agent_event():
    event = parse_app_xml(app_event("enter_agent", "<EventKey><![CDATA[]]></EventKey>"))

    assert isinstance(event, AppEvent)
    assert (event.event, event.sender, event.event_key) == ("enter_agent", "lisi", "")


def test_parse_app_xml_card_event_single_selected_item_is_a_list():
    event = parse_app_xml(card_event("cmd:批示 YQ-2026-0012 同意", ONE_ITEM))

    assert isinstance(event, CardClick)
    assert event.task_id == "YQ-1-r1"
    assert event.event_key == "cmd:批示 YQ-2026-0012 同意"
    assert event.card_type == "button_interaction"
    assert event.response_code == "RC-1"
    assert event.selected_items == (SelectedItem("q1", ("o1",)),)


def test_parse_app_xml_card_event_several_selected_items():
    event = parse_app_xml(card_event("k", TWO_ITEMS))

    assert event.selected_items == (
        SelectedItem("q1", ("o1", "o2")),
        SelectedItem("q2", ("o3",)),
    )


def test_parse_app_xml_card_event_without_selection():
    event = parse_app_xml(card_event("k", ""))

    assert event.selected_items == ()


def test_parse_app_xml_card_event_dedupe_key_has_task_and_key():
    first = parse_app_xml(card_event("cmd:a", ""))
    other_button = parse_app_xml(card_event("cmd:b", ""))

    assert first.dedupe_key != other_button.dedupe_key
    assert first.dedupe_key == parse_app_xml(card_event("cmd:a", "")).dedupe_key


def test_parse_app_xml_image_is_unsupported():
    xml = APP_TEXT.replace("<![CDATA[text]]>", "<![CDATA[image]]>")

    event = parse_app_xml(xml)

    assert isinstance(event, Unsupported)
    assert event.why == "msgtype=image"


def test_parse_app_xml_unknown_event_is_unsupported():
    event = parse_app_xml(app_event("template_card_menu_event"))

    assert isinstance(event, Unsupported)
    assert event.event == "template_card_menu_event"


@pytest.mark.parametrize(
    "xml",
    ["<xml><MsgType>text", "<root><MsgType>text</MsgType></root>", "<xml></xml>"],
)
def test_parse_app_xml_malformed_rejected(xml):
    with pytest.raises(CallbackRejected) as caught:
        parse_app_xml(xml)

    assert caught.value.reason == "malformed"


def test_parse_aibot_json_group_text_keeps_mention():
    event = parse_aibot_json(
        aibot({"msgtype": "text", "text": {"content": "@机器人 帮助"}})
    )

    assert isinstance(event, AiBotText)
    assert event.content == "@机器人 帮助"
    assert (event.sender, event.chat_id, event.chattype) == ("lisi", "CHAT1", "group")
    assert event.response_url.startswith("https://example.invalid/")
    assert event.dedupe_key == "aibot:msg:MSG1"


def test_parse_aibot_json_mixed_keeps_text_parts():
    payload = {
        "msgtype": "mixed",
        "mixed": {
            "msg_item": [
                {"msgtype": "text", "text": {"content": "@机器人 查询"}},
                {"msgtype": "image", "image": {"url": "https://x"}},
                {"msgtype": "text", "text": {"content": "YQ-1"}},
            ]
        },
    }

    event = parse_aibot_json(aibot(payload))

    assert event.content == "@机器人 查询 YQ-1"


def test_parse_aibot_json_card_event():
    payload = {
        "msgtype": "event",
        "create_time": 1700000000,
        "event": {
            "eventtype": "template_card_event",
            "template_card_event": {
                "card_type": "button_interaction",
                "event_key": "cmd:批示 YQ-1 同意",
                "task_id": "T1",
                "selected_items": {
                    "selected_item": {
                        "question_key": "q",
                        "option_ids": {"option_id": "o"},
                    }
                },
            },
        },
    }

    event = parse_aibot_json(aibot(payload))

    assert isinstance(event, CardClick)
    assert (event.task_id, event.event_key, event.chat_id) == (
        "T1",
        "cmd:批示 YQ-1 同意",
        "CHAT1",
    )
    assert event.selected_items == (SelectedItem("q", ("o",)),)
    assert event.create_time == 1700000000


def test_parse_aibot_json_enter_chat():
    payload = {"msgtype": "event", "event": {"eventtype": "enter_chat"}}

    event = parse_aibot_json(aibot({**payload, "chattype": "single"}))

    assert isinstance(event, AiBotEvent)
    assert event.event == "enter_chat"


def test_parse_aibot_json_stream_refresh():
    event = parse_aibot_json(aibot({"msgtype": "stream", "stream": {"id": "S1"}}))

    assert isinstance(event, StreamRefresh)
    assert event.stream_id == "S1"


def test_parse_aibot_json_file_is_unsupported():
    event = parse_aibot_json(aibot({"msgtype": "file", "file": {"url": "x"}}))

    assert isinstance(event, Unsupported)


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"msgid": "x"}'])
def test_parse_aibot_json_malformed_rejected(text):
    with pytest.raises(CallbackRejected) as caught:
        parse_aibot_json(text)

    assert caught.value.reason == "malformed"


def test_to_inbound_app_text():
    inbound, context = to_inbound(parse_app_xml(APP_TEXT))

    assert inbound == Inbound(
        sender="zhangsan", text="命中 今日", msg_id="1456453720", channel="app"
    )
    assert context.kind == "text"


def test_to_inbound_card_click_runs_button_command():
    event = parse_app_xml(card_event("cmd:批示 YQ-2026-0012 同意", ONE_ITEM))

    inbound, context = to_inbound(event)

    assert inbound.text == "批示 YQ-2026-0012 同意"
    assert inbound.sender == "lisi"
    assert inbound.msg_id.startswith("evt-") and "批示" not in inbound.msg_id
    assert context.kind == "card_click"
    assert (context.task_id, context.response_code) == ("YQ-1-r1", "RC-1")
    assert context.selected_items == (SelectedItem("q1", ("o1",)),)


def test_to_inbound_card_key_without_command_is_unsupported():
    event = parse_app_xml(card_event("approve:YQ-1", ""))

    result = to_inbound(event)

    assert isinstance(result, Unsupported)
    assert result.why == "key_without_command"


def test_to_inbound_aibot_group_text_keeps_chat():
    event = parse_aibot_json(
        aibot({"msgtype": "text", "text": {"content": "@机器人 帮助"}})
    )

    inbound, context = to_inbound(event)

    assert (inbound.text, inbound.chat, inbound.channel) == (
        "@机器人 帮助",
        "CHAT1",
        "aibot",
    )
    assert context.chattype == "group"
    assert context.response_url == event.response_url


def test_to_inbound_menu_click_with_command():
    event = parse_app_xml(
        app_event("click", "<EventKey><![CDATA[cmd:帮助]]></EventKey>")
    )

    inbound, context = to_inbound(event)

    assert inbound.text == "帮助"
    assert context.kind == "menu_click"


def test_to_inbound_enter_agent_is_unsupported():
    event = parse_app_xml(app_event("enter_agent"))

    assert isinstance(to_inbound(event), Unsupported)


def test_recent_keys_second_delivery_is_not_first():
    seen = RecentKeys()

    first = seen.first_time("app:msg:1")
    again = seen.first_time("app:msg:1")

    assert first is True
    assert again is False


def test_recent_keys_forget_after_ttl():
    now = [1000.0]
    seen = RecentKeys(ttl_s=600, clock=lambda: now[0])
    seen.first_time("k")

    now[0] += 601

    assert "k" not in seen
    assert seen.first_time("k") is True


def test_recent_keys_bounded_forgets_oldest():
    seen = RecentKeys(max_keys=2)

    for key in ("a", "b", "c"):
        seen.first_time(key)

    assert len(seen) == 2
    assert "a" not in seen
    assert "c" in seen


@pytest.mark.parametrize(
    "payload",
    [
        {"from": None, "msgtype": "text", "text": {"content": "待办"}},
        {"from": {}, "msgtype": "event", "event": {
            "eventtype": "template_card_event",
            "template_card_event": {"task_id": "YQ-1-r1", "event_key": "cmd:待办"},
        }},
    ],
)  # fmt: skip
def test_parse_aibot_json_message_without_sender_rejected(payload):
    with pytest.raises(CallbackRejected) as caught:
        parse_aibot_json(aibot(payload))

    assert caught.value.reason == "malformed"
