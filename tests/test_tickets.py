"""The ticket workflow through chat commands: every step and every refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from bot.events import Inbound
from bot.models import Hit

TZ = ZoneInfo("Asia/Shanghai")
PAGE = (
    "<html><head><title>网友反映个税退税慢</title><script>track()</script></head>"
    "<body><nav>首页</nav><article><p>某网友称个税退税三个月未到账。</p></article>"
    "</body></html>"
)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 12, 3, 9, 30, tzinfo=TZ))  # a Thursday


@pytest.fixture
async def app(write_config, clock, monkeypatch):
    monkeypatch.setenv("PATH", "")  # no headless browser: no screenshot
    settings = config.load(write_config(), env={})
    async with App.open(settings, clock=clock) as app:
        yield app


@pytest.fixture
def hit(app, feed_server) -> Hit:
    url = feed_server.route(
        "/bbs/t/1.html", PAGE, headers={"Content-Type": "text/html"}
    )
    return app.store.hits.add(
        Hit(
            title="网友反映个税退税慢",
            url=url,
            source="本地论坛",
            section="nfk",
            rule="个税退税",
            level="一般",
            found_at=datetime(2026, 12, 3, 9, 0, tzinfo=TZ),
            summary="某网友称个税退税三个月未到账。",
        )
    )


async def say(app: App, sender: str, text: str) -> str:
    reply = await app.dispatcher.handle(Inbound(sender=sender, text=text))
    return reply.text


def outbox_texts(app: App) -> list[tuple[str, str]]:
    return [(m.chat, str(m.body.get("text", ""))) for m in app.outbox.pending()]


async def test_register_creates_ticket_awaiting_head_and_tells_head(app, hit):
    text = await say(app, "wangwu", f"登记 {hit.id} 建议联系当事人核实")

    assert "已登记处理单 **YQ-2026-0001**" in text
    assert "待批示" in text
    ticket = app.store.tickets.get("YQ-2026-0001")
    assert ticket.state == "待批示"
    assert ticket.proposal == "建议联系当事人核实"
    assert ticket.section == "nfk" and ticket.created_by == "wangwu"
    assert app.store.hits.get(hit.id).ticket == "YQ-2026-0001"
    ((chat, notice),) = outbox_texts(app)
    assert chat == "nfk-group"
    assert "<@zhaoliu>" in notice and "批示 YQ-2026-0001" in notice


async def test_register_keeps_evidence_snapshot(app, hit):
    await say(app, "wangwu", f"登记 {hit.id}")
    await app.casework.settle()

    ticket = app.store.tickets.get("1", datetime(2026, 12, 3).date())
    (shot,) = ticket.evidence
    assert "个税退税三个月未到账" in shot.text
    assert len(shot.sha256) == 64
    assert "未截图" in shot.note
    detail = await say(app, "wangwu", "查询 1")
    assert "原网页（SHA-256" in detail


async def test_register_refusals_are_explained(app, hit):
    assert "找不到命中“H2612-999”" in await say(app, "wangwu", "登记 H2612-999")
    assert "缺少命中编号" in await say(app, "wangwu", "登记")
    other = await say(app, "zhangsan", f"登记 {hit.id}")
    assert "属于“纳税服务科”" in other
    assert "只能由" not in other
    await say(app, "wangwu", f"登记 {hit.id}")
    again = await say(app, "wangwu", f"登记 {hit.id}")
    assert "已登记为处理单 YQ-2026-0001" in again
    assert len(app.store.tickets.in_year(2026)) == 1


async def test_full_path_from_register_to_archive(app, hit, clock):
    await say(app, "wangwu", f"登记 {hit.id} 建议答复")
    clock.at += timedelta(minutes=20)
    reply = await say(app, "zhaoliu", "批示 1 同意，请办公室联系答复")
    assert "已批示 YQ-2026-0001，转办公室办理" in reply
    office_notice = [t for c, t in outbox_texts(app) if c == "office-group"]
    assert "<@sunqi>" in office_notice[0]

    assert "已受理" in await say(app, "sunqi", "受理 1 由纳服科联系当事人")
    assert "上报领导小组" in await say(app, "sunqi", "上报 1 转载增多")
    assert "已办结" in await say(app, "sunqi", "办结 1 已联系当事人，退税已到账")
    assert "已归档" in await say(app, "sunqi", "归档 YQ-2026-0001")

    ticket = app.store.tickets.get("YQ-2026-0001")
    assert ticket.state == "已归档"
    assert ticket.instruction == "同意，请办公室联系答复"
    assert ticket.instructed_by == "zhaoliu"
    assert ticket.handler == "sunqi" and ticket.office_opinion == "由纳服科联系当事人"
    assert ticket.result == "已联系当事人，退税已到账"
    assert ticket.reported == "转载增多"
    assert [e.action for e in ticket.history] == [
        "登记",
        "批示",
        "受理",
        "上报",
        "办结",
        "归档",
    ]
    leaders = [t for c, t in outbox_texts(app) if "舆情上报" in t]
    assert "<@leader1>" in leaders[0]
    detail = await say(app, "leader1", "查询 1")
    assert "状态：**已归档**" in detail
    assert "zhaoliu 批示 → 待办理：同意，请办公室联系答复" in detail


async def test_return_and_resubmit(app, hit):
    await say(app, "wangwu", f"登记 {hit.id}")
    assert "缺少意见或理由" in await say(app, "zhaoliu", "退回 1")
    assert "已退回" in await say(app, "zhaoliu", "退回 1 请补充原帖截图")
    assert "<@wangwu>" in outbox_texts(app)[-1][1]
    assert "YQ-2026-0001" in await say(app, "wangwu", "待办")

    assert "已重新提交" in await say(app, "wangwu", "重新提交 1 已补充")
    assert app.store.tickets.get("YQ-2026-0001").state == "待批示"
    assert "YQ-2026-0001" in await say(app, "zhaoliu", "待办")


async def test_wrong_role_wrong_state_and_unknown_id(app, hit):
    await say(app, "wangwu", f"登记 {hit.id}")

    other_head = await say(app, "lisi", "批示 1 同意")
    assert "需由科室负责人（zhaoliu）操作" in other_head
    not_office = await say(app, "zhaoliu", "受理 1")
    assert "仅限办公室使用" in not_office
    too_early = await say(app, "sunqi", "办结 1 已处理")
    assert "当前状态为“待批示”" in too_early
    assert "只能在“待办理”或“办理中”状态下进行" in too_early
    assert "找不到处理单“99”" in await say(app, "zhaoliu", "批示 99 同意")
    assert "缺少处理单编号" in await say(app, "zhaoliu", "批示")
    assert app.store.tickets.get("YQ-2026-0001").state == "待批示"


async def test_tolerant_syntax_full_width_mention_and_case(app, hit):
    await say(app, "wangwu", f"登记 {hit.id.lower()}")
    reply = await say(app, "zhaoliu", "@舆情助手　同意：yq-2026-1")

    assert "已批示 YQ-2026-0001" in reply
    assert app.store.tickets.get("YQ-2026-0001").instruction == "同意"


async def test_outdated_card_revision_is_refused(app, hit):
    await say(app, "wangwu", f"登记 {hit.id}")
    await say(app, "zhaoliu", "退回 1 补充")
    await say(app, "wangwu", "重新提交 1")

    stale = await say(app, "zhaoliu", "批示 1#1 同意")
    assert "已被他人处理，你的操作未执行" in stale
    assert app.store.tickets.get("YQ-2026-0001").state == "待批示"


async def test_dismiss_keeps_reason_and_blocks_registration(app, hit):
    assert "缺少理由" in await say(app, "wangwu", f"忽略 {hit.id}")
    assert "已将" in await say(app, "wangwu", f"忽略 {hit.id} 旧闻转载")
    stored = app.store.hits.get(hit.id)
    assert (stored.dismissed, stored.dismiss_reason) == ("忽略", "旧闻转载")
    assert "已被 wangwu 标为“忽略”" in await say(app, "wangwu", f"登记 {hit.id}")


async def test_manual_registration(app, feed_server):
    url = feed_server.route("/weibo/9", PAGE, headers={"Content-Type": "text/html"})
    reply = await say(app, "zhangsan", f"手工登记 {url} 微博称退税难 网友发帖称")

    assert "已登记处理单" in reply and "手工登记" in reply
    ticket = app.store.tickets.get("YQ-2026-0001")
    assert (ticket.section, ticket.source, ticket.title) == (
        "szk",
        "人工巡查",
        "微博称退税难",
    )
    assert "不是网址" in await say(app, "zhangsan", "手工登记 bbs.example.cn 标题")
    assert "需由科室监控人员" in await say(app, "sunqi", f"手工登记 {url} 标题")


async def test_todo_and_list_by_role(app, hit):
    assert "没有待办" in await say(app, "zhaoliu", "待办")
    await say(app, "wangwu", f"登记 {hit.id}")
    assert "YQ-2026-0001" in await say(app, "zhaoliu", "待办")
    assert "没有待办" in await say(app, "sunqi", "待办")
    await say(app, "zhaoliu", "同意 1")
    assert "YQ-2026-0001" in await say(app, "sunqi", "待办")

    listing = await say(app, "sunqi", "处理单 待办理 纳税服务科")
    assert "今年处理单（纳税服务科·待办理） 1 件" in listing
    assert "没有处理单" in await say(app, "sunqi", "处理单 税政管理科")
    assert "不认识“明年”" in await say(app, "sunqi", "处理单 明年")


async def test_export_form_and_whole_case_to_console(app, hit):
    import zipfile

    from docx import Document

    await say(app, "wangwu", f"登记 {hit.id} 建议答复")
    await app.casework.settle()
    await say(app, "zhaoliu", "批示 1 同意")

    form = await say(app, "sunqi", "导出 1")
    whole = await say(app, "zhaoliu", "导出 YQ-2026-0001 全案")

    assert "已生成监控处理单 YQ-2026-0001-监控处理单.docx" in form
    path = app.settings.data_dir / "exports" / "YQ-2026-0001-监控处理单.docx"
    cells = [
        c.text for t in Document(str(path)).tables for r in t.rows for c in r.cells
    ]
    assert "建议答复" in cells and any("同意" in c for c in cells)
    assert "已生成一案一档" in whole
    with zipfile.ZipFile(path.with_name("YQ-2026-0001-全案.zip")) as archive:
        names = archive.namelist()
    assert "留证/1/page.html" in names and "校验.txt" in names
    files = [m for m in app.outbox.pending() if m.kind == "file"]
    assert [m.body["filename"] for m in files] == [
        "YQ-2026-0001-监控处理单.docx",
        "YQ-2026-0001-全案.zip",
    ]
    assert "限本科室人员" in await say(app, "zhangsan", "导出 1")
    assert "正确写法：导出 <处理单编号> [全案]" in await say(
        app, "sunqi", "导出 1 全部"
    )


async def test_keyword_list_counts_dismissals_per_rule(app, hit):
    await say(app, "wangwu", f"误报 {hit.id} 与税务无关")

    rules = await say(app, "wangwu", "关键词")

    assert "近 30 天命中 1 条，误报 1、忽略 0" in rules
    assert "过半无效" in rules


@pytest.mark.parametrize(
    ("steps", "user", "line", "expected"),
    [
        ([], "sunqi", "归档 1", "只能在“已办结”状态下进行"),
        ([], "wangwu", "重新提交 1", "只能在“已退回”状态下进行"),
        ([("zhaoliu", "同意 1"), ("sunqi", "受理 1")], "sunqi", "受理 1", "办理中"),
        ([("zhaoliu", "退回 1 补充")], "sunqi", "上报 1", "当前状态为“已退回”"),
        (
            [("zhaoliu", "退回 1 补充")],
            "zhangsan",
            "重新提交 1",
            "本科室监控人员或办公室",
        ),
        ([("zhaoliu", "同意 1")], "zhaoliu", "批示 1 再批", "当前状态为“待办理”"),
        ([("zhaoliu", "同意 1")], "wangwu", "办结 1 好了", "仅限办公室使用"),
        ([], "leader1", "批示 1 同意", "仅限负责人使用"),
    ],
)
async def test_every_refusal_says_why(app, hit, steps, user, line, expected):
    await say(app, "wangwu", f"登记 {hit.id}")
    for who, text in steps:
        await say(app, who, text)
    before = app.store.tickets.get("YQ-2026-0001")

    assert expected in await say(app, user, line)
    assert app.store.tickets.get("YQ-2026-0001") == before


async def test_dismiss_by_other_section_refused(app, hit):
    assert "属于“纳税服务科”" in await say(app, "zhangsan", f"误报 {hit.id}")
    assert app.store.hits.get(hit.id).dismissed == ""


@pytest.mark.parametrize(
    "line",
    ["批示 1：同意", "批示 YQ-2026-0001：同意", "批示 1:同意", "批示：1：同意"],
    ids=["short-id", "full-id", "ascii-colon", "colon-after-word-too"],
)
async def test_step_takes_colon_after_ticket_id(app, hit, line):
    await say(app, "wangwu", f"登记 {hit.id}")

    reply = await say(app, "zhaoliu", line)

    assert "已批示 YQ-2026-0001" in reply
    assert app.store.tickets.get("YQ-2026-0001").instruction == "同意"


async def test_register_and_dismiss_take_colon_after_hit_id(app, hit, feed_server):
    other = app.store.hits.add(replace(hit, id="", url=hit.url + "?2"))

    registered = await say(app, "wangwu", f"登记 {hit.id}：建议核实")
    ignored = await say(app, "wangwu", f"忽略 {other.id}：旧闻转载")

    assert "已登记处理单 **YQ-2026-0001**" in registered
    assert app.store.tickets.get("YQ-2026-0001").proposal == "建议核实"
    assert "已将" in ignored
    assert app.store.hits.get(other.id).dismiss_reason == "旧闻转载"


async def test_wrong_role_refusal_shows_usage(app, hit):
    await say(app, "wangwu", f"登记 {hit.id}")

    reply = await say(app, "wangwu", "批示 1 同意")

    assert "“批示”仅限负责人使用；你的角色是监控人员，不能使用。" in reply
    assert "用法：批示 <处理单编号> <意见>" in reply


async def test_head_registers_own_section_hit(app, hit):
    other_head = await say(app, "lisi", f"登记 {hit.id}")
    reply = await say(app, "zhaoliu", f"登记 {hit.id} 建议答复")

    assert "属于“纳税服务科”" in other_head
    assert "已登记处理单 **YQ-2026-0001**" in reply
    ticket = app.store.tickets.get("YQ-2026-0001")
    assert (ticket.created_by, ticket.state) == ("zhaoliu", "待批示")


async def test_resubmit_refusal_names_everyone_who_may(app, hit):
    await say(app, "wangwu", f"登记 {hit.id}")
    await say(app, "zhaoliu", "退回 1 补充")

    reply = await say(app, "zhangsan", "重新提交 1")

    assert "需由登记人、本科室监控人员或办公室（wangwu、sunqi）操作" in reply
    assert "已重新提交" in await say(app, "sunqi", "重新提交 1")


async def test_head_registered_ticket_returns_to_monitors(app, hit):
    await say(app, "zhaoliu", f"登记 {hit.id}")

    reply = await say(app, "zhaoliu", "退回 1 请监控人员补充")

    assert "已退回 YQ-2026-0001 给监控人员 wangwu" in reply
    assert "<@wangwu>" in outbox_texts(app)[-1][1]
    assert "YQ-2026-0001" in await say(app, "wangwu", "待办")
    assert "没有待办" in await say(app, "zhaoliu", "待办")
