"""The chat notices of the ticket workflow: who is told what, in which chat.

After each step the next person to act is told in their chat with an @mention:
heads in the section chat (登记, 重新提交), the monitor (退回), the office in its
chat (批示), the leading group in its chat, or the office chat when it has none
(上报). Reminders go to the chat of the level being chased.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot import cards, notify
from bot.deadlines import REMINDER, Chase
from bot.models import OutboxMessage, Ticket, TicketEvent
from bot.roles import person
from bot.tickets import RESUBMITTERS, responsible

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.config_wecom import ChatAddress
    from bot.render import Renderer

_AUDIENCE_NAMES = {
    "head": "科室负责人",
    "author": "监控人员",
    "office": "办公室",
    "leaders": "领导小组",
}


class Notices:
    """Builds outbox messages for ticket steps and reminders."""

    def __init__(self, settings: Settings, renderer: Renderer) -> None:
        self.settings = settings
        self.renderer = renderer

    def after(self, ticket: Ticket, action: str, now: datetime) -> list[OutboxMessage]:
        """The notices for `action` just done on `ticket`."""
        section_chat = self._section_chat(ticket)
        plan: list[tuple[ChatAddress, str]] = []
        if action in ("登记", "重新提交"):
            plan.append((section_chat, "head"))
        elif action == "退回":
            plan.append((section_chat, "author"))
        elif action == "批示":
            plan += [(self._office_chat(), "office"), (section_chat, "")]
        elif action in ("受理", "办结"):
            plan.append((section_chat, ""))
        elif action == "上报":
            plan.append((self._leaders_chat(), "leaders"))
        messages = []
        for chat, audience in plan:
            text = self.renderer.render(
                "tickets/notice.j2",
                t=ticket,
                action=action,
                section=self.settings.section_name(ticket.section),
                mentions=self.people(ticket, audience),
                audience=_AUDIENCE_NAMES.get(audience, ""),
            )
            message = notify.markdown(chat, text, now)
            if audience == "head":
                messages += self._approval(message, ticket, text)
            else:
                messages.append(message)
        return messages

    def _approval(
        self, message: OutboxMessage, ticket: Ticket, text: str
    ) -> list[OutboxMessage]:
        """The heads' notice as an approval card (buttons where the chat has them).

        Only AI-bot group chats carry buttons; for other chats the app, when set
        up, sends the heads one private card as well. A card's task_id may be
        used once (a second send fails with 42014), so a section chat that is
        itself ``app:`` members gets the heads added to it instead.
        """
        card = cards.approval_card(ticket, self.settings.section_name(ticket.section))
        body: dict[str, object] = {"text": text, "template_card": card}
        out = replace(message, kind="card", body=body)
        heads = self.people(ticket, "head")
        if message.channel == "app":
            members = [m for m in message.chat.split("|") if m]
            return [replace(out, chat="|".join(dict.fromkeys(members + heads)))]
        if message.channel != "aibot" and self.settings.has_wecom_app and heads:
            return [out, replace(out, channel="app", chat="|".join(heads))]
        return [out]

    def reminder(
        self, ticket: Ticket, chase: Chase, now: datetime
    ) -> list[OutboxMessage]:
        """The message of reminder `chase` about `ticket`."""
        chat = {
            "head": self._section_chat(ticket),
            "author": self._section_chat(ticket),
            "office": self._office_chat(),
            "leaders": self._leaders_chat(),
        }[chase.audience]
        owner = responsible(ticket)
        text = self.renderer.render(
            "tickets/reminder.j2",
            t=ticket,
            chase=chase,
            now=now,
            section=self.settings.section_name(ticket.section),
            mentions=self.people(ticket, chase.audience),
            owners=self.people(ticket, owner) if chase.escalated else [],
            owner=_AUDIENCE_NAMES[owner],
            overdue=span(now - ticket.due) if ticket.due and now > ticket.due else "",
        )
        return [notify.markdown(chat, text, now)]

    def reminder_event(
        self, ticket: Ticket, chase: Chase, now: datetime
    ) -> TicketEvent:
        """The history line recording reminder `chase`."""
        whom = _AUDIENCE_NAMES[chase.audience]
        comment = f"{chase.kind}：已提醒{whom}"
        if chase.escalated:
            comment = f"超期升级：已告知{whom}"
        return TicketEvent(now, "机器人", REMINDER, ticket.state, ticket.state, comment)

    def people(self, ticket: Ticket, audience: str) -> list[str]:
        """The userids of `audience` (head, author, office, leaders) for `ticket`."""
        if audience == "head":
            section = self.settings.section(ticket.section)
            return list(section.heads) if section else []
        if audience == "author":
            if self._may_resubmit(ticket.created_by):
                return [ticket.created_by]
            # A head registered it: the section's monitors take it up again.
            section = self.settings.section(ticket.section)
            return list(section.monitors) if section else []
        if audience == "office":
            return list(self.settings.office.members)
        if audience == "leaders":
            return list(self.settings.leaders.members)
        return []

    def deciders(self, ticket: Ticket, actor: str) -> list[str]:
        """Everyone who may take a step that needs `actor` (named in refusals).

        For ``author`` steps (重新提交) that is the registrant, the section's
        monitors and the office, as `bot.tickets.may` allows.
        """
        if actor != "author":
            return self.people(ticket, actor)
        section = self.settings.section(ticket.section)
        names = [
            *([ticket.created_by] if self._may_resubmit(ticket.created_by) else []),
            *(section.monitors if section else ()),
            *self.settings.office.members,
        ]
        return list(dict.fromkeys(names))

    def _may_resubmit(self, userid: str) -> bool:
        return person(self.settings, userid).has_any(RESUBMITTERS)

    def _section_chat(self, ticket: Ticket) -> ChatAddress:
        section = self.settings.section(ticket.section)
        return self.settings.chat(section.chat if section else "")

    def _office_chat(self) -> ChatAddress:
        return self.settings.chat(self.settings.office.chat)

    def _leaders_chat(self) -> ChatAddress:
        leaders = self.settings.leaders.chat or self.settings.office.chat
        return self.settings.chat(leaders)


def span(delta: timedelta) -> str:
    """A duration in Chinese: ``2小时15分``, ``3天4小时``."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分" if mins else f"{hours}小时"
    return f"{mins}分钟"
