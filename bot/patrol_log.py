"""The monitoring log (监控日志) as rows, the way 日志 and the Word export show it.

One row per patrol entry, plus one row per working day a monitor was on leave and
recorded nothing (备注 请假). The handling column (处理情况) gives the current state
of the tickets registered with the entry, so a log exported later shows how the
cases ended. Rendering is left to the templates and to `bot.forms`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot import patrol
from bot.models import PatrolEntry

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Store
    from bot.workdays import WorkCalendar

LEAVE_NOTE = "请假"


@dataclass(frozen=True)
class LogRow:
    """One line of the log: a patrol, or a day on leave (`at` is None)."""

    day: date
    at: datetime | None
    user: str
    section: str
    scope: str = ""
    findings: str = ""
    handling: str = ""
    note: str = ""

    @property
    def is_leave(self) -> bool:
        return self.at is None


def rows(
    settings: Settings,
    store: Store,
    calendar: WorkCalendar,
    start: date,
    end: date,
    sections: set[str] | None = None,
) -> list[LogRow]:
    """The log from `start` to `end` (inclusive) of `sections` (None: everyone's).

    Entries recorded by people without a section (the office) appear only when
    no sections are chosen.
    """
    chosen = [s for s in settings.sections if sections is None or s.id in sections]
    out = [
        _entry_row(store, entry)
        for entry in patrol.entries_on(settings, store, start, end)
        if (sections is None or entry.section in sections)
    ]
    logged = {(r.user, r.day) for r in out}
    leaves = store.leave.overlapping(start, end)
    for day in patrol.days(start, end):
        if not calendar.is_workday(day):
            continue
        for section in chosen:
            for user in section.monitors:
                leave = patrol.on_leave(leaves, user, day)
                if leave is None or (user, day) in logged:
                    continue
                note = f"{LEAVE_NOTE}（{leave.note}）" if leave.note else LEAVE_NOTE
                out.append(LogRow(day, None, user, section.id, note=note))
    out.sort(key=lambda r: (r.day, r.at is None, r.at or datetime.min, r.user))
    return out


def _entry_row(store: Store, entry: PatrolEntry) -> LogRow:
    states = []
    for ticket_id in entry.tickets:
        ticket = store.tickets.get(ticket_id)
        states.append(f"{ticket_id} {ticket.state}" if ticket else ticket_id)
    return LogRow(
        day=entry.at.date(),
        at=entry.at,
        user=entry.user,
        section=entry.section,
        scope=entry.scope,
        findings=entry.findings,
        handling="；".join(states),
        note=(
            f"机器人扫描来源 {entry.sources_scanned} 个，"
            f"读取新信息 {entry.items_read} 条，命中 {entry.hits_found} 条"
        ),
    )
