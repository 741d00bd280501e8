"""What every crawler returns and promises: the `Item` record, the `Crawler` protocol.

A crawler turns one configured `Source` into a list of items. Matching items against
rules, remembering what was seen and reporting failures are left to the scanner;
downloading is left to `bot.http`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

import httpx

from bot.config import Source


@dataclass(frozen=True)
class Item:
    """One article found at a source.

    `title` and `summary` are plain text with whitespace collapsed, `url` is absolute,
    `published` is aware and in the configured timezone (None when the source gives
    no usable date), `source` is the configured source name.
    """

    title: str
    url: str
    summary: str
    published: datetime | None
    source: str


class Crawler(Protocol):
    """Reads one kind of source (``rss``, ``html`` ...).

    `fetch_items` raises `bot.http.FetchError` (or a subclass) with a Chinese reason
    when the source cannot be read; it never returns partial garbage.
    """

    name: str

    async def fetch_items(
        self, source: Source, client: httpx.AsyncClient, tz: ZoneInfo
    ) -> list[Item]: ...
