"""Reading the publication times that Chinese sites and feeds write.

Holds `parse_date`: absolute dates (``2026-12-03 09:30``, ``2026年12月3日``),
dates without a year (``12月3日``), relative times (``3小时前``, ``昨天 14:00``),
Unix timestamps, RFC 822 and ISO 8601. Times written without a zone are local
time, which is what Chinese sites mean; "CST" is China Standard Time. Finding the
time on a page is left to the crawlers; what to do without one (first-seen time)
is left to the scanner.
"""

from __future__ import annotations

import email.utils
import logging
import math
import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

# A timestamp must fall between these to be taken as one.
_EPOCH_MIN = datetime(1990, 1, 1, tzinfo=UTC).timestamp()
_EPOCH_MAX = datetime(2100, 1, 1, tzinfo=UTC).timestamp()

_TIME = r"(?:[\sT]*(\d{1,2})[:时点](\d{1,2})(?:[:分](\d{1,2})(?:\.\d+)?秒?)?分?)?"
_ZONE = r"\s*(Z|[+-]\d{2}:?\d{2})?"
_FULL_DATE = re.compile(
    r"(?<!\d)(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?"
    + _TIME
    + _ZONE
)
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*日" + _TIME)
_DASHED_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})" + _TIME + "$")
_NAMED_DAY = re.compile(r"(今天|昨天|前天)\s*" + _TIME)
# (?<!\d): a match starts only where a digit run does; without it a long run of
# digits costs quadratic time.
_AGO = re.compile(r"(?<!\d)(\d+)\s*(秒|分钟|分|小时|个小时|天|日|周|星期)\s*前")
_JUST_NOW = ("刚刚", "刚才")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2}))?$")
# Java's Date.toString(), common in Chinese JSON APIs: "Tue Mar 04 10:00:00 CST 2025"
_JAVA = re.compile(
    r"^[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) CST (\d{4})$"
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        "jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1
    )
}
_UNITS = {
    "秒": timedelta(seconds=1),
    "分钟": timedelta(minutes=1),
    "分": timedelta(minutes=1),
    "小时": timedelta(hours=1),
    "个小时": timedelta(hours=1),
    "天": timedelta(days=1),
    "日": timedelta(days=1),
    "周": timedelta(weeks=1),
    "星期": timedelta(weeks=1),
}
_DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}


def parse_date(text: str | int | float, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The time `text` names, aware and in `tz`; None when it names no time.

    `now` (aware) anchors relative times and dates without a year: such a date
    more than a day in the future is taken from the previous year. Never raises.
    """
    try:
        return _parse(text, now.astimezone(tz), tz)
    except (ValueError, OverflowError, TypeError) as exc:
        logger.debug("date not understood error=%s", type(exc).__name__)
        return None


def _parse(text: str | int | float, now: datetime, tz: ZoneInfo) -> datetime | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int | float):
        return _from_epoch(float(text), tz)
    if not isinstance(text, str):
        return None
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    if not text:
        return None
    if _NUMBER.match(text):
        return _from_digits(text, tz)
    for parser in (_iso, _full_date, _java, _rfc822):
        when = parser(text, tz)
        if when is not None:
            return when
    return _relative(text, now, tz)


def _from_epoch(value: float, tz: ZoneInfo) -> datetime | None:
    if not math.isfinite(value):
        return None
    if value > _EPOCH_MAX:  # milliseconds
        value /= 1000
    if not _EPOCH_MIN <= value <= _EPOCH_MAX:
        return None
    return datetime.fromtimestamp(value, tz)


def _from_digits(text: str, tz: ZoneInfo) -> datetime | None:
    compact = _COMPACT.match(text)
    if compact:  # 20261203 or 20261203093000
        fields = [int(g) for g in compact.groups(default="0")]
        if 1990 <= fields[0] <= 2100:
            return _local(*fields, tz=tz)
    return _from_epoch(float(text), tz)


def _iso(text: str, tz: ZoneInfo) -> datetime | None:
    if not text[:4].isdigit() or len(text) < 10:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return _aware(when, tz)


def _full_date(text: str, tz: ZoneInfo) -> datetime | None:
    match = _FULL_DATE.search(text)
    if match is None:
        return None
    fields = [int(g) for g in match.groups(default="0")[:6]]
    when = _local(*fields, tz=tz)
    zone = match[7]
    if when is None or not zone:
        return when
    return when.replace(tzinfo=_offset(zone)).astimezone(tz)


def _rfc822(text: str, tz: ZoneInfo) -> datetime | None:
    if not re.search(r"[A-Za-z]{3}", text):
        return None
    text = re.sub(r"\bCST$", "+0800", text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return _aware(when, tz)


def _java(text: str, tz: ZoneInfo) -> datetime | None:
    match = _JAVA.match(text)
    if match is None:
        return None
    month = _MONTHS.get(match[1].lower())
    if month is None:
        return None
    day, hour, minute, second, year = (int(g) for g in match.groups()[1:])
    return _local(year, month, day, hour, minute, second, tz=tz)


def _relative(text: str, now: datetime, tz: ZoneInfo) -> datetime | None:
    if text.startswith(_JUST_NOW):
        return now
    if "半小时前" in text:
        return now - timedelta(minutes=30)
    ago = _AGO.search(text)
    if ago:
        return now - int(ago[1]) * _UNITS[ago[2]]
    named = _NAMED_DAY.search(text)
    if named:
        day = now - timedelta(days=_DAYS_BACK[named[1]])
        hour, minute, second = (int(g) for g in named.groups(default="0")[1:4])
        return _local(day.year, day.month, day.day, hour, minute, second, tz=tz)
    match = _MONTH_DAY.search(text) or _DASHED_MONTH_DAY.match(text)
    if match:
        month, day, hour, minute, second = (int(g) for g in match.groups(default="0"))
        return _without_year(month, day, hour, minute, second, now, tz)
    return None


def _without_year(
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    now: datetime,
    tz: ZoneInfo,
) -> datetime | None:
    """This year's date, or last year's if this year's is over a day ahead."""
    for year in (now.year, now.year - 1):
        when = _local(year, month, day, hour, minute, second, tz=tz)
        if when is not None and when <= now + timedelta(days=1):
            return when
    return None


def _local(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    tz: ZoneInfo,
) -> datetime | None:
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None


def _aware(when: datetime, tz: ZoneInfo) -> datetime:
    if when.tzinfo is None:
        return when.replace(tzinfo=tz)
    return when.astimezone(tz)


def _offset(zone: str) -> timezone:
    if zone == "Z":
        return UTC
    digits = zone[1:].replace(":", "")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(-delta if zone[0] == "-" else delta)
