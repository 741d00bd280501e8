"""舆情简报: the figures of a briefing over a period, computed from the records.

New hits by level, section, source and rule; tickets registered in the period,
open and overdue now; patrol compliance; the stories that spread most; hits per
day by level (for the trend chart); warnings raised; and, for a week or a month,
the supervision figures (`bot.supervision`). Rendering, the chart and sending
are left to `bot.briefing_notices` and `bot.chart`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot import patrol, supervision, tickets
from bot.config_scan import LEVELS
from bot.ticket_notices import span

if TYPE_CHECKING:
    from bot.alerts import EarlyWarning
    from bot.config import Settings
    from bot.models import Hit, Ticket
    from bot.patrol import Compliance
    from bot.store import Store
    from bot.workdays import WorkCalendar

PERIODS = ("今日", "本周", "本月", "上月")
LEVELS_DOWN = tuple(reversed(LEVELS))  # 特别重大 first
WARNING_KINDS = ("spike", "spread", "late")


@dataclass(frozen=True)
class Period:
    """Days `start` to `end`, both included; `name` is one of `PERIODS`."""

    name: str
    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [
            self.start + timedelta(days=n)
            for n in range((self.end - self.start).days + 1)
        ]

    @property
    def is_long(self) -> bool:
        """A week or a month: the briefing has a chart and supervision figures."""
        return self.name != "今日"


@dataclass
class Briefing:
    period: Period
    now: datetime
    hits: list[Hit]
    by_level: list[tuple[str, int]]
    by_section: list[tuple[str, int]]
    by_source: list[tuple[str, int]]
    by_rule: list[tuple[str, int]]
    new_tickets: list[Ticket]
    open_tickets: int
    overdue: list[tuple[Ticket, str]]
    patrol: list[Compliance]
    top_stories: list[Hit]
    per_day: list[tuple[date, dict[str, int]]]
    warnings: list[EarlyWarning] = field(default_factory=list)
    supervision: supervision.Report | None = None

    @property
    def total(self) -> int:
        return len(self.hits)

    @property
    def is_zero(self) -> bool:
        """零报告: no new hits in the period."""
        return not self.hits

    @property
    def patrol_owed(self) -> int:
        return sum(p.required - p.leave for p in self.patrol)

    @property
    def patrol_logged(self) -> int:
        return sum(p.logged for p in self.patrol)

    @property
    def patrol_missing(self) -> list[Compliance]:
        return [p for p in self.patrol if p.missing]


def period(name: str, today: date, calendar: WorkCalendar | None = None) -> Period:
    """今日, 本周 (Monday to today), 本月 (the 1st to today) or 上月.

    With a `calendar`, 今日 on a working day reaches back over the days off
    before it (a Monday briefing covers the weekend too).
    """
    if name == "今日":
        start = today
        if calendar is not None and calendar.is_workday(today):
            for _ in range(30):
                before = start - timedelta(days=1)
                if calendar.is_workday(before):
                    break
                start = before
        return Period(name, start, today)
    if name in ("本周", "本月", "上月"):
        sup = supervision.period(name, today)
        return Period(name, sup.start, sup.end)
    raise ValueError(name)


def build(
    settings: Settings,
    store: Store,
    calendar: WorkCalendar,
    chosen: Period,
    now: datetime,
    top: int = 5,
) -> Briefing:
    """The briefing of `chosen` as of `now`."""
    tz = settings.tz
    start = datetime.combine(chosen.start, time(), tz)
    end = datetime.combine(chosen.end + timedelta(days=1), time(), tz)
    hits = [h for h in store.hits.since(start) if h.found_at < end]
    found = [t for t in store.tickets.recent(now.date()) if t.section]
    new = [t for t in found if start <= t.created_at < end]
    open_now = [t for t in found if t.state in tickets.OPEN]
    overdue = [(t, span(now - t.due)) for t in open_now if t.due and now > t.due]
    overdue.sort(key=lambda row: row[0].due or now)
    levels = Counter(h.level for h in hits)
    stories = sorted(
        (h for h in hits if h.copy_count), key=lambda h: (-h.copy_count, -h.score)
    )
    warnings = [
        w
        for w in store.warnings.since(start)
        if w.kind in WARNING_KINDS and w.first_at < end
    ]
    brief = Briefing(
        period=chosen,
        now=now,
        hits=hits,
        by_level=[(level, levels[level]) for level in LEVELS_DOWN],
        by_section=[
            (settings.section_name(s), n)
            for s, n in Counter(h.section for h in hits).most_common()
        ],
        by_source=Counter(h.source for h in hits).most_common(top),
        by_rule=Counter(h.rule for h in hits).most_common(top),
        new_tickets=sorted(new, key=lambda t: t.created_at),
        open_tickets=len(open_now),
        overdue=overdue,
        patrol=patrol.compliance(
            settings, store, calendar, chosen.start, chosen.end, now=now
        ),
        top_stories=stories[:top],
        per_day=per_day(hits, chosen),
        warnings=sorted(warnings, key=lambda w: w.first_at),
    )
    if chosen.is_long:
        sup = supervision.Period(chosen.name, chosen.start, chosen.end)
        brief.supervision = supervision.report(settings, store, calendar, sup, now)
    return brief


def per_day(hits: list[Hit], chosen: Period) -> list[tuple[date, dict[str, int]]]:
    """Hits per day of `chosen`, by level (every level present, zeros included)."""
    rows = {day: dict.fromkeys(LEVELS, 0) for day in chosen.days}
    for hit in hits:
        day = hit.found_at.date()
        if day in rows:
            rows[day][hit.level if hit.level in LEVELS else LEVELS[0]] += 1
    return sorted(rows.items())
