"""A local server whose endpoints misbehave, one fault each, for scan-level tests.

`FaultServer` speaks just enough HTTP/1.1 over raw sockets (127.0.0.1, ephemeral
port, one thread per connection) to fail the way real sites do: accept and never
answer, answer then drip a byte at a time, reset the connection mid-body (RST via
``SO_LINGER`` 0), send a gzip bomb, redirect in a circle, send a 10 MB single line,
or send bytes that contradict their declared charset. `FAULTS` lists them, each
served at ``/<name>``; `HEALTHY` is a well-behaved feed to scan alongside. A faulty
body carries a rule hit (`HIT_TITLE`) wherever it can, so a test can show that
nothing half-read is stored. What the bot makes of them is left to
``tests/test_source_faults.py`` and ``bench/faults.py``.
"""

from __future__ import annotations

import json
import random
import socket
import socketserver
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from tests.feedserver import LocalServer

HIT_WORD = "虚开发票"
HIT_TITLE = f"故障来源：{HIT_WORD}线索"
HEALTHY_TITLE = f"健康来源：某市破获{HIT_WORD}案"
HEALTHY_LINK = "https://ok.example.cn/1.html"
PLAIN_TITLE = "普通条目：办税服务厅延时服务"
LINE_BYTES = 10_000_000
BOMB_MIB = 2048  # what the gzip bomb inflates to; about 1 KB of gzip per MiB
DRIP_INTERVAL_S = 0.2  # well inside the shortest read timeout config allows (1 s)

CONTENT_TYPES = {
    "rss": "application/rss+xml",
    "html": "text/html",
    "json": "application/json",
}
# Selectors for the html and json bodies below; rss needs none.
SELECTORS = {
    "rss": {},
    "html": {"item": "li", "title": "a", "link": "a::attr(href)", "summary": "p"},
    "json": {"item": "data.list", "title": "title", "link": "url", "summary": "text"},
}


@dataclass(frozen=True)
class Entry:
    title: str
    link: str
    summary: str = ""


def document(kind: str, entries: list[Entry], when: datetime) -> str:
    """A valid rss, html or json listing of `entries` on a single line, every
    entry dated `when` (rss only)."""
    if kind == "rss":
        date = format_datetime(when)
        items = "".join(
            f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link>"
            f"<description>{escape(e.summary)}</description>"
            f"<pubDate>{date}</pubDate></item>"
            for e in entries
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>x</title><link>https://x.example.cn/</link>{items}"
            "</channel></rss>"
        )
    if kind == "html":
        items = "".join(
            f'<li><a href="{escape(e.link)}">{escape(e.title)}</a>'
            f"<p>{escape(e.summary)}</p></li>"
            for e in entries
        )
        return f"<html><body><ul>{items}</ul></body></html>"
    rows = [{"title": e.title, "url": e.link, "text": e.summary} for e in entries]
    return json.dumps({"data": {"list": rows}}, ensure_ascii=False)


def hit_entry(name: str) -> Entry:
    return Entry(HIT_TITLE, f"https://fault.example.cn/{name}.html", "故障来源的正文")


def plain_link(name: str) -> str:
    """The link of fault `name`'s ordinary entry (`PLAIN_TITLE`)."""
    return f"https://fault.example.cn/{name}-2.html"


def _plain(name: str) -> Entry:
    return Entry(PLAIN_TITLE, plain_link(name), "办税服务厅延时服务的正文")


# --- the faults ---------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One misbehaving endpoint: `name` (also its path), the source `kind` that
    reads it, a line for tables, and how a connection to it is answered."""

    name: str
    kind: str
    what: str
    serve: Callable[[_Connection, datetime], None]


def _hang(conn: _Connection, when: datetime) -> None:
    conn.stopping.wait()


def _drip(conn: _Connection, when: datetime) -> None:
    """The head at once, then a byte every `DRIP_INTERVAL_S`: a feed, then spaces,
    forever (no Content-Length: the body ends when the connection does)."""
    body = document("rss", [hit_entry("drip")], when).encode()
    conn.send_head(CONTENT_TYPES["rss"])
    for byte in _endless(body):
        if conn.stopping.wait(DRIP_INTERVAL_S):
            return
        conn.request.sendall(byte)


def _reset(conn: _Connection, when: datetime) -> None:
    """The first half of a feed whose first item (a hit) fits in that half, then
    a reset."""
    pad = Entry(PLAIN_TITLE, plain_link("reset"), "纳税服务" * 5000)
    body = document("rss", [hit_entry("reset"), pad], when).encode()
    conn.send_head(CONTENT_TYPES["rss"], length=len(body))
    conn.request.sendall(body[: len(body) // 2])
    # An RST discards whatever the kernel has not delivered yet: let the client
    # read the half first. Closing with SO_LINGER 0 then sends RST, not FIN.
    conn.stopping.wait(0.1)
    conn.request.setsockopt(
        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
    )
    conn.request.close()


def _gzip_bomb(conn: _Connection, when: datetime) -> None:
    """A feed holding a hit, then `BOMB_MIB` MiB of zeros, gzipped (about 2 MB),
    made as the client reads it."""
    feed = document("rss", [hit_entry("gzip-bomb")], when).encode()
    conn.send_head(CONTENT_TYPES["rss"], extra={"Content-Encoding": "gzip"})
    for chunk in gzip_stream(feed, BOMB_MIB):
        if conn.stopping.is_set():
            return
        conn.request.sendall(chunk)


def _redirect_loop(conn: _Connection, when: datetime) -> None:
    there = "/redirect-loop" if conn.path.endswith("/back") else "/redirect-loop/back"
    conn.send_head("text/html", status="302 Found", length=0, extra={"Location": there})


def _line(kind: str) -> Callable[[_Connection, datetime], None]:
    """A valid listing on one line of about `LINE_BYTES`: a hit whose summary is
    filler, then an ordinary entry."""

    def serve(conn: _Connection, when: datetime) -> None:
        filler = "纳税服务便民办税春风行动" * (LINE_BYTES // 36)
        name = f"line-{kind}"
        hit = Entry(HIT_TITLE, hit_entry(name).link, filler)
        body = document(kind, [hit, _plain(name)], when)
        conn.answer(body.encode(), f"{CONTENT_TYPES[kind]}; charset=utf-8")

    return serve


def _unclosed_link(conn: _Connection, when: datetime) -> None:
    """A list page whose first link is never closed: its text, the hit's title,
    runs on for `LINE_BYTES`."""
    filler = "纳税服务便民办税春风行动" * (LINE_BYTES // 36)
    link = hit_entry("unclosed-link").link
    body = (
        f'<html><body><ul><li><a href="{link}">{HIT_TITLE}{filler}</ul></body></html>'
    )
    conn.answer(body.encode(), f"{CONTENT_TYPES['html']}; charset=utf-8")


def _junk_line(kind: str) -> Callable[[_Connection, datetime], None]:
    def serve(conn: _Connection, when: datetime) -> None:
        body = (b"<x" + b"a" * 1000 + b">") * (LINE_BYTES // 1003)
        conn.answer(body, f"{CONTENT_TYPES[kind]}; charset=utf-8")

    return serve


def _charset(kind: str, case: str) -> Callable[[_Connection, datetime], None]:
    """A listing with a hit and an ordinary entry, its bytes at odds with its label:
    ``gbk-as-utf8`` GBK bytes declared utf-8, ``bogus-charset`` a charset name that
    does not exist, ``bad-bytes`` UTF-8 with invalid sequences in the ordinary
    entry, ``random`` nothing but random bytes."""

    def serve(conn: _Connection, when: datetime) -> None:
        name = f"{case}-{kind}"
        if case == "random":
            body = random.Random(name).randbytes(1_000_000)
        else:
            text = document(kind, [hit_entry(name), _plain(name)], when)
            body = text.encode("gbk" if case == "gbk-as-utf8" else "utf-8")
        if case == "bad-bytes":
            body = body.replace("延时服务".encode(), invalid_utf8(200))
        label = "x-bogus-42" if case == "bogus-charset" else "utf-8"
        conn.answer(body, f"{CONTENT_TYPES[kind]}; charset={label}")

    return serve


FAULTS = [
    Fault("hang", "rss", "accepts, reads the request, never answers", _hang),
    Fault("drip", "rss", "head, then a byte every 0.2 s forever", _drip),
    Fault("reset", "rss", "half the body, then RST (SO_LINGER 0)", _reset),
    Fault("gzip-bomb", "rss", "2 MB of gzip inflating to 2 GiB", _gzip_bomb),
    Fault("redirect-loop", "rss", "302 between two paths, forever", _redirect_loop),
    *(
        Fault(f"line-{k}", k, f"10 MB {k} on one line, a hit's summary", _line(k))
        for k in ("rss", "html", "json")
    ),
    Fault(
        "unclosed-link",
        "html",
        "10 MB page whose first <a> is never closed",
        _unclosed_link,
    ),
    *(
        Fault(f"junk-line-{k}", k, "10 MB single line of junk markup", _junk_line(k))
        for k in ("rss", "html", "json")
    ),
    *(
        Fault(f"{case}-{k}", k, what, _charset(k, case))
        for case, what in (
            ("gbk-as-utf8", "GBK bytes declared utf-8"),
            ("bogus-charset", "declared charset=x-bogus-42"),
            ("bad-bytes", "utf-8 with 200 invalid bytes"),
            ("random", "1 MB of random bytes declared utf-8"),
        )
        for k in ("rss", "html", "json")
    ),
]


def source_toml(name: str, kind: str, url: str) -> str:
    """A ``[[sources]]`` table reading `url` as `kind`, in section ``szk``, with
    the `SELECTORS` that fit this module's bodies."""
    lines = [
        "[[sources]]",
        f'name = "{name}"',
        f'kind = "{kind}"',
        f'url = "{url}"',
        'section = "szk"',
        *(f'{key} = "{value}"' for key, value in SELECTORS[kind].items()),
    ]
    return "\n".join(lines) + "\n\n"


def healthy_feed(when: datetime) -> bytes:
    entry = Entry(HEALTHY_TITLE, HEALTHY_LINK, "健康来源的正文")
    return document("rss", [entry], when).encode()


def invalid_utf8(size: int, seed: int = 20250305) -> bytes:
    """`size` bytes that are never valid UTF-8 and never markup (all >= 0x80)."""
    rng = random.Random(seed)
    return bytes([0xFF, *(rng.randrange(0x80, 0x100) for _ in range(size - 1))])


def gzip_stream(prefix: bytes, mebibytes: int) -> Iterator[bytes]:
    """A gzip stream of `prefix` then `mebibytes` MiB of zeros, block by block.

    Each MiB is compressed with a full flush, which resets the compressor, so every
    block comes out the same (about 1 KB) and is made once.
    """
    zeros = bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = packer.compress(prefix) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + head  # gzip header, no name
    crc = zlib.crc32(prefix)
    for _ in range(mebibytes):
        yield block
        crc = zlib.crc32(zeros, crc)
    size = (len(prefix) + (mebibytes << 20)) & 0xFFFFFFFF
    yield packer.flush(zlib.Z_FINISH) + struct.pack("<II", crc, size)


def _endless(body: bytes) -> Iterator[bytes]:
    for index in range(len(body)):
        yield body[index : index + 1]
    while True:
        yield b" "


# --- the server ---------------------------------------------------------------------


class FaultServer(LocalServer):
    """Serves every fault in `FAULTS` at ``/<name>`` and `healthy_feed` at ``/ok``.

    Start with `start()` (or ``with``), stop with `stop()`; `url(path)` gives an
    address; `hits` counts requests per path. `when` dates the feeds' entries.
    """

    def __init__(self, when: datetime) -> None:
        self.when = when
        self.routes: dict[str, Callable[[_Connection, datetime], None]] = {
            f"/{fault.name}": fault.serve for fault in FAULTS
        }
        self.routes["/redirect-loop/back"] = _redirect_loop
        healthy = healthy_feed(when)
        self.routes["/ok"] = lambda conn, when: conn.answer(
            healthy, f"{CONTENT_TYPES['rss']}; charset=utf-8"
        )
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        tcp = _Server(("127.0.0.1", 0), _Connection)
        tcp.owner = self
        super().__init__(tcp, "fault-server")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: FaultServer


class _Connection(socketserver.BaseRequestHandler):
    """One connection: read the request head, then answer as the path says."""

    server: _Server
    request: socket.socket

    def handle(self) -> None:
        owner = self.server.owner
        self.stopping = owner.stopping
        head = self._read_head()
        if head is None:
            return
        self.path = head.split(b" ", 2)[1].decode("ascii", errors="replace")
        with owner._lock:
            owner.hits[self.path] = owner.hits.get(self.path, 0) + 1
        serve = owner.routes.get(self.path)
        try:
            if serve is None:
                self.answer(b"not found", "text/plain", status="404 Not Found")
            else:
                serve(self, owner.when)
        except OSError:
            pass  # the client gave up (reset, broken pipe), as the tests intend

    def _read_head(self) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                return None
            data += chunk
        return data

    def send_head(
        self,
        content_type: str,
        *,
        status: str = "200 OK",
        length: int | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Type: {content_type}"]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
        lines.append("Connection: close")
        self.request.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def answer(self, body: bytes, content_type: str, *, status: str = "200 OK") -> None:
        self.send_head(content_type, status=status, length=len(body))
        self.request.sendall(body)
