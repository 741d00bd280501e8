"""Working-day calendar: Chinese public holidays and make-up workdays (调休).

Answers come from, in order: the office's `[calendar]` entries in config, the
`chinese_calendar` package (which knows the State Council schedule up to its last
release, 2026 at the time of writing), and finally Monday to Friday. A year that
neither config (`calendar.years`) nor the package covers uses that fallback and logs
one warning per year, so the office knows to enter the new schedule.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import chinese_calendar

from bot.config import CalendarSettings, parse_days

logger = logging.getLogger(__name__)


class WorkCalendar:
    """Decides whether a day is a working day (工作日)."""

    def __init__(self, settings: CalendarSettings) -> None:
        self._holidays = {d for text in settings.holidays for d in parse_days(text)}
        self._workdays = {d for text in settings.workdays for d in parse_days(text)}
        self._years = set(settings.years)
        self._warned_years: set[int] = set()

    def is_workday(self, day: date) -> bool:
        """True when `day` is a working day."""
        if day in self._holidays:
            return False
        if day in self._workdays:
            return True
        if day.year in self._years:
            return day.weekday() < 5
        known = _package_answer(day)
        if known is not None:
            return known
        if day.year not in self._warned_years:
            self._warned_years.add(day.year)
            logger.warning(
                "holiday schedule unknown, using Monday-Friday year=%d "
                "fix=add [calendar] holidays/workdays and years",
                day.year,
            )
        return day.weekday() < 5

    def is_covered(self, day: date) -> bool:
        """True when config or the package knows the official schedule for `day`."""
        if day in self._holidays or day in self._workdays or day.year in self._years:
            return True
        return _package_answer(day) is not None

    def uncovered(self, start: date, days: int = 30) -> list[date]:
        """The days in [start, start + days) whose schedule nobody knows."""
        span = (start + timedelta(days=n) for n in range(days))
        return [day for day in span if not self.is_covered(day)]

    def next_workday(self, day: date) -> date:
        """The first working day on or after `day`."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day


def _package_answer(day: date) -> bool | None:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None
