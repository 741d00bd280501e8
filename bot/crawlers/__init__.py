"""Crawlers by source kind: `crawler_for(kind)` and the shared `Item`/`Crawler` types.

Each kind lives in its own module (rss, html, json, search); this registry only maps
a `Source.kind` to an instance. Unknown kinds return None, and the scanner reports
them as not supported.
"""

from __future__ import annotations

from bot.crawlers.base import Crawler, Item
from bot.crawlers.html import HtmlCrawler, PageError
from bot.crawlers.json import JsonCrawler, JsonError
from bot.crawlers.rss import FeedError, RssCrawler
from bot.crawlers.search import SearchCrawler

__all__ = ["Crawler", "FeedError", "Item", "JsonError", "PageError", "crawler_for"]

_CRAWLERS: dict[str, Crawler] = {
    crawler.name: crawler
    for crawler in (RssCrawler(), HtmlCrawler(), JsonCrawler(), SearchCrawler())
}


def crawler_for(kind: str) -> Crawler | None:
    """The crawler for a source kind, or None when that kind is not supported."""
    return _CRAWLERS.get(kind)
