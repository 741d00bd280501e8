"""The ticket path as people use it in the terminal chat: scan, then each role
types its commands in its own console session."""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from tests.test_cli import bot

STORY = "网友投诉某办税服务厅个税退税迟迟不到账"


def test_console_ticket_path_from_scan_to_archive(tmp_path, write_config, feed_server):
    page = feed_server.route(
        "/bbs/1.html",
        f"<html><body><article><p>{STORY}，已三个月。</p></article></body></html>",
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    date = format_datetime(datetime.now(ZoneInfo("Asia/Shanghai")))
    feed = feed_server.route(
        "/bbs.rss",
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>论坛</title><link>{page}</link><item><title>{STORY}</title>"
        f"<link>{page}</link><pubDate>{date}</pubDate></item></channel></rss>",
        headers={"Content-Type": "application/rss+xml"},
    )
    config = write_config(
        f'[[sources]]\nname = "本地论坛"\nkind = "rss"\nurl = "{feed}"\n'
        'section = "nfk"\n[names]\nzhaoliu = "赵六"\n'
        '[tickets]\nbrowser = "/nonexistent/chromium"\n'
    )
    scan = bot("--config", str(config), "scan", "--once", "--json", cwd=tmp_path)
    hit_id = json.loads(scan.stdout.splitlines()[0])["id"]

    def chat(user: str, *lines: str) -> str:
        result = bot(
            "--config",
            str(config),
            "console",
            "--as",
            user,
            cwd=tmp_path,
            stdin="".join(f"{line}\n" for line in lines),
        )
        assert result.returncode == 0 and "Traceback" not in result.stderr
        return result.stdout

    monitor = chat("wangwu", f"登记 {hit_id} 建议联系当事人核实")
    head = chat("zhaoliu", "待办", "批示 1 同意，请办公室联系答复")
    office = chat(
        "sunqi", "受理 1", "办结 1 已电话联系当事人，退税已到账", "归档 1", "导出 1"
    )
    leader = chat("leader1", "查询 1")

    assert "已登记处理单 **YQ-" in monitor
    assert "@zhaoliu 请于" in monitor  # the notice to the section chat
    assert "你的待办 1 件" in head and "已批示" in head
    assert "@sunqi 请于" in head
    assert "已办结" in office and "已归档" in office
    assert "监控处理单.docx，保存在：" in office
    assert "状态：**已归档**" in leader
    assert "原网页（SHA-256" in leader
    assert "截图失败（无法启动浏览器）" in leader
