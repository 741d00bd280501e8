import logging
from datetime import date

import pytest

from bot.config import CalendarSettings
from bot.workdays import WorkCalendar


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param("2026-01-01", False, id="new-year-thursday-off"),
        pytest.param("2026-02-14", True, id="spring-festival-makeup-saturday"),
        pytest.param("2026-02-16", False, id="spring-festival-monday-off"),
        pytest.param("2026-10-01", False, id="national-day-off"),
        pytest.param("2026-10-10", True, id="national-day-makeup-saturday"),
        pytest.param("2026-12-03", True, id="ordinary-thursday"),
        pytest.param("2026-12-05", False, id="ordinary-saturday"),
    ],
)
def test_workdays_package_knows_2026(day, expected):
    calendar = WorkCalendar(CalendarSettings())

    assert calendar.is_workday(date.fromisoformat(day)) is expected


def test_workdays_config_overrides_package():
    settings = CalendarSettings(holidays=("2026-12-03",), workdays=("2026-12-05",))
    calendar = WorkCalendar(settings)

    assert not calendar.is_workday(date(2026, 12, 3))
    assert calendar.is_workday(date(2026, 12, 5))


def test_workdays_uncovered_year_falls_back_with_one_warning(caplog):
    calendar = WorkCalendar(CalendarSettings())

    with caplog.at_level(logging.WARNING):
        monday = calendar.is_workday(date(2027, 3, 1))
        saturday = calendar.is_workday(date(2027, 3, 6))
        calendar.is_workday(date(2027, 3, 8))

    assert monday and not saturday
    warnings = [r for r in caplog.records if "holiday schedule unknown" in r.message]
    assert len(warnings) == 1
    assert "year=2027" in warnings[0].getMessage()


def test_workdays_office_entered_2027_schedule():
    settings = CalendarSettings(
        holidays=("2027-01-01", "2027-02-06..2027-02-12"),
        workdays=("2027-02-14",),
        years=(2027,),
    )
    calendar = WorkCalendar(settings)

    assert not calendar.is_workday(date(2027, 2, 8))
    assert calendar.is_workday(date(2027, 2, 14))
    assert calendar.is_workday(date(2027, 3, 1))
    assert calendar.is_covered(date(2027, 7, 1))


def test_workdays_uncovered_lists_next_days_without_schedule():
    calendar = WorkCalendar(CalendarSettings())

    missing = calendar.uncovered(date(2026, 12, 20), days=30)

    assert missing[0] == date(2027, 1, 1)
    assert len(missing) == 18  # 2027-01-01 .. 2027-01-18


def test_workdays_next_workday_skips_holiday_week():
    calendar = WorkCalendar(CalendarSettings())

    assert calendar.next_workday(date(2026, 10, 1)) == date(2026, 10, 8)
