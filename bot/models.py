"""Typed records the bot keeps: hits, tickets, patrol entries, source state, outbox.

Plain dataclasses with no knowledge of storage; `bot.store` turns them into documents
and back. Times are timezone-aware datetimes (Asia/Shanghai unless configured).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class HitCopy:
    """A later copy of a hit's story (转载) found at another place."""

    source: str
    url: str
    title: str
    at: datetime


@dataclass(frozen=True)
class Hit:
    """A new item that matched a keyword rule (命中).

    `id` is empty until the store assigns one (e.g. ``H2612-37``). `matched` lists
    the rule terms found, `score` (0-100) and `reasons` explain the risk level,
    `fingerprint` is the similarity hash that folds reposts into this hit's
    `copies`, whose total is `copy_count` (the stored list is capped).
    """

    title: str
    url: str
    source: str
    section: str
    rule: str
    level: str
    found_at: datetime
    summary: str = ""
    published: datetime | None = None
    matched: tuple[str, ...] = ()
    score: int = 0
    reasons: tuple[str, ...] = ()
    fingerprint: int = 0
    canonical_url: str = ""
    reposts: int | None = None
    comments: int | None = None
    likes: int | None = None
    copies: tuple[HitCopy, ...] = ()
    copy_count: int = 0
    ticket: str = ""  # the ticket registered from this hit
    dismissed: str = ""  # "忽略" or "误报" when a monitor dismissed it
    dismissed_by: str = ""
    dismiss_reason: str = ""
    id: str = ""
    # False from the scan that stores it until its message is queued; a hit left
    # False by a crash in between is announced by the next process (App).
    announced: bool = True


@dataclass(frozen=True)
class TicketEvent:
    """One transition or remark in a ticket's history."""

    at: datetime
    actor: str
    action: str
    from_state: str = ""
    to_state: str = ""
    comment: str = ""


@dataclass(frozen=True)
class Evidence:
    """A snapshot of the item as fetched when the ticket was registered (留证)."""

    fetched_at: datetime
    path: str = ""  # folder under the data dir holding page.html, text.txt
    sha256: str = ""  # of the stored page bytes
    text: str = ""
    screenshot: str = ""  # file name in `path`, or "" when none could be taken
    note: str = ""  # why something is missing (e.g. no headless browser)


@dataclass(frozen=True)
class Ticket:
    """A handling ticket (监控处理单); the workflow lives in `bot.tickets`.

    `id` is empty until the store assigns one (e.g. ``YQ-2026-0012``). `due` is
    the deadline of the current state; `revision` grows with every change, so a
    change based on an old copy is refused (the first of two clicks wins).
    """

    title: str
    url: str
    section: str
    state: str
    created_by: str
    created_at: datetime
    hit_id: str = ""
    level: str = "一般"
    proposal: str = ""
    history: tuple[TicketEvent, ...] = ()
    source: str = ""
    summary: str = ""
    found_at: datetime | None = None
    instruction: str = ""
    instructed_by: str = ""
    instructed_at: datetime | None = None
    handler: str = ""
    office_opinion: str = ""
    result: str = ""
    reported: str = ""
    reported_at: datetime | None = None
    archived_at: datetime | None = None
    due: datetime | None = None
    reminders: int = 0
    evidence: tuple[Evidence, ...] = ()
    revision: int = 0
    id: str = ""


@dataclass(frozen=True)
class PatrolEntry:
    """One patrol recorded in the monitoring log (监控日志).

    `section` is "" for a patrol recorded by someone without one (the office);
    `sources_scanned`, `items_read` (new items) and `hits_found` are the bot's own
    scan of that section on that day when the patrol was recorded; `tickets` were
    registered by `user` that day (their state is looked up when the log is shown).
    """

    user: str
    section: str
    at: datetime
    scope: str = ""
    findings: str = ""
    sources_scanned: int = 0
    hits_found: int = 0
    items_read: int = 0
    tickets: tuple[str, ...] = ()
    id: str = ""


@dataclass(frozen=True)
class Leave:
    """A monitor's leave (请假): no patrol is expected from `start` to `end`.

    `start` and `end` are ISO dates, both included; `by` recorded it at `at`.
    """

    user: str
    section: str
    start: str
    end: str
    note: str
    by: str
    at: datetime
    id: str = ""


@dataclass(frozen=True)
class ArchivedItem:
    """An item a scan read for the first time, hit or not, kept for 测试关键词.

    `summary` is capped (see `bot.store.items`); `found_at` is when the scan read it.
    """

    title: str
    url: str
    source: str
    section: str
    found_at: datetime
    summary: str = ""
    published: datetime | None = None


@dataclass(frozen=True)
class ChangeRecord:
    """One change to keyword rules or sources made in chat (变更记录), for audit.

    `kind` is ``关键词`` or ``来源``; `action` is ``添加``, ``修改``, ``删除``,
    ``暂停`` or ``恢复``; `old` and `new` describe the thing before and after.
    """

    at: datetime
    actor: str
    kind: str
    action: str
    name: str
    old: str = ""
    new: str = ""


@dataclass(frozen=True)
class SourceState:
    """What the bot remembers about one source between scans."""

    name: str
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    consecutive_failures: int = 0
    last_error: str = ""
    items_seen: int = 0
    etag: str = ""
    last_modified: str = ""
    last_new_item: datetime | None = None
    alert: str = ""  # "failing" or "silent" while an alert is open, else ""
    paused: bool = False  # 暂停来源: scans skip the source until 恢复来源
    paused_by: str = ""
    paused_at: datetime | None = None


@dataclass(frozen=True)
class OutboxMessage:
    """A message waiting to be sent (or already sent) to one chat.

    `channel` and `chat` are a chat address (see `bot.config_wecom`); `kind` is
    ``markdown``, ``text``, ``card`` or ``file`` with its content in `body`
    (``{"text": ...}`` for text kinds); `not_before` holds a retry back.
    """

    channel: str
    chat: str
    kind: str
    body: dict[str, object] = field(default_factory=dict)
    created_at: datetime | None = None
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str = ""
    not_before: datetime | None = None
    id: str = ""
