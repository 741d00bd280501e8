import json
import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import HttpSettings, Source, load
from bot.crawlers import JsonError
from bot.crawlers.base import CrawlContext
from bot.crawlers.html import parse_count
from bot.crawlers.json import JsonCrawler, is_missing, resolve_path
from bot.http import FetchError, HttpFetcher

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=SHANGHAI)
ROOT = Path(__file__).resolve().parent.parent
PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
JSON_TYPE = "application/json; charset=utf-8"

SOCIAL = {
    "item": "data.cards",
    "title": "mblog.text",
    "link": "mblog.url",
    "time": "mblog.created_ms",
    "reposts": "mblog.reposts_count",
    "comments": "mblog.comments_count",
    "likes": "mblog.attitudes_count",
}


@pytest.fixture
async def client():
    fetcher = HttpFetcher(HttpSettings(timeout_s=2, retries=0, per_host_delay_s=0))
    yield fetcher
    await fetcher.aclose()


def api_source(url: str, **paths: str) -> Source:
    return Source(name="接口来源", kind="json", url=url, section="szk", **paths)


def serve(feed_server, path: str, body: bytes | str, content_type: str = JSON_TYPE):
    return feed_server.route(path, body, headers={"Content-Type": content_type})


async def crawl(fetcher, source: Source):
    result = await JsonCrawler().crawl(source, CrawlContext(fetcher, SHANGHAI, NOW))
    return result.items


def at(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=SHANGHAI)


async def test_json_shipped_gov_policy_paths_read_the_excerpt(
    feed_server, client, caplog
):
    url = serve(
        feed_server,
        "/zhengce/zuixin/list.json",
        PAGES.joinpath("gov-policy.json").read_bytes(),
    )
    settings = load(ROOT / "config.toml", env={})
    shipped = next(s for s in settings.sources if s.name == "中国政府网·最新政策")
    caplog.set_level(logging.DEBUG, logger="bot.crawlers.json")

    items = await crawl(client, replace(shipped, url=url))

    assert [(item.title, item.url) for item in items] == [
        (
            "测试：国务院办公厅关于进一步优化纳税服务的意见",
            "https://www.gov.cn/zhengce/content/202603/content_9000001.htm",
        ),
        (
            "测试：关于延续实施个人所得税优惠政策的公告",
            feed_server.url("/zhengce/zhengceku/202603/content_9000002.htm"),
        ),
    ]
    assert items[0].summary == "国办发〔2026〕1号"
    assert items[1].summary == ""
    assert [item.published for item in items] == [at(2026, 3, 2), at(2026, 3, 1)]
    assert "entry skipped source=中国政府网·最新政策 reason=no_title" in caplog.text
    assert "reason=not_an_object" in caplog.text


async def test_json_nested_paths_counts_and_millisecond_times(feed_server, client):
    url = serve(feed_server, "/api", (PAGES / "social-api.json").read_bytes())

    items = await crawl(client, api_source(url, **SOCIAL))

    assert items[0].title == "网友反映：某地税务局办税大厅排队两小时"
    assert items[0].url == feed_server.url("/detail/900001")
    assert items[0].published == at(2026, 3, 2, 10, 0)
    assert (items[0].reposts, items[0].comments, items[0].likes) == (12000, 356, 3000)
    assert items[1].url == "https://m.example.cn/detail/900002"
    assert items[1].published == at(2026, 3, 2, 9, 0)
    assert (items[1].reposts, items[1].comments, items[1].likes) == (
        None,
        1024,
        100000,
    )


async def test_json_numeric_index_in_the_list_path(feed_server, client):
    body = {"data": [{"list": [{"t": "第一组", "u": "/a/1"}]}, {"list": []}]}
    url = serve(feed_server, "/api", json.dumps(body, ensure_ascii=False))

    items = await crawl(
        client, api_source(url, item="data.0.list", title="t", link="u")
    )

    assert [(item.title, item.url) for item in items] == [
        ("第一组", feed_server.url("/a/1"))
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('cb({"list": [{"t": "回调", "u": "/a"}]});', id="jsonp"),
        pytest.param('/**/ jQuery_123({"list": [{"t": "回调", "u": "/a"}]})', id="jq"),
        pytest.param('\ufeff{"list": [{"t": "回调", "u": "/a"}]}', id="bom"),
    ],
)
async def test_json_jsonp_and_bom_bodies_are_read(feed_server, client, body):
    url = serve(feed_server, "/api", body, "application/javascript")

    items = await crawl(client, api_source(url, item="list", title="t", link="u"))

    assert [item.title for item in items] == ["回调"]


async def test_json_gbk_body_is_decoded_with_the_charset_setting(feed_server, client):
    gbk = json.dumps(
        {"rows": [{"t": "发票投诉处理", "u": "/x"}]}, ensure_ascii=False
    ).encode("gbk")
    url = serve(feed_server, "/api", gbk, "application/json")

    items = await crawl(
        client, api_source(url, item="rows", title="t", link="u", charset="gbk")
    )

    assert [item.title for item in items] == ["发票投诉处理"]


async def test_json_empty_list_gives_no_items(feed_server, client):
    url = serve(feed_server, "/api", '{"data": {"list": []}}')

    items = await crawl(client, api_source(url, item="data.list", title="t", link="u"))

    assert items == []


@pytest.mark.parametrize(
    ("body", "item", "message"),
    [
        pytest.param(
            '{"data": {"items": []}}',
            "data.list",
            "JSON 中没有找到条目列表（路径 data.list 不存在），接口可能改版了",
            id="missing-path",
        ),
        pytest.param(
            '{"data": {"list": {"t": "x"}}}',
            "data.list",
            "JSON 路径 data.list 处不是列表（而是对象），请检查 item 配置",
            id="not-a-list",
        ),
        pytest.param(
            '{"data": [1]}',
            "data.3",
            "JSON 中没有找到条目列表（路径 data.3 不存在），接口可能改版了",
            id="index-out-of-range",
        ),
        pytest.param(
            '{"data": {"list": [}',
            "data.list",
            "返回内容不是有效的 JSON（第 1 行第 20 列附近出错）",
            id="malformed",
        ),
        pytest.param(
            "<html><body>请先登录</body></html>",
            "data.list",
            "返回内容不是有效的 JSON（收到的是网页，可能是错误页或登录页）",
            id="html-page",
        ),
        pytest.param(
            "  ",
            "data.list",
            "返回内容不是有效的 JSON（内容为空）",
            id="empty",
        ),
    ],
)
async def test_json_unreadable_bodies_fail_in_chinese(
    feed_server, client, body, item, message
):
    url = serve(feed_server, "/api", body)

    with pytest.raises(JsonError) as caught:
        await crawl(client, api_source(url, item=item, title="t", link="u"))

    assert str(caught.value) == message
    assert isinstance(caught.value, FetchError)


async def test_json_entries_without_link_are_skipped(feed_server, client):
    body = (
        '[{"t": "有链接", "u": "/a"}, {"t": "无链接"}, {"t": "坏链接", "u": {"x": 1}}]'
    )
    url = serve(feed_server, "/api", body)

    items = await crawl(client, api_source(url, item=".", title="t", link="u"))

    assert [item.title for item in items] == ["有链接"]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("", {"a": [{"b": 1}]}, id="empty-is-root"),
        pytest.param(".", {"a": [{"b": 1}]}, id="dot-is-root"),
        pytest.param("a.0.b", 1, id="index"),
        pytest.param("a.-1.b", 1, id="negative-index"),
    ],
)
def test_resolve_path_follows_keys_and_indexes(path, expected):
    assert resolve_path({"a": [{"b": 1}]}, path) == expected


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("b", id="missing-key"),
        pytest.param("a.1", id="index-out-of-range"),
        pytest.param("a.x", id="key-on-a-list"),
        pytest.param("a.0.b.c", id="key-on-a-number"),
    ],
)
def test_resolve_path_missing_step_is_missing_not_none(path):
    assert is_missing(resolve_path({"a": [{"b": 1}]}, path))


@pytest.mark.parametrize(
    ("value", "count"),
    [
        pytest.param(12, 12, id="int"),
        pytest.param(12.7, 12, id="float"),
        pytest.param("356", 356, id="digits"),
        pytest.param("1,024", 1024, id="thousands-separator"),
        pytest.param("1.2万", 12000, id="wan"),
        pytest.param("10万+", 100000, id="wan-plus"),
        pytest.param("3k", 3000, id="k"),
        pytest.param("2.5W", 25000, id="w"),
        pytest.param("1亿", 100_000_000, id="yi"),
        pytest.param("", None, id="empty"),
        pytest.param("转发", None, id="label-only"),
        pytest.param(None, None, id="none"),
        pytest.param(True, None, id="bool"),
        pytest.param(-1, None, id="negative"),
        pytest.param(float("nan"), None, id="nan"),
        pytest.param(float("inf"), None, id="infinity"),
    ],
)
def test_parse_count_reads_chinese_and_abbreviated_counts(value, count):
    assert parse_count(value) == count
