"""Ticket commands that only look: 查询, 待办, 处理单."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot import deadlines
from bot.commands import split_ref
from bot.dispatcher import Command, Context
from bot.errors import UserError
from bot.events import Reply
from bot.models import Ticket
from bot.ticket_notices import span
from bot.tickets import STATES, waiting_for

_SHOWN = 30
_PERIODS = ("今日", "本周", "本月", "今年")
LIST_USAGE = "处理单 [状态] [科室] [今日|本周|本月|今年]"


def _row(ctx: Context, ticket: Ticket) -> dict[str, object]:
    overdue = ""
    if ticket.due is not None and ctx.now > ticket.due:
        overdue = span(ctx.now - ticket.due)
    section = ctx.settings.section_name(ticket.section)
    return {"t": ticket, "section": section, "overdue": overdue}


async def show(ctx: Context, args: str) -> Reply:
    ticket_id, _ = split_ref(args)
    ticket = ctx.casework.ticket(ticket_id, ctx.now)
    chase = deadlines.next_chase(ticket, ctx.settings.tickets, ctx.calendar, ctx.now)
    return ctx.reply("tickets/detail.j2", **_row(ctx, ticket), chase=chase)


async def todo(ctx: Context, args: str) -> Reply:
    mine = [
        _row(ctx, t)
        for t in ctx.store.tickets.recent(ctx.now.date())
        if waiting_for(t, ctx.person)
    ]
    mine.sort(key=lambda r: _due_key(r["t"]))  # type: ignore[arg-type]
    return ctx.reply("tickets/todo.j2", rows=mine)


def _due_key(ticket: Ticket) -> datetime:
    return ticket.due or datetime.max.replace(tzinfo=ticket.created_at.tzinfo)


async def list_tickets(ctx: Context, args: str) -> Reply:
    state = section_id = period = ""
    names = {s.name: s.id for s in ctx.settings.sections}
    names.update({s.id: s.id for s in ctx.settings.sections})
    for word in args.split():
        if word in STATES or word in ("未办结", "超期"):
            state = word
        elif word in names:
            section_id = names[word]
        elif word in _PERIODS:
            period = word
        else:
            raise UserError(
                "errors/bad_args.j2",
                command="处理单",
                problem=f"不认识“{word}”：状态可写 {'、'.join(STATES)}、未办结、超期；"
                f"科室写名称或编号；时间写 {'、'.join(_PERIODS)}",
                usage=LIST_USAGE,
            )
    start = _start(ctx.now, period or "今年")
    chosen = [
        t
        for t in ctx.store.tickets.recent(ctx.now.date())
        if t.created_at >= start
        and (not section_id or t.section == section_id)
        and _state_matches(t, state, ctx.now)
    ]
    return ctx.reply(
        "tickets/list.j2",
        rows=[_row(ctx, t) for t in chosen[:_SHOWN]],
        total=len(chosen),
        filters="·".join(
            w for w in (ctx.settings.section_name(section_id), state) if w
        ),
        period=period or "今年",
    )


def _state_matches(ticket: Ticket, state: str, now: datetime) -> bool:
    if not state:
        return True
    if state == "未办结":
        return ticket.state not in ("已办结", "已归档")
    if state == "超期":
        return ticket.due is not None and now > ticket.due
    return ticket.state == state


def _start(now: datetime, period: str) -> datetime:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "今日":
        return midnight
    if period == "本周":
        return midnight - timedelta(days=now.weekday())
    if period == "本月":
        return midnight.replace(day=1)
    return midnight.replace(month=1, day=1)


COMMANDS = [
    Command("查询", show, aliases=("查看",)),
    Command("待办", todo, aliases=("我的待办",)),
    Command("处理单", list_tickets, aliases=("处理单列表",)),
]
