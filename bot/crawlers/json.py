"""The ``json`` crawler: list APIs read with the dotted paths configured for a source.

Holds `JsonCrawler`, the pure `parse_json_items` it uses, `JsonError` for bodies that
are not JSON or lack the configured list, and `resolve_path`. ``item`` is the path to
the list (``data.list``, ``data.0.list``; ``""`` or ``.`` for a top-level list);
``title``, ``link``, ``time``, ``summary``, ``reposts``, ``comments`` and ``likes``
are paths inside each entry; times may be Unix seconds/milliseconds or text (read
by `bot.dates`), counts text like ``1.2万``. JSONP bodies (``callback({...})``) are
accepted. Matching is left to the scanner.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Source
from bot.crawlers.base import CrawlContext, CrawlResult, Item
from bot.crawlers.html import absolute_url, crawl_text_listing, parse_count
from bot.crawlers.rss import html_to_text
from bot.dates import parse_date
from bot.http import FetchError

logger = logging.getLogger(__name__)

NOT_JSON = "返回内容不是有效的 JSON"

_MISSING = object()
# `callback({...});` or `/**/cb([...])`: a name, then the JSON in parentheses. Only
# the head is a regex: one spanning the body backtracks cubically on long blank runs.
_JSONP_HEAD = re.compile(r"(?:/\*\*/\s*)?[\w$.]+\s*\(")
_SURROGATES = re.compile("[\ud800-\udfff]")
_TYPE_NAMES = {
    dict: "对象",
    list: "列表",
    str: "文本",
    int: "数字",
    float: "数字",
    bool: "真假值",
    type(None): "空值",
}


class JsonError(FetchError):
    """The download worked but the body is not JSON or lacks the configured list."""


class JsonCrawler:
    """Reads ``kind = "json"`` sources."""

    name = "json"

    async def crawl(self, source: Source, ctx: CrawlContext) -> CrawlResult:
        return await crawl_text_listing(source, ctx, parse_json_items)


def parse_json_items(
    text: str, *, url: str, source: Source, tz: ZoneInfo, now: datetime
) -> list[Item]:
    """Read the entries at `source.item`; raise `JsonError` if the body is not JSON
    or the path does not lead to a list. An empty list gives no items."""
    data = load_json(text)
    entries = resolve_path(data, source.item)
    where = source.item.strip() or "."
    if entries is _MISSING:
        raise JsonError(
            f"JSON 中没有找到条目列表（路径 {where} 不存在），接口可能改版了"
        )
    if not isinstance(entries, list):
        raise JsonError(
            f"JSON 路径 {where} 处不是列表（而是{_type_name(entries)}），"
            "请检查 item 配置"
        )
    items: list[Item] = []
    for entry in entries:
        if not isinstance(entry, dict):
            logger.debug("entry skipped source=%s reason=not_an_object", source.name)
            continue
        title = _text(entry, source.title)
        link = absolute_url(_scalar(entry, source.link), url) if source.link else ""
        if not title or not link:
            logger.debug(
                "entry skipped source=%s reason=%s",
                source.name,
                "no_title" if link else "no_link",
            )
            continue
        items.append(
            Item(
                title=title,
                url=link,
                summary=_text(entry, source.summary),
                published=_published(entry, source.time, now, tz),
                source=source.name,
                reposts=_count(entry, source.reposts),
                comments=_count(entry, source.comments),
                likes=_count(entry, source.likes),
            )
        )
    return items


def load_json(text: str) -> Any:
    """Parse JSON or JSONP text; raise `JsonError` with a Chinese reason."""
    body = text.lstrip("\ufeff").strip()
    if not body:
        raise JsonError(f"{NOT_JSON}（内容为空）")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:  # "[[[[…" nested past the limit
        first_error = exc
    wrapped = _unwrap_jsonp(body)
    if wrapped is not None:
        try:
            return json.loads(wrapped)
        except (ValueError, RecursionError) as exc:
            first_error = exc
    if body.startswith("<"):
        raise JsonError(f"{NOT_JSON}（收到的是网页，可能是错误页或登录页）")
    position = ""
    if isinstance(first_error, json.JSONDecodeError):
        position = f"（第 {first_error.lineno} 行第 {first_error.colno} 列附近出错）"
    raise JsonError(NOT_JSON + position)


def _unwrap_jsonp(body: str) -> str | None:
    """The JSON inside ``name(...)`` or ``name(...);`` (`body` stripped), or None."""
    head = _JSONP_HEAD.match(body)
    if head is None:
        return None
    tail = body.removesuffix(";").rstrip()
    if not tail.endswith(")") or len(tail) <= head.end():
        return None
    return tail[head.end() : -1]


def resolve_path(data: Any, path: str) -> Any:
    """The value at dotted `path` (``data.0.list``); ``""``/``.`` is `data` itself.

    Returns the module's missing marker (not None, which JSON can hold) when a step
    does not exist; compare with `is_missing`.
    """
    path = path.strip()
    if path in ("", "."):
        return data
    current = data
    for step in path.split("."):
        if isinstance(current, dict) and step in current:
            current = current[step]
        elif isinstance(current, list) and _is_index(step):
            index = int(step)
            if not -len(current) <= index < len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def is_missing(value: Any) -> bool:
    """True when `resolve_path` found nothing."""
    return value is _MISSING


def _is_index(step: str) -> bool:
    return step.lstrip("-").isdigit()


def _scalar(entry: dict[str, Any], path: str) -> str:
    if not path:
        return ""
    value = resolve_path(entry, path)
    if value is _MISSING or value is None or isinstance(value, dict | list):
        return ""
    # JSON can escape a lone surrogate ("\ud800"), which lxml and every UTF-8
    # writer after it refuse.
    return _SURROGATES.sub("\ufffd", str(value))


def _text(entry: dict[str, Any], path: str) -> str:
    return html_to_text(_scalar(entry, path))


def _published(
    entry: dict[str, Any], path: str, now: datetime, tz: ZoneInfo
) -> datetime | None:
    if not path:
        return None
    value = resolve_path(entry, path)
    if isinstance(value, str | int | float):
        return parse_date(value, now, tz)
    return None


def _count(entry: dict[str, Any], path: str) -> int | None:
    if not path:
        return None
    value = resolve_path(entry, path)
    return None if value is _MISSING else parse_count(value)


def _type_name(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)
