"""The daily patrol notices: the prompt at `[patrol] remind_at`, who is missing at
the cutoff. `patrol_tick` runs every minute and decides what is due.

On a working day, from `remind_at` until the cutoff, each section chat gets one
prompt (a card with buttons where the chat can show them) that @mentions the
monitors with no entry yet and not on leave. From the cutoff on, the heads (in
the section chat) and the office (in its chat) are told who is still missing.
Each notice is sent once a day: a marker in the store says it went out, so a
restart does not repeat it and a bot that was down at 16:00 and back at 16:20
still sends the prompt. A prompt not sent by the cutoff is dropped (the cutoff
notice says the same, later); a day the bot was down all afternoon is not
replayed the next day, the supervision figures (督查) still show it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Protocol

from bot import notify, patrol
from bot.cards import patrol_card
from bot.models import OutboxMessage

if TYPE_CHECKING:
    from bot.config import Section, Settings
    from bot.outbox import Outbox
    from bot.render import Renderer
    from bot.store import Store
    from bot.workdays import WorkCalendar

logger = logging.getLogger(__name__)

REMIND = "remind"
CUTOFF = "cutoff"


class Host(Protocol):
    """What a tick needs from the running bot (`bot.app.App` has all of it)."""

    settings: Settings
    store: Store
    calendar: WorkCalendar
    renderer: Renderer
    outbox: Outbox


@dataclass(frozen=True)
class _Missing:
    section: str  # the section's name
    missing: list[str]
    away: list[str]


def patrol_tick(host: Host, now: datetime) -> int:
    """Queue the patrol notices due at `now` that were not sent today; how many."""
    plan = host.settings.patrol
    today = now.date()
    if not plan.enabled or not host.calendar.is_workday(today):
        return 0
    if now.time() >= plan.cutoff_time:
        kind, build = CUTOFF, _cutoff
    elif now.time() >= plan.remind_time:
        kind, build = REMIND, _prompts
    else:
        return 0
    if host.store.patrol_marks.has(kind, today):
        return 0
    messages = build(host, today, now)
    # Queued before the marker: a crash in between repeats a notice, never loses it.
    host.outbox.enqueue(messages)
    host.store.patrol_marks.add(kind, today, now)
    logger.info(
        "patrol notices queued kind=%s day=%s messages=%d", kind, today, len(messages)
    )
    return len(messages)


def _monitored(settings: Settings) -> list[Section]:
    return [s for s in settings.sections if s.monitors]


def _prompts(host: Host, day: date, now: datetime) -> list[OutboxMessage]:
    """Each section's prompt, naming the monitors who have not patrolled yet."""
    settings = host.settings
    messages = []
    for section in _monitored(settings):
        missing, away = patrol.missing_on(settings, host.store, section.id, day)
        text = host.renderer.render(
            "patrol/reminder.j2",
            section=section.name,
            day=day,
            missing=missing,
            away=away,
            names=settings.names,
            cutoff=settings.patrol.cutoff,
        )
        card = patrol_card(section.id, section.name, day, text)
        message = notify.markdown(settings.chat(section.chat), text, now)
        # A card where the chat can show buttons (AI bot), this text elsewhere.
        body: dict[str, object] = {"text": text, "template_card": card}
        messages.append(replace(message, kind="card", body=body))
    return messages


def _cutoff(host: Host, day: date, now: datetime) -> list[OutboxMessage]:
    """Who is still missing: to each section's heads, and to the office."""
    settings = host.settings
    messages, rows = [], []
    for section in _monitored(settings):
        missing, away = patrol.missing_on(settings, host.store, section.id, day)
        if not missing:
            continue
        rows.append(_Missing(section.name, missing, away))
        text = host.renderer.render(
            "patrol/cutoff_section.j2",
            section=section.name,
            day=day,
            missing=missing,
            away=away,
            heads=section.heads,
            names=settings.names,
            cutoff=settings.patrol.cutoff,
        )
        messages.append(notify.markdown(settings.chat(section.chat), text, now))
    if rows:
        text = host.renderer.render(
            "patrol/cutoff_office.j2",
            day=day,
            rows=rows,
            office=settings.office.members,
            names=settings.names,
            cutoff=settings.patrol.cutoff,
        )
        messages.append(notify.markdown(settings.chat(settings.office.chat), text, now))
    return messages
