"""The ticket workflow (监控处理单): states, who may do what, and the transitions.

Plain functions over `Ticket` values: no store, no chat, no clock of their own. A
transition returns a new ticket with one more history event and the next revision;
a refusal raises `TicketRefused`, whose template tells the user what is wrong and
who can act or which state is needed. ::

    登记 ─► 待批示 ─批示─► 待办理 ─受理─► 办理中 ─办结─► 已办结 ─归档─► 已归档
              │  ▲
            退回 重新提交 (已退回)          上报: to the leading group, state unchanged
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from bot.errors import UserError
from bot.models import Ticket, TicketEvent
from bot.roles import Person, Role

PENDING = "待批示"
RETURNED = "已退回"
TO_HANDLE = "待办理"
HANDLING = "办理中"
DONE = "已办结"
ARCHIVED = "已归档"
STATES = (PENDING, RETURNED, TO_HANDLE, HANDLING, DONE, ARCHIVED)
OPEN = (PENDING, RETURNED, TO_HANDLE, HANDLING)  # states with a deadline


class TicketRefused(UserError):
    """An action the ticket's state or the sender's role does not allow."""


@dataclass(frozen=True)
class Action:
    """One workflow step as users type it.

    `actor`: ``head`` (of the ticket's section), ``office`` or ``author`` (who
    registered it, a monitor of its section, or the office); `comment`:
    ``required``, ``optional`` or ``none``; `target`: the new state (None: the
    state stays, e.g. 上报).
    """

    name: str
    from_states: tuple[str, ...]
    target: str | None
    actor: str
    comment: str
    usage: str


ACTIONS = {
    a.name: a
    for a in (
        Action(
            "批示",
            (PENDING,),
            TO_HANDLE,
            "head",
            "required",
            "批示 <处理单编号> <意见>",
        ),
        Action(
            "退回", (PENDING,), RETURNED, "head", "required", "退回 <处理单编号> <理由>"
        ),
        Action(
            "重新提交",
            (RETURNED,),
            PENDING,
            "author",
            "optional",
            "重新提交 <处理单编号> [说明]",
        ),
        Action(
            "受理",
            (TO_HANDLE,),
            HANDLING,
            "office",
            "optional",
            "受理 <处理单编号> [意见]",
        ),
        Action(
            "办结",
            (TO_HANDLE, HANDLING),
            DONE,
            "office",
            "required",
            "办结 <处理单编号> <处理结果>",
        ),
        Action(
            "上报",
            (PENDING, TO_HANDLE, HANDLING, DONE),
            None,
            "office",
            "optional",
            "上报 <处理单编号> [说明]",
        ),
        Action("归档", (DONE,), ARCHIVED, "office", "none", "归档 <处理单编号>"),
    )
}

# The roles that may resubmit (重新提交) a returned ticket; a head instructs instead.
RESUBMITTERS = frozenset({Role.MONITOR, Role.OFFICE})

# Gives the deadline of a ticket that has just entered its state (None: no deadline).
DueFn = Callable[[Ticket, datetime], datetime | None]


def may(action: Action, ticket: Ticket, who: Person) -> bool:
    """True when `who` holds the role `action` needs on `ticket`."""
    if action.actor == "head":
        return ticket.section in who.head_of
    if action.actor == "office":
        return who.has(Role.OFFICE)
    # author: the registering monitor, another monitor of the section, or the office
    return (
        who.userid == ticket.created_by
        or who.monitor_of == ticket.section
        or who.has(Role.OFFICE)
    )


def apply(
    ticket: Ticket,
    name: str,
    who: Person,
    comment: str,
    now: datetime,
    due: DueFn,
) -> Ticket:
    """`ticket` after `who` does `name` with `comment`; raise `TicketRefused`."""
    action = ACTIONS[name]
    if not may(action, ticket, who):
        raise TicketRefused(
            "tickets/refused_role.j2",
            action=action,
            ticket=ticket,
            actor=action.actor,
            people=(),
        )
    if ticket.state not in action.from_states:
        last = ticket.history[-1] if ticket.history else None
        raise TicketRefused(
            "tickets/refused_state.j2", action=action, ticket=ticket, last=last
        )
    comment = comment.strip()
    if action.comment == "required" and not comment:
        raise TicketRefused(
            "errors/bad_args.j2",
            command=name,
            problem="缺少" + ("处理结果" if name == "办结" else "意见或理由"),
            usage=action.usage,
        )
    changed = _effects(ticket, action, who.userid, comment, now)
    state = action.target or ticket.state
    event = TicketEvent(now, who.userid, name, ticket.state, state, comment)
    changed = replace(
        changed,
        state=state,
        history=(*ticket.history, event),
        revision=ticket.revision + 1,
    )
    if action.target is not None:  # a new state: its own deadline and reminders
        changed = replace(changed, due=due(changed, now), reminders=0)
    return changed


def _effects(
    ticket: Ticket, action: Action, userid: str, comment: str, now: datetime
) -> Ticket:
    """The fields an action fills besides state and history."""
    if action.name == "批示":
        return replace(
            ticket, instruction=comment, instructed_by=userid, instructed_at=now
        )
    if action.name == "受理":
        return replace(ticket, handler=userid, office_opinion=comment)
    if action.name == "办结":
        return replace(ticket, handler=ticket.handler or userid, result=comment)
    if action.name == "上报":
        note = comment or "已上报领导小组"
        reported = f"{ticket.reported}\n{note}" if ticket.reported else note
        return replace(ticket, reported=reported, reported_at=now)
    if action.name == "归档":
        return replace(ticket, archived_at=now)
    return ticket


def new_ticket(
    *,
    title: str,
    url: str,
    section: str,
    who: Person,
    now: datetime,
    due: DueFn,
    proposal: str = "",
    hit_id: str = "",
    level: str = "一般",
    source: str = "",
    summary: str = "",
    found_at: datetime | None = None,
) -> Ticket:
    """A ticket registered by `who` (登记 or 手工登记), awaiting the head."""
    ticket = Ticket(
        title=title,
        url=url,
        section=section,
        state=PENDING,
        created_by=who.userid,
        created_at=now,
        hit_id=hit_id,
        level=level,
        proposal=proposal,
        source=source,
        summary=summary,
        found_at=found_at or now,
        history=(TicketEvent(now, who.userid, "登记", "", PENDING, proposal),),
        revision=1,
    )
    return replace(ticket, due=due(ticket, now))


def may_register(who: Person, section: str) -> bool:
    """Monitors and heads of `section` and the office may register its hits.

    The same people may dismiss them (忽略, 误报).
    """
    return who.monitor_of == section or section in who.head_of or who.has(Role.OFFICE)


def waiting_for(ticket: Ticket, who: Person) -> bool:
    """True when `ticket` waits for an action `who` may take (待办)."""
    if ticket.state == PENDING:
        return ticket.section in who.head_of
    if ticket.state == RETURNED:
        if ticket.created_by == who.userid and who.has_any(RESUBMITTERS):
            return True
        return not who.has(Role.OFFICE) and who.monitor_of == ticket.section
    if ticket.state in (TO_HANDLE, HANDLING, DONE):
        return who.has(Role.OFFICE)
    return False


def responsible(ticket: Ticket) -> str:
    """Who must act next: ``head``, ``author`` or ``office`` ("" when closed)."""
    if ticket.state == PENDING:
        return "head"
    if ticket.state == RETURNED:
        return "author"
    if ticket.state in (TO_HANDLE, HANDLING, DONE):
        return "office"
    return ""
