"""Record early warnings and turn them into chat messages (one tick at a time).

`warning_tick` runs every few minutes: it detects spikes, spread and late scans
(`bot.warnings`), records each event once in ``store.warnings`` (updates replace
the record, a repeat of the same event sends nothing), and queues messages:

- spike and spread: the section chat (mentioning the heads; for a ticketed
  story, its owners too) and the office chat;
- late scan, and its recovery: the office chat, mentioning the admins;
- 重大 and 特别重大 hits are announced by `bot.notify` at scan time; here they are
  only recorded, and a 特别重大 one also goes to the leaders' own chat when they
  have one apart from the office chat.

In `[tickets] quiet_hours` a warning below 特别重大 is recorded but held, and sent
with its latest figures when quiet hours end. Source silence is alerted by
`bot.health` at scan time; open silence alerts are recorded here too.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import notify, tickets
from bot.alerts import EarlyWarning
from bot.crawlers import crawler_for
from bot.health import SILENT
from bot.models import Hit, OutboxMessage, Ticket
from bot.scan import all_sources
from bot.warnings import (
    Change,
    find_late,
    find_spikes,
    find_spread,
    in_quiet,
    reconcile,
)

if TYPE_CHECKING:
    from bot.models import SourceState
    from bot.patrol_reminders import Host

logger = logging.getLogger(__name__)

ITEM_LOOKBACK = timedelta(hours=1)  # urgent hits recorded when found this recently


def warning_tick(host: Host, now: datetime, started: datetime) -> int:
    """Detect, record and queue the warnings due at `now`; how many messages."""
    plan = host.settings.warning
    if not plan.enabled:
        return 0
    store = host.store
    hits = store.hits.since(now - plan.window_span - plan.bucket_span)
    messages = _items(host, hits, now)

    # Detection, then one decision per event against what is already recorded.
    sources = [
        s
        for s in all_sources(host.settings, host.store)
        if crawler_for(s.kind) is not None  # unsupported kinds never scan
    ]
    states = {s.name: s for s in store.sources.all()}
    changes = reconcile(
        "spike", find_spikes(hits, now, plan), store.warnings.open_of("spike"), now
    )
    changes += reconcile(
        "spread",
        find_spread(hits, now, plan),
        store.warnings.open_of("spread"),
        now,
        step=plan.spread_copies,
    )
    late = find_late(sources, states, now, started, plan.grace_span)
    changes += reconcile("late", late, store.warnings.open_of("late"), now)

    quiet = in_quiet(now.time(), host.settings.tickets.quiet)
    for change in changes:
        messages += _apply(host, change, now, quiet)
    if not quiet:
        for held in store.warnings.unsent():
            if held.resolved_at is None:
                messages += _messages(host, held, now)
                store.warnings.put(replace(held, sent_at=now))
    _record_silence(host, states, now)

    # Queued after recording: a crash in between loses a message, never repeats
    # one; the event stays recorded as sent.
    host.outbox.enqueue(messages)
    if changes or messages:
        logger.info(
            "warnings checked changes=%d messages=%d quiet=%s",
            len(changes),
            len(messages),
            quiet,
        )
    return len(messages)


def _apply(
    host: Host, change: Change, now: datetime, quiet: bool
) -> list[OutboxMessage]:
    warning = change.warning
    store = host.store
    if change.action == "resolve":
        store.warnings.put(warning)
        if warning.kind == "late" and warning.sent_at is not None:
            return [_office(host, "warnings/late_ok.j2", warning, now)]
        return []
    if quiet and warning.level != "特别重大":
        store.warnings.put(replace(warning, sent_at=None))
        return []
    store.warnings.put(replace(warning, sent_at=now))
    return _messages(host, warning, now)


def _messages(host: Host, warning: EarlyWarning, now: datetime) -> list[OutboxMessage]:
    """The messages announcing `warning` (new or updated) at `now`."""
    if warning.kind == "late":
        return [_office(host, "warnings/late.j2", warning, now)]
    settings = host.settings
    section = settings.section(warning.section)
    hits = [h for h in (host.store.hits.get(i) for i in warning.hits) if h]
    hits.sort(key=lambda h: (h.copy_count, h.score), reverse=True)
    owners, ticket = (
        _owners(host, hits, now) if warning.kind == "spread" else ([], None)
    )
    params = {
        "w": warning,
        "hits": hits[:10],
        "more": max(0, len(hits) - 10),
        "section": section.name if section else warning.section,
        "rule": warning.subject.partition(":")[2],
        "scope": warning.subject.partition(":")[0],
        "ticket": ticket,
        "window": settings.warning.window,
        "bucket": settings.warning.bucket,
        "within": settings.warning.spread_within,
        "sources": _sources_of(hits[0], now - settings.warning.spread_span)
        if hits
        else [],
    }
    template = f"warnings/{warning.kind}.j2"
    out: list[OutboxMessage] = []
    if section is not None and section.chat:
        mention = tuple(dict.fromkeys((*section.heads, *owners)))
        text = host.renderer.render(template, mention=mention, **params)
        out.append(notify.markdown(settings.chat(section.chat), text, now))
    if settings.office.chat:
        text = host.renderer.render(template, mention=(), **params)
        out.append(notify.markdown(settings.chat(settings.office.chat), text, now))
    return out


def _owners(
    host: Host, hits: list[Hit], now: datetime
) -> tuple[list[str], Ticket | None]:
    """Who owns the open ticket of a spreading story: registrar, handler, office."""
    hit = hits[0] if hits else None
    if hit is None or not hit.ticket:
        return [], None
    ticket = host.store.tickets.get(hit.ticket, now.date())
    if ticket is None or ticket.state not in tickets.OPEN:
        return [], ticket
    owners = [ticket.created_by, ticket.handler]
    if tickets.responsible(ticket) == "office" and not ticket.handler:
        owners += list(host.settings.office.members)
    return [u for u in owners if u], ticket


def _sources_of(hit: Hit, since: datetime) -> list[str]:
    recent = [c.source for c in hit.copies if c.at >= since]
    return list(dict.fromkeys([hit.source, *recent]))


def _office(
    host: Host, template: str, warning: EarlyWarning, now: datetime
) -> OutboxMessage:
    settings = host.settings
    text = host.renderer.render(
        template, w=warning, admins=settings.admins, grace=settings.warning.scan_grace
    )
    return notify.markdown(settings.chat(settings.office.chat), text, now)


def _items(host: Host, hits: list[Hit], now: datetime) -> list[OutboxMessage]:
    """Record recent 重大+ hits; a 特别重大 one also to the leaders' own chat."""
    settings = host.settings
    leaders_chat = settings.leaders.chat
    separate = bool(leaders_chat) and leaders_chat != settings.office.chat
    out: list[OutboxMessage] = []
    for hit in hits:
        if hit.level not in notify.URGENT or now - hit.found_at > ITEM_LOOKBACK:
            continue
        key = f"item:{hit.id}"
        if host.store.warnings.get(key) is not None:
            continue
        warning = EarlyWarning(
            key,
            "item",
            hit.id,
            hit.level,
            hit.found_at,
            now,
            hit.section,
            hit.score,
            hits=(hit.id,),
            sent_at=hit.found_at,
        )
        host.store.warnings.put(warning)
        if hit.level == "特别重大" and separate:
            text = host.renderer.render(
                "hit_urgent.j2",
                h=hit,
                section=settings.section_name(hit.section),
                heads=settings.leaders.members,
            )
            out.append(notify.markdown(settings.chat(leaders_chat), text, now))
    return out


def _record_silence(host: Host, states: dict[str, SourceState], now: datetime) -> None:
    """Keep a record of each open silence alert (sent by `bot.health`)."""
    store = host.store
    open_now = {w.subject: w for w in store.warnings.open_of("silent")}
    for name, state in states.items():
        if state.alert == SILENT and name not in open_now:
            store.warnings.put(
                EarlyWarning(
                    f"silent:{name}@{now:%Y%m%d%H%M}",
                    "silent",
                    name,
                    "一般",
                    now,
                    now,
                    sent_at=now,
                )
            )
    for name, warning in open_now.items():
        state = states.get(name)
        if state is None or state.alert != SILENT:
            store.warnings.put(replace(warning, resolved_at=now, last_at=now))
