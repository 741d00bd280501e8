"""Canonical URLs: one key for one article, whatever tracking decorates its link.

Drops fragments and tracking parameters (``utm_*``, ``spm``, ``from`` …), lowercases
the host, drops ``www.`` and default ports, ignores the scheme (the same article is
often linked over http and https) and sorts what is left of the query. The scanner
uses the result as the article's identity; fetching keeps the original URL.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

TRACKING = frozenset(
    {
        "spm",
        "from",
        "source",
        "src",
        "ref",
        "referer",
        "share_token",
        "share_from",
        "sharer",
        "isappinstalled",
        "scene",
        "clicktime",
        "enterid",
        "wfr",
        "timestamp",
        "_t",
        "fbclid",
        "gclid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "vd_source",
    }
)
_TRACKING_PREFIXES = ("utm_", "share_")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking(name: str) -> bool:
    """True for query parameters that say where a click came from, not what it is."""
    lowered = name.lower()
    return lowered in TRACKING or lowered.startswith(_TRACKING_PREFIXES)


def web_url(link: str, base: str = "") -> str:
    """`link` made absolute against `base`; "" unless it is a well-formed http(s)
    URL (a page may carry ``http://[bad/x`` or a port of 99999: such a link is
    dropped, never allowed to fail the page)."""
    link = link.strip()
    if not link:
        return ""
    try:
        absolute = urljoin(base, link)
        parts = urlsplit(absolute)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        return ""
    if parts.scheme in ("http", "https") and parts.hostname:
        return absolute
    return ""


def canonical(url: str) -> str:
    """The identity of the article at `url` (not itself a fetchable URL)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        # Not a URL we could fetch anyway: its text is its identity.
        return url.strip()
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    port = port if port not in (None, _DEFAULT_PORTS.get(parts.scheme)) else None
    netloc = f"{host}:{port}" if port else host
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = sorted(
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking(k)
    )
    tail = f"?{urlencode(query)}" if query else ""
    return f"//{netloc}{path}{tail}"
