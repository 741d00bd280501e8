"""Keyword rules managed in chat: add, change, delete, try out, audit, permissions."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from bot.events import Inbound
from bot.models import ArchivedItem
from tests.feedserver import Route

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 9, 30, tzinfo=TZ)


@pytest.fixture
async def app(write_config):
    settings = config.load(write_config(), env={})
    async with App.open(settings, clock=lambda: NOW) as app:
        yield app


async def say(app: App, sender: str, text: str) -> str:
    reply = await app.dispatcher.handle(Inbound(sender=sender, text=text))
    return reply.text


def rss(*items: tuple[str, str, str]) -> bytes:
    """An RSS body with (title, link, description) items published at NOW."""
    date = format_datetime(NOW)
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<description>{text}</description><pubDate>{date}</pubDate></item>"
        for title, link, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>x</title><link>https://x.cn/</link>{entries}</channel></rss>"
    ).encode()


def archived(title: str, section: str, found_at: datetime) -> ArchivedItem:
    return ArchivedItem(
        title=title,
        url=f"https://bbs.example.cn/{abs(hash(title))}.html",
        source="本地论坛",
        section=section,
        found_at=found_at,
    )


async def test_add_rule_by_office_is_listed_and_audited(app):
    reply = await say(app, "sunqi", "添加关键词 退税慢 个税 退税 慢 科室=纳税服务科")

    assert "已添加关键词规则“退税慢”【一般】纳税服务科" in reply
    assert "下一轮扫描起生效" in reply
    listing = await say(app, "zhangsan", "关键词")
    assert "退税慢【一般】纳税服务科" in listing
    assert "表达式：个税 退税 慢（来自群内添加）" in listing
    (record,) = app.store.changes.recent("关键词")
    assert (record.actor, record.action, record.name) == ("sunqi", "添加", "退税慢")
    assert record.at == NOW and record.old == ""
    assert record.new == "个税 退税 慢（一般，纳税服务科）"


async def test_add_rule_head_defaults_to_own_section_with_level(app):
    reply = await say(app, "lisi", "添加关键词 暴力执法 税务局~10~暴力执法 等级：重大")

    assert "“暴力执法”【重大】税政管理科" in reply
    rule = app.store.rules.get("暴力执法")
    assert (rule["section"], rule["level"], rule["added_by"]) == ("szk", "重大", "lisi")


async def test_add_rule_head_of_other_section_refused(app):
    reply = await say(app, "lisi", "添加关键词 退税慢 个税 退税 慢 科室=nfk")

    assert "科室负责人只能管理本科室（税政管理科）的关键词" in reply
    assert "由该科室负责人、办公室或管理员管理" in reply
    assert app.store.rules.all() == [] and app.store.changes.recent() == []


async def test_add_rule_monitor_refused_naming_who_may(app):
    reply = await say(app, "zhangsan", "添加关键词 退税慢 个税 退税 科室=nfk")

    assert "“添加关键词”仅限" in reply
    assert all(role in reply for role in ("办公室", "负责人", "管理员"))
    assert app.store.rules.all() == []


async def test_add_rule_syntax_error_points_at_position(app):
    reply = await say(app, "admin", "添加关键词 坏规则 个税 (退税 | 退费 科室=nfk")

    assert "规则“坏规则”的关键词表达式有误：个税 (退税 | 退费" in reply
    assert "\n   ^\n" in reply
    assert "第 4 个字符处：括号没有闭合" in reply
    assert app.store.rules.all() == [] and app.store.changes.recent() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("添加关键词", "缺少规则名称和表达式", id="nothing"),
        pytest.param("添加关键词 退税慢 科室=nfk", "缺少关键词表达式", id="no-expr"),
        pytest.param(
            "添加关键词 退税慢 个税 等级=很大", "等级应为 一般、较大", id="level"
        ),
        pytest.param(
            "添加关键词 a 个税 科室=x 科室=y", "“科室=”只能写一次", id="twice"
        ),
        pytest.param(
            "添加关键词 a 个税 科室=财务科", "没有“财务科”这个科室", id="section"
        ),
        pytest.param("添加关键词 个税退税 个税", "已有名为“个税退税”", id="taken"),
    ],
)
async def test_add_rule_bad_input_says_what_and_how(app, text, expected):
    reply = await say(app, "admin", text)

    assert expected in reply
    assert app.store.rules.all() == []


async def test_add_rule_bad_args_show_the_syntax(app):
    reply = await say(app, "admin", "添加关键词 退税慢")

    assert "正确写法：添加关键词 <名称> <表达式> [科室=<科室>] [等级=<等级>]" in reply


async def test_add_rule_last_word_section_name_not_guessed(app):
    reply = await say(app, "sunqi", "添加关键词 退税慢 个税 退税 纳税服务科")

    assert "最后一个词“纳税服务科”是科室名称" in reply
    assert "科室=纳税服务科" in reply and '"纳税服务科"' in reply
    assert app.store.rules.all() == []


async def test_add_rule_office_must_name_section_when_several(app):
    reply = await say(app, "sunqi", "添加关键词 退税慢 个税 退税")

    assert "请写明规则归属的科室" in reply
    assert "税政管理科（szk）、纳税服务科（nfk）" in reply


async def test_change_rule_expression_and_level_are_audited(app):
    await say(app, "sunqi", "添加关键词 退税慢 个税 退税 科室=nfk")

    first = await say(app, "zhaoliu", "修改关键词 退税慢 个税 退税 (慢 | 未到账)")
    second = await say(app, "zhaoliu", "修改关键词 退税慢 等级 较大")

    assert "表达式：个税 退税 → 个税 退税 (慢 | 未到账)" in first
    assert "等级：一般 → 较大" in second
    rule = app.store.rules.get("退税慢")
    assert (rule["expr"], rule["level"]) == ("个税 退税 (慢 | 未到账)", "较大")
    latest, earlier, added = app.store.changes.recent("关键词", "退税慢")
    assert (earlier.actor, earlier.action) == ("zhaoliu", "修改")
    assert earlier.old == "个税 退税（一般，纳税服务科）"
    assert earlier.new == "个税 退税 (慢 | 未到账)（一般，纳税服务科）"
    assert latest.new.endswith("（较大，纳税服务科）") and added.action == "添加"


async def test_change_rule_syntax_error_keeps_the_old_rule(app):
    await say(app, "sunqi", "添加关键词 退税慢 个税 退税 科室=nfk")

    reply = await say(app, "sunqi", "修改关键词 退税慢 个税~x~退税")

    assert "第 3 个字符处：~ 后面需要数字" in reply
    assert app.store.rules.get("退税慢")["expr"] == "个税 退税"
    assert len(app.store.changes.recent()) == 1


async def test_change_rule_of_other_section_refused_for_head(app):
    await say(app, "sunqi", "添加关键词 退税慢 个税 退税 科室=nfk")

    reply = await say(app, "lisi", "修改关键词 退税慢 个税")

    assert "“退税慢”属于纳税服务科" in reply
    assert app.store.rules.get("退税慢")["expr"] == "个税 退税"


@pytest.mark.parametrize("command", ["修改关键词 个税退税 个税", "删除关键词 个税退税"])
async def test_config_rules_cannot_change_from_chat(app, command):
    reply = await say(app, "admin", command)

    assert "“个税退税”是配置文件中的规则，不能在群里修改或删除" in reply
    assert "config.toml 的 [[rules]]" in reply
    assert app.store.changes.recent() == []


async def test_change_rule_bad_level_and_unknown_name(app):
    await say(app, "sunqi", "添加关键词 退税慢 个税 退税 科室=nfk")

    bad_level = await say(app, "sunqi", "修改关键词 退税慢 等级 很高")
    unknown = await say(app, "sunqi", "修改关键词 没有这条 个税")
    no_section = await say(app, "sunqi", "修改关键词 退税慢 个税 科室=szk")

    assert "等级应为 一般、较大、重大、特别重大 之一" in bad_level
    assert "没有群内添加的名为“没有这条”的关键词规则" in unknown
    assert "群内添加的规则有：退税慢" in unknown
    assert "这里不能写“科室=”" in no_section


async def test_delete_rule_removes_it_and_keeps_audit(app):
    await say(app, "zhaoliu", "添加关键词 退税慢 个税 退税")

    reply = await say(app, "zhaoliu", "删除关键词 退税慢")

    assert "已删除关键词规则“退税慢”（纳税服务科，一般）" in reply
    assert app.store.rules.all() == []
    deleted, _ = app.store.changes.recent("关键词")
    assert (deleted.action, deleted.actor, deleted.new) == ("删除", "zhaoliu", "")
    assert deleted.old == "个税 退税（一般，纳税服务科）"
    assert "缺少规则名称" in await say(app, "zhaoliu", "删除关键词")


async def test_change_log_lists_rule_changes(app):
    await say(app, "sunqi", "添加关键词 退税慢 个税 退税 科室=nfk")
    await say(app, "sunqi", "修改关键词 退税慢 等级 重大")

    reply = await say(app, "wangwu", "变更记录 关键词 退税慢")

    assert "“退税慢”的关键词变更记录（共 2 条）" in reply
    assert "2026-12-03 09:30 sunqi 修改关键词“退税慢”" in reply
    assert "原：个税 退税（一般，纳税服务科）" in reply
    assert "新：个税 退税（重大，纳税服务科）" in reply
    assert "没有来源变更记录" in await say(app, "wangwu", "变更记录 来源")


async def test_rule_added_in_chat_hits_at_next_scan(write_config, feed_server):
    feed_server.routes["/bbs.rss"] = Route(
        body=rss(("某区优化纳税服务", "https://bbs.cn/1.html", "")),
        headers={"Content-Type": "application/rss+xml"},
    )
    source = (
        f'[[sources]]\nname = "本地论坛"\nkind = "rss"\n'
        f'url = "{feed_server.url("/bbs.rss")}"\nsection = "nfk"\n'
    )
    settings = config.load(write_config(source), env={})
    async with App.open(settings, clock=lambda: NOW) as app:
        before = await app.scan_all()
        await say(app, "zhaoliu", "添加关键词 排长队 办税厅 (排队 | 排长队)")
        feed_server.routes["/bbs.rss"].body = rss(
            ("网友：某区办税厅排长队两小时", "https://bbs.cn/2.html", "")
        )
        after = await app.scan_all()

    assert before.hits == []
    (hit,) = after.hits
    assert (hit.rule, hit.section) == ("排长队", "nfk")
    assert hit.title == "网友：某区办税厅排长队两小时"


async def test_trial_counts_archived_items_of_last_seven_days(app):
    app.store.items.add_many(
        [
            archived("网友称个税退税太慢", "nfk", NOW - timedelta(days=1)),
            archived("个税退税慢？税务局回应", "szk", NOW - timedelta(days=6)),
            archived("去年个税退税很慢", "nfk", NOW - timedelta(days=8)),
            archived("某地优化纳税服务", "nfk", NOW - timedelta(hours=2)),
        ]
    )

    reply = await say(app, "wangwu", "测试关键词 个税 退税 慢")

    assert "近 7 天扫描读到的信息共 3 条，其中 **2** 条符合" in reply
    assert "税政管理科 1 条" in reply and "纳税服务科 1 条" in reply
    assert "1. 网友称个税退税太慢\n   本地论坛 · 2026-12-02 09:30" in reply
    assert "去年个税退税很慢" not in reply
    assert app.store.rules.all() == []


async def test_trial_limited_to_one_section(app):
    app.store.items.add_many(
        [
            archived("网友称个税退税太慢", "nfk", NOW - timedelta(days=1)),
            archived("个税退税慢？税务局回应", "szk", NOW - timedelta(days=2)),
        ]
    )

    reply = await say(app, "wangwu", "测试关键词 个税 退税 科室=szk")

    assert "近 7 天扫描读到的税政管理科信息共 1 条，其中 **1** 条符合" in reply
    assert "个税退税慢？税务局回应" in reply and "网友称" not in reply


async def test_trial_shows_items_that_were_no_hit(write_config, feed_server):
    feed_server.routes["/news.rss"] = Route(
        body=rss(("某地电子税务局升级", "https://n.cn/1.html", "系统维护通知")),
        headers={"Content-Type": "application/rss+xml"},
    )
    source = (
        f'[[sources]]\nname = "要闻"\nkind = "rss"\n'
        f'url = "{feed_server.url("/news.rss")}"\nsection = "szk"\n'
    )
    settings = config.load(write_config(source), env={})
    async with App.open(settings, clock=lambda: NOW) as app:
        report = await app.scan_all()
        reply = await say(app, "zhangsan", "测试关键词 电子税务局 维护")

    assert report.hits == []
    assert "其中 **1** 条符合" in reply
    assert "某地电子税务局升级\n   要闻 · 2026-12-03 09:30" in reply


async def test_trial_syntax_error_and_missing_expression(app):
    bad = await say(app, "wangwu", "测试关键词 -招聘")
    empty = await say(app, "wangwu", "测试关键词")

    assert "第 1 个字符处：至少要有一个要找的词" in bad
    assert "缺少要测试的关键词表达式" in empty
    assert "正确写法：测试关键词 <表达式> [科室=<科室>]" in empty


async def test_help_explains_add_keyword_syntax(app):
    reply = await say(app, "lisi", "帮助 添加关键词")

    assert "用法：添加关键词 <名称> <表达式> [科室=<科室>] [等级=<等级>]" in reply
    assert "添加关键词 暴力执法 税务局~10~暴力执法 科室=szk 等级=重大" in reply
