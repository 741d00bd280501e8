"""Leave (请假, 销假): who may record it, which spans make sense, and storing it.

A monitor records their own leave; the head of the monitor's section or the office
may record it for them. A day on leave owes no patrol: no reminder, not missing at
the cutoff, counted as leave in compliance (`bot.patrol`). Parsing the chat line
is left to `bot.handlers.patrol`, the dates themselves to `bot.days`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.models import Leave
from bot.roles import Person, Role

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Store

logger = logging.getLogger(__name__)

MAX_DAYS = 60  # the longest span one 请假 may cover
MAX_AHEAD = timedelta(days=366)  # how far ahead a leave may start


class LeaveRefused(UserError):
    """A leave the sender may not record, or a span that makes no sense."""


@dataclass(frozen=True)
class Cancelled:
    """What 销假 changed: the day given back and the user's leave left around it."""

    user: str
    day: date
    remaining: tuple[Leave, ...]


def section_of(settings: Settings, user: str) -> str:
    """The section `user` monitors, or "" when they monitor none."""
    return next((s.id for s in settings.sections if user in s.monitors), "")


def check_may(settings: Settings, who: Person, user: str) -> str:
    """The section of monitor `user` when `who` may record their leave; else refuse."""
    section = section_of(settings, user)
    if not section:
        raise LeaveRefused(
            "patrol/leave_not_monitor.j2", user=user, own=user == who.userid
        )
    if user == who.userid or section in who.head_of or who.has(Role.OFFICE):
        return section
    home = settings.section(section)
    raise LeaveRefused(
        "patrol/leave_refused.j2",
        user=user,
        section=settings.section_name(section),
        heads=home.heads if home else (),
    )


def check_span(start: date, end: date, today: date, usage: str, command: str) -> None:
    """Refuse a leave wholly in the past, too long, too far ahead, or reversed."""
    problem = ""
    if end < start:
        problem = f"结束日期 {end} 早于开始日期 {start}"
    elif end < today:
        problem = f"{_span_text(start, end)} 已经过去，只能登记今天及以后的请假"
    elif (end - start).days + 1 > MAX_DAYS:
        problem = (
            f"{_span_text(start, end)} 共 {(end - start).days + 1} 天，"
            f"一次最多登记 {MAX_DAYS} 天，更长的请分段登记"
        )
    elif start - today > MAX_AHEAD:
        problem = f"{start} 太远了，最多登记一年以内的请假"
    if problem:
        raise LeaveRefused(
            "errors/bad_args.j2", command=command, problem=problem, usage=usage
        )


def take(
    store: Store,
    who: Person,
    user: str,
    section: str,
    span: tuple[date, date],
    note: str,
    now: datetime,
) -> Leave:
    """Store the leave of `user` over `span` recorded by `who`.

    A span sharing a day with a leave already recorded is refused: the days
    are either on leave or not, and 销假 gives single days back.
    """
    start, end = span
    overlap = store.leave.overlapping(start, end, user)
    if overlap:
        raise LeaveRefused("patrol/leave_overlap.j2", user=user, leaves=overlap)
    leave = Leave(
        user=user,
        section=section,
        start=start.isoformat(),
        end=end.isoformat(),
        note=note.strip(),
        by=who.userid,
        at=now,
    )
    leave = store.leave.add(leave)
    logger.info(
        "leave recorded id=%s user=%s start=%s end=%s by=%s",
        leave.id,
        user,
        leave.start,
        leave.end,
        who.userid,
    )
    return leave


def cancel(store: Store, who: Person, user: str, day: date, now: datetime) -> Cancelled:
    """销假: give `day` back; a record around it is split in two. Refuse if none."""
    covering = store.leave.overlapping(day, day, user)
    if not covering:
        raise LeaveRefused("patrol/no_leave.j2", user=user, day=day)
    before, after = day - timedelta(days=1), day + timedelta(days=1)
    for leave in covering:
        store.leave.remove(leave.id)
        # The days around `day` keep who recorded them and when.
        if leave.start <= before.isoformat():
            store.leave.add(replace(leave, end=before.isoformat(), id=""))
        if after.isoformat() <= leave.end:
            store.leave.add(replace(leave, start=after.isoformat(), id=""))
    logger.info("leave cancelled user=%s day=%s by=%s", user, day, who.userid)
    today = now.date()
    remaining = store.leave.overlapping(today, today + MAX_AHEAD, user)
    return Cancelled(user, day, tuple(remaining))


def _span_text(start: date, end: date) -> str:
    return str(start) if start == end else f"{start} 至 {end}"
