"""Turn scan results into chat messages for the outbox.

Per section and scan: one digest of ordinary hits; each 重大 or 特别重大 hit on its
own, mentioning the section's heads (特别重大 also goes to the office chat with the
leaders mentioned). Source health events go to the office chat, mentioning admins.
Sending, limits and retries are left to `bot.outbox`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot.cards import hit_card
from bot.config import Settings
from bot.config_wecom import ChatAddress
from bot.health import HealthEvent
from bot.models import Hit, OutboxMessage
from bot.render import Renderer

URGENT = ("重大", "特别重大")


def markdown(address: ChatAddress, text: str, now: datetime) -> OutboxMessage:
    return OutboxMessage(
        channel=address.channel,
        chat=address.id,
        kind="markdown",
        body={"text": text},
        created_at=now,
    )


def hit_messages(
    settings: Settings, renderer: Renderer, hits: list[Hit], now: datetime
) -> list[OutboxMessage]:
    """The messages announcing `hits`: urgent ones first, then one digest a section."""
    messages: list[OutboxMessage] = []
    for section in settings.sections:
        mine = [h for h in hits if h.section == section.id]
        for hit in (h for h in mine if h.level in URGENT):
            text = renderer.render(
                "hit_urgent.j2", h=hit, section=section.name, heads=section.heads
            )
            # A card where the chat can show buttons (AI bot), this text elsewhere.
            card = {"text": text, "template_card": hit_card(hit, section.name)}
            messages.append(
                replace(
                    markdown(settings.chat(section.chat), text, now),
                    kind="card",
                    body=card,
                )
            )
            if hit.level == "特别重大" and settings.office.chat:
                text = renderer.render(
                    "hit_urgent.j2",
                    h=hit,
                    section=section.name,
                    heads=settings.leaders.members,
                )
                messages.append(
                    markdown(settings.chat(settings.office.chat), text, now)
                )
        ordinary = [h for h in mine if h.level not in URGENT]
        if ordinary:
            text = renderer.render("hit_digest.j2", hits=ordinary, section=section.name)
            messages.append(markdown(settings.chat(section.chat), text, now))
    return messages


def health_messages(
    settings: Settings, renderer: Renderer, events: list[HealthEvent], now: datetime
) -> list[OutboxMessage]:
    """One message per source health event, to the office chat."""
    return [
        markdown(
            settings.chat(settings.office.chat),
            renderer.render(
                "source_alert.j2",
                e=event,
                quiet=_span(event.quiet_for),
                admins=settings.admins,
            ),
            now,
        )
        for event in events
    ]


def _span(value: timedelta | None) -> str:
    if value is None:
        return ""
    hours = int(value.total_seconds() // 3600)
    return f"{hours // 24} 天 {hours % 24} 小时" if hours >= 24 else f"{hours} 小时"
