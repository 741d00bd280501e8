"""Early-warning detection (预警): pure functions over stored hits and source state.

- Volume spikes: per rule and per section, the hits of the last `bucket` against
  the counts of the `window` of buckets before it; a spike is at least
  `min_hits` hits and more than mean + k·sd (population sd) of the history.
- Spread: a hit whose copies (转载) found within `spread_within` number at least
  `spread_copies` across at least `spread_sources` distinct sources.
- Late scans: an enabled source not attempted for longer than its interval plus
  `scan_grace` (counted from when this process started, at the earliest).

`reconcile` turns what is found now and the open warnings into new, updated and
resolved warnings, so each event is one record. Recording and sending are left to
`bot.warning_notices`; nothing here reads a clock or the store.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from bot.alerts import EarlyWarning
from bot.config_scan import LEVELS

if TYPE_CHECKING:
    from bot.config import Source
    from bot.config_briefing import WarningSettings
    from bot.models import Hit, SourceState

SPIKE_GROWTH = 1.5  # a spike is re-announced when its count grew by half


@dataclass(frozen=True)
class Finding:
    """Something that warrants a warning at this moment.

    `subject` identifies the event across ticks (``rule:退税慢``, a hit id, a
    source name); `value` is its current measure.
    """

    kind: str
    subject: str
    level: str
    value: float
    threshold: float = 0
    section: str = ""
    hits: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """What `reconcile` decided for one warning: ``new``, ``update`` or ``resolve``."""

    action: str
    warning: EarlyWarning


def bucket_counts(
    times: Iterable[datetime], now: datetime, bucket: timedelta, buckets: int
) -> tuple[int, list[int]]:
    """Hits in ``(now - bucket, now]`` and in each of the `buckets` before it.

    The history is oldest first; times after `now` or before the window are
    ignored.
    """
    current = 0
    history = [0] * buckets
    for t in times:
        age = now - t
        if age < timedelta(0):
            continue
        index = math.floor(age / bucket) if age > timedelta(0) else 0
        if age == index * bucket and index > 0:
            index -= 1  # the right end of a bucket belongs to it
        if index == 0:
            current += 1
        elif index <= buckets:
            history[buckets - index] += 1
    return current, history


def spike_threshold(history: list[int], k: float) -> tuple[float, float, float]:
    """Mean, population standard deviation and mean + k·sd of `history`."""
    mean = sum(history) / len(history) if history else 0.0
    var = sum((x - mean) ** 2 for x in history) / len(history) if history else 0.0
    sd = math.sqrt(var)
    return mean, sd, mean + k * sd


def find_spikes(
    hits: Iterable[Hit], now: datetime, plan: WarningSettings
) -> list[Finding]:
    """Rules and sections whose last bucket of hits is a spike (误报 left out)."""
    bucket = plan.bucket_span
    buckets = int(plan.window_span / bucket)
    groups: dict[tuple[str, str], list[Hit]] = defaultdict(list)
    for hit in hits:
        if hit.dismissed == "误报":
            continue
        groups[("rule", hit.rule)].append(hit)
        groups[("section", hit.section)].append(hit)
    found = []
    for (scope, name), mine in sorted(groups.items()):
        current, history = bucket_counts(
            (h.found_at for h in mine), now, bucket, buckets
        )
        _, _, threshold = spike_threshold(history, plan.k)
        if current < plan.min_hits or current <= threshold:
            continue
        recent = [h for h in mine if timedelta(0) <= now - h.found_at <= bucket]
        found.append(
            Finding(
                "spike",
                f"{scope}:{name}",
                "较大",
                current,
                round(threshold, 1),
                section=mine[0].section if scope == "rule" else name,
                hits=tuple(h.id for h in recent),
            )
        )
    return found


def find_spread(
    hits: Iterable[Hit], now: datetime, plan: WarningSettings
) -> list[Finding]:
    """Hits whose copies arrive fast across sources; `value` is the total copies."""
    since = now - plan.spread_span
    found = []
    for hit in hits:
        recent = [c for c in hit.copies if since <= c.at <= now]
        sources = {c.source for c in recent} | {hit.source}
        if len(recent) < plan.spread_copies or len(sources) < plan.spread_sources:
            continue
        level = max(hit.level, "较大", key=LEVELS.index)
        found.append(
            Finding(
                "spread",
                hit.id,
                level,
                hit.copy_count,
                plan.spread_copies,
                section=hit.section,
                hits=(hit.id,),
            )
        )
    return found


def find_late(
    sources: Iterable[Source],
    states: dict[str, SourceState],
    now: datetime,
    started: datetime,
    grace: timedelta,
) -> list[Finding]:
    """Enabled, unpaused sources whose last scan attempt is overdue at `now`."""
    found = []
    for source in sources:
        state = states.get(source.name)
        if not source.enabled or (state is not None and state.paused):
            continue
        last = state.last_attempt if state and state.last_attempt else None
        since = max(last, started) if last else started
        overdue = now - since - source.interval
        if overdue > grace:
            found.append(
                Finding(
                    "late",
                    source.name,
                    "一般",
                    round((now - since).total_seconds() / 60),
                    source.interval.total_seconds() / 60,
                    section=source.section,
                )
            )
    return found


def reconcile(
    kind: str,
    findings: list[Finding],
    open_warnings: list[EarlyWarning],
    now: datetime,
    step: float = 0,
) -> list[Change]:
    """New, updated and resolved warnings of `kind` at `now`.

    A finding with no open warning of its subject starts one; a finding whose
    value grew enough (`_grew`: by `step` for spread, by half for spikes)
    updates it; an open warning with no finding any more is resolved, except
    spread warnings, which stay open so a story spreading again is an update.
    """
    by_subject = {w.subject: w for w in open_warnings if w.kind == kind}
    changes = []
    for f in findings:
        old = by_subject.pop(f.subject, None)
        if old is None:
            key = f"{kind}:{f.subject}@{now:%Y%m%d%H%M}"
            if kind == "spread":
                key = f"spread:{f.subject}"
            new = EarlyWarning(
                key,
                kind,
                f.subject,
                f.level,
                now,
                now,
                f.section,
                f.value,
                f.threshold,
                f.hits,
            )
            changes.append(Change("new", new))
        elif _grew(kind, old.value, f.value, step):
            hits = tuple(dict.fromkeys((*old.hits, *f.hits)))
            level = max(old.level, f.level, key=LEVELS.index)
            grown = replace(
                old,
                last_at=now,
                value=f.value,
                threshold=f.threshold,
                hits=hits,
                level=level,
                updates=old.updates + 1,
            )
            changes.append(Change("update", grown))
    if kind != "spread":
        for old in by_subject.values():
            changes.append(
                Change("resolve", replace(old, resolved_at=now, last_at=now))
            )
    return changes


def _grew(kind: str, old: float, new: float, step: float) -> bool:
    if kind == "spread":
        return new - old >= step
    if kind == "spike":
        return new >= old * SPIKE_GROWTH and new > old
    return False


def in_quiet(at: time, quiet: tuple[time, time] | None) -> bool:
    """Whether `at` falls in quiet hours ``start-end`` (which may span midnight)."""
    if quiet is None:
        return False
    start, end = quiet
    if start <= end:
        return start <= at < end
    return at >= start or at < end
