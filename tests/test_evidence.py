import hashlib
import json
import logging
import os
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import evidence
from bot.config import HttpSettings
from bot.evidence import files, find_browser, snapshot, verify
from bot.http import HttpFetcher

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 9, 30, tzinfo=SHANGHAI)
KEY = "YQ-2026-0012"
HTML = "text/html; charset=utf-8"
BROWSER = find_browser()  # looked up before the fixture below empties PATH
SLEEP = shutil.which("sleep")
SUMMARY = "命中摘要：纳税人反映个税退税迟迟未到账"
ARTICLE = """<!doctype html>
<html><head><meta charset="utf-8"><title>纳税人反映退税难</title>
<style>.hot { color: red }</style><script>var tracker = "统计脚本";</script></head>
<body><header>网站页眉</header><nav><a href="/">首页</a> <a>导航栏目</a></nav>
<div class="side">热点排行</div>
<article><h1>纳税人反映退税难</h1>
<p>某地纳税人在论坛发帖称，<b>个税</b>退税迟迟未到账。</p>
<p>  税务部门\u3000已经
  回应。 </p></article>
<footer>版权所有</footer><noscript>请启用脚本</noscript></body></html>
"""


@pytest.fixture(autouse=True)
def no_browser_on_path(monkeypatch):
    """Tests pass a browser explicitly; an installed one must not slow the rest."""
    monkeypatch.setenv("PATH", "")


@pytest.fixture
async def fetcher():
    client = HttpFetcher(HttpSettings(timeout_s=2, retries=0, per_host_delay_s=0))
    yield client
    await client.aclose()


def stored(tmp_path: Path, ev: evidence.Evidence, name: str) -> Path:
    return tmp_path / ev.path / name


async def test_snapshot_html_byte_exact(feed_server, fetcher, tmp_path):
    body = ARTICLE.encode("utf-8")
    url = feed_server.route("/post/1", body, headers={"Content-Type": HTML})

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW)

    assert ev.path == f"evidence/{KEY}/20261203-093000"
    assert stored(tmp_path, ev, "page.html").read_bytes() == body
    assert ev.sha256 == hashlib.sha256(body).hexdigest()
    meta = json.loads(stored(tmp_path, ev, "meta.json").read_text("utf-8"))
    assert meta["sha256"] == ev.sha256
    assert (meta["url"], meta["final_url"], meta["status"]) == (url, url, 200)
    assert meta["content_type"] == HTML
    assert meta["fetched_at"] == "2026-12-03T09:30:00+08:00"


async def test_snapshot_text_drops_page_chrome(feed_server, fetcher, tmp_path):
    url = feed_server.route("/post/1", ARTICLE, headers={"Content-Type": HTML})

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW)

    assert ev.text == (
        "纳税人反映退税难\n\n"
        "纳税人反映退税难\n"
        "某地纳税人在论坛发帖称，个税退税迟迟未到账。\n"
        "税务部门 已经 回应。"
    )
    assert stored(tmp_path, ev, "text.txt").read_text("utf-8") == ev.text


async def test_snapshot_text_without_container(feed_server, fetcher, tmp_path):
    page = "<body><nav>导航</nav><div>第一段</div><div>第二段<br>第三行</div></body>"
    url = feed_server.route("/post/2", page, headers={"Content-Type": HTML})

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW)

    assert ev.text == "第一段\n第二段\n第三行"


async def test_snapshot_gbk_page_decoded(feed_server, fetcher, tmp_path):
    page = '<html><head><meta charset="gbk"><title>税务局通报</title></head>'
    page += "<body><div id='content'><p>关于个人所得税汇算的答复</p></div></body>"
    body = page.encode("gbk")
    url = feed_server.route("/gbk", body, headers={"Content-Type": "text/html"})

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW)

    assert ev.text == "税务局通报\n\n关于个人所得税汇算的答复"
    assert stored(tmp_path, ev, "page.html").read_bytes() == body


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/gone", "HTTP 404"), (None, "连接被拒绝")],
    ids=["http-404", "connection-refused"],
)
async def test_snapshot_fetch_failure_keeps_summary(
    feed_server, fetcher, tmp_path, path, reason
):
    url = feed_server.route(path, status=404) if path else "http://127.0.0.1:1/"

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW, fallback_text=SUMMARY)

    assert ev.note.startswith("抓取原网页失败") and reason in ev.note
    assert "已保存命中时的摘要" in ev.note
    assert ev.text == SUMMARY and ev.sha256 == ""
    assert stored(tmp_path, ev, "text.txt").read_text("utf-8") == SUMMARY
    assert [p.name for p in files(ev, tmp_path)] == ["meta.json", "text.txt"]
    assert not verify(ev, tmp_path)


async def test_snapshot_pdf_kept_as_bin(feed_server, fetcher, tmp_path):
    body = b"%PDF-1.7\n\x00\xff binary"
    url = feed_server.route("/a.pdf", body, headers={"Content-Type": "application/pdf"})

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW, fallback_text=SUMMARY)

    assert stored(tmp_path, ev, "page.bin").read_bytes() == body
    assert "application/pdf" in ev.note and ev.text == SUMMARY
    assert verify(ev, tmp_path)
    meta = json.loads(stored(tmp_path, ev, "meta.json").read_text("utf-8"))
    assert (meta["page"], meta["sha256"]) == ("page.bin", ev.sha256)


async def test_snapshot_same_key_keeps_both(feed_server, fetcher, tmp_path):
    url = feed_server.route("/post/1", ARTICLE, headers={"Content-Type": HTML})
    first = await snapshot(fetcher, url, tmp_path, KEY, NOW)
    feed_server.route("/post/1", "<p>帖子已被删除</p>", headers={"Content-Type": HTML})

    second = await snapshot(fetcher, url, tmp_path, KEY, NOW)

    assert second.path == f"{first.path}-2"
    assert verify(first, tmp_path) and verify(second, tmp_path)
    assert "个税退税" in stored(tmp_path, first, "text.txt").read_text("utf-8")
    assert second.text == "帖子已被删除"


async def test_verify_detects_tampering(feed_server, fetcher, tmp_path):
    url = feed_server.route("/post/1", ARTICLE, headers={"Content-Type": HTML})
    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW)
    assert verify(ev, tmp_path)

    page = stored(tmp_path, ev, "page.html")
    page.write_bytes(page.read_bytes().replace("迟迟未".encode(), "已经".encode()))

    assert not verify(ev, tmp_path)


async def test_snapshot_without_browser_notes_it(feed_server, fetcher, tmp_path):
    url = feed_server.route("/post/1", ARTICLE, headers={"Content-Type": HTML})

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW, browser=None)

    assert ev.screenshot == "" and ev.note == "本机未安装无头浏览器，未截图"
    meta = json.loads(stored(tmp_path, ev, "meta.json").read_text("utf-8"))
    assert (meta["screenshot"], meta["note"]) == ("", ev.note)


async def test_snapshot_notes_combine(feed_server, fetcher, tmp_path):
    url = feed_server.route("/gone", status=404)

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW, fallback_text=SUMMARY)

    assert ev.note.endswith("已保存命中时的摘要；本机未安装无头浏览器，未截图")


async def test_snapshot_failing_browser_keeps_text(feed_server, fetcher, tmp_path):
    url = feed_server.route("/post/1", ARTICLE, headers={"Content-Type": HTML})

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW, browser="/bin/false")

    assert ev.screenshot == "" and ev.note == "截图失败（浏览器退出码 1）"
    assert verify(ev, tmp_path)
    assert "个税退税" in stored(tmp_path, ev, "text.txt").read_text("utf-8")


async def test_snapshot_hung_browser_killed(
    feed_server, fetcher, tmp_path, monkeypatch
):
    monkeypatch.setattr(evidence, "SCREENSHOT_TIMEOUT_S", 0.5)
    browser = tmp_path / "hung-browser"
    browser.write_text(f'#!/bin/sh\necho $$ > "{tmp_path}/pid"\nexec {SLEEP} 60\n')
    browser.chmod(0o755)
    url = feed_server.route("/post/1", ARTICLE, headers={"Content-Type": HTML})

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW, browser=str(browser))

    assert ev.note == "截图超时（0.5 秒），已放弃" and verify(ev, tmp_path)
    with pytest.raises(ProcessLookupError):
        os.kill(int((tmp_path / "pid").read_text()), 0)


@pytest.mark.skipif(BROWSER is None, reason="no headless chromium on this machine")
async def test_snapshot_real_screenshot(feed_server, fetcher, tmp_path):
    url = feed_server.route("/post/1", ARTICLE, headers={"Content-Type": HTML})

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW, browser=BROWSER)

    assert (ev.screenshot, ev.note) == ("screenshot.png", "")
    assert stored(tmp_path, ev, "screenshot.png").read_bytes().startswith(b"\x89PNG")
    assert "screenshot.png" in [p.name for p in files(ev, tmp_path)]


@pytest.mark.skipif(BROWSER is None, reason="no headless chromium on this machine")
async def test_snapshot_of_unreachable_page_keeps_no_screenshot(
    feed_server, fetcher, tmp_path
):
    url = feed_server.route("/gone", "not here", status=404)

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW, browser=BROWSER)

    assert ev.screenshot == "" and "原网页无法访问，未截图" in ev.note
    assert not (tmp_path / ev.path / "screenshot.png").exists()


async def test_snapshot_logs_one_line(feed_server, fetcher, tmp_path, caplog):
    url = feed_server.route("/post/1", ARTICLE, headers={"Content-Type": HTML})
    caplog.set_level(logging.INFO, logger="bot.evidence")

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW)

    [record] = [r for r in caplog.records if r.name == "bot.evidence"]
    message = record.getMessage()
    assert f"key={KEY} host=127.0.0.1 status=200" in message
    assert f"sha256={ev.sha256[:12]} screenshot=no" in message
    assert "退税" not in caplog.text


async def test_files_lists_snapshot(feed_server, fetcher, tmp_path):
    url = feed_server.route("/post/1", ARTICLE, headers={"Content-Type": HTML})

    ev = await snapshot(fetcher, url, tmp_path, KEY, NOW)

    names = [p.name for p in files(ev, tmp_path)]
    assert names == ["meta.json", "page.html", "text.txt"]


@pytest.mark.parametrize("key", ["../escape", "YQ/0012", "", ".hidden"])
async def test_snapshot_rejects_unsafe_key(fetcher, tmp_path, key):
    with pytest.raises(ValueError):
        await snapshot(fetcher, "http://127.0.0.1:1/", tmp_path, key, NOW)

    assert not (tmp_path / "evidence").exists()


def test_find_browser_configured_path():
    assert find_browser("/bin/false") == "/bin/false"
    assert find_browser("/no/such/chromium") is None
    assert find_browser() is None  # PATH is empty here
