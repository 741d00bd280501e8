"""The ``search`` crawler: one query per rule term against a search URL with ``{q}``.

Holds `SearchCrawler` and `query_url`. Each term from the context (at most
`MAX_QUERIES` per crawl) is URL-encoded in the source's charset and put in place of
``{q}``; the result page is read by the rss, html or json parser that
``source.format`` names, and the items of all queries are merged, de-duplicated by
URL (news-search redirect links are unwrapped first). A failed query is logged and
skipped; only when every query fails does the crawl fail. Which terms to ask about
is decided by the scanner.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from urllib.parse import parse_qs, quote, urlsplit

from bot.config import Source
from bot.crawlers.base import CrawlContext, CrawlResult, Item
from bot.crawlers.html import NoItemsError, follow_articles, parse_page
from bot.crawlers.json import parse_json_items
from bot.crawlers.rss import parse_feed
from bot.http import FetchError, FetchResult

logger = logging.getLogger(__name__)

MAX_QUERIES = 20

# Hosts whose result links are click trackers carrying the article URL in a param.
_REDIRECTS = {"bing.com": ("/news/apiclick.aspx", "url")}


class SearchCrawler:
    """Reads ``kind = "search"`` sources."""

    name = "search"

    async def crawl(self, source: Source, ctx: CrawlContext) -> CrawlResult:
        terms = list(dict.fromkeys(t.strip() for t in ctx.terms if t.strip()))
        if not terms:
            raise FetchError(
                "没有要搜索的关键词：请在该来源的 rules 中列出规则，"
                "或为其所属科室配置关键词规则"
            )
        if len(terms) > MAX_QUERIES:
            logger.warning(
                "queries capped source=%s terms=%d queries=%d",
                source.name,
                len(terms),
                MAX_QUERIES,
            )
            terms = terms[:MAX_QUERIES]
        started = time.monotonic()
        items: list[Item] = []
        seen: set[str] = set()
        failures: list[str] = []
        empty: list[str] = []
        for term in terms:
            try:
                found = await self._query(source, ctx, term)
            except NoItemsError as exc:
                # No result list on the page: no hits for this term, or a new layout.
                empty.append(exc.reason)
                logger.debug(
                    "query without results source=%s term=%s", source.name, term
                )
                continue
            except FetchError as exc:
                failures.append(exc.reason)
                logger.warning(
                    "query failed source=%s term=%s reason=%s",
                    source.name,
                    term,
                    exc.reason,
                )
                continue
            for item in found:
                if item.url not in seen:
                    seen.add(item.url)
                    items.append(item)
        logger.info(
            "searched source=%s queries=%d failed=%d empty=%d items=%d ms=%d",
            source.name,
            len(terms),
            len(failures),
            len(empty),
            len(items),
            int((time.monotonic() - started) * 1000),
        )
        if len(failures) + len(empty) == len(terms):
            reason = (failures or empty)[0]
            if len(terms) > 1:
                reason = f"{len(terms)} 个关键词的搜索全部失败，如：{reason}"
            raise FetchError(reason)
        if source.content:
            items = await follow_articles(items, source, ctx)
        return CrawlResult(items)

    async def _query(self, source: Source, ctx: CrawlContext, term: str) -> list[Item]:
        url = query_url(source.url, term, source.charset)
        result = await ctx.fetcher.fetch(url)
        items = await asyncio.to_thread(_parse, result, source, ctx)
        logger.debug(
            "query done source=%s term=%s items=%d", source.name, term, len(items)
        )
        return [_unwrapped(item) for item in items]


def query_url(template: str, term: str, charset: str = "") -> str:
    """`template` with ``{q}`` replaced by `term`, percent-encoded in `charset`.

    Raises `FetchError` when the term cannot be written in that charset.
    """
    try:
        encoded = quote(term, safe="", encoding=charset or "utf-8")
    except (UnicodeEncodeError, LookupError):
        raise FetchError(
            f"关键词“{term}”无法用 {charset} 编码，请检查来源的 charset 设置"
        ) from None
    return template.replace("{q}", encoded)


def _parse(result: FetchResult, source: Source, ctx: CrawlContext) -> list[Item]:
    if source.format == "rss":
        return parse_feed(
            result.content,
            url=result.url,
            source=source.name,
            tz=ctx.tz,
            content_type=result.headers.get("content-type"),
            now=ctx.now,
            charset=source.charset,
        )
    text = result.text(source.charset)
    parse = parse_json_items if source.format == "json" else parse_page
    return parse(text, url=result.url, source=source, tz=ctx.tz, now=ctx.now)


def _unwrapped(item: Item) -> Item:
    """`item` with a search engine's click-tracking link replaced by its target."""
    parts = urlsplit(item.url)
    host = (parts.hostname or "").removeprefix("www.").removeprefix("cn.")
    path_and_param = _REDIRECTS.get(host)
    if not path_and_param or parts.path.lower() != path_and_param[0]:
        return item
    target = parse_qs(parts.query).get(path_and_param[1], [""])[0]
    if not target.startswith(("http://", "https://")):
        return item
    return replace(item, url=target)
