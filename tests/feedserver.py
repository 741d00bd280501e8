"""A tiny local HTTP server for crawler tests, and the `feed_server` fixture.

Serves the files in ``tests/fixtures/feeds/`` under ``/feeds/<name>`` and routes
that a test programs: any status, redirect chains, huge bodies (with or without
Content-Length), slow or held responses, a sequence of answers (503, 503, 200),
validators answered with 304, and a chosen ``Date`` header. Counts requests and
requests in flight per path. Real sockets on 127.0.0.1, an ephemeral port, one
thread per request; what the crawlers do with the answers is left to the tests.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

import pytest

FEEDS_DIR = Path(__file__).resolve().parent / "fixtures" / "feeds"

CONTENT_TYPES = {
    ".rss": "application/rss+xml",
    ".rdf": "application/rdf+xml",
    ".atom": "application/atom+xml",
    ".xml": "application/xml",
    ".html": "text/html; charset=utf-8",
}


@dataclass
class Route:
    """A programmed answer. `content_length=False` ends the body by closing.

    With `etag` or `last_modified` set, the answer carries that validator and a
    request sending it back (If-None-Match / If-Modified-Since) gets a bodiless 304.
    A `hold` event keeps the answer back until the test sets it. A ``Date`` in
    `headers` replaces the server's own.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    body_delay_s: float = 0.0
    content_length: bool = True
    etag: str = ""
    last_modified: str = ""
    hold: threading.Event | None = None

    def answer(self, request: dict[str, str]) -> Route:
        """This route, or the 304 it gives to a request with matching validators."""
        if (self.etag and request.get("If-None-Match") == self.etag) or (
            self.last_modified
            and request.get("If-Modified-Since") == self.last_modified
        ):
            return Route(status=304, etag=self.etag, last_modified=self.last_modified)
        return self

    def all_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.etag:
            headers["ETag"] = self.etag
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        return headers


@dataclass
class Request:
    path: str
    headers: dict[str, str]


class LocalServer:
    """A socketserver on 127.0.0.1 served from a daemon thread, for tests and
    benches: `start()`/`stop()` (or ``with``), `url(path)` for an address.
    `stopping` is set first on `stop()`, so handlers that wait on purpose end."""

    def __init__(self, server: socketserver.BaseServer, name: str) -> None:
        self.stopping = threading.Event()
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=name,
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]  # type: ignore[misc]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FeedServer(LocalServer):
    """Start with `start()`, stop with `stop()`; or use the `feed_server` fixture."""

    def __init__(self, root: Path = FEEDS_DIR) -> None:
        self.root = root
        self.routes: dict[str, Route] = {}
        self.sequences: dict[str, list[Route]] = {}
        self.requests: list[Request] = []
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self._changed = threading.Condition()
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.daemon_threads = True
        httpd.feed_server = self  # type: ignore[attr-defined]
        super().__init__(httpd, "feed-server")

    def route(self, path: str, body: bytes | str = b"", **options: object) -> str:
        """Program `path` (see `Route` for options); return its full URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **options)  # type: ignore[arg-type]
        return self.url(path)

    def sequence(self, path: str, *routes: Route) -> str:
        """Answer the n-th request to `path` with `routes[n]` (the last one repeats);
        return its full URL."""
        self.sequences[path] = list(routes)
        return self.url(path)

    def hits(self, path: str) -> int:
        """How many requests reached `path` (query strings ignored)."""
        with self._changed:
            return sum(1 for r in self.requests if urlsplit(r.path).path == path)

    def wait_for_hits(self, path: str, count: int, timeout_s: float = 10) -> bool:
        """Block until `count` requests reached `path`; False if they did not in time
        (a guard against hanging, not a measurement)."""
        with self._changed:
            return self._changed.wait_for(
                lambda: self.hits(path) >= count, timeout=timeout_s
            )

    def file_route(self, path: str, name: str, content_type: str) -> str:
        """Serve fixture file `name` at `path` with a chosen Content-Type."""
        body = (self.root / name).read_bytes()
        return self.route(path, body, headers={"Content-Type": content_type})

    def redirect_chain(self, path: str, target: str, hops: int) -> str:
        """`hops` redirects from `path` to `target` (a path); return the first URL."""
        steps = [path] + [f"{path}/hop{n}" for n in range(1, hops)] + [target]
        for here, there in zip(steps, steps[1:], strict=False):
            self.route(here, status=302, headers={"Location": there})
        return self.url(path)


class _Handler(BaseHTTPRequestHandler):
    server_version = "FeedServer/1"

    def do_GET(self) -> None:
        owner: FeedServer = self.server.feed_server  # type: ignore[attr-defined]
        path = urlsplit(self.path).path
        headers = dict(self.headers.items())
        with owner._changed:
            seen = owner.hits(path)
            owner.requests.append(Request(self.path, headers))
            owner.in_flight[path] = owner.in_flight.get(path, 0) + 1
            owner.max_in_flight[path] = max(
                owner.max_in_flight.get(path, 0), owner.in_flight[path]
            )
            owner._changed.notify_all()
        try:
            self._answer(owner, path, seen, headers)
        finally:
            with owner._changed:
                owner.in_flight[path] -= 1

    def _answer(
        self, owner: FeedServer, path: str, seen: int, headers: dict[str, str]
    ) -> None:
        if path in owner.sequences:
            steps = owner.sequences[path]
            route = steps[min(seen, len(steps) - 1)]
        else:
            route = owner.routes.get(path) or self._file_route(owner, path)
        route = route.answer(headers)
        if route.hold is not None:
            while not route.hold.wait(0.02):
                if owner.stopping.is_set():
                    return
        if route.delay_s and owner.stopping.wait(route.delay_s):
            return
        try:
            route_headers = route.all_headers()
            if "Date" in route_headers:
                self.send_response_only(route.status)
                self.send_header("Server", self.version_string())
            else:
                self.send_response(route.status)
            for name, value in route_headers.items():
                self.send_header(name, value)
            if route.content_length:
                self.send_header("Content-Length", str(len(route.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.flush()
            if route.body_delay_s and owner.stopping.wait(route.body_delay_s):
                return
            for start in range(0, len(route.body), 65536):
                self.wfile.write(route.body[start : start + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as the size and timeout tests intend

    def _file_route(self, owner: FeedServer, path: str) -> Route:
        file = (owner.root / path.removeprefix("/feeds/")).resolve()
        if not path.startswith("/feeds/") or file.parent != owner.root:
            return Route(status=404, body="<h1>404 页面不存在</h1>".encode())
        if not file.is_file():
            return Route(status=404, body="<h1>404 页面不存在</h1>".encode())
        content_type = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        return Route(body=file.read_bytes(), headers={"Content-Type": content_type})

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    """A running `FeedServer` on 127.0.0.1, stopped after the test."""
    server = FeedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
