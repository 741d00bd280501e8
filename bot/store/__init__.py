"""The embedded store: TinyDB, journaled and partitioned by time.

Only modules of this package import tinydb. Open it with
``Store.open(data_dir, tz)``; the repositories hang off the store as ``hits``,
``tickets``, ``patrol``, ``rules``, ``sources``, ``seen`` and ``outbox``.
"""

from bot.store.hits import HitRepo
from bot.store.migrations import current_version
from bot.store.outbox import OutboxRepo
from bot.store.patrol import PatrolRepo
from bot.store.seen import SeenRepo
from bot.store.settings import RuleRepo, SourceStateRepo
from bot.store.store import Store
from bot.store.tickets import TicketRepo

__all__ = [
    "HitRepo",
    "OutboxRepo",
    "PatrolRepo",
    "RuleRepo",
    "SeenRepo",
    "SourceStateRepo",
    "Store",
    "TicketRepo",
    "current_version",
]
