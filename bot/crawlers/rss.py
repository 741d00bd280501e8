"""The ``rss`` crawler: RSS 0.9x/1.0/2.0 and Atom feeds read with feedparser.

Holds `RssCrawler`, the pure `parse_feed` it uses and `FeedError` for bodies that are
not feeds. The body is downloaded by the context's fetcher, decoded by `bot.charset`
and handed to feedparser as a UTF-8 stream, so feedparser never opens URLs or files
itself. Titles and summaries become plain text; links are made absolute against the
feed's final URL; dates are converted to the configured timezone (dates written
without a zone are taken as local time, which is what Chinese sites mean; dates
feedparser cannot read go to `bot.dates`). Matching and deduplication are left to
the scanner.
"""

from __future__ import annotations

import io
import logging
import re
import time
from datetime import UTC, datetime
from email.message import Message
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
from lxml import etree
from parsel import Selector

from bot.charset import decode
from bot.config import Source
from bot.crawlers.base import CrawlContext, CrawlResult, Item, crawl_listing
from bot.dates import parse_date
from bot.http import FetchError
from bot.urls import web_url

logger = logging.getLogger(__name__)

NOT_A_FEED = "不是有效的 RSS/Atom 订阅源"
BROKEN_FEED = "订阅源格式有误或内容不完整，没有读出任何条目"

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_SKIPPED_TAGS = {"script", "style", "template", "noscript"}
_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
    "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
}  # fmt: skip

_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_UTF8_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'

# A date string ending in a numeric offset or a zone name ("Z", "GMT", "EST").
_HAS_ZONE = re.compile(r"(?:[+-]\d{2}:?\d{2}|[A-Za-z]{1,5})\s*$")


class FeedError(FetchError):
    """The download worked but the body is not an RSS/Atom feed."""


class RssCrawler:
    """Reads ``kind = "rss"`` sources (RSS and Atom alike)."""

    name = "rss"

    async def crawl(self, source: Source, ctx: CrawlContext) -> CrawlResult:
        return await crawl_listing(
            source,
            ctx,
            lambda result: parse_feed(
                result.content,
                url=result.url,
                source=source.name,
                tz=ctx.tz,
                content_type=result.headers.get("content-type"),
                now=ctx.now,
                charset=source.charset,
            ),
        )


def parse_feed(
    content: bytes,
    *,
    url: str,
    source: str,
    tz: ZoneInfo,
    content_type: str | None = None,
    now: datetime | None = None,
    charset: str = "",
) -> list[Item]:
    """Turn a downloaded feed into items; raise `FeedError` if it is not a feed.

    `url` is the feed's address after redirects (the base for relative links),
    `content_type` the HTTP header, whose charset `bot.charset` weighs against the
    XML declaration and the bytes; `charset` (the source's configured one) wins over
    both. `now` anchors relative dates ("3小时前"), default the current time.
    """
    now = now or datetime.now(tz)
    if not content.strip():
        raise FeedError(f"{NOT_A_FEED}（内容为空）")
    headers = {"content-location": url}
    body = _as_utf8(content, content_type, charset)
    if content_type:
        headers["content-type"] = _utf8_type(content_type)
    # We turn markup into plain text ourselves and resolve links against the final
    # URL, so feedparser's HTML sanitiser and URI rewriting (most of its cost) are off.
    try:
        parsed = feedparser.parse(
            io.BytesIO(body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except ValueError as exc:
        # feedparser's fallback parser encodes "&#55296;" (a lone surrogate) as
        # UTF-8 and fails with UnicodeEncodeError.
        raise FeedError(f"{BROKEN_FEED}（{type(exc).__name__}）") from None
    entries = parsed.get("entries") or []
    if not parsed.get("version") and not entries:
        hint = (
            "（收到的是网页，可能是错误页或登录页）"
            if _looks_like_html(content)
            else ""
        )
        raise FeedError(NOT_A_FEED + hint)
    if parsed.get("bozo"):
        logger.debug(
            "feed not well-formed source=%s version=%s entries=%d error=%s",
            source,
            parsed.get("version") or "?",
            len(entries),
            parsed.get("bozo_exception"),
        )
    items: list[Item] = []
    for entry in entries:
        link = _link(entry, url)
        if not link:
            logger.debug("entry skipped source=%s reason=no_link", source)
            continue
        summary = _plain(entry.get("summary_detail"))
        if not summary and entry.get("content"):
            summary = _plain(entry["content"][0])
        items.append(
            Item(
                title=_plain(entry.get("title_detail")),
                url=link,
                summary=summary,
                published=_published(entry, tz, now),
                source=source,
            )
        )
    if parsed.get("bozo") and not items:
        # A feed cut off mid-item parses to nothing: a failure, not a quiet source.
        raise FeedError(f"{BROKEN_FEED}（{parsed.get('bozo_exception')}）")
    return items


def _as_utf8(content: bytes, content_type: str | None, charset: str) -> bytes:
    """The feed re-encoded as UTF-8, its XML declaration saying so.

    feedparser believes the declared charset and, when the bytes contradict it,
    falls back to windows-1252: a GBK feed labelled UTF-8 (common on Chinese sites)
    came out as mojibake no rule could match. `bot.charset` checks labels against
    the bytes, as it does for html and json sources.
    """
    header = Message()
    header["content-type"] = content_type or ""
    declared = header.get_content_charset()  # charset="x" too; 'x' is kept quoted
    text = decode(content, declared and declared.strip("'"), forced=charset)
    body = _UTF8_DECLARATION + _XML_DECLARATION.sub("", text, count=1)
    return body.encode("utf-8", errors="replace")


def _utf8_type(content_type: str) -> str:
    """`content_type` with its charset parameter (if any) replaced by utf-8."""
    mime = content_type.split(";", 1)[0].strip()
    return f"{mime}; charset=utf-8" if mime else "application/xml; charset=utf-8"


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment, whitespace collapsed.

    Inline tags join without a space (``国家<b>税务</b>总局`` stays one word, which
    keyword rules rely on); block tags and ``<br>`` separate words.
    """
    if "<" not in markup and "&" not in markup:
        return " ".join(markup.split())
    parts: list[str] = []
    skipping = 0
    for event, element in etree.iterwalk(
        Selector(text=markup).root, events=("start", "end")
    ):
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if event == "start":
            if tag in _SKIPPED_TAGS:
                skipping += 1
            if skipping:
                continue
            if tag in _BLOCK_TAGS:
                parts.append(" ")
            if tag and element.text:
                parts.append(element.text)
        else:
            if tag in _SKIPPED_TAGS:
                skipping -= 1
            if skipping:
                continue
            if tag in _BLOCK_TAGS:
                parts.append(" ")
            if element.tail:
                parts.append(element.tail)
    return " ".join("".join(parts).split())


def _plain(detail: dict[str, Any] | None) -> str:
    if not detail:
        return ""
    value = detail.get("value") or ""
    if detail.get("type") in _HTML_TYPES:
        return html_to_text(value)
    return " ".join(value.split())


def _link(entry: dict[str, Any], base: str) -> str:
    for candidate in (entry.get("link"), entry.get("id")):
        if not candidate:
            continue
        absolute = web_url(candidate, base)
        if absolute:
            return absolute
    return ""


def _published(entry: dict[str, Any], tz: ZoneInfo, now: datetime) -> datetime | None:
    for key in ("published", "updated", "created"):
        # dict.get: feedparser's own get maps a missing "updated" to "published"
        # with a DeprecationWarning.
        raw = dict.get(entry, key)
        if not raw:
            continue
        when = _parse_date(raw, dict.get(entry, f"{key}_parsed"), tz, now)
        if when is not None:
            return when
    return None


def _parse_date(
    raw: str, parsed: time.struct_time | None, tz: ZoneInfo, now: datetime
) -> datetime | None:
    if parsed and _HAS_ZONE.search(raw):
        return datetime(*parsed[:6], tzinfo=UTC).astimezone(tz)
    # No zone written: feedparser would have read it as UTC, bot.dates as local.
    when = parse_date(raw, now, tz)
    if when is None and parsed:
        when = datetime(*parsed[:6], tzinfo=tz)
    return when


def _looks_like_html(content: bytes) -> bool:
    head = content[:2048].lower()
    return b"<html" in head or b"<!doctype html" in head
