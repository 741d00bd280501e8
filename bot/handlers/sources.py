"""来源: the configured sources and how their last scans went."""

from __future__ import annotations

from bot.crawlers import crawler_for
from bot.dispatcher import Command, Context
from bot.events import Reply


async def list_sources(ctx: Context, args: str) -> Reply:
    sections = {s.id: s.name for s in ctx.settings.sections}
    rows = []
    for source in ctx.settings.sources:
        state = ctx.store.sources.get(source.name)
        rows.append(
            {
                "name": source.name,
                "kind": source.kind,
                "section": sections.get(source.section, source.section),
                "every": source.every,
                "enabled": source.enabled,
                "supported": crawler_for(source.kind) is not None,
                "state": state,
            }
        )
    return ctx.reply("sources.j2", sources=rows)


COMMANDS = [Command("来源", list_sources, aliases=("信息源",))]
