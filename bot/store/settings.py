"""Small unpartitioned collections kept in ``state.json``: chat-managed rules and
sources, source state, and the audit log of changes made in chat.

All stay small (tens to hundreds of documents: chat changes are rare), so lookups
by name scan the table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from tinydb import Query
from tinydb.table import Table

from bot.models import ChangeRecord, SourceState
from bot.store._codec import copy_json, from_doc, to_doc

log = logging.getLogger(__name__)

RULE_FIELDS = ("name", "expr", "section", "level")


class _NamedDocs:
    """Plain documents identified by a unique, non-empty ``name`` field."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def all(self) -> list[dict[str, Any]]:
        """Every document, in the order first added."""
        return [copy_json(dict(doc)) for doc in self._table]

    def get(self, name: str) -> dict[str, Any] | None:
        doc = self._table.get(Query().name == name)
        return copy_json(dict(doc)) if isinstance(doc, dict) else None

    def put(self, doc: dict[str, Any]) -> None:
        """Insert `doc`, or replace the document with the same name."""
        name = doc.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("必须有非空的 name 字段")
        new = copy_json(doc)
        if not self._table.update(_replace_with(new), Query().name == name):
            self._table.insert(new)

    def delete(self, name: str) -> bool:
        """Remove the document `name`; False if there was none."""
        return bool(self._table.remove(Query().name == name))


class RuleRepo(_NamedDocs):
    """Keyword rules managed from chat: dicts with name, expr, section, level
    (and who added or last changed them, when)."""


class SourceRepo(_NamedDocs):
    """Sources added from chat: dicts with the fields of `bot.config.Source`
    (and who added them, when)."""


class ChangeLogRepo:
    """The audit log of changes made in chat to rules and sources; append-only."""

    def __init__(self, table: Table, tz: tzinfo) -> None:
        self._table = table
        self._tz = tz

    def add(self, record: ChangeRecord) -> None:
        self._table.insert(to_doc(record, self._tz))

    def recent(self, kind: str = "", name: str = "") -> list[ChangeRecord]:
        """Records of `kind` (and `name`) if given, newest first."""
        records = [
            from_doc(ChangeRecord, doc, self._tz)
            for doc in self._table
            if (not kind or doc.get("kind") == kind)
            and (not name or doc.get("name") == name)
        ]
        # Table order breaks ties: changes made within the same second.
        return sorted(reversed(records), key=lambda r: r.at, reverse=True)


class SourceStateRepo:
    """What the bot remembers about each source between scans."""

    def __init__(self, table: Table, tz: tzinfo) -> None:
        self._table = table
        self._tz = tz

    def get(self, name: str) -> SourceState:
        """The state of source `name`; a fresh `SourceState(name)` if none stored."""
        doc = self._table.get(Query().name == name)
        if not isinstance(doc, dict):
            return SourceState(name)
        return from_doc(SourceState, doc, self._tz)

    def put(self, state: SourceState) -> None:
        """Store `state`, replacing the previous state of that source."""
        self._table.upsert(to_doc(state, self._tz), Query().name == state.name)

    def delete(self, name: str) -> None:
        """Forget the state of source `name` (a source removed from chat)."""
        self._table.remove(Query().name == name)

    def all(self) -> list[SourceState]:
        """Every stored source state, by name."""
        states = [from_doc(SourceState, doc, self._tz) for doc in self._table]
        return sorted(states, key=lambda state: state.name)


def _replace_with(new: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """An in-place updater that makes a document equal to `new`."""

    def apply(doc: dict[str, Any]) -> None:
        doc.clear()
        doc.update(copy_json(new))

    return apply
