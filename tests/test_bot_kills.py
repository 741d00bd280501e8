"""The running bot, SIGKILLed ten times, loses nothing it acknowledged.

A reduced run of ``bench/kills.py`` (which kills it 100 times): the real
``python -m bot run`` child against the fake WeCom, changing local feeds and a
stream of app commands. After every kill the store must load and hold every
acknowledged hit, ticket change, log entry and queued message; at the end every
stored hit was announced and nothing is left queued. Duplicates are counted, not
forbidden: a group robot message in flight at a kill may go out twice (its
delivery cannot be asked about), at most one per chat and kill.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bench.kills import run_kills

KILLS = 10
CHATS = 6  # two robots and four app chats can each have a message in flight


async def test_bot_kills_lose_nothing_acknowledged(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.CRITICAL, logger="aiohttp")

    figures = await run_kills(KILLS, seed=1, workdir=tmp_path)

    assert figures.kills == KILLS
    assert figures.violations == []
    assert figures.pending_left == 0
    assert figures.hits > 0 and figures.hits_unannounced == 0
    assert figures.commands_answered > 0
    assert figures.duplicates <= KILLS * CHATS
