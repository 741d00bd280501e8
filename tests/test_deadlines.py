"""Deadlines on a working-day clock, reminders, escalation and quiet hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from bot.config import CalendarSettings
from bot.config_tickets import TicketSettings
from bot.deadlines import add_time, hold, next_chase
from bot.events import Inbound
from bot.models import Hit, Ticket, TicketEvent
from bot.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar(CalendarSettings())
RULES = TicketSettings()


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def test_working_day_clock_skips_the_weekend():
    friday = at(12, 4, 17)
    assert add_time(friday, timedelta(days=1), CAL, True) == at(12, 7, 17)
    assert add_time(friday, timedelta(days=1), CAL, False) == at(12, 5, 17)


def test_working_day_clock_skips_national_day_and_counts_the_makeup_saturday():
    # 2026: 1-7 October off; Saturday 10 October is a make-up workday (调休).
    assert add_time(at(9, 30, 17), timedelta(days=1), CAL, True) == at(10, 8, 17)
    # 48 h from Friday 9 Oct 10:00: 14 h Fri, 24 h Sat (调休), Sunday off, 10 h Mon.
    assert add_time(at(10, 9, 10), timedelta(hours=48), CAL, True) == at(10, 12, 10)


def test_clock_started_on_a_day_off_begins_next_working_day():
    assert add_time(at(12, 5, 15), timedelta(hours=4), CAL, True) == at(12, 7, 4)


def ticket(level: str, state: str, entered: datetime, due: datetime, n: int = 0):
    event = TicketEvent(entered, "wangwu", "登记", "", state)
    return Ticket(
        title="t",
        url="http://x",
        section="nfk",
        state=state,
        created_by="wangwu",
        created_at=entered,
        level=level,
        history=(event,),
        due=due,
        reminders=n,
    )


def test_reminders_escalate_head_office_leaders_then_repeat():
    t = ticket("重大", "待批示", at(12, 3, 9, 30), at(12, 3, 10, 30))
    stages = []
    for n in range(5):
        chase = next_chase(replace(t, reminders=n), RULES, CAL)
        stages.append((chase.stage, chase.at.strftime("%H:%M"), chase.audience))
    # The 1 h deadline is shorter than remind_before: no early reminder.
    assert stages == [
        (1, "10:30", "head"),
        (1, "10:30", "head"),
        (2, "12:30", "office"),
        (3, "14:30", "leaders"),
        (4, "16:30", "leaders"),
    ]


def test_early_reminder_comes_remind_before_the_deadline():
    t = ticket("一般", "待办理", at(12, 3, 9), at(12, 4, 17))
    chase = next_chase(t, RULES, CAL)
    assert (chase.kind, chase.at, chase.audience) == ("提醒", at(12, 4, 16), "office")


def test_quiet_hours_hold_reminders_except_for_the_gravest():
    assert hold(at(12, 3, 23), "较大", RULES, CAL) == at(12, 4, 7)
    assert hold(at(12, 4, 23), "较大", RULES, CAL) == at(12, 7, 7)  # Sat, Sun off
    assert hold(at(12, 4, 23), "重大", RULES, CAL) == at(12, 5, 7)
    assert hold(at(12, 4, 23), "特别重大", RULES, CAL) == at(12, 4, 23)
    assert hold(at(12, 3, 6, 59), "一般", RULES, CAL) == at(12, 3, 7)
    assert hold(at(12, 3, 12), "一般", RULES, CAL) == at(12, 3, 12)


def test_early_reminder_held_past_deadline_is_skipped():
    t = ticket("较大", "待批示", at(12, 3, 18), at(12, 3, 23, 30))  # 提醒 22:30

    chase = next_chase(t, RULES, CAL)

    assert (chase.stage, chase.kind, chase.at) == (1, "到期", at(12, 4, 7))


def test_early_reminder_missed_with_deadline_gives_way():
    t = ticket("一般", "待办理", at(12, 3, 9), at(12, 4, 17))  # the bot was down

    chase = next_chase(t, RULES, CAL, now=at(12, 4, 17, 30))

    assert (chase.stage, chase.kind, chase.at) == (1, "到期", at(12, 4, 17))


def test_closed_tickets_are_not_chased():
    t = ticket("一般", "已办结", at(12, 3, 9), at(12, 4, 9))
    assert next_chase(t, RULES, CAL) is None


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def app(write_config, monkeypatch):
    monkeypatch.setenv("PATH", "")
    clock = Clock(at(12, 3, 9, 30))
    settings = config.load(write_config(), env={})
    async with App.open(settings, clock=clock) as app:
        app.clock = clock  # type: ignore[attr-defined]
        yield app


async def test_overdue_ticket_is_chased_up_the_chain_and_recorded(app):
    hit = app.store.hits.add(
        Hit(
            title="某地税务局被曝乱收费",
            url="http://127.0.0.1:9/gone",
            source="论坛",
            section="nfk",
            rule="个税退税",
            level="重大",
            found_at=at(12, 3, 9),
        )
    )
    await app.dispatcher.handle(Inbound("wangwu", f"登记 {hit.id}"))
    await app.casework.settle()
    before = len(app.outbox.pending())

    app.clock.now = at(12, 3, 10, 29)
    assert app.casework.chase(app.now()) == 0
    app.clock.now = at(12, 3, 10, 30)
    assert app.casework.chase(app.now()) == 1
    assert app.casework.chase(app.now()) == 0  # sent once
    app.clock.now = at(12, 3, 12, 31)
    assert app.casework.chase(app.now()) == 1

    sent = [(m.chat, m.body["text"]) for m in app.outbox.pending()[before:]]
    assert sent[0][0] == "nfk-group" and "<@zhaoliu>" in sent[0][1]
    assert "已到期" in sent[0][1]
    assert sent[1][0] == "office-group" and "超期督办" in sent[1][1]
    assert "已超期 2小时1分" in sent[1][1] and "<@sunqi>" in sent[1][1]
    ticket = app.store.tickets.get("YQ-2026-0001")
    assert [e.comment for e in ticket.history if e.action == "催办"] == [
        "到期：已提醒科室负责人",
        "超期升级：已告知办公室",
    ]
    assert ticket.revision == 1  # reminders do not outdate the head's card

    await app.dispatcher.handle(Inbound("zhaoliu", "批示 1 同意"))
    app.clock.now = at(12, 3, 23, 0)
    assert app.casework.chase(app.now()) == 0  # new state: 24 h to handle


SOON = "提醒：已提醒科室负责人"
DUE = "到期：已提醒科室负责人"
OFFICE = "超期升级：已告知办公室"
LEADERS = "超期升级：已告知领导小组"


async def register_at(app, when: datetime, level: str) -> None:
    hit = app.store.hits.add(
        Hit(
            title="网友称办税服务厅排长队",
            url="http://127.0.0.1:9/gone",
            source="论坛",
            section="nfk",
            rule="个税退税",
            level=level,
            found_at=when - timedelta(minutes=5),
        )
    )
    app.clock.now = when
    await app.dispatcher.handle(Inbound("wangwu", f"登记 {hit.id}"))
    await app.casework.settle()


def chase_every_minute(app, until: datetime) -> list[tuple[str, str]]:
    """Run the reminder job each minute up to `until`; the reminders recorded."""
    while app.clock.now < until:
        app.clock.now += timedelta(minutes=1)
        app.casework.chase(app.clock.now)
    ticket = app.store.tickets.get("YQ-2026-0001")
    return [
        (f"{e.at:%m-%d %H:%M}", e.comment) for e in ticket.history if e.action == "催办"
    ]


async def test_chase_after_weekend_sends_held_step_once(app):
    await register_at(app, at(12, 4, 17), "较大")  # Friday; 4 working hours

    sent = chase_every_minute(app, at(12, 7, 12))

    assert sent == [
        ("12-04 20:00", SOON),
        ("12-04 21:00", DUE),
        ("12-07 07:00", OFFICE),  # due Fri 23:00: quiet hours, then the weekend
        ("12-07 09:00", LEADERS),
        ("12-07 11:00", LEADERS),
    ]
    chats = [m.chat for m in app.outbox.pending()[1:]]  # after the 登记 notice
    assert chats == ["nfk-group"] * 2 + ["office-group"] * 3
    assert "<@leader1>" in app.outbox.pending()[-1].body["text"]


async def test_chase_after_quiet_hours_keeps_escalation_interval(app):
    await register_at(app, at(12, 3, 21, 30), "重大")  # due 22:30, never paused

    sent = chase_every_minute(app, at(12, 4, 12))

    assert sent == [
        ("12-04 07:00", DUE),
        ("12-04 09:00", OFFICE),
        ("12-04 11:00", LEADERS),
    ]


async def test_chase_held_over_national_day_holiday(app):
    await register_at(app, at(9, 30, 17), "较大")  # 1-7 October are off

    sent = chase_every_minute(app, at(10, 8, 12))

    assert sent == [
        ("09-30 20:00", SOON),
        ("09-30 21:00", DUE),
        ("10-08 07:00", OFFICE),
        ("10-08 09:00", LEADERS),
        ("10-08 11:00", LEADERS),
    ]


async def test_chase_held_to_makeup_saturday_then_sunday_off(app):
    await register_at(app, at(10, 9, 18), "较大")  # Sat 10 Oct is a 调休 workday

    sent = chase_every_minute(app, at(10, 12, 10))

    saturday = [f"10-10 {h:02d}:00" for h in range(11, 22, 2)]
    assert sent == [
        ("10-09 21:00", SOON),
        ("10-10 07:00", DUE),
        ("10-10 09:00", OFFICE),
        *[(t, LEADERS) for t in saturday],
        ("10-12 07:00", LEADERS),  # Sunday 11 Oct is off
        ("10-12 09:00", LEADERS),
    ]
