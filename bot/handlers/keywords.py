"""关键词: the keyword rules in force, from config and from chat.

Each rule shows how its last 30 days went: hits, and how many of them monitors
marked 误报 or 忽略, so a noisy rule stands out and can be tightened.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from bot.dispatcher import Command, Context
from bot.events import Reply

STATS_DAYS = 30


async def list_rules(ctx: Context, args: str) -> Reply:
    recent = ctx.store.hits.since(ctx.now - timedelta(days=STATS_DAYS))
    hits = Counter(h.rule for h in recent)
    dismissed = Counter((h.rule, h.dismissed) for h in recent if h.dismissed)
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
    for r in rules:
        name = str(r["name"])
        r["hits"] = hits[name]
        r["false"] = dismissed[(name, "误报")]
        r["ignored"] = dismissed[(name, "忽略")]
    return ctx.reply("rules.j2", rules=rules, days=STATS_DAYS)


COMMANDS = [Command("关键词", list_rules, aliases=("规则",))]
