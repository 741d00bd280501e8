import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import HttpSettings, Source
from bot.crawlers import FeedError
from bot.crawlers.base import CrawlContext
from bot.crawlers.rss import RssCrawler, html_to_text, parse_feed
from bot.http import FetchError, HttpFetcher

SHANGHAI = ZoneInfo("Asia/Shanghai")
FEEDS = Path(__file__).resolve().parent / "fixtures" / "feeds"


@pytest.fixture
async def client():
    fetcher = HttpFetcher(HttpSettings(timeout_s=2, retries=0, per_host_delay_s=0))
    yield fetcher
    await fetcher.aclose()


def rss_source(url: str) -> Source:
    return Source(name="样例来源", kind="rss", url=url, section="szk")


async def crawl(fetcher, url: str):
    ctx = CrawlContext(fetcher, SHANGHAI, datetime.now(SHANGHAI))
    result = await RssCrawler().crawl(rss_source(url), ctx)
    return result.items


def at(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=SHANGHAI)


async def test_rss_rss20_feed_gives_chinese_titles_links_and_local_dates(
    feed_server, client
):
    url = feed_server.url("/feeds/tax-news.rss")

    items = await crawl(client, url)

    assert [item.title for item in items] == [
        "国家税务总局关于办理2024年度个人所得税综合所得汇算清缴事项的公告",
        "国家税务总局：进一步规范发票管理 严厉打击虚开发票行为",
        "多地税务局推出“非接触式”办税服务",
    ]
    assert items[0].url == "https://tax.example.cn/art/2025/2/28/art_1.html"
    assert items[0].summary.startswith("2025年3月1日至6月30日")
    assert items[0].published == at(2025, 2, 28, 17, 30)
    assert items[1].published == at(2025, 3, 4, 10, 0)
    assert items[1].published.utcoffset().total_seconds() == 8 * 3600
    assert {item.source for item in items} == {"样例来源"}


async def test_rss_missing_date_is_none(feed_server, client):
    items = await crawl(client, feed_server.url("/feeds/tax-news.rss"))

    assert items[2].published is None
    assert items[2].summary == ""


async def test_rss_atom_feed_is_read(feed_server, client):
    items = await crawl(client, feed_server.url("/feeds/tax-news.atom"))

    assert [item.title for item in items] == [
        "国家税务总局召开新闻发布会",
        "个税退税 提醒",
    ]
    assert items[0].url == "https://news.example.cn/tax/2025/0304/1.html"
    assert items[0].summary == "介绍一季度税收收入情况。"
    assert items[0].published == at(2025, 3, 4, 9, 0)
    assert items[1].summary == "请注意退税短信诈骗。"
    assert items[1].published == at(2025, 3, 3, 8, 30)


async def test_rss_rss10_rdf_feed_is_read(feed_server, client):
    items = await crawl(client, feed_server.url("/feeds/tax-news.rdf"))

    assert len(items) == 1
    assert items[0].title == "国家税务总局江苏省税务局开展税收宣传月活动"
    assert items[0].url == "https://rdf.example.cn/a/1.html"
    assert items[0].published == at(2025, 4, 1, 8, 0)


async def test_rss_relative_links_are_made_absolute_after_redirect(feed_server, client):
    url = feed_server.redirect_chain("/old/rss", "/feeds/relative-links.rss", hops=2)

    items = await crawl(client, url)

    assert [item.url for item in items] == [
        feed_server.url("/art/2025/3/6/art_10.html"),
        feed_server.url("/guide/index.html"),
    ]


async def test_rss_html_is_stripped_from_titles_and_summaries(feed_server, client):
    items = await crawl(client, feed_server.url("/feeds/relative-links.rss"))

    assert items[0].title == "关于延期申报的通知"
    assert items[0].summary == "因系统升级，详见公告。 咨询电话：12366"
    assert items[1].summary == "第一行 第二行"


async def test_rss_dates_without_zone_are_local_time(feed_server, client):
    items = await crawl(client, feed_server.url("/feeds/relative-links.rss"))

    assert items[0].published == at(2025, 3, 6, 9, 15)
    assert items[1].published == at(2025, 3, 7, 0, 0)


async def test_rss_entry_without_link_is_skipped(feed_server, client):
    items = await crawl(client, feed_server.url("/feeds/relative-links.rss"))

    assert "没有链接的条目" not in [item.title for item in items]


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("application/rss+xml", id="xml-declaration-only"),
        pytest.param("text/xml", id="text-xml-without-charset"),
        pytest.param("text/xml; charset=gbk", id="charset-in-header"),
    ],
)
async def test_rss_gbk_feed_is_decoded(feed_server, client, content_type):
    url = feed_server.file_route("/gbk", "gbk-news.rss", content_type)

    items = await crawl(client, url)

    assert items[0].title == (
        "国家税务总局深圳市税务局关于开展2025年度纳税信用评价工作的通知"
    )
    assert items[0].summary == "纳税信用评价结果将于4月公布，请纳税人及时关注。"
    assert items[0].published == at(2025, 3, 5, 8, 0)


async def test_rss_feed_served_as_html_is_still_read(feed_server, client):
    url = feed_server.file_route("/mislabelled", "tax-news.rss", "text/html")

    items = await crawl(client, url)

    assert len(items) == 3
    assert items[0].title.startswith("国家税务总局关于办理")


async def test_rss_truncated_feed_keeps_the_entries_it_has(feed_server, client, caplog):
    whole = (FEEDS / "tax-news.rss").read_bytes()
    cut = whole[: whole.index(b"</item>") + len(b"</item>") + 20]
    url = feed_server.route("/cut", cut, headers={"Content-Type": "application/xml"})
    caplog.set_level(logging.DEBUG, logger="bot.crawlers.rss")

    items = await crawl(client, url)

    assert [item.url for item in items] == [
        "https://tax.example.cn/art/2025/2/28/art_1.html"
    ]
    assert "feed not well-formed" in caplog.text


async def test_rss_feed_cut_before_its_first_item_ends_is_a_failure(
    feed_server, client
):
    whole = (FEEDS / "tax-news.rss").read_bytes()
    cut = whole[: whole.index(b"<item>") + len(b"<item><title>broken")]
    url = feed_server.route("/cut0", cut, headers={"Content-Type": "application/xml"})

    with pytest.raises(FeedError) as caught:
        await crawl(client, url)

    assert "订阅源格式有误或内容不完整，没有读出任何条目" in str(caught.value)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        pytest.param(
            (FEEDS / "not-a-feed.html").read_bytes(),
            "text/html; charset=utf-8",
            "不是有效的 RSS/Atom 订阅源（收到的是网页，可能是错误页或登录页）",
            id="html-page",
        ),
        pytest.param(
            b"\x00\xff\x13\x88garbage\x01",
            "application/octet-stream",
            "不是有效的 RSS/Atom 订阅源",
            id="garbage-bytes",
        ),
        pytest.param(
            b"",
            "application/rss+xml",
            "不是有效的 RSS/Atom 订阅源（内容为空）",
            id="empty",
        ),
        pytest.param(
            b'{"items": []}',
            "application/json",
            "不是有效的 RSS/Atom 订阅源",
            id="json",
        ),
    ],
)
async def test_rss_non_feed_fails_in_chinese(
    feed_server, client, body, content_type, message
):
    url = feed_server.route("/bad", body, headers={"Content-Type": content_type})

    with pytest.raises(FeedError) as caught:
        await crawl(client, url)

    assert str(caught.value) == message
    assert isinstance(caught.value, FetchError)


async def test_rss_http_error_is_a_fetch_error(feed_server, client):
    url = feed_server.url("/feeds/missing.rss")

    with pytest.raises(FetchError) as caught:
        await crawl(client, url)

    assert caught.value.status == 404
    assert "HTTP 404" in str(caught.value)


def test_parse_feed_never_opens_urls_or_files():
    body = b"https://tax.example.cn/rss"

    with pytest.raises(FeedError):
        parse_feed(body, url="https://tax.example.cn/", source="s", tz=SHANGHAI)

    with pytest.raises(FeedError):
        parse_feed(b"/etc/hostname", url="https://x.cn/", source="s", tz=SHANGHAI)


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        pytest.param("国家<b>税务</b>总局", "国家税务总局", id="inline-tags-join"),
        pytest.param("<p>第一段</p><p>第二段</p>", "第一段 第二段", id="blocks-split"),
        pytest.param("一<br>二", "一 二", id="br-splits"),
        pytest.param("a&nbsp;&amp;&nbsp;b", "a & b", id="entities"),
        pytest.param("x<script>evil()</script>y", "xy", id="script-dropped"),
        pytest.param("  多个\n\t空白　全角 ", "多个 空白 全角", id="whitespace"),
        pytest.param("", "", id="empty"),
    ],
)
def test_html_to_text_gives_readable_plain_text(markup, text):
    assert html_to_text(markup) == text


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        pytest.param("Tue, 04 Mar 2025 02:00:00 GMT", at(2025, 3, 4, 10), id="rfc822"),
        pytest.param("2025-03-04T10:00:00+08:00", at(2025, 3, 4, 10), id="iso-offset"),
        pytest.param("Tue, 04 Mar 2025 10:00:00", at(2025, 3, 4, 10), id="no-zone"),
        pytest.param("2025年3月4日 10时00分", at(2025, 3, 4, 10), id="chinese"),
        pytest.param("3小时前", at(2025, 3, 4, 9), id="relative"),
        pytest.param("3月4日 08:00", at(2025, 3, 4, 8), id="no-year"),
        pytest.param("1741053600", at(2025, 3, 4, 10), id="unix-seconds"),
        pytest.param("不详", None, id="unknown"),
    ],
)
def test_parse_feed_reads_dates_feedparser_cannot(written, expected):
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>t</title><item><title>国家税务总局公告</title>"
        f"<link>https://tax.example.cn/1.html</link><pubDate>{written}</pubDate>"
        "</item></channel></rss>"
    ).encode()

    items = parse_feed(
        feed,
        url="https://tax.example.cn/",
        source="s",
        tz=SHANGHAI,
        now=at(2025, 3, 4, 12),
    )

    assert items[0].published == expected
