"""One scan: crawl each source, keep what is new, match rules, score, store hits.

Sources and rules come from config.toml and from chat (`all_sources`, `all_rules`);
a source paused in chat is skipped. For every item: its canonical URL decides
whether it was seen before; every new item is archived for 测试关键词; the
section's rules decide whether it is a hit; a similarity fingerprint decides
whether it is a repost of a recent hit (then it only adds a copy to that hit). Risk
is scored with reasons. Writes go hits first, then the archive, then the seen
keys, so a crash between them can repeat a hit but never lose one. A failing
source is reported and counted in its health state, never fatal to the others.
Messages are left to `bot.notify`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import health
from bot.config import LEVELS, Rule, Source, parse_duration
from bot.crawlers import Item, crawler_for
from bot.crawlers.base import CrawlContext
from bot.errors import BotError
from bot.http import public_addresses_only
from bot.matching import RuleSet, tokenize
from bot.models import ArchivedItem, Hit, HitCopy
from bot.risk import GROWTH_HOURS, LEXICON_DIR, Lexicon, assess
from bot.rules import Match, Matcher, compile_expr
from bot.similar import ClusterIndex, simhash
from bot.urls import canonical

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.crawlers.base import Fetcher
    from bot.models import SourceState
    from bot.store import Store

logger = logging.getLogger(__name__)

MAX_COPIES_KEPT = 50
# A hit keeps this much of an item's summary, and its fingerprint and risk score
# read no more: jieba segments about 300,000 characters a second, in the event
# loop, so a page with a megabyte-long summary stalled every chat for seconds.
HIT_SUMMARY_CHARS = 500
# Longer "titles" are pages the selectors misread (an unclosed <a> swallows the
# list); each would become hundreds of chat messages once split to WeCom's limit.
MAX_TITLE_CHARS = 300


@dataclass(frozen=True)
class SourceReport:
    """How one source fared in a scan."""

    name: str
    ok: bool
    items: int = 0
    new_items: int = 0
    hits: int = 0
    copies: int = 0
    error: str = ""
    ms: int = 0
    paused: bool = False  # skipped: paused in chat (暂停来源)


@dataclass
class ScanReport:
    """Everything one scan produced."""

    hits: list[Hit] = field(default_factory=list)
    grown: list[Hit] = field(default_factory=list)
    sources: list[SourceReport] = field(default_factory=list)
    events: list[health.HealthEvent] = field(default_factory=list)

    def merge(self, other: ScanReport) -> None:
        self.hits += other.hits
        self.grown += other.grown
        self.sources += other.sources
        self.events += other.events


def all_rules(settings: Settings, store: Store) -> list[Rule]:
    """Config rules plus chat-added ones, most severe level first.

    A chat rule whose name was later also given to a config rule is left out:
    the config file wins.
    """
    rules = list(settings.rules)
    configured = {r.name for r in rules}
    for raw in store.rules.all():
        if raw["name"] in configured:
            continue
        rules.append(
            Rule(
                name=raw["name"],
                section=raw["section"],
                expr=raw["expr"],
                level=raw.get("level", "一般"),
            )
        )
    rules.sort(key=lambda r: LEVELS.index(r.level), reverse=True)
    return rules


def all_sources(settings: Settings, store: Store) -> list[Source]:
    """Config sources, then the sources added in chat, in the order added (a chat
    source whose name was later also given to a config source is left out)."""
    names = {f.name for f in fields(Source)}
    configured = {s.name for s in settings.sources}
    chat = [
        Source(**{k: _field_value(v) for k, v in doc.items() if k in names})
        for doc in store.chat_sources.all()
        if doc["name"] not in configured
    ]
    return [*settings.sources, *chat]


def _field_value(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def seen_key(item: Item) -> str:
    """A stable key for an item: its canonical URL, else its title."""
    return url_key(item.url) if item.url else _key(f"title:{item.title.strip()}")


def url_key(url: str) -> str:
    """The seen key of the article at `url`."""
    return _key(canonical(url))


def _key(basis: str) -> str:
    return hashlib.sha1(basis.encode("utf-8")).hexdigest()


class Scanner:
    """Scans sources with compiled rules, a lexicon and recent clusters.

    Rules are recompiled only when they change (config or chat); the cluster
    index is loaded from the store on first use and kept up to date.
    """

    def __init__(
        self, settings: Settings, store: Store, lexicon: Lexicon | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.lexicon = lexicon or Lexicon.load(settings.lexicon_dir or LEXICON_DIR)
        self._max_age = parse_duration(settings.scan.max_item_age)
        self._rules_key: tuple[tuple[str, str, str, str], ...] = ()
        self._rules: dict[str, Rule] = {}
        self._compiled: dict[str, Matcher] = {}
        self._by_section: dict[str, RuleSet] = {}
        self._clusters: ClusterIndex | None = None
        self._extra_words: list[str] = []

    def sources(self) -> list[Source]:
        """Every source, from config and from chat (`all_sources`)."""
        return all_sources(self.settings, self.store)

    async def scan_all(self, fetcher: Fetcher, now: datetime) -> ScanReport:
        """Scan every enabled source once, concurrently."""
        self._refresh_rules()
        sources = [s for s in self.sources() if s.enabled]
        scans = (self.scan(s, fetcher, now, refresh=False) for s in sources)
        results = await asyncio.gather(*scans)
        report = ScanReport()
        for result in results:
            report.merge(result)
        return report

    async def scan(
        self, source: Source, fetcher: Fetcher, now: datetime, refresh: bool = True
    ) -> ScanReport:
        """Scan one source; a failure becomes a report and a health state.

        `refresh` re-reads the rules first (chat may have changed them); `scan_all`
        does that once for all its sources.
        """
        started = time.perf_counter()
        if refresh:
            self._refresh_rules()
        state = self.store.sources.get(source.name)
        if state.paused:
            logger.info("source paused, skipped source=%s", source.name)
            return ScanReport(sources=[SourceReport(source.name, True, paused=True)])
        clusters = self._cluster_index(now)
        try:
            crawler = crawler_for(source.kind)
            if crawler is None:
                raise BotError(f"暂不支持“{source.kind}”类型的来源")
            ctx = CrawlContext(
                fetcher,
                self.settings.tz,
                now,
                terms=self._terms_for(source),
                etag=state.etag,
                last_modified=state.last_modified,
                is_new=lambda url: not self.store.seen.has(url_key(url)),
            )
            with public_addresses_only(self._is_guarded(source)):
                crawled = await crawler.crawl(source, ctx)
        except BotError as exc:
            return self._failed(source, state, now, str(exc), started)
        except Exception:
            # Boundary of one source: a page we failed to foresee must not stop
            # the other sources, and it counts in this source's health.
            logger.exception("source crawl crashed source=%s", source.name)
            error = "读取时出现意外错误，已记入日志，请管理员查看"
            return self._failed(source, state, now, error, started)

        report = ScanReport()
        fresh: dict[str, None] = {}
        archived: list[ArchivedItem] = []
        for item in map(_bounded, crawled.items):
            key = seen_key(item)
            if key in fresh or self.store.seen.has(key):
                continue
            fresh[key] = None
            archived.append(_archived(item, source, now))
            self._consider(item, source, now, clusters, report)
        # One durable write each for the whole page, after its hits are stored.
        self.store.items.add_many(archived)
        self.store.seen.add_many(fresh, now)
        new_items = len(fresh)

        state, event = health.after_success(state, now, new_items, source.silence_limit)
        if not crawled.not_modified:
            state = replace(
                state, etag=crawled.etag, last_modified=crawled.last_modified
            )
        self._save_state(state)
        report.events += [event] if event else []
        ms = int((time.perf_counter() - started) * 1000)
        report.sources.append(
            SourceReport(
                source.name,
                True,
                len(crawled.items),
                new_items,
                len(report.hits),
                len(report.grown),
                "",
                ms,
            )
        )
        logger.info(
            "source scanned source=%s items=%d new=%d hits=%d copies=%d ms=%d",
            source.name,
            len(crawled.items),
            new_items,
            len(report.hits),
            len(report.grown),
            ms,
        )
        return report

    def _consider(
        self,
        item: Item,
        source: Source,
        now: datetime,
        clusters: ClusterIndex,
        report: ScanReport,
    ) -> None:
        """Turn one new item into a hit, a copy of a hit, or nothing."""
        if item.published is not None and now - item.published > self._max_age:
            return
        ruleset = self._by_section.get(source.section)
        body = "\n".join(p for p in (item.summary, item.content) if p)
        found = ruleset.match(item.title, body) if ruleset else []
        if not found:
            return
        rule = self._rules[found[0][0]]
        matched = _matched_words(found[0][1], item.title, body)
        lead = item.summary[:HIT_SUMMARY_CHARS]
        tokens = tokenize(f"{item.title}\n{lead}", self._extra_words)
        fingerprint = simhash(tokens)

        primary_id = clusters.find(fingerprint, source.section, now)
        primary = self.store.hits.get(primary_id) if primary_id else None
        if primary is not None:
            report.grown.append(self._add_copy(primary, item, source, now, tokens))
            return

        verdict = assess(
            tokens,
            self.lexicon,
            rule_level=rule.level,
            source_weight=source.weight,
            reposts=item.reposts,
            comments=item.comments,
            likes=item.likes,
        )
        hit = self.store.hits.add(
            Hit(
                title=item.title,
                url=item.url,
                source=source.name,
                section=source.section,
                rule=rule.name,
                level=verdict.level,
                found_at=now,
                summary=(item.summary or item.content)[:HIT_SUMMARY_CHARS],
                published=item.published,
                matched=matched,
                score=verdict.score,
                reasons=verdict.reasons,
                fingerprint=fingerprint,
                canonical_url=canonical(item.url) if item.url else "",
                reposts=item.reposts,
                comments=item.comments,
                likes=item.likes,
                announced=False,
            )
        )
        clusters.add(fingerprint, hit.id, hit.section, now)
        report.hits.append(hit)

    def _add_copy(
        self, hit: Hit, item: Item, source: Source, now: datetime, tokens: list[str]
    ) -> Hit:
        """Record `item` as another copy of `hit` and rescore it."""
        copy = HitCopy(source=source.name, url=item.url, title=item.title, at=now)
        count = hit.copy_count + 1
        copies = (*hit.copies, copy)[-MAX_COPIES_KEPT:]
        since = now - timedelta(hours=GROWTH_HOURS)
        recent = sum(1 for c in copies if c.at >= since)
        rule = self._rules.get(hit.rule)
        verdict = assess(
            tokenize(f"{hit.title}\n{hit.summary}", self._extra_words),
            self.lexicon,
            rule_level=rule.level if rule else "一般",
            source_weight=source.weight,
            reposts=hit.reposts,
            comments=hit.comments,
            likes=hit.likes,
            copies=count,
            recent_copies=recent,
        )
        grown = replace(
            hit,
            copies=copies,
            copy_count=count,
            score=verdict.score,
            level=verdict.level,
            reasons=verdict.reasons,
        )
        self.store.hits.save(grown)
        logger.info(
            "copy folded hit=%s source=%s copies=%d", hit.id, source.name, count
        )
        return grown

    def _failed(
        self,
        source: Source,
        state: SourceState,
        now: datetime,
        error: str,
        started: float,
    ) -> ScanReport:
        threshold = self.settings.scan.failures_before_alert
        state, event = health.after_failure(state, now, error, threshold)
        self._save_state(state)
        ms = int((time.perf_counter() - started) * 1000)
        logger.warning(
            "source failed source=%s failures=%d ms=%d error=%s",
            source.name,
            state.consecutive_failures,
            ms,
            error,
        )
        report = ScanReport(
            sources=[SourceReport(source.name, False, error=error, ms=ms)]
        )
        report.events += [event] if event else []
        return report

    def _is_guarded(self, source: Source) -> bool:
        """Whether every request for `source` must go to a public address: it was
        added in chat, and ``[scan] allow_private_sources`` is off."""
        if self.settings.scan.allow_private_sources:
            return False
        if any(s.name == source.name for s in self.settings.sources):
            return False  # the config file wins over a chat source of that name
        return self.store.chat_sources.get(source.name) is not None

    def _save_state(self, state: SourceState) -> None:
        """Store a scan's outcome, keeping a pause set in chat while it crawled."""
        current = self.store.sources.get(state.name)
        self.store.sources.put(
            replace(
                state,
                paused=current.paused,
                paused_by=current.paused_by,
                paused_at=current.paused_at,
            )
        )

    def _refresh_rules(self) -> None:
        rules = all_rules(self.settings, self.store)
        key = tuple((r.name, r.expression, r.section, r.level) for r in rules)
        if key == self._rules_key:
            return
        self._rules_key = key
        self._rules = {r.name: r for r in rules}
        compiled = {r.name: compile_expr(r.expression) for r in rules}
        self._compiled = compiled
        sections = {r.section for r in rules}
        self._by_section = {
            s: RuleSet([(r.name, compiled[r.name]) for r in rules if r.section == s])
            for s in sections
        }
        terms = [t for m in compiled.values() for t in m.terms()]
        self._extra_words = list(dict.fromkeys([*terms, *self.lexicon.words()]))

    def _terms_for(self, source: Source) -> tuple[str, ...]:
        """The terms a search source asks about: its named rules, else its section's."""
        if source.kind != "search":
            return ()
        chosen = [
            name
            for name, r in self._rules.items()
            if name in source.rules
            or (not source.rules and r.section == source.section)
        ]
        terms = (t for name in chosen for t in self._compiled[name].terms())
        return tuple(dict.fromkeys(terms))

    def _cluster_index(self, now: datetime) -> ClusterIndex:
        if self._clusters is None:
            self._clusters = ClusterIndex()
            for hit in reversed(self.store.hits.since(now - self._clusters.window)):
                self._clusters.add(hit.fingerprint, hit.id, hit.section, hit.found_at)
        return self._clusters


def _bounded(item: Item) -> Item:
    """`item` with its title cut to `MAX_TITLE_CHARS` (an ellipsis marks the cut)."""
    if len(item.title) <= MAX_TITLE_CHARS:
        return item
    return replace(item, title=item.title[: MAX_TITLE_CHARS - 1] + "…")


def _archived(item: Item, source: Source, now: datetime) -> ArchivedItem:
    return ArchivedItem(
        title=item.title,
        url=item.url,
        source=source.name,
        section=source.section,
        found_at=now,
        summary=item.summary or item.content,
        published=item.published,
    )


def _matched_words(match: Match, title: str, body: str) -> tuple[str, ...]:
    """The words as they appear in the item (regex hits too), for highlighting."""
    fields = {"title": title, "text": body}
    words = (fields[field][start:end] for field, start, end in match.spans)
    return tuple(dict.fromkeys(w for w in words if w.strip())) or match.terms
