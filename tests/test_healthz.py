"""``GET /healthz`` and ``GET /metrics`` over a real socket, in-process and in `run`."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from bot import config
from bot.app import App
from bot.healthz import serve_status
from bot.models import OutboxMessage
from bot.scheduler import build_scheduler
from tests.feedserver import FeedServer
from tests.test_e2e_wecom import AES_KEY, CORP, TOKEN

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = re.compile(
    r'^[a-z_]+(\{[a-z_]+="([^"\\]|\\.)*"(,[a-z_]+="([^"\\]|\\.)*")*\})? \S+$'
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(
    write_config: Callable[..., Path], feeds: FeedServer, port: int, extra: str = ""
) -> Path:
    good = feeds.url("/feeds/tax-news.rss")
    bad = feeds.route("/gone.rss", status=404)
    return write_config(
        f"[server]\nport = {port}\n"
        f'[[sources]]\nname = "好来源"\nkind = "rss"\nurl = "{good}"\nsection = "szk"\n'
        f'[[sources]]\nname = "坏来源"\nkind = "rss"\nurl = "{bad}"\nsection = "szk"\n'
        + extra
    )


async def test_healthz_reports_sources_outbox_scheduler(
    write_config: Callable[..., Path], feed_server: FeedServer
) -> None:
    port = _free_port()
    settings = config.load(_config(write_config, feed_server, port))
    async with App.open(settings) as app:
        await app.scan_all()
        app.outbox.enqueue([OutboxMessage("webhook", "szk", "text", {"text": "x"})])
        scheduler = build_scheduler(app)
        scheduler.start(paused=True)  # alive, but runs no scans behind our back
        server = await serve_status(app, scheduler)
        assert server is not None
        try:
            async with httpx.AsyncClient() as client:
                reply = await client.get(f"http://127.0.0.1:{port}/healthz")
        finally:
            await server.stop()
            scheduler.shutdown(wait=False)

    body = reply.json()
    assert reply.status_code == 200
    assert body["ok"] is True and body["scheduler_running"] is True
    sources = {s["name"]: s for s in body["sources"]}
    assert sources["好来源"]["last_success"] is not None
    assert sources["坏来源"]["consecutive_failures"] == 1
    assert body["outbox_pending"] >= 1
    assert {"name": "webhook", "connected": None, "pending": 1, "retrying": 0} in body[
        "channels"
    ]


async def test_healthz_503_when_jobs_overdue(
    write_config: Callable[..., Path], feed_server: FeedServer
) -> None:
    port = _free_port()
    settings = config.load(_config(write_config, feed_server, port))
    now = [datetime.now(settings.tz)]
    async with App.open(settings, clock=lambda: now[0]) as app:
        scheduler = build_scheduler(app)
        scheduler.start(paused=True)
        now[0] += timedelta(minutes=10)  # as if the loop had been stuck
        server = await serve_status(app, scheduler)
        assert server is not None
        try:
            async with httpx.AsyncClient() as client:
                reply = await client.get(f"http://127.0.0.1:{port}/healthz")
        finally:
            await server.stop()
            scheduler.shutdown(wait=False)

    assert reply.status_code == 503
    assert reply.json()["ok"] is False
    assert "chase" in reply.json()["overdue_jobs"]


async def test_metrics_prometheus_text_format(
    write_config: Callable[..., Path], feed_server: FeedServer
) -> None:
    port = _free_port()
    settings = config.load(_config(write_config, feed_server, port))
    async with App.open(settings) as app:
        await app.scan_all()
        scheduler = build_scheduler(app)
        scheduler.start(paused=True)
        server = await serve_status(app, scheduler)
        assert server is not None
        try:
            async with httpx.AsyncClient() as client:
                reply = await client.get(f"http://127.0.0.1:{port}/metrics")
        finally:
            await server.stop()
            scheduler.shutdown(wait=False)

    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = [ln for ln in reply.text.splitlines() if not ln.startswith("#")]
    assert all(SAMPLE.match(line) for line in samples), samples
    assert "bot_up 1" in samples
    assert 'bot_source_consecutive_failures{source="坏来源"} 1' in samples
    assert "# TYPE bot_outbox_pending gauge" in reply.text


async def test_healthz_rides_on_callback_server(
    write_config: Callable[..., Path], feed_server: FeedServer
) -> None:
    port = _free_port()
    extra = (
        f'[wecom.app]\ncorp_id = "{CORP}"\nagent_id = 1000002\n'
        f'api_base = "http://127.0.0.1:{_free_port()}/cgi-bin/"\n'
    )
    path = _config(write_config, feed_server, port, extra)
    env = {
        "WECOM_APP_SECRET": "s",
        "WECOM_APP_TOKEN": TOKEN,
        "WECOM_APP_AES_KEY": AES_KEY,
    }
    async with App.open(config.load(path, env=env)) as app:
        await app.start_channels()
        scheduler = build_scheduler(app)
        scheduler.start(paused=True)
        try:
            started = await serve_status(app, scheduler)
            async with httpx.AsyncClient() as client:
                reply = await client.get(f"http://127.0.0.1:{port}/healthz")
        finally:
            scheduler.shutdown(wait=False)

    assert started is None  # the callback server already listens on the port
    assert reply.status_code == 200
    assert [s["name"] for s in reply.json()["sources"]] == ["好来源", "坏来源"]


def test_run_serves_healthz_without_wecom(
    write_config: Callable[..., Path], feed_server: FeedServer, tmp_path: Path
) -> None:
    port = _free_port()
    path = _config(write_config, feed_server, port)
    bot = _run_bot(path, tmp_path)
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        reply = _poll(url, bot)
        healthy = _docker_healthcheck(url)
    finally:
        bot.send_signal(signal.SIGTERM)
        _, err = bot.communicate(timeout=20)
    stopped = _docker_healthcheck(url)

    assert reply.status_code == 200
    assert reply.json()["scheduler_running"] is True
    assert bot.returncode == 0, err
    # The image's HEALTHCHECK, run as Docker would (a proxy in the environment
    # must not catch the loopback request): healthy while the bot runs, not after.
    assert healthy.returncode == 0, healthy.stderr
    assert stopped.returncode != 0


def test_run_stops_cleanly_with_a_scan_in_flight(
    write_config: Callable[..., Path], feed_server: FeedServer, tmp_path: Path
) -> None:
    port = _free_port()
    slow = feed_server.route("/slow.rss", "<rss/>", delay_s=30)
    path = write_config(
        f"[server]\nport = {port}\n"
        f'[[sources]]\nname = "慢来源"\nkind = "rss"\nurl = "{slow}"\nsection = "szk"\n'
    )
    bot = _run_bot(path, tmp_path)
    try:
        _poll(f"http://127.0.0.1:{port}/healthz", bot)
        deadline = time.monotonic() + 20
        while not feed_server.hits("/slow.rss"):
            assert time.monotonic() < deadline, "the scan never started"
            time.sleep(0.05)
    finally:
        bot.send_signal(signal.SIGTERM)
        _, err = bot.communicate(timeout=20)

    assert bot.returncode == 0, err
    assert "scan stopped for shutdown source=慢来源" in err
    assert "Traceback" not in err and "raised an exception" not in err
    assert err.index("scans stopped") < err.index("store closed")


def _docker_healthcheck(url: str) -> subprocess.CompletedProcess[str]:
    """Run the Dockerfile's HEALTHCHECK command (its JSON exec form) here."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    found = re.search(r"^HEALTHCHECK .*? CMD (\[.*\])$", text, re.M)
    assert found, "Dockerfile has no HEALTHCHECK in exec form"
    command = json.loads(found[1])
    assert command[0] == "python"
    dead_proxy = f"http://127.0.0.1:{_free_port()}"
    env = {**os.environ, "BOT_HEALTH_URL": url, "HTTP_PROXY": dead_proxy}
    return subprocess.run(
        [sys.executable, *command[1:]], env=env, capture_output=True, text=True
    )


def _run_bot(config_path: Path, cwd: Path) -> subprocess.Popen[str]:
    """``python -m bot run`` as a process, its log on stderr."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config_path), "run"],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _poll(url: str, proc: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            assert time.monotonic() < deadline, "bot never listened"
            time.sleep(0.1)
