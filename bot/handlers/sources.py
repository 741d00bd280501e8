"""来源 and its chat management: list sources with their health, add and remove
chat sources, pause and resume any source.

``添加来源 <名称> <类型> <网址> <科室> [间隔] [设置=值 ...]``: the first four words
are fixed; an interval such as ``30m`` may follow; further settings use the
config.toml keys (``item``, ``title``, ``link``, ``time``, ``summary``,
``content``, ``format``, ``charset``, ``weight``, ``expect_new_within``,
``rules`` as a comma list, ``every``), quoted when they contain spaces:
``item="ul.list li"``. Checks and storage are left to `bot.chat_sources`.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from bot.chat_rules import section_or_refuse
from bot.chat_sources import ChatSources
from bot.config import SOURCE_KINDS, Source
from bot.crawlers import crawler_for
from bot.dispatcher import Command, Context
from bot.errors import UserError
from bot.events import Reply
from bot.roles import Role
from bot.scan import all_sources

ADD_USAGE = "添加来源 <名称> <类型> <网址> <科室> [间隔] [设置=值 ...]"
ADMINS = frozenset({Role.ADMIN})
PAUSERS = frozenset({Role.ADMIN, Role.OFFICE})

_QUOTES = {'"': '"', "“": "”"}
_INTERVAL = re.compile(r"^\d+[smhd]$")
_SETTINGS = frozenset(
    f.name for f in fields(Source) if f.name not in ("name", "kind", "url", "section")
) - {"enabled"}


async def list_sources(ctx: Context, args: str) -> Reply:
    configured = {s.name for s in ctx.settings.sources}
    rows = []
    for source in all_sources(ctx.settings, ctx.store):
        rows.append(
            {
                "name": source.name,
                "kind": source.kind,
                "section": ctx.settings.section_name(source.section),
                "every": source.every,
                "enabled": source.enabled,
                "supported": crawler_for(source.kind) is not None,
                "state": ctx.store.sources.get(source.name),
                "origin": "配置文件" if source.name in configured else "群内添加",
            }
        )
    return ctx.reply("sources.j2", sources=rows)


def _bad(problem: str, usage: str = ADD_USAGE, command: str = "添加来源") -> UserError:
    return UserError(
        "errors/bad_args.j2", command=command, problem=problem, usage=usage
    )


def split_quoted(text: str) -> list[str]:
    """Words of `text`; a quoted part ("…" or “…”) may hold spaces, quotes dropped."""
    words: list[str] = []
    current: list[str] = []
    closer = ""
    for ch in text + " ":
        if closer:
            if ch == closer:
                closer = ""
            else:
                current.append(ch)
        elif ch in _QUOTES:
            closer = _QUOTES[ch]
        elif ch == " ":
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
    if closer:
        raise _bad("引号没有闭合")
    return words


def parse_source(ctx: Context, args: str) -> Source:
    """The `Source` described by 添加来源's arguments (not yet checked)."""
    words = split_quoted(args)
    if len(words) < 4:
        raise _bad("名称、类型、网址、科室四项都要写，依次用空格隔开")
    name, kind, url, section_word = words[:4]
    if kind not in SOURCE_KINDS:
        raise _bad(f"类型“{kind}”不对，应为 {'、'.join(SOURCE_KINDS)} 之一")
    section = section_or_refuse(ctx.settings, section_word)
    rest = words[4:]
    values: dict[str, Any] = {}
    if rest and _INTERVAL.match(rest[0]):
        values["every"] = rest.pop(0)
    for word in rest:
        key, sep, value = word.partition("=")
        if not sep or key not in _SETTINGS:
            raise _bad(
                f"不认识“{word}”；设置写成 键=值，键可为 {'、'.join(sorted(_SETTINGS))}"
            )
        if key in values:
            raise _bad(f"“{key}”写了两次")
        values[key] = _setting_value(key, value)
    return Source(name=name, kind=kind, url=url, section=section.id, **values)


def _setting_value(key: str, value: str) -> object:
    if key == "weight":
        try:
            return float(value)
        except ValueError:
            raise _bad(f"weight 应为数字，如 1.5，而不是“{value}”") from None
    if key == "rules":
        return tuple(r for r in re.split(r"[,，、]", value) if r)
    return value


async def add_source(ctx: Context, args: str) -> Reply:
    source = parse_source(ctx, args)
    await ChatSources(ctx.settings, ctx.store).add(ctx.person, source, ctx.now)
    return ctx.reply(
        "sources/added.j2", s=source, section=ctx.settings.section_name(source.section)
    )


def _one_name(command: str, args: str) -> str:
    words = args.split()
    if len(words) != 1:
        problem = "缺少来源名称" if not words else "只写来源名称，名称中没有空格"
        raise _bad(problem, f"{command} <来源名称>", command)
    return words[0]


async def remove_source(ctx: Context, args: str) -> Reply:
    name = _one_name("删除来源", args)
    source = ChatSources(ctx.settings, ctx.store).remove(ctx.person, name, ctx.now)
    return ctx.reply("sources/removed.j2", s=source)


async def pause_source(ctx: Context, args: str) -> Reply:
    name = _one_name("暂停来源", args)
    ChatSources(ctx.settings, ctx.store).set_paused(ctx.person, name, True, ctx.now)
    return ctx.reply("sources/paused.j2", name=name, paused=True)


async def resume_source(ctx: Context, args: str) -> Reply:
    name = _one_name("恢复来源", args)
    ChatSources(ctx.settings, ctx.store).set_paused(ctx.person, name, False, ctx.now)
    return ctx.reply("sources/paused.j2", name=name, paused=False)


COMMANDS = [
    Command("来源", list_sources, aliases=("信息源",)),
    Command("添加来源", add_source, ADMINS, aliases=("新增来源",)),
    Command("删除来源", remove_source, ADMINS),
    Command("暂停来源", pause_source, PAUSERS),
    Command("恢复来源", resume_source, PAUSERS),
]
