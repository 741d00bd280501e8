"""The bot's real channel wiring against the fake WeCom, end to end.

A hit posted to a group (webhook, app group chat, AI bot), a command typed to the
app and in an AI-bot group, and an outage of ten (simulated) minutes: what each
person sees is read back from the fake.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from fakewecom import FakeWeCom
from fakewecom.aibot_ws import FakeAiBotServer
from fakewecom.callbacks import CallbackDriver
from tests.conftest import BASE_CONFIG
from tests.feedserver import Route

TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "wwfakecorp"
STORY = "某市税务局被指乱收费 多名纳税人投诉"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(TZ)

    def __call__(self) -> datetime:
        return self.now


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_story(feed_server) -> str:
    date = format_datetime(datetime.now(TZ))
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x'
        "</title><link>https://x.cn/</link><item><title>"
        f"{STORY}</title><link>https://x.cn/1.html</link><description>网友反映"
        f"办税服务厅乱收费。</description><pubDate>{date}</pubDate></item>"
        "</channel></rss>"
    ).encode()
    feed_server.routes["/story.rss"] = Route(
        body=body, headers={"Content-Type": "application/rss+xml"}
    )
    return (
        '[[sources]]\nname = "本地新闻"\nkind = "rss"\n'
        f'url = "{feed_server.url("/story.rss")}"\nsection = "szk"\n'
    )


def settings_for(write_config, chat: str, extra: str, env: dict[str, str]):
    base = BASE_CONFIG.replace('chat = "szk-group"', f'chat = "{chat}"')
    base = base.replace('expr = "发票 投诉"', 'expr = "乱收费 投诉"')
    return config.load(write_config(extra, base=base), env=env)


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


def texts(messages: list[dict]) -> list[str]:
    return [str(m.get("content", "")) for m in messages]


async def test_e2e_hit_reaches_group_through_webhook(write_config, feed_server):
    fake = FakeWeCom(
        webhooks={"hook-key-1": "szk"}, webhook_members={"szk": ["zhangsan", "lisi"]}
    )
    async with fake:
        extra = serve_story(feed_server) + (
            f'[wecom]\nwebhook_base = "{fake.webhook_base}"\n'
            '[[wecom.webhooks]]\nname = "szk"\n'
        )
        settings = settings_for(
            write_config, "webhook:szk", extra, {"WECOM_WEBHOOK_KEY_SZK": "hook-key-1"}
        )
        async with App.open(settings) as app:
            await app.start_channels()
            report = await app.scan_all()

        posted = texts(fake.webhook_log("szk"))
        seen = texts(fake.seen_by("lisi"))

    assert len(report.hits) == 1
    assert len(posted) == 1 and STORY.split()[0][:5] in posted[0]
    assert report.hits[0].id in posted[0]
    assert seen == posted


async def test_e2e_app_command_answered_once_despite_retries(write_config):
    fake = FakeWeCom(corp_id=CORP, apps={1000002: "app-secret"})
    async with fake:
        port = free_port()
        extra = (
            f'[wecom.app]\ncorp_id = "{CORP}"\nagent_id = 1000002\n'
            f'api_base = "{fake.base_url}"\n[server]\nport = {port}\n'
        )
        env = {
            "WECOM_APP_SECRET": "app-secret",
            "WECOM_APP_TOKEN": TOKEN,
            "WECOM_APP_AES_KEY": AES_KEY,
        }
        settings = settings_for(write_config, "appchat:szkchat", extra, env)
        stop = asyncio.Event()
        async with App.open(settings) as app:
            await app.start_channels()
            worker = asyncio.ensure_future(app.outbox.run(app.channels, stop))
            driver = CallbackDriver(
                f"http://127.0.0.1:{port}/wecom/app/callback", TOKEN, AES_KEY, CORP
            )
            first = await driver.app_text("zhangsan", "身份", msg_id=42)
            again = await driver.app_text("zhangsan", "身份", msg_id=42)
            await wait_for(lambda: fake.seen_by("zhangsan"))
            await asyncio.sleep(0.3)
            stop.set()
            await worker

        replies = texts(fake.seen_by("zhangsan"))

    assert first.ok and again.ok
    assert len(replies) == 1
    assert "监控科室：税政管理科" in replies[0]


async def test_e2e_aibot_group_command_and_hit_push(write_config, feed_server):
    fake = FakeWeCom()
    fake.aibot = FakeAiBotServer("bot-1", "aibot-secret")
    async with fake:
        fake.aibot.allow_chat("grp-szk", ("zhangsan", "lisi"))
        extra = serve_story(feed_server) + (
            f'[wecom.aibot]\nbot_id = "bot-1"\nws_url = "{fake.aibot.ws_url}"\n'
        )
        env = {"WECOM_AIBOT_SECRET": "aibot-secret"}
        settings = settings_for(write_config, "aibot:grp-szk", extra, env)
        async with App.open(settings) as app:
            await app.start_channels()
            await app.channels["aibot"].wait_connected()
            await fake.aibot.push_text("lisi", "@舆情助手　身份", chatid="grp-szk")
            await fake.aibot.wait_until(
                lambda: any(d.kind == "stream" for d in fake.aibot.chat_log("grp-szk"))
            )
            report = await app.scan_all()
            await fake.aibot.wait_until(
                lambda: any(
                    d.kind == "markdown" for d in fake.aibot.chat_log("grp-szk")
                )
            )

        shown = fake.aibot.chat_log("grp-szk")

    reply = next(d for d in shown if d.kind == "stream")
    push = next(d for d in shown if d.kind == "markdown")
    assert "负责科室：税政管理科" in reply.content and reply.finish
    assert "本群聊 ID：aibot:grp-szk" in reply.content
    assert report.hits[0].id in push.content


@pytest.mark.parametrize("outage", ["errcode-1", "http-502"])
async def test_e2e_ten_minute_outage_loses_nothing(write_config, feed_server, outage):
    clock = Clock()
    fake = FakeWeCom(corp_id=CORP, apps={1000002: "app-secret"}, users=["lisi"])
    async with fake:
        extra = (
            f'[wecom.app]\ncorp_id = "{CORP}"\nagent_id = 1000002\n'
            f'api_base = "{fake.base_url}"\n'
        )
        settings = settings_for(
            write_config, "app:lisi", extra, {"WECOM_APP_SECRET": "app-secret"}
        )
        async with App.open(settings, clock=clock) as app:
            await app.start_channels()
            fake.down(True, status=502 if outage == "http-502" else None)
            notices = [f"第 {n} 条通知" for n in range(1, 6)]
            app.outbox.enqueue([_to_lisi(text, clock.now) for text in notices])
            for _ in range(10):  # ten minutes of rounds while WeCom is down
                await app.deliver()
                clock.now += timedelta(minutes=1)
            during = list(fake.seen_by("lisi"))
            fake.down(False)
            for _ in range(10):
                await app.deliver()
                clock.now += timedelta(minutes=1)
            pending = app.outbox.pending()

        delivered = texts(fake.seen_by("lisi"))

    assert during == []
    assert delivered == notices
    assert pending == []


def _to_lisi(text: str, now: datetime):
    from bot.models import OutboxMessage

    return OutboxMessage(
        channel="app", chat="lisi", kind="text", body={"text": text}, created_at=now
    )


async def test_e2e_app_blocked_ip_alert_reaches_office_webhook(write_config):
    clock = Clock()
    fake = FakeWeCom(
        corp_id=CORP,
        apps={1000002: "app-secret"},
        users=["lisi", "admin"],
        webhooks={"hook-bgs": "bgs"},
        webhook_members={"bgs": ["sunqi"]},
    )
    async with fake:
        extra = (
            f'[wecom]\nwebhook_base = "{fake.webhook_base}"\n'
            '[[wecom.webhooks]]\nname = "bgs"\n'
            f'[wecom.app]\ncorp_id = "{CORP}"\nagent_id = 1000002\n'
            f'api_base = "{fake.base_url}"\n'
        )
        env = {"WECOM_APP_SECRET": "app-secret", "WECOM_WEBHOOK_KEY_BGS": "hook-bgs"}
        base = BASE_CONFIG.replace('chat = "office-group"', 'chat = "webhook:bgs"')
        settings = config.load(write_config(extra, base=base), env=env)
        fake.block_ip(True)
        async with App.open(settings, clock=clock) as app:
            await app.start_channels()
            app.outbox.enqueue([_to_lisi("给李四的通知", clock.now)])
            await app.deliver()
            await app.deliver()

        office = texts(fake.webhook_log("bgs"))

    assert len(office) == 1
    assert "机器人告警" in office[0] and "127.0.0.1" in office[0]
    assert "无需重启" in office[0]
    assert fake.seen_by("admin") == [] and fake.seen_by("lisi") == []
