"""No secret reaches anything the bot writes, even while WeCom answers errors.

The bot runs as an operator runs it: ``python -m bot run`` (DEBUG logging) with
every secret in its environment, against the fake WeCom and a local feed server.
WeCom misbehaves throughout: the AI bot refuses the first subscribe, a group robot
answers 93000, app messages meet -1 (system busy), expired tokens (40014) and a
blocked IP (60020); afterwards ``check --online`` meets 40001 and 93000. Commands
arrive as encrypted app callbacks; tickets and exports (处理单, 一案一档, 监控日志,
简报) are made in the console, and ``backup`` copies the data directory. Then every
byte the bot wrote is searched for every secret value (and every access token the
fake issued): stdout and stderr of each process, ``data/logs``, the store files
(outbox included), the exports (inside the docx and zip files too) and the backup.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
import socket
import sys
import zipfile
from collections.abc import Callable, Iterator
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.store import Store
from fakewecom import FakeWeCom
from fakewecom.aibot_ws import FakeAiBotServer
from fakewecom.callbacks import CallbackDriver
from tests.conftest import ROOT, base_with_chats
from tests.feedserver import Route

TZ = ZoneInfo("Asia/Shanghai")
CORP = "wwleakprobecorp"
AGENT = 1000002
BOT_ID = "leak-probe-bot"
SECRETS = {
    "WECOM_APP_SECRET": "appsecret-LEAKPROBE-3f9a1c7e",
    "WECOM_APP_TOKEN": "apptoken-LEAKPROBE-77b2d4",
    "WECOM_APP_AES_KEY": "TEVBSy1wcm9iZS1hZXMta2V5LTMyLWJ5dGVzLW9rISE",
    "WECOM_AIBOT_SECRET": "aibotsecret-LEAKPROBE-c41d08",
    "WECOM_WEBHOOK_KEY_SZK": "hookszk-LEAKPROBE-5e6f2a",
    "WECOM_WEBHOOK_KEY_OFFICE": "hookoffice-LEAKPROBE-9a0b3c",
}
USERS = ["zhangsan", "lisi", "wangwu", "zhaoliu", "sunqi", "leader1", "admin"]
TICKET_ID = re.compile(r"YQ-\d{4}-\d+")
GUARD_S = 30.0  # not a measurement: turns "never happened" into a failure


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bot_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WECOM_") and not k.lower().endswith("_proxy")
    }
    return env | SECRETS | {"PYTHONPATH": str(ROOT)}


def serve_feeds(feed_server) -> None:
    """One feed a section, each with an item its rule matches."""
    date = format_datetime(datetime.now(TZ))
    items = {
        "szk": ("纳税人投诉某地发票开具难", "发票 投诉"),
        "nfk": ("网友反映个税退税迟迟未到账", "个税 退税"),
    }
    for section, (title, text) in items.items():
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>x</title><link>https://x.example.cn/</link><item>"
            f"<title>{title}</title><link>https://x.example.cn/{section}.html</link>"
            f"<description>{text}</description><pubDate>{date}</pubDate>"
            "</item></channel></rss>"
        )
        feed_server.routes[f"/{section}.rss"] = Route(
            body=body.encode(), headers={"Content-Type": "application/rss+xml"}
        )


def write_config(path: Path, feed_server, fake: FakeWeCom, port: int) -> Path:
    path.write_text(
        base_with_chats("webhook:szk", "aibot:grp-nfk", "webhook:office").replace(
            "retries = 0\n", "retries = 0\ntimeout_s = 2\n"
        )
        + f"""
[scan]
failures_before_alert = 1

[[rules]]
name = "发票投诉"
expr = "发票 投诉"
section = "szk"

[[rules]]
name = "个税退税"
expr = "个税 退税"
section = "nfk"

[[sources]]
name = "本地新闻"
kind = "rss"
url = "{feed_server.url("/szk.rss")}"
section = "szk"

[[sources]]
name = "本地新闻·纳服"
kind = "rss"
url = "{feed_server.url("/nfk.rss")}"
section = "nfk"

[[sources]]
name = "失效来源"
kind = "rss"
url = "{feed_server.url("/gone.rss")}"
section = "szk"

[wecom]
webhook_base = "{fake.webhook_base}"

[[wecom.webhooks]]
name = "szk"

[[wecom.webhooks]]
name = "office"

[wecom.app]
corp_id = "{CORP}"
agent_id = {AGENT}
api_base = "{fake.base_url}"

[wecom.aibot]
bot_id = "{BOT_ID}"
ws_url = "{fake.aibot.ws_url}"

[server]
port = {port}
""",
        encoding="utf-8",
    )
    return path


async def bot(config: Path, *args: str, stdin: str = "") -> str:
    """Run ``python -m bot --config <config> <args>``; its stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        *args,
        cwd=config.parent,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=bot_env(),
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), GUARD_S)
    return out.decode() + err.decode()


async def wait_for(predicate: Callable[[], object]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD_S
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


def contents(root: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every file under `root`, and of every member of the zip
    files (docx, 一案一档, a docx inside one) among them."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        yield from _unpacked(str(path.relative_to(root)), path.read_bytes())


def _unpacked(name: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    yield name, data
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for member in archive.namelist():
                yield from _unpacked(f"{name}!{member}", archive.read(member))


async def run_bot_through_wecom_errors(config: Path, fake: FakeWeCom, port: int) -> str:
    """Phase 1: the running bot, while WeCom answers errors; its output."""
    log = config.parent / "run.out"
    aibot = fake.aibot
    aibot.secret = "rotated-by-someone"  # the first subscribe is refused
    aibot.fail_next("aibot_send_msg", -1, "system busy")
    fake.fail_next("webhook/send", 93000)
    fake.fail_next("message/send", -1, times=2)
    with open(log, "wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(config),
            "--log-level",
            "DEBUG",
            "run",
            cwd=config.parent,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=bot_env(),
        )

    def logged(text: str) -> Callable[[], bool]:
        return lambda: text in log.read_text("utf-8", errors="replace")

    try:
        await wait_for(logged("aibot subscribe rejected"))
        aibot.secret = SECRETS["WECOM_AIBOT_SECRET"]
        await wait_for(lambda: aibot.chat_log("grp-nfk"))  # after a -1
        await wait_for(logged("errcode=93000"))  # the szk robot's key
        await wait_for(lambda: fake.seen_by("admin"))  # told through the app

        driver = CallbackDriver(
            f"http://127.0.0.1:{port}/wecom/app/callback",
            SECRETS["WECOM_APP_TOKEN"],
            SECRETS["WECOM_APP_AES_KEY"],
            CORP,
        )
        await driver.app_text("zhangsan", "身份")
        await wait_for(lambda: fake.seen_by("zhangsan"))
        fake.expire_tokens()
        await driver.app_text("zhangsan", "命中")
        await wait_for(lambda: len(fake.seen_by("zhangsan")) >= 2)
        fake.block_ip(True)
        await driver.app_text("lisi", "身份")
        await wait_for(logged("errcode=60020"))
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), GUARD_S)
    fake.block_ip(False)
    return log.read_text("utf-8", errors="replace")


async def test_secrets_never_in_output_logs_store_exports_or_backup(
    tmp_path, feed_server
):
    serve_feeds(feed_server)
    fake = FakeWeCom(
        corp_id=CORP,
        apps={AGENT: SECRETS["WECOM_APP_SECRET"]},
        users=USERS,
        webhooks={
            SECRETS["WECOM_WEBHOOK_KEY_SZK"]: "szk",
            SECRETS["WECOM_WEBHOOK_KEY_OFFICE"]: "office",
        },
        webhook_members={"szk": ["zhangsan", "lisi"], "office": ["sunqi"]},
    )
    fake.aibot = FakeAiBotServer(BOT_ID, SECRETS["WECOM_AIBOT_SECRET"])
    outputs: dict[str, str] = {}
    async with fake:
        fake.aibot.allow_chat("grp-nfk", ("wangwu", "zhaoliu"))
        port = free_port()
        config = write_config(tmp_path / "config.toml", feed_server, fake, port)
        outputs["run"] = await run_bot_through_wecom_errors(config, fake, port)

        with Store.open(tmp_path / "data", TZ) as store:
            [hit] = [
                h
                for h in store.hits.since(datetime(2000, 1, 1, tzinfo=TZ))
                if h.section == "szk"
            ]
        outputs["登记"] = await bot(
            config, "console", "--as", "zhangsan", stdin=f"登记 {hit.id} 拟核实\n"
        )
        [ticket] = set(TICKET_ID.findall(outputs["登记"]))
        outputs["导出"] = await bot(
            config,
            "console",
            "--as",
            "sunqi",
            stdin=f"导出 {ticket}\n导出 {ticket} 全案\n导出日志 本月\n导出简报 本周\n",
        )
        fake.fail_next("gettoken", 40001)
        fake.fail_next("webhook/send", 93000, times=2)
        # (A refused AI bot subscribe was met above; here it would cost 15 s.)
        outputs["check"] = await bot(config, "check", "--online")
        outputs["backup"] = await bot(config, "backup", str(tmp_path / "backup"))
        tokens = list(fake.state.tokens)

    # The run met every programmed error and the commands did their work.
    logs = outputs["run"] + "".join(
        p.read_text("utf-8") for p in (tmp_path / "data" / "logs").glob("*")
    )
    for code in ("-1", "40014", "93000", "60020", "853000"):
        assert f"errcode={code}" in logs, code
    assert "40001" in outputs["check"] and "93000" in outputs["check"]
    exports = tmp_path / "data" / "exports"
    assert len(list(exports.glob("*.docx"))) == 3  # 处理单, 监控日志, 简报
    assert len(list(exports.glob("*.zip"))) == 1  # 一案一档
    assert (tmp_path / "backup" / "backup.json").is_file()
    assert len(tokens) >= 2

    written = [(f"output of {k}", v.encode()) for k, v in outputs.items()]
    written += list(contents(tmp_path))
    leaks = [
        f"{name} in {where}"
        for name, value in SECRETS.items() | {("access_token", t) for t in tokens}
        for where, data in written
        if value.encode() in data
    ]
    assert leaks == []
