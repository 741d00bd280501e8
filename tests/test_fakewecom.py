"""The fake WeCom's REST API, spoken to over real HTTP with plain httpx."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from fakewecom import FakeWeCom

AGENT = 1000002
OTHER_AGENT = 1000003
USERS = ["zhangsan", "lisi", "wangwu", "zhaoliu", "LiuBei"]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(
        corp_id="wwfakecorp",
        apps={AGENT: "app-secret", OTHER_AGENT: "other-secret"},
        users=USERS,
        webhooks={"hook-key-1": "szk"},
        webhook_members={"szk": ["zhangsan", "lisi"]},
    ) as server:
        yield server


@pytest.fixture
async def client(fake: FakeWeCom) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        yield http


async def get_token(client: httpx.AsyncClient, secret: str = "app-secret") -> str:
    answer = await client.get(
        "gettoken", params={"corpid": "wwfakecorp", "corpsecret": secret}
    )
    return answer.json()["access_token"]


async def post(
    client: httpx.AsyncClient, api: str, token: str, body: Any, **params: str
) -> dict[str, Any]:
    answer = await client.post(api, params={"access_token": token, **params}, json=body)
    assert answer.status_code == 200
    return answer.json()


def text(touser: str, content: str = "你好", agentid: int = AGENT) -> dict[str, Any]:
    return {
        "touser": touser,
        "msgtype": "text",
        "agentid": agentid,
        "text": {"content": content},
    }


def button_card(task_id: str, touser: str = "zhangsan|lisi", buttons: int = 2) -> dict:
    return {
        "touser": touser,
        "msgtype": "template_card",
        "agentid": AGENT,
        "template_card": {
            "card_type": "button_interaction",
            "main_title": {"title": "舆情待批示 YQ-0001"},
            "task_id": task_id,
            "button_list": [
                {"text": f"选项{i}", "style": 1, "key": f"k{i}"} for i in range(buttons)
            ],
        },
    }


# -- tokens -----------------------------------------------------------------


async def test_gettoken_right_secret_issues_token(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "gettoken", params={"corpid": "wwfakecorp", "corpsecret": "app-secret"}
    )

    body = answer.json()
    assert body["errcode"] == 0
    assert body["expires_in"] == 7200
    assert 0 < len(body["access_token"].encode()) <= 512


async def test_gettoken_wrong_secret_answers_40001(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "gettoken", params={"corpid": "wwfakecorp", "corpsecret": "nope"}
    )

    assert answer.json()["errcode"] == 40001


async def test_gettoken_wrong_corpid_answers_40013(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "gettoken", params={"corpid": "wwother", "corpsecret": "app-secret"}
    )

    assert answer.json()["errcode"] == 40013


async def test_send_missing_token_answers_41001(client: httpx.AsyncClient) -> None:
    answer = await client.post("message/send", json=text("zhangsan"))

    assert answer.json()["errcode"] == 41001


async def test_send_expired_tokens_answer_40014_then_42001(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)

    fake.expire_tokens()
    revoked = await post(client, "message/send", token, text("zhangsan"))
    fake.advance(7200)
    expired = await post(client, "message/send", token, text("zhangsan"))

    assert revoked["errcode"] == 40014
    assert expired["errcode"] == 42001


async def test_send_token_past_7200s_answers_42001(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)

    fake.advance(7199)
    fresh = await post(client, "message/send", token, text("zhangsan"))
    fake.advance(1)
    stale = await post(client, "message/send", token, text("zhangsan"))

    assert fresh["errcode"] == 0
    assert stale["errcode"] == 42001


async def test_send_other_apps_agentid_answers_301002(
    client: httpx.AsyncClient,
) -> None:
    token = await get_token(client, "other-secret")

    foreign = await post(client, "message/send", token, text("zhangsan"))
    unknown = await post(client, "message/send", token, text("zhangsan", agentid=9))

    assert foreign["errcode"] == 301002
    assert unknown["errcode"] == 40056


async def test_error_body_has_real_shape(client: httpx.AsyncClient) -> None:
    answer = await client.post("message/send", params={"access_token": "bad"}, json={})

    body = answer.json()
    assert body["errcode"] == 40014
    assert body["errmsg"].startswith("invalid access_token, hint: [")
    assert "from ip: 127.0.0.1" in body["errmsg"]
    assert body["errmsg"].endswith("devtool/query?e=40014")


async def test_block_ip_answers_60020_with_ip(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    fake.block_ip(True)
    answer = await client.get(
        "gettoken", params={"corpid": "wwfakecorp", "corpsecret": "app-secret"}
    )
    fake.block_ip(False)
    token = await get_token(client)

    assert answer.json()["errcode"] == 60020
    assert "from ip: 127.0.0.1" in answer.json()["errmsg"]
    assert token


# -- message/send -----------------------------------------------------------


async def test_send_text_is_seen_by_recipient(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)

    answer = await post(client, "message/send", token, text("zhangsan", "舆情提醒"))

    assert answer["errcode"] == 0 and answer["msgid"]
    [seen] = fake.seen_by("zhangsan")
    assert seen["msgtype"] == "text" and seen["content"] == "舆情提醒"
    assert seen["via"] == "app" and seen["chatid"] is None
    assert fake.seen_by("lisi") == []


async def test_send_body_without_content_type_accepted(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    raw = json.dumps(text("lisi", "涉税舆情"), ensure_ascii=False).encode()

    answer = await client.post(
        "message/send", params={"access_token": token}, content=raw
    )

    assert answer.json()["errcode"] == 0
    assert fake.seen_by("lisi")[0]["content"] == "涉税舆情"


async def test_send_partly_invalid_users_lists_them_lowercased(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)

    answer = await post(client, "message/send", token, text("zhangsan|Ghost|liubei"))

    assert answer["errcode"] == 0
    assert answer["invaliduser"] == "ghost"
    assert len(fake.seen_by("LiuBei")) == 1


async def test_send_all_invalid_users_answers_81013(client: httpx.AsyncClient) -> None:
    token = await get_token(client)

    answer = await post(client, "message/send", token, text("ghost|nobody"))

    assert answer["errcode"] == 81013


async def test_send_no_recipients_answers_82001(client: httpx.AsyncClient) -> None:
    token = await get_token(client)

    answer = await post(client, "message/send", token, text(""))

    assert answer["errcode"] == 82001


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({"msgtype": "sticker"}, 40008),
        ({"text": {"content": ""}}, 44004),
        ({"text": {"content": "税" * 683}}, 45002),
    ],
    ids=["bad-msgtype", "empty-text", "text-over-2048-bytes"],
)
async def test_send_bad_content_answers_code(
    client: httpx.AsyncClient, change: dict[str, Any], errcode: int
) -> None:
    token = await get_token(client)

    answer = await post(client, "message/send", token, text("zhangsan") | change)

    assert answer["errcode"] == errcode


async def test_send_over_30_per_minute_silently_dropped(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    for i in range(30):
        await post(client, "message/send", token, text("zhangsan", f"m{i}"))

    over = await post(client, "message/send", token, text("zhangsan", "dropped"))
    fake.advance(60)
    later = await post(client, "message/send", token, text("zhangsan", "later"))

    assert over["errcode"] == 0 and later["errcode"] == 0
    contents = [m["content"] for m in fake.seen_by("zhangsan")]
    assert len(contents) == 31
    assert "dropped" not in contents and "later" in contents


async def test_send_reused_task_id_answers_42014(client: httpx.AsyncClient) -> None:
    token = await get_token(client)

    first = await post(client, "message/send", token, button_card("YQ-0001-r1"))
    again = await post(client, "message/send", token, button_card("YQ-0001-r1"))
    bad = await post(client, "message/send", token, button_card("YQ 0001"))

    assert first["errcode"] == 0 and first["response_code"]
    assert again["errcode"] == 42014
    assert bad["errcode"] == 42014


async def test_send_seven_buttons_answers_40058(client: httpx.AsyncClient) -> None:
    token = await get_token(client)

    answer = await post(client, "message/send", token, button_card("t7", buttons=7))

    assert answer["errcode"] == 40058


async def test_send_text_notice_without_card_action_rejected(
    client: httpx.AsyncClient,
) -> None:
    token = await get_token(client)
    card = {"card_type": "text_notice", "main_title": {"title": "通知"}}
    body = {"touser": "zhangsan", "msgtype": "template_card", "agentid": AGENT}

    answer = await post(client, "message/send", token, body | {"template_card": card})

    assert answer["errcode"] == 40058


async def test_send_card_shows_in_cards(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)

    await post(client, "message/send", token, button_card("YQ-0002-r1"))

    state = fake.cards("lisi")["YQ-0002-r1"]
    assert state["greyed"] is False
    assert state["card"]["main_title"]["title"] == "舆情待批示 YQ-0001"
    assert fake.seen_by("lisi")[0]["template_card"]["task_id"] == "YQ-0002-r1"


# -- message/update_template_card -------------------------------------------


async def test_update_atall_greys_buttons_for_everyone(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    sent = await post(client, "message/send", token, button_card("YQ-0003-r1"))
    update = {
        "atall": 1,
        "agentid": AGENT,
        "response_code": sent["response_code"],
        "button": {"replace_name": "已批示"},
    }

    answer = await post(client, "message/update_template_card", token, update)

    assert answer["errcode"] == 0
    for user in ("zhangsan", "lisi"):
        state = fake.cards(user)["YQ-0003-r1"]
        assert state["greyed"] is True and state["replace_name"] == "已批示"


async def test_update_userids_greys_only_them(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    sent = await post(client, "message/send", token, button_card("YQ-0004-r1"))
    update = {
        "userids": ["lisi"],
        "agentid": AGENT,
        "response_code": sent["response_code"],
        "button": {"replace_name": "已退回"},
    }

    await post(client, "message/update_template_card", token, update)

    assert fake.cards("lisi")["YQ-0004-r1"]["greyed"] is True
    assert fake.cards("zhangsan")["YQ-0004-r1"]["greyed"] is False


async def test_update_response_code_single_use(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    sent = await post(client, "message/send", token, button_card("YQ-0005-r1"))
    update = {
        "atall": 1,
        "agentid": AGENT,
        "response_code": sent["response_code"],
        "button": {"replace_name": "已批示"},
    }

    first = await post(client, "message/update_template_card", token, update)
    second = await post(client, "message/update_template_card", token, update)

    assert first["errcode"] == 0
    assert second["errcode"] == 42016


async def test_update_response_code_expires_after_72h(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    sent = await post(client, "message/send", token, button_card("YQ-0006-r1"))
    fake.advance(72 * 3600)
    token = await get_token(client)
    update = {
        "atall": 1,
        "agentid": AGENT,
        "response_code": sent["response_code"],
        "button": {"replace_name": "已批示"},
    }

    answer = await post(client, "message/update_template_card", token, update)

    assert answer["errcode"] == 42016


async def test_update_with_click_code_replaces_card(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    await post(client, "message/send", token, button_card("YQ-0007-r1"))
    code = fake.issue_click_response_code("YQ-0007-r1", "lisi")
    new_card = button_card("YQ-0007-r1")["template_card"] | {"replace_text": "已同意"}
    update = {"agentid": AGENT, "response_code": code, "template_card": new_card}

    answer = await post(client, "message/update_template_card", token, update)

    assert answer["errcode"] == 0
    assert fake.cards("lisi")["YQ-0007-r1"]["replace_name"] == "已同意"
    assert fake.cards("zhangsan")["YQ-0007-r1"]["greyed"] is False


async def test_recall_marks_message_recalled(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    sent = await post(client, "message/send", token, text("zhangsan"))

    answer = await post(client, "message/recall", token, {"msgid": sent["msgid"]})

    assert answer["errcode"] == 0
    assert fake.seen_by("zhangsan")[0]["recalled"] is True


# -- appchat ----------------------------------------------------------------


async def test_appchat_create_send_reaches_members(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    chat = {"name": "税政管理科", "owner": "zhangsan", "userlist": ["zhangsan", "lisi"]}
    created = await post(client, "appchat/create", token, chat | {"chatid": "szk"})

    sent = await post(client, "appchat/send", token, {"chatid": "szk"} | text(""))
    info = await client.get(
        "appchat/get", params={"access_token": token, "chatid": "szk"}
    )

    assert created == {"errcode": 0, "errmsg": "ok", "chatid": "szk"}
    assert sent["errcode"] == 0
    assert info.json()["chat_info"]["userlist"] == ["zhangsan", "lisi"]
    assert [m["via"] for m in fake.chat_log("szk")] == ["appchat"]
    assert fake.seen_by("lisi")[0]["chatid"] == "szk"
    assert fake.seen_by("wangwu") == []


@pytest.mark.parametrize(
    ("chat", "errcode"),
    [
        ({"userlist": ["zhangsan"]}, 86006),
        ({"chatid": "bad-id!"}, 86001),
        ({"chatid": "x" * 33}, 86001),
        ({"name": "群" * 51}, 86004),
        ({"userlist": ["zhangsan", "ghost"]}, 86007),
    ],
    ids=["one-member", "bad-charset", "too-long-id", "long-name", "unknown-member"],
)
async def test_appchat_create_bad_chat_answers_code(
    client: httpx.AsyncClient, chat: dict[str, Any], errcode: int
) -> None:
    token = await get_token(client)
    base = {"name": "群", "owner": "zhangsan", "userlist": ["zhangsan", "lisi"]}

    answer = await post(client, "appchat/create", token, base | chat)

    assert answer["errcode"] == errcode


async def test_appchat_existing_chatid_answers_86215(
    client: httpx.AsyncClient,
) -> None:
    token = await get_token(client)
    chat = {"name": "群", "userlist": ["zhangsan", "lisi"], "chatid": "dup1"}

    await post(client, "appchat/create", token, chat)
    again = await post(client, "appchat/create", token, chat)

    assert again["errcode"] == 86215


async def test_appchat_unknown_and_foreign_chats_rejected(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    fake.add_chat("aibotgroup", ["zhangsan", "lisi"])

    unknown = await client.get(
        "appchat/get", params={"access_token": token, "chatid": "nochat"}
    )
    foreign = await post(
        client, "appchat/send", token, {"chatid": "aibotgroup"} | text("")
    )

    assert unknown.json()["errcode"] == 86003
    assert foreign["errcode"] == 86008


async def test_appchat_send_template_card_answers_40008(
    client: httpx.AsyncClient,
) -> None:
    token = await get_token(client)
    chat = {"name": "群", "userlist": ["zhangsan", "lisi"], "chatid": "cards"}
    await post(client, "appchat/create", token, chat)
    card = button_card("YQ-0008-r1") | {"chatid": "cards"}

    answer = await post(client, "appchat/send", token, card)

    assert answer["errcode"] == 40008


async def test_appchat_update_changes_members(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    chat = {"name": "群", "userlist": ["zhangsan", "lisi"], "chatid": "upd"}
    await post(client, "appchat/create", token, chat)
    change = {"chatid": "upd", "add_user_list": ["wangwu"], "del_user_list": ["lisi"]}

    answer = await post(client, "appchat/update", token, change)
    await post(client, "appchat/send", token, {"chatid": "upd"} | text(""))

    assert answer["errcode"] == 0
    assert len(fake.seen_by("wangwu")) == 1
    assert fake.seen_by("lisi") == []


async def test_appchat_over_200_per_minute_silently_dropped(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    chat = {"name": "群", "userlist": ["zhangsan", "lisi"], "chatid": "busy"}
    await post(client, "appchat/create", token, chat)
    for i in range(200):
        await post(client, "appchat/send", token, {"chatid": "busy"} | text("", f"{i}"))

    over = await post(client, "appchat/send", token, {"chatid": "busy"} | text(""))

    assert over["errcode"] == 0
    assert len(fake.chat_log("busy")) == 201
    assert len(fake.seen_by("lisi")) == 200


# -- media ------------------------------------------------------------------


async def test_media_upload_then_send_file(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    data = b"PK\x03\x04 docx bytes"
    files = {"media": ("报告.docx", data, "application/msword")}

    uploaded = await client.post(
        "media/upload", params={"access_token": token, "type": "file"}, files=files
    )
    media_id = uploaded.json()["media_id"]
    file_msg = {"touser": "zhangsan", "msgtype": "file", "agentid": AGENT}
    sent = await post(
        client, "message/send", token, file_msg | {"file": {"media_id": media_id}}
    )

    assert uploaded.json()["errcode"] == 0
    assert isinstance(uploaded.json()["created_at"], str)
    assert sent["errcode"] == 0
    assert fake.requests[-2].body == {
        "media": {"filename": "报告.docx", "size": len(data)}
    }


async def test_media_upload_bad_type_and_tiny_file_rejected(
    client: httpx.AsyncClient,
) -> None:
    token = await get_token(client)

    bad_type = await client.post(
        "media/upload",
        params={"access_token": token, "type": "doc"},
        files={"media": ("a.txt", b"123456789", "text/plain")},
    )
    tiny = await client.post(
        "media/upload",
        params={"access_token": token, "type": "file"},
        files={"media": ("a.txt", b"12345", "text/plain")},
    )

    assert bad_type.json()["errcode"] == 40005
    assert tiny.json()["errcode"] == 40006


async def test_media_id_expires_after_three_days(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    uploaded = await client.post(
        "media/upload",
        params={"access_token": token, "type": "file"},
        files={"media": ("a.txt", b"123456789", "text/plain")},
    )
    fake.advance(3 * 24 * 3600)
    token = await get_token(client)
    file_msg = {"touser": "zhangsan", "msgtype": "file", "agentid": AGENT}

    sent = await post(
        client,
        "message/send",
        token,
        file_msg | {"file": {"media_id": uploaded.json()["media_id"]}},
    )

    assert sent["errcode"] == 40007


# -- webhook ----------------------------------------------------------------


@pytest.fixture
async def hooks(fake: FakeWeCom) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.webhook_base) as http:
        yield http


async def webhook_send(
    hooks: httpx.AsyncClient, body: dict, key: str = "hook-key-1"
) -> dict:
    answer = await hooks.post("send", params={"key": key}, json=body)
    return answer.json()


async def test_webhook_21st_message_answers_45009_then_recovers(
    fake: FakeWeCom, hooks: httpx.AsyncClient
) -> None:
    message = {"msgtype": "text", "text": {"content": "扫描结果"}}
    answers = [await webhook_send(hooks, message) for _ in range(21)]

    fake.advance(60)
    later = await webhook_send(hooks, message)

    assert [a["errcode"] for a in answers] == [0] * 20 + [45009]
    assert later["errcode"] == 0
    assert len(fake.webhook_log("szk")) == 21
    assert fake.seen_by("lisi")[0]["via"] == "webhook"


async def test_webhook_unknown_key_answers_93000(hooks: httpx.AsyncClient) -> None:
    answer = await webhook_send(
        hooks, {"msgtype": "text", "text": {"content": "x"}}, "k"
    )

    assert answer["errcode"] == 93000


async def test_webhook_markdown_over_4096_bytes_rejected(
    hooks: httpx.AsyncClient,
) -> None:
    fits = {"msgtype": "markdown", "markdown": {"content": "税" * 1365}}
    over = {"msgtype": "markdown", "markdown": {"content": "税" * 1366}}

    assert (await webhook_send(hooks, fits))["errcode"] == 0
    assert (await webhook_send(hooks, over))["errcode"] == 45002


async def test_webhook_interactive_card_rejected(hooks: httpx.AsyncClient) -> None:
    card = button_card("wh-1")["template_card"]

    answer = await webhook_send(
        hooks, {"msgtype": "template_card", "template_card": card}
    )

    assert answer["errcode"] == 40058


async def test_webhook_upload_media_then_send_file(
    fake: FakeWeCom, hooks: httpx.AsyncClient
) -> None:
    uploaded = await hooks.post(
        "upload_media",
        params={"key": "hook-key-1", "type": "file"},
        files={"media": ("日报.docx", b"0123456789", "application/msword")},
    )
    media_id = uploaded.json()["media_id"]

    answer = await webhook_send(
        hooks, {"msgtype": "file", "file": {"media_id": media_id}}
    )

    assert uploaded.json()["errcode"] == 0
    assert answer["errcode"] == 0
    assert fake.webhook_log("hook-key-1")[0]["file"]["media_id"] == media_id


async def test_webhook_image_md5_checked(hooks: httpx.AsyncClient) -> None:
    data = b"\x89PNG fake image"
    image = {"base64": base64.b64encode(data).decode(), "md5": "0" * 32}

    wrong = await webhook_send(hooks, {"msgtype": "image", "image": image})
    image["md5"] = hashlib.md5(data).hexdigest()
    right = await webhook_send(hooks, {"msgtype": "image", "image": image})

    assert wrong["errcode"] == 40058
    assert right["errcode"] == 0


# -- aibot/response ---------------------------------------------------------


async def test_aibot_response_code_single_use(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    fake.add_chat("grp1", ["zhangsan", "lisi"])
    code = fake.issue_aibot_response_code(chatid="grp1", userid="zhangsan")
    body = {"msgtype": "markdown", "markdown": {"content": "已登记 YQ-0001"}}

    first = await client.post(
        "aibot/response", params={"response_code": code}, json=body
    )
    again = await client.post(
        "aibot/response", params={"response_code": code}, json=body
    )

    assert first.json()["errcode"] == 0
    assert again.json()["errcode"] == 40058
    [posted] = fake.chat_log("grp1")
    assert posted["via"] == "aibot" and posted["content"] == "已登记 YQ-0001"
    assert len(fake.seen_by("lisi")) == 1


async def test_aibot_response_code_expires_after_1h(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    code = fake.issue_aibot_response_code(userid="zhangsan")
    fake.advance(3600)
    body = {"msgtype": "markdown", "markdown": {"content": "迟到"}}

    answer = await client.post(
        "aibot/response", params={"response_code": code}, json=body
    )

    assert answer.json()["errcode"] == 40058
    assert fake.seen_by("zhangsan") == []


async def test_aibot_push_to_unknown_group_logged(fake: FakeWeCom) -> None:
    body = {"msgtype": "markdown", "markdown": {"content": "今日舆情"}}

    group = fake.record_aibot_push("wrgroup9", body)
    single = fake.record_aibot_push("zhangsan", body)

    assert group["chatid"] == "wrgroup9" and group["via"] == "aibot"
    assert fake.chat_log("wrgroup9")[0]["content"] == "今日舆情"
    assert single["chatid"] is None
    assert fake.seen_by("zhangsan") == [single]


async def test_add_routes_serves_extra_route() -> None:
    fake = FakeWeCom()

    async def pong(request: web.Request) -> web.Response:
        return web.Response(text="pong")

    fake.add_routes([web.get("/extra/ping", pong)])
    async with fake, httpx.AsyncClient() as http:
        answer = await http.get(f"{fake.root_url}/extra/ping")

    assert answer.text == "pong"


# -- faults -----------------------------------------------------------------


async def test_fail_next_answers_injected_code_once(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    fake.fail_next("message/send", 45033, errmsg="api concurrent out of limit")

    failed = await post(client, "message/send", token, text("zhangsan"))
    passed = await post(client, "message/send", token, text("zhangsan"))

    assert failed["errcode"] == 45033
    assert failed["errmsg"].startswith("api concurrent out of limit, hint:")
    assert passed["errcode"] == 0


async def test_http_error_next_answers_status(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    fake.http_error_next("gettoken", 502, times=2)
    params = {"corpid": "wwfakecorp", "corpsecret": "app-secret"}

    statuses = [
        (await client.get("gettoken", params=params)).status_code for _ in "abc"
    ]

    assert statuses == [502, 502, 200]


async def test_hang_next_makes_client_time_out(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)
    fake.hang_next("message/send", seconds=30)

    with pytest.raises(httpx.ReadTimeout):
        await client.post(
            "message/send",
            params={"access_token": token},
            json=text("zhangsan"),
            timeout=0.2,
        )
    answer = await post(client, "message/send", token, text("zhangsan"))

    assert answer["errcode"] == 0


async def test_down_answers_system_busy_or_status(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    params = {"corpid": "wwfakecorp", "corpsecret": "app-secret"}

    fake.down(True)
    busy = await client.get("gettoken", params=params)
    fake.down(True, status=502)
    gateway = await client.get("gettoken", params=params)
    fake.down(False)
    back = await client.get("gettoken", params=params)

    assert busy.json()["errcode"] == -1
    assert gateway.status_code == 502
    assert back.json()["errcode"] == 0


async def test_requests_log_masks_token(
    fake: FakeWeCom, client: httpx.AsyncClient
) -> None:
    token = await get_token(client)

    await post(client, "message/send", token, text("zhangsan"))

    method, path, query, body = fake.requests[-1]
    assert (method, path) == ("POST", "/cgi-bin/message/send")
    assert query == {"access_token": "***"}
    assert body["touser"] == "zhangsan"
    assert token not in repr(fake.requests)


async def test_textcard_limits_refused_like_wecom(fake: FakeWeCom, client) -> None:
    token = await get_token(client)
    card = {"title": "标题", "description": "描述", "url": "https://e.cn/"}
    cases = [
        ({"title": "长" * 43}, 45002),
        ({"description": "长" * 171}, 45002),
        ({"btntxt": "五个字按钮"}, 40058),
        ({"btntxt": "详情"}, 0),
    ]

    codes = []
    for change, _ in cases:
        body = {
            "touser": "zhangsan",
            "msgtype": "textcard",
            "agentid": 1000002,
            "textcard": {**card, **change},
        }
        answer = await client.post(
            "message/send", params={"access_token": token}, json=body
        )
        codes.append(answer.json()["errcode"])

    assert codes == [code for _, code in cases]
