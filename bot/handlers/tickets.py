"""Ticket commands that change something: 登记, 手工登记, 忽略, 误报 and the steps.

A ticket is named as ``YQ-2026-0012``, ``yq-2026-12`` or ``12`` (this year); a
card button adds the revision it was drawn from (``12#3``), so a click on an
outdated card is refused instead of acting on a changed case. The ticket or hit id
ends at a space or a colon (``批示 12：同意``).
"""

from __future__ import annotations

import re

from bot.commands import split_ref
from bot.dispatcher import Command, Context, Handler
from bot.errors import UserError
from bot.events import Reply
from bot.roles import Role
from bot.tickets import ACTIONS, RESUBMITTERS

_REF = re.compile(r"^(?P<id>[^#\s]+)(?:#(?P<rev>\d+))?$")
REGISTRARS = frozenset({Role.MONITOR, Role.HEAD, Role.OFFICE})


def split_ticket_ref(args: str) -> tuple[str, int | None, str]:
    """``"12#3 同意"`` → ``("12", 3, "同意")``; the ticket may be missing."""
    word, rest = split_ref(args)
    match = _REF.match(word)
    if match is None:
        return word, None, rest
    rev = match["rev"]
    return match["id"], int(rev) if rev else None, rest


def _need(value: str, command: str, what: str, usage: str) -> None:
    if not value:
        raise UserError(
            "errors/bad_args.j2", command=command, problem=f"缺少{what}", usage=usage
        )


async def register(ctx: Context, args: str) -> Reply:
    hit_id, proposal = split_ref(args)
    _need(hit_id, "登记", "命中编号", "登记 <命中编号> [拟处理意见]")
    ticket = ctx.casework.register(ctx.person, hit_id, proposal, ctx.now)
    reply = ctx.reply("tickets/registered.j2", t=ticket, manual=False)
    return Reply(reply.text, card_title=f"已登记 {ticket.id}")


async def register_manual(ctx: Context, args: str) -> Reply:
    usage = "手工登记 <网址> <标题> [摘要]"
    url, _, rest = args.strip().partition(" ")
    title, _, summary = rest.strip().partition(" ")
    _need(url, "手工登记", "网址", usage)
    _need(title, "手工登记", "标题", usage)
    ticket = ctx.casework.register_manual(
        ctx.person, url, title, summary.strip(), ctx.now
    )
    return ctx.reply("tickets/registered.j2", t=ticket, manual=True)


async def ignore(ctx: Context, args: str) -> Reply:
    return await _dismiss(ctx, args, "忽略", "忽略 <命中编号> <理由>")


async def false_positive(ctx: Context, args: str) -> Reply:
    return await _dismiss(ctx, args, "误报", "误报 <命中编号> [说明]")


async def _dismiss(ctx: Context, args: str, kind: str, usage: str) -> Reply:
    hit_id, reason = split_ref(args)
    _need(hit_id, kind, "命中编号", usage)
    if kind == "忽略":
        _need(reason.strip(), kind, "理由（为什么不需处置）", usage)
    hit = ctx.casework.dismiss(ctx.person, hit_id, kind, reason, ctx.now)
    reply = ctx.reply("tickets/dismissed.j2", h=hit)
    return Reply(reply.text, card_title=f"已{kind}" if kind == "忽略" else "已标误报")


def _step(name: str, default_comment: str = "") -> Handler:
    action = ACTIONS[name]

    async def handler(ctx: Context, args: str) -> Reply:
        ticket_id, revision, comment = split_ticket_ref(args)
        _need(ticket_id, name, "处理单编号", action.usage)
        comment = comment or default_comment
        ticket = ctx.casework.act(
            ctx.person, ticket_id, name, comment, ctx.now, revision
        )
        authors = ctx.casework.notices.people(ticket, "author")  # for 退回
        reply = ctx.reply("tickets/acted.j2", t=ticket, action=name, authors=authors)
        return Reply(reply.text, card_title=f"已{name}")

    handler.__name__ = f"step_{name}"
    return handler


COMMANDS = [
    Command("登记", register, REGISTRARS),
    Command("手工登记", register_manual, REGISTRARS, aliases=("人工登记",)),
    Command("忽略", ignore, REGISTRARS),
    Command("误报", false_positive, REGISTRARS),
    Command("批示", _step("批示"), frozenset({Role.HEAD})),
    Command("同意", _step("批示", "同意"), frozenset({Role.HEAD})),
    Command("退回", _step("退回"), frozenset({Role.HEAD})),
    Command("重新提交", _step("重新提交"), RESUBMITTERS),
    Command("受理", _step("受理"), frozenset({Role.OFFICE})),
    Command("办结", _step("办结"), frozenset({Role.OFFICE})),
    Command("上报", _step("上报"), frozenset({Role.OFFICE})),
    Command("归档", _step("归档"), frozenset({Role.OFFICE})),
]
