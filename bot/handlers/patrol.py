"""监控日志 commands: 巡查, 请假, 销假, 日志 and 导出日志.

Dates are read by `bot.days`; the plan and the figures live in `bot.patrol`, leave
in `bot.leave`, the rows of the log in `bot.patrol_log`. The Word export goes out
like a ticket form (`bot.handlers.exports`).
"""

from __future__ import annotations

from datetime import date, timedelta

from bot import forms, leave, patrol, patrol_log
from bot.days import parse_day, parse_month, parse_span
from bot.dispatcher import Command, Context
from bot.errors import UserError
from bot.events import Reply
from bot.handlers.exports import _destination
from bot.models import OutboxMessage
from bot.roles import Role, everyone

PATROLLERS = frozenset({Role.MONITOR, Role.HEAD, Role.OFFICE})
SEES_ALL = (Role.OFFICE, Role.LEADER, Role.ADMIN)
USAGE = {
    "巡查": "巡查 [巡查范围] [发现：情况]",
    "请假": "请假 <日期|日期范围> [说明]，"
    "或为监控人员登记：请假 <用户ID> <日期|日期范围> [说明]",
    "销假": "销假 <日期>，或为监控人员：销假 <用户ID> <日期>",
    "日志": "日志 [日期|本周|本月] [科室]",
    "导出日志": "导出日志 <月份> [科室]",
}
DATE_FORMS = "日期写 2026-12-07、12-07 或 12月7日，范围写 12-07..12-09 或 12-07至12-09"
_SEPARATORS = ("..", "至", "到", "~", "～")
_MAX_NOTE = 500


def _bad(command: str, problem: str) -> UserError:
    return UserError(
        "errors/bad_args.j2", command=command, problem=problem, usage=USAGE[command]
    )


# -- 巡查 -----------------------------------------------------------------------


async def record(ctx: Context, args: str) -> Reply:
    if len(args) > _MAX_NOTE:
        raise _bad("巡查", f"说明有 {len(args)} 个字，最多 {_MAX_NOTE} 个")
    entry = patrol.record(ctx.settings, ctx.store, ctx.person, args, ctx.now)
    today = ctx.now.date()
    mine = patrol.entries_on(ctx.settings, ctx.store, today, today)
    count = sum(1 for e in mine if e.user == entry.user)
    wanted = patrol.section_ids(ctx.settings, entry.section)
    open_hits = sum(
        1
        for h in ctx.store.hits.since(patrol.midnight(today, ctx.settings))
        if h.section in wanted and not h.ticket and not h.dismissed
    )
    reply = ctx.reply(
        "patrol/recorded.j2",
        e=entry,
        count=count,
        section=ctx.settings.section_name(entry.section) or "全部科室",
        names=ctx.settings.names,
        open_hits=open_hits,
    )
    # Each monitor patrols for themselves: a click greys out the clicker's card only.
    return Reply(reply.text, card_title="已记录巡查", card_personal=True)


# -- 请假 / 销假 ------------------------------------------------------------------


def _span_words(words: list[str], ctx: Context) -> tuple[tuple[date, date], int] | None:
    """The span at the start of `words` and how many words it took."""
    today = ctx.now.date()
    if len(words) >= 3 and words[1] in _SEPARATORS:
        span = parse_span("".join(words[:3]), today)
        if span:
            return span, 3
    span = parse_span(words[0], today) if words else None
    return (span, 1) if span else None


def _whose(ctx: Context, command: str, words: list[str]) -> tuple[str, list[str]]:
    """The user a leave command is about, and the words after the user ID."""
    if not words:
        raise _bad(command, "缺少日期；" + DATE_FORMS)
    if _span_words(words, ctx) is not None:
        return ctx.person.userid, words
    if words[0] in everyone(ctx.settings):
        if len(words) == 1:
            raise _bad(command, "缺少日期；" + DATE_FORMS)
        return words[0], words[1:]
    raise _bad(command, f"“{words[0]}”不是日期，也不是已配置的用户ID；{DATE_FORMS}")


async def take_leave(ctx: Context, args: str) -> Reply:
    user, words = _whose(ctx, "请假", args.split())
    section = leave.check_may(ctx.settings, ctx.person, user)
    found = _span_words(words, ctx)
    if found is None:
        raise _bad("请假", f"“{words[0]}”不是日期；{DATE_FORMS}")
    span, used = found
    leave.check_span(*span, ctx.now.date(), USAGE["请假"], "请假")
    note = " ".join(words[used:])
    if len(note) > _MAX_NOTE:
        raise _bad("请假", f"说明有 {len(note)} 个字，最多 {_MAX_NOTE} 个")
    record = leave.take(ctx.store, ctx.person, user, section, span, note, ctx.now)
    spanned = list(patrol.days(*span))
    return ctx.reply(
        "patrol/leave_added.j2",
        l=record,
        section=ctx.settings.section_name(section),
        days=len(spanned),
        workdays=sum(1 for d in spanned if ctx.calendar.is_workday(d)),
        names=ctx.settings.names,
    )


async def cancel_leave(ctx: Context, args: str) -> Reply:
    user, words = _whose(ctx, "销假", args.split())
    leave.check_may(ctx.settings, ctx.person, user)
    day = parse_day(words[0], ctx.now.date())
    if day is None or len(words) > 1:
        raise _bad(
            "销假", f"“{' '.join(words)}”不是一个日期；一次销假一天，{DATE_FORMS}"
        )
    cancelled = leave.cancel(ctx.store, ctx.person, user, day, ctx.now)
    return ctx.reply("patrol/leave_cancelled.j2", c=cancelled, names=ctx.settings.names)


# -- 日志 -----------------------------------------------------------------------


def _section_word(ctx: Context, word: str) -> str | None:
    for section in ctx.settings.sections:
        if word in (section.id, section.name):
            return section.id
    return None


def _default_sections(ctx: Context) -> set[str] | None:
    who = ctx.person
    if who.monitor_of:
        return {who.monitor_of}
    if who.head_of:
        return set(who.head_of)
    return None


async def show_log(ctx: Context, args: str) -> Reply:
    today = ctx.now.date()
    start = end = today
    label = "今天"
    sections = _default_sections(ctx)
    for word in args.split():
        section = _section_word(ctx, word)
        day = parse_day(word, today)
        if section is not None:
            sections = {section}
        elif word == "本周":
            start, end, label = today - timedelta(days=today.weekday()), today, word
        elif word == "本月":
            start, end, label = today.replace(day=1), today, word
        elif day is not None:
            start = end = day
            label = "今天" if day == today else str(day)
        else:
            names = "、".join(s.name for s in ctx.settings.sections)
            raise _bad(
                "日志",
                f"不认识“{word}”：时间写日期（如 12-07）、本周或本月；科室写 {names}",
            )
    rows = patrol_log.rows(ctx.settings, ctx.store, ctx.calendar, start, end, sections)
    days = _by_day(ctx, rows, start, end, sections)
    shown = [ctx.settings.section_name(s) for s in sorted(sections or ())]
    return ctx.reply(
        "patrol/log.j2",
        label=label,
        section="、".join(shown) or "全部科室",
        days=days,
        names=ctx.settings.names,
        section_names={s.id: s.name for s in ctx.settings.sections},
    )


def _by_day(
    ctx: Context,
    rows: list[patrol_log.LogRow],
    start: date,
    end: date,
    sections: set[str] | None,
) -> list[dict[str, object]]:
    """Rows grouped by day; a single working day also names who has not logged."""
    out = []
    for day in patrol.days(start, end):
        mine = [r for r in rows if r.day == day]
        missing: list[str] = []
        if start == end and ctx.calendar.is_workday(day) and day <= ctx.now.date():
            for section in ctx.settings.sections:
                if sections is None or section.id in sections:
                    missing += patrol.missing_on(
                        ctx.settings, ctx.store, section.id, day
                    )[0]
        if mine or missing:
            out.append(
                {
                    "day": day,
                    "workday": ctx.calendar.is_workday(day),
                    "entries": [r for r in mine if not r.is_leave],
                    "leave": [r for r in mine if r.is_leave],
                    "missing": missing,
                }
            )
    return out


# -- 导出日志 -----------------------------------------------------------------------


def _may_export(ctx: Context, section: str) -> bool:
    who = ctx.person
    if any(who.has(role) for role in SEES_ALL):
        return True
    return section == who.monitor_of or section in who.head_of


async def export_log(ctx: Context, args: str) -> Reply:
    words = args.split()
    today = ctx.now.date()
    if not words or len(words) > 2:
        raise _bad("导出日志", "请写月份，如 2026-12 或 12月；可再写科室")
    month = parse_month(words[0], today)
    if month is None:
        raise _bad("导出日志", f"“{words[0]}”不是月份，应如 2026-12、12月、本月或上月")
    if month > today:
        raise _bad("导出日志", f"{month.year}年{month.month}月还没到")
    section = ""
    if len(words) == 2:
        found = _section_word(ctx, words[1])
        if found is None:
            names = "、".join(s.name for s in ctx.settings.sections)
            raise _bad("导出日志", f"没有科室“{words[1]}”，应为 {names}")
        section = found
    elif ctx.person.monitor_of or len(ctx.person.head_of) == 1:
        section = patrol.home_section(ctx.person)
    if (section and not _may_export(ctx, section)) or (
        not section and not any(ctx.person.has(r) for r in SEES_ALL)
    ):
        raise UserError(
            "patrol/export_refused.j2",
            mine=[ctx.settings.section_name(s) for s in _own(ctx)],
            section=ctx.settings.section_name(section) or "全部科室",
        )
    return _send_log(ctx, month, section)


def _own(ctx: Context) -> list[str]:
    who = ctx.person
    return [who.monitor_of] if who.monitor_of else list(who.head_of)


def _send_log(ctx: Context, month: date, section: str) -> Reply:
    next_month = (month + timedelta(days=32)).replace(day=1)
    end = min(next_month - timedelta(days=1), ctx.now.date())
    rows = patrol_log.rows(
        ctx.settings,
        ctx.store,
        ctx.calendar,
        month,
        end,
        {section} if section else None,
    )
    name = ctx.settings.section_name(section) or "全部科室"
    folder = ctx.settings.data_dir / "exports"
    out = folder / f"监控日志-{month:%Y-%m}-{name}.docx"
    all_names = {s.id: s.name for s in ctx.settings.sections}
    forms.patrol_log(
        rows,
        name,
        month,
        out,
        names=ctx.settings.names,
        section_names=None if section else all_names,
    )
    to = _destination(ctx)
    if to is not None:
        body: dict[str, object] = {"path": str(out), "filename": out.name}
        message = OutboxMessage(to.channel, to.id, "file", body, created_at=ctx.now)
        ctx.casework.enqueue([message])
    return ctx.reply(
        "patrol/exported.j2",
        title=f"{name}{month.year}年{month.month}月监控日志",
        filename=out.name,
        rows=len(rows),
        path=str(out),
        to=to.channel if to else "",
        from_channel=ctx.message.channel,
    )


COMMANDS = [
    Command("巡查", record, PATROLLERS, aliases=("巡查记录",)),
    Command("请假", take_leave, PATROLLERS),
    Command("销假", cancel_leave, PATROLLERS),
    Command("日志", show_log, aliases=("监控日志",)),
    Command("导出日志", export_log),
]
