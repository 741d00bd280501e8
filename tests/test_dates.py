from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.dates import parse_date

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=SHANGHAI)
MARCH_4_10AM = 1741053600  # 2025-03-04 10:00:00 in Shanghai


def at(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-12-03 09:30", at(2026, 12, 3, 9, 30), id="dashes-minutes"),
        pytest.param(
            "2026-12-03 09:30:15", at(2026, 12, 3, 9, 30, 15), id="dashes-seconds"
        ),
        pytest.param("2026/12/3", at(2026, 12, 3), id="slashes-short-day"),
        pytest.param("2026.12.03", at(2026, 12, 3), id="dots"),
        pytest.param("2026年12月3日", at(2026, 12, 3), id="chinese-date"),
        pytest.param(
            "2026年12月3日 09:30", at(2026, 12, 3, 9, 30), id="chinese-date-time"
        ),
        pytest.param(
            "2026年12月03日09:30", at(2026, 12, 3, 9, 30), id="chinese-no-space"
        ),
        pytest.param(
            "2025年3月4日 10时05分", at(2025, 3, 4, 10, 5), id="chinese-hour-minute"
        ),
        pytest.param(
            "发布时间：2026-12-03 09:30", at(2026, 12, 3, 9, 30), id="with-label"
        ),
        pytest.param("20261203", at(2026, 12, 3), id="compact-date"),
        pytest.param("12月3日", at(2026, 12, 3), id="month-day"),
        pytest.param("12-03 09:30", at(2026, 12, 3, 9, 30), id="dashed-month-day"),
        pytest.param("12月4日 08:00", at(2026, 12, 4, 8), id="tomorrow-stays"),
        pytest.param("12月25日", at(2025, 12, 25), id="future-is-last-year"),
        pytest.param("12-31 23:59", at(2025, 12, 31, 23, 59), id="dashed-last-year"),
        pytest.param("3小时前", at(2026, 12, 3, 9), id="hours-ago"),
        pytest.param("3个小时前", at(2026, 12, 3, 9), id="hours-ago-measure-word"),
        pytest.param("5分钟前", at(2026, 12, 3, 11, 55), id="minutes-ago"),
        pytest.param("30秒前", at(2026, 12, 3, 11, 59, 30), id="seconds-ago"),
        pytest.param("2天前", at(2026, 12, 1, 12), id="days-ago"),
        pytest.param("半小时前", at(2026, 12, 3, 11, 30), id="half-hour-ago"),
        pytest.param("刚刚", NOW, id="just-now"),
        pytest.param("今天 09:30", at(2026, 12, 3, 9, 30), id="today"),
        pytest.param("昨天 14:00", at(2026, 12, 2, 14), id="yesterday"),
        pytest.param("前天 08:00", at(2026, 12, 1, 8), id="day-before-yesterday"),
        pytest.param("昨天", at(2026, 12, 2), id="yesterday-no-time"),
        pytest.param(MARCH_4_10AM, at(2025, 3, 4, 10), id="unix-seconds-int"),
        pytest.param(
            MARCH_4_10AM * 1000, at(2025, 3, 4, 10), id="unix-milliseconds-int"
        ),
        pytest.param(
            MARCH_4_10AM + 0.5,
            at(2025, 3, 4, 10) + timedelta(milliseconds=500),
            id="unix-seconds-float",
        ),
        pytest.param(str(MARCH_4_10AM), at(2025, 3, 4, 10), id="unix-seconds-text"),
        pytest.param(
            f"{MARCH_4_10AM}000", at(2025, 3, 4, 10), id="unix-milliseconds-text"
        ),
        pytest.param(
            "Tue, 04 Mar 2025 02:00:00 GMT", at(2025, 3, 4, 10), id="rfc822-gmt"
        ),
        pytest.param(
            "Tue, 04 Mar 2025 10:00:00 +0800", at(2025, 3, 4, 10), id="rfc822-offset"
        ),
        pytest.param(
            "Tue, 04 Mar 2025 10:00:00", at(2025, 3, 4, 10), id="rfc822-no-zone-local"
        ),
        pytest.param(
            "Tue, 04 Mar 2025 10:00:00 CST", at(2025, 3, 4, 10), id="rfc822-cst-china"
        ),
        pytest.param(
            "Tue Mar 04 10:00:00 CST 2025", at(2025, 3, 4, 10), id="java-to-string"
        ),
        pytest.param("2025-03-04T02:00:00Z", at(2025, 3, 4, 10), id="iso-z"),
        pytest.param("2025-03-04T10:00:00+08:00", at(2025, 3, 4, 10), id="iso-offset"),
        pytest.param(
            "2025-03-04T10:00:00.000+0800", at(2025, 3, 4, 10), id="iso-millis-offset"
        ),
        pytest.param("2025-03-04T10:00:00", at(2025, 3, 4, 10), id="iso-naive-local"),
        pytest.param(
            "2025-03-03T21:00:00-05:00", at(2025, 3, 4, 10), id="iso-negative-offset"
        ),
        pytest.param(
            "２０２６年１２月３日　０９：３０", at(2026, 12, 3, 9, 30), id="full-width"
        ),
        pytest.param("１０分钟前", at(2026, 12, 3, 11, 50), id="full-width-ago"),
    ],
)
def test_parse_date_reads_the_time(text, expected):
    when = parse_date(text, NOW, SHANGHAI)

    assert when == expected
    assert when.tzinfo == SHANGHAI


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
        pytest.param("未知", id="words"),
        pytest.param("abc", id="letters"),
        pytest.param("2026-02-30", id="no-such-day"),
        pytest.param("2026年13月1日", id="no-such-month"),
        pytest.param("25:99", id="not-a-time"),
        pytest.param("123", id="short-number"),
        pytest.param(0, id="epoch-zero"),
        pytest.param(-5, id="negative"),
        pytest.param(10**20, id="huge-number"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="infinity"),
        pytest.param(True, id="bool"),
        pytest.param(None, id="none"),
    ],
)
def test_parse_date_unknown_is_none(text):
    when = parse_date(text, NOW, SHANGHAI)

    assert when is None


def test_parse_date_now_in_another_zone_is_converted():
    now_utc = NOW.astimezone(UTC)

    when = parse_date("今天 09:30", now_utc, SHANGHAI)

    assert when == at(2026, 12, 3, 9, 30)


def test_parse_date_new_year_month_day_is_last_year():
    new_year = at(2027, 1, 1, 8, 0)

    when = parse_date("12月31日 23:00", new_year, SHANGHAI)

    assert when == at(2026, 12, 31, 23, 0)
