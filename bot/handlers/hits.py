"""命中: the latest hits, optionally only today's or this week's."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.dispatcher import Command, Context
from bot.errors import UserError
from bot.events import Reply

_SHOWN = 20
_PERIODS = {"今日": 0, "今天": 0, "本周": None, "近7天": 7, "": 7}


def _since(now: datetime, period: str) -> datetime:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "本周":
        return start - timedelta(days=now.weekday())
    return start - timedelta(days=_PERIODS[period])


async def list_hits(ctx: Context, args: str) -> Reply:
    period = args.strip()
    if period not in _PERIODS:
        raise UserError(
            "errors/bad_args.j2",
            command="命中",
            problem=f"不认识的时间范围“{period}”",
            usage="命中 [今日|本周|近7天]",
        )
    hits = ctx.store.hits.since(_since(ctx.now, period))
    sections = {s.id: s.name for s in ctx.settings.sections}
    return ctx.reply(
        "hits.j2",
        period=period or "近7天",
        total=len(hits),
        hits=hits[:_SHOWN],
        sections=sections,
    )


COMMANDS = [Command("命中", list_hits, aliases=("新命中",))]
