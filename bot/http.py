"""HTTP downloads for the crawlers: `HttpFetcher`, its `FetchResult` and `FetchError`.

`HttpFetcher` owns one shared client built from the `[http]` settings and adds what
polite, robust crawling needs: per-host limits (requests in flight, spacing between
starts), retries with backoff that honour ``Retry-After``, conditional requests
(``ETag`` / ``Last-Modified``) and a body cap counted after decompression.
`FetchError` tells an operator in Chinese what went wrong. Choosing a charset is
left to `bot.charset` (through `FetchResult.text`), parsing to the crawlers, and
scheduling, per-source state and reporting failures to the scanner.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import httpx

from bot.address_guard import AddressRefusedError, check_public
from bot.charset import decode
from bot.config import HttpSettings
from bot.errors import BotError

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
# One attempt, headers and body, may take at most this many times `timeout_s` in
# all: httpx's timeouts are per read, so a server dripping a byte at a time would
# otherwise hold a source (and its host's slot) for as long as it likes.
ATTEMPT_TIMEOUT_FACTOR = 8
BACKOFF_BASE_S = 1.0
MAX_WAIT_S = 60.0

_STATUS_NAMES = {
    401: "需要登录",
    403: "禁止访问",
    404: "页面不存在",
    410: "页面已删除",
    429: "请求过于频繁",
    500: "服务器内部错误",
    502: "网关错误",
    503: "服务暂不可用",
    504: "网关超时",
}


class FetchError(BotError):
    """A download failed; `reason` is Chinese and names the cause.

    `status` is the HTTP status when the server answered with an error, else None.
    The message never contains the URL (it may carry credentials).
    """

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        super().__init__(reason)


@dataclass(frozen=True)
class FetchResult:
    """A successful download, or a 304 answer to a conditional request.

    `url` is the address after redirects, `headers` has lower-case names (repeated
    headers joined with ", "), `encoding` is the charset named by Content-Type
    (lower-case), if any. `etag`/`last_modified` are the validators to send next
    time; `not_modified` means the server answered 304 and `content` is empty.
    """

    url: str
    status: int
    headers: dict[str, str] = field(repr=False)
    content: bytes = field(repr=False)
    encoding: str | None = None
    not_modified: bool = False
    etag: str = ""
    last_modified: str = ""

    def text(self, charset: str = "") -> str:
        """`content` decoded; `charset` (the source's configured one) wins."""
        return decode(self.content, self.encoding, forced=charset)


_public_only: ContextVar[bool] = ContextVar("public_only", default=False)


@contextmanager
def public_addresses_only(enabled: bool = True) -> Iterator[None]:
    """While active (and `enabled`), every request `HttpFetcher` sends from this
    task, each redirect included, must lead to a public address
    (`bot.address_guard.check_public`); any other fails with `FetchError`.

    The scanner turns this on for sources added in chat: checking the address
    when the source is added does not stop the page from redirecting inside.
    """
    token = _public_only.set(enabled)
    try:
        yield
    finally:
        _public_only.reset(token)


async def _refuse_private(request: httpx.Request) -> None:
    """httpx request hook, called for the first request and for every redirect."""
    if not _public_only.get():
        return
    try:
        await check_public(str(request.url))
    except AddressRefusedError as exc:
        where = "、".join(exc.addresses) or "无法解析的域名"
        raise FetchError(
            f"地址指向内部网络（{where}），聊天中添加的来源不能读取内网地址"
        ) from None


class _Retry(Exception):
    """One attempt failed in a way worth another try."""

    def __init__(self, error: FetchError, wait_s: float | None = None) -> None:
        super().__init__(error.reason)
        self.error = error
        self.wait_s = wait_s  # from Retry-After, else None for plain backoff


class _HostGate:
    """Per-host politeness: a cap on requests in flight and spaced starts."""

    def __init__(self, concurrency: int) -> None:
        self.slots = asyncio.Semaphore(max(1, concurrency))
        self.next_start = float("-inf")


class HttpFetcher:
    """The crawlers' downloader: one shared client built from `[http]` settings.

    `sleep` and `clock` (monotonic seconds) are replaceable so tests can see the
    waits chosen without waiting. Raises `FetchError` if the proxy cannot be used.
    """

    def __init__(
        self,
        settings: HttpSettings,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._gates: dict[str, _HostGate] = {}
        try:
            self.client = httpx.AsyncClient(
                headers={
                    "User-Agent": settings.user_agent,
                    # Decoded here with a size cap; see _body.
                    "Accept-Encoding": "gzip, deflate",
                },
                timeout=httpx.Timeout(settings.timeout_s),
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                proxy=settings.proxy or None,
                event_hooks={"request": [_refuse_private]},
            )
        except ImportError:  # socks5:// without the optional socksio package
            raise FetchError(
                "使用 SOCKS 代理需要先安装 socksio（pip install 'httpx[socks]'）"
            ) from None

    async def fetch(
        self, url: str, *, etag: str = "", last_modified: str = ""
    ) -> FetchResult:
        """GET `url`, retrying transient failures; raise `FetchError` at the end.

        Timeouts, connection failures, 5xx and 429 are retried up to `retries`
        times, after exponential backoff with jitter or what ``Retry-After`` asks
        (at most 60 s); the retry count is named in the final reason. Other 4xx,
        oversized bodies and bad URLs fail at once.

        `etag`/`last_modified` are sent as ``If-None-Match``/``If-Modified-Since``;
        a 304 answer gives ``not_modified=True`` with the validators to keep.
        """
        host = _host(url)
        attempts = self.settings.retries + 1
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 1
        while True:
            try:
                async with self._turn(host), asyncio.timeout(self._attempt_s):
                    result = await self._get(url, host, headers)
            except TimeoutError:
                reason = f"下载超时（{self._attempt_s:g} 秒内没有下载完）"
                logger.info("fetch failed host=%s reason=%s", host, reason)
                raise _final(FetchError(reason), attempt) from None
            except _Retry as retry:
                if attempt == attempts:
                    raise _final(retry.error, attempt) from None
                attempt += 1
                delay = _backoff(attempt - 1) if retry.wait_s is None else retry.wait_s
                logger.warning(
                    "retry planned host=%s attempt=%d delay_s=%.1f reason=%s",
                    host,
                    attempt,
                    delay,
                    retry.error.reason,
                )
                await self._sleep(delay)
            except FetchError as exc:
                raise _final(exc, attempt) from None
            else:
                if not result.not_modified:
                    return result
                # A 304 may leave out the validators; the ones sent stay valid.
                return replace(
                    result,
                    etag=result.etag or etag,
                    last_modified=result.last_modified or last_modified,
                )

    async def aclose(self) -> None:
        await self.client.aclose()

    @property
    def _attempt_s(self) -> float:
        return self.settings.timeout_s * ATTEMPT_TIMEOUT_FACTOR

    @asynccontextmanager
    async def _turn(self, host: str) -> AsyncIterator[None]:
        """Hold one of `host`'s slots, starting no sooner than its spacing allows."""
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = _HostGate(self.settings.per_host_concurrency)
        async with gate.slots:
            now = self._clock()
            start = max(now, gate.next_start)
            gate.next_start = start + self.settings.per_host_delay_s
            if start > now:
                await self._sleep(start - now)
            yield

    async def _get(self, url: str, host: str, headers: dict[str, str]) -> FetchResult:
        """One GET: a result, `_Retry` for transient failures, else `FetchError`."""
        started = time.monotonic()
        max_bytes = self.settings.max_bytes
        try:
            async with self.client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status >= 400:
                    error = FetchError(_status_reason(status), status=status)
                    if status == 429 or status >= 500:
                        raise _Retry(error, _retry_after(response.headers))
                    raise error
                content = b""
                if status != 304:
                    content = await _body(response, max_bytes)
        except (FetchError, _Retry) as exc:
            error = exc.error if isinstance(exc, _Retry) else exc
            logger.info(
                "fetch failed host=%s status=%s reason=%s ms=%d",
                host,
                error.status,
                error.reason,
                _ms(started),
            )
            raise
        except (httpx.HTTPError, httpx.InvalidURL, zlib.error) as exc:
            reason = _transport_reason(exc, self.client.timeout)
            logger.info(
                "fetch failed host=%s error=%s reason=%s ms=%d",
                host,
                type(exc).__name__,
                reason,
                _ms(started),
            )
            if _transient(exc):
                raise _Retry(FetchError(reason)) from None
            raise FetchError(reason) from None
        logger.info(
            "fetched host=%s status=%d bytes=%d redirects=%d ms=%d",
            host,
            status,
            len(content),
            len(response.history),
            _ms(started),
        )
        return FetchResult(
            url=str(response.url),
            status=status,
            headers=dict(response.headers.items()),
            content=content,
            encoding=response.charset_encoding,
            not_modified=status == 304,
            etag=response.headers.get("etag", ""),
            last_modified=response.headers.get("last-modified", ""),
        )


async def _body(response: httpx.Response, max_bytes: int) -> bytes:
    """The decoded body; `FetchError` as soon as it passes `max_bytes`.

    gzip and deflate are inflated here, never more than the room left under the
    cap at a time, so a compression bomb costs no more memory than the cap.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(_too_big(max_bytes))
    inflater = _Inflater.for_encoding(response.headers.get("content-encoding", ""))
    stream = response.aiter_bytes() if inflater is None else response.aiter_raw()
    chunks: list[bytes] = []
    size = 0
    async for data in stream:
        chunk = data if inflater is None else inflater.feed(data, max_bytes - size + 1)
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(_too_big(max_bytes))
        chunks.append(chunk)
    if inflater is not None:
        size += len(tail := inflater.flush(max_bytes - size + 1))
        if size > max_bytes:
            raise FetchError(_too_big(max_bytes))
        chunks.append(tail)
    return b"".join(chunks)


class _Inflater:
    """gzip/deflate decompression whose output per call is bounded."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
        self.inflate = zlib.decompressobj(wbits)
        self.started = False

    @classmethod
    def for_encoding(cls, content_encoding: str) -> _Inflater | None:
        """An inflater for gzip/deflate; None for anything httpx should decode."""
        encoding = content_encoding.strip().lower()
        if encoding in ("gzip", "x-gzip"):
            return cls("gzip")
        if encoding == "deflate":
            return cls("deflate")
        return None

    def feed(self, data: bytes, limit: int) -> bytes:
        """Inflate `data`, giving at most `limit` (> 0) bytes."""
        if not self.started and data and self.encoding == "deflate":
            self.started = True
            try:
                return self.inflate.decompress(data, limit)
            except zlib.error:  # raw deflate, without the zlib header
                self.inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        return self.inflate.decompress(data, limit)

    def flush(self, limit: int) -> bytes:
        return self.inflate.flush(limit)


def _transient(exc: Exception) -> bool:
    """Whether a transport failure may go away on its own (worth a retry)."""
    if isinstance(exc, httpx.TimeoutException | httpx.RemoteProtocolError):
        return True
    if isinstance(exc, httpx.ConnectError):
        return not any(isinstance(c, ssl.SSLError) for c in _causes(exc))
    return isinstance(exc, httpx.NetworkError)


def _backoff(attempt: int) -> float:
    """Exponential backoff after failed attempt `attempt`, with up to 50 % jitter."""
    base = min(MAX_WAIT_S, BACKOFF_BASE_S * 2 ** (attempt - 1))
    return min(MAX_WAIT_S, base + random.uniform(0, base / 2))


def _retry_after(headers: httpx.Headers) -> float | None:
    """Seconds ``Retry-After`` asks for (capped), or None if absent or unreadable.

    An HTTP-date is measured against the response's ``Date`` header when present,
    so a skewed local clock does not matter.
    """
    value = headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(MAX_WAIT_S, float(value))
    when = _http_date(value)
    if when is None:
        return None
    sent = _http_date(headers.get("date", "")) or datetime.now(UTC)
    return min(MAX_WAIT_S, max(0.0, (when - sent).total_seconds()))


def _http_date(value: str) -> datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _final(error: FetchError, attempts: int) -> FetchError:
    """The error to raise after `attempts` attempts, naming the retries made."""
    if attempts == 1:
        return error
    return FetchError(
        f"重试 {attempts - 1} 次后仍失败：{error.reason}", status=error.status
    )


def _status_reason(status: int) -> str:
    name = _STATUS_NAMES.get(status)
    if name:
        return f"服务器返回 HTTP {status}（{name}）"
    kind = "服务器出错" if status >= 500 else "请求被拒绝"
    return f"服务器返回 HTTP {status}（{kind}）"


def _too_big(max_bytes: int) -> str:
    if max_bytes >= 1_000_000:
        size = f"{max_bytes / 1_000_000:g} MB"
    elif max_bytes >= 1_000:
        size = f"{max_bytes / 1_000:g} KB"
    else:
        size = f"{max_bytes} 字节"
    return f"返回内容超过 {size} 上限"


def _transport_reason(exc: Exception, timeout: httpx.Timeout) -> str:
    if isinstance(exc, httpx.TooManyRedirects):
        return f"重定向次数过多（超过 {MAX_REDIRECTS} 次）"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"连接超时（{timeout.connect:g} 秒内没有连上服务器）"
    if isinstance(exc, httpx.ReadTimeout):
        return f"读取超时（服务器 {timeout.read:g} 秒内没有响应）"
    if isinstance(exc, httpx.TimeoutException):
        return "请求超时"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return "网址无效，应以 http:// 或 https:// 开头"
    if isinstance(exc, httpx.ProxyError):
        return "代理服务器拒绝或无法转发请求"
    if isinstance(exc, httpx.ConnectError):
        causes = _causes(exc)
        if any(isinstance(c, socket.gaierror) for c in causes):
            return "无法解析域名（域名不存在或 DNS 不可用）"
        if any(isinstance(c, ConnectionRefusedError) for c in causes):
            return "连接被拒绝（服务器没有在该端口提供服务）"
        if any(isinstance(c, ssl.SSLError) for c in causes):
            return "HTTPS 握手失败（证书无效或加密协议不兼容）"
        return "无法连接服务器"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "服务器提前断开了连接或返回了不合规的响应"
    if isinstance(exc, httpx.ReadError | httpx.WriteError):
        # A reset (RST) mid-transfer; without this it read "请求失败（ReadError）".
        return "连接在传输中途被断开（服务器重置了连接或网络中断）"
    if isinstance(exc, httpx.DecodingError | zlib.error):
        return "返回内容无法解压"
    return f"请求失败（{type(exc).__name__}）"


def _causes(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from or while handling."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 20 and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _host(url: str) -> str:
    """The host of `url` for logs and politeness: no credentials, path or query."""
    try:
        return httpx.URL(url).host or "?"
    except httpx.InvalidURL:
        return "?"


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
