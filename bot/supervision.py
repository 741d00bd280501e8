"""督查: how each section kept the plan over a period, computed from the records.

Per section: tickets registered, the share of 批示 and 办结 done by their
deadline, tickets now overdue and by how long, patrol compliance per monitor,
and per rule how many hits were dismissed as 忽略 or 误报. Deadlines are
recomputed from the history with the current `[tickets]` settings, so a changed
setting also changes past figures (the history keeps times, not deadlines).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot import deadlines, tickets
from bot.config_scan import parse_duration
from bot.models import Ticket
from bot.ticket_notices import span

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.patrol import Compliance
    from bot.store import Store
    from bot.workdays import WorkCalendar

PERIODS = ("本周", "本月", "上月")


@dataclass(frozen=True)
class Period:
    name: str
    start: date
    end: date  # inclusive


@dataclass
class Rate:
    """How many steps were done, and how many of those by their deadline."""

    done: int = 0
    on_time: int = 0

    @property
    def percent(self) -> str:
        return f"{self.on_time * 100 // self.done}%" if self.done else "—"


@dataclass
class SectionFigures:
    name: str
    registered: int = 0
    instruct: Rate = field(default_factory=Rate)
    handle: Rate = field(default_factory=Rate)
    overdue: list[tuple[Ticket, str]] = field(default_factory=list)
    patrol: list[Compliance] = field(default_factory=list)


@dataclass(frozen=True)
class RuleFigures:
    rule: str
    hits: int
    ignored: int
    false: int

    @property
    def dismissed_percent(self) -> int:
        return (self.ignored + self.false) * 100 // self.hits if self.hits else 0


@dataclass
class Report:
    period: Period
    sections: list[SectionFigures]
    rules: list[RuleFigures]


def period(name: str, today: date) -> Period:
    """本周 (Monday to today), 本月 (the 1st to today) or 上月 (all of last month)."""
    if name == "本周":
        return Period(name, today - timedelta(days=today.weekday()), today)
    first = today.replace(day=1)
    if name == "本月":
        return Period(name, first, today)
    last_month_end = first - timedelta(days=1)
    return Period(name, last_month_end.replace(day=1), last_month_end)


def report(
    settings: Settings,
    store: Store,
    calendar: WorkCalendar,
    chosen: Period,
    now: datetime,
) -> Report:
    """The supervision figures of `chosen`, as of `now`."""
    tz = settings.tz
    start = datetime.combine(chosen.start, time(), tz)
    end = datetime.combine(chosen.end + timedelta(days=1), time(), tz)
    figures = {s.id: SectionFigures(s.name) for s in settings.sections}
    for ticket in store.tickets.recent(now.date()):
        row = figures.get(ticket.section)
        if row is None:
            continue
        if start <= ticket.created_at < end:
            row.registered += 1
        _count_steps(row, ticket, settings, calendar, start, end)
        if ticket.state in tickets.OPEN and ticket.due and now > ticket.due:
            row.overdue.append((ticket, span(now - ticket.due)))
    from bot import patrol  # TODO(#6): top-level import once bot.patrol lands

    people = patrol.compliance(settings, store, calendar, chosen.start, chosen.end)
    for person in people:
        if person.section in figures:
            figures[person.section].patrol.append(person)
    return Report(chosen, list(figures.values()), _rules(store, start, end))


def _count_steps(
    row: SectionFigures,
    ticket: Ticket,
    settings: Settings,
    calendar: WorkCalendar,
    start: datetime,
    end: datetime,
) -> None:
    """Add the ticket's 批示 and 办结 done within [start, end) to `row`."""
    rule = settings.tickets.for_level(ticket.level)
    waiting_since: datetime | None = None
    for event in ticket.history:
        if event.to_state == tickets.PENDING and event.from_state != tickets.PENDING:
            waiting_since = event.at  # 登记 or 重新提交 starts the 批示 clock
        if not start <= event.at < end:
            continue
        if event.action == "批示" and waiting_since is not None:
            due = deadlines.add_time(
                waiting_since,
                parse_duration(rule.instruct),
                calendar,
                rule.working_days,
            )
            _tally(row.instruct, event.at <= due)
        elif event.action == "办结" and ticket.instructed_at is not None:
            due = deadlines.add_time(
                ticket.instructed_at,
                parse_duration(rule.handle),
                calendar,
                rule.working_days,
            )
            _tally(row.handle, event.at <= due)


def _tally(rate: Rate, on_time: bool) -> None:
    rate.done += 1
    rate.on_time += on_time


def _rules(store: Store, start: datetime, end: datetime) -> list[RuleFigures]:
    hits = [h for h in store.hits.since(start) if h.found_at < end]
    total = Counter(h.rule for h in hits)
    kinds = Counter((h.rule, h.dismissed) for h in hits if h.dismissed)
    return sorted(
        (
            RuleFigures(rule, n, kinds[(rule, "忽略")], kinds[(rule, "误报")])
            for rule, n in total.items()
        ),
        key=lambda r: (-r.dismissed_percent, -r.hits, r.rule),
    )
