"""Turning downloaded bytes into text: which charset a page really uses.

Holds `decode` and `pick_charset`. The order is: a charset forced in the source
config, a byte-order mark, the HTTP header charset, ``<meta>`` in the first 4 KB,
the XML declaration, then detection. Labels are weighed against the bytes: a label
the bytes contradict is skipped, and valid UTF-8 beats a legacy label (Chinese
sites often serve UTF-8 pages still labelled GBK). gb2312 and gbk labels are read
as gb18030, their superset. Nothing here raises; downloading is left to
`bot.http`, parsing the text to the crawlers.
"""

from __future__ import annotations

import codecs
import logging
import re

from charset_normalizer import from_bytes

logger = logging.getLogger(__name__)

SNIFF_BYTES = 4096

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Labels read as a superset, as browsers do (WHATWG Encoding Standard).
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ascii": "cp1252",
    "latin-1": "cp1252",
    "iso8859-1": "cp1252",
}
_UNICODE = ("utf-8", "utf-16", "utf-32")

_META = re.compile(
    rb"""<meta\s[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE
)
_XML_DECLARATION = re.compile(
    rb"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9_.\-]+)["']"""
)


def decode(content: bytes, declared: str | None = None, forced: str = "") -> str:
    """`content` as text in the charset `pick_charset` chooses.

    `declared` is the HTTP header charset, `forced` the source's configured charset
    (it wins over everything). Bytes the chosen charset cannot read become U+FFFD.
    """
    name = pick_charset(content, declared, forced)
    return content.decode(name, errors="replace")


def pick_charset(content: bytes, declared: str | None = None, forced: str = "") -> str:
    """The Python codec name `decode` uses for `content` (for tests and logs)."""
    try:
        return _pick(content, declared, forced)
    except Exception:  # a detector bug must not lose a page
        logger.exception("charset choice failed bytes=%d", len(content))
        return "utf-8"


def _pick(content: bytes, declared: str | None, forced: str) -> str:
    name = _normalise(forced)
    if name:
        return name
    if forced:
        logger.warning("forced charset unknown charset=%s", forced[:40])
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name
    head = content[:SNIFF_BYTES]
    labels = [
        ("header", _normalise(declared or "")),
        ("meta", _in_document(_META.search(head))),
        ("xml", _in_document(_XML_DECLARATION.search(head))),
    ]
    for origin, label in labels:
        if not label:
            continue
        if _fits(content, label):
            return label
        logger.debug("charset label contradicted origin=%s charset=%s", origin, label)
    return _detect(content)


def _fits(content: bytes, name: str) -> bool:
    """Whether the bytes agree with label `name`."""
    if not _strict(content, name):
        return False
    if name.startswith(_UNICODE) or content.isascii():
        return True
    # Valid UTF-8 with non-ASCII bytes is almost never meant as a legacy charset.
    return not _strict(content, "utf-8")


def _detect(content: bytes) -> str:
    if _strict(content, "utf-8"):
        return "utf-8"
    if _strict(content, "gb18030") and _looks_chinese(content.decode("gb18030")):
        return "gb18030"
    best = from_bytes(content).best()
    if best is None:
        return "utf-8"
    name = _normalise(best.encoding)
    return name or "utf-8"


def _looks_chinese(text: str) -> bool:
    """Whether nearly all non-ASCII characters are Chinese characters or marks."""
    wide = [c for c in text if ord(c) > 0x7F]
    chinese = sum(1 for c in wide if _is_chinese(ord(c)))
    return bool(wide) and chinese >= 0.9 * len(wide)


def _is_chinese(point: int) -> bool:
    return (
        0x4E00 <= point <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= point <= 0x4DBF  # extension A
        or 0x3000 <= point <= 0x303F  # CJK punctuation
        or 0xFF00 <= point <= 0xFFEF  # full-width forms
        or 0x2010 <= point <= 0x206F  # general punctuation: “”…—
    )


def _in_document(match: re.Match[bytes] | None) -> str:
    """A charset named inside the document; UTF-16/32 there means UTF-8."""
    if match is None:
        return ""
    name = _normalise(match[1].decode("ascii", errors="ignore"))
    return "utf-8" if name.startswith(("utf-16", "utf-32")) else name


def _normalise(label: str) -> str:
    """The Python codec for `label`, supersets applied; "" when unknown."""
    label = label.strip().strip("\"'").lower()
    if not label:
        return ""
    label = _SUPERSETS.get(label, label)
    try:
        name = codecs.lookup(label).name
        b"x".decode(name, errors="ignore")  # rejects non-text codecs (rot13)
    except LookupError:
        return ""
    return _SUPERSETS.get(name, name)


def _strict(content: bytes, name: str) -> bool:
    try:
        content.decode(name)
    except (UnicodeDecodeError, LookupError):
        return False
    return True
