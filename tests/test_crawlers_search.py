from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from bot.config import HttpSettings, Source, load
from bot.crawlers.base import CrawlContext
from bot.crawlers.search import MAX_QUERIES, SearchCrawler, query_url
from bot.http import FetchError, HttpFetcher

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=SHANGHAI)
ROOT = Path(__file__).resolve().parent.parent
FEEDS = Path(__file__).resolve().parent / "fixtures" / "feeds"
RSS = "application/rss+xml"
HTML = "text/html; charset=utf-8"


@pytest.fixture
async def client():
    fetcher = HttpFetcher(HttpSettings(timeout_s=2, retries=0, per_host_delay_s=0))
    yield fetcher
    await fetcher.aclose()


def search_source(url: str, **fields: str) -> Source:
    return Source(name="搜索来源", kind="search", url=url, section="szk", **fields)


async def crawl(fetcher, source: Source, terms: tuple[str, ...]):
    ctx = CrawlContext(fetcher, SHANGHAI, NOW, terms=terms)
    result = await SearchCrawler().crawl(source, ctx)
    return result.items


def per_term(feed_server, term: str, body: bytes | str, content_type: str) -> None:
    feed_server.route(f"/s/{quote(term)}", body, headers={"Content-Type": content_type})


def rss(*entries: tuple[str, str]) -> str:
    items = "".join(
        f"<item><title>{title}</title><link>{link}</link></item>"
        for title, link in entries
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'


async def test_search_merges_the_results_of_every_term_by_url(feed_server, client):
    per_term(feed_server, "个税", (FEEDS / "news-search.rss").read_bytes(), RSS)
    per_term(
        feed_server,
        "发票",
        rss(
            ("测试：发票投诉渠道公布", "https://news.example.cn/2026/0302/2.html"),
            ("测试：电子发票推广", "https://news.example.cn/2026/0302/3.html"),
        ),
        RSS,
    )
    source = search_source(feed_server.url("/s/{q}"))

    items = await crawl(client, source, ("个税", "发票"))

    assert [item.url for item in items] == [
        "https://news.example.cn/2026/0302/1.html",
        "https://news.example.cn/2026/0302/2.html",
        "https://news.example.cn/2026/0302/3.html",
    ]
    assert items[0].title == "测试：个税汇算开始预约"
    assert items[0].summary == "今年个税汇算可提前预约。"
    assert items[0].published == datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
    assert {item.source for item in items} == {"搜索来源"}


@pytest.mark.parametrize(
    ("charset", "query"),
    [
        pytest.param("", "q=%E4%B8%AA%E7%A8%8E%20%E9%80%80%E7%A8%8E", id="utf-8"),
        pytest.param("gbk", "q=%B8%F6%CB%B0%20%CD%CB%CB%B0", id="gbk"),
    ],
)
async def test_search_term_is_url_encoded_in_the_source_charset(
    feed_server, client, charset, query
):
    feed_server.route("/search", rss(), headers={"Content-Type": RSS})
    source = search_source(feed_server.url("/search?q={q}"), charset=charset)

    await crawl(client, source, ("个税 退税",))

    assert [request.path for request in feed_server.requests] == [f"/search?{query}"]


async def test_search_one_failed_query_does_not_fail_the_others(
    feed_server, client, caplog
):
    per_term(feed_server, "发票", rss(("电子发票", "https://n.example.cn/1")), RSS)
    feed_server.route(f"/s/{quote('个税')}", status=503)
    source = search_source(feed_server.url("/s/{q}"))

    items = await crawl(client, source, ("个税", "发票"))

    assert [item.title for item in items] == ["电子发票"]
    assert "query failed source=搜索来源 term=个税" in caplog.text
    assert "HTTP 503" in caplog.text


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        pytest.param(("个税",), "服务器返回 HTTP 404（页面不存在）", id="single-term"),
        pytest.param(
            ("个税", "发票"),
            "2 个关键词的搜索全部失败，如：服务器返回 HTTP 404（页面不存在）",
            id="every-term",
        ),
    ],
)
async def test_search_every_query_failed_is_a_failure(
    feed_server, client, terms, message
):
    source = search_source(feed_server.url("/missing/{q}"))

    with pytest.raises(FetchError) as caught:
        await crawl(client, source, terms)

    assert str(caught.value) == message


async def test_search_without_terms_fails_in_chinese(feed_server, client):
    source = search_source(feed_server.url("/s/{q}"))

    with pytest.raises(FetchError) as caught:
        await crawl(client, source, ("", "  "))

    assert str(caught.value).startswith("没有要搜索的关键词")
    assert feed_server.requests == []


async def test_search_queries_are_capped_per_crawl(feed_server, client, caplog):
    feed_server.route("/search", rss(), headers={"Content-Type": RSS})
    source = search_source(feed_server.url("/search?q={q}"))
    terms = tuple(f"词{n}" for n in range(MAX_QUERIES + 5))

    await crawl(client, source, terms)

    assert len(feed_server.requests) == MAX_QUERIES
    assert f"queries capped source=搜索来源 terms={MAX_QUERIES + 5}" in caplog.text


def result_page(*titles: str) -> str:
    rows = "".join(
        f'<div class="result"><h3><a href="/r/{n}">{title}</a></h3><p>摘要{n}</p></div>'
        for n, title in enumerate(titles, 1)
    )
    return f"<html><body>{rows}</body></html>"


HTML_FIELDS = {"format": "html", "item": "div.result", "title": "h3", "summary": "p"}


async def test_search_html_results_are_read_with_the_selectors(feed_server, client):
    per_term(feed_server, "个税", result_page("个税结果"), HTML)
    per_term(feed_server, "发票", "<html><body>没有结果</body></html>", HTML)
    source = search_source(feed_server.url("/s/{q}"), **HTML_FIELDS)

    items = await crawl(client, source, ("个税", "发票"))

    assert [(item.title, item.url, item.summary) for item in items] == [
        ("个税结果", feed_server.url("/r/1"), "摘要1")
    ]


async def test_search_html_without_results_for_every_term_is_a_failure(
    feed_server, client
):
    per_term(feed_server, "个税", "<html><body>改版后的页面</body></html>", HTML)
    source = search_source(feed_server.url("/s/{q}"), **HTML_FIELDS)

    with pytest.raises(FetchError) as caught:
        await crawl(client, source, ("个税",))

    assert str(caught.value) == (
        "页面中没有找到条目（选择器 div.result 未匹配），网站可能改版了"
    )


async def test_search_json_results_are_read_with_the_paths(feed_server, client):
    per_term(
        feed_server,
        "个税",
        '{"data": {"list": [{"title": "接口结果", "url": "/j/1", "pv": "2万"}]}}',
        "application/json",
    )
    source = search_source(
        feed_server.url("/s/{q}"),
        format="json",
        item="data.list",
        title="title",
        link="url",
        likes="pv",
    )

    items = await crawl(client, source, ("个税",))

    assert [(item.title, item.url, item.likes) for item in items] == [
        ("接口结果", feed_server.url("/j/1"), 20000)
    ]


async def test_search_shipped_news_search_reads_the_rss_excerpt(feed_server, client):
    settings = load(ROOT / "config.toml", env={})
    shipped = next(s for s in settings.sources if s.kind == "search")
    feed_server.route(
        "/news/search",
        (FEEDS / "news-search.rss").read_bytes(),
        headers={"Content-Type": RSS},
    )
    source = search_source(
        feed_server.url("/news/search") + "?" + shipped.url.split("?", 1)[1],
        format=shipped.format,
    )

    items = await crawl(client, source, ("个税",))

    assert (
        feed_server.requests[0].path == "/news/search?q=%E4%B8%AA%E7%A8%8E&format=rss"
    )
    assert [item.url for item in items][0] == "https://news.example.cn/2026/0302/1.html"


@pytest.mark.parametrize(
    ("template", "term", "charset", "url"),
    [
        pytest.param(
            "https://s.example.cn/?q={q}&n=20",
            "发票 投诉",
            "",
            "https://s.example.cn/?q=%E5%8F%91%E7%A5%A8%20%E6%8A%95%E8%AF%89&n=20",
            id="space-and-utf8",
        ),
        pytest.param(
            "https://s.example.cn/?q={q}",
            "a&b=c/d",
            "",
            "https://s.example.cn/?q=a%26b%3Dc%2Fd",
            id="reserved-characters",
        ),
        pytest.param(
            "http://rsshub.example/weibo/keyword/{q}",
            "税务",
            "utf-8",
            "http://rsshub.example/weibo/keyword/%E7%A8%8E%E5%8A%A1",
            id="path-segment",
        ),
        pytest.param(
            "https://s.example.cn/?q={q}",
            "税务",
            "gb2312",
            "https://s.example.cn/?q=%CB%B0%CE%F1",
            id="gb2312",
        ),
    ],
)
def test_query_url_fills_the_encoded_term(template, term, charset, url):
    assert query_url(template, term, charset) == url


def test_query_url_term_outside_the_charset_is_a_fetch_error():
    with pytest.raises(FetchError) as caught:
        query_url("https://s.example.cn/?q={q}", "税务😀", "gbk")

    assert (
        str(caught.value) == "关键词“税务😀”无法用 gbk 编码，请检查来源的 charset 设置"
    )
