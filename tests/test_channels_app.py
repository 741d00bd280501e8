"""Tests of the app channels (``app`` and ``appchat``) against the fake WeCom."""

from __future__ import annotations

import pytest

from bot.channels.app import DUPLICATE_CHECK_INTERVAL_S, AppChannel
from bot.channels.base import SendError
from bot.models import OutboxMessage
from bot.wecom.api import WeComClient
from fakewecom import FakeWeCom

CORP = "wwtestcorp"
AGENT = 1000002
SECRET = "app-secret-0123456789"
USERS = ["zhangsan", "lisi", "wangwu", "admin"]

CARD = {
    "card_type": "text_notice",
    "main_title": {"title": "舆情提示 YQ-0001"},
    "card_action": {"type": 1, "url": "https://example.cn/t/YQ-0001"},
}


@pytest.fixture
async def fake():
    server = FakeWeCom(corp_id=CORP, apps={AGENT: SECRET}, users=USERS)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(fake):
    wecom = WeComClient(fake.base_url, CORP, AGENT, SECRET)
    yield wecom
    await wecom.aclose()


@pytest.fixture
async def group(client):
    return await client.appchat_create(
        {"name": "税政科", "owner": "lisi", "userlist": ["lisi", "zhangsan"]}
    )


def sent_bodies(fake: FakeWeCom, api: str) -> list[dict]:
    return [r.body for r in fake.requests if r.api == api]


async def test_app_channel_markdown_reaches_each_user_with_duplicate_check(
    fake, client
):
    channel = AppChannel(client, "app")
    message = OutboxMessage("app", "lisi|zhangsan", "markdown", {"text": "**通报**"})

    await channel.send(message)

    for user in ("lisi", "zhangsan"):
        assert [m["content"] for m in fake.seen_by(user)] == ["**通报**"]
    body = sent_bodies(fake, "message/send")[0]
    assert body["msgtype"] == "markdown"
    assert body["enable_duplicate_check"] == 1
    assert body["duplicate_check_interval"] == DUPLICATE_CHECK_INTERVAL_S
    assert channel.rate == (30, 60.0) and channel.text_limit == 2048


async def test_app_channel_text_kind_sends_text(fake, client):
    channel = AppChannel(client, "app")

    await channel.send(OutboxMessage("app", "lisi", "text", {"text": "纯文本"}))

    assert fake.seen_by("lisi")[0]["msgtype"] == "text"


async def test_app_channel_card_sends_template_card(fake, client):
    channel = AppChannel(client, "app")
    message = OutboxMessage(
        "app", "lisi", "card", {"template_card": CARD, "text": "舆情提示 YQ-0001"}
    )

    await channel.send(message)

    seen = fake.seen_by("lisi")[0]
    assert seen["msgtype"] == "template_card"
    assert seen["template_card"]["main_title"]["title"] == "舆情提示 YQ-0001"


async def test_appchat_channel_card_falls_back_to_its_text(fake, client, group):
    channel = AppChannel(client, "appchat")
    message = OutboxMessage(
        "appchat", group, "card", {"template_card": CARD, "text": "舆情提示 <@lisi>"}
    )

    await channel.send(message)

    log = fake.chat_log(group)
    assert [(m["msgtype"], m["content"]) for m in log] == [
        ("markdown", "舆情提示 @lisi")
    ]
    assert channel.rate == (200, 60.0)
    assert "enable_duplicate_check" not in sent_bodies(fake, "appchat/send")[0]


async def test_app_channel_file_is_uploaded_then_sent(fake, client, tmp_path):
    report = tmp_path / "report.docx"
    report.write_bytes(b"docx-content" * 20)
    channel = AppChannel(client, "app")
    message = OutboxMessage(
        "app", "lisi", "file", {"path": str(report), "filename": "舆情周报.docx"}
    )

    await channel.send(message)

    upload = next(r for r in fake.requests if r.api == "media/upload")
    assert upload.body["media"]["filename"] == "舆情周报.docx"
    assert fake.seen_by("lisi")[0]["msgtype"] == "file"


async def test_app_channel_missing_file_is_not_retryable(client, tmp_path):
    channel = AppChannel(client, "app")
    message = OutboxMessage("app", "lisi", "file", {"path": str(tmp_path / "no")})

    with pytest.raises(SendError) as caught:
        await channel.send(message)

    assert not caught.value.retryable and not caught.value.config_problem


async def test_app_channel_unknown_users_is_config_problem(client):
    channel = AppChannel(client, "app")

    with pytest.raises(SendError) as caught:
        await channel.send(OutboxMessage("app", "ghost", "text", {"text": "x"}))

    assert caught.value.config_problem and caught.value.code == 81013


async def test_appchat_channel_unknown_chat_is_config_problem(client):
    channel = AppChannel(client, "appchat")

    with pytest.raises(SendError) as caught:
        await channel.send(OutboxMessage("appchat", "nochat", "text", {"text": "x"}))

    assert caught.value.config_problem and caught.value.code == 86003


async def test_app_channel_empty_text_is_not_sent(fake, client):
    channel = AppChannel(client, "app")

    with pytest.raises(SendError) as caught:
        await channel.send(OutboxMessage("app", "lisi", "markdown", {"text": "  "}))

    assert not caught.value.retryable
    assert sent_bodies(fake, "message/send") == []
