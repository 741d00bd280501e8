"""Typed records of early warnings (预警) and of 加强监测 windows.

Plain dataclasses like `bot.models`; `bot.store.warnings` stores them, detection
lives in `bot.warnings`, the command in `bot.handlers.briefing`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

KINDS = ("item", "spike", "spread", "late", "silent")


@dataclass(frozen=True)
class EarlyWarning:
    """One warning event (预警), kept once per `key` and updated as it grows.

    `kind` is one of `KINDS`; `subject` names what it is about (a hit id, a
    rule, a section, a source); `value` is the measure last announced (hits in
    the bucket, copies in the spread window), `threshold` what it was judged
    against; `hits` are the hit ids behind it. `sent_at` is None while a
    warning waits for quiet hours to end; `resolved_at` closes a late scan.
    """

    key: str
    kind: str
    subject: str
    level: str
    first_at: datetime
    last_at: datetime
    section: str = ""
    value: float = 0
    threshold: float = 0
    hits: tuple[str, ...] = ()
    updates: int = 0
    sent_at: datetime | None = None
    resolved_at: datetime | None = None
    id: str = ""


@dataclass(frozen=True)
class Intensify:
    """加强监测: `section`'s sources are scanned every few minutes until `until`."""

    section: str
    until: datetime
    by: str
    at: datetime
    id: str = ""
