import asyncio
import gzip
import logging
import socket
import threading
import zlib

import pytest

from bot.config import HttpSettings
from bot.errors import BotError
from bot.http import FetchError, HttpFetcher
from tests.feedserver import Route

UA = "shuiwu-yuqing-bot/0.1 (test)"
NOTICE = "国家税务总局关于开展2025年度纳税信用评价工作的通知"


class Waits:
    """A fake `sleep` that records the waits asked for, and a matching clock."""

    def __init__(self, advance: bool = True) -> None:
        self.asked: list[float] = []
        self.now = 1000.0
        self.advance = advance

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        if self.advance:
            self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def waits():
    return Waits()


@pytest.fixture
async def make_fetcher(waits):
    made: list[HttpFetcher] = []

    def make(**overrides: object) -> HttpFetcher:
        options = {
            "user_agent": UA,
            "timeout_s": 5.0,
            "retries": 0,
            "per_host_delay_s": 0.0,
        } | overrides
        fetcher = HttpFetcher(
            HttpSettings(**options), sleep=waits.sleep, clock=waits.clock
        )
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        await fetcher.aclose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_fetch_returns_body_headers_and_final_url(feed_server, make_fetcher):
    url = feed_server.redirect_chain("/old/rss", "/feeds/tax-news.rss", hops=3)

    result = await make_fetcher().fetch(url)

    assert result.url == feed_server.url("/feeds/tax-news.rss")
    assert result.status == 200
    assert result.headers["content-type"] == "application/rss+xml"
    assert "国家税务总局" in result.content.decode("utf-8")
    assert result.encoding is None
    assert result.not_modified is False
    assert feed_server.requests[-1].headers["User-Agent"] == UA


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        pytest.param("text/xml; charset=GBK", "gbk", id="charset-named"),
        pytest.param("application/rss+xml", None, id="no-charset"),
    ],
)
async def test_fetch_encoding_from_content_type(
    feed_server, make_fetcher, content_type, encoding
):
    url = feed_server.route("/x", b"<rss/>", headers={"Content-Type": content_type})

    result = await make_fetcher().fetch(url)

    assert result.encoding == encoding


@pytest.mark.parametrize(
    ("content_type", "forced", "expected"),
    [
        pytest.param("text/html; charset=gbk", "", NOTICE, id="header-charset"),
        pytest.param("text/html; charset=utf-8", "", NOTICE, id="mislabelled-utf8"),
        pytest.param("text/html", "gb2312", NOTICE, id="forced-charset"),
        pytest.param(
            "text/html; charset=gbk",
            "big5",
            NOTICE.encode("gbk").decode("big5", errors="replace"),
            id="forced-beats-header",
        ),
    ],
)
async def test_fetch_result_text_decodes_the_charset(
    feed_server, make_fetcher, content_type, forced, expected
):
    body = NOTICE.encode("gbk")
    url = feed_server.route("/page", body, headers={"Content-Type": content_type})
    result = await make_fetcher().fetch(url)

    text = result.text(forced)

    assert text == expected


async def test_fetch_five_redirects_are_followed(feed_server, make_fetcher):
    url = feed_server.redirect_chain("/r", "/feeds/tax-news.rss", hops=5)

    result = await make_fetcher().fetch(url)

    assert result.url.endswith("/feeds/tax-news.rss")


async def test_fetch_six_redirects_fail_in_chinese(feed_server, make_fetcher):
    url = feed_server.redirect_chain("/r", "/feeds/tax-news.rss", hops=6)

    with pytest.raises(FetchError) as caught:
        await make_fetcher(retries=2).fetch(url)

    assert str(caught.value) == "重定向次数过多（超过 5 次）"
    assert feed_server.hits("/r") == 1


@pytest.mark.parametrize(
    ("status", "words"),
    [
        pytest.param(404, "HTTP 404（页面不存在）", id="not-found"),
        pytest.param(403, "HTTP 403（禁止访问）", id="forbidden"),
        pytest.param(503, "HTTP 503（服务暂不可用）", id="unavailable"),
        pytest.param(418, "HTTP 418（请求被拒绝）", id="other-4xx"),
        pytest.param(599, "HTTP 599（服务器出错）", id="other-5xx"),
    ],
)
async def test_fetch_error_status_is_named(feed_server, make_fetcher, status, words):
    url = feed_server.route("/gone", "<h1>出错了</h1>", status=status)

    with pytest.raises(FetchError) as caught:
        await make_fetcher().fetch(url)

    assert str(caught.value) == f"服务器返回 {words}"
    assert caught.value.status == status
    assert isinstance(caught.value, BotError)


@pytest.mark.parametrize(
    "content_length",
    [pytest.param(True, id="declared-length"), pytest.param(False, id="streamed")],
)
async def test_fetch_body_over_five_mb_is_refused(
    feed_server, make_fetcher, content_length
):
    url = feed_server.route("/huge", b"x" * 5_000_001, content_length=content_length)

    with pytest.raises(FetchError) as caught:
        await make_fetcher(max_bytes=5_000_000).fetch(url)

    assert str(caught.value) == "返回内容超过 5 MB 上限"


async def test_fetch_body_exactly_at_cap_is_kept(feed_server, make_fetcher):
    url = feed_server.route("/edge", b"x" * 1000, content_length=False)

    result = await make_fetcher(max_bytes=1000).fetch(url)

    assert len(result.content) == 1000


async def test_fetch_small_cap_is_named_in_kb(feed_server, make_fetcher):
    url = feed_server.route("/edge", b"x" * 1001, content_length=False)

    with pytest.raises(FetchError) as caught:
        await make_fetcher(max_bytes=1000).fetch(url)

    assert str(caught.value) == "返回内容超过 1 KB 上限"


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        pytest.param("gzip", gzip.compress, id="gzip"),
        pytest.param("deflate", zlib.compress, id="deflate-zlib"),
        pytest.param(
            "deflate",
            lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS),
            id="deflate-raw",
        ),
    ],
)
async def test_fetch_compressed_body_is_inflated(
    feed_server, make_fetcher, encoding, compress
):
    body = ("<p>" + NOTICE + "</p>").encode() * 500
    url = feed_server.route(
        "/z", compress(body), headers={"Content-Encoding": encoding}
    )

    result = await make_fetcher().fetch(url)

    assert result.content == body
    assert feed_server.requests[-1].headers["Accept-Encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    "size",
    [pytest.param(1_000_001, id="just-over"), pytest.param(50_000_000, id="bomb")],
)
async def test_fetch_compressed_body_is_capped_after_inflating(
    feed_server, make_fetcher, size
):
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1_000_000)
    bomb = b"".join(packer.compress(zeros) for _ in range(size // len(zeros)))
    bomb += packer.compress(bytes(size % len(zeros))) + packer.flush()
    url = feed_server.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})

    with pytest.raises(FetchError) as caught:
        await make_fetcher(max_bytes=1_000_000).fetch(url)

    assert len(bomb) < 1_000_000
    assert str(caught.value) == "返回内容超过 1 MB 上限"


async def test_fetch_corrupt_gzip_is_named(feed_server, make_fetcher):
    url = feed_server.route(
        "/z", b"not gzip at all", headers={"Content-Encoding": "gzip"}
    )

    with pytest.raises(FetchError) as caught:
        await make_fetcher().fetch(url)

    assert str(caught.value) == "返回内容无法解压"


@pytest.mark.parametrize(
    "delay",
    [
        pytest.param({"delay_s": 3}, id="no-headers"),
        pytest.param({"body_delay_s": 3}, id="headers-then-silence"),
    ],
)
async def test_fetch_slow_server_times_out_in_chinese(feed_server, make_fetcher, delay):
    url = feed_server.route("/slow", b"<rss/>", **delay)

    with pytest.raises(FetchError) as caught:
        await make_fetcher(timeout_s=0.3).fetch(url)

    assert str(caught.value) == "读取超时（服务器 0.3 秒内没有响应）"
    assert caught.value.status is None


async def test_fetch_refused_connection_is_named(make_fetcher):
    url = f"http://127.0.0.1:{free_port()}/rss"

    with pytest.raises(FetchError) as caught:
        await make_fetcher().fetch(url)

    assert str(caught.value) == "连接被拒绝（服务器没有在该端口提供服务）"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("ftp://tax.example.cn/rss", id="ftp"),
        pytest.param("not a url", id="no-scheme"),
    ],
)
async def test_fetch_invalid_url_is_named(make_fetcher, waits, url):
    with pytest.raises(FetchError) as caught:
        await make_fetcher(retries=2).fetch(url)

    assert "网址无效" in str(caught.value)
    assert waits.asked == []


async def test_fetch_logs_host_but_not_credentials(feed_server, make_fetcher, caplog):
    url = feed_server.url("/feeds/tax-news.rss?access_token=abc123secret")
    url = url.replace("http://", "http://user:pa55word@")
    caplog.set_level(logging.DEBUG, logger="bot.http")

    await make_fetcher().fetch(url)

    assert "fetched host=127.0.0.1 status=200" in caplog.text
    assert "abc123secret" not in caplog.text
    assert "pa55word" not in caplog.text


async def test_fetch_retries_503_then_succeeds(
    feed_server, make_fetcher, waits, caplog
):
    url = feed_server.sequence(
        "/flaky", Route(status=503), Route(status=503), Route(body=b"<rss/>")
    )
    caplog.set_level(logging.WARNING, logger="bot.http")

    result = await make_fetcher(retries=2).fetch(url)

    assert result.content == b"<rss/>"
    assert feed_server.hits("/flaky") == 3
    first, second = waits.asked
    assert 1.0 <= first <= 1.5
    assert 2.0 <= second <= 3.0
    assert "retry planned host=127.0.0.1 attempt=2 delay_s=" in caplog.text
    assert "retry planned host=127.0.0.1 attempt=3 delay_s=" in caplog.text
    assert "reason=服务器返回 HTTP 503（服务暂不可用）" in caplog.text


async def test_fetch_retries_exhausted_names_the_last_failure(
    feed_server, make_fetcher, waits
):
    url = feed_server.route("/down", "<h1>维护中</h1>", status=503)

    with pytest.raises(FetchError) as caught:
        await make_fetcher(retries=2).fetch(url)

    assert str(caught.value) == "重试 2 次后仍失败：服务器返回 HTTP 503（服务暂不可用）"
    assert caught.value.status == 503
    assert feed_server.hits("/down") == 3
    assert len(waits.asked) == 2


@pytest.mark.parametrize(
    "status",
    [
        pytest.param(400, id="bad-request"),
        pytest.param(403, id="forbidden"),
        pytest.param(404, id="not-found"),
    ],
)
async def test_fetch_other_4xx_is_never_retried(
    feed_server, make_fetcher, waits, status
):
    url = feed_server.route("/no", status=status)

    with pytest.raises(FetchError) as caught:
        await make_fetcher(retries=3).fetch(url)

    assert caught.value.status == status
    assert feed_server.hits("/no") == 1
    assert waits.asked == []


async def test_fetch_4xx_after_a_retry_says_so(feed_server, make_fetcher):
    url = feed_server.sequence("/s", Route(status=502), Route(status=404))

    with pytest.raises(FetchError) as caught:
        await make_fetcher(retries=3).fetch(url)

    assert str(caught.value) == "重试 1 次后仍失败：服务器返回 HTTP 404（页面不存在）"
    assert feed_server.hits("/s") == 2


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        pytest.param({"Retry-After": "7"}, 7.0, id="seconds"),
        pytest.param({"Retry-After": "0"}, 0.0, id="zero"),
        pytest.param({"Retry-After": "3600"}, 60.0, id="seconds-capped"),
        pytest.param(
            {
                "Date": "Tue, 04 Mar 2025 02:00:00 GMT",
                "Retry-After": "Tue, 04 Mar 2025 02:00:30 GMT",
            },
            30.0,
            id="http-date",
        ),
        pytest.param(
            {
                "Date": "Tue, 04 Mar 2025 02:00:00 GMT",
                "Retry-After": "Wed, 05 Mar 2025 02:00:00 GMT",
            },
            60.0,
            id="http-date-capped",
        ),
        pytest.param(
            {
                "Date": "Tue, 04 Mar 2025 02:00:00 GMT",
                "Retry-After": "Mon, 03 Mar 2025 02:00:00 GMT",
            },
            0.0,
            id="http-date-past",
        ),
    ],
)
async def test_fetch_429_honours_retry_after(
    feed_server, make_fetcher, waits, headers, wait
):
    url = feed_server.sequence(
        "/busy", Route(status=429, headers=headers), Route(body=b"ok")
    )

    result = await make_fetcher(retries=1).fetch(url)

    assert result.content == b"ok"
    assert waits.asked == [wait]


async def test_fetch_unreadable_retry_after_falls_back_to_backoff(
    feed_server, make_fetcher, waits
):
    busy = Route(status=503, headers={"Retry-After": "soon"})
    url = feed_server.sequence("/busy", busy, Route(body=b"ok"))

    await make_fetcher(retries=1).fetch(url)

    [wait] = waits.asked
    assert 1.0 <= wait <= 1.5


async def test_fetch_timeout_is_retried(feed_server, make_fetcher, caplog):
    url = feed_server.sequence("/slow", Route(delay_s=3), Route(body=b"<rss/>"))
    caplog.set_level(logging.WARNING, logger="bot.http")

    result = await make_fetcher(timeout_s=0.3, retries=1).fetch(url)

    assert result.content == b"<rss/>"
    assert "reason=读取超时（服务器 0.3 秒内没有响应）" in caplog.text


async def test_fetch_refused_connection_is_retried(make_fetcher, waits):
    url = f"http://127.0.0.1:{free_port()}/rss"

    with pytest.raises(FetchError) as caught:
        await make_fetcher(retries=2).fetch(url)

    assert str(caught.value) == (
        "重试 2 次后仍失败：连接被拒绝（服务器没有在该端口提供服务）"
    )
    assert caught.value.status is None
    assert len(waits.asked) == 2


async def test_fetch_sends_validators_and_reads_304(feed_server, make_fetcher):
    validators = {"etag": '"v1"', "last_modified": "Tue, 04 Mar 2025 02:00:00 GMT"}
    feed_server.routes["/feed"] = Route(body=b"<rss/>", **validators)
    url = feed_server.url("/feed")
    fetcher = make_fetcher()
    first = await fetcher.fetch(url)

    second = await fetcher.fetch(
        url, etag=first.etag, last_modified=first.last_modified
    )

    assert (first.etag, first.last_modified) == (
        validators["etag"],
        validators["last_modified"],
    )
    assert second.not_modified is True
    assert second.status == 304
    assert second.content == b""
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    sent = feed_server.requests[-1].headers
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Tue, 04 Mar 2025 02:00:00 GMT"


async def test_fetch_304_without_validators_keeps_the_old_ones(
    feed_server, make_fetcher
):
    url = feed_server.route("/feed", status=304)

    result = await make_fetcher().fetch(
        url, etag='"v1"', last_modified="Tue, 04 Mar 2025 02:00:00 GMT"
    )

    assert result.not_modified is True
    assert result.etag == '"v1"'
    assert result.last_modified == "Tue, 04 Mar 2025 02:00:00 GMT"


async def test_fetch_changed_feed_gives_new_validators(feed_server, make_fetcher):
    feed_server.routes["/feed"] = Route(body=b"<rss>new</rss>", etag='"v2"')
    url = feed_server.url("/feed")

    result = await make_fetcher().fetch(url, etag='"v1"')

    assert result.not_modified is False
    assert result.content == b"<rss>new</rss>"
    assert result.etag == '"v2"'
    assert result.last_modified == ""


async def test_fetch_without_validators_sends_no_conditions(feed_server, make_fetcher):
    url = feed_server.route("/feed", b"<rss/>")

    await make_fetcher().fetch(url)

    sent = feed_server.requests[-1].headers
    assert "If-None-Match" not in sent
    assert "If-Modified-Since" not in sent


async def test_fetch_spaces_starts_per_host(feed_server, make_fetcher, waits):
    url = feed_server.route("/a", b"ok")
    other_host = f"http://127.0.0.2:{free_port()}/b"
    fetcher = make_fetcher(per_host_delay_s=1.5)
    await fetcher.fetch(url)
    with pytest.raises(FetchError):
        await fetcher.fetch(other_host)

    await fetcher.fetch(url)
    await fetcher.fetch(url)

    assert waits.asked == [1.5, 1.5]


async def test_fetch_concurrent_starts_are_spaced(feed_server, make_fetcher):
    url = feed_server.route("/a", b"ok")
    frozen = Waits(advance=False)
    fetcher = HttpFetcher(
        HttpSettings(user_agent=UA, per_host_delay_s=1.0, per_host_concurrency=3),
        sleep=frozen.sleep,
        clock=frozen.clock,
    )

    try:
        await asyncio.gather(*(fetcher.fetch(url) for _ in range(3)))
    finally:
        await fetcher.aclose()

    assert sorted(frozen.asked) == [1.0, 2.0]


async def test_fetch_caps_requests_in_flight_per_host(feed_server, make_fetcher):
    release = threading.Event()
    url = feed_server.route("/held", b"ok", hold=release)
    fetcher = make_fetcher(per_host_concurrency=2)
    tasks = [asyncio.create_task(fetcher.fetch(url)) for _ in range(4)]
    arrived = await asyncio.to_thread(feed_server.wait_for_hits, "/held", 2)

    release.set()
    results = await asyncio.gather(*tasks)

    assert arrived
    assert [r.content for r in results] == [b"ok"] * 4
    assert feed_server.max_in_flight["/held"] == 2


async def test_fetch_goes_through_the_configured_proxy(feed_server, make_fetcher):
    fetcher = make_fetcher(proxy=feed_server.base_url)

    result = await fetcher.fetch("http://tax.example.cn/feeds/tax-news.rss")

    assert "国家税务总局" in result.content.decode("utf-8")
    assert feed_server.requests[-1].path == "http://tax.example.cn/feeds/tax-news.rss"
