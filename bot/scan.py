"""One scan: fetch every enabled source, keep new items, match rules, store hits.

Works for whichever crawler kinds are registered in `bot.crawlers`; a source whose
kind has no crawler yet, or that fails, is reported in the scan result and in its
stored state, never fatal to the others. Writes go hit first, then the seen key, so
a crash between the two can repeat a hit but never lose one.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import LEVELS, Rule
from bot.crawlers import Item, crawler_for
from bot.crawlers.base import CrawlContext
from bot.errors import BotError
from bot.models import Hit
from bot.rules import Matcher, compile_expr

if TYPE_CHECKING:
    from bot.config import Settings, Source
    from bot.crawlers.base import Fetcher
    from bot.store import Store

logger = logging.getLogger(__name__)

# Items published longer ago than this never become hits (a new source's backlog).
MAX_ITEM_AGE = timedelta(days=7)
# Seen keys are kept this long; an item older than MAX_ITEM_AGE that reappears after
# its key expired is read again but, being old, still makes no hit.
SEEN_RETENTION = timedelta(days=60)


@dataclass(frozen=True)
class SourceReport:
    """How one source fared in a scan."""

    name: str
    ok: bool
    items: int = 0
    new_items: int = 0
    hits: int = 0
    error: str = ""
    ms: int = 0


@dataclass(frozen=True)
class ScanReport:
    hits: list[Hit]
    sources: list[SourceReport]


@dataclass(frozen=True)
class CompiledRule:
    rule: Rule
    matcher: Matcher


def active_rules(settings: Settings, store: Store) -> list[CompiledRule]:
    """Config rules plus chat-added ones, most severe level first."""
    rules = list(settings.rules)
    for raw in store.rules.all():
        rules.append(
            Rule(
                name=raw["name"],
                section=raw["section"],
                expr=raw["expr"],
                level=raw.get("level", "一般"),
            )
        )
    rules.sort(key=lambda r: LEVELS.index(r.level), reverse=True)
    return [CompiledRule(r, compile_expr(r.expression)) for r in rules]


def seen_key(item: Item) -> str:
    """A stable key for an item: its URL without fragment, else its title."""
    basis = item.url.split("#", 1)[0].strip() or f"title:{item.title.strip()}"
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()


async def scan_all(
    settings: Settings, store: Store, fetcher: Fetcher, now: datetime
) -> ScanReport:
    """Scan every enabled source once, concurrently."""
    rules = active_rules(settings, store)
    sources = [s for s in settings.sources if s.enabled]
    results = await asyncio.gather(
        *(scan_source(s, rules, store, fetcher, now, settings) for s in sources)
    )
    hits = [hit for _, found in results for hit in found]
    return ScanReport(hits, [report for report, _ in results])


async def scan_source(
    source: Source,
    rules: list[CompiledRule],
    store: Store,
    fetcher: Fetcher,
    now: datetime,
    settings: Settings,
) -> tuple[SourceReport, list[Hit]]:
    """Scan one source; failures become a report, not an exception."""
    started = time.perf_counter()
    state = store.sources.get(source.name)
    crawler = crawler_for(source.kind)
    try:
        if crawler is None:
            raise BotError(f"暂不支持“{source.kind}”类型的来源")
        ctx = CrawlContext(
            fetcher,
            settings.tz,
            now,
            terms=_terms_for(source, rules),
            etag=state.etag,
            last_modified=state.last_modified,
        )
        crawled = await crawler.crawl(source, ctx)
        items = crawled.items
    except BotError as exc:
        store.sources.put(
            replace(
                state,
                last_attempt=now,
                consecutive_failures=state.consecutive_failures + 1,
                last_error=str(exc),
            )
        )
        ms = int((time.perf_counter() - started) * 1000)
        logger.warning(
            "source failed source=%s failures=%d ms=%d error=%s",
            source.name,
            state.consecutive_failures + 1,
            ms,
            exc,
        )
        return SourceReport(source.name, False, error=str(exc), ms=ms), []

    section_rules = [r for r in rules if r.rule.section == source.section]
    new_items = 0
    hits: list[Hit] = []
    for item in items:
        key = seen_key(item)
        if store.seen.has(key):
            continue
        new_items += 1
        hit = _match(item, source, section_rules, now)
        if hit is not None:
            hits.append(store.hits.add(hit))
        store.seen.add(key, now)

    store.sources.put(
        replace(
            state,
            last_attempt=now,
            last_success=now,
            consecutive_failures=0,
            last_error="",
            items_seen=state.items_seen + new_items,
            etag=crawled.etag,
            last_modified=crawled.last_modified,
        )
    )
    ms = int((time.perf_counter() - started) * 1000)
    logger.info(
        "source scanned source=%s items=%d new=%d hits=%d ms=%d",
        source.name,
        len(items),
        new_items,
        len(hits),
        ms,
    )
    return SourceReport(
        source.name, True, len(items), new_items, len(hits), "", ms
    ), hits


def _terms_for(source: Source, rules: list[CompiledRule]) -> tuple[str, ...]:
    """The terms a search source asks about: its named rules, else its section's."""
    chosen = [
        r
        for r in rules
        if (r.rule.name in source.rules)
        or (not source.rules and r.rule.section == source.section)
    ]
    return tuple(dict.fromkeys(t for r in chosen for t in r.matcher.terms()))


def _match(
    item: Item, source: Source, rules: list[CompiledRule], now: datetime
) -> Hit | None:
    if item.published is not None and now - item.published > MAX_ITEM_AGE:
        return None
    text = f"{item.title}\n{item.summary}"
    for compiled in rules:
        if compiled.matcher.matches(text):
            return Hit(
                title=item.title,
                url=item.url,
                source=source.name,
                section=source.section,
                rule=compiled.rule.name,
                level=compiled.rule.level,
                found_at=now,
                summary=item.summary[:500],
                published=item.published,
            )
    return None
