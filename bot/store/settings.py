"""Small unpartitioned collections kept in ``state.json``: rules and source state.

Both stay small (tens of documents), so lookups by name scan the table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

from tinydb import Query
from tinydb.table import Table

from bot.models import SourceState
from bot.store._codec import copy_json, from_doc, to_doc

log = logging.getLogger(__name__)

RULE_FIELDS = ("name", "expr", "section", "level")


class RuleRepo:
    """Keyword rules managed from chat: dicts with name, expr, section, level."""

    def __init__(self, table: Table) -> None:
        self._table = table

    def all(self) -> list[dict[str, Any]]:
        """Every rule, in the order first added."""
        return [copy_json(dict(doc)) for doc in self._table]

    def put(self, rule: dict[str, Any]) -> None:
        """Insert `rule`, or replace the rule with the same name."""
        name = rule.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("规则必须有非空的 name 字段")
        doc = copy_json(rule)
        if not self._table.update(_replace_with(doc), Query().name == name):
            self._table.insert(doc)

    def delete(self, name: str) -> bool:
        """Remove the rule `name`; False if there was none."""
        return bool(self._table.remove(Query().name == name))


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
