"""Tests of the group-robot channel against the fake WeCom."""

from __future__ import annotations

import logging

import pytest

from bot.channels.base import SendError
from bot.channels.webhook import WebhookChannel
from bot.models import OutboxMessage
from fakewecom import FakeWeCom

HOOK_KEY = "hook-key-abcdef123456"
KEYS = {"szk": HOOK_KEY, "nfk": "revoked-key-000000"}


@pytest.fixture
async def fake():
    server = FakeWeCom(webhooks={HOOK_KEY: "szk"})
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def channel(fake):
    robots = WebhookChannel(fake.webhook_base, lambda name: KEYS.get(name, ""))
    yield robots
    await robots.stop()


async def test_webhook_channel_markdown_reaches_the_robot(fake, channel):
    await channel.send(OutboxMessage("webhook", "szk", "markdown", {"text": "**a**"}))

    log = fake.webhook_log("szk")
    assert [(m["msgtype"], m["content"]) for m in log] == [("markdown", "**a**")]
    assert channel.text_limit == 4096 and channel.rate == (20, 60.0)


async def test_webhook_channel_text_mentions_become_mentioned_list(fake, channel):
    text = "请 <@lisi> 和 <@zhangsan> 处理"

    await channel.send(OutboxMessage("webhook", "szk", "text", {"text": text}))

    sent = fake.webhook_log("szk")[0]
    assert sent["text"]["mentioned_list"] == ["lisi", "zhangsan"]
    assert "<@" not in sent["content"] and "处理" in sent["content"]


async def test_webhook_channel_file_is_uploaded_then_sent(fake, channel, tmp_path):
    path = tmp_path / "brief.docx"
    path.write_bytes(b"brief-bytes" * 10)
    message = OutboxMessage(
        "webhook", "szk", "file", {"path": str(path), "filename": "舆情简报.docx"}
    )

    await channel.send(message)

    upload = next(r for r in fake.requests if r.api == "webhook/upload_media")
    assert upload.body["media"]["filename"] == "舆情简报.docx"
    assert fake.webhook_log("szk")[0]["msgtype"] == "file"


async def test_webhook_channel_notice_card_and_button_card_fallback(fake, channel):
    notice = {
        "card_type": "text_notice",
        "main_title": {"title": "舆情提示"},
        "card_action": {"type": 1, "url": "https://example.cn/x"},
    }
    buttons = {"card_type": "button_interaction", "main_title": {"title": "批示"}}

    await channel.send(
        OutboxMessage("webhook", "szk", "card", {"template_card": notice, "text": "a"})
    )
    await channel.send(
        OutboxMessage("webhook", "szk", "card", {"template_card": buttons, "text": "b"})
    )

    log = fake.webhook_log("szk")
    assert [m["msgtype"] for m in log] == ["template_card", "markdown"]
    assert log[1]["content"] == "b"


async def test_webhook_channel_missing_key_is_config_problem_without_call(
    fake, channel
):
    with pytest.raises(SendError) as caught:
        await channel.send(OutboxMessage("webhook", "bgs", "text", {"text": "x"}))

    assert caught.value.config_problem and not caught.value.retryable
    assert "WECOM_WEBHOOK_KEY_BGS" in caught.value.reason
    assert fake.requests == []


async def test_webhook_channel_revoked_key_is_config_problem(channel):
    with pytest.raises(SendError) as caught:
        await channel.send(OutboxMessage("webhook", "nfk", "text", {"text": "x"}))

    assert caught.value.config_problem and caught.value.code == 93000


async def test_webhook_channel_rate_limit_answer_is_retryable(fake, channel):
    fake.fail_next("webhook/send", 45009)

    with pytest.raises(SendError) as caught:
        await channel.send(OutboxMessage("webhook", "szk", "text", {"text": "x"}))

    assert caught.value.retryable and caught.value.retry_after >= 60


async def test_webhook_channel_never_logs_the_key(fake, channel, caplog):
    caplog.set_level(logging.DEBUG)
    fake.fail_next("webhook/send", 45009)
    with pytest.raises(SendError):
        await channel.send(OutboxMessage("webhook", "szk", "text", {"text": "x"}))
    await channel.send(OutboxMessage("webhook", "szk", "text", {"text": "y"}))

    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("bot.")
    )
    assert "robot=szk" in ours
    assert HOOK_KEY not in ours and "key=" not in ours.replace("robot=", "")
