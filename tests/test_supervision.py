"""督查 figures against a hand-built week of tickets, hits and patrols."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import config, supervision
from bot.app import App
from bot.events import Inbound
from bot.models import Hit, PatrolEntry, Ticket, TicketEvent

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 10, 10, 0, tzinfo=TZ)  # a Thursday


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=TZ)


def ticket(created: datetime, *steps: tuple[str, datetime, str, str], **extra):
    """A nfk ticket registered at `created`, then (action, time, who, new state)."""
    events = [TicketEvent(created, "wangwu", "登记", "", "待批示")]
    state = "待批示"
    for action, when, who, new in steps:
        events.append(TicketEvent(when, who, action, state, new))
        state = new
    return Ticket(
        title="t",
        url="http://x",
        section="nfk",
        state=state,
        created_by="wangwu",
        created_at=created,
        history=tuple(events),
        **extra,
    )


@pytest.fixture
async def app(write_config):
    settings = config.load(write_config(), env={})
    async with App.open(settings, clock=lambda: NOW) as app:
        store = app.store
        store.tickets.add(
            ticket(
                at(7, 9),
                ("批示", at(7, 15), "zhaoliu", "待办理"),
                ("办结", at(9, 10), "sunqi", "已办结"),
                instructed_at=at(7, 15),
            )
        )
        store.tickets.add(
            ticket(
                at(7, 9),
                ("批示", at(9, 10), "zhaoliu", "待办理"),
                instructed_at=at(9, 10),
                due=at(11, 10),
            )
        )
        store.tickets.add(ticket(at(8, 9), due=at(9, 9)))
        for n, dismissed in enumerate(("", "误报", "忽略")):
            store.hits.add(
                Hit(
                    title=f"h{n}",
                    url=f"http://x/{n}",
                    source="s",
                    section="nfk",
                    rule="个税退税",
                    level="一般",
                    found_at=at(8, 9),
                    dismissed=dismissed,
                )
            )
        store.patrol.add(PatrolEntry("wangwu", "nfk", at(7, 10)))
        yield app


def test_period_boundaries():
    today = NOW.date()
    assert supervision.period("本周", today).start.isoformat() == "2026-12-07"
    assert supervision.period("本月", today).start.isoformat() == "2026-12-01"
    last = supervision.period("上月", today)
    assert (last.start.isoformat(), last.end.isoformat()) == (
        "2026-11-01",
        "2026-11-30",
    )


async def test_figures_per_section(app):
    figures = supervision.report(
        app.settings,
        app.store,
        app.calendar,
        supervision.period("本周", NOW.date()),
        NOW,
    )
    nfk = next(s for s in figures.sections if s.name == "纳税服务科")
    szk = next(s for s in figures.sections if s.name == "税政管理科")

    assert nfk.registered == 3
    assert (nfk.instruct.done, nfk.instruct.on_time, nfk.instruct.percent) == (
        2,
        1,
        "50%",
    )
    assert (nfk.handle.done, nfk.handle.on_time) == (1, 1)
    assert [(t.id, age) for t, age in nfk.overdue] == [("YQ-2026-0003", "1天1小时")]
    assert (szk.registered, szk.instruct.percent) == (0, "—")
    (rule,) = figures.rules
    assert (rule.hits, rule.ignored, rule.false, rule.dismissed_percent) == (
        3,
        1,
        1,
        66,
    )
    (wangwu,) = nfk.patrol
    assert wangwu.user == "wangwu" and wangwu.logged == 1


async def test_command_for_office_and_refused_for_monitor(app):
    reply = await app.dispatcher.handle(Inbound("sunqi", "督查"))
    refused = await app.dispatcher.handle(Inbound("wangwu", "督查"))
    bad = await app.dispatcher.handle(Inbound("leader1", "督查 明年"))

    assert "督查情况 · 本周（2026-12-07 至 2026-12-10）" in reply.text
    assert "登记 3 件；批示 2 件，按时 50%；办结 1 件，按时 100%" in reply.text
    assert "YQ-2026-0003（待批示，超期 1天1小时）" in reply.text
    assert "个税退税：命中 3，忽略 1，误报 1" in reply.text
    assert "仅限" in refused.text
    assert "督查 [本周|本月|上月]" in bad.text


async def test_weekly_report_goes_to_office_chat(app):
    await app.weekly_supervision()

    (message,) = app.outbox.pending()
    assert message.chat == "office-group"
    assert "督查情况 · 本周" in message.body["text"]
