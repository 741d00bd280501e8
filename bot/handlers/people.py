"""身份: who the bot thinks the sender is, and what they are responsible for."""

from __future__ import annotations

from bot.dispatcher import Command, Context
from bot.events import Reply


async def show_identity(ctx: Context, args: str) -> Reply:
    who = ctx.person
    section = ctx.settings.section(who.monitor_of) if who.monitor_of else None
    heads = [ctx.settings.section(s) for s in who.head_of]
    return ctx.reply(
        "identity.j2",
        userid=who.userid,
        roles=sorted(r.value for r in who.roles),
        monitor_of=section.name if section else "",
        head_of=[s.name for s in heads if s],
        channel=ctx.message.channel,
        chat=ctx.message.chat if ctx.message.channel != "console" else "",
    )


COMMANDS = [Command("身份", show_identity, aliases=("我是谁",))]
