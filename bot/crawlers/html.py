"""The ``html`` crawler: list pages read with the selectors configured for a source.

Holds `HtmlCrawler`, the pure `parse_page` and `extract_content` it uses, `PageError`
(and `NoItemsError`) for pages that do not hold what the selectors expect,
`follow_articles`, and the helpers the json and search crawlers share:
`parse_count` and `absolute_url`. Bodies are decoded by `FetchResult.text` and
dates read by `bot.dates.parse_date`.

Selectors are CSS, or XPath when they start with ``/``, ``./`` or ``(``; parsel's
``::text`` and ``::attr(name)`` work. ``title``, ``link``, ``time`` and ``summary``
are evaluated inside each node that ``item`` selects. Downloading is left to the
context's fetcher; matching, deduplication and health to the scanner.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from cssselect import SelectorError
from parsel import Selector, SelectorList

from bot.config import Source
from bot.crawlers.base import CrawlContext, CrawlResult, Item, crawl_listing
from bot.crawlers.rss import html_to_text
from bot.dates import parse_date
from bot.http import FetchError
from bot.urls import web_url

logger = logging.getLogger(__name__)

MAX_CONTENT_CHARS = 20_000
MAX_ARTICLES = 20  # article pages followed per crawl when `content` is configured

_XPATH_STARTS = ("/", "./", "(")
_COUNT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*([万亿wWkK千百]?)\+?$")
_COUNT_UNITS = {
    "": 1,
    "百": 100,
    "千": 1_000,
    "k": 1_000,
    "K": 1_000,
    "万": 10_000,
    "w": 10_000,
    "W": 10_000,
    "亿": 100_000_000,
}


class PageError(FetchError):
    """The page downloaded but does not hold items the selectors can read."""


class NoItemsError(PageError):
    """The `item` selector matched nothing: a changed site, or no search results."""


class HtmlCrawler:
    """Reads ``kind = "html"`` sources: one list page, optionally each article."""

    name = "html"

    async def crawl(self, source: Source, ctx: CrawlContext) -> CrawlResult:
        return await crawl_text_listing(source, ctx, parse_page)


TextParser = Callable[..., list[Item]]


async def crawl_text_listing(
    source: Source, ctx: CrawlContext, parse: TextParser
) -> CrawlResult:
    """A listing decoded as text (``html``, ``json``), then the new articles followed
    when `source.content` asks for them."""
    listing = await crawl_listing(
        source,
        ctx,
        lambda result: parse(
            result.text(source.charset),
            url=result.url,
            source=source,
            tz=ctx.tz,
            now=ctx.now,
        ),
    )
    if source.content and listing.items:
        items = await follow_articles(listing.items, source, ctx)
        return replace(listing, items=items)
    return listing


def parse_page(
    text: str, *, url: str, source: Source, tz: ZoneInfo, now: datetime
) -> list[Item]:
    """Read the items of a list page; raise `PageError` when there are none.

    `url` is the page's address after redirects (the base for relative links).
    Items without a title or a link are skipped; if every matched node is skipped,
    or `source.item` matches nothing, the page counts as changed.
    """
    nodes = _select(Selector(text=text.replace("\x00", "")), source.item)
    if not nodes:
        raise NoItemsError(
            f"页面中没有找到条目（选择器 {source.item} 未匹配），网站可能改版了"
        )
    items: list[Item] = []
    seen: set[str] = set()
    for node in nodes:
        link, anchor = _link(node, source.link, url)
        title = _text(node, source.title) if source.title else _anchor_text(anchor)
        if not title or not link:
            logger.debug(
                "item skipped source=%s reason=%s",
                source.name,
                "no_title" if link else "no_link",
            )
            continue
        if link in seen:
            continue
        seen.add(link)
        items.append(
            Item(
                title=title,
                url=link,
                summary=_text(node, source.summary) if source.summary else "",
                published=parse_date(_text(node, source.time), now, tz)
                if source.time
                else None,
                source=source.name,
                reposts=_count(node, source.reposts),
                comments=_count(node, source.comments),
                likes=_count(node, source.likes),
            )
        )
    if not items:
        raise PageError(
            f"找到 {len(nodes)} 个条目，但都读不出标题或链接"
            "（请检查 title/link 选择器），网站可能改版了"
        )
    return items


def extract_content(text: str, selector: str) -> str:
    """Plain text of the first node `selector` matches on an article page, capped
    at `MAX_CONTENT_CHARS`; "" when nothing matches."""
    found = _select(Selector(text=text.replace("\x00", "")), selector)
    return _value_text(found[0])[:MAX_CONTENT_CHARS] if found else ""


async def follow_articles(
    items: list[Item], source: Source, ctx: CrawlContext
) -> list[Item]:
    """Fill `Item.content` from each new item's page, one download at a time.

    Items the scanner has seen before are not fetched again. At most
    `MAX_ARTICLES` pages are followed; a page that cannot be downloaded or
    read keeps its item without content and never fails the crawl.
    """
    fresh = [item for item in items if ctx.is_new(item.url)]
    if len(fresh) > MAX_ARTICLES:
        logger.info(
            "articles capped source=%s new=%d followed=%d",
            source.name,
            len(fresh),
            MAX_ARTICLES,
        )
    to_follow = {id(item) for item in fresh[:MAX_ARTICLES]}
    followed: list[Item] = []
    for item in items:
        if id(item) not in to_follow:
            followed.append(item)
            continue
        try:
            page = await ctx.fetcher.fetch(item.url)
            content = await asyncio.to_thread(
                extract_content, page.text(source.charset), source.content
            )
        except FetchError as exc:
            logger.warning(
                "article not read source=%s host=%s reason=%s",
                source.name,
                urlsplit(item.url).hostname,
                exc.reason,
            )
            followed.append(item)
            continue
        if not content:
            logger.warning(
                "article content not found source=%s host=%s selector=%s",
                source.name,
                urlsplit(item.url).hostname,
                source.content,
            )
        followed.append(replace(item, content=content))
    return followed


def parse_count(value: object) -> int | None:
    """An engagement count: ``12``, ``"1,024"``, ``"1.2万"`` (12000), ``"3k"``."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value) if math.isfinite(value) and value >= 0 else None
    text = str(value).strip().replace(",", "").replace("，", "")
    match = _COUNT.match(text)
    if not match:
        return None
    count = float(match[1]) * _COUNT_UNITS[match[2]]
    return int(count) if math.isfinite(count) else None  # "9999…9万" is inf


def absolute_url(link: str, base: str) -> str:
    """`link` made absolute against `base`; "" unless it is an http(s) URL."""
    return web_url(link, base)


def _select(node: Selector, expr: str) -> SelectorList[Selector]:
    expr = expr.strip()
    try:
        if expr.startswith(_XPATH_STARTS):
            return node.xpath(expr)
        return node.css(expr)
    except (ValueError, SelectorError) as exc:
        raise PageError(f"选择器 {expr} 写法有误（{exc}），请检查配置") from None


def _value_text(found: Selector) -> str:
    """Text of a selected element (tags stripped), attribute or text node."""
    if isinstance(found.root, str):
        return " ".join(found.root.split())
    return html_to_text(found.get())


def _text(node: Selector, expr: str) -> str:
    for found in _select(node, expr):
        text = _value_text(found)
        if text:
            return text
    return ""


def _link(node: Selector, expr: str, base: str) -> tuple[str, Selector | None]:
    """The item's absolute link, and the anchor it came from (for a default title)."""
    if not expr:
        anchors = node.xpath("descendant-or-self::a[@href]")
        if not anchors:
            return "", None
        return absolute_url(anchors[0].attrib["href"], base), anchors[0]
    for found in _select(node, expr):
        if isinstance(found.root, str):
            href = found.root
        else:
            anchors = found.xpath("descendant-or-self::a[@href]")
            href = anchors[0].attrib["href"] if anchors else ""
        link = absolute_url(href, base)
        if link:
            return link, None
    return "", None


def _anchor_text(anchor: Selector | None) -> str:
    if anchor is None:
        return ""
    return _value_text(anchor) or " ".join(anchor.attrib.get("title", "").split())


def _count(node: Selector, expr: str) -> int | None:
    return parse_count(_text(node, expr)) if expr else None
