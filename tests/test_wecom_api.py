"""Tests of the WeCom REST clients and error table, against the fake WeCom over HTTP."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.wecom import errors
from bot.wecom.api import WebhookClient, WeComClient
from bot.wecom.errors import WeComError
from fakewecom import FakeWeCom

CORP = "wwtestcorp"
AGENT = 1000002
SECRET = "app-secret-0123456789"
HOOK_KEY = "hook-key-abcdef123456"
USERS = ["zhangsan", "lisi", "wangwu", "admin"]


class Mono:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fake():
    server = FakeWeCom(
        corp_id=CORP, apps={AGENT: SECRET}, users=USERS, webhooks={HOOK_KEY: "szk"}
    )
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(fake):
    mono = Mono()
    wecom = WeComClient(fake.base_url, CORP, AGENT, SECRET, clock=mono)
    wecom.mono = mono  # type: ignore[attr-defined]
    yield wecom
    await wecom.aclose()


def calls(fake: FakeWeCom, api: str) -> int:
    return sum(1 for r in fake.requests if r.api == api)


def markdown(text: str, to: str = "lisi") -> dict:
    return {"touser": to, "msgtype": "markdown", "markdown": {"content": text}}


async def test_client_send_fetches_one_token_for_many_calls(fake, client):
    await client.send(markdown("第一条"))
    await client.send(markdown("第二条"))

    assert calls(fake, "gettoken") == 1
    assert [m["content"] for m in fake.seen_by("lisi")] == ["第一条", "第二条"]
    assert fake.requests[-1].body["agentid"] == AGENT


async def test_client_concurrent_calls_share_one_token_fetch(fake, client):
    await asyncio.gather(*(client.send(markdown(f"消息{i}")) for i in range(5)))

    assert calls(fake, "gettoken") == 1
    assert len(fake.seen_by("lisi")) == 5


async def test_client_refreshes_token_five_minutes_before_expiry(fake, client):
    await client.send(markdown("早"))
    client.mono.now += 7200 - 299

    await client.send(markdown("晚"))

    assert calls(fake, "gettoken") == 2


async def test_client_revoked_token_refetches_once_and_retries(fake, client):
    await client.send(markdown("之前"))
    fake.expire_tokens()

    await client.send(markdown("之后"))

    assert calls(fake, "gettoken") == 2
    assert calls(fake, "message/send") == 3
    assert [m["content"] for m in fake.seen_by("lisi")] == ["之前", "之后"]


async def test_client_permanent_invalid_token_does_not_loop(fake, client):
    fake.fail_next("message/send", 40014, times=100)

    with pytest.raises(WeComError) as caught:
        await client.send(markdown("永远无效"))

    assert caught.value.code == 40014 and caught.value.retryable
    assert calls(fake, "message/send") == 2
    assert calls(fake, "gettoken") == 2


async def test_client_wrong_secret_is_config_problem_fetched_once(fake):
    wecom = WeComClient(fake.base_url, CORP, AGENT, "wrong-secret", clock=Mono())

    with pytest.raises(WeComError) as first:
        await wecom.send(markdown("x"))
    with pytest.raises(WeComError) as second:
        await wecom.send(markdown("y"))
    await wecom.aclose()

    for caught in (first, second):
        assert caught.value.code == 40001
        assert caught.value.config_problem and not caught.value.retryable
        assert "WECOM_APP_SECRET" in caught.value.reason
    assert calls(fake, "gettoken") == 1
    assert calls(fake, "message/send") == 0


async def test_client_wrong_corp_id_names_the_setting(fake):
    wecom = WeComClient(fake.base_url, "wwother", AGENT, SECRET, clock=Mono())

    with pytest.raises(WeComError) as caught:
        await wecom.send(markdown("x"))
    await wecom.aclose()

    assert caught.value.code == 40013 and caught.value.config_problem
    assert "corp_id" in caught.value.reason


async def test_client_blocked_ip_reason_names_the_egress_ip(fake, client):
    fake.block_ip(True)

    with pytest.raises(WeComError) as caught:
        await client.send(markdown("x"))

    assert caught.value.code == 60020 and caught.value.config_problem
    assert "127.0.0.1" in caught.value.reason
    assert "企业可信IP" in caught.value.reason


async def test_client_http_5xx_is_retryable(fake, client):
    await client.send(markdown("预热"))
    fake.http_error_next("message/send", 502)

    with pytest.raises(WeComError) as caught:
        await client.send(markdown("x"))

    assert caught.value.retryable and not caught.value.config_problem
    assert "502" in caught.value.reason


async def test_client_busy_server_is_retryable(fake, client):
    fake.down(True)

    with pytest.raises(WeComError) as caught:
        await client.send(markdown("x"))

    assert caught.value.code == -1 and caught.value.retryable


async def test_client_unreachable_server_is_retryable():
    wecom = WeComClient("http://127.0.0.1:9/cgi-bin/", CORP, AGENT, SECRET)

    with pytest.raises(WeComError) as caught:
        await wecom.send(markdown("x"))
    await wecom.aclose()

    assert caught.value.retryable
    assert "无法连接企业微信" in caught.value.reason


async def test_client_timeout_is_retryable(fake):
    wecom = WeComClient(fake.base_url, CORP, AGENT, SECRET, timeout=0.2)
    fake.hang_next("gettoken", 30)

    with pytest.raises(WeComError) as caught:
        await wecom.send(markdown("x"))
    await wecom.aclose()

    assert caught.value.retryable and "超时" in caught.value.reason


async def test_client_upload_media_then_send_file(fake, client):
    media_id = await client.upload_media("file", "周报.docx", b"docx-bytes" * 10)

    await client.send(
        {"touser": "lisi", "msgtype": "file", "file": {"media_id": media_id}}
    )

    upload = next(r for r in fake.requests if r.api == "media/upload")
    assert upload.body["media"]["filename"] == "周报.docx"
    assert fake.seen_by("lisi")[0]["file"]["media_id"] == media_id


async def test_client_appchat_create_get_send(fake, client):
    chatid = await client.appchat_create(
        {"name": "税政科舆情群", "owner": "lisi", "userlist": ["lisi", "zhangsan"]}
    )
    info = await client.appchat_get(chatid)

    await client.appchat_send(
        {"chatid": chatid, "msgtype": "text", "text": {"content": "大家好"}}
    )

    assert info["name"] == "税政科舆情群"
    assert [m["content"] for m in fake.chat_log(chatid)] == ["大家好"]


async def test_client_recall_sent_message(fake, client):
    answer = await client.send(markdown("发错了"))

    await client.recall(answer["msgid"])

    assert fake.seen_by("lisi")[0]["recalled"] is True


async def test_client_all_recipients_unknown_is_config_problem(fake, client):
    with pytest.raises(WeComError) as caught:
        await client.send(markdown("x", to="nobody"))

    assert caught.value.code == 81013 and caught.value.config_problem


async def test_webhook_client_send_and_upload(fake):
    hook = WebhookClient(fake.webhook_base, HOOK_KEY)
    media_id = await hook.upload_media("file", "日报.xlsx", b"xlsx-bytes" * 10)

    await hook.send({"msgtype": "markdown", "markdown": {"content": "**通报**"}})
    await hook.send({"msgtype": "file", "file": {"media_id": media_id}})
    await hook.aclose()

    log = fake.webhook_log("szk")
    assert [m["msgtype"] for m in log] == ["markdown", "file"]
    assert "***" in repr(hook) and HOOK_KEY not in repr(hook)


async def test_webhook_client_bad_key_is_config_problem(fake):
    hook = WebhookClient(fake.webhook_base, "not-a-key")

    with pytest.raises(WeComError) as caught:
        await hook.send({"msgtype": "text", "text": {"content": "x"}})
    await hook.aclose()

    assert caught.value.code == 93000 and caught.value.config_problem


async def test_clients_never_log_token_secret_or_key(fake, client, caplog):
    caplog.set_level(logging.DEBUG)
    hook = WebhookClient(fake.webhook_base, HOOK_KEY)
    await client.send(markdown("x"))
    fake.expire_tokens()
    await client.send(markdown("y"))
    fake.fail_next("webhook/send", 45009)
    with pytest.raises(WeComError):
        await hook.send({"msgtype": "text", "text": {"content": "z"}})
    await hook.aclose()

    ours = "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith("bot.")
    )
    assert ours  # something was logged
    token = client.tokens._token
    for secret in (token, SECRET, HOOK_KEY, "access_token=", fake.base_url):
        assert secret not in ours


def test_classify_rate_limit_waits_at_least_a_minute():
    error = errors.classify("webhook/send", 45009, "api freq out of limit")

    assert error.retryable and error.retry_after >= 60


def test_classify_unknown_code_is_a_message_problem():
    error = errors.classify("message/send", 12345, "strange thing, hint: [x]")

    assert not error.retryable and not error.config_problem
    assert "strange thing" in error.reason and "12345" in error.reason


def test_classify_blocked_ip_takes_ip_from_errmsg():
    errmsg = "not allow to access from your ip, hint: [1], from ip: 1.2.3.4, more"

    error = errors.classify("gettoken", 60020, errmsg)

    assert "服务器出口 IP 1.2.3.4 不在应用的企业可信 IP 中" in error.reason
    assert error.config_problem and not error.retryable
