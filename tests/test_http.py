import logging
import socket

import pytest

from bot.errors import BotError
from bot.http import FetchError, fetch, make_client

UA = "shuiwu-yuqing-bot/0.1 (test)"


async def test_fetch_returns_body_headers_and_final_url(feed_server):
    url = feed_server.redirect_chain("/old/rss", "/feeds/tax-news.rss", hops=3)

    async with make_client(UA) as client:
        result = await fetch(client, url)

    assert result.url == feed_server.url("/feeds/tax-news.rss")
    assert result.status == 200
    assert result.headers["content-type"] == "application/rss+xml"
    assert "国家税务总局" in result.content.decode("utf-8")
    assert result.encoding is None
    assert feed_server.requests[-1].headers["User-Agent"] == UA


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        pytest.param("text/xml; charset=GBK", "gbk", id="charset-named"),
        pytest.param("application/rss+xml", None, id="no-charset"),
    ],
)
async def test_fetch_encoding_from_content_type(feed_server, content_type, encoding):
    url = feed_server.route("/x", b"<rss/>", headers={"Content-Type": content_type})

    async with make_client(UA) as client:
        result = await fetch(client, url)

    assert result.encoding == encoding


async def test_fetch_five_redirects_are_followed(feed_server):
    url = feed_server.redirect_chain("/r", "/feeds/tax-news.rss", hops=5)

    async with make_client(UA) as client:
        result = await fetch(client, url)

    assert result.url.endswith("/feeds/tax-news.rss")


async def test_fetch_six_redirects_fail_in_chinese(feed_server):
    url = feed_server.redirect_chain("/r", "/feeds/tax-news.rss", hops=6)

    async with make_client(UA) as client:
        with pytest.raises(FetchError) as caught:
            await fetch(client, url)

    assert "重定向次数过多" in str(caught.value)


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
async def test_fetch_error_status_is_named(feed_server, status, words):
    url = feed_server.route("/gone", "<h1>出错了</h1>", status=status)

    async with make_client(UA) as client:
        with pytest.raises(FetchError) as caught:
            await fetch(client, url)

    assert words in str(caught.value)
    assert caught.value.status == status
    assert isinstance(caught.value, BotError)


@pytest.mark.parametrize(
    "content_length",
    [pytest.param(True, id="declared-length"), pytest.param(False, id="streamed")],
)
async def test_fetch_body_over_five_mb_is_refused(feed_server, content_length):
    url = feed_server.route("/huge", b"x" * 5_000_001, content_length=content_length)

    async with make_client(UA) as client:
        with pytest.raises(FetchError) as caught:
            await fetch(client, url)

    assert str(caught.value) == "返回内容超过 5 MB 上限"


async def test_fetch_body_exactly_at_cap_is_kept(feed_server):
    url = feed_server.route("/edge", b"x" * 1000, content_length=False)

    async with make_client(UA) as client:
        result = await fetch(client, url, max_bytes=1000)

    assert len(result.content) == 1000


async def test_fetch_small_cap_is_named_in_kb(feed_server):
    url = feed_server.route("/edge", b"x" * 1001, content_length=False)

    async with make_client(UA) as client:
        with pytest.raises(FetchError) as caught:
            await fetch(client, url, max_bytes=1000)

    assert str(caught.value) == "返回内容超过 1 KB 上限"


@pytest.mark.parametrize(
    "delay",
    [
        pytest.param({"delay_s": 3}, id="no-headers"),
        pytest.param({"body_delay_s": 3}, id="headers-then-silence"),
    ],
)
async def test_fetch_slow_server_times_out_in_chinese(feed_server, delay):
    url = feed_server.route("/slow", b"<rss/>", **delay)

    async with make_client(UA, timeout_s=0.3) as client:
        with pytest.raises(FetchError) as caught:
            await fetch(client, url)

    assert str(caught.value) == "读取超时（服务器 0.3 秒内没有响应）"
    assert caught.value.status is None


async def test_fetch_refused_connection_is_named():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    async with make_client(UA) as client:
        with pytest.raises(FetchError) as caught:
            await fetch(client, f"http://127.0.0.1:{port}/rss")

    assert "连接被拒绝" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("ftp://tax.example.cn/rss", id="ftp"),
        pytest.param("not a url", id="no-scheme"),
    ],
)
async def test_fetch_invalid_url_is_named(url):
    async with make_client(UA) as client:
        with pytest.raises(FetchError) as caught:
            await fetch(client, url)

    assert "网址无效" in str(caught.value)


async def test_fetch_logs_host_but_not_credentials(feed_server, caplog):
    url = feed_server.url("/feeds/tax-news.rss?access_token=abc123secret")
    url = url.replace("http://", "http://user:pa55word@")
    caplog.set_level(logging.DEBUG, logger="bot.http")

    async with make_client(UA) as client:
        await fetch(client, url)

    assert "fetched host=127.0.0.1 status=200" in caplog.text
    assert "abc123secret" not in caplog.text
    assert "pa55word" not in caplog.text
