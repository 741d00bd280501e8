"""Shared fixtures: a hermetic environment and small valid configurations."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.feedserver import feed_server  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent

BASE_CONFIG = """
admins = ["admin"]

[bot]
name = "测试机器人"
data_dir = "data"

[[sections]]
id = "szk"
name = "税政管理科"
monitors = ["zhangsan"]
heads = ["lisi"]
chat = "szk-group"

[[sections]]
id = "nfk"
name = "纳税服务科"
monitors = ["wangwu"]
heads = ["zhaoliu"]
chat = "nfk-group"

[office]
members = ["sunqi"]
chat = "office-group"

[leaders]
members = ["leader1"]

[http]
per_host_delay_s = 0
retries = 0

[[rules]]
name = "个税退税"
expr = "个税 退税"
section = "nfk"

[[rules]]
name = "发票投诉"
expr = "发票 投诉"
section = "szk"
level = "较大"
"""


def base_with_chats(szk: str, nfk: str, office: str, data_dir: str = "data") -> str:
    """BASE_CONFIG's bot, people and [http], the sections' and office's chats
    set to these addresses, without its [[rules]] (callers bring their own)."""
    head = BASE_CONFIG.split("[[rules]]")[0]
    for default, chat in (
        ("szk-group", szk),
        ("nfk-group", nfk),
        ("office-group", office),
    ):
        head = head.replace(f'chat = "{default}"', f'chat = "{chat}"')
    return head.replace('data_dir = "data"', f'data_dir = "{data_dir}"')


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No secrets or proxies from the developer's shell leak into a test."""
    for name in list(os.environ):
        if name.startswith("WECOM_") or name.lower().endswith("_proxy"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    """Write a config file (BASE_CONFIG plus `extra`) and return its path."""

    def write(extra: str = "", base: str = BASE_CONFIG) -> Path:
        path = tmp_path / "config.toml"
        path.write_text(
            textwrap.dedent(base) + textwrap.dedent(extra), encoding="utf-8"
        )
        return path

    return write
