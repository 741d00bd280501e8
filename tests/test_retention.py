"""The nightly expiry: old hit months and seen days go, tickets and patrol stay."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot import config
from bot.app import App
from bot.errors import ConfigError
from bot.models import Hit, PatrolEntry, Ticket


def _hit(title: str, at: datetime) -> Hit:
    return Hit(title, f"https://a.test/{title}", "s", "szk", "r", "一般", at)


async def test_expire_drops_old_hit_months_keeps_tickets(
    write_config: Callable[..., Path],
) -> None:
    settings = config.load(write_config('[scan]\nhit_retention = "100d"\n'))
    now = datetime(2026, 12, 4, 3, 30, tzinfo=settings.tz)
    async with App.open(settings, clock=lambda: now) as app:
        for at in (now - timedelta(days=130), now - timedelta(days=95), now):
            app.store.hits.add(_hit(at.strftime("%Y-%m"), at))
        old = now - timedelta(days=400)
        app.store.tickets.add(
            Ticket("旧处理单", "https://t", "szk", "已归档", "u", old)
        )
        app.store.patrol.add(PatrolEntry("zhangsan", "szk", old))

        await app.expire_seen()

        titles = sorted(hit.title for hit in app.store.hits.since(now - timedelta(900)))
        assert titles == ["2026-08", "2026-12"]  # 2026-07 ended before 08-26
        assert [t.title for t in app.store.tickets.in_year(2025)] == ["旧处理单"]
        assert not (settings.data_dir / "hits" / "2026-07.jsonl").exists()
        assert (settings.data_dir / "patrol" / "2025.jsonl").exists()


def test_hit_retention_too_short_is_config_error(
    write_config: Callable[..., Path],
) -> None:
    path = write_config('[scan]\nhit_retention = "30d"\n')

    with pytest.raises(ConfigError, match="hit_retention"):
        config.load(path)
