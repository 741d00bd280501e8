"""简报, 导出简报, 加强监测 and 预警: briefings on demand, the briefing as Word,
scanning a section more often for a while, and the warnings recorded lately."""

from __future__ import annotations

from datetime import timedelta

from bot import briefing, briefing_form, briefing_notices, intensify
from bot.chat_rules import find_section
from bot.config_wecom import ChatAddress
from bot.dispatcher import Command, Context
from bot.errors import UserError
from bot.events import Reply
from bot.models import OutboxMessage
from bot.roles import Role
from bot.scan import all_sources

READERS = frozenset({Role.OFFICE, Role.LEADER, Role.ADMIN, Role.HEAD})
STEERS = frozenset({Role.OFFICE, Role.LEADER, Role.ADMIN})
BRIEF_USAGE = "简报 [今日|本周|本月|上月]"
EXPORT_USAGE = "导出简报 <今日|本周|本月|上月>"
INTENSIFY_USAGE = "加强监测 <小时> [科室]"


def _period(ctx: Context, command: str, usage: str, args: str) -> briefing.Period:
    name = args.strip() or "今日"
    if name not in briefing.PERIODS:
        raise UserError(
            "errors/bad_args.j2",
            command=command,
            problem=f"不认识的时间范围“{name}”",
            usage=usage,
        )
    return briefing.period(name, ctx.now.date(), ctx.calendar)


def _build(ctx: Context, chosen: briefing.Period) -> briefing.Briefing:
    top = ctx.settings.briefing.top
    return briefing.build(
        ctx.settings, ctx.store, ctx.calendar, chosen, ctx.now, top=top
    )


def _file_to(ctx: Context) -> ChatAddress | None:
    """Where a file for the sender goes: this chat, or privately through the app."""
    msg = ctx.message
    if msg.channel == "console":
        return ChatAddress("console", "")
    if msg.channel in ("app", "aibot") and ctx.settings.has_wecom_app:
        return ChatAddress("app", msg.sender)
    if msg.channel in ("appchat", "webhook") and msg.chat:
        return ChatAddress(msg.channel, msg.chat)
    return None


def _send_file(ctx: Context, to: ChatAddress, path: str, name: str) -> None:
    body: dict[str, object] = {"path": path, "filename": name}
    message = OutboxMessage(to.channel, to.id, "file", body, created_at=ctx.now)
    ctx.casework.enqueue([message])


async def brief(ctx: Context, args: str) -> Reply:
    chosen = _period(ctx, "简报", BRIEF_USAGE, args)
    figures = _build(ctx, chosen)
    note = ""
    if chosen.is_long:
        png = briefing_notices.chart_file(ctx.settings, figures)
        to = _file_to(ctx)
        if to is not None:
            _send_file(ctx, to, str(png), png.name)
            note = "趋势图见随后的图片文件。"
        else:
            note = f"趋势图已保存在服务器：{png}"
    text = briefing_notices.render(ctx.renderer, ctx.settings, figures, note)
    return Reply(text)


async def export_brief(ctx: Context, args: str) -> Reply:
    if not args.strip():
        raise UserError(
            "errors/bad_args.j2",
            command="导出简报",
            problem="请写要导出的时间范围",
            usage=EXPORT_USAGE,
        )
    chosen = _period(ctx, "导出简报", EXPORT_USAGE, args)
    figures = _build(ctx, chosen)
    png = briefing_notices.chart_file(ctx.settings, figures)
    out = (
        ctx.settings.data_dir / "exports" / f"舆情简报-{chosen.start}-{chosen.end}.docx"
    )
    briefing_form.briefing_docx(
        figures,
        out,
        chart=png,
        title=briefing_notices.TITLES[chosen.name],
        section_name=ctx.settings.section_name,
        names=ctx.settings.names,
    )
    to = _file_to(ctx)
    if to is not None:
        _send_file(ctx, to, str(out), out.name)
    return ctx.reply(
        "briefing/exported.j2", filename=out.name, path=str(out), sent=to is not None
    )


async def intensify_cmd(ctx: Context, args: str) -> Reply:
    words = args.split()
    if not words or len(words) > 2 or not words[0].isdigit():
        raise UserError(
            "errors/bad_args.j2",
            command="加强监测",
            problem="请写加强监测多少小时（0 为提前结束），可再写科室",
            usage=INTENSIFY_USAGE,
        )
    hours = int(words[0])
    if hours > intensify.MAX_HOURS:
        raise UserError(
            "errors/bad_args.j2",
            command="加强监测",
            problem=f"一次最多 {intensify.MAX_HOURS} 小时，到期后可再次发送延长",
            usage=INTENSIFY_USAGE,
        )
    sections = list(ctx.settings.sections)
    if len(words) == 2:
        found = find_section(ctx.settings, words[1])
        if found is None:
            raise UserError(
                "errors/unknown_section.j2",
                word=words[1],
                sections=[(s.name, s.id) for s in ctx.settings.sections],
            )
        sections = [found]
    ids = [s.id for s in sections]
    if hours == 0:
        stopped = intensify.stop(ctx.store, ids)
        names = [ctx.settings.section_name(s) for s in stopped]
        return ctx.reply("warnings/intensify_stopped.j2", sections=names)
    windows = intensify.start(ctx.store, ids, hours, ctx.person.userid, ctx.now)
    count = sum(
        1
        for s in all_sources(ctx.settings, ctx.store)
        if s.enabled and s.section in ids
    )
    return ctx.reply(
        "warnings/intensify_started.j2",
        sections=[s.name for s in sections],
        until=windows[0].until,
        every=ctx.settings.warning.intensify_every,
        sources=count,
        one=len(sections) == 1,
    )


async def warnings_cmd(ctx: Context, args: str) -> Reply:
    days = 7
    since = ctx.now - timedelta(days=days)
    shown = [w for w in ctx.store.warnings.since(since) if w.kind != "silent"]
    return ctx.reply(
        "warnings/list.j2",
        warnings=shown[:30],
        more=max(0, len(shown) - 30),
        days=days,
        section_name=ctx.settings.section_name,
        running=intensify.active(ctx.store, ctx.now),
    )


COMMANDS = [
    Command("简报", brief, READERS, aliases=("舆情简报",)),
    Command("导出简报", export_brief, READERS),
    Command("加强监测", intensify_cmd, STEERS),
    Command("预警", warnings_cmd, READERS),
]
