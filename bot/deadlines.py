"""Deadlines, reminders (催办) and escalation for tickets: when, and to whom.

Pure functions of a ticket, the `[tickets]` settings, the working-day calendar and
a time. A level with ``working_days = true`` runs its clock only on working days
(weekends and holidays pause it; a make-up workday 调休 counts).

Each state's reminders are numbered by `Ticket.reminders`: 0 comes `remind_before`
the deadline, 1 at the deadline, and 2, 3, ... every `escalate_every` after it, each
going one level further up the chain (head, then office, then leaders; the last
level repeats) until someone acts. Reminders that would fall in quiet hours, or on
a day off for a working-day level, wait for the morning, except for 特别重大.

A held reminder goes out once when the hold ends; the times the later steps
would have had meanwhile are dropped, not replayed: an escalation comes no sooner
than `escalate_every` after the reminder before it, so each level gets its full
interval to act. An early reminder that could only go out at or after the deadline
is skipped for the deadline's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot import tickets
from bot.config_scan import parse_duration
from bot.config_tickets import TicketSettings
from bot.models import Ticket
from bot.workdays import WorkCalendar

# Who is chased at each escalation step, by who must act.
CHAINS = {
    "head": ("head", "office", "leaders"),
    "author": ("author", "head", "office"),
    "office": ("office", "leaders"),
}
NEVER_HELD = "特别重大"
REMINDER = "催办"  # the history action of a sent reminder


@dataclass(frozen=True)
class Chase:
    """The next reminder of a ticket: its number, its time and whom it goes to."""

    stage: int
    at: datetime
    audience: str  # "head", "author", "office" or "leaders"
    kind: str  # 提醒 (before the deadline), 到期, 超期

    @property
    def escalated(self) -> bool:
        return self.stage >= 2


def add_time(
    start: datetime, span: timedelta, calendar: WorkCalendar, working_days: bool
) -> datetime:
    """`start` plus `span`, counting only working days when `working_days`."""
    if not working_days:
        return start + span
    t, left = start, span
    while True:
        midnight = datetime.combine(t.date() + timedelta(days=1), time(), t.tzinfo)
        if not calendar.is_workday(t.date()):
            t = midnight
            continue
        if left <= midnight - t:
            return t + left
        left -= midnight - t
        t = midnight


def due_for(
    ticket: Ticket, now: datetime, settings: TicketSettings, calendar: WorkCalendar
) -> datetime | None:
    """The deadline of `ticket` in the state it has just entered at `now`."""
    rule = settings.for_level(ticket.level)
    if ticket.state in (tickets.PENDING, tickets.RETURNED):
        span = parse_duration(rule.instruct)
        return add_time(now, span, calendar, rule.working_days)
    if ticket.state in (tickets.TO_HANDLE, tickets.HANDLING):
        start = ticket.instructed_at or now
        return add_time(start, parse_duration(rule.handle), calendar, rule.working_days)
    return None


def next_chase(
    ticket: Ticket,
    settings: TicketSettings,
    calendar: WorkCalendar,
    now: datetime | None = None,
) -> Chase | None:
    """The reminder `ticket` is owed next (its time may be in the future).

    With `now`, an early reminder whose moment has passed along with the deadline
    (the bot was down) gives way to the deadline's reminder.
    """
    who = tickets.responsible(ticket)
    if ticket.due is None or ticket.state not in tickets.OPEN or not who:
        return None
    stage = ticket.reminders
    before = ticket.due - parse_duration(settings.remind_before)
    if stage == 0 and (
        before <= entered_at(ticket)  # too short a deadline for an early reminder
        or hold(before, ticket.level, settings, calendar) >= ticket.due
        or (now is not None and now >= ticket.due)
    ):
        stage = 1
    every = parse_duration(settings.escalate_every)
    if stage == 0:
        at, kind = before, "提醒"
    elif stage == 1:
        at, kind = ticket.due, "到期"
    else:
        at = ticket.due + (stage - 1) * every
        last = last_reminder_at(ticket)
        if last is not None:  # a held reminder went out late: keep the rhythm
            at = max(at, last + every)
        kind = "超期"
    chain = CHAINS[who]
    audience = chain[min(max(stage - 1, 0), len(chain) - 1)]
    return Chase(stage, hold(at, ticket.level, settings, calendar), audience, kind)


def last_reminder_at(ticket: Ticket) -> datetime | None:
    """When the last reminder in the current state went out (None: none yet)."""
    for event in reversed(ticket.history):
        if event.action == REMINDER:
            return event.at
        if event.action != "上报":
            return None  # the state's entry: its reminders start afresh
    return None


def entered_at(ticket: Ticket) -> datetime:
    """When `ticket` entered its current state (reminders and 上报 do not count)."""
    for event in reversed(ticket.history):
        if event.action not in (REMINDER, "上报"):
            return event.at
    return ticket.created_at


def hold(
    at: datetime, level: str, settings: TicketSettings, calendar: WorkCalendar
) -> datetime:
    """`at`, moved out of quiet hours (and days off, for working-day levels)."""
    if level == NEVER_HELD:
        return at
    quiet = settings.quiet
    working_days = settings.for_level(level).working_days
    for _ in range(60):  # a long holiday is a few weeks; never loop forever
        moved = at
        if quiet is not None and _in_quiet(at.time(), *quiet):
            moved = _quiet_end(at, *quiet)
        if working_days and not calendar.is_workday(moved.date()):
            start = quiet[1] if quiet is not None else time(8, 30)
            nxt = calendar.next_workday(moved.date())
            moved = datetime.combine(nxt, start, at.tzinfo)
        if moved == at:
            return at
        at = moved
    return at


def _in_quiet(t: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= t < end
    return t >= start or t < end


def _quiet_end(at: datetime, start: time, end: time) -> datetime:
    day = at.date()
    if start > end and at.time() >= start:  # quiet hours run past midnight
        day += timedelta(days=1)
    return datetime.combine(day, end, at.tzinfo)
