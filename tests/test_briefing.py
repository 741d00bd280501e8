"""Briefings: the figures against a hand-built store, the daily/weekly schedule,
the 简报 and 导出简报 commands, and 加强监测 changing scan intervals and reverting."""

from __future__ import annotations

import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import briefing, config
from bot.app import App
from bot.briefing_notices import briefing_tick
from bot.errors import ConfigError
from bot.events import Inbound
from bot.intensify import sync_scan_jobs
from bot.models import Hit, HitCopy, Ticket
from bot.scheduler import build_scheduler
from bot.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
THURSDAY = datetime(2026, 12, 3, 17, 0, tzinfo=TZ)
SOURCES = """
[[sources]]
name = "本地论坛"
kind = "rss"
url = "https://bbs.example.cn/rss"
section = "nfk"
every = "30m"

[[sources]]
name = "市政留言板"
kind = "rss"
url = "https://liuyan.example.cn/rss"
section = "szk"
every = "1h"
"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def settings(write_config):
    return config.load(write_config(SOURCES), env={})


def hit(n: int, found: datetime, level: str = "一般", **kw: object) -> Hit:
    fields: dict = {
        "title": f"网友反映个税退税慢 {n}",
        "url": f"https://bbs.example.cn/t/{n}",
        "source": "本地论坛",
        "section": "nfk",
        "rule": "个税退税",
        "level": level,
        "found_at": found,
    }
    fields.update(kw)
    return Hit(**fields)


def fill(app: App) -> None:
    """Five hits this week (one last week), one spread story, one overdue ticket."""
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=TZ)
    story = tuple(
        HitCopy(f"转载{i}", f"https://m{i}.example.cn/", "转载", monday)
        for i in range(4)
    )
    app.store.hits.add_many(
        [
            hit(1, monday - timedelta(days=3)),  # last week: left out
            hit(2, monday, "重大", copies=story, copy_count=4),
            hit(3, monday + timedelta(days=1)),
            hit(
                4,
                monday + timedelta(days=1),
                "较大",
                source="市政留言板",
                section="szk",
                rule="发票投诉",
            ),
            hit(5, THURSDAY - timedelta(hours=2), dismissed="误报"),
            hit(6, THURSDAY - timedelta(hours=1), "较大", copy_count=1),
        ]
    )
    app.store.tickets.add(
        Ticket(
            "网友反映个税退税慢 2",
            "https://bbs.example.cn/t/2",
            "nfk",
            "待批示",
            "wangwu",
            monday + timedelta(hours=1),
            level="重大",
            due=monday + timedelta(hours=2),
        )
    )


async def test_weekly_figures_against_a_hand_built_store(settings):
    async with App.open(settings, clock=Clock(THURSDAY)) as app:
        fill(app)
        chosen = briefing.period("本周", THURSDAY.date())

        b = briefing.build(settings, app.store, app.calendar, chosen, THURSDAY)

    assert (chosen.start, chosen.end, b.total) == (
        date(2026, 11, 30),
        THURSDAY.date(),
        5,
    )
    assert b.by_level == [("特别重大", 0), ("重大", 1), ("较大", 2), ("一般", 2)]
    assert b.by_section == [("纳税服务科", 4), ("税政管理科", 1)]
    assert b.by_source == [("本地论坛", 4), ("市政留言板", 1)]
    assert b.by_rule == [("个税退税", 4), ("发票投诉", 1)]
    assert [h.title[-1] for h in b.top_stories] == ["2", "6"]
    assert (len(b.new_tickets), b.open_tickets, len(b.overdue)) == (1, 1, 1)
    assert b.overdue[0][1] == "3天5小时"
    assert [sum(c.values()) for _, c in b.per_day] == [1, 2, 0, 2]
    assert b.supervision is not None and not b.is_zero


async def test_daily_briefing_is_a_zero_report_without_hits(settings):
    async with App.open(settings, clock=Clock(THURSDAY)) as app:
        chosen = briefing.period("今日", THURSDAY.date(), app.calendar)
        b = briefing.build(settings, app.store, app.calendar, chosen, THURSDAY)
        reply = await app.dispatcher.handle(Inbound("sunqi", "简报"))

    assert b.is_zero and b.supervision is None
    assert "零报告" in reply.text and "**舆情日报 · 2026-12-03**" in reply.text


def test_monday_briefing_covers_the_weekend():
    calendar = WorkCalendar(config.CalendarSettings())

    chosen = briefing.period("今日", date(2026, 12, 7), calendar)

    assert (chosen.start, chosen.end) == (date(2026, 12, 5), date(2026, 12, 7))


async def test_daily_briefing_goes_once_on_working_days(settings):
    clock = Clock(THURSDAY - timedelta(minutes=1))
    async with App.open(settings, clock=clock) as app:
        fill(app)
        early = briefing_tick(app, clock())
        clock.now = THURSDAY
        due = briefing_tick(app, clock())
        again = briefing_tick(app, clock())
        clock.now = THURSDAY + timedelta(days=2)  # Saturday
        weekend = briefing_tick(app, clock())
        text = str(app.outbox.pending()[0].body["text"])

    assert (early, due, again, weekend) == (0, 1, 0, 0)
    assert "新增命中 2 条" in text and "本地论坛 2" in text
    assert "超期 1 件" in text and "YQ-2026-0001" in text


async def test_weekly_briefing_sends_the_trend_chart(settings):
    friday = THURSDAY + timedelta(days=1, minutes=-30)  # 16:30
    async with App.open(settings, clock=Clock(friday)) as app:
        fill(app)
        assert briefing_tick(app, friday) == 2
        text, chart = app.outbox.pending()

    assert "**舆情周报 · 2026-11-30 至 2026-12-04**" in text.body["text"]
    assert "**传播最广**" in text.body["text"] and "**督查**" in text.body["text"]
    assert chart.kind == "file" and chart.chat == "office-group"
    assert Path(chart.body["path"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


async def test_export_briefing_writes_a_word_file(settings):
    async with App.open(settings, clock=Clock(THURSDAY)) as app:
        fill(app)
        reply = await app.dispatcher.handle(Inbound("sunqi", "导出简报 本周"))
        (sent,) = [m for m in app.outbox.pending() if m.kind == "file"]

    with zipfile.ZipFile(sent.body["path"]) as docx:
        xml = docx.read("word/document.xml").decode()
        media = [n for n in docx.namelist() if n.startswith("word/media/")]
    assert "已导出舆情简报" in reply.text
    assert "舆情周报" in xml and "本期新增命中 5 条" in xml and "市政留言板" in xml
    assert len(media) == 1


async def test_briefing_commands_are_for_office_leaders_and_heads(settings):
    async with App.open(settings, clock=Clock(THURSDAY)) as app:
        monitor = await app.dispatcher.handle(Inbound("wangwu", "简报"))
        head = await app.dispatcher.handle(Inbound("zhaoliu", "加强监测 2"))
        bad = await app.dispatcher.handle(Inbound("sunqi", "简报 去年"))

    assert "权限" in monitor.text and "权限" in head.text
    assert "不认识的时间范围“去年”" in bad.text


async def test_intensify_shortens_scans_and_reverts_by_itself(settings):
    clock = Clock(THURSDAY)
    async with App.open(settings, clock=clock) as app:
        scheduler = build_scheduler(app)
        reply = await app.dispatcher.handle(Inbound("sunqi", "加强监测 2 纳税服务科"))
        await sync_scan_jobs(scheduler, app)
        during = scheduler.get_job("scan:本地论坛").trigger.interval
        other = scheduler.get_job("scan:市政留言板").trigger.interval
        clock.now = THURSDAY + timedelta(hours=2, minutes=1)
        await sync_scan_jobs(scheduler, app)
        after = scheduler.get_job("scan:本地论坛").trigger.interval
        ended = [str(m.body["text"]) for m in app.outbox.pending()]

    assert "已加强监测" in reply.text and "2026-12-03 19:00 前" in reply.text
    assert (during, other, after) == (
        timedelta(minutes=5),
        timedelta(hours=1),
        timedelta(minutes=30),
    )
    assert len(ended) == 2 and all("加强监测已结束 · 纳税服务科" in t for t in ended)


async def test_intensify_survives_a_restart(settings):
    async with App.open(settings, clock=Clock(THURSDAY)) as app:
        await app.dispatcher.handle(Inbound("leader1", "加强监测 3"))
    later = THURSDAY + timedelta(hours=1)
    async with App.open(settings, clock=Clock(later)) as app:
        scheduler = build_scheduler(app)
        await sync_scan_jobs(scheduler, app)
        listing = await app.dispatcher.handle(Inbound("sunqi", "预警"))
        intervals = {
            j.trigger.interval for j in scheduler.get_jobs() if j.id.startswith("scan:")
        }

    assert intervals == {timedelta(minutes=5)}
    assert "加强监测中" in listing.text and "至 2026-12-03 20:00" in listing.text


@pytest.mark.parametrize(
    ("block", "key", "expected"),
    [
        ('daily_at = "5pm"', "briefing.daily_at", '"5pm" 不是时刻'),
        ('weekly_day = "星期五"', "briefing.weekly_day", "应为 周一"),
        ("monthly_day = 31", "briefing.monthly_day", "应为 1 到 28"),
        ("top = 0", "briefing.top", "超出范围"),
    ],
    ids=["daily_at", "weekly_day", "monthly_day", "top"],
)
def test_briefing_config_errors_name_the_key(write_config, block, key, expected):
    with pytest.raises(ConfigError) as caught:
        config.load(write_config(f"\n[briefing]\n{block}\n"), env={})
    assert caught.value.key == key
    assert expected in caught.value.message
