"""关键词 and its chat management: list, add, change, delete and try out rules;
变更记录 lists the audit log of rule and source changes made in chat.

Syntax: the rule name is the first word; the expression is the rest of the line
and may contain spaces; options come last as ``科室=<名称或编号>`` and
``等级=<等级>`` (``:`` or ``：`` also work). A last word that is a section's name
or id, without ``科室=``, is refused with a hint rather than guessed at: it could
be meant as a keyword. ``修改关键词 <名称> 等级 <等级>`` changes only the level.
The rules themselves (checks, permissions, audit) are left to `bot.chat_rules`.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

from bot.chat_rules import ChatRules, find_section
from bot.config import LEVELS
from bot.dispatcher import Command, Context
from bot.errors import UserError
from bot.events import Reply
from bot.roles import Role

STATS_DAYS = 30
SAMPLES = 5
HISTORY_SHOWN = 20
MANAGERS = frozenset({Role.OFFICE, Role.HEAD, Role.ADMIN})

ADD_USAGE = "添加关键词 <名称> <表达式> [科室=<科室>] [等级=<等级>]"
CHANGE_USAGE = "修改关键词 <名称> <新表达式>，或 修改关键词 <名称> 等级 <等级>"
DELETE_USAGE = "删除关键词 <名称>"
TRIAL_USAGE = "测试关键词 <表达式> [科室=<科室>]"
HISTORY_USAGE = "变更记录 [关键词|来源] [名称]"

_OPTION_SPACES = re.compile(r"(科室|等级)\s*[=＝:：]\s*")
_OPTION = re.compile(r"^(科室|等级)=(\S+)$")
_LEVEL_ONLY = re.compile(r"^等级(?:\s*[=＝:：]\s*|\s+)(\S+)$")


async def list_rules(ctx: Context, args: str) -> Reply:
    recent = ctx.store.hits.since(ctx.now - timedelta(days=STATS_DAYS))
    hits = Counter(h.rule for h in recent)
    dismissed = Counter((h.rule, h.dismissed) for h in recent if h.dismissed)
    rules = [
        {
            "name": r.name,
            "expr": r.expression,
            "section": ctx.settings.section_name(r.section),
            "level": r.level,
            "origin": "配置文件",
        }
        for r in ctx.settings.rules
    ]
    configured = {r.name for r in ctx.settings.rules}
    for r in ctx.store.rules.all():
        if r["name"] in configured:
            continue  # shadowed by a config rule of the same name
        rules.append(
            {
                "name": r["name"],
                "expr": r["expr"],
                "section": ctx.settings.section_name(r["section"]),
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


def split_options(
    ctx: Context, command: str, args: str, usage: str, allowed: tuple[str, ...]
) -> tuple[str, dict[str, str]]:
    """Take the trailing ``科室=…`` / ``等级=…`` options off `args`."""
    words = _OPTION_SPACES.sub(r"\1=", args).split()
    options: dict[str, str] = {}
    while words and (match := _OPTION.match(words[-1])):
        key, value = match[1], match[2]
        if key not in allowed or key in options:
            problem = f"“{key}=”只能写一次" if key in options else f"这里不能写“{key}=”"
            raise _bad(command, problem, usage)
        options[key] = value
        words.pop()
    level = options.get("等级", "")
    if level and level not in LEVELS:
        raise _bad(command, f"等级应为 {'、'.join(LEVELS)} 之一", usage)
    if words and "科室" not in options and find_section(ctx.settings, words[-1]):
        raise UserError("keywords/section_word.j2", word=words[-1], command=command)
    return " ".join(words), options


def _bad(command: str, problem: str, usage: str) -> UserError:
    return UserError(
        "errors/bad_args.j2", command=command, problem=problem, usage=usage
    )


async def add_rule(ctx: Context, args: str) -> Reply:
    name, _, rest = args.strip().partition(" ")
    expr, options = split_options(ctx, "添加关键词", rest, ADD_USAGE, ("科室", "等级"))
    if not name:
        raise _bad("添加关键词", "缺少规则名称和表达式", ADD_USAGE)
    if not expr:
        raise _bad("添加关键词", "缺少关键词表达式（写在名称后面）", ADD_USAGE)
    rules = ChatRules(ctx.settings, ctx.store)
    rule = rules.add(
        ctx.person,
        name,
        expr,
        options.get("科室", ""),
        options.get("等级", ""),
        ctx.now,
    )
    return ctx.reply(
        "keywords/added.j2",
        r=rule,
        section=ctx.settings.section_name(rule["section"]),
    )


async def change_rule(ctx: Context, args: str) -> Reply:
    name, _, rest = args.strip().partition(" ")
    level_only = _LEVEL_ONLY.match(rest)
    if level_only:
        expr, level = "", level_only[1]
        if level not in LEVELS:
            raise _bad("修改关键词", f"等级应为 {'、'.join(LEVELS)} 之一", CHANGE_USAGE)
    else:
        expr, options = split_options(ctx, "修改关键词", rest, CHANGE_USAGE, ("等级",))
        level = options.get("等级", "")
    if not name or not (expr or level):
        raise _bad("修改关键词", "请写规则名称和新的表达式（或新的等级）", CHANGE_USAGE)
    rules = ChatRules(ctx.settings, ctx.store)
    old, new = rules.change(ctx.person, name, ctx.now, expr=expr, level=level)
    return ctx.reply(
        "keywords/changed.j2",
        old=old,
        new=new,
        section=ctx.settings.section_name(new["section"]),
    )


async def delete_rule(ctx: Context, args: str) -> Reply:
    words = args.split()
    if len(words) != 1:
        problem = "缺少规则名称" if not words else "只写规则名称，名称中没有空格"
        raise _bad("删除关键词", problem, DELETE_USAGE)
    old = ChatRules(ctx.settings, ctx.store).delete(ctx.person, words[0], ctx.now)
    return ctx.reply(
        "keywords/deleted.j2", r=old, section=ctx.settings.section_name(old["section"])
    )


async def try_rule(ctx: Context, args: str) -> Reply:
    expr, options = split_options(ctx, "测试关键词", args, TRIAL_USAGE, ("科室",))
    if not expr:
        raise _bad("测试关键词", "缺少要测试的关键词表达式", TRIAL_USAGE)
    trial = ChatRules(ctx.settings, ctx.store).trial(
        expr, options.get("科室", ""), ctx.now
    )
    by_section = Counter(
        ctx.settings.section_name(item.section) for item in trial.matched
    )
    return ctx.reply(
        "keywords/trial.j2",
        t=trial,
        section=ctx.settings.section_name(trial.section) if trial.section else "",
        by_section=dict(by_section),
        samples=trial.matched[:SAMPLES],
    )


async def list_changes(ctx: Context, args: str) -> Reply:
    words = args.split()
    kind = words.pop(0) if words and words[0] in ("关键词", "来源") else ""
    if len(words) > 1:
        raise _bad("变更记录", "最多写一类（关键词或来源）和一个名称", HISTORY_USAGE)
    name = words[0] if words else ""
    records = ctx.store.changes.recent(kind, name)
    return ctx.reply(
        "changes.j2",
        records=records[:HISTORY_SHOWN],
        total=len(records),
        kind=kind,
        name=name,
    )


COMMANDS = [
    Command("关键词", list_rules, aliases=("规则",)),
    Command("添加关键词", add_rule, MANAGERS, aliases=("新增关键词",)),
    Command("修改关键词", change_rule, MANAGERS),
    Command("删除关键词", delete_rule, MANAGERS),
    Command("测试关键词", try_rule, aliases=("试关键词",)),
    Command("变更记录", list_changes, aliases=("修改记录",)),
]
