"""Evidence snapshots (留证) for handling tickets: `snapshot`, `verify`, `files`.

A snapshot keeps an item as fetched so a case survives the post being deleted:
the exact page bytes, its readable text, a ``meta.json`` and, when a headless
Chromium/Chrome is installed (`find_browser`), a screenshot of the live page. Each
snapshot gets its own folder ``evidence/<key>/<YYYYmmdd-HHMMSS>/`` under the data
dir; every file is written atomically and fsynced. Downloading is left to
`bot.http`, attaching the `Evidence` to a ticket to the caller. Limits: text is
extracted from HTML only (other bodies keep the hit's summary), and the screenshot
is taken by a separate browser visit, so it can differ from the stored bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from parsel import Selector

from bot.http import FetchError, FetchResult, HttpFetcher
from bot.models import Evidence

logger = logging.getLogger(__name__)

SCREENSHOT_TIMEOUT_S = 30.0
MAX_TEXT_CHARS = 20_000  # kept in `Evidence.text`; text.txt holds all of it
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PAGE_FILES = ("page.html", "page.bin")
PNG_MAGIC = b"\x89PNG"

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_DROPPED = "script, style, nav, header, footer, noscript, template, iframe"
# Main-text containers, best first; .TRS_Editor and #zoom are the article bodies
# of the CMSs most Chinese government sites run on.
_CONTAINERS = ("article", "main", "[role=main]", "#content", ".TRS_Editor", "#zoom")
_BLOCK_TAGS = "p div br li tr h1 h2 h3 h4 h5 h6 section blockquote pre table"
# Plain --headless is the new mode since Chrome 112 and the old one before that.
_BROWSER_FLAGS = (
    "--headless --disable-gpu --no-sandbox --hide-scrollbars --no-first-run"
    " --window-size=1280,2400"
).split()
_BREAK = "\u2029"
_BLOCKS = " | ".join(f"descendant-or-self::{tag}" for tag in _BLOCK_TAGS.split())


@dataclass(frozen=True)
class _Download:
    """What meta.json records about the download of the page."""

    final_url: str = ""
    status: int | None = None
    content_type: str = ""
    bytes: int = 0
    page: str = ""  # page.html, page.bin, or "" when nothing came
    sha256: str = ""  # of the page file


async def snapshot(
    fetcher: HttpFetcher,
    url: str,
    data_dir: Path,
    key: str,
    now: datetime,
    *,
    fallback_text: str = "",
    browser: str | None = None,
) -> Evidence:
    """Fetch `url` and store it as evidence for ticket `key`, next to earlier ones.

    A failed download does not raise: `fallback_text` (the hit's summary) is
    stored instead and `Evidence.note` says in Chinese what is missing. `browser`
    is the path of a headless Chromium/Chrome; None looks for one on PATH.

    Raises:
        ValueError: `key` is not a plain id usable as a folder name.
        OSError: the data dir cannot be written.
    """
    if not _KEY.fullmatch(key):
        raise ValueError(f"evidence key {key!r} is not a plain id like YQ-2026-0012")
    folder = _new_folder(data_dir / "evidence" / key, now.strftime("%Y%m%d-%H%M%S"))

    # The browser runs alongside the download, so it delays us by its timeout at most.
    shot = _screenshot(browser or find_browser(), url, folder)
    fetched, (screenshot, shot_note) = await asyncio.gather(_fetch(fetcher, url), shot)

    text, page_note, download = _store_page(folder, fetched, fallback_text)
    if isinstance(fetched, FetchError) and screenshot:
        # The browser drew its own error page: no evidence of the item, drop it.
        (folder / screenshot).unlink(missing_ok=True)
        screenshot, shot_note = "", "原网页无法访问，未截图"
    note = "；".join(part for part in (page_note, shot_note) if part)
    _write(folder / "text.txt", text.encode("utf-8"))
    meta = {"key": key, "url": url, "fetched_at": now.isoformat(), **asdict(download)}
    meta |= {"screenshot": screenshot, "note": note}
    _write(
        folder / "meta.json", json.dumps(meta, ensure_ascii=False, indent=2).encode()
    )
    for directory in (folder, folder.parent):
        _fsync_dir(directory)

    logger.info(
        "evidence stored key=%s host=%s status=%s bytes=%d sha256=%s screenshot=%s",
        key,
        urlsplit(url).hostname or "?",
        download.status,
        download.bytes,
        download.sha256[:12] or "-",
        "yes" if screenshot else "no",
    )
    return Evidence(
        fetched_at=now,
        path=folder.relative_to(data_dir).as_posix(),
        sha256=download.sha256,
        text=text[:MAX_TEXT_CHARS],
        screenshot=screenshot,
        note=note,
    )


def verify(evidence: Evidence, data_dir: Path) -> bool:
    """True if the stored page still hashes to `evidence.sha256`.

    False when it has changed or is gone, and when no page was stored at all.
    """
    if not evidence.path or not evidence.sha256:
        return False
    for name in PAGE_FILES:
        page = data_dir / evidence.path / name
        if page.is_file():
            return hashlib.sha256(page.read_bytes()).hexdigest() == evidence.sha256
    return False


def files(evidence: Evidence, data_dir: Path) -> list[Path]:
    """The files a snapshot stored, sorted by name (leftover temp files excluded)."""
    folder = data_dir / evidence.path
    if not evidence.path or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name[0] != ".")


def find_browser(configured: str = "") -> str | None:
    """Path of the `configured` browser, else of the first Chromium/Chrome on PATH."""
    for name in (configured,) if configured else BROWSERS:
        if found := shutil.which(name):
            return found
    return None


def _new_folder(parent: Path, stamp: str) -> Path:
    """A fresh folder named `stamp` (or `stamp-2`, ...) so nothing is overwritten."""
    parent.mkdir(parents=True, exist_ok=True)
    folder, n = parent / stamp, 1
    while True:
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            n += 1
            folder = parent / f"{stamp}-{n}"


async def _fetch(fetcher: HttpFetcher, url: str) -> FetchResult | FetchError:
    try:
        return await fetcher.fetch(url)
    except FetchError as exc:
        return exc


def _store_page(
    folder: Path, fetched: FetchResult | FetchError, fallback_text: str
) -> tuple[str, str, _Download]:
    """Write the downloaded body; return the text to keep, a note, the facts."""
    if isinstance(fetched, FetchError):
        note = f"抓取原网页失败：{fetched.reason}；已保存命中时的摘要"
        return fallback_text, note, _Download(status=fetched.status)
    content_type = fetched.headers.get("content-type", "")
    html = _is_html(content_type.lower(), fetched.content)
    download = _Download(
        final_url=fetched.url,
        status=fetched.status,
        content_type=content_type,
        bytes=len(fetched.content),
        page="page.html" if html else "page.bin",
        sha256=hashlib.sha256(fetched.content).hexdigest(),
    )
    _write(folder / download.page, fetched.content)
    if not html:
        kind = content_type.split(";")[0].strip() or "类型不明"
        note = f"原网页不是 HTML（{kind}），已原样保存；文字取自命中时的摘要"
        return fallback_text, note, download
    text = _page_text(fetched.text())
    if not text:
        return fallback_text, "原网页没有可读正文；已保存命中时的摘要", download
    return text, "", download


def _is_html(content_type: str, content: bytes) -> bool:
    if content_type:
        return "html" in content_type
    start = content[:1024].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _page_text(html: str) -> str:
    """Title, a blank line, then the main text with one line per block."""
    page = Selector(text=html.replace("\x00", ""))
    page.css(_DROPPED).drop()
    title = " ".join((page.css("title::text").get() or "").split())
    main = _main_node(page)
    if main is None:
        return title
    # A paragraph separator around each block survives joining the text nodes,
    # unlike the source's own newlines; inline tags join without a space, which
    # Chinese text needs.
    for block in main.xpath(_BLOCKS):
        block.root.text = _BREAK + (block.root.text or "")
        block.root.tail = _BREAK + (block.root.tail or "")
    joined = "".join(main.xpath(".//text()").getall())
    body = "\n".join(line for line in map(_squash, joined.split(_BREAK)) if line)
    return "\n\n".join(part for part in (title, body) if part)


def _main_node(page: Selector) -> Selector | None:
    """The largest node of the best container kind present, else <body>."""
    for css in _CONTAINERS:
        found = [node for node in page.css(css) if _text_size(node)]
        if found:
            return max(found, key=_text_size)
    body = page.css("body")
    return body[0] if body else None


def _text_size(node: Selector) -> int:
    return len(_squash("".join(node.xpath(".//text()").getall())))


def _squash(text: str) -> str:
    return " ".join(text.split())


async def _screenshot(browser: str | None, url: str, folder: Path) -> tuple[str, str]:
    """Screenshot of the live page into `folder`: (file name, "") or ("", note)."""
    if not browser:
        return "", "本机未安装无头浏览器，未截图"
    # A private profile, so an already running browser cannot take the job over.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        shot = Path(profile) / "shot.png"
        args = [
            *_BROWSER_FLAGS,
            f"--timeout={int(SCREENSHOT_TIMEOUT_S * 800)}",  # capture before our kill
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            url,
        ]
        try:
            proc = await asyncio.create_subprocess_exec(
                browser,
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                start_new_session=True,  # its own process group, killed as one
            )
        except OSError:
            return "", "截图失败（无法启动浏览器）"
        try:
            code = await asyncio.wait_for(proc.wait(), SCREENSHOT_TIMEOUT_S)
        except TimeoutError:
            return "", f"截图超时（{SCREENSHOT_TIMEOUT_S:g} 秒），已放弃"
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        image = shot.read_bytes() if shot.is_file() else b""
    if code:
        return "", f"截图失败（浏览器退出码 {code}）"
    if not image.startswith(PNG_MAGIC):
        return "", "截图失败（浏览器没有生成图片）"
    _write(folder / "screenshot.png", image)
    return "screenshot.png", ""


def _write(path: Path, data: bytes) -> None:
    """Replace `path` atomically: a crash leaves the old file or none, never half."""
    temp = path.with_name(f".{path.name}.tmp")
    with temp.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temp, path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
