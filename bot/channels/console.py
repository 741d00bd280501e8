"""A terminal chat: type commands as a configured user, read the bot's replies.

Interactive on a terminal (with a prompt); with piped stdin it reads to the end of
input and exits, printing only replies, so sessions can be scripted. Group notices
(new hits) are printed with the chat they would go to. As a `Channel` (name
``console``) it prints what the outbox sends, without rate limits.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
from collections.abc import Awaitable, Callable
from typing import TextIO

from bot.channels.base import InboundHandler
from bot.dispatcher import Dispatcher
from bot.events import Inbound
from bot.models import OutboxMessage

QUIT_WORDS = {"退出", "exit", "quit"}

_FONT = re.compile(r'<font color="[a-z]+">(.*?)</font>', re.DOTALL)
_MENTION = re.compile(r"<@([^>]+)>")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")


def for_terminal(markdown: str) -> str:
    """WeCom markdown as plain terminal text: 【highlight】, @user, text: url."""
    text = _FONT.sub(r"【\1】", markdown)
    text = _MENTION.sub(r"@\1", text)
    return _LINK.sub(r"\1：\2", text)


class ConsoleChannel:
    """Reads chat lines from `stdin` as `user` and writes replies to `stdout`."""

    name = "console"
    text_limit = 1_000_000
    rate: tuple[int, float] | None = None

    def __init__(
        self,
        dispatcher: Dispatcher,
        user: str,
        stdin: TextIO,
        stdout: TextIO,
        interactive: bool,
        after_reply: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._dispatcher = dispatcher
        # Called after each reply: without WeCom it shows the notices just queued.
        self._after_reply = after_reply
        self._user = user
        self._stdin = stdin
        self._stdout = stdout
        self._interactive = interactive
        self._ids = itertools.count(1)
        # The prompt is shown only once the previous reply is printed.
        self._turn = threading.Event()
        self._turn.set()

    async def run(self) -> None:
        """Answer lines until end of input or a quit word."""
        lines: asyncio.Queue[str | None] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        # A daemon thread, not the loop's executor: a read blocked on the terminal
        # must not keep the process alive after the bot is told to stop.
        threading.Thread(
            target=self._pump, args=(loop, lines), name="console-stdin", daemon=True
        ).start()
        while True:
            line = await lines.get()
            if line is None or line.strip() in QUIT_WORDS:
                return
            if not line.strip():
                self._turn.set()
                continue
            msg = Inbound(
                sender=self._user,
                text=line,
                chat="console",
                msg_id=f"console-{next(self._ids)}",
            )
            reply = await self._dispatcher.handle(msg)
            self._write(for_terminal(reply.text))
            if self._after_reply is not None:
                await self._after_reply()
            self._turn.set()

    def _pump(
        self, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]
    ) -> None:
        while True:
            self._turn.wait()
            self._turn.clear()
            line = self._read_line()
            loop.call_soon_threadsafe(lines.put_nowait, line)
            if line is None:
                return

    async def post(self, chat: str, text: str) -> None:
        """Show a message the bot sends to a group chat."""
        self._write(f"〔发往群聊 {chat or '未配置'}〕\n{for_terminal(text)}")

    async def send(self, message: OutboxMessage) -> None:
        """Show an outbox message (the `Channel` side of the console)."""
        if message.kind == "file":
            name = message.body.get("filename") or message.body.get("path", "")
            if not message.chat:
                # A file for whoever typed the command: no group header.
                self._write(f"〔收到文件〕{name}\n{message.body.get('path', '')}")
                return
            text = f"〔文件〕{name}"
        else:
            text = str(message.body.get("text", ""))
        await self.post(message.chat, text)

    async def start(self, on_inbound: InboundHandler) -> None:
        """Nothing to start: `run` reads the terminal."""

    async def stop(self) -> None:
        """Nothing to stop."""

    def _read_line(self) -> str | None:
        if self._interactive:
            try:
                return input(f"{self._user}> ")
            except EOFError:
                self._stdout.write("\n")
                return None
        line = self._stdin.readline()
        return line if line else None

    def _write(self, text: str) -> None:
        self._stdout.write(text + "\n\n")
        self._stdout.flush()
