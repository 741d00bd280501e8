"""What flows between channels and handlers: one inbound chat message, one reply.

Every channel (console now; WeCom kinds later) turns its traffic into `Inbound` and
sends `Reply` back its own way, so handlers never know where a message came from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Inbound:
    """A chat line from one user."""

    sender: str
    text: str
    chat: str = ""
    msg_id: str = ""
    channel: str = "console"


@dataclass(frozen=True)
class Reply:
    """A reply in markdown-ish plain text (the subset every channel can show).

    `card_title` is set when the command did what a card button asked (e.g.
    ``已批示``): a clicked card then shows it to everyone who got the card, or
    only to the clicker when `card_personal` (each monitor's own 巡查 on the
    day's patrol card: the others keep their buttons).
    """

    text: str
    card_title: str = ""
    card_personal: bool = False

    @property
    def card_for_all(self) -> bool:
        """Whether a clicked card shows this outcome to the whole chat."""
        return bool(self.card_title) and not self.card_personal
