"""Sources managed in chat: add and remove sources, pause and resume any source.

Sources in config.toml cannot be removed here; chat sources live in the store and
the scanner merges both (`bot.scan.all_sources`). A new source is checked like a
config source (`Source.check`) and, unless ``[scan] allow_private_sources`` is
set, its address must lead to the public internet (`bot.address_guard`). A pause
is kept in the source's state, which the scanner reads before every scan. Every
change is written to the audit log before the change itself (see
`bot.chat_rules`). Starting and stopping scan jobs is left to `bot.scheduler`;
parsing chat text to `bot.handlers.sources`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.address_guard import check_public
from bot.config import Source
from bot.crawlers import crawler_for
from bot.errors import ConfigError, UserError
from bot.models import ChangeRecord, SourceState
from bot.roles import Person
from bot.scan import all_sources

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Store

logger = logging.getLogger(__name__)

MAX_NAME_CHARS = 40
_CHECKED_AS = "来源"  # the key prefix Source.check puts before a field name


class ChatSources:
    """Adds, removes, pauses and resumes sources for chat commands."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    def find(self, name: str) -> tuple[Source, str] | None:
        """The source `name` and where it comes from (``config`` or ``chat``)."""
        for source in self.settings.sources:
            if source.name == name:
                return source, "config"
        for source in all_sources(self.settings, self.store):
            if source.name == name:
                return source, "chat"
        return None

    async def add(self, who: Person, source: Source, now: datetime) -> Source:
        """Check and store a new chat source; it is scanned once its job starts."""
        if len(source.name) > MAX_NAME_CHARS:
            raise UserError(
                "sources/bad_name.j2", name=source.name, limit=MAX_NAME_CHARS
            )
        if self.find(source.name) is not None:
            raise UserError("sources/name_taken.j2", name=source.name)
        try:
            source.check(_CHECKED_AS, Path("chat"))
        except ConfigError as exc:
            field = exc.key.removeprefix(f"{_CHECKED_AS}.")
            raise UserError(
                "sources/bad_field.j2",
                field=field,
                problem=exc.message,
                kind=source.kind,
            ) from None
        if crawler_for(source.kind) is None:
            raise UserError(
                "sources/bad_field.j2",
                field="kind",
                problem=f"暂不支持 {source.kind}",
                kind=source.kind,
            )
        if not self.settings.scan.allow_private_sources:
            await check_public(source.url.replace("{q}", "q"))

        self._audit(who, "添加", source.name, "", self.describe(source), now)
        doc = dataclasses.asdict(source)
        doc.update(added_by=who.userid, added_at=now.isoformat())
        self.store.chat_sources.put(doc)
        logger.info("chat source added source=%s kind=%s", source.name, source.kind)
        return source

    def remove(self, who: Person, name: str, now: datetime) -> Source:
        """Remove the chat source `name` and forget its state."""
        source = self._existing(name)
        if self.store.chat_sources.get(name) is None:
            raise UserError("sources/config_source.j2", name=name)
        self._audit(who, "删除", name, self.describe(source), "", now)
        self.store.chat_sources.delete(name)
        self.store.sources.delete(name)
        logger.info("chat source removed source=%s", name)
        return source

    def set_paused(
        self, who: Person, name: str, paused: bool, now: datetime
    ) -> SourceState:
        """Pause or resume source `name` (config or chat); return its new state."""
        self._existing(name)
        state = self.store.sources.get(name)
        if state.paused == paused:
            raise UserError("sources/already.j2", name=name, paused=paused, state=state)
        action = "暂停" if paused else "恢复"
        self._audit(who, action, name, "", "", now)
        state = replace(
            state,
            paused=paused,
            paused_by=who.userid if paused else "",
            paused_at=now if paused else None,
        )
        self.store.sources.put(state)
        logger.info("source %s source=%s", "paused" if paused else "resumed", name)
        return state

    def describe(self, source: Source) -> str:
        """One line for the audit log: kind, address, section and interval."""
        section = self.settings.section_name(source.section)
        return f"{source.kind} {source.url}（{section}，每 {source.every}）"

    def _existing(self, name: str) -> Source:
        found = self.find(name)
        if found is None:
            names = [s.name for s in all_sources(self.settings, self.store)]
            raise UserError("sources/unknown_source.j2", name=name, names=names)
        return found[0]

    def _audit(
        self, who: Person, action: str, name: str, old: str, new: str, now: datetime
    ) -> None:
        self.store.changes.add(
            ChangeRecord(now, who.userid, "来源", action, name, old, new)
        )
