import pytest

from bot.urls import canonical, web_url


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(
            "https://news.example.cn/a/1.html?utm_source=wx&utm_medium=share",
            "https://news.example.cn/a/1.html",
            id="utm",
        ),
        pytest.param(
            "http://www.example.cn/a/1.html#comments",
            "https://example.cn/a/1.html",
            id="scheme-www-fragment",
        ),
        pytest.param(
            "https://Example.CN:443/a/?id=3&spm=a2c.1&from=timeline",
            "https://example.cn/a?id=3",
            id="host-port-spm-from-slash",
        ),
        pytest.param(
            "https://example.cn/list?b=2&a=1",
            "https://example.cn/list?a=1&b=2",
            id="query-order",
        ),
    ],
)
def test_urls_same_article_same_key(a, b):
    assert canonical(a) == canonical(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("https://e.cn/a?id=3", "https://e.cn/a?id=4", id="content-param"),
        pytest.param("https://e.cn:8080/a", "https://e.cn/a", id="other-port"),
        pytest.param("https://e.cn/a/1", "https://e.cn/a/2", id="path"),
    ],
)
def test_urls_different_articles_differ(a, b):
    assert canonical(a) != canonical(b)


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("/a/1.html", "https://x.cn/a/1.html"),
        ("http://example.com:99999/x", ""),
        ("http://[bad/x", ""),
        ("javascript:void(0)", ""),
        ("mailto:a@x.cn", ""),
        ("", ""),
    ],
)
def test_urls_web_url_keeps_only_good_http_links(link, expected):
    assert web_url(link, "https://x.cn/list/") == expected


def test_urls_canonical_of_a_bad_port_is_its_text():
    assert canonical("http://example.com:99999/x") == "http://example.com:99999/x"
