"""Route one inbound chat line to its command handler and render the reply.

Routing is an ordered list of commands; the first whose name or alias equals the
command word wins. Role checks happen here, before any handler runs. Expected
failures (`UserError`) are rendered from their template; anything else is logged with
its traceback and answered with an apology carrying a reference code. One INFO line
per message: msg id, command, outcome, milliseconds (never the text itself).
"""

from __future__ import annotations

import difflib
import logging
import secrets
import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import commands
from bot.errors import PermissionDeniedError, UnknownCommandError, UserError
from bot.events import Inbound, Reply
from bot.render import TEMPLATES_DIR, Renderer
from bot.roles import Person, Role, person

if TYPE_CHECKING:
    from bot.casework import Casework
    from bot.config import Settings
    from bot.store import Store
    from bot.workdays import WorkCalendar

logger = logging.getLogger(__name__)

COMMAND_DOCS = TEMPLATES_DIR / "commands.toml"


@dataclass
class Context:
    """Everything a handler may use to answer one message."""

    settings: Settings
    store: Store
    calendar: WorkCalendar
    renderer: Renderer
    person: Person
    now: datetime
    dispatcher: Dispatcher
    message: Inbound

    @property
    def casework(self) -> Casework:
        casework = self.dispatcher.casework
        if casework is None:
            raise RuntimeError("this dispatcher was built without casework")
        return casework

    def reply(self, template: str, /, **params: Any) -> Reply:
        return Reply(self.renderer.render(template, **params))


Handler = Callable[[Context, str], Awaitable[Reply]]


@dataclass(frozen=True)
class Command:
    """A chat command: its word, who may use it, and the coroutine that answers."""

    name: str
    handler: Handler
    roles: frozenset[Role] | None = None  # None: anyone named in the config
    aliases: tuple[str, ...] = ()

    def allows(self, who: Person) -> bool:
        return who.is_known and (self.roles is None or who.has_any(self.roles))


@dataclass(frozen=True)
class CommandDoc:
    """User-facing description of a command, from templates/commands.toml."""

    group: str
    usage: str
    summary: str
    examples: tuple[str, ...]


def load_docs(path: Path = COMMAND_DOCS) -> dict[str, CommandDoc]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        name: CommandDoc(d["group"], d["usage"], d["summary"], tuple(d["examples"]))
        for name, d in raw.items()
    }


class Dispatcher:
    """Answers chat lines using an ordered list of commands."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        calendar: WorkCalendar,
        command_list: list[Command],
        renderer: Renderer | None = None,
        clock: Callable[[], datetime] | None = None,
        casework: Casework | None = None,
    ) -> None:
        self.settings = settings
        self.casework = casework
        self.store = store
        self.calendar = calendar
        self.commands = command_list
        self.renderer = renderer or Renderer()
        self.docs = load_docs()
        self._clock = clock or (lambda: datetime.now(settings.tz))
        self._by_word = {w: c for c in command_list for w in (c.name, *c.aliases)}

    def find(self, word: str) -> Command | None:
        return self._by_word.get(word)

    def allowed_for(self, who: Person) -> list[Command]:
        return [c for c in self.commands if c.allows(who)]

    async def handle(self, msg: Inbound) -> Reply:
        """Answer one chat line; never raises."""
        started = time.perf_counter()
        who = person(self.settings, msg.sender)
        line = commands.parse(msg.text)
        command = self.find(line.word)
        outcome = "ok"
        try:
            reply = await self._run(command, line, who, msg)
        except UserError as exc:
            outcome = type(exc).__name__
            reply = Reply(self.renderer.render(exc.template, **exc.params))
        except Exception:
            ref = secrets.token_hex(3).upper()
            outcome = f"error ref={ref}"
            logger.exception(
                "command failed msg_id=%s command=%s ref=%s",
                msg.msg_id,
                command.name if command else "-",
                ref,
            )
            reply = Reply(self.renderer.render("errors/internal.j2", ref=ref))
        logger.info(
            "message handled msg_id=%s channel=%s chat=%s sender=%s command=%s "
            "outcome=%s ms=%d",
            msg.msg_id or "-",
            msg.channel,
            msg.chat or "-",
            msg.sender,
            command.name if command else "-",
            outcome,
            (time.perf_counter() - started) * 1000,
        )
        return reply

    async def _run(
        self,
        command: Command | None,
        line: commands.ParsedLine,
        who: Person,
        msg: Inbound,
    ) -> Reply:
        if not who.is_known:
            raise UserError("errors/stranger.j2", userid=who.userid)
        if command is None:
            suggestion = self.suggest(line.word, who)
            # Nothing close among their own commands: name a close one they may
            # not use, and who may, rather than leave them guessing.
            other = None if suggestion else self._closest(line.word, self.commands)
            raise UnknownCommandError(
                word=line.word,
                suggestion=suggestion,
                other=other.name if other else "",
                other_roles=sorted(r.value for r in other.roles or ()) if other else [],
            )
        if not command.allows(who):
            doc = self.docs.get(command.name)
            raise PermissionDeniedError(
                command=command.name,
                needed=sorted(r.value for r in command.roles or ()),
                have=sorted(r.value for r in who.roles),
                usage=doc.usage if doc else "",
            )
        ctx = Context(
            self.settings,
            self.store,
            self.calendar,
            self.renderer,
            who,
            self._clock(),
            self,
            msg,
        )
        return await command.handler(ctx, line.args)

    def suggest(self, word: str, who: Person) -> str:
        """The allowed command closest to a mistyped `word`, or ``""``."""
        close = self._closest(word, self.allowed_for(who), cutoff=0.3)
        return close.name if close else ""

    def _closest(
        self, word: str, among: list[Command], cutoff: float = 0.5
    ) -> Command | None:
        """The command in `among` whose name or alias is closest to `word`."""
        words = [w for c in among for w in (c.name, *c.aliases)]
        for w in words:  # "帮助一下" or "来源列表": a known word at the front
            if len(w) > 1 and word.startswith(w):
                return self._by_word[w]
        close = difflib.get_close_matches(word, words, n=1, cutoff=cutoff)
        return self._by_word[close[0]] if close else None
