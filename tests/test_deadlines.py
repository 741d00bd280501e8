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
