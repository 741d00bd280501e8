"""Exports stay in ``data/exports``, whatever a chat user types.

导出, 导出日志 and 导出简报 build file names from what follows the command (ticket
numbers, months, section names, periods). Each is typed with path tricks in a
real console session (``python -m bot console``, piped stdin) next to the
ordinary forms; every file that appears afterwards must lie in ``data/exports``
(or be the store's own), and each trick must get a refusal in Chinese, not the
apology for an unexpected error.
"""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import BASE_CONFIG
from tests.test_cli import bot

TZ = ZoneInfo("Asia/Shanghai")
STORY = "网友投诉某办税服务厅个税退税迟迟不到账"
MARK = "escape7f3a"  # in every path trick, so a file it made can be found
UP = "../" * 12
TRICKS = [
    f"导出 {UP}tmp/{MARK}",
    f"导出 1/{UP}{MARK}",
    f"导出 YQ-2026-0001/../../{MARK} 全案",
    f"导出 1 ../../{MARK}",
    f"导出 /tmp/{MARK}",
    f"导出 ..\\..\\{MARK}",
    f"导出日志 {UP}{MARK}",
    f"导出日志 本月 {UP}{MARK}",
    f"导出日志 本月 /tmp/{MARK}",
    f"导出日志 2026-12/../../{MARK}",
    f"导出简报 {UP}{MARK}",
    f"导出简报 本周/../../{MARK}",
]
ORDINARY = ["导出 1", "导出 1 全案", "导出日志 本月 纳税服务科", "导出简报 本周"]
STORE_PARTS = {"evidence", "hits", "items", "logs", "outbox", "seen", "tickets"}
STORE_FILES = {".lock", "meta.json", "state.jsonl"}


def console(config: Path, user: str, *lines: str) -> str:
    result = bot(
        "--config",
        str(config),
        "console",
        "--as",
        user,
        cwd=config.parent,
        stdin="".join(f"{line}\n" for line in lines),
    )
    assert result.returncode == 0 and "Traceback" not in result.stderr
    return result.stdout


def files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def misplaced(before: set[Path], after: set[Path], data: Path) -> list[str]:
    """New files that are neither exports nor the store's own."""
    wrong = []
    for path in sorted(after - before):
        if not path.resolve().is_relative_to(data.resolve()):
            wrong.append(str(path))
            continue
        parts = path.relative_to(data).parts
        if parts[0] == "exports":
            if len(parts) != 2:
                wrong.append(str(path))  # a subfolder of exports
        elif parts[0] not in STORE_PARTS and parts[0] not in STORE_FILES:
            wrong.append(str(path))
    return wrong


@pytest.fixture
def ticket_config(tmp_path, write_config, feed_server) -> Path:
    """A config whose store holds ticket 1 (nfk), from a scan and a 登记."""
    date = format_datetime(datetime.now(TZ))
    feed = feed_server.route(
        "/bbs.rss",
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>论坛</title><link>https://x.example.cn/</link><item>"
        f"<title>{STORY}</title><link>https://x.example.cn/1.html</link>"
        f"<pubDate>{date}</pubDate></item></channel></rss>",
        headers={"Content-Type": "application/rss+xml"},
    )
    config = write_config(
        f'[[sources]]\nname = "本地论坛"\nkind = "rss"\nurl = "{feed}"\n'
        'section = "nfk"\n[tickets]\nbrowser = "/nonexistent/chromium"\n'
    )
    scan = bot("--config", str(config), "scan", "--once", "--json", cwd=tmp_path)
    hit_id = json.loads(scan.stdout.splitlines()[0])["id"]
    console(config, "wangwu", f"登记 {hit_id} 建议核实")
    return config


def test_export_path_tricks_write_nothing_outside_exports(ticket_config, tmp_path):
    data = tmp_path / "data"
    outside = tmp_path.parent
    before = files(outside)
    stray_tmp = set(Path("/tmp").glob(f"*{MARK}*"))

    replies = console(ticket_config, "sunqi", *TRICKS, *ORDINARY)

    after = files(outside)
    exports = sorted(p.name for p in (data / "exports").iterdir())
    assert misplaced(before, after, data) == []
    assert not [p for p in after if MARK in str(p)]
    assert set(Path("/tmp").glob(f"*{MARK}*")) == stray_tmp
    assert "意外" not in replies  # each trick refused, none crashed
    assert replies.count("〔收到文件〕") == len(ORDINARY)
    assert any(name.endswith("监控处理单.docx") for name in exports)
    assert any(name.endswith("全案.zip") for name in exports)
    month = datetime.now(TZ).strftime("%Y-%m")
    assert f"监控日志-{month}-纳税服务科.docx" in exports
    assert any(name.startswith("舆情简报-") for name in exports)


def test_export_log_config_section_name_cannot_leave_exports(tmp_path, write_config):
    name = f"税政/../../../{MARK}"  # written by an admin, not typed in chat
    config = write_config("", base=BASE_CONFIG.replace("税政管理科", name))
    before = files(tmp_path)

    result = bot(
        "--config",
        str(config),
        "console",
        "--as",
        "sunqi",
        cwd=tmp_path,
        stdin="导出日志 本月 szk\n",
    )

    if result.returncode == 2:  # refusing such a name at start-up is a fix too
        assert "sections" in result.stderr
        return
    assert misplaced(before, files(tmp_path), tmp_path / "data") == []
