"""What every crawler receives and returns: `CrawlContext`, `Item`, `CrawlResult`.

A crawler turns one configured `Source` into items. Downloading (limits, retries,
conditional requests, charsets) is left to the `Fetcher` in the context; matching,
deduplication, health and reporting are left to the scanner.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from bot.config import Source

if TYPE_CHECKING:
    from bot.http import FetchResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    """One article found at a source.

    `title` and `summary` are plain text with whitespace collapsed, `url` is absolute,
    `published` is aware and in the configured timezone (None when the source gives
    no usable date), `source` is the configured source name. Engagement counts are
    None where the source does not give them; `content` is the article text when the
    crawler followed the link.
    """

    title: str
    url: str
    summary: str
    published: datetime | None
    source: str
    reposts: int | None = None
    comments: int | None = None
    likes: int | None = None
    content: str = ""


def _always_new(url: str) -> bool:
    return True


class Fetcher(Protocol):
    """Downloads one URL; see `bot.http.HttpFetcher`."""

    async def fetch(
        self, url: str, *, etag: str = "", last_modified: str = ""
    ) -> FetchResult: ...


@dataclass(frozen=True)
class CrawlContext:
    """What a crawler may use for one crawl.

    `terms` are the rule terms a search source asks about; `etag`/`last_modified`
    are the validators remembered from the source's last successful crawl;
    `is_new(url)` tells whether the scanner has not seen that article yet (so a
    crawler fetches article pages only for new items).
    """

    fetcher: Fetcher
    tz: ZoneInfo
    now: datetime
    terms: tuple[str, ...] = ()
    etag: str = ""
    last_modified: str = ""
    is_new: Callable[[str], bool] = _always_new


@dataclass(frozen=True)
class CrawlResult:
    """Items read from a source, plus validators for the next conditional request.

    `not_modified` means the server answered 304: nothing changed, no items.
    """

    items: list[Item] = field(default_factory=list)
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


class Crawler(Protocol):
    """Reads one kind of source (``rss``, ``html`` ...).

    `crawl` raises `bot.http.FetchError` (or a subclass) with a Chinese reason when
    the source cannot be read; it never returns partial garbage.
    """

    name: str

    async def crawl(self, source: Source, ctx: CrawlContext) -> CrawlResult: ...


async def crawl_listing(
    source: Source,
    ctx: CrawlContext,
    parse: Callable[[FetchResult], list[Item]],
) -> CrawlResult:
    """The steps every listing crawler shares: a conditional GET of `source.url`,
    `parse` in a worker thread (parsers are CPU-bound), one log line, validators
    kept for the next crawl. A 304 returns no items and the old validators."""
    result = await ctx.fetcher.fetch(
        source.url, etag=ctx.etag, last_modified=ctx.last_modified
    )
    if result.not_modified:
        return CrawlResult(
            etag=ctx.etag, last_modified=ctx.last_modified, not_modified=True
        )
    started = time.monotonic()
    items = await asyncio.to_thread(parse, result)
    logger.info(
        "parsed source=%s items=%d ms=%d",
        source.name,
        len(items),
        int((time.monotonic() - started) * 1000),
    )
    return CrawlResult(items, result.etag, result.last_modified)
