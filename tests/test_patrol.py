"""The patrol log through chat: 巡查, 日志, 导出日志, and the compliance figures."""

from __future__ import annotations

import importlib.util
import zipfile
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from docx import Document

from bot import config, patrol
from bot.app import App
from bot.events import Inbound
from bot.forms import LOG_TEMPLATE
from bot.models import ArchivedItem, Hit, Leave, PatrolEntry, SourceState, Ticket
from tests.conftest import BASE_CONFIG, ROOT

TZ = ZoneInfo("Asia/Shanghai")
# szk gets a second monitor, so a section can be partly done.
BASE = BASE_CONFIG.replace(
    'monitors = ["zhangsan"]', 'monitors = ["zhangsan", "zhouba"]'
)
EXTRA = """
[[sources]]
name = "本地论坛"
kind = "rss"
url = "http://127.0.0.1:9/a"
section = "szk"

[[sources]]
name = "税务网站"
kind = "rss"
url = "http://127.0.0.1:9/b"
section = "szk"

[[sources]]
name = "纳服来源"
kind = "rss"
url = "http://127.0.0.1:9/c"
section = "nfk"

[names]
zhangsan = "张三"
zhouba = "周八"
wangwu = "王五"
"""
SCOPE = "按关键词巡查搜索引擎、新闻媒体、留言板、微博、论坛"


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(at(12, 3, 9, 30))  # a Thursday


@pytest.fixture
async def app(write_config, clock):
    settings = config.load(write_config(EXTRA, base=BASE), env={})
    async with App.open(settings, clock=clock) as app:
        yield app


async def say(app: App, sender: str, text: str) -> str:
    reply = await app.dispatcher.handle(Inbound(sender=sender, text=text))
    return reply.text


def hit(section: str, found: datetime, **extra: object) -> Hit:
    return Hit(
        title="网友反映发票难开",
        url="http://example.cn/t/1",
        source="本地论坛",
        section=section,
        rule="发票投诉",
        level="一般",
        found_at=found,
        **extra,  # type: ignore[arg-type]
    )


def entry(user: str, section: str, when: datetime, **extra: object) -> PatrolEntry:
    fields: dict[str, object] = {"scope": SCOPE, "findings": "无异常", **extra}
    return PatrolEntry(user, section, when, **fields)  # type: ignore[arg-type]


def leave(user: str, section: str, start: str, end: str, note: str = "") -> Leave:
    return Leave(user, section, start, end, note, by=user, at=at(9, 1))


# -- 巡查 -----------------------------------------------------------------------


async def test_patrol_records_default_scope_and_todays_scan(app):
    app.store.sources.put(SourceState("本地论坛", last_success=at(12, 3, 8)))
    app.store.sources.put(SourceState("税务网站", last_success=at(12, 2, 17)))
    app.store.sources.put(SourceState("纳服来源", last_success=at(12, 3, 8)))
    app.store.hits.add_many(
        [hit("szk", at(12, 3, 8)), hit("nfk", at(12, 3, 8)), hit("szk", at(12, 2))]
    )
    app.store.items.add_many(
        ArchivedItem(f"t{n}", f"http://x/{n}", "本地论坛", section, found_at=when)
        for n, (section, when) in enumerate(
            [("szk", at(12, 3, 8)), ("szk", at(12, 3, 9)), ("nfk", at(12, 3, 8))]
            + [("szk", at(12, 2, 8))]
        )
    )

    reply = await app.dispatcher.handle(Inbound("zhangsan", "巡查"))

    assert "已记入监控日志 P2026-1（今日第 1 次巡查）" in reply.text
    assert "巡查人：张三 · 税政管理科 · 2026-12-03 09:30" in reply.text
    assert f"巡查范围：{SCOPE}" in reply.text
    assert "税政管理科来源 1 个已扫描，读取新信息 2 条，命中 1 条" in reply.text
    assert "发现情况：无异常" in reply.text
    assert "今日还有 1 条命中未登记或处置" in reply.text
    assert reply.card_title == "已记录巡查"
    (saved,) = app.store.patrol.between(at(12, 3, 0), at(12, 4, 0))
    assert (saved.section, saved.sources_scanned, saved.items_read) == ("szk", 1, 2)
    assert (saved.user, saved.hits_found) == ("zhangsan", 1)


async def test_patrol_note_gives_scope_and_findings(app):
    text = await say(app, "zhangsan", "巡查 微博、本地论坛 发现：有网友反映退税慢")
    assert "巡查范围：微博、本地论坛" in text
    assert "发现情况：有网友反映退税慢" in text

    text = await say(app, "zhangsan", "巡查 无异常")
    assert f"巡查范围：{SCOPE}" in text
    assert "发现情况：无异常" in text
    assert "今日第 2 次巡查" in text


async def test_patrol_findings_name_tickets_and_dismissals(app, clock):
    ticket = app.store.tickets.add(
        Ticket(
            title="网友反映发票难开",
            url="http://example.cn/t/1",
            section="szk",
            state="待批示",
            created_by="zhangsan",
            created_at=at(12, 3, 9),
        )
    )
    app.store.hits.add(
        hit("szk", at(12, 3, 8), dismissed="误报", dismissed_by="zhangsan")
    )

    text = await say(app, "zhangsan", "巡查 无异常")

    assert (
        "发现情况：发现涉税舆情 1 条，已登记：网友反映发票难开（YQ-2026-0001）；"
        "经研判忽略或误报命中 1 条"
    ) in text
    (saved,) = app.store.patrol.between(at(12, 3, 0), at(12, 4, 0))
    assert saved.tickets == (ticket.id,)


async def test_patrol_by_head_and_office_and_refusals(app):
    assert "巡查人：lisi · 税政管理科" in await say(app, "lisi", "巡查")
    assert "巡查人：sunqi · 全部科室" in await say(app, "sunqi", "巡查")
    denied = await say(app, "leader1", "巡查")
    assert "“巡查”仅限" in denied and "领导小组" in denied
    long = await say(app, "zhangsan", "巡查 " + "网" * 501)
    assert "说明有 501 个字，最多 500 个" in long
    assert "正确写法：巡查 [巡查范围] [发现：情况]" in long
    assert len(app.store.patrol.between(at(12, 1, 0), at(12, 31, 0))) == 2


# -- 日志 -----------------------------------------------------------------------


async def test_log_today_shows_entries_leave_and_who_is_missing(app):
    app.store.leave.add(leave("zhouba", "szk", "2026-12-03", "2026-12-04", "年假"))
    await say(app, "zhangsan", "巡查 微博 发现：有网友反映退税慢")

    text = await say(app, "sunqi", "日志")

    assert "**监控日志 · 今天 · 全部科室**" in text
    assert "· 09:30 张三（税政管理科）微博" in text
    assert "发现：有网友反映退税慢" in text
    assert "· 周八（税政管理科）请假（年假）" in text
    assert "· 未记录：王五" in text


async def test_log_defaults_to_own_section_and_takes_periods(app, clock):
    app.store.patrol.add(entry("zhangsan", "szk", at(12, 1, 10)))
    app.store.patrol.add(entry("wangwu", "nfk", at(12, 2, 10)))
    app.store.patrol.add(entry("zhangsan", "szk", at(11, 30, 10)))

    week = await say(app, "zhangsan", "日志 本周")
    month = await say(app, "zhangsan", "日志 本月 纳税服务科")
    day = await say(app, "zhaoliu", "日志 12-02")

    assert "本周 · 税政管理科" in week and "2026-11-30" in week
    assert "2026-12-01" in week and "王五" not in week
    assert "本月 · 纳税服务科" in month and "10:00 王五（纳税服务科）" in month
    assert "2026-11-30" not in month
    assert "2026-12-02 · 纳税服务科" in day and "10:00 王五" in day


async def test_log_refuses_unknown_words_with_syntax(app):
    text = await say(app, "zhangsan", "日志 上上周")
    assert "不认识“上上周”" in text
    assert "科室写 税政管理科、纳税服务科" in text
    assert "正确写法：日志 [日期|本周|本月] [科室]" in text


async def test_log_on_a_quiet_day_says_so(app):
    assert "没有巡查记录" in await say(app, "zhangsan", "日志 12-05")  # Saturday


# -- 导出日志 -------------------------------------------------------------------


def _cells(path) -> list[list[str]]:
    doc = Document(str(path))
    return [[c.text for c in row.cells] for row in doc.tables[0].rows]


async def test_export_log_writes_month_with_leave_rows(app, clock):
    ticket = app.store.tickets.add(
        Ticket(
            title="t",
            url="http://x",
            section="szk",
            state="已办结",
            created_by="zhangsan",
            created_at=at(12, 1, 9),
        )
    )
    app.store.patrol.add(
        entry(
            "zhangsan",
            "szk",
            at(12, 1, 10),
            findings="发现涉税舆情 1 条",
            tickets=(ticket.id,),
            sources_scanned=2,
            hits_found=3,
        )
    )
    app.store.patrol.add(entry("zhouba", "szk", at(12, 2, 16, 5)))
    app.store.patrol.add(entry("wangwu", "nfk", at(12, 2, 11)))
    app.store.patrol.add(entry("zhangsan", "szk", at(11, 30, 10)))
    app.store.leave.add(leave("zhangsan", "szk", "2026-12-02", "2026-12-02"))
    app.store.leave.add(leave("zhouba", "szk", "2026-12-03", "2026-12-07", "培训"))

    text = await say(app, "zhangsan", "导出日志 本月")

    path = app.settings.data_dir / "exports" / "监控日志-2026-12-税政管理科.docx"
    assert "已生成税政管理科2026年12月监控日志 监控日志-2026-12-税政管理科.docx" in text
    assert "（4 行）" in text and str(path) in text
    header, *rows = _cells(path)
    assert header == [
        "日期",
        "时间",
        "监控人员",
        "巡查范围",
        "发现情况",
        "处理情况",
        "备注",
    ]
    assert rows == [
        [
            "2026-12-01",
            "10:00",
            "张三",
            SCOPE,
            "发现涉税舆情 1 条",
            "YQ-2026-0001 已办结",
            "机器人扫描来源 2 个，读取新信息 0 条，命中 3 条",
        ],
        [
            "2026-12-02",
            "16:05",
            "周八",
            SCOPE,
            "无异常",
            "—",
            "机器人扫描来源 0 个，读取新信息 0 条，命中 0 条",
        ],
        ["2026-12-02", "—", "张三", "—", "—", "—", "请假"],
        ["2026-12-03", "—", "周八", "—", "—", "—", "请假（培训）"],
    ]
    doc = Document(str(path))
    assert "科室：税政管理科\t月份：2026年12月" in doc.paragraphs[1].text
    (file,) = [m for m in app.outbox.pending() if m.kind == "file"]
    assert file.body["filename"] == path.name


async def test_export_log_of_every_section_names_sections(app):
    app.store.patrol.add(entry("wangwu", "nfk", at(12, 2, 11)))
    app.store.patrol.add(entry("sunqi", "", at(12, 2, 12)))

    text = await say(app, "leader1", "导出日志 2026年12月")

    assert "全部科室2026年12月监控日志" in text
    path = app.settings.data_dir / "exports" / "监控日志-2026-12-全部科室.docx"
    monitors = [row[2] for row in _cells(path)[1:]]
    assert monitors == ["王五（纳税服务科）", "sunqi（办公室）"]


async def test_export_log_refusals_name_the_problem(app):
    other = await say(app, "zhangsan", "导出日志 12月 纳税服务科")
    assert "你只能导出本科室（税政管理科）的监控日志，不能导出纳税服务科的" in other
    assert "请写月份" in await say(app, "zhangsan", "导出日志")
    assert "“13月”不是月份" in await say(app, "zhangsan", "导出日志 13月")
    assert "2027年1月还没到" in await say(app, "sunqi", "导出日志 2027-01")
    assert "没有科室“稽查局”" in await say(app, "sunqi", "导出日志 本月 稽查局")
    assert not (app.settings.data_dir / "exports").exists()


# -- compliance -----------------------------------------------------------------


def test_compliance_counts_working_days_leave_and_misses(write_config, tmp_path):
    # October 2026: 1-7 off (National Day), Saturday 10 a make-up workday (调休),
    # so the working days are 8, 9, 10, 12-16, 19-23 and 26-30: eighteen.
    settings = config.load(write_config(EXTRA, base=BASE), env={})
    app = App.open(settings, clock=lambda: at(11, 2))
    try:
        store = app.store
        workdays = [d for d in patrol.days(date(2026, 10, 1), date(2026, 10, 31))]
        workdays = [d for d in workdays if app.calendar.is_workday(d)]
        assert len(workdays) == 18 and date(2026, 10, 10) in workdays
        for day in workdays:
            when = datetime.combine(day, datetime.min.time(), TZ) + timedelta(hours=10)
            if day != date(2026, 10, 12):
                store.patrol.add(entry("zhangsan", "szk", when))
                store.patrol.add(entry("zhangsan", "szk", when + timedelta(hours=5)))
            if not date(2026, 10, 19) <= day <= date(2026, 10, 23):
                if day != date(2026, 10, 27):
                    store.patrol.add(entry("zhouba", "szk", when))
        store.patrol.add(entry("wangwu", "nfk", at(10, 4, 10)))  # a holiday
        store.leave.add(leave("zhouba", "szk", "2026-10-17", "2026-10-25"))
        store.leave.add(leave("zhangsan", "szk", "2026-10-30", "2026-10-30"))

        rows = patrol.compliance(
            settings, store, app.calendar, date(2026, 10, 1), date(2026, 10, 31)
        )
    finally:
        app.store.close()

    by_user = {r.user: r for r in rows}
    assert [r.user for r in rows] == ["zhangsan", "zhouba", "wangwu"]
    zhang = by_user["zhangsan"]
    # Logged on 30 October although on leave that day: counted as logged.
    assert (zhang.required, zhang.logged, zhang.leave) == (18, 17, 0)
    assert zhang.missing == (date(2026, 10, 12),)
    zhou = by_user["zhouba"]
    assert (zhou.required, zhou.logged, zhou.leave) == (18, 12, 5)
    assert zhou.missing == (date(2026, 10, 27),)
    wang = by_user["wangwu"]
    assert (wang.section, wang.required, wang.logged, len(wang.missing)) == (
        "nfk",
        18,
        0,
        18,
    )


def test_compliance_leaves_today_open_until_the_cutoff(write_config):
    settings = config.load(write_config(EXTRA, base=BASE), env={})
    app = App.open(settings, clock=lambda: at(12, 3))
    try:
        app.store.patrol.add(entry("zhangsan", "szk", at(12, 3, 9)))
        args = (
            settings,
            app.store,
            app.calendar,
            date(2026, 11, 30),
            date(2026, 12, 6),
        )
        morning = patrol.compliance(*args, now=at(12, 3, 10))
        evening = patrol.compliance(*args, now=at(12, 3, 17, 30))
        unbounded = patrol.compliance(*args)
    finally:
        app.store.close()

    wang = {r.user: r for r in morning}["wangwu"]
    assert (wang.required, len(wang.missing)) == (3, 3)  # Mon-Wed; today still open
    zhang = {r.user: r for r in morning}["zhangsan"]
    assert (zhang.required, zhang.logged) == (4, 1)  # today counts: logged already
    assert {r.user: r for r in evening}["wangwu"].required == 4
    assert {r.user: r for r in unbounded}["wangwu"].required == 5  # to Friday


def test_compliance_dataclass_is_frozen():
    row = patrol.Compliance("u", "szk", 1, 1, 0, ())
    with pytest.raises(AttributeError):
        row.logged = 2  # type: ignore[misc]
    assert replace(row, logged=0).logged == 0


def test_log_template_matches_generator(tmp_path):
    path = ROOT / "scripts/make_log_template.py"
    spec = importlib.util.spec_from_file_location("make_log_template", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    module.build().save(str(tmp_path / "fresh.docx"))

    for part in ("word/document.xml", "word/styles.xml"):
        with zipfile.ZipFile(tmp_path / "fresh.docx") as fresh:
            with zipfile.ZipFile(LOG_TEMPLATE) as stored:
                assert fresh.read(part) == stored.read(part), part
    section = Document(str(LOG_TEMPLATE)).sections[0]
    assert round(section.page_width.cm, 1) == 29.7  # landscape A4
