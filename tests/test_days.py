"""Days, spans and months as typed in chat."""

from __future__ import annotations

from datetime import date

import pytest

from bot.days import parse_day, parse_month, parse_span

TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-07", date(2026, 12, 7)),
        ("12-07", date(2026, 12, 7)),
        ("12/7", date(2026, 12, 7)),
        ("12月7日", date(2026, 12, 7)),
        ("2027年1月4日", date(2027, 1, 4)),
        ("１２－０７", date(2026, 12, 7)),
        ("明天", date(2026, 12, 4)),
        ("昨天", date(2026, 12, 2)),
        ("01-03", date(2027, 1, 3)),  # nearest: next January, not last
        ("09-01", date(2026, 9, 1)),
    ],
    ids=lambda v: str(v),
)
def test_parse_day_reads_chat_dates(text, expected):
    assert parse_day(text, TODAY) == expected


@pytest.mark.parametrize("text", ["13-01", "02-30", "下周一", "zhangsan", ""])
def test_parse_day_rejects_non_dates(text):
    assert parse_day(text, TODAY) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12-07..12-09", (date(2026, 12, 7), date(2026, 12, 9))),
        ("12-07至12-09", (date(2026, 12, 7), date(2026, 12, 9))),
        ("12月7日到9日", (date(2026, 12, 7), date(2026, 12, 9))),
        ("12-30..01-02", (date(2026, 12, 30), date(2027, 1, 2))),
        ("12-07", (date(2026, 12, 7), date(2026, 12, 7))),
    ],
    ids=lambda v: str(v),
)
def test_parse_span_reads_ranges(text, expected):
    assert parse_span(text, TODAY) == expected


def test_parse_span_rejects_half_ranges():
    assert parse_span("12-07..", TODAY) is None
    assert parse_span("12-07..x", TODAY) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12", date(2026, 12, 1)),
        ("2026年11月", date(2026, 11, 1)),
        ("12月", date(2026, 12, 1)),
        ("11月", date(2026, 11, 1)),
        ("本月", date(2026, 12, 1)),
        ("上月", date(2026, 11, 1)),
    ],
    ids=lambda v: str(v),
)
def test_parse_month_reads_months(text, expected):
    assert parse_month(text, TODAY) == expected


def test_parse_month_takes_a_later_month_from_last_year():
    assert parse_month("12月", date(2027, 1, 5)) == date(2026, 12, 1)
    assert parse_month("12", TODAY) is None
    assert parse_month("13月", TODAY) is None
