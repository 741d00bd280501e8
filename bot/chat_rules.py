"""Keyword rules managed in chat: add, change, delete, and try an expression out.

Rules in config.toml are read-only here; chat rules live in the store and the
scanner merges both (`bot.scan.all_rules`), recompiling at its next scan, so a
change needs no restart. The office and admins may manage every section's rules,
a head only those of the sections they head. Every expression is compiled with
the real rule compiler before anything is stored, so a rule that could not run is
refused with the position of the mistake. Every change is written to the audit
log before the rule itself: a crash in between leaves a record of a change that
did not happen, never a change without its record. Parsing chat text is left to
`bot.handlers.keywords`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config import LEVELS
from bot.errors import UserError
from bot.models import ArchivedItem, ChangeRecord
from bot.roles import Person, Role
from bot.rules import RuleSyntaxError, compile_expr

if TYPE_CHECKING:
    from bot.config import Section, Settings
    from bot.store import Store

logger = logging.getLogger(__name__)

MAX_NAME_CHARS = 32
TRIAL_DAYS = 7


@dataclass(frozen=True)
class Trial:
    """What an expression would have matched among the items read lately."""

    expr: str
    section: str  # a section id, or "" for every section
    days: int
    considered: int
    matched: tuple[ArchivedItem, ...]  # newest first


def _compile_named(name: str, expr: str) -> None:
    """Compile `expr` for rule `name`; a syntax error names the rule."""
    try:
        compile_expr(expr)
    except RuleSyntaxError as exc:
        exc.params["rule"] = name
        raise


def find_section(settings: Settings, word: str) -> Section | None:
    """The section named `word` (its name or its id)."""
    return next((s for s in settings.sections if word in (s.id, s.name)), None)


def section_or_refuse(settings: Settings, word: str) -> Section:
    section = find_section(settings, word)
    if section is None:
        raise UserError(
            "errors/unknown_section.j2",
            word=word,
            sections=[(s.name, s.id) for s in settings.sections],
        )
    return section


def is_manager(who: Person) -> bool:
    """The office and admins manage every section's rules and sources."""
    return who.has(Role.OFFICE) or who.has(Role.ADMIN)


class ChatRules:
    """The rules added in chat, changed only through the checks here."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store

    def add(
        self,
        who: Person,
        name: str,
        expr: str,
        section_word: str,
        level: str,
        now: datetime,
    ) -> dict[str, Any]:
        """Add rule `name`; return it. `section_word` may be "" for the default."""
        self._check_name(name)
        section = self._section_for(who, section_word)
        self._check_may_manage(who, section.id, name)
        _compile_named(name, expr)
        rule = {
            "name": name,
            "expr": expr,
            "section": section.id,
            "level": level or LEVELS[0],
            "added_by": who.userid,
            "added_at": now.isoformat(),
        }
        self._audit(who, "添加", name, None, rule, now)
        self.store.rules.put(rule)
        logger.info("chat rule added rule=%s section=%s", name, section.id)
        return rule

    def change(
        self,
        who: Person,
        name: str,
        now: datetime,
        *,
        expr: str = "",
        level: str = "",
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Give rule `name` a new expression or level; return it before and after."""
        old = self._chat_rule(name)
        self._check_may_manage(who, old["section"], name)
        if expr:
            _compile_named(name, expr)
        new = {
            **old,
            "expr": expr or old["expr"],
            "level": level or old.get("level", LEVELS[0]),
            "changed_by": who.userid,
            "changed_at": now.isoformat(),
        }
        self._audit(who, "修改", name, old, new, now)
        self.store.rules.put(new)
        logger.info("chat rule changed rule=%s", name)
        return old, new

    def delete(self, who: Person, name: str, now: datetime) -> dict[str, Any]:
        """Delete rule `name`; return it."""
        old = self._chat_rule(name)
        self._check_may_manage(who, old["section"], name)
        self._audit(who, "删除", name, old, None, now)
        self.store.rules.delete(name)
        logger.info("chat rule deleted rule=%s", name)
        return old

    def trial(self, expr: str, section_word: str, now: datetime) -> Trial:
        """Match `expr` against the items read in the last `TRIAL_DAYS` days."""
        matcher = compile_expr(expr)
        section = (
            section_or_refuse(self.settings, section_word) if section_word else None
        )
        items = self.store.items.since(now - timedelta(days=TRIAL_DAYS))
        if section is not None:
            items = [i for i in items if i.section == section.id]
        matched = tuple(i for i in items if matcher.match(i.title, i.summary))
        return Trial(
            expr, section.id if section else "", TRIAL_DAYS, len(items), matched
        )

    def describe(self, rule: dict[str, Any] | None) -> str:
        """One line for the audit log: the expression, level and section."""
        if rule is None:
            return ""
        section = self.settings.section_name(rule["section"])
        return f"{rule['expr']}（{rule.get('level', LEVELS[0])}，{section}）"

    def _audit(
        self,
        who: Person,
        action: str,
        name: str,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
        now: datetime,
    ) -> None:
        record = ChangeRecord(
            now,
            who.userid,
            "关键词",
            action,
            name,
            self.describe(old),
            self.describe(new),
        )
        self.store.changes.add(record)

    def _check_name(self, name: str) -> None:
        if len(name) > MAX_NAME_CHARS:
            raise UserError("keywords/bad_name.j2", name=name, limit=MAX_NAME_CHARS)
        origin = self._origin(name)
        if origin:
            raise UserError("keywords/name_taken.j2", name=name, origin=origin)

    def _origin(self, name: str) -> str:
        if any(r.name == name for r in self.settings.rules):
            return "config"
        return "chat" if self.store.rules.get(name) is not None else ""

    def _chat_rule(self, name: str) -> dict[str, Any]:
        """The chat rule `name`; refuse config rules and unknown names."""
        origin = self._origin(name)
        if origin == "config":
            raise UserError("keywords/config_rule.j2", name=name)
        rule = self.store.rules.get(name)
        if rule is None:
            names = [r["name"] for r in self.store.rules.all()]
            raise UserError("keywords/unknown_rule.j2", name=name, names=names)
        return rule

    def _section_for(self, who: Person, word: str) -> Section:
        """The section named by `word`, else the sender's default section."""
        if word:
            return section_or_refuse(self.settings, word)
        if len(who.head_of) == 1:
            section = self.settings.section(who.head_of[0])
        elif len(self.settings.sections) == 1:
            section = self.settings.sections[0]
        else:
            section = None
        if section is None:
            raise UserError(
                "keywords/need_section.j2",
                sections=[(s.name, s.id) for s in self.settings.sections],
            )
        return section

    def _check_may_manage(self, who: Person, section_id: str, name: str) -> None:
        if is_manager(who) or section_id in who.head_of:
            return
        raise UserError(
            "keywords/section_refused.j2",
            name=name,
            section=self.settings.section_name(section_id),
            own=[self.settings.section_name(s) for s in who.head_of],
        )
