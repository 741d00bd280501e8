"""The fake's ``enable_duplicate_check`` on message/send (D90236).

The crash bench counts on it: a message resent after a restart must not show
twice when the bot asked WeCom to drop repeats, exactly as the real server does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from fakewecom import FakeWeCom

AGENT = 1000002


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom(apps={AGENT: "app-secret"}, users=["lisi"]) as server:
        yield server


async def _send(fake: FakeWeCom, times: int, **extra: Any) -> list[dict[str, Any]]:
    body = {"touser": "lisi", "msgtype": "text", "agentid": AGENT}
    body |= {"text": {"content": "通知"}, **extra}
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        token = (
            await http.get(
                "gettoken", params={"corpid": "wwfakecorp", "corpsecret": "app-secret"}
            )
        ).json()["access_token"]
        return [
            (
                await http.post(
                    "message/send", params={"access_token": token}, json=body
                )
            ).json()
            for _ in range(times)
        ]


async def test_fake_duplicate_check_shows_repeat_once(fake):
    answers = await _send(fake, 2, enable_duplicate_check=1)

    assert [a["errcode"] for a in answers] == [0, 0]
    assert answers[0]["msgid"] == answers[1]["msgid"]
    assert len(fake.seen_by("lisi")) == 1
    assert len(fake.state.duplicates) == 1


async def test_fake_without_duplicate_check_shows_both(fake):
    await _send(fake, 2)

    assert len(fake.seen_by("lisi")) == 2


async def test_fake_duplicate_check_lapses_after_interval(fake):
    await _send(fake, 1, enable_duplicate_check=1, duplicate_check_interval=60)
    fake.advance(61)
    await _send(fake, 1, enable_duplicate_check=1, duplicate_check_interval=60)

    assert len(fake.seen_by("lisi")) == 2
