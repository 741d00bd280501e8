from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from bot.dispatcher import Command
from bot.events import Inbound, Reply
from bot.models import Hit
from bot.roles import Role

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def app(write_config):
    settings = config.load(write_config(), env={})
    clock = lambda: datetime(2026, 12, 3, 9, 30, tzinfo=TZ)  # noqa: E731
    async with App.open(settings, clock=clock) as app:
        yield app


async def say(app: App, sender: str, text: str) -> str:
    reply = await app.dispatcher.handle(Inbound(sender=sender, text=text, msg_id="m1"))
    return reply.text


async def test_dispatcher_help_lists_commands_for_role(app):
    text = await say(app, "zhangsan", "帮助")

    assert "你的角色：监控人员" in text
    assert "命中 [今日|本周|近7天]" in text
    assert "【监测】" in text


async def test_dispatcher_help_for_one_command_shows_examples(app):
    text = await say(app, "zhangsan", "帮助 命中")

    assert "用法：命中 [今日|本周|近7天]" in text
    assert "· 命中 今日" in text


async def test_dispatcher_unknown_command_suggests_closest(app):
    text = await say(app, "zhangsan", "帮组")

    assert "没有“帮组”这个命令" in text
    assert "你是不是想用“帮助”" in text


async def test_dispatcher_mistyped_command_of_another_role_names_who_may(app):
    office = await say(app, "sunqi", "批视 1 同意")
    head = await say(app, "lisi", "批视 1 同意")
    nowhere = await say(app, "sunqi", "谢谢")

    assert "没有“批视”这个命令" in office
    assert "你是不是想用“批示”？它仅限负责人使用" in office
    assert "你是不是想用“批示”？发送“帮助 批示”查看用法" in head
    assert "你是不是想用" not in nowhere and "发送“帮助”查看你能用的命令" in nowhere


async def test_dispatcher_stranger_is_told_to_ask_admin(app):
    text = await say(app, "nobody", "帮助")

    assert "nobody" in text
    assert "不在本机器人的人员名单中" in text


async def test_dispatcher_role_check_names_who_may(app):
    async def secret(ctx, args):
        return Reply("机密")

    app.dispatcher.commands.append(Command("归档", secret, frozenset({Role.OFFICE})))
    app.dispatcher._by_word["归档"] = app.dispatcher.commands[-1]

    denied = await say(app, "zhangsan", "归档 12")
    allowed = await say(app, "sunqi", "归档 12")

    assert "“归档”仅限办公室使用" in denied
    assert "你的角色是监控人员" in denied
    assert allowed == "机密"


async def test_dispatcher_crash_becomes_apology_with_reference(app, caplog):
    async def broken(ctx, args):
        raise RuntimeError("disk on fire")

    app.dispatcher._by_word["坏"] = Command("坏", broken)

    text = await say(app, "zhangsan", "坏")

    assert "抱歉" in text and "参考编号" in text
    assert "disk on fire" not in text
    ref = text.split("参考编号 ")[1].split(" ")[0]
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)


async def test_dispatcher_identity_names_section(app):
    text = await say(app, "lisi", "身份")

    assert "负责人" in text
    assert "负责科室：税政管理科" in text


async def test_dispatcher_rules_lists_config_rules(app):
    text = await say(app, "zhangsan", "关键词")

    assert "个税退税【一般】纳税服务科" in text
    assert "发票投诉【较大】税政管理科" in text


async def test_dispatcher_hits_empty_and_bad_period(app):
    empty = await say(app, "zhangsan", "命中 今日")
    bad = await say(app, "zhangsan", "命中 昨天")

    assert "今日没有命中信息" in empty
    assert "不认识的时间范围“昨天”" in bad
    assert "命中 [今日|本周|近7天]" in bad


async def test_dispatcher_hits_list_shows_why_each_hit_scored(app):
    app.store.hits.add(
        Hit(
            title="某地税务局乱收费引发投诉",
            url="https://news.example.cn/1.html",
            source="要闻",
            section="szk",
            rule="发票投诉",
            level="较大",
            found_at=datetime(2026, 12, 3, 8, 0, tzinfo=TZ),
            score=42,
            reasons=("敏感词：乱收费、投诉（+28）", "另有 2 处转载（+8）"),
        )
    )

    text = await say(app, "zhangsan", "命中 今日")

    assert "判断依据：敏感词：乱收费、投诉（+28）；另有 2 处转载（+8）" in text


def test_dispatcher_every_command_is_documented(app):
    docs = app.dispatcher.docs

    assert {c.name for c in app.dispatcher.commands} <= set(docs)
