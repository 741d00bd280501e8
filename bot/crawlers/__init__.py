"""Crawlers by source kind: `crawler_for(kind)` and the shared `Item`/`Crawler` types.

Each kind lives in its own module; this registry only maps a `Source.kind` to an
instance. Kinds without a crawler yet return None, and the scanner reports them as
not yet supported.
"""

from __future__ import annotations

from bot.crawlers.base import Crawler, Item
from bot.crawlers.rss import FeedError, RssCrawler

__all__ = ["Crawler", "FeedError", "Item", "crawler_for"]

# TODO(#3): register the html, json and search crawlers here.
_CRAWLERS: dict[str, Crawler] = {crawler.name: crawler for crawler in (RssCrawler(),)}


def crawler_for(kind: str) -> Crawler | None:
    """The crawler for a source kind, or None when that kind is not supported yet."""
    return _CRAWLERS.get(kind)
