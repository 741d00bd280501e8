"""SIGKILL the running bot again and again; check that nothing acknowledged is lost.

This process runs the outside world: a local HTTP server whose RSS feeds keep
producing new items (`tests.feedserver`), the fake WeCom (`fakewecom`, recording
every delivery), and WeCom's side of the app callbacks (`CallbackDriver`) typing
a stream of commands. The bot itself is a real ``python -m bot --config … run``
child, talking to them over loopback: hits go to a group robot (``webhook:szk``)
and as app messages (``app:wangwu|zhaoliu``), command replies as app messages.

Each round starts the bot and SIGKILLs it at a random moment, rotating through
four aims: any time after start, during the start-up scans, right after a
command was acknowledged (HTTP 200, so it is being handled), and right after a
channel logged a send (the message is out, ``sent_at`` maybe not yet stored).
After each kill the store is opened here and checked against what was
acknowledged before it:

- acknowledged, and so never to be lost: every record an earlier check found in
  the store (hits, tickets and their history, monitoring log entries, outbox
  messages and their sent marks); every hit named in a delivered message; the
  log entry or ticket change behind every delivered command reply;
- not acknowledged: a command WeCom got HTTP 200 for, whose reply never came
  (the bot died before handling it; see the figures), and a message still queued.

At the end the bot runs once more without kills until its queue is empty, then the
fake's records are counted: messages delivered, duplicates (same chat, same
content, delivered twice) and duplicates the app's ``enable_duplicate_check``
absorbed at WeCom.

    .venv/bin/python bench/kills.py             # 100 kills
    .venv/bin/python bench/kills.py --kills 10  # as tests/test_bot_kills.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.store import Store  # noqa: E402
from fakewecom import FakeWeCom  # noqa: E402
from fakewecom.callbacks import CallbackDriver  # noqa: E402
from fakewecom.state import SlidingWindow  # noqa: E402
from tests.conftest import base_with_chats  # noqa: E402
from tests.feedserver import FeedServer, Route  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
CORP = "wwfakecorp"
AGENT = 1000002
SECRET = "app-secret"
HOOKS = {"hook-szk-0001": "szk", "hook-office-01": "office"}
USERS = ["zhangsan", "lisi", "wangwu", "zhaoliu", "sunqi", "leader1", "admin"]
AIMS = ("any", "scan", "command", "send")
FEEDS = [("szk", 0), ("szk", 1), ("nfk", 0), ("nfk", 1)]
ITEMS_PER_FEED = 30
CHURN_S = 1.0

HIT_ID = re.compile(r"H\d{4}-\d+")
TICKET_ID = re.compile(r"YQ-\d{4}-\d+")
PATROL_ID = re.compile(r"已记入监控日志 (\S+)（")
SZK_WORDS = ["乱收费", "发票", "税务局", "投诉", "办税大厅", "窗口", "排队", "收据"]
NFK_WORDS = ["退税", "个税", "汇算", "未到账", "专项扣除", "申报", "热线", "迟迟"]
FILLER = (
    "城关区 七里河区 安宁区 西固区 榆中县 皋兰县 永登县 红古区 记者 调查 网友 "
    "反映 企业 个体户 社区 街道 商户 市民 上午 下午 昨日 本周 近期 多名 一位 "
    "老人 学生 窗口 系统 电话 短信 材料 流程 政策 公告 通知 说明 回应 答复"
).split()
PLAIN = "天气 交通 文化 体育 旅游 教育 农业 医疗 展览 演出 美食 公园".split()


@dataclass
class Command:
    """One chat command typed through the app callback."""

    user: str
    text: str
    tag: str
    kind: str  # "patrol" | "register" | "approve"
    target: str = ""  # the hit (register) or ticket (approve)
    acked: bool = False  # WeCom got HTTP 200


@dataclass
class Ledger:
    """What the store was seen to hold, and what the checks found."""

    hits: set[str] = field(default_factory=set)
    tickets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    patrol: set[str] = field(default_factory=set)
    outbox: dict[str, tuple[str, bool]] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    checks: int = 0
    sent_not_marked: int = 0  # delivered, but the kill came before mark_sent


@dataclass
class Figures:
    kills: int = 0
    aims: Counter[str] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)
    commands_sent: int = 0
    commands_acked: int = 0
    commands_answered: int = 0
    commands_unanswered: int = 0
    delivered: int = 0
    duplicates: int = 0
    duplicate_kinds: Counter[str] = field(default_factory=Counter)
    absorbed: int = 0
    dropped: int = 0
    hits: int = 0
    hits_unannounced: int = 0
    tickets: int = 0
    patrol: int = 0
    pending_left: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Nothing acknowledged was lost and nothing was left behind."""
        return not (self.violations or self.pending_left or self.hits_unannounced)

    def lines(self) -> list[str]:
        return [
            f"kills survived: {self.kills} (aimed: {dict(self.aims)})",
            f"last log line before each kill: {dict(self.phases)}",
            f"store checks passed: {self.kills - len(self.violations)}"
            f"/{self.kills}; violations: {len(self.violations)}",
            f"commands: sent {self.commands_sent}, acknowledged (HTTP 200) "
            f"{self.commands_acked}, answered {self.commands_answered}, "
            f"acknowledged but never answered {self.commands_unanswered}",
            f"messages delivered: {self.delivered}; duplicates delivered: "
            f"{self.duplicates} {dict(self.duplicate_kinds)}; absorbed by "
            f"enable_duplicate_check: {self.absorbed}; dropped by WeCom caps: "
            f"{self.dropped}",
            f"store at the end: hits {self.hits} (never announced: "
            f"{self.hits_unannounced}), tickets {self.tickets}, log entries "
            f"{self.patrol}, messages still queued {self.pending_left}",
            f"wall time: {self.seconds:.0f} s",
        ]


class Feeds:
    """RSS feeds on the feed server that gain a new item every `CHURN_S`."""

    def __init__(self, server: FeedServer, rng: random.Random) -> None:
        self.server = server
        self.rng = rng
        self.items: dict[str, list[str]] = {}
        self.count = 0

    def path(self, section: str, n: int) -> str:
        return f"/feeds/{section}{n}.rss"

    def add_item(self, section: str, n: int) -> None:
        self.count += 1
        words = SZK_WORDS if section == "szk" else NFK_WORDS
        if self.rng.random() < 0.6:
            title_words = self.rng.sample(words, 2) + self.rng.sample(FILLER, 6)
        else:
            title_words = self.rng.sample(PLAIN, 2) + self.rng.sample(FILLER, 6)
        title = "".join(title_words) + f" 第{self.count}条"
        article = f"/art/{section}{n}/{self.count}.html"
        self.server.route(
            article,
            f"<html><body><h1>{title}</h1><p>{'，'.join(title_words)}。</p>"
            "</body></html>",
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
        date = format_datetime(datetime.now(TZ))
        item = (
            f"<item><title>{title}</title><link>{self.server.url(article)}</link>"
            f"<description>{'，'.join(title_words)}。</description>"
            f"<pubDate>{date}</pubDate></item>"
        )
        key = self.path(section, n)
        self.items[key] = ([item] + self.items.get(key, []))[:ITEMS_PER_FEED]
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{key}</title><link>{self.server.base_url}</link>"
            + "".join(self.items[key])
            + "</channel></rss>"
        )
        self.server.routes[key] = Route(
            body=body.encode(), headers={"Content-Type": "application/rss+xml"}
        )

    def churn(self) -> None:
        for section, n in FEEDS:
            self.add_item(section, n)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(path: Path, data_dir: Path, feeds: Feeds, fake: FakeWeCom) -> int:
    port = free_port()
    sources = "".join(
        f'[[sources]]\nname = "{section}源{n}"\nkind = "rss"\n'
        f'url = "{feeds.server.url(feeds.path(section, n))}"\n'
        f'section = "{section}"\nevery = "1m"\n'
        for section, n in FEEDS
    )
    base = base_with_chats(
        "webhook:szk", "app:wangwu|zhaoliu", "webhook:office", str(data_dir)
    )
    text = (
        base
        + f"""
[patrol]
enabled = false

[supervision]
weekly = false

[[rules]]
name = "窗口乱收费"
expr = "乱收费 | 发票 | 收据"
section = "szk"

[[rules]]
name = "退税问题"
expr = "退税 | 个税 | 汇算"
section = "nfk"

{sources}
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

[server]
port = {port}
"""
    )
    path.write_text(text, encoding="utf-8")
    return port


def bot_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WECOM_") and not k.lower().endswith("_proxy")
    }
    keys = {name: key for key, name in HOOKS.items()}
    env.update(
        WECOM_APP_SECRET=SECRET,
        WECOM_APP_TOKEN=TOKEN,
        WECOM_APP_AES_KEY=AES_KEY,
        WECOM_WEBHOOK_KEY_SZK=keys["szk"],
        WECOM_WEBHOOK_KEY_OFFICE=keys["office"],
        PYTHONPATH=str(ROOT),
    )
    return env


class Bot:
    """One ``python -m bot run`` child and its log, read as it grows."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log_path = log
        self._log = open(log, "wb")  # noqa: SIM115 (closed in `wait`)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            env=bot_env(),
        )
        self._offset = 0
        self.lines: list[str] = []

    def read(self) -> list[str]:
        """Log lines written since the last call."""
        with open(self.log_path, "rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read()
        end = chunk.rfind(b"\n") + 1
        self._offset += end
        new = chunk[:end].decode("utf-8", "replace").splitlines()
        self.lines += new
        return new

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)

    def wait(self) -> int:
        code = self.proc.wait(timeout=60)
        self._log.close()
        return code


def phase_of(lines: list[str]) -> str:
    """A name for what the bot last logged before it died."""
    for line in reversed(lines):
        for word, phase in (
            ("message sent", "sending"),
            ("outbox delivered", "sending"),
            ("source scanned", "scanning"),
            ("message handled", "command"),
            ("callback accepted", "command"),
            ("callback server listening", "started"),
            ("bot started", "started"),
            ("store opened", "opening"),
        ):
            if word in line:
                return phase
    return "starting"


class World:
    """The feeds, the fake WeCom and the command stream around the bot."""

    def __init__(self, workdir: Path, seed: int) -> None:
        self.workdir = workdir
        self.rng = random.Random(seed)
        self.server = FeedServer()
        self.feeds = Feeds(self.server, self.rng)
        self.fake = FakeWeCom(
            corp_id=CORP,
            apps={AGENT: SECRET},
            users=USERS,
            webhooks=HOOKS,
            webhook_members={"szk": ["zhangsan", "lisi"], "office": ["sunqi"]},
        )
        # Every restart starts the bot's own 20-a-minute robot window afresh (it
        # lives in memory), so a hundred restarts in minutes would run into
        # WeCom's cap and its 60 s back-off; that costs time here, never messages.
        self.fake.state.webhook_per_minute = SlidingWindow(60, 10_000)
        self.commands: list[Command] = []
        self.ledger = Ledger()
        self.figures = Figures()
        self._seq = 0
        self.data_dir = workdir / "data"
        self.port = 0
        self.config = workdir / "config.toml"

    async def start(self) -> None:
        self.server.start()
        await self.fake.start()
        for _ in range(3):
            self.feeds.churn()
        self.port = write_config(self.config, self.data_dir, self.feeds, self.fake)
        self.driver = CallbackDriver(
            f"http://127.0.0.1:{self.port}/wecom/app/callback",
            TOKEN,
            AES_KEY,
            CORP,
            timeout=2.0,
            attempts=1,
        )

    async def stop(self) -> None:
        await self.fake.stop()
        self.server.stop()

    # -- what WeCom shows ---------------------------------------------------

    def delivered(self) -> list[tuple[str, str]]:
        """(chat, content) of every message the fake accepted and showed."""
        out = []
        for post in self.fake.state.posts:
            record = post.record
            if record.get("via") == "webhook":
                chat = f"webhook:{record.get('webhook')}"
            else:
                people = sorted(post.delivered_to + post.dropped_for)
                chat = "app:" + "|".join(people)
            content = record.get("content")
            if content is None:
                content = json.dumps(record.get(record["msgtype"]), sort_keys=True)
            out.append((chat, str(content)))
        return out

    def dropped(self) -> list[tuple[str, str]]:
        """(member, content) of app messages WeCom took but did not show (caps)."""
        return [
            (user, str(post.record.get("content", ""))[:60])
            for post in self.fake.state.posts
            for user in post.dropped_for
        ]

    def next_command(self) -> Command:
        self._seq += 1
        tag = f"Q{self._seq:05d}"  # fixed width: no tag is part of another
        shown = "\n".join(content for _, content in self.delivered())
        registered = {c.target for c in self.commands if c.kind == "register"}
        approved = {c.target for c in self.commands if c.kind == "approve"}
        hits = [h for h in dict.fromkeys(HIT_ID.findall(shown)) if h not in registered]
        tickets = [
            t for t in dict.fromkeys(TICKET_ID.findall(shown)) if t not in approved
        ]
        roll = self.rng.random()
        if roll < 0.3 and hits:
            hit = self.rng.choice(hits[-10:])
            user = "zhangsan" if hit in self._szk_hits() else "wangwu"
            return Command(user, f"登记 {hit} 拟{tag}", tag, "register", hit)
        if roll < 0.5 and tickets:
            ticket = self.rng.choice(tickets[-10:])
            head = "lisi" if self._ticket_section(ticket) == "szk" else "zhaoliu"
            return Command(head, f"同意 {ticket} 批{tag}", tag, "approve", ticket)
        user = self.rng.choice(["zhangsan", "wangwu", "sunqi", "lisi", "zhaoliu"])
        return Command(user, f"巡查 发现：{tag}", tag, "patrol")

    def _szk_hits(self) -> set[str]:
        return {
            h
            for chat, content in self.delivered()
            if chat == "webhook:szk"
            for h in HIT_ID.findall(content)
        }

    def _ticket_section(self, ticket: str) -> str:
        for chat, content in self.delivered():
            if ticket in content and chat == "webhook:szk":
                return "szk"
        return "nfk"

    def answered(self, command: Command) -> str | None:
        """The reply the command's sender got, if any."""
        mark = f"已批示 {command.target}" if command.kind == "approve" else command.tag
        for chat, content in self.delivered():
            if chat == f"app:{command.user}" and mark in content:
                return content
        return None

    # -- one round ----------------------------------------------------------

    async def round(self, number: int) -> None:
        aim = AIMS[number % len(AIMS)]
        bot = Bot(self.config, self.workdir / f"bot-{number}.log")
        try:
            await self._kill_when(bot, aim, self.rng.uniform(0.3, 4.0))
        finally:
            bot.kill()
            code = await asyncio.to_thread(bot.wait)
        bot.read()
        if code != -signal.SIGKILL:
            tail = "\n".join(bot.lines[-20:])
            self.ledger.violations.append(f"round {number}: exit {code}\n{tail}")
        self.figures.kills += 1
        self.figures.aims[aim] += 1
        self.figures.phases[phase_of(bot.lines)] += 1
        self.check(number)

    async def _kill_when(self, bot: Bot, aim: str, delay: float) -> None:
        started = time.monotonic()
        deadline = started + 20
        ready = False
        commands: list[asyncio.Task[None]] = []
        next_command = 0.0
        while time.monotonic() < deadline:
            new = bot.read()
            if bot.proc.poll() is not None:
                return
            ready = ready or any("callback server listening" in x for x in bot.lines)
            elapsed = time.monotonic() - started
            if aim == "any" and elapsed >= delay:
                return
            if aim == "scan" and any("bot started" in x for x in bot.lines):
                await asyncio.sleep(self.rng.uniform(0, 0.4))
                return
            if aim == "send" and any("message sent" in x for x in new) and ready:
                await asyncio.sleep(self.rng.uniform(0, 0.01))
                return
            if aim == "command" and any(c.done() for c in commands):
                await asyncio.sleep(self.rng.uniform(0, 0.05))
                return
            if ready and time.monotonic() >= next_command and len(commands) < 6:
                commands.append(asyncio.ensure_future(self._type(self.next_command())))
                next_command = time.monotonic() + self.rng.uniform(0.4, 1.0)
            if elapsed > 2 * delay + 4:
                return  # the aimed moment never came: kill anyway
            await asyncio.sleep(0.005)

    async def _type(self, command: Command) -> None:
        self.commands.append(command)
        delivery = await self.driver.app_text(command.user, command.text)
        command.acked = delivery.ok

    # -- checks -------------------------------------------------------------

    def check(self, number: int) -> None:
        ledger = self.ledger
        ledger.checks += 1
        before = len(ledger.violations)
        try:
            store = Store.open(self.data_dir, TZ)
        except Exception as exc:  # any failure to load is what this bench hunts
            ledger.violations.append(f"round {number}: store did not open: {exc!r}")
            return
        with store:
            self._check_store(store, number)
        if len(ledger.violations) > before:
            print(f"round {number}: {ledger.violations[before:]}", flush=True)

    def _check_store(self, store: Store, number: int) -> None:
        ledger = self.ledger
        now = datetime.now(TZ)
        hits = {h.id for h in store.hits.since(now - timedelta(days=2))}
        tickets = {
            t.id: tuple(f"{e.actor}:{e.action}" for e in t.history)
            for t in store.tickets.in_year(now.year)
        }
        patrol = {
            e.id: e.findings
            for e in store.patrol.between(now - timedelta(days=2), now + timedelta(1))
        }
        outbox = read_outbox(store, now)

        def lost(what: str) -> None:
            ledger.violations.append(f"round {number}: {what}")

        for hit in ledger.hits - hits:
            lost(f"hit {hit} vanished")
        for ticket, history in ledger.tickets.items():
            if tickets.get(ticket, ())[: len(history)] != history:
                lost(f"ticket {ticket} lost history {history} -> {tickets.get(ticket)}")
        for entry in ledger.patrol - set(patrol):
            lost(f"log entry {entry} vanished")
        for mid, (body, sent) in ledger.outbox.items():
            if mid not in outbox or outbox[mid][0] != body:
                lost(f"queued message {mid} vanished or changed")
            elif sent and not outbox[mid][1]:
                lost(f"message {mid} lost its sent mark")

        shown = self.delivered()
        for _chat, content in shown:
            for hit in HIT_ID.findall(content):
                if hit not in hits:
                    lost(f"hit {hit} was announced but is not stored")
        for command in self.commands:
            reply = self.answered(command)
            if reply is None:
                continue
            if command.kind == "patrol":
                found = PATROL_ID.search(reply)
                if not found or patrol.get(found[1], "") != command.tag:
                    lost(f"{command.text} answered, log entry missing")
            elif command.kind == "register" and "已登记处理单" in reply:
                ids = TICKET_ID.findall(reply)
                if not ids or ids[0] not in tickets:
                    lost(f"{command.text} answered, ticket missing")
            elif command.kind == "approve" and command.target in tickets:
                if not any(a.startswith(command.user) for a in tickets[command.target]):
                    lost(f"{command.text} answered, instruction missing")

        sent_texts = Counter(c for _, c in shown)
        ledger.sent_not_marked += sum(
            1 for body, sent in outbox.values() if not sent and sent_texts[body]
        )
        ledger.hits, ledger.tickets = hits, tickets
        ledger.patrol, ledger.outbox = set(patrol), outbox

    # -- the end ------------------------------------------------------------

    async def drain(self, limit_s: float = 90.0) -> None:
        """Run the bot without kills (and without new items) until nothing is
        queued, stopping it politely each time to look."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            bot = Bot(self.config, self.workdir / "bot-drain.log")
            try:
                await asyncio.sleep(4.0)
            finally:
                bot.proc.send_signal(signal.SIGTERM)
                await asyncio.to_thread(bot.wait)
            with Store.open(self.data_dir, TZ) as store:
                waiting = store.outbox.pending()
            if not waiting:
                return
        self.figures.pending_left = len(waiting)

    def summarise(self) -> Figures:
        figures = self.figures
        figures.violations = list(self.ledger.violations)
        figures.commands_sent = len(self.commands)
        figures.commands_acked = sum(c.acked for c in self.commands)
        answered = [c for c in self.commands if self.answered(c) is not None]
        figures.commands_answered = len(answered)
        figures.commands_unanswered = sum(
            1 for c in self.commands if c.acked and self.answered(c) is None
        )
        shown = self.delivered()
        figures.delivered = len(shown)
        dump = self.workdir / "delivered.json"
        dump.write_text(
            json.dumps(
                {"shown": shown, "dropped": self.dropped()},
                ensure_ascii=False,
                indent=1,
            ),
            "utf-8",
        )
        counts = Counter(shown)
        for (chat, _content), n in counts.items():
            if n > 1:
                figures.duplicates += n - 1
                figures.duplicate_kinds[chat.split(":")[0]] += n - 1
        figures.absorbed = len(getattr(self.fake.state, "duplicates", []))
        figures.dropped = len(self.dropped())
        now = datetime.now(TZ)
        with Store.open(self.data_dir, TZ) as store:
            hits = store.hits.since(now - timedelta(days=2))
            figures.hits = len(hits)
            text = "\n".join(c for _, c in shown)
            figures.hits_unannounced = sum(1 for h in hits if h.id not in text)
            figures.tickets = len(store.tickets.in_year(now.year))
            figures.patrol = len(
                store.patrol.between(now - timedelta(days=2), now + timedelta(1))
            )
            figures.pending_left = len(store.outbox.pending())
        return figures


def read_outbox(store: Store, now: datetime) -> dict[str, tuple[str, bool]]:
    """Every stored message of this month: id -> (text, sent)."""
    out: dict[str, tuple[str, bool]] = {}
    misses = 0
    n = 0
    while misses < 50:
        n += 1
        message = store.outbox.get(f"O{now:%y%m}-{n}")
        if message is None:
            misses += 1
            continue
        misses = 0
        text = str(message.body.get("text", json.dumps(message.body, sort_keys=True)))
        out[message.id] = (text, message.sent_at is not None)
    return out


async def run_kills(kills: int, seed: int, workdir: Path) -> Figures:
    """Start the world, kill the bot `kills` times, drain, and count."""
    started = time.monotonic()
    world = World(workdir, seed)
    await world.start()
    churn = asyncio.ensure_future(_churn(world))
    try:
        for number in range(kills):
            await world.round(number)
        churn.cancel()
        await world.drain()
        figures = world.summarise()
    finally:
        churn.cancel()
        await world.stop()
    figures.seconds = time.monotonic() - started
    return figures


async def _churn(world: World) -> None:
    while True:
        await asyncio.sleep(CHURN_S)
        world.feeds.churn()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    # A kill cuts the bot's calls short; the fake's server logs each with a trace.
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)
    workdir = Path(tempfile.mkdtemp(prefix="bot-kills-"))
    figures = asyncio.run(run_kills(args.kills, args.seed, workdir))
    print("\n".join(figures.lines()))
    for violation in figures.violations:
        print("VIOLATION", violation)
    if args.keep:
        print(f"work folder: {workdir}")
    return 0 if figures.ok else 1


if __name__ == "__main__":
    sys.exit(main())
