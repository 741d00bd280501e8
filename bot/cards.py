"""Template cards (button_interaction) for hits, approvals and the daily patrol
prompt, and the card a click turns them into.

A button's key is ``cmd:<command>``: a click runs that command as if the user had
typed it, so cards add no second code path. Approval buttons name the revision
the card was drawn from (``12#3``), which makes an old card's click a refusal.
task_ids stay unique forever: ``<ticket id>-r<revision>``, ``hit-<hit id>`` and
``patrol-<section>-<yyyymmdd>``.
Limits (wecom-api.md §2): title about 26 characters, at most 6 buttons, button
text about 10 characters, task_id at most 128 bytes of ``[A-Za-z0-9_@-]``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.events import Reply
from bot.models import Hit, Ticket


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _button(text: str, command: str, style: int = 1) -> dict[str, Any]:
    return {"text": text, "style": style, "key": f"cmd:{command}"}


def hit_card(hit: Hit, section: str) -> dict[str, Any]:
    """A hit with 登记 / 忽略 / 误报 buttons."""
    return {
        "card_type": "button_interaction",
        "source": {"desc": f"{section} · {hit.level}舆情"},
        "main_title": {
            "title": _clip(hit.title, 26),
            "desc": f"{hit.id} · {hit.source} · {hit.score}分",
        },
        "sub_title_text": _clip(hit.summary or "；".join(hit.reasons), 120),
        "horizontal_content_list": [
            {"keyname": "规则", "value": _clip(hit.rule, 20)},
            {"keyname": "原文", "value": "点击查看", "type": 1, "url": hit.url},
        ],
        "card_action": {"type": 1, "url": hit.url},
        "task_id": f"hit-{hit.id}",
        "button_list": [
            _button("登记", f"登记 {hit.id}"),
            _button("忽略", f"忽略 {hit.id} 经研判无需处置", 2),
            _button("误报", f"误报 {hit.id}", 2),
        ],
    }


def approval_card(ticket: Ticket, section: str) -> dict[str, Any]:
    """A ticket awaiting 批示, with 同意 / 退回 / 查询 buttons for the heads."""
    ref = f"{ticket.id}#{ticket.revision}"
    due = ticket.due.strftime("%m-%d %H:%M") if ticket.due else "—"
    return {
        "card_type": "button_interaction",
        "source": {"desc": f"{section} · 监控处理单待批示"},
        "main_title": {"title": _clip(ticket.title, 26), "desc": ticket.id},
        "sub_title_text": _clip(
            f"拟处理意见：{ticket.proposal}" if ticket.proposal else ticket.summary, 120
        ),
        "horizontal_content_list": [
            {"keyname": "等级", "value": ticket.level},
            {"keyname": "登记人", "value": ticket.created_by},
            {"keyname": "批示期限", "value": due},
            {"keyname": "原文", "value": "点击查看", "type": 1, "url": ticket.url},
        ],
        "card_action": {"type": 1, "url": ticket.url},
        "task_id": f"{ticket.id}-r{ticket.revision}",
        "button_list": [
            _button("同意", f"同意 {ref}"),
            _button("退回", f"退回 {ref} 请补充后重新提交", 2),
            _button("查询", f"查询 {ticket.id}", 2),
        ],
    }


def patrol_card(section_id: str, section: str, day: date, text: str) -> dict[str, Any]:
    """The day's patrol prompt with 已巡查，无异常 / 有发现，去登记 buttons."""
    return {
        "card_type": "button_interaction",
        "source": {"desc": f"{section} · 监控日志"},
        "main_title": {"title": f"{day:%m月%d日}巡查提醒", "desc": section},
        "sub_title_text": _clip(text, 120),
        "task_id": f"patrol-{section_id}-{day:%Y%m%d}",
        "button_list": [
            _button("已巡查，无异常", "巡查 无异常"),
            _button("有发现，去登记", "命中 今日", 2),
        ],
    }


def outcome_card(task_id: str, actor: str, reply: Reply) -> dict[str, Any]:
    """The card after a click: greyed buttons, what happened and who did it."""
    title = reply.card_title or "未执行"
    return {
        "card_type": "button_interaction",
        "task_id": task_id,  # must match the click (D101031)
        "main_title": {"title": title, "desc": f"操作人：{actor}"},
        "sub_title_text": _clip(reply.text, 160),
        "button_list": [{"text": title[:10], "style": 1, "key": "done"}],
        "replace_text": title[:10],
    }
