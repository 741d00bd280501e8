"""Source health: when a source is failing or silent, and when it is back.

Pure transitions over `SourceState`: each scan outcome gives the next state and, at
most once per episode, an event (alert or recovery) for the office and admins.
Sending the messages is left to `bot.notify`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.models import SourceState

FAILING = "failing"
SILENT = "silent"


@dataclass(frozen=True)
class HealthEvent:
    """Something about a source the office should hear about.

    `kind` is ``failing``, ``recovered``, ``silent`` or ``resumed``.
    """

    source: str
    kind: str
    failures: int = 0
    error: str = ""
    quiet_for: timedelta | None = None


def after_failure(
    state: SourceState, now: datetime, error: str, threshold: int
) -> tuple[SourceState, HealthEvent | None]:
    """The state after a failed scan; an alert when failures reach `threshold`."""
    failures = state.consecutive_failures + 1
    new = replace(
        state, last_attempt=now, consecutive_failures=failures, last_error=error
    )
    if failures >= threshold and state.alert != FAILING:
        event = HealthEvent(state.name, FAILING, failures=failures, error=error)
        return replace(new, alert=FAILING), event
    return new, None


def after_success(
    state: SourceState,
    now: datetime,
    new_items: int,
    silence_limit: timedelta | None,
) -> tuple[SourceState, HealthEvent | None]:
    """The state after a successful scan, with a recovery, silence or resumed event."""
    last_new = now if new_items or state.last_new_item is None else state.last_new_item
    new = replace(
        state,
        last_attempt=now,
        last_success=now,
        consecutive_failures=0,
        last_error="",
        items_seen=state.items_seen + new_items,
        last_new_item=last_new,
    )
    if state.alert == FAILING:
        return replace(new, alert=""), HealthEvent(state.name, "recovered")
    if state.alert == SILENT and new_items:
        return replace(new, alert=""), HealthEvent(state.name, "resumed")
    quiet = now - last_new
    if silence_limit and quiet > silence_limit and state.alert != SILENT:
        return replace(new, alert=SILENT), HealthEvent(
            state.name, SILENT, quiet_for=quiet
        )
    return new, None
