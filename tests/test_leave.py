"""请假 and 销假 through chat: who may record leave, which spans, and splitting."""

from __future__ import annotations

from datetime import date

import pytest

from bot import config
from bot.app import App
from bot.events import Inbound
from tests.test_patrol import BASE, EXTRA, Clock, at

USAGE = "正确写法：请假 <日期|日期范围> [说明]"


@pytest.fixture
async def app(write_config):
    settings = config.load(write_config(EXTRA, base=BASE), env={})
    async with App.open(settings, clock=Clock(at(12, 3, 9, 30))) as app:
        yield app


async def say(app: App, sender: str, text: str) -> str:
    reply = await app.dispatcher.handle(Inbound(sender=sender, text=text))
    return reply.text


def spans(app: App, user: str) -> list[tuple[str, str, str, str]]:
    found = app.store.leave.overlapping(date(2026, 1, 1), date(2027, 12, 31), user)
    return [(lv.start, lv.end, lv.note, lv.by) for lv in found]


@pytest.mark.parametrize(
    "text",
    ["请假 12-07..12-09 年假", "请假 12-07至12-09 年假", "请假 12月7日 到 9日 年假"],
)
async def test_leave_by_monitor_for_a_range(app, text):
    reply = await say(app, "zhangsan", text)

    assert "已登记请假：张三（税政管理科）2026-12-07 至 2026-12-09" in reply
    assert "共 3 天，其中工作日 3 天；说明：年假" in reply
    assert spans(app, "zhangsan") == [("2026-12-07", "2026-12-09", "年假", "zhangsan")]


async def test_leave_counts_working_days_over_a_weekend(app):
    reply = await say(app, "zhangsan", "请假 12-04..12-08")
    assert "共 5 天，其中工作日 3 天" in reply


async def test_leave_recorded_by_head_or_office_for_a_monitor(app):
    by_head = await say(app, "lisi", "请假 zhouba 明天 病假")
    by_office = await say(app, "sunqi", "请假 wangwu 2026-12-10")

    assert "已登记请假：周八（税政管理科）2026-12-04" in by_head
    assert "（由 lisi 登记）" in by_head and "销假 zhouba 日期" in by_head
    assert "王五（纳税服务科）2026-12-10" in by_office
    assert spans(app, "zhouba") == [("2026-12-04", "2026-12-04", "病假", "lisi")]


@pytest.mark.parametrize(
    ("sender", "text", "expected"),
    [
        (
            "lisi",
            "请假 wangwu 12-07",
            "只能由本人、纳税服务科负责人（zhaoliu）或办公室登记",
        ),
        (
            "zhangsan",
            "请假 zhouba 12-07",
            "只能由本人、税政管理科负责人（lisi）或办公室登记",
        ),
        ("lisi", "请假 12-07", "只有监控人员需要每日巡查，你不需要请假"),
        ("sunqi", "请假 lisi 12-07", "“lisi”不是监控人员的用户ID"),
        ("zhangsan", "请假", "缺少日期"),
        ("zhangsan", "请假 下周一", "“下周一”不是日期，也不是已配置的用户ID"),
        ("lisi", "请假 zhangsan", "缺少日期"),
        ("lisi", "请假 zhangsan 某天", "“某天”不是日期"),
        ("zhangsan", "请假 12-01", "2026-12-01 已经过去，只能登记今天及以后的请假"),
        ("zhangsan", "请假 11-20..12-02", "已经过去"),
        ("zhangsan", "请假 12-07..02-28", "共 84 天，一次最多登记 60 天"),
        ("zhangsan", "请假 2028-01-04", "太远了"),
    ],
    ids=lambda v: str(v)[:24],
)
async def test_leave_refusals_say_why(app, sender, text, expected):
    reply = await say(app, sender, text)

    assert expected in reply
    assert app.store.leave.overlapping(date(2026, 1, 1), date(2028, 12, 31)) == []


async def test_leave_syntax_errors_show_the_usage(app):
    assert USAGE in await say(app, "zhangsan", "请假 12-01")
    assert "12-07..12-09 或 12-07至12-09" in await say(app, "zhangsan", "请假 下周一")


async def test_leave_from_today_on_is_accepted(app):
    assert "已登记请假" in await say(app, "zhangsan", "请假 12-02..12-04")


async def test_leave_overlapping_an_earlier_one_is_refused(app):
    await say(app, "zhangsan", "请假 12-07..12-09 年假")

    reply = await say(app, "lisi", "请假 zhangsan 12-09..12-10")

    assert "zhangsan 已登记过这段时间的请假：2026-12-07 至 2026-12-09（年假）" in reply
    assert len(spans(app, "zhangsan")) == 1


async def test_cancel_one_day_splits_the_leave(app):
    await say(app, "zhangsan", "请假 12-07..12-09 年假")

    reply = await say(app, "zhangsan", "销假 12-08")

    assert "已销假：张三 2026-12-08 照常巡查" in reply
    assert "仍在请假：2026-12-07；2026-12-09" in reply
    assert spans(app, "zhangsan") == [
        ("2026-12-07", "2026-12-07", "年假", "zhangsan"),
        ("2026-12-09", "2026-12-09", "年假", "zhangsan"),
    ]


async def test_cancel_by_head_and_refusals(app):
    await say(app, "zhangsan", "请假 12-07")

    assert "今天以后没有请假记录" in await say(app, "lisi", "销假 zhangsan 12-07")
    assert "在 2026-12-07 没有请假记录" in await say(app, "zhangsan", "销假 12-07")
    assert "一次销假一天" in await say(app, "zhangsan", "销假 12-07..12-09")
    assert "只能由本人" in await say(app, "zhaoliu", "销假 zhangsan 12-07")
    denied = await say(app, "leader1", "销假 zhangsan 12-07")
    assert "“销假”仅限" in denied
