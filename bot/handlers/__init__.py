"""Chat commands, one module per family; `all_commands` lists them in routing order."""

from __future__ import annotations

from bot.dispatcher import Command
from bot.handlers import (
    briefing,
    exports,
    help,
    hits,
    keywords,
    patrol,
    people,
    sources,
    supervision,
    ticket_views,
    tickets,
)


def all_commands() -> list[Command]:
    """Every command the bot understands, first match wins."""
    return [
        *help.COMMANDS,
        *people.COMMANDS,
        *hits.COMMANDS,
        *keywords.COMMANDS,
        *sources.COMMANDS,
        *tickets.COMMANDS,
        *ticket_views.COMMANDS,
        *exports.COMMANDS,
        *patrol.COMMANDS,
        *supervision.COMMANDS,
        *briefing.COMMANDS,
    ]
