"""The demo's scenario: one story from scan to daily briefing, narrated, with
every chat message going through the AI-bot channel to the fake WeCom; then a
console chat as one of the demo's people on the same data.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import jinja2

from bot import briefing, config
from bot.app import App
from bot.briefing_notices import briefing_messages
from bot.demo.show import RULE, ChatPrinter
from bot.demo.sources import DEMO_DIR, SampleSources
from bot.runner import console_channel, console_welcome
from fakewecom import FakeWeCom
from fakewecom.aibot_ws import FakeAiBotServer

BOT_ID = "demo-bot"
# The fake's own credential, known to both sides of this demo: no real secret.
BOT_SECRET = "demo-aibot-secret"
MEMBERS = {
    "grp-szk": ("zhangsan", "lisi"),
    "grp-nfk": ("wangwu", "zhaoliu"),
    "grp-office": ("sunqi", "leader1", "admin"),
}
CHAT_NAMES = {
    "grp-szk": "税政管理科群",
    "grp-nfk": "纳税服务科群",
    "grp-office": "办公室群",
}
WAIT_S = 15.0
TIMEZONE = "Asia/Shanghai"  # as in demo/config.toml.j2
NARRATION = tomllib.loads((DEMO_DIR / "narration.toml").read_text(encoding="utf-8"))


class Demo:
    """Runs the scenario against a started `App`, printing as it goes."""

    def __init__(
        self, app: App, fake: FakeAiBotServer, out: TextIO, pause: float
    ) -> None:
        self.app = app
        self.fake = fake
        self.out = out
        self.pause = pause
        self.chats = ChatPrinter(fake, out, self._chat_name)

    def _chat_name(self, chat: str) -> str:
        return (
            CHAT_NAMES.get(chat) or f"{self.app.settings.names.get(chat, chat)} 的单聊"
        )

    async def say(self, step: str, **values: object) -> None:
        """Narrate `step` (its wording is in ``demo/narration.toml``)."""
        part = NARRATION[step]
        text = part["text"].format(**values)
        self.out.write(f"\n{RULE}\n▶ {part['title']}\n{text}\n{RULE}\n")
        self.out.flush()
        await asyncio.sleep(self.pause)

    async def settle(self) -> None:
        """Send what the bot queued and print what the chats now show."""
        await self.app.deliver()
        self.chats.flush()

    async def until(self, predicate: Any) -> None:
        await self.fake.wait_until(predicate, timeout=WAIT_S)

    def cards(self, chat: str) -> list[dict[str, Any]]:
        return [
            d.card
            for d in self.fake.chat_log(chat)
            if d.kind == "template_card" and d.card is not None
        ]

    async def click(
        self, user: str, chat: str, card: dict[str, Any], text: str
    ) -> None:
        """`user` presses the button labelled `text` on `card` in `chat`."""
        key = next(b["key"] for b in card["button_list"] if b["text"] == text)
        task_id = card["task_id"]
        await self.fake.push_card_click(user, task_id, key, chat)
        await self.until(lambda: task_id in self.fake.card_updates)

    async def type(self, user: str, chat: str, text: str) -> None:
        """`user` types `text` in group `chat` and waits for the bot's reply."""
        who = self.app.settings.names.get(user, user)
        self.out.write(f"\n〔{self._chat_name(chat)}〕{who}：{text}\n")
        before = self._replies(chat)
        await self.fake.push_text(user, text, chatid=chat)
        await self.until(lambda: self._replies(chat) > before)

    def _replies(self, chat: str) -> int:
        return sum(
            1 for d in self.fake.chat_log(chat) if d.kind == "stream" and d.finish
        )

    async def run(self) -> None:
        app = self.app
        names = app.settings.names
        await self.say("scan")
        report = await app.scan_all()
        for source in report.sources:
            state = source.error
            if source.ok:
                state = f"读取 {source.items} 条，命中 {source.hits} 条"
            self.out.write(f"  {source.name}：{state}\n")
        await self.settle()

        urgent = self.cards("grp-szk")
        if not urgent:
            raise RuntimeError("the scan posted no hit card to grp-szk")
        await self.say("register", monitor=names["zhangsan"])
        await self.click("zhangsan", "grp-szk", urgent[0], "登记")
        await self.settle()
        await self.until(lambda: len(self.cards("grp-szk")) > len(urgent))
        self.chats.flush()
        approval = self.cards("grp-szk")[-1]
        short = str(int(approval["main_title"]["desc"].rsplit("-", 1)[-1]))

        await self.say("approve", head=names["lisi"])
        await self.click("lisi", "grp-szk", approval, "同意")
        await self.settle()

        await self.say("handle", office=names["sunqi"], short=short)
        mention = f"@{app.settings.bot.name}"
        result = NARRATION["handle"]["result"]
        for command in (f"受理 {short}", f"办结 {short} {result}", f"查询 {short}"):
            await self.type("sunqi", "grp-office", f"{mention} {command}")
            await self.settle()

        await self.say("briefing")
        now = app.now()
        chosen = briefing.period("今日", now.date(), app.calendar)
        top = app.settings.briefing.top
        brief = briefing.build(
            app.settings, app.store, app.calendar, chosen, now, top=top
        )
        app.outbox.enqueue(briefing_messages(app, brief, now))
        await self.settle()


def write_config(data_dir: Path, base: str, ws_url: str) -> Path:
    template = jinja2.Template(
        (DEMO_DIR / "config.toml.j2").read_text(encoding="utf-8"),
        undefined=jinja2.StrictUndefined,
    )
    path = data_dir / "config.toml"
    text = template.render(
        data_dir=(data_dir / "data").as_posix(), base=base, bot_id=BOT_ID, ws_url=ws_url
    )
    path.write_text(text, encoding="utf-8")
    return path


async def run_demo(user: str, out: TextIO = sys.stdout, pause: float = 0.0) -> int:
    """The whole demo; returns the exit code."""
    with tempfile.TemporaryDirectory(prefix="bot-demo-") as tmp:
        async with SampleSources(datetime.now(ZoneInfo(TIMEZONE))) as sources:
            fake = FakeWeCom(users=[u for members in MEMBERS.values() for u in members])
            fake.aibot = FakeAiBotServer(BOT_ID, BOT_SECRET)
            async with fake:
                for chat, members in MEMBERS.items():
                    fake.aibot.allow_chat(chat, members)
                path = write_config(Path(tmp), sources.base, fake.aibot.ws_url)
                settings = config.load(path, env={"WECOM_AIBOT_SECRET": BOT_SECRET})
                async with App.open(settings) as app:
                    demo = Demo(app, fake.aibot, out, pause)

                    async def after_reply() -> None:
                        await demo.settle()

                    console = console_channel(app, user, after_reply, greet=False)
                    await app.start_channels({"console": console})
                    try:
                        await app.channels["aibot"].wait_connected()
                        await demo.run()
                        await demo.say("try", user=user)
                        if sys.stdin.isatty():
                            out.write(console_welcome(app, user) + "\n\n")
                        await console.run()
                    finally:
                        await app.stop_channels()
    return 0
