from datetime import datetime
from zoneinfo import ZoneInfo

from bot import config, notify
from bot.channels.console import for_terminal
from bot.health import HealthEvent
from bot.models import Hit
from bot.render import Renderer

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 9, 30, tzinfo=TZ)


def hit(n: int, level: str, section: str = "szk") -> Hit:
    return Hit(
        title=f"某地税务局乱收费引发投诉 {n}",
        url=f"https://news.example.cn/{n}.html",
        source="要闻",
        section=section,
        rule="发票投诉",
        level=level,
        found_at=NOW,
        summary="网友反映某地税务局办税服务厅存在乱收费现象，多名纳税人投诉。",
        matched=("乱收费", "投诉"),
        score=42,
        reasons=("敏感词：乱收费、投诉（+28）",),
        id=f"H2612-{n}",
    )


def test_notify_digest_per_section_and_urgent_alone(write_config):
    settings = config.load(write_config(), env={})
    hits = [hit(1, "一般"), hit(2, "较大"), hit(3, "重大"), hit(4, "一般", "nfk")]

    messages = notify.hit_messages(settings, Renderer(), hits, NOW)

    chats = [m.chat for m in messages]
    assert chats == ["szk-group", "szk-group", "nfk-group"]
    urgent, digest, other = (m.body["text"] for m in messages)
    assert "H2612-3【重大·42分】" in urgent and "<@lisi>" in urgent
    assert "1 小时内完成研判" in urgent
    assert "新命中 2 条 · 税政管理科" in digest
    assert "H2612-1" in digest and "H2612-2" in digest and "H2612-3" not in digest
    assert "新命中 1 条 · 纳税服务科" in other
    assert "判断依据：敏感词：乱收费、投诉（+28）" in digest


def test_notify_highlights_matched_words_and_links(write_config):
    settings = config.load(write_config(), env={})

    (message,) = notify.hit_messages(settings, Renderer(), [hit(1, "一般")], NOW)

    text = message.body["text"]
    assert '<font color="warning">乱收费</font>' in text
    assert "[查看原文](https://news.example.cn/1.html)" in text
    shown = for_terminal(text)
    assert "【乱收费】" in shown and "查看原文：https://news.example.cn/1.html" in shown


def test_notify_extremely_major_also_reaches_office_and_leaders(write_config):
    settings = config.load(write_config(), env={})

    messages = notify.hit_messages(settings, Renderer(), [hit(9, "特别重大")], NOW)

    assert [m.chat for m in messages] == ["szk-group", "office-group"]
    assert "<@leader1>" in messages[1].body["text"]


def test_notify_health_alert_goes_to_office_with_admins(write_config):
    settings = config.load(write_config(), env={})
    event = HealthEvent("人民网·时政", "failing", failures=3, error="读取超时")

    (message,) = notify.health_messages(settings, Renderer(), [event], NOW)

    assert message.chat == "office-group"
    text = message.body["text"]
    assert "已连续失败 3 次，最近一次原因：读取超时" in text
    assert "<@admin>" in text
