"""Casework: the ticket workflow against the store, with notices and evidence.

Handlers and card clicks call this; it finds hits and tickets, applies
`bot.tickets` transitions, saves them (the first of two concurrent changes wins),
queues the notices that tell the next person to act, and takes the evidence
snapshot in the background so a reply never waits for a slow site.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot import deadlines, evidence, tickets
from bot.models import Hit, OutboxMessage, Ticket
from bot.roles import Person
from bot.store.tickets import RevisionConflict
from bot.ticket_notices import Notices
from bot.tickets import TicketRefused

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.http import HttpFetcher
    from bot.render import Renderer
    from bot.store import Store
    from bot.workdays import WorkCalendar

logger = logging.getLogger(__name__)

Enqueue = Callable[[list[OutboxMessage]], object]
DISMISSALS = ("忽略", "误报")


class Casework:
    """Registers, moves and chases tickets; one per running bot."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        calendar: WorkCalendar,
        renderer: Renderer,
        enqueue: Enqueue,
        fetcher: Callable[[], HttpFetcher],
    ) -> None:
        self.settings = settings
        self.store = store
        self.calendar = calendar
        self.notices = Notices(settings, renderer)
        self._enqueue = enqueue
        self._fetcher = fetcher
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lookups ---------------------------------------------------------------

    def ticket(self, ticket_id: str, now: datetime) -> Ticket:
        """The ticket `ticket_id` (``YQ-2026-0012`` or ``12``); refused if unknown."""
        found = self.store.tickets.get(ticket_id, now.date()) if ticket_id else None
        if found is None:
            raise TicketRefused("tickets/unknown_ticket.j2", given=ticket_id)
        return found

    def hit(self, hit_id: str) -> Hit:
        found = self.store.hits.get(hit_id) if hit_id else None
        if found is None:
            raise TicketRefused("tickets/unknown_hit.j2", given=hit_id)
        return found

    def enqueue(self, messages: list[OutboxMessage]) -> None:
        """Queue `messages` for sending (stored first)."""
        self._enqueue(messages)

    def due(self, ticket: Ticket, now: datetime) -> datetime | None:
        return deadlines.due_for(ticket, now, self.settings.tickets, self.calendar)

    # -- registering -----------------------------------------------------------

    def register(
        self, who: Person, hit_id: str, proposal: str, now: datetime
    ) -> Ticket:
        """登记: turn hit `hit_id` into a ticket awaiting the section head."""
        hit = self.hit(hit_id)
        if not tickets.may_register(who, hit.section):
            raise TicketRefused(
                "tickets/refused_register.j2",
                hit=hit,
                section=self.settings.section_name(hit.section),
            )
        existing = hit.ticket or self._ticket_of_hit(hit.id, now)
        if existing:
            raise TicketRefused(
                "tickets/already_registered.j2", hit=hit, ticket=existing
            )
        if hit.dismissed:
            raise TicketRefused("tickets/hit_dismissed.j2", hit=hit)
        ticket = tickets.new_ticket(
            title=hit.title,
            url=hit.url,
            section=hit.section,
            who=who,
            now=now,
            due=self.due,
            proposal=proposal.strip(),
            hit_id=hit.id,
            level=hit.level,
            source=hit.source,
            summary=hit.summary,
            found_at=hit.found_at,
        )
        ticket = self.store.tickets.add(ticket)
        self.store.hits.save(replace(hit, ticket=ticket.id))
        self._registered(ticket, hit.summary)
        return ticket

    def register_manual(
        self, who: Person, url: str, title: str, summary: str, now: datetime
    ) -> Ticket:
        """手工登记: a ticket for an item a monitor found by hand while patrolling."""
        section = who.monitor_of or (who.head_of[0] if len(who.head_of) == 1 else "")
        if not section:
            raise TicketRefused("tickets/manual_no_section.j2")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise TicketRefused(
                "errors/bad_args.j2",
                command="手工登记",
                problem=f"“{url}”不是网址，应以 http:// 或 https:// 开头",
                usage="手工登记 <网址> <标题> [摘要]",
            )
        ticket = tickets.new_ticket(
            title=title,
            url=url,
            section=section,
            who=who,
            now=now,
            due=self.due,
            source="人工巡查",
            summary=summary,
        )
        ticket = self.store.tickets.add(ticket)
        self._registered(ticket, summary)
        return ticket

    def dismiss(
        self, who: Person, hit_id: str, kind: str, reason: str, now: datetime
    ) -> Hit:
        """忽略 or 误报: close a hit without a ticket, keeping who and why."""
        hit = self.hit(hit_id)
        if not tickets.may_register(who, hit.section):
            raise TicketRefused(
                "tickets/refused_register.j2",
                hit=hit,
                section=self.settings.section_name(hit.section),
            )
        if hit.ticket:
            raise TicketRefused(
                "tickets/already_registered.j2", hit=hit, ticket=hit.ticket
            )
        if hit.dismissed:
            raise TicketRefused("tickets/hit_dismissed.j2", hit=hit)
        hit = replace(
            hit, dismissed=kind, dismissed_by=who.userid, dismiss_reason=reason.strip()
        )
        self.store.hits.save(hit)
        logger.info("hit dismissed hit=%s kind=%s rule=%s", hit.id, kind, hit.rule)
        return hit

    # -- the workflow ----------------------------------------------------------

    def act(
        self,
        who: Person,
        ticket_id: str,
        name: str,
        comment: str,
        now: datetime,
        revision: int | None = None,
    ) -> Ticket:
        """Do `name` (批示, 退回, ...) on a ticket; `revision` comes from a card."""
        ticket = self.ticket(ticket_id, now)
        if revision is not None and revision != ticket.revision:
            last = ticket.history[-1] if ticket.history else None
            raise TicketRefused("tickets/stale.j2", ticket=ticket, last=last)
        try:
            changed = tickets.apply(ticket, name, who, comment, now, self.due)
        except TicketRefused as refused:
            if "actor" in refused.params:  # name the people who may act
                actor = str(refused.params["actor"])
                refused.params["people"] = self.notices.deciders(ticket, actor)
            raise
        try:
            self.store.tickets.save(changed, expected_revision=ticket.revision)
        except RevisionConflict:
            fresh = self.ticket(ticket.id, now)
            last = fresh.history[-1] if fresh.history else None
            raise TicketRefused("tickets/stale.j2", ticket=fresh, last=last) from None
        logger.info(
            "ticket changed id=%s action=%s state=%s revision=%d",
            changed.id,
            name,
            changed.state,
            changed.revision,
        )
        self._enqueue(self.notices.after(changed, name, now))
        return changed

    # -- reminders -------------------------------------------------------------

    def chase(self, now: datetime) -> int:
        """Send every reminder that is due by `now`; the number sent."""
        sent = 0
        for ticket in self.store.tickets.recent(now.date()):
            if ticket.state not in tickets.OPEN:
                continue
            chase = deadlines.next_chase(
                ticket, self.settings.tickets, self.calendar, now
            )
            if chase is None or chase.at > now:
                continue
            event = self.notices.reminder_event(ticket, chase, now)
            updated = replace(
                ticket,
                history=(*ticket.history, event),
                reminders=chase.stage + 1,
            )
            try:  # a reminder is not a change of the case: the revision stays
                self.store.tickets.save(updated, expected_revision=ticket.revision)
            except RevisionConflict:
                continue  # changed meanwhile; the next round sees the new state
            self._enqueue(self.notices.reminder(ticket, chase, now))
            sent += 1
        if sent:
            logger.info("reminders sent count=%d", sent)
        return sent

    # -- evidence --------------------------------------------------------------

    def resume_evidence(self, now: datetime) -> int:
        """Snapshot tickets that have none yet (e.g. after a crash or a stop)."""
        missing = [t for t in self.store.tickets.recent(now.date()) if not t.evidence]
        for ticket in missing:
            self._snapshot_later(ticket, ticket.summary)
        return len(missing)

    async def settle(self) -> None:
        """Wait for the evidence snapshots in progress (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Give snapshots in progress `grace_s` to finish, then cancel them.

        A cancelled one is redone by `resume_evidence` at the next start.
        """
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=grace_s)
        for task in list(self._tasks):
            task.cancel()
        await self.settle()

    def _registered(self, ticket: Ticket, fallback: str) -> None:
        logger.info(
            "ticket registered id=%s section=%s level=%s hit=%s",
            ticket.id,
            ticket.section,
            ticket.level,
            ticket.hit_id or "-",
        )
        self._enqueue(self.notices.after(ticket, "登记", ticket.created_at))
        self._snapshot_later(ticket, fallback)

    def _snapshot_later(self, ticket: Ticket, fallback: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a synchronous caller): resume_evidence catches up
        task = loop.create_task(self._snapshot(ticket.id, ticket.url, fallback))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _snapshot(self, ticket_id: str, url: str, fallback: str) -> None:
        now = datetime.now(self.settings.tz)
        try:
            shot = await evidence.snapshot(
                self._fetcher(),
                url,
                self.settings.data_dir,
                ticket_id,
                now,
                fallback_text=fallback,
                # A configured path is used as given (a wrong one is reported).
                browser=self.settings.tickets.browser or evidence.find_browser(),
            )
        except Exception:
            # Boundary of a background task: the ticket stands without evidence
            # and resume_evidence tries again at the next start.
            logger.exception("evidence snapshot failed ticket=%s", ticket_id)
            return
        for _ in range(5):  # retried only if the ticket changes in between
            ticket = self.store.tickets.get(ticket_id)
            if ticket is None:
                return
            attached = replace(ticket, evidence=(*ticket.evidence, shot))
            try:
                self.store.tickets.save(attached, expected_revision=ticket.revision)
                return
            except RevisionConflict:
                await asyncio.sleep(0)

    def _ticket_of_hit(self, hit_id: str, now: datetime) -> str:
        """A ticket made from `hit_id` already (a crash may leave the hit unmarked)."""
        for ticket in self.store.tickets.recent(now.date()):
            if ticket.hit_id == hit_id:
                return ticket.id
        return ""
