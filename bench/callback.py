"""Load on the app callback endpoint: N encrypted callbacks per second for S seconds.

The bot (real App, channels, callback server and outbox) and the fake WeCom run in
a child process; this process signs and encrypts each callback like WeCom does and
POSTs it over loopback, measuring the time to the HTTP 200. Afterwards the child
reports how many commands its dispatcher answered and how many replies the fake
WeCom delivered.

    .venv/bin/python bench/callback.py            # 50/s for 60 s
    .venv/bin/python bench/callback.py --quick    # 50/s for 10 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fakewecom.callbacks import CallbackCrypto  # noqa: E402

TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "wwfakecorp"
# Replies go to the senders as app messages, which WeCom caps at 30 a minute per
# member; 120 senders keep 50 commands a second under that cap.
USERS = [f"user{n:03d}" for n in range(120)]

CHILD = textwrap.dedent(
    """
    import asyncio, json, sys
    from bot import config
    from bot.app import App
    from fakewecom import FakeWeCom

    async def main(path, users):
        fake = FakeWeCom(
            corp_id="wwfakecorp", apps={1000002: "app-secret"}, users=users
        )
        async with fake:
            text = open(path, encoding="utf-8").read()
            text = text.replace("FAKE_BASE", fake.base_url)
            open(path, "w", encoding="utf-8").write(text)
            env = {"WECOM_APP_SECRET": "app-secret", "WECOM_APP_TOKEN": sys.argv[3],
                   "WECOM_APP_AES_KEY": sys.argv[4]}
            settings = config.load(__import__("pathlib").Path(path), env=env)
            handled = 0
            async with App.open(settings) as app:
                original = app.dispatcher.handle
                async def counting(msg):
                    nonlocal handled
                    handled += 1
                    return await original(msg)
                app.dispatcher.handle = counting
                await app.start_channels()
                stop = asyncio.Event()
                worker = asyncio.ensure_future(app.outbox.run(app.channels, stop))
                print("READY", flush=True)
                await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
                for _ in range(1800):
                    if not app.outbox.pending():
                        break
                    await asyncio.sleep(0.1)
                stop.set()
                await worker
                delivered = sum(len(fake.seen_by(u)) for u in users)
                print(json.dumps({"handled": handled, "delivered": delivered,
                                  "pending": len(app.outbox.pending())}), flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2].split(",")))
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(folder: Path, port: int) -> Path:
    monitors = ", ".join(f'"{u}"' for u in USERS)
    path = folder / "config.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            admins = ["admin"]
            [bot]
            data_dir = "data"
            [[sections]]
            id = "szk"
            name = "税政管理科"
            monitors = [{monitors}]
            heads = ["lisi"]
            [wecom.app]
            corp_id = "{CORP}"
            agent_id = 1000002
            api_base = "FAKE_BASE"
            [server]
            port = {port}
            """
        ),
        encoding="utf-8",
    )
    return path


def envelope(crypto: CallbackCrypto, n: int) -> tuple[dict[str, str], bytes]:
    """The query and body WeCom would POST for text message number `n`."""
    user = USERS[n % len(USERS)]
    xml = (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        # A different command each time: WeCom shows an app message repeated within
        # 30 minutes once (enable_duplicate_check), so 25 identical replies to one
        # person would count as one delivered.
        f"<Content><![CDATA[查询 {n}]]></Content><MsgId>{10_000_000 + n}</MsgId>"
        "<AgentID>1000002</AgentID></xml>"
    )
    encrypt = crypto.seal(xml, CORP)
    timestamp, nonce = str(int(time.time())), str(100_000 + n)
    query = {
        "msg_signature": crypto.sign(timestamp, nonce, encrypt),
        "timestamp": timestamp,
        "nonce": nonce,
    }
    body = (
        f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]>"
        "</Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>"
    )
    return query, body.encode()


async def load(url: str, rate: int, seconds: int) -> list[float | None]:
    crypto = CallbackCrypto(TOKEN, AES_KEY)
    latencies: list[float | None] = []
    async with httpx.AsyncClient(timeout=10) as client:

        async def one(n: int) -> None:
            query, body = envelope(crypto, n)
            started = time.perf_counter()
            try:
                response = await client.post(url, params=query, content=body)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append((time.perf_counter() - started) * 1000 if ok else None)

        tasks = []
        start = time.perf_counter()
        for n in range(rate * seconds):
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            tasks.append(asyncio.ensure_future(one(n)))
        await asyncio.gather(*tasks)
    return latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 10 if args.quick else args.seconds

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        config = write_config(Path(tmp), port)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(config), ",".join(USERS), TOKEN, AES_KEY],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert child.stdout is not None and child.stdin is not None
        if child.stdout.readline().strip() != "READY":
            raise SystemExit("bot did not start")
        url = f"http://127.0.0.1:{port}/wecom/app/callback"
        latencies = asyncio.run(load(url, args.rate, seconds))
        child.stdin.close()
        stats = json.loads(child.stdout.readline())
        child.wait(timeout=120)

    ok = [v for v in latencies if v is not None]
    sent = len(latencies)
    result = {
        "rate_per_s": args.rate,
        "seconds": seconds,
        "sent": sent,
        "http_200": len(ok),
        "p50_ms": round(percentile(ok, 50), 2),
        "p99_ms": round(percentile(ok, 99), 2),
        "max_ms": round(max(ok), 2) if ok else 0,
        **stats,
        "lost": sent - stats["handled"],
    }
    print(f"回调压测：每秒 {args.rate} 个，共 {seconds} 秒，发出 {sent} 个")
    print(f"HTTP 200：{len(ok)}；p50 {result['p50_ms']} ms，p99 {result['p99_ms']} ms")
    print(
        f"处理命令 {stats['handled']} 条，回复送达 {stats['delivered']} 条，"
        f"待发 {stats['pending']} 条，丢失 {result['lost']} 条"
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
