"""The embedded store: TinyDB, journaled and partitioned by time.

Only modules of this package import tinydb. Open it with
``Store.open(data_dir, tz)``; the repositories hang off the store as ``hits``,
``tickets``, ``patrol``, ``rules``, ``sources``, ``seen``, ``outbox``,
``items`` (the item archive), ``chat_sources`` and ``changes`` (the audit log).
"""

from bot.store.hits import HitRepo
from bot.store.items import ItemRepo
from bot.store.migrations import current_version
from bot.store.outbox import OutboxRepo
from bot.store.patrol import PatrolRepo
from bot.store.seen import SeenRepo
from bot.store.settings import ChangeLogRepo, RuleRepo, SourceRepo, SourceStateRepo
from bot.store.store import Store
from bot.store.tickets import TicketRepo

__all__ = [
    "ChangeLogRepo",
    "HitRepo",
    "ItemRepo",
    "OutboxRepo",
    "PatrolRepo",
    "RuleRepo",
    "SeenRepo",
    "SourceRepo",
    "SourceStateRepo",
    "Store",
    "TicketRepo",
    "current_version",
]
