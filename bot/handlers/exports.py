"""导出: the 监控处理单 as a Word file, or the whole case (一案一档) as a zip.

The file is written under ``<data_dir>/exports/`` and sent into the chat the
command came from, through the outbox like any message. The AI bot cannot send
files, so there the file goes to the sender privately through the self-built app
when one is set up; without it the reply says where the file lies on the server.
"""

from __future__ import annotations

from bot import forms
from bot.commands import split_ref
from bot.config_wecom import ChatAddress
from bot.dispatcher import Command, Context
from bot.errors import UserError
from bot.events import Reply
from bot.models import OutboxMessage, Ticket
from bot.roles import Role

USAGE = "导出 <处理单编号> [全案]"


def _may_see(ctx: Context, ticket: Ticket) -> bool:
    who = ctx.person
    if who.has(Role.OFFICE) or who.has(Role.LEADER) or who.has(Role.ADMIN):
        return True
    return ticket.section in who.head_of or who.monitor_of == ticket.section


def _destination(ctx: Context) -> ChatAddress | None:
    """Where the file goes: this chat, or the sender through the app; None: nowhere."""
    msg = ctx.message
    if msg.channel == "console":
        return ChatAddress("console", "")
    if msg.channel in ("app", "aibot") and ctx.settings.has_wecom_app:
        return ChatAddress("app", msg.sender)
    return None


async def export(ctx: Context, args: str) -> Reply:
    ticket_id, rest = split_ref(args)
    words = [w for w in (ticket_id, *rest.split()) if w]
    if not words or len(words) > 2 or (len(words) == 2 and words[1] != "全案"):
        raise UserError(
            "errors/bad_args.j2",
            command="导出",
            problem="请写处理单编号，要一案一档再加“全案”",
            usage=USAGE,
        )
    ticket = ctx.casework.ticket(words[0], ctx.now)
    if not _may_see(ctx, ticket):
        raise UserError("tickets/export_refused.j2", t=ticket)
    name = ctx.settings.section_name(ticket.section)
    folder = ctx.settings.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    whole = len(words) == 2
    if whole:
        out = folder / f"{ticket.id}-全案.zip"
        forms.case_archive(
            ticket, name, ctx.settings.data_dir, out, names=ctx.settings.names
        )
    else:
        out = folder / f"{ticket.id}-监控处理单.docx"
        forms.ticket_form(ticket, name, out, names=ctx.settings.names)
    to = _destination(ctx)
    if to is not None:
        body: dict[str, object] = {"path": str(out), "filename": out.name}
        message = OutboxMessage(to.channel, to.id, "file", body, created_at=ctx.now)
        ctx.casework.enqueue([message])
    return ctx.reply(
        "tickets/exported.j2",
        t=ticket,
        whole=whole,
        filename=out.name,
        path=str(out),
        to=to.channel if to else "",
        from_channel=ctx.message.channel,
    )


COMMANDS = [Command("导出", export)]
