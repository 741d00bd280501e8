"""What every crawler receives and returns: `CrawlContext`, `Item`, `CrawlResult`.

A crawler turns one configured `Source` into items. Downloading (limits, retries,
conditional requests, charsets) is left to the `Fetcher` in the context; matching,
deduplication, health and reporting are left to the scanner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from bot.config import Source

if TYPE_CHECKING:
    from bot.http import FetchResult


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
