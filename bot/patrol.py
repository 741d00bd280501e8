"""The patrol log (监控日志): recording a patrol, who is missing, compliance.

The plan: every monitor (监控人员) patrols at least once on every working day
(调休 counts, holidays do not) and records it with 巡查; a monitor on leave
(`bot.leave`) owes nothing that day. An entry keeps what was patrolled, what was
found, and the bot's own scan of the section that day. `compliance` is what the
office's supervision (督查, `bot.supervision`) reads. Reminders are left to
`bot.patrol_reminders`, chat to `bot.handlers.patrol`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.models import Leave, PatrolEntry
from bot.roles import Person

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Store
    from bot.workdays import WorkCalendar

logger = logging.getLogger(__name__)

NOTHING_FOUND = "无异常"
_FINDINGS_MARKS = ("发现：", "发现:")


@dataclass(frozen=True)
class Compliance:
    """How one monitor kept the daily patrol plan over a span of days."""

    user: str
    section: str
    required: int  # working days in range (up to today) the person had to patrol
    logged: int  # of those, days with at least one entry
    leave: int  # of those, days on leave (not counted as missing)
    missing: tuple[date, ...]


@dataclass(frozen=True)
class ScanSummary:
    """The bot's own scan of a section on one day."""

    sources: int  # sources of the section scanned successfully that day
    hits: int  # hits found in the section that day
    items: int = 0  # items its sources published that the bot read for the first time


def days(start: date, end: date) -> Iterator[date]:
    """Each day from `start` to `end`, both included."""
    for n in range((end - start).days + 1):
        yield start + timedelta(days=n)


def midnight(day: date, settings: Settings) -> datetime:
    return datetime.combine(day, time(), settings.tz)


def home_section(who: Person) -> str:
    """The section a patrol by `who` belongs to; "" for the office and others."""
    if who.monitor_of:
        return who.monitor_of
    return who.head_of[0] if who.head_of else ""


def section_ids(settings: Settings, section: str) -> set[str]:
    """`section` alone, or every section when it is ""."""
    return {section} if section else {s.id for s in settings.sections}


def scan_summary(
    settings: Settings, store: Store, section: str, now: datetime
) -> ScanSummary:
    """How many of the section's sources were scanned today, the new items they
    gave and the hits among them."""
    wanted = section_ids(settings, section)
    names = {s.name for s in settings.sources if s.section in wanted}
    today = now.date()
    scanned = sum(
        1
        for state in store.sources.all()
        if state.name in names
        and state.last_success is not None
        and state.last_success.date() == today
    )
    start = midnight(today, settings)
    hits = sum(1 for h in store.hits.since(start) if h.section in wanted)
    items = sum(1 for i in store.items.since(start) if i.section in wanted)
    return ScanSummary(scanned, hits, items)


def split_note(note: str) -> tuple[str, str]:
    """``"微博、论坛 发现：某帖反映退税慢"`` → scope and findings ("" when not said).

    A trailing 无异常 is the findings too, so a card button can send ``巡查 无异常``.
    """
    note = " ".join(note.split())
    for mark in _FINDINGS_MARKS:
        if mark in note:
            scope, _, findings = note.partition(mark)
            return scope.strip(), findings.strip()
    if note == NOTHING_FOUND or note.endswith(" " + NOTHING_FOUND):
        return note.removesuffix(NOTHING_FOUND).strip(), NOTHING_FOUND
    return note, ""


def record(
    settings: Settings, store: Store, who: Person, note: str, now: datetime
) -> PatrolEntry:
    """Store the patrol `who` just made; `note` as `split_note` reads it.

    Findings not written out (or written as 无异常) come from the day's records:
    the tickets `who` registered today and the hits they dismissed, else 无异常.
    """
    section = home_section(who)
    scope, findings = split_note(note)
    tickets = _tickets_today(store, who.userid, now)
    if not findings or findings == NOTHING_FOUND:
        findings = _findings(settings, store, who.userid, tickets, now)
    summary = scan_summary(settings, store, section, now)
    entry = PatrolEntry(
        user=who.userid,
        section=section,
        at=now,
        scope=scope or settings.patrol.scope,
        findings=findings,
        sources_scanned=summary.sources,
        items_read=summary.items,
        hits_found=summary.hits,
        tickets=tuple(t for t, _ in tickets),
    )
    entry = store.patrol.add(entry)
    logger.info(
        "patrol recorded id=%s user=%s section=%s tickets=%d",
        entry.id,
        entry.user,
        entry.section or "-",
        len(entry.tickets),
    )
    return entry


def _tickets_today(store: Store, user: str, now: datetime) -> list[tuple[str, str]]:
    """(id, title) of the tickets `user` registered today, oldest first."""
    found = [
        t
        for t in store.tickets.recent(now.date())
        if t.created_by == user and t.created_at.date() == now.date()
    ]
    found.sort(key=lambda t: t.created_at)
    return [(t.id, t.title) for t in found]


def _findings(
    settings: Settings,
    store: Store,
    user: str,
    tickets: list[tuple[str, str]],
    now: datetime,
) -> str:
    parts = []
    if tickets:
        listed = "；".join(f"{title}（{tid}）" for tid, title in tickets)
        parts.append(f"发现涉税舆情 {len(tickets)} 条，已登记：{listed}")
    hits = store.hits.since(midnight(now.date(), settings))
    dismissed = sum(1 for h in hits if h.dismissed_by == user)
    if dismissed:
        parts.append(f"经研判忽略或误报命中 {dismissed} 条")
    if not tickets:
        parts.insert(0, NOTHING_FOUND)
    return "；".join(parts)


def on_leave(leaves: Iterable[Leave], user: str, day: date) -> Leave | None:
    """The leave record of `user` covering `day`, if any."""
    iso = day.isoformat()
    return next(
        (lv for lv in leaves if lv.user == user and lv.start <= iso <= lv.end), None
    )


def entries_on(
    settings: Settings, store: Store, start: date, end: date
) -> list[PatrolEntry]:
    """Entries recorded from `start` to `end` (both included), oldest first."""
    return store.patrol.between(
        midnight(start, settings), midnight(end + timedelta(days=1), settings)
    )


def missing_on(
    settings: Settings, store: Store, section: str, day: date
) -> tuple[list[str], list[str]]:
    """The section's monitors with no entry on `day`, and those on leave then.

    The calendar is the caller's business: on a day off nobody is missing.
    """
    found = settings.section(section)
    if found is None:
        return [], []
    logged = {e.user for e in entries_on(settings, store, day, day)}
    leaves = store.leave.overlapping(day, day)
    away = [u for u in found.monitors if on_leave(leaves, u, day)]
    missing = [u for u in found.monitors if u not in logged and u not in away]
    return missing, away


def compliance(
    settings: Settings,
    store: Store,
    calendar: WorkCalendar,
    start: date,
    end: date,
    *,
    now: datetime | None = None,
) -> list[Compliance]:
    """One row per configured monitor: working days owed, logged, on leave, missed.

    `end` is included. Given `now`, days after today are left out, and so is
    today itself while it may still be logged (no entry, no leave, before the
    `[patrol] cutoff`). Without `now` every working day up to `end` counts.
    A day with an entry counts as logged even when the monitor was on leave.
    """
    if now is not None:
        end = min(end, now.date())
    working = [d for d in days(start, end) if calendar.is_workday(d)]
    logged_days: dict[str, set[date]] = defaultdict(set)
    for entry in entries_on(settings, store, start, end):
        logged_days[entry.user].add(entry.at.date())
    leaves = store.leave.overlapping(start, end) if working else []
    rows = []
    for section in settings.sections:
        for user in section.monitors:
            logged = leave = 0
            missing: list[date] = []
            for day in working:
                if day in logged_days[user]:
                    logged += 1
                elif on_leave(leaves, user, day):
                    leave += 1
                elif not _still_open(day, now, settings):
                    missing.append(day)
            required = logged + leave + len(missing)
            rows.append(
                Compliance(user, section.id, required, logged, leave, tuple(missing))
            )
    return rows


def _still_open(day: date, now: datetime | None, settings: Settings) -> bool:
    """True for today before the cutoff: not logged yet is not missing yet."""
    if now is None or day != now.date():
        return False
    return now.time() < settings.patrol.cutoff_time
