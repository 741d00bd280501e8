"""Every command against every role: who is turned away at the door.

The table below is the README's "谁能用" column written out; a change to a
command's roles must change both. Finer checks (a head acting on another
section's ticket, a monitor exporting another section's log) live with each
command's own tests.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from bot.events import Inbound
from bot.handlers import all_commands
from tests.conftest import BASE_CONFIG

NOW = datetime(2026, 12, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

PEOPLE = {
    "监控人员": "zhangsan",
    "负责人": "lisi",
    "办公室": "sunqi",
    "领导小组": "leader1",
    "管理员": "admin",
}
EVERYONE = frozenset(PEOPLE)
CASEWORK = frozenset({"监控人员", "负责人", "办公室"})
RULE_KEEPERS = frozenset({"负责人", "办公室", "管理员"})

# command line -> the roles that get past the role check
ALLOWED = {
    "帮助": EVERYONE,
    "身份": EVERYONE,
    "命中": EVERYONE,
    "关键词": EVERYONE,
    "测试关键词 发票": EVERYONE,
    "变更记录": EVERYONE,
    "来源": EVERYONE,
    "添加关键词 甲 发票 科室=szk": RULE_KEEPERS,
    "修改关键词 甲 发票|增值税": RULE_KEEPERS,
    "删除关键词 甲": RULE_KEEPERS,
    "添加来源 乙 rss https://example.com/a.xml szk": frozenset({"管理员"}),
    "删除来源 乙": frozenset({"管理员"}),
    "暂停来源 要闻": frozenset({"办公室", "管理员"}),
    "恢复来源 要闻": frozenset({"办公室", "管理员"}),
    "登记 H1": CASEWORK,
    "手工登记 https://example.com/t/1 标题": CASEWORK,
    "忽略 H1 旧闻": CASEWORK,
    "误报 H1": CASEWORK,
    "批示 1 同意": frozenset({"负责人"}),
    "同意 1": frozenset({"负责人"}),
    "退回 1 补充": frozenset({"负责人"}),
    "重新提交 1": frozenset({"监控人员", "办公室"}),
    "受理 1": frozenset({"办公室"}),
    "办结 1 已答复": frozenset({"办公室"}),
    "上报 1": frozenset({"办公室"}),
    "归档 1": frozenset({"办公室"}),
    "查询 1": EVERYONE,
    "待办": EVERYONE,
    "处理单": EVERYONE,
    "导出 1": EVERYONE,
    "巡查": CASEWORK,
    "请假 2026-12-14": CASEWORK,
    "销假 2026-12-14": CASEWORK,
    "日志": EVERYONE,
    "导出日志 本月": EVERYONE,
    "督查": frozenset({"办公室", "领导小组", "管理员"}),
    "简报": frozenset({"负责人", "办公室", "领导小组", "管理员"}),
    "导出简报 本周": frozenset({"负责人", "办公室", "领导小组", "管理员"}),
    "加强监测 2": frozenset({"办公室", "领导小组", "管理员"}),
    "预警": frozenset({"负责人", "办公室", "领导小组", "管理员"}),
}

CASES = [(line, role) for line in ALLOWED for role in PEOPLE]

SOURCE = """
[[sources]]
name = "要闻"
kind = "rss"
url = "https://example.com/feed.xml"
section = "szk"
"""


@pytest.fixture(scope="module")
def replies(tmp_path_factory):
    """Every (line, role) reply, from one bot with the shipped roles."""
    folder = tmp_path_factory.mktemp("permissions")
    path = folder / "config.toml"
    text = BASE_CONFIG.replace('data_dir = "data"', f'data_dir = "{folder}/data"')
    path.write_text(text + SOURCE, encoding="utf-8")
    settings = config.load(path, env={})

    async def ask_all() -> dict[tuple[str, str], str]:
        answers = {}
        async with App.open(settings, clock=lambda: NOW) as app:
            for n, (line, role) in enumerate(CASES):
                msg = Inbound(sender=PEOPLE[role], text=line, msg_id=f"p{n}")
                answers[line, role] = (await app.dispatcher.handle(msg)).text
            for line in ALLOWED:
                msg = Inbound(sender="stranger", text=line, msg_id=f"s-{line}")
                answers[line, "陌生人"] = (await app.dispatcher.handle(msg)).text
        return answers

    return asyncio.run(ask_all())


def test_permissions_table_covers_every_command():
    words = {line.split()[0] for line in ALLOWED}

    assert words == {c.name for c in all_commands()}


@pytest.mark.parametrize(("line", "role"), CASES, ids=[f"{r}-{c}" for c, r in CASES])
def test_permissions_role_check(replies, line, role):
    reply = replies[line, role]
    command = line.split()[0]

    if role in ALLOWED[line]:
        assert f"“{command}”仅限" not in reply, reply
        assert "出错了" not in reply, reply
    else:
        assert f"“{command}”仅限" in reply
        assert f"你的角色是{role}" in reply


@pytest.mark.parametrize("line", list(ALLOWED))
def test_permissions_stranger_refused_everything(replies, line):
    reply = replies[line, "陌生人"]

    assert "你（stranger）不在本机器人的人员名单中" in reply
