import codecs
from pathlib import Path

import pytest

from bot.charset import decode, pick_charset

PAGES = Path(__file__).resolve().parent / "fixtures" / "pages"

NOTICE = "国家税务总局关于开展2025年度纳税信用评价工作的通知：请纳税人及时关注。"
# 镕 and 堃 are in GBK but not in GB2312.
GBK_ONLY = "国家税务总局：朱镕基同志题词、王堃同志联络。"
# 𠀀 (U+20000) needs GB18030's four-byte form.
GB18030_ONLY = "国家税务总局生僻字𠀀测试公告"


def page(text: str, head: str = "") -> str:
    return (
        f"<html><head>{head}</head><body><h1>通知公告</h1><p>{text}</p></body></html>"
    )


META_GBK = '<meta charset="gbk">'
META_HTTP_EQUIV_GBK = (
    '<meta http-equiv="Content-Type" content="text/html; charset=GBK">'
)
META_UTF8 = '<meta charset="utf-8">'


@pytest.mark.parametrize(
    ("content", "declared", "expected"),
    [
        pytest.param(
            page(NOTICE, META_GBK).encode("gbk"), None, "gb18030", id="gbk-meta-charset"
        ),
        pytest.param(
            page(NOTICE, META_HTTP_EQUIV_GBK).encode("gbk"),
            None,
            "gb18030",
            id="gbk-meta-http-equiv",
        ),
        pytest.param(
            page(NOTICE).encode("gbk"), "gbk", "gb18030", id="gbk-header-only"
        ),
        pytest.param(
            page(GBK_ONLY).encode("gbk"),
            "gb2312",
            "gb18030",
            id="gb2312-label-gbk-bytes",
        ),
        pytest.param(
            page(GB18030_ONLY).encode("gb18030"),
            "gb18030",
            "gb18030",
            id="gb18030-four-byte",
        ),
        pytest.param(
            codecs.BOM_UTF8 + page(NOTICE, META_GBK).encode("utf-8"),
            "gbk",
            "utf-8-sig",
            id="utf8-bom-beats-labels",
        ),
        pytest.param(page(NOTICE).encode("utf-16"), None, "utf-16", id="utf16-bom"),
        pytest.param(
            page(NOTICE, META_GBK).encode("utf-8"),
            "gbk",
            "utf-8",
            id="utf8-mislabelled-gbk",
        ),
        pytest.param(
            page(NOTICE, META_UTF8).encode("gbk"),
            "utf-8",
            "gb18030",
            id="gbk-mislabelled-utf8",
        ),
        pytest.param(
            page(NOTICE, META_GBK).encode("gbk"),
            "utf-8",
            "gb18030",
            id="wrong-header-right-meta",
        ),
        pytest.param(
            page(NOTICE, META_UTF8).encode("utf-8"), None, "utf-8", id="utf8-meta-only"
        ),
        pytest.param(page(NOTICE).encode("utf-8"), None, "utf-8", id="utf8-unlabelled"),
        pytest.param(page(NOTICE).encode("gbk"), None, "gb18030", id="gbk-unlabelled"),
        pytest.param(
            page(NOTICE).encode("gbk"), "x-unknown", "gb18030", id="unknown-label"
        ),
        pytest.param(
            page(NOTICE, '<meta charset="utf-16">').encode("utf-8"),
            None,
            "utf-8",
            id="utf16-meta-means-utf8",
        ),
        pytest.param(
            b"<html><body>Tax notice</body></html>",
            "iso-8859-1",
            "cp1252",
            id="ascii-latin1",
        ),
        pytest.param(b"", None, "utf-8", id="empty"),
    ],
)
def test_pick_charset_weighs_labels_against_bytes(content, declared, expected):
    chosen = pick_charset(content, declared)

    assert chosen == expected


@pytest.mark.parametrize(
    ("text", "encoding", "declared"),
    [
        pytest.param(NOTICE, "gbk", "gbk", id="gbk"),
        pytest.param(GBK_ONLY, "gbk", "gb2312", id="gb2312-label-gbk-bytes"),
        pytest.param(GB18030_ONLY, "gb18030", None, id="gb18030"),
        pytest.param(NOTICE, "utf-8", "gbk", id="utf8-mislabelled-gbk"),
        pytest.param(NOTICE, "gbk", "utf-8", id="gbk-mislabelled-utf8"),
    ],
)
def test_decode_gives_the_chinese_text_back(text, encoding, declared):
    content = page(text).encode(encoding)

    decoded = decode(content, declared)

    assert decoded == page(text)


def test_decode_drops_the_utf8_bom():
    content = codecs.BOM_UTF8 + page(NOTICE).encode("utf-8")

    decoded = decode(content, "gbk")

    assert decoded == page(NOTICE)


def test_decode_xml_declaration_names_the_charset():
    feed = (
        f'<?xml version="1.0" encoding="GB2312"?><rss><title>{GBK_ONLY}</title></rss>'
    )
    content = feed.encode("gbk")

    chosen = pick_charset(content)
    decoded = decode(content)

    assert chosen == "gb18030"
    assert decoded == feed


def test_decode_meta_beyond_first_4kb_is_not_read():
    content = b" " * 5000 + b'<meta charset="gbk"><p>Tax notice</p>'

    chosen = pick_charset(content)

    assert chosen == "utf-8"


def test_decode_fixture_page_labelled_gb2312_with_gbk_characters():
    content = (PAGES / "charset-gb2312-label-gbk-bytes.html").read_bytes()

    decoded = decode(content)

    assert "朱镕基同志" in decoded
    assert "王堃、李喆同志" in decoded
    assert "\ufffd" not in decoded


@pytest.mark.parametrize(
    ("content", "forced", "declared", "expected"),
    [
        pytest.param(
            page(NOTICE).encode("utf-8"), "big5", "utf-8", "big5", id="beats-header"
        ),
        pytest.param(
            codecs.BOM_UTF8 + page(NOTICE).encode("utf-8"),
            "gbk",
            None,
            "gb18030",
            id="beats-bom",
        ),
        pytest.param(
            page(NOTICE).encode("gbk"), "GB2312", None, "gb18030", id="gb2312-widened"
        ),
        pytest.param(
            page(NOTICE).encode("gbk"),
            "no-such-charset",
            "gbk",
            "gb18030",
            id="unknown-ignored",
        ),
        pytest.param(
            page(NOTICE).encode("gbk"),
            "rot13",
            "gbk",
            "gb18030",
            id="not-a-text-encoding",
        ),
    ],
)
def test_pick_charset_forced_charset_wins(content, forced, declared, expected):
    chosen = pick_charset(content, declared, forced=forced)

    assert chosen == expected


def test_decode_forced_charset_is_used_even_against_the_bytes():
    content = page(NOTICE).encode("utf-8")

    decoded = decode(content, "utf-8", forced="gbk")

    assert decoded != page(NOTICE)
    assert decoded.startswith("<html><head></head><body><h1>")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(bytes(range(256)) * 4, id="all-bytes"),
        pytest.param(b"\xff\xfe\x00", id="truncated-utf16"),
        pytest.param(b"\x80\x81\xfe\xff" * 10, id="invalid-everywhere"),
    ],
)
def test_decode_garbage_never_raises(content):
    decoded = decode(content, "utf-8")

    assert isinstance(decoded, str)
