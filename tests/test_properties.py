"""Property-based tests (hypothesis) for what reads untrusted text and bytes.

Covers the chat line parser, the keyword rule language, date parsing and the
feed/HTML/JSON parsers: random input never raises anything but the documented
error, and generated input round-trips. Examples per property are bounded
(`BOUNDED`, 200 unless ``PROPERTY_EXAMPLES`` says otherwise) so the suite stays
fast; ``pytest tests/test_properties*.py --hypothesis-show-statistics`` prints how
many inputs each property tried.
"""

from __future__ import annotations

import email.utils
import json
import os
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.charset import decode
from bot.commands import normalize, parse, split_ref
from bot.config import Source
from bot.crawlers import FeedError, JsonError, PageError
from bot.crawlers.html import parse_page
from bot.crawlers.json import parse_json_items
from bot.crawlers.rss import html_to_text, parse_feed
from bot.dates import parse_date
from bot.matching import RuleSet
from bot.rules import RuleSyntaxError, compile_expr
from bot.rules import normalize as normalize_text

# Inputs per property: 200 in the suite; PROPERTY_EXAMPLES=5000 for a long run.
EXAMPLES = int(os.environ.get("PROPERTY_EXAMPLES", "200"))
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 4, 13, 0, tzinfo=TZ)

BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# --- the chat line parser ----------------------------------------------------------

SPACES = st.sampled_from([" ", "\u3000", "  ", "\t", "\u2005", "\xa0", " \u3000 "])
COLONS = st.sampled_from(["：", ":"])
# A command word: no whitespace, no colon, not an @mention.
WORDS = st.text(
    st.characters(
        blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"),
        blacklist_characters="：:@",
    ),
    min_size=1,
    max_size=8,
).filter(lambda w: not any(c.isspace() for c in w))
CHAT_TEXT = st.text(
    st.sampled_from(list("批示查看12 \u3000：:@舆情助手\t\nAＢc-\u2005"))
    | st.characters(),
    max_size=40,
)


@BOUNDED
@given(CHAT_TEXT)
def test_parse_never_raises_on_any_line(text):
    parsed = parse(text)

    assert not any(c.isspace() for c in parsed.word)
    assert "：" not in parsed.word and ":" not in parsed.word
    assert parsed.args == parsed.args.strip()
    split_ref(parsed.args)


@BOUNDED
@given(CHAT_TEXT)
def test_normalize_is_idempotent(text):
    once = normalize(text)

    assert normalize(once) == once
    assert parse(once) == parse(text)


@BOUNDED
@given(
    st.lists(WORDS.map(lambda w: "@" + w), max_size=2),
    SPACES,
    WORDS,
    st.one_of(SPACES, COLONS, st.tuples(SPACES, COLONS, SPACES).map("".join)),
    st.lists(WORDS, min_size=1, max_size=3),
)
def test_parse_absorbs_mentions_spaces_and_colons(mentions, space, word, sep, args):
    line = "".join(m + space for m in mentions) + word + sep + space.join(args)

    parsed = parse(line)

    assert parsed.word == word
    assert parsed.args == " ".join(args).lstrip("：: ")


@BOUNDED
@given(CHAT_TEXT)
def test_parse_of_its_own_output_is_stable(text):
    parsed = parse(text)
    if not parsed.word or parsed.word.startswith("@"):
        return  # nothing to re-type: an empty word or a bare mention

    assert parse(f"{parsed.word} {parsed.args}") == parsed


# --- the rule language -------------------------------------------------------------

RULE_PIECES = st.sampled_from(
    [
        "个税", "退税", "A", "b", "ＥＴＣ", "COVID-19", " ", "\u3000", "|", "｜",
        "&", "＆", "+", "-", "!", "！", "(", ")", "（", "）", '"', "“", "”",
        "/", "/退.{0,3}税/", "/(/", "/a{99999999999}/", "/(?L)a/", "\\", "~",
        "～", "~20~", "~9999~", "title:", "标题：", "0", "12", "*", "?", "[",
    ]
)  # fmt: skip
RULE_TEXT = st.lists(RULE_PIECES | st.characters(), max_size=14).map("".join)


@BOUNDED
@given(RULE_TEXT)
@example("个税 (")  # once pointed past the end of the expression
@example("/a{99999999999}/")  # once raised OverflowError
@example("/" + "(" * 2000 + "a" + ")" * 2000 + "/")  # once raised RecursionError
@example("/[[a]/")  # once leaked a FutureWarning
def test_compile_expr_parses_or_names_a_position(expr):
    try:
        matcher = compile_expr(expr)
    except RuleSyntaxError as exc:
        assert 0 <= exc.position <= max(len(expr) - 1, 0), (expr, exc.position)
        assert str(exc).startswith(f"第 {exc.position + 1} 个字符处")
        return

    matcher.matches("个税 退税 etc covid-19")
    matcher.terms()


TERMS = ("税", "退税", "发票", "ab", "a")
TEXT_PIECES = st.lists(
    st.sampled_from([*TERMS, " ", "b", "票发", "ＡＢ", "\u3000"]), max_size=8
).map("".join)


def _tree(depth: int) -> st.SearchStrategy[tuple]:
    """A rule tree the language accepts: every OR branch has a term to look for."""
    leaf = st.sampled_from(TERMS).map(lambda t: ("term", t))
    if depth == 0:
        return leaf
    child = _tree(depth - 1)
    anded = st.tuples(child, st.lists(st.tuples(st.booleans(), child), max_size=2)).map(
        lambda t: ("and", t[0], tuple(t[1]))
    )
    ored = st.lists(child, min_size=2, max_size=3).map(lambda c: ("or", tuple(c)))
    return leaf | anded | ored


def _render(node: tuple, style: int) -> str:
    if node[0] == "term":
        return node[1]
    if node[0] == "or":
        bar = (" | ", "|", " ｜ ")[style % 3]
        return "(" + bar.join(_render(c, style) for c in node[1]) + ")"
    joiner = (" ", " & ", "+", "＆")[style % 4]
    parts = [_render(node[1], style)]
    parts += [("-" if negated else "") + _render(c, style) for negated, c in node[2]]
    return "(" + joiner.join(parts) + ")"


@BOUNDED
@given(_tree(3), st.integers(0, 11), TEXT_PIECES, TEXT_PIECES)
def test_compiled_rules_agree_with_reference(tree, style, title, body):
    expr = _render(tree, style)
    matcher = compile_expr(expr)
    expected = _holds(tree, title, body)

    found = RuleSet([("r", matcher)]).match(title, body)

    assert (matcher.match(title, body) is not None) == expected, expr
    assert bool(found) == expected, expr


def _holds(node: tuple, title: str, body: str) -> bool:
    """The reference evaluation: a term occurs when the normalised title or body
    holds it as a substring."""
    if node[0] == "term":
        key = normalize_text(node[1])
        return key in normalize_text(title) or key in normalize_text(body)
    if node[0] == "or":
        return any(_holds(c, title, body) for c in node[1])
    return _holds(node[1], title, body) and all(
        _holds(c, title, body) != negated for negated, c in node[2]
    )


@BOUNDED
@given(st.sampled_from(TERMS), st.sampled_from(TERMS), TEXT_PIECES)
def test_or_and_not_match_like_their_definitions(a, b, text):
    has_a = normalize_text(a) in normalize_text(text)
    has_b = normalize_text(b) in normalize_text(text)

    assert compile_expr(f"{a} | {b}").matches(text) == (has_a or has_b)
    assert compile_expr(f"{a} & {b}").matches(text) == (has_a and has_b)
    if a != b:
        assert compile_expr(f"{a} !{b}").matches(text) == (has_a and not has_b)


# --- dates -------------------------------------------------------------------------

DATE_TEXT = st.text(
    st.sampled_from(list("0123456789-/.:年月日时分秒前天小个周星期今昨刚TZ+ ")),
    max_size=30,
) | st.text(max_size=30)


@BOUNDED
@given(DATE_TEXT)
def test_parse_date_never_raises_and_is_local(text):
    when = parse_date(text, NOW, TZ)

    assert when is None or (when.tzinfo is not None and when.utcoffset() is not None)
    assert when is None or when.astimezone(TZ).utcoffset() == timedelta(hours=8)


@BOUNDED
@given(st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.booleans())
def test_parse_date_numbers_never_raise(value):
    when = parse_date(value, NOW, TZ)

    assert when is None or when.tzinfo == TZ


# China kept daylight saving time until 1991; after it, local time is UTC+8 all year.
LOCAL_TIMES = st.datetimes(
    min_value=datetime(1992, 1, 1), max_value=datetime(2099, 12, 31)
).map(lambda d: d.replace(microsecond=0, tzinfo=TZ))
FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y.%m.%d %H:%M:%S",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日%H时%M分%S秒",
    "%Y%m%d%H%M%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S+08:00",
    "%a %b %d %H:%M:%S CST %Y",
]


@BOUNDED
@given(LOCAL_TIMES, st.sampled_from(FORMATS))
def test_parse_date_round_trips_written_times(when, fmt):
    text = when.strftime(fmt)

    assert parse_date(text, NOW, TZ) == when, text


@BOUNDED
@given(LOCAL_TIMES)
def test_parse_date_round_trips_machine_times(when):
    utc = when.astimezone(ZoneInfo("UTC"))

    assert parse_date(when.isoformat(), NOW, TZ) == when
    assert parse_date(utc.isoformat(), NOW, TZ) == when
    assert parse_date(email.utils.format_datetime(utc), NOW, TZ) == when
    assert parse_date(int(when.timestamp()), NOW, TZ) == when
    assert parse_date(str(int(when.timestamp() * 1000)), NOW, TZ) == when


@BOUNDED
@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=300)))
def test_parse_date_round_trips_recent_times(ago):
    then = (NOW - ago).replace(second=0, microsecond=0)
    minutes = int(ago.total_seconds() // 60)

    assert parse_date(f"{minutes}分钟前", NOW, TZ) == NOW - timedelta(minutes=minutes)
    assert parse_date(f"{then.month}月{then.day}日 {then:%H:%M}", NOW, TZ) == then


# --- feed, page and JSON parsers ---------------------------------------------------

BYTES = st.binary(max_size=2000) | st.sampled_from(
    [
        b"<?xml version='1.0' encoding='gbk'?><rss><channel><item>",
        b"<rss version='2.0'><channel><item><title>\xff\xfe</title>",
        b"\xef\xbb\xbf<feed xmlns='http://www.w3.org/2005/Atom'><entry>",
        b"<!DOCTYPE html><html><body>",
        b"<rss><channel><item><title>&#xd800;&#0;&#1114112;&#99999999999;",
        b"<?xml version='1.0' encoding='utf-16'?><rss/>",
        b"<!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;'>]><x>&b;</x>",
    ]
).flatmap(lambda head: st.binary(max_size=500).map(lambda tail: head + tail))
CONTENT_TYPES = st.sampled_from(
    [None, "", "application/rss+xml", "text/xml; charset=utf-16", "text/html"]
)


LONE_SURROGATE = (
    b"<rss version='2.0'><channel><item><title>a&#55296;b</title>"
    b"<link>http://a.cn/</link></item></channel></rss>"
)


@BOUNDED
@given(BYTES, CONTENT_TYPES)
@example(LONE_SURROGATE, None)  # once raised UnicodeEncodeError inside feedparser
def test_parse_feed_raises_only_feed_error(content, content_type):
    try:
        items = parse_feed(
            content, url="https://x.cn/", source="s", tz=TZ, content_type=content_type
        )
    except FeedError:
        return

    assert all(item.url.startswith(("http://", "https://")) for item in items)
    for item in items:
        f"{item.title}{item.summary}{item.url}".encode()


HTML_SOURCES = [
    Source(name="h", kind="html", url="https://x.cn/", section="s", item="li"),
    Source(
        name="h",
        kind="html",
        url="https://x.cn/",
        section="s",
        item="//div[@class='x']",
        title="a::text",
        link="a::attr(href)",
        time="span",
        summary="p",
        reposts="i",
    ),
]
MARKUP = st.lists(
    st.sampled_from(
        [
            "<li>", "</li>", "<a href='", "/x'>", "'>", "<a href=\"http://[bad/\">",
            "<a href='http://h:99999/'>", "<div class='x'>", "</div>", "<span>",
            "2026-12-03 09:30", "3小时前", "<p>", "&amp;", "&#0;", "\x00", "<!--",
            "<script>", "1.2万", "<i>", "个税", " ", "<![CDATA[",
        ]
    )
    | st.text(max_size=5),
    max_size=25,
).map("".join)  # fmt: skip


@BOUNDED
@given(MARKUP, st.sampled_from(HTML_SOURCES))
def test_parse_page_raises_only_page_error(text, source):
    try:
        items = parse_page(text, url="https://x.cn/", source=source, tz=TZ, now=NOW)
    except PageError:
        return

    assert items and all(item.title and item.url for item in items)


@BOUNDED
@given(MARKUP)
def test_html_to_text_never_raises(markup):
    text = html_to_text(markup)

    assert text == " ".join(text.split())


JSON_SOURCE = Source(
    name="j",
    kind="json",
    url="https://x.cn/",
    section="s",
    item="data.list",
    title="t",
    link="u",
    time="d",
    summary="s",
    likes="n",
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.sampled_from("ab<>/:.万0 h"), max_size=8)
    | st.text(st.characters(blacklist_categories=()), max_size=4),  # surrogates too
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["data", "list", "t", "u", "d", "n"]), inner)
    ),
    max_leaves=12,
)
JSON_TEXT = (
    JSON_VALUES.map(json.dumps)
    | st.text(max_size=60)
    | st.text(st.sampled_from('{}[]":,cb()/*; data list 0'), max_size=40)
).flatmap(lambda t: st.sampled_from([t, f"cb({t});", "\ufeff" + t]))


@BOUNDED
@given(JSON_TEXT)
@example('{"data": {"list": [{"t": "<b>\\ud800</b>", "u": "/x"}]}}')  # once crashed
@example('{"data": {"list": [{"t": "x", "u": "/x", "n": "9%s万"}]}}' % ("9" * 400))
@example("[" * 100_000)  # once raised RecursionError
def test_parse_json_raises_only_json_error(text):
    try:
        items = parse_json_items(
            text, url="https://x.cn/", source=JSON_SOURCE, tz=TZ, now=NOW
        )
    except JsonError:
        return

    for item in items:  # everything kept can be written as UTF-8 (store, WeCom)
        f"{item.title}{item.summary}{item.url}".encode()


@BOUNDED
@given(st.binary(max_size=3000), st.sampled_from([None, "gbk", "utf-8", "bogus", ""]))
def test_decode_never_raises_on_any_bytes(content, declared):
    text = decode(content, declared)

    assert isinstance(text, str)
