"""The README's troubleshooting table covers every WeCom error code the bot
translates, so an operator who reads "（错误码 N）" in an alert finds N there."""

from __future__ import annotations

import re

from bot.wecom import errors
from tests.conftest import ROOT


def troubleshooting() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return readme.split("## 故障排查：企业微信错误码", 1)[1].split("\n## ", 1)[0]


def test_every_translated_error_code_has_a_row():
    rows = set(re.findall(r"^\| (-?\d+) \|", troubleshooting(), re.M))

    codes = {str(code) for code in errors._TABLE} | {"60020"}
    assert codes - rows == set()


def test_each_row_says_what_the_bot_says():
    section = troubleshooting()

    for code, (_, reason) in errors._TABLE.items():
        assert f"| {code} | {reason} |" in section
