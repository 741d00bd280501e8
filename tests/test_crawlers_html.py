import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import HttpSettings, Source, load
from bot.crawlers import PageError, crawler_for
from bot.crawlers.base import CrawlContext
from bot.crawlers.html import MAX_CONTENT_CHARS, HtmlCrawler, parse_page
from bot.http import FetchError, HttpFetcher

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 3, 12, 0, tzinfo=SHANGHAI)
ROOT = Path(__file__).resolve().parent.parent
PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"
HTML = "text/html; charset=utf-8"

CHINATAX_TITLES = [
    "测试：税务部门推进个税汇算便民服务",
    "测试：多地税务局曝光虚开发票案件",
    "测试：新办纳税人“开业套餐”服务…",
]


@pytest.fixture
async def client():
    fetcher = HttpFetcher(HttpSettings(timeout_s=2, retries=0, per_host_delay_s=0))
    yield fetcher
    await fetcher.aclose()


def page_source(url: str, **selectors: str) -> Source:
    fields = {"item": "ul.list li", "title": "a", "link": "a::attr(href)"}
    fields.update(selectors)
    return Source(name="网页来源", kind="html", url=url, section="szk", **fields)


def serve(feed_server, path: str, name: str, content_type: str = HTML) -> str:
    body = (PAGES / name).read_bytes()
    return feed_server.route(path, body, headers={"Content-Type": content_type})


async def crawl(fetcher, source: Source):
    result = await HtmlCrawler().crawl(source, CrawlContext(fetcher, SHANGHAI, NOW))
    return result.items


def at(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=SHANGHAI)


def shipped_source(name: str) -> Source:
    settings = load(ROOT / "config.toml", env={})
    return next(source for source in settings.sources if source.name == name)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("国家税务总局·税务新闻", id="chinatax-news"),
        pytest.param("国家税务总局·税案通报", id="chinatax-cases"),
        pytest.param("国家税务总局·留言公开", id="chinatax-messages"),
    ],
)
async def test_html_shipped_chinatax_selectors_read_the_list_excerpt(
    feed_server, client, name
):
    url = serve(feed_server, "/chinatax/list", "chinatax-list.html")
    source = replace(shipped_source(name), url=url)

    items = await crawl(client, source)

    assert [item.title for item in items] == CHINATAX_TITLES
    assert [item.url for item in items] == [
        feed_server.url("/chinatax/n810219/n810724/c9000001/content.html"),
        "http://www.chinatax.gov.cn/chinatax/n810219/n810724/c9000002/content.html",
        feed_server.url("/chinatax/c9000003/content.html"),
    ]
    assert [item.published for item in items] == [
        at(2026, 3, 2),
        at(2026, 3, 1),
        at(2026, 2, 28),
    ]
    assert {item.source for item in items} == {source.name}
    assert all(item.content == "" for item in items)


@pytest.mark.parametrize(
    "selectors",
    [
        pytest.param(
            {
                "item": "ul.list li",
                "title": "a",
                "link": "a::attr(href)",
                "time": "span::text",
            },
            id="css",
        ),
        pytest.param(
            {
                "item": "//ul[@class='list']/li",
                "title": "./a",
                "link": "./a/@href",
                "time": "./span/text()",
            },
            id="xpath",
        ),
        pytest.param(
            {
                "item": "(//div[@class='common_list']//li)",
                "title": "a",
                "link": "a",
                "time": "span",
            },
            id="xpath-items-css-fields-link-from-element",
        ),
        pytest.param(
            {"item": "ul.list li", "title": "", "link": "", "time": "span"},
            id="first-anchor-when-empty",
        ),
    ],
)
async def test_html_selectors_css_and_xpath_read_the_same_items(
    feed_server, client, selectors
):
    url = serve(feed_server, "/list", "chinatax-list.html")

    items = await crawl(client, page_source(url, **selectors))

    assert [item.title for item in items] == CHINATAX_TITLES
    assert items[0].url == feed_server.url(
        "/chinatax/n810219/n810724/c9000001/content.html"
    )
    assert items[2].published == at(2026, 2, 28)


async def test_html_title_attribute_can_be_selected(feed_server, client):
    url = serve(feed_server, "/list", "chinatax-list.html")

    items = await crawl(client, page_source(url, title="a::attr(title)"))

    assert [item.title for item in items] == [
        "测试：新办纳税人“开业套餐”服务全面推行（完整标题）"
    ]


async def test_html_relative_links_use_the_final_url_after_redirects(
    feed_server, client
):
    serve(feed_server, "/news/list.html", "chinatax-list.html")
    url = feed_server.redirect_chain("/old", "/news/list.html", hops=2)

    items = await crawl(client, page_source(url))

    assert items[2].url == feed_server.url("/news/c9000003/content.html")


async def test_html_malformed_page_keeps_readable_items_and_skips_the_rest(
    feed_server, client, caplog
):
    url = serve(feed_server, "/bad", "malformed.html")
    caplog.set_level(logging.DEBUG, logger="bot.crawlers.html")

    items = await crawl(client, page_source(url, title="a::text", time="span"))

    assert [(item.title, item.url, item.published) for item in items] == [
        ("未闭合的条目一", feed_server.url("/a/1.html"), at(2026, 1, 5)),
        ("未闭合的条目二", feed_server.url("/a/2.html"), at(2026, 1, 6, 8, 15)),
    ]
    assert "item skipped source=网页来源 reason=no_link" in caplog.text


@pytest.mark.parametrize(
    ("content_type", "charset"),
    [
        pytest.param("text/html", "gbk", id="charset-setting"),
        pytest.param("text/html; charset=gbk", "", id="charset-in-header"),
    ],
)
async def test_html_gbk_page_is_decoded(feed_server, client, content_type, charset):
    url = serve(feed_server, "/gbk", "gbk-list.html", content_type)
    source = page_source(
        url, item="table.news tr", title="td a", time="td.date", charset=charset
    )

    items = await crawl(client, source)

    assert [item.title for item in items] == [
        "关于开展2026年度纳税信用评价工作的通知",
        "关于发票领用业务调整的公告",
    ]
    assert items[0].url == feed_server.url("/art/2026/3/5/art_1.html")
    assert items[0].published == at(2026, 3, 5)


async def test_html_item_selector_matching_nothing_fails_in_chinese(
    feed_server, client
):
    url = serve(feed_server, "/list", "chinatax-list.html")

    with pytest.raises(PageError) as caught:
        await crawl(client, page_source(url, item="div.newslist li"))

    assert str(caught.value) == (
        "页面中没有找到条目（选择器 div.newslist li 未匹配），网站可能改版了"
    )
    assert isinstance(caught.value, FetchError)


async def test_html_items_without_titles_fail_in_chinese(feed_server, client):
    url = serve(feed_server, "/list", "chinatax-list.html")

    with pytest.raises(PageError) as caught:
        await crawl(client, page_source(url, title="h3"))

    assert str(caught.value) == (
        "找到 4 个条目，但都读不出标题或链接（请检查 title/link 选择器），"
        "网站可能改版了"
    )


@pytest.mark.parametrize(
    "selectors",
    [
        pytest.param({"item": "ul.list li["}, id="css-item"),
        pytest.param({"title": "a::bogus"}, id="css-pseudo-element"),
        pytest.param({"link": "./a/@href["}, id="xpath-link"),
    ],
)
async def test_html_broken_selector_fails_in_chinese(feed_server, client, selectors):
    url = serve(feed_server, "/list", "chinatax-list.html")

    with pytest.raises(PageError) as caught:
        await crawl(client, page_source(url, **selectors))

    assert "写法有误" in str(caught.value)
    assert "请检查配置" in str(caught.value)


async def test_html_http_error_is_a_fetch_error(feed_server, client):
    url = feed_server.url("/feeds/missing.html")

    with pytest.raises(FetchError) as caught:
        await crawl(client, page_source(url))

    assert caught.value.status == 404


def article_list(*paths: str) -> str:
    rows = "".join(
        f'<li><a href="{path}">文章{n}</a></li>' for n, path in enumerate(paths, 1)
    )
    return f'<html><body><ul class="list">{rows}</ul></body></html>'


async def test_html_content_is_read_from_each_article(feed_server, client):
    serve(feed_server, "/art/1.html", "chinatax-article.html")
    url = feed_server.route(
        "/list", article_list("/art/1.html"), headers={"Content-Type": HTML}
    )

    items = await crawl(client, page_source(url, content="#fontzoom, #zoomcon"))

    assert items[0].content == (
        "为便利纳税人办理年度汇算，税务部门推出预约办理服务。 "
        "纳税人可通过个人所得税App预约。"
    )


async def test_html_content_fetched_only_for_new_items(feed_server, client):
    serve(feed_server, "/art/1.html", "chinatax-article.html")
    serve(feed_server, "/art/2.html", "chinatax-article.html")
    url = feed_server.route(
        "/list",
        article_list("/art/1.html", "/art/2.html"),
        headers={"Content-Type": HTML},
    )
    seen = feed_server.url("/art/1.html")
    ctx = CrawlContext(client, SHANGHAI, NOW, is_new=lambda link: link != seen)

    result = await HtmlCrawler().crawl(page_source(url, content="#fontzoom"), ctx)

    old, new = result.items
    assert old.content == "" and new.content.startswith("为便利纳税人")
    assert feed_server.hits("/art/1.html") == 0
    assert feed_server.hits("/art/2.html") == 1


async def test_html_failed_article_keeps_the_item_without_content(
    feed_server, client, caplog
):
    serve(feed_server, "/art/1.html", "chinatax-article.html")
    url = feed_server.route(
        "/list",
        article_list("/art/missing.html", "/art/1.html"),
        headers={"Content-Type": HTML},
    )

    items = await crawl(client, page_source(url, content="#fontzoom"))

    assert [item.title for item in items] == ["文章1", "文章2"]
    assert items[0].content == ""
    assert items[1].content.startswith("为便利纳税人")
    assert "article not read source=网页来源" in caplog.text
    assert "HTTP 404" in caplog.text


async def test_html_article_without_content_node_warns(feed_server, client, caplog):
    serve(feed_server, "/art/1.html", "chinatax-article.html")
    url = feed_server.route(
        "/list", article_list("/art/1.html"), headers={"Content-Type": HTML}
    )

    items = await crawl(client, page_source(url, content="div.article-body"))

    assert items[0].content == ""
    assert "article content not found" in caplog.text


async def test_html_content_is_capped(feed_server, client):
    long_article = "<div id='body'>" + "税" * (MAX_CONTENT_CHARS + 500) + "</div>"
    feed_server.route("/art/long.html", long_article, headers={"Content-Type": HTML})
    url = feed_server.route(
        "/list", article_list("/art/long.html"), headers={"Content-Type": HTML}
    )

    items = await crawl(client, page_source(url, content="#body"))

    assert len(items[0].content) == MAX_CONTENT_CHARS


def test_parse_page_ignores_nul_bytes_and_duplicate_links():
    text = (
        '<ul class="list"><li><a href="/a">一\x00</a></li>'
        '<li><a href="/a">一</a></li></ul>'
    )

    items = parse_page(
        text,
        url="https://tax.example.cn/",
        source=page_source("https://tax.example.cn/"),
        tz=SHANGHAI,
        now=NOW,
    )

    assert [(item.title, item.url) for item in items] == [
        ("一", "https://tax.example.cn/a")
    ]


@pytest.mark.parametrize(
    ("written", "published"),
    [
        pytest.param("[2026-03-02]", at(2026, 3, 2), id="bracketed-date"),
        pytest.param(
            "发布时间：2026-03-02 09:05", at(2026, 3, 2, 9, 5), id="label-before"
        ),
        pytest.param("3小时前", at(2026, 3, 3, 9, 0), id="relative-to-now"),
        pytest.param("03-01 08:00", at(2026, 3, 1, 8, 0), id="without-year"),
        pytest.param("暂无", None, id="no-date"),
    ],
)
def test_parse_page_reads_list_times_relative_to_now(written, published):
    text = f'<ul class="list"><li><a href="/a">标题</a><em>{written}</em></li></ul>'

    items = parse_page(
        text,
        url="https://tax.example.cn/",
        source=page_source("https://tax.example.cn/", time="em"),
        tz=SHANGHAI,
        now=NOW,
    )

    assert items[0].published == published


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("rss", id="rss"),
        pytest.param("html", id="html"),
        pytest.param("json", id="json"),
        pytest.param("search", id="search"),
    ],
)
def test_crawler_for_every_configurable_kind_has_a_crawler(kind):
    crawler = crawler_for(kind)

    assert crawler is not None
    assert crawler.name == kind


def test_crawler_for_unknown_kind_is_none():
    assert crawler_for("nonsense") is None
