"""``python -m bot check --online`` against the fake WeCom and local sources."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bot.store.lock import DirLock
from fakewecom.aibot_ws import FakeAiBotServer
from fakewecom.server import FakeWeCom
from tests.feedserver import FeedServer

ROOT = Path(__file__).resolve().parent.parent
CORP = "wwprobecorp"
HOOK_KEY = "0f3b6d9e-1c2a-4b5d-8e7f-123456789abc"
BOT_ID = "aibprobe"
BOT_SECRET = "probe-secret"


async def _check(config: Path, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "check",
        "--online",
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert b"Traceback" not in err, err.decode()
    return proc.returncode or 0, out.decode()


def _config(
    write_config: Callable[..., Path], fake: FakeWeCom, feeds: FeedServer
) -> Path:
    good = feeds.url("/feeds/tax-news.rss")
    gone = feeds.route("/gone.rss", status=404)
    return write_config(
        f'[wecom]\nwebhook_base = "{fake.webhook_base}"\n'
        '[[wecom.webhooks]]\nname = "szk"\n'
        f'[wecom.app]\ncorp_id = "{CORP}"\nagent_id = 1000002\n'
        f'api_base = "{fake.base_url}"\n'
        f'[[sources]]\nname = "好来源"\nkind = "rss"\nurl = "{good}"\nsection = "szk"\n'
        f'[[sources]]\nname = "坏来源"\nkind = "rss"\nurl = "{gone}"\nsection = "szk"\n'
    )


async def test_probe_reports_working_channels(
    write_config: Callable[..., Path], feed_server: FeedServer
) -> None:
    async with FakeWeCom(corp_id=CORP, webhooks={HOOK_KEY: "szk"}) as fake:
        config = _config(write_config, fake, feed_server)
        env = {"WECOM_APP_SECRET": "app-secret", "WECOM_WEBHOOK_KEY_SZK": HOOK_KEY}

        code, out = await _check(config, env)
        posted = fake.webhook_log("szk")

    assert "✔ 自建应用（AgentId 1000002）：凭据有效" in out
    assert "✔ 群机器人 szk：key 有效（未发送任何消息）" in out
    assert "✔ 来源“好来源”（rss）：读到" in out
    assert "✘ 来源“坏来源”（rss）" in out
    assert code == 1
    assert posted == []


async def test_probe_wrong_secret_and_key_give_fixes(
    write_config: Callable[..., Path], feed_server: FeedServer
) -> None:
    async with FakeWeCom(corp_id=CORP, webhooks={HOOK_KEY: "szk"}) as fake:
        config = _config(write_config, fake, feed_server)
        env = {
            "WECOM_APP_SECRET": "wrong-secret",
            "WECOM_WEBHOOK_KEY_SZK": "0f3b6d9e-0000-0000-0000-000000000000",
        }

        code, out = await _check(config, env)

    assert code == 1
    assert "✘ 自建应用（AgentId 1000002）：获取 access_token 失败" in out
    assert "WECOM_APP_SECRET" in out
    assert "✘ 群机器人 szk：企业微信不接受这个 key" in out
    assert "wrong-secret" not in out


async def test_probe_pasted_webhook_url_is_flagged(
    write_config: Callable[..., Path], feed_server: FeedServer
) -> None:
    async with FakeWeCom(corp_id=CORP, webhooks={HOOK_KEY: "szk"}) as fake:
        config = _config(write_config, fake, feed_server)
        url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={HOOK_KEY}"
        env = {"WECOM_APP_SECRET": "app-secret", "WECOM_WEBHOOK_KEY_SZK": url}

        code, out = await _check(config, env)

    assert code == 1
    assert "像是整个 Webhook 地址" in out
    assert "只填地址中 key= 后面的部分" in out


def _aibot_config(write_config: Callable[..., Path], fake: FakeAiBotServer) -> Path:
    return write_config(
        f'[wecom.aibot]\nbot_id = "{BOT_ID}"\nws_url = "{fake.ws_url}"\n'
    )


async def test_probe_aibot_subscribes_then_leaves(
    write_config: Callable[..., Path],
) -> None:
    fake = FakeAiBotServer(BOT_ID, BOT_SECRET)
    await fake.start()
    try:
        code, out = await _check(
            _aibot_config(write_config, fake), {"WECOM_AIBOT_SECRET": BOT_SECRET}
        )
        subscribed = len(fake.frames("aibot_subscribe"))
    finally:
        await fake.stop()

    assert f"✔ 智能机器人长连接（{BOT_ID}）：订阅成功，已断开" in out
    assert subscribed == 1
    assert code == 0


async def test_probe_aibot_skipped_while_bot_runs(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    fake = FakeAiBotServer(BOT_ID, BOT_SECRET)
    await fake.start()
    (tmp_path / "data").mkdir()
    lock = DirLock.acquire(tmp_path / "data")  # as the running bot holds it
    try:
        code, out = await _check(
            _aibot_config(write_config, fake), {"WECOM_AIBOT_SECRET": BOT_SECRET}
        )
        subscribed = len(fake.frames("aibot_subscribe"))
    finally:
        lock.release()
        await fake.stop()

    assert "机器人正在运行，跳过订阅测试" in out
    assert subscribed == 0
