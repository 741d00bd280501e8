"""帮助: the commands the sender's roles allow, or one command's syntax and examples."""

from __future__ import annotations

from bot.dispatcher import Command, Context
from bot.errors import UserError
from bot.events import Reply


async def show_help(ctx: Context, args: str) -> Reply:
    allowed = ctx.dispatcher.allowed_for(ctx.person)
    word = args.split()[0] if args.split() else ""
    if word:
        return _one_command(ctx, word, allowed)

    groups: dict[str, list[dict[str, str]]] = {}
    for command in allowed:
        doc = ctx.dispatcher.docs[command.name]
        groups.setdefault(doc.group, []).append(
            {"usage": doc.usage, "summary": doc.summary, "example": doc.examples[0]}
        )
    return ctx.reply(
        "help.j2",
        bot_name=ctx.settings.bot.name,
        roles=sorted(r.value for r in ctx.person.roles),
        groups=groups,
    )


def _one_command(ctx: Context, word: str, allowed: list[Command]) -> Reply:
    command = ctx.dispatcher.find(word)
    if command is None:
        suggestion = ctx.dispatcher.suggest(word, ctx.person)
        raise UserError(
            "errors/unknown_help_topic.j2", word=word, suggestion=suggestion
        )
    doc = ctx.dispatcher.docs[command.name]
    return ctx.reply(
        "help_command.j2",
        name=command.name,
        doc=doc,
        aliases=command.aliases,
        allowed=command in allowed,
        roles=sorted(r.value for r in command.roles or ()),
    )


COMMANDS = [Command("帮助", show_help, aliases=("help", "菜单", "?", "？"))]
