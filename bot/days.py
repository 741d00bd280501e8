"""Days, spans of days and months as people type them in chat commands.

``2026-12-07``, ``12-07``, ``12/7``, ``12月7日``, ``2026年12月7日``, ``今天``,
``明天``; spans ``12-07..12-09``, ``12-07至12-09``, ``12月7日到9日``; months
``2026-12``, ``2026年12月``, ``12月``, ``本月``, ``上月``. A date written without a
year is the one nearest to today (on 28 December, ``01-03`` is next January).
Whether a span makes sense for a purpose (leave in the past, too long) is left to
the caller. Publication times on web pages are `bot.dates`' business.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta

_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_DAY_ONLY = re.compile(r"^(\d{1,2})\s*[日号]?$")
_MONTH = re.compile(r"^(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*月?$")
_RANGE = re.compile(r"\s*(?:\.\.|…|至|到|~|～)\s*")
_NAMED = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "昨天": -1, "昨日": -1}


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def parse_day(text: str, today: date) -> date | None:
    """The day `text` names, or None when it names none."""
    text = _normal(text)
    if text in _NAMED:
        return today + timedelta(days=_NAMED[text])
    full = _FULL.match(text)
    if full:
        return _date(*(int(g) for g in full.groups()))
    short = _MONTH_DAY.match(text)
    if short:
        return _nearest(int(short[1]), int(short[2]), today)
    return None


def parse_span(text: str, today: date) -> tuple[date, date] | None:
    """The first and last day (inclusive) `text` names, or None.

    The end may leave out the month (``12月7日至9日``) or the year; an end that
    would fall before the start is taken from the next year (``12-30..01-02``).
    """
    parts = _RANGE.split(_normal(text))
    if len(parts) == 1:
        day = parse_day(parts[0], today)
        return (day, day) if day else None
    if len(parts) != 2:
        return None
    start = parse_day(parts[0], today)
    if start is None:
        return None
    end = _end_of(parts[1], start, today)
    return (start, end) if end else None


def parse_month(text: str, today: date) -> date | None:
    """The first day of the month `text` names, or None.

    A month without a year is this year's, or last year's when it is still ahead.
    """
    text = _normal(text)
    if text in ("本月", "这个月"):
        return today.replace(day=1)
    if text == "上月":
        return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    match = _MONTH.match(text)
    if match is None or not 1 <= int(match[2]) <= 12:
        return None
    if not match[1] and not text.endswith("月"):
        return None  # a bare number is not a month
    month = int(match[2])
    if match[1]:
        return date(int(match[1]), month, 1)
    year = today.year if month <= today.month else today.year - 1
    return date(year, month, 1)


def _end_of(text: str, start: date, today: date) -> date | None:
    only_day = _DAY_ONLY.match(text)
    if only_day:
        return _date(start.year, start.month, int(only_day[1]))
    if _FULL.match(text) or text in _NAMED:
        return parse_day(text, today)
    short = _MONTH_DAY.match(text)
    if short is None:
        return None
    end = _date(start.year, int(short[1]), int(short[2]))
    if end is not None and end < start:
        end = _date(start.year + 1, end.month, end.day)
    return end


def _nearest(month: int, day: int, today: date) -> date | None:
    found = [_date(year, month, day) for year in (today.year - 1, today.year + 1)]
    candidates = [d for d in (_date(today.year, month, day), *found) if d]
    if not candidates:
        return None
    return min(candidates, key=lambda d: abs((d - today).days))


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
