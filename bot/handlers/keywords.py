"""关键词: the keyword rules in force, from config and from chat."""

from __future__ import annotations

from bot.dispatcher import Command, Context
from bot.events import Reply


async def list_rules(ctx: Context, args: str) -> Reply:
    sections = {s.id: s.name for s in ctx.settings.sections}
    rules = [
        {
            "name": r.name,
            "expr": r.expr,
            "section": sections.get(r.section, r.section),
            "level": r.level,
            "origin": "配置文件",
        }
        for r in ctx.settings.rules
    ]
    for r in ctx.store.rules.all():
        rules.append(
            {
                "name": r["name"],
                "expr": r["expr"],
                "section": sections.get(r["section"], r["section"]),
                "level": r.get("level", "一般"),
                "origin": "群内添加",
            }
        )
    return ctx.reply("rules.j2", rules=rules)


COMMANDS = [Command("关键词", list_rules, aliases=("规则",))]
