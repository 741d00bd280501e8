"""The daily patrol prompt and cutoff notice on a controllable clock, and [patrol]."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot import config
from bot.app import App
from bot.errors import ConfigError
from bot.events import Inbound
from bot.models import Leave, OutboxMessage
from bot.patrol_reminders import patrol_tick
from bot.scheduler import build_scheduler
from tests.test_patrol import BASE, EXTRA, TZ, Clock, at


@pytest.fixture
def settings(write_config):
    return config.load(write_config(EXTRA, base=BASE), env={})


def sent(app: App) -> list[OutboxMessage]:
    return app.outbox.pending()


def texts(app: App, chat: str) -> list[str]:
    return [str(m.body["text"]) for m in sent(app) if m.chat == chat]


async def test_prompt_card_mentions_who_has_not_patrolled(settings):
    clock = Clock(at(12, 3, 15, 59))
    async with App.open(settings, clock=clock) as app:
        await app.dispatcher.handle(Inbound("zhangsan", "巡查"))
        assert patrol_tick(app, clock()) == 0
        clock.now = at(12, 3, 16, 0)

        assert patrol_tick(app, clock()) == 2
        assert patrol_tick(app, clock()) == 0

        szk, nfk = sent(app)
    assert (szk.chat, szk.kind, nfk.chat) == ("szk-group", "card", "nfk-group")
    text = str(szk.body["text"])
    assert "**今日巡查提醒 · 税政管理科**" in text
    assert "尚未记录：<@zhouba>" in text and "<@zhangsan>" not in text
    assert "发送“巡查”记录" in text and "“命中 今日”" in text
    card = szk.body["template_card"]
    assert card["task_id"] == "patrol-szk-20261203"  # type: ignore[index]
    buttons = card["button_list"]  # type: ignore[index]
    assert [(b["text"], b["key"]) for b in buttons] == [
        ("已巡查，无异常", "cmd:巡查 无异常"),
        ("有发现，去登记", "cmd:命中 今日"),
    ]


async def test_cutoff_tells_head_and_office_who_is_missing(settings):
    clock = Clock(at(12, 3, 17, 30))
    async with App.open(settings, clock=clock) as app:
        await app.dispatcher.handle(Inbound("zhangsan", "巡查"))
        await app.dispatcher.handle(Inbound("wangwu", "巡查"))

        assert patrol_tick(app, clock()) == 2

        (section,) = texts(app, "szk-group")
        (office,) = texts(app, "office-group")
    assert "以下监控人员今日（2026-12-03）未记录巡查：<@zhouba>（周八）" in section
    assert "<@lisi> 请督促补记" in section
    assert "· 税政管理科：周八" in office and "纳税服务科" not in office
    assert "<@sunqi>" in office
    assert texts(app, "nfk-group") == []  # everyone there patrolled


async def test_leave_exempts_from_prompt_and_cutoff(settings):
    clock = Clock(at(12, 3, 16, 5))
    async with App.open(settings, clock=clock) as app:
        await app.dispatcher.handle(Inbound("zhangsan", "巡查"))
        await app.dispatcher.handle(Inbound("lisi", "请假 zhouba 今天 外出培训"))
        await app.dispatcher.handle(Inbound("wangwu", "请假 12-03"))
        patrol_tick(app, clock())
        clock.now = at(12, 3, 18)
        patrol_tick(app, clock())

        prompt = texts(app, "szk-group")[0]
        assert "均已记录巡查" in prompt and "请假：周八" in prompt
        assert "<@zhouba>" not in prompt
        assert len(sent(app)) == 2  # the two prompts; nobody is missing at the cutoff


async def test_catching_up_after_downtime_sends_each_notice_once(settings):
    clock = Clock(at(12, 3, 16, 20))  # down at 16:00, back at 16:20
    async with App.open(settings, clock=clock) as app:
        assert await app.patrol_check() == 2
        assert await app.patrol_check() == 0
    clock.now = at(12, 3, 16, 40)
    async with App.open(settings, clock=clock) as app:  # a restart
        assert await app.patrol_check() == 0
    clock.now = at(12, 3, 19, 15)  # down over the cutoff too
    async with App.open(settings, clock=clock) as app:
        assert await app.patrol_check() == 3  # szk and nfk chats, the office
        assert await app.patrol_check() == 0
        kinds = [(m.chat, m.kind) for m in sent(app)]
    assert kinds.count(("szk-group", "card")) == 1
    assert kinds.count(("office-group", "markdown")) == 1


async def test_first_run_after_the_cutoff_skips_the_prompt(settings):
    clock = Clock(at(12, 3, 18, 0))
    async with App.open(settings, clock=clock) as app:
        assert patrol_tick(app, clock()) == 3
        assert all(m.kind == "markdown" for m in sent(app))
        assert patrol_tick(app, at(12, 3, 18, 1)) == 0


async def test_a_month_with_a_holiday_and_a_makeup_day(settings):
    # October 2026: 1-7 off, Saturday 10 a make-up workday. zhangsan misses the
    # 12th, zhouba is on leave 19-23 and misses the 27th, wangwu never patrols.
    clock = Clock(at(10, 1, 0, 0))
    async with App.open(settings, clock=clock) as app:
        app.store.leave.add(
            Leave("zhouba", "szk", "2026-10-19", "2026-10-23", "", "lisi", at(9, 30))
        )
        while clock.now < datetime(2026, 11, 1, tzinfo=TZ):
            day = clock.now.date()
            if clock.now.hour == 10 and clock.now.minute == 0:
                if app.calendar.is_workday(day) and day != date(2026, 10, 12):
                    await app.dispatcher.handle(Inbound("zhangsan", "巡查"))
                if app.calendar.is_workday(day) and day != date(2026, 10, 27):
                    await app.dispatcher.handle(Inbound("zhouba", "巡查 无异常"))
            patrol_tick(app, clock.now)
            clock.now += timedelta(minutes=10)
        messages = sent(app)

    def days_of(chat: str, kind: str) -> list[int]:
        return [m.created_at.day for m in messages if (m.chat, m.kind) == (chat, kind)]

    workdays = [8, 9, 10, 12, 13, 14, 15, 16, 19, 20, 21, 22, 23, 26, 27, 28, 29, 30]
    assert days_of("szk-group", "card") == workdays
    assert days_of("nfk-group", "card") == workdays
    assert days_of("szk-group", "markdown") == [12, 27]
    assert days_of("nfk-group", "markdown") == workdays
    assert days_of("office-group", "markdown") == workdays
    szk_prompts = {
        m.created_at.day: str(m.body["text"])
        for m in messages
        if m.chat == "szk-group" and m.kind == "card"
    }
    assert "均已记录巡查" in szk_prompts[8]
    assert "请假：周八" in szk_prompts[20]
    assert "<@zhangsan>" in szk_prompts[12] and "<@zhouba>" in szk_prompts[27]
    assert all(m.created_at.hour == 16 for m in messages if m.kind == "card")


async def test_patrol_notices_can_be_switched_off(write_config):
    settings = config.load(
        write_config(EXTRA + "\n[patrol]\nenabled = false\n", base=BASE), env={}
    )
    async with App.open(settings, clock=Clock(at(12, 3, 18))) as app:
        assert await app.patrol_check() == 0


async def test_patrol_job_runs_every_minute(settings):
    async with App.open(settings, clock=Clock(at(12, 3, 9))) as app:
        jobs = {job.id: job for job in build_scheduler(app).get_jobs()}
    assert jobs["patrol"].trigger.interval == timedelta(minutes=1)


async def test_patrol_times_follow_config(write_config):
    extra = EXTRA + '\n[patrol]\nremind_at = "09:00"\ncutoff = "12:00"\n'
    settings = config.load(write_config(extra, base=BASE), env={})
    clock = Clock(at(12, 3, 9, 0))
    async with App.open(settings, clock=clock) as app:
        assert patrol_tick(app, clock()) == 2
        assert "12:00 截止" in texts(app, "szk-group")[0]


@pytest.mark.parametrize(
    ("block", "key", "expected"),
    [
        ('remind_at = "4pm"', "patrol.remind_at", '"4pm" 不是时刻'),
        ('cutoff = "24:00"', "patrol.cutoff", '"24:00" 不是时刻'),
        ('remind_at = "17:30"\ncutoff = "16:00"', "patrol.cutoff", "应晚于提醒时间"),
        ('scope = " "', "patrol.scope", "不能为空"),
        ("remind = true", "patrol.remind", "未知的配置项"),
    ],
    ids=["remind_at", "cutoff", "order", "scope", "unknown"],
)
def test_patrol_config_errors_name_the_key(write_config, block, key, expected):
    with pytest.raises(ConfigError) as caught:
        config.load(write_config(f"\n[patrol]\n{block}\n"), env={})
    assert caught.value.key == key
    assert expected in caught.value.message


def test_patrol_config_defaults(write_config):
    plan = config.load(write_config(), env={}).patrol
    assert (plan.enabled, plan.remind_at, plan.cutoff) == (True, "16:00", "17:30")
    assert plan.scope.startswith("按关键词巡查")
