"""HTTP downloads for the crawlers: the shared client and one bounded GET.

Holds `make_client`, `fetch`, its result `FetchResult` and `FetchError`, whose
message tells an operator in Chinese what went wrong (status, timeout, refused
connection, oversized body). Parsing the body is left to the crawlers; scheduling,
per-source state and reporting failures are left to the scanner.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from dataclasses import dataclass, field

import httpx

from bot.config import HttpSettings
from bot.errors import BotError

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5

# TODO(#3): per-host concurrency limits, retries with backoff, conditional requests
# (ETag / Last-Modified from SourceState) and charset detection for mislabelled pages.

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
    """A successful download.

    `url` is the address after redirects, `headers` has lower-case names (repeated
    headers joined with ", "), `encoding` is the charset named by Content-Type
    (lower-case), if any.
    """

    url: str
    status: int
    headers: dict[str, str] = field(repr=False)
    content: bytes = field(repr=False)
    encoding: str | None = None
    not_modified: bool = False
    etag: str = ""
    last_modified: str = ""


def make_client(user_agent: str, timeout_s: float = 15.0) -> httpx.AsyncClient:
    """Return a client that follows up to five redirects and times out connects
    and reads after `timeout_s` seconds. The caller closes it."""
    return httpx.AsyncClient(
        headers={"User-Agent": user_agent},
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
    )


async def fetch(
    client: httpx.AsyncClient, url: str, max_bytes: int = 5_000_000
) -> FetchResult:
    """GET `url` and return its body, at most `max_bytes` bytes after decompression.

    Raises `FetchError` for HTTP status >= 400, too many redirects, timeouts,
    connection failures and bodies over the cap.
    """
    started = time.monotonic()
    host = _host(url)
    try:
        async with client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise FetchError(
                    _status_reason(response.status_code), status=response.status_code
                )
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(_too_big(max_bytes))
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise FetchError(_too_big(max_bytes))
                chunks.append(chunk)
    except FetchError as exc:
        logger.info(
            "fetch failed host=%s status=%s reason=%s ms=%d",
            host,
            exc.status,
            exc.reason,
            _ms(started),
        )
        raise
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = _transport_reason(exc, client.timeout)
        logger.info(
            "fetch failed host=%s error=%s reason=%s ms=%d",
            host,
            type(exc).__name__,
            reason,
            _ms(started),
        )
        raise FetchError(reason) from None
    result = FetchResult(
        url=str(response.url),
        status=response.status_code,
        headers=dict(response.headers.items()),
        content=b"".join(chunks),
        encoding=response.charset_encoding,
    )
    logger.info(
        "fetched host=%s status=%d bytes=%d redirects=%d ms=%d",
        host,
        result.status,
        size,
        len(response.history),
        _ms(started),
    )
    return result


class HttpFetcher:
    """The crawlers' downloader: one shared client built from `[http]` settings.

    First version: a bounded GET through `fetch`, no validators sent yet.
    """

    def __init__(self, settings: HttpSettings) -> None:
        self.settings = settings
        self.client = make_client(settings.user_agent, settings.timeout_s)

    async def fetch(
        self, url: str, *, etag: str = "", last_modified: str = ""
    ) -> FetchResult:
        return await fetch(self.client, url, self.settings.max_bytes)

    async def aclose(self) -> None:
        await self.client.aclose()


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
    if isinstance(exc, httpx.DecodingError):
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
    """The host of `url` for logs: no credentials, path or query."""
    try:
        return httpx.URL(url).host or "?"
    except httpx.InvalidURL:
        return "?"


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
