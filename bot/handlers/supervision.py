"""督查: the supervision figures of this week, this month or last month."""

from __future__ import annotations

from bot import supervision
from bot.dispatcher import Command, Context
from bot.errors import UserError
from bot.events import Reply
from bot.roles import Role


async def supervise(ctx: Context, args: str) -> Reply:
    name = args.strip() or "本周"
    if name not in supervision.PERIODS:
        raise UserError(
            "errors/bad_args.j2",
            command="督查",
            problem=f"不认识的时间范围“{name}”",
            usage="督查 [本周|本月|上月]",
        )
    chosen = supervision.period(name, ctx.now.date())
    figures = supervision.report(ctx.settings, ctx.store, ctx.calendar, chosen, ctx.now)
    return ctx.reply("supervision.j2", r=figures, now=ctx.now, names=ctx.settings.names)


COMMANDS = [
    Command(
        "督查",
        supervise,
        frozenset({Role.OFFICE, Role.LEADER, Role.ADMIN}),
        aliases=("督查报告",),
    )
]
