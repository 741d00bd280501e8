"""Source faults end to end: each misbehaving server scanned beside a healthy one.

Every test runs a real scan (`App.scan_all`, config loaded from a file, real
sockets on 127.0.0.1) of two sources: one pointed at a fault of
`tests.faultserver` and a healthy feed. What a user would notice is checked: the
scan returns, the office chat hears why the faulty source failed (in Chinese),
nothing the faulty source half-sent is stored or announced, and the healthy
source's hit still reaches its section. Faults whose bytes can be read (long
lines, wrong charsets) must come out as readable items instead.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import config
from bot.app import App
from bot.crawlers.json import NOT_JSON
from bot.crawlers.rss import NOT_A_FEED
from bot.http import ATTEMPT_TIMEOUT_FACTOR
from bot.scan import HIT_SUMMARY_CHARS, MAX_TITLE_CHARS, ScanReport, url_key
from bot.store.items import SUMMARY_CHARS
from tests.conftest import BASE_CONFIG
from tests.faultserver import (
    FAULTS,
    HEALTHY_LINK,
    HEALTHY_TITLE,
    HIT_TITLE,
    PLAIN_TITLE,
    FaultServer,
    hit_entry,
    plain_link,
    source_toml,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 3, 5, 10, 0, tzinfo=TZ)
TIMEOUT_S = 1  # the least [http] timeout_s config accepts
# Not a measurement: only a guard that turns "hangs forever" into a failure.
BOUND_S = 4 * ATTEMPT_TIMEOUT_FACTOR * TIMEOUT_S

HTTP = f"[http]\ntimeout_s = {TIMEOUT_S}\nmax_bytes = 12_000_000\n"
SETTINGS = """
[scan]
failures_before_alert = 1

[[rules]]
name = "虚开发票"
expr = "虚开发票"
section = "szk"
"""

FAILURES = {
    "hang": f"读取超时（服务器 {TIMEOUT_S} 秒内没有响应）",
    "drip": f"下载超时（{ATTEMPT_TIMEOUT_FACTOR * TIMEOUT_S} 秒内没有下载完）",
    "reset": "连接在传输中途被断开（服务器重置了连接或网络中断）",
    "gzip-bomb": "返回内容超过 12 MB 上限",
    "redirect-loop": "重定向次数过多（超过 5 次）",
    "junk-line-rss": NOT_A_FEED,
    "junk-line-html": "页面中没有找到条目（选择器 li 未匹配），网站可能改版了",
    "junk-line-json": f"{NOT_JSON}（收到的是网页，可能是错误页或登录页）",
    "random-rss": NOT_A_FEED,
    "random-html": "页面中没有找到条目（选择器 li 未匹配），网站可能改版了",
    "random-json": f"{NOT_JSON}（第 1 行第 1 列附近出错）",
}
LONG_LINES = ["line-rss", "line-html", "line-json"]
CHARSETS = [
    f"{case}-{kind}"
    for case in ("gbk-as-utf8", "bogus-charset", "bad-bytes")
    for kind in ("rss", "html", "json")
]


class Recorder:
    """A poster that keeps what the outbox delivers, per chat."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str]] = []

    async def post(self, chat: str, text: str) -> None:
        self.posted.append((chat, text))

    def to(self, chat: str) -> str:
        return "\n".join(text for where, text in self.posted if where == chat)


@pytest.fixture
def fault_server():
    with FaultServer(NOW) as server:
        yield server


@pytest.fixture
async def scan_fault(write_config, fault_server):
    """Scan the healthy feed and fault `name` once: (report, open app, poster)."""
    opened: list[App] = []

    async def scan(name: str) -> tuple[ScanReport, App, Recorder]:
        fault = next(f for f in FAULTS if f.name == name)
        healthy = source_toml("健康来源", "rss", fault_server.url("/ok"))
        faulty = source_toml("故障来源", fault.kind, fault_server.url(f"/{name}"))
        base = BASE_CONFIG.split("[[rules]]")[0].replace("[http]\n", HTTP)
        settings = config.load(
            write_config(healthy + faulty + SETTINGS, base=base), env={}
        )
        app = App.open(settings, clock=lambda: NOW)
        opened.append(app)
        app.poster = poster = Recorder()
        async with asyncio.timeout(BOUND_S):
            report = await app.scan_all()
        return report, app, poster

    yield scan
    for app in opened:
        await app.close()


def by_name(report):
    return {source.name: source for source in report.sources}


@pytest.mark.parametrize("name", FAILURES)
async def test_source_fault_fails_in_chinese_others_still_hit(scan_fault, name):
    expected = FAILURES[name]

    report, app, poster = await scan_fault(name)

    state = app.store.sources.get("故障来源")
    stored = app.store.hits.since(NOW)
    archived = app.store.items.since(NOW)
    sources = by_name(report)
    assert not sources["故障来源"].ok
    assert sources["故障来源"].error == expected
    assert state.consecutive_failures == 1
    assert state.last_error == expected
    assert "监测来源异常</font>：故障来源" in poster.to("office-group")
    assert f"最近一次原因：{expected}" in poster.to("office-group")
    assert sources["健康来源"].ok and sources["健康来源"].hits == 1
    assert [hit.title for hit in stored] == [HEALTHY_TITLE]
    assert {item.source for item in archived} == {"健康来源"}
    assert not app.store.seen.has(url_key(hit_entry(name).link))
    assert HEALTHY_LINK in poster.to("szk-group")
    assert hit_entry(name).link not in poster.to("szk-group")


@pytest.mark.parametrize("name", LONG_LINES)
async def test_source_ten_mb_single_line_is_read(scan_fault, name):
    report, app, poster = await scan_fault(name)

    stored = {hit.title: hit for hit in app.store.hits.since(NOW)}
    archived = {item.url: item for item in app.store.items.since(NOW)}
    sources = by_name(report)
    assert sources["故障来源"].ok and sources["故障来源"].items == 2
    assert sources["健康来源"].ok and sources["健康来源"].hits == 1
    assert set(stored) == {HIT_TITLE, HEALTHY_TITLE}
    assert len(stored[HIT_TITLE].summary) == HIT_SUMMARY_CHARS
    assert len(archived[hit_entry(name).link].summary) == SUMMARY_CHARS
    assert archived[plain_link(name)].title == PLAIN_TITLE
    assert hit_entry(name).link in poster.to("szk-group")
    assert poster.to("office-group") == ""


async def test_source_unclosed_link_title_is_cut(scan_fault):
    report, app, poster = await scan_fault("unclosed-link")

    [hit] = [h for h in app.store.hits.since(NOW) if h.source == "故障来源"]
    [archived] = [i for i in app.store.items.since(NOW) if i.source == "故障来源"]
    sources = by_name(report)
    assert sources["故障来源"].ok and sources["健康来源"].hits == 1
    assert hit.title.startswith(HIT_TITLE) and hit.title.endswith("…")
    assert len(hit.title) == len(archived.title) == MAX_TITLE_CHARS
    # One digest for the section, not the thousands a 10 MB title splits into.
    assert [chat for chat, _ in poster.posted] == ["szk-group"]


@pytest.mark.parametrize("name", CHARSETS)
async def test_source_charset_fault_items_are_decoded(scan_fault, name):
    report, app, poster = await scan_fault(name)

    stored = [hit.title for hit in app.store.hits.since(NOW)]
    archived = {item.url: item.title for item in app.store.items.since(NOW)}
    plain = archived[plain_link(name)]
    sources = by_name(report)
    assert sources["故障来源"].ok and sources["故障来源"].items == 2
    assert sorted(stored) == sorted([HIT_TITLE, HEALTHY_TITLE])
    assert hit_entry(name).link in poster.to("szk-group")
    if name.startswith("bad-bytes"):
        assert plain.startswith("普通条目：办税服务厅") and "\ufffd" in plain
    else:
        assert plain == PLAIN_TITLE
