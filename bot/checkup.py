"""``python -m bot check``: validate the configuration and say what would run.

Prints a Chinese report for the operator: sections and people, sources (and whether
their kind is supported yet), rules, channels, data directory and holiday coverage
for the next 30 days. Exit code 0 when the bot can run, 1 when something is broken.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TextIO

from bot.config import Settings
from bot.crawlers import crawler_for
from bot.evidence import find_browser
from bot.render import Renderer
from bot.roles import everyone
from bot.workdays import WorkCalendar


def print_check(settings: Settings, out: TextIO, today: date | None = None) -> int:
    """Write the report to `out` and return the exit code."""
    problems: list[str] = []
    warnings: list[str] = []

    sources = []
    for source in settings.sources:
        supported = crawler_for(source.kind) is not None
        if source.enabled and not supported:
            warnings.append(
                f"来源“{source.name}”的类型 {source.kind} 暂不支持，运行时会跳过"
            )
        sources.append({"source": source, "supported": supported})

    for section in settings.sections:
        if not section.monitors:
            warnings.append(f"科室“{section.name}”没有监控人员")
        if not section.heads:
            warnings.append(f"科室“{section.name}”没有负责人，处理单无人批示")

    today = today or datetime.now(settings.tz).date()
    uncovered = WorkCalendar(settings.calendar).uncovered(today, 30)
    if uncovered:
        warnings.append(
            f"未来 30 天中有 {len(uncovered)} 天（{uncovered[0]} 起）"
            "没有官方节假日安排，将按周一至周五计算；"
            "请在 [calendar] 中录入当年的放假和调休安排，并把年份加入 years"
        )
    if not settings.has_wecom and not settings.admins and not settings.console.user:
        problems.append(
            "没有企业微信凭据，也没有 admins 或 [console] user，run 无法提供对话"
        )
    problems += _chat_problems(settings)
    browser = find_browser(settings.tickets.browser)
    if settings.tickets.browser and browser is None:
        warnings.append(
            f"[tickets] browser 指定的 {settings.tickets.browser} 不存在，"
            '登记时无法截图；请改正路径，或写 "" 自动查找'
        )

    out.write(
        Renderer().render(
            "check.j2",
            settings=settings,
            people=len(everyone(settings)),
            sources=sources,
            problems=problems,
            warnings=warnings,
            channel=_channels(settings),
            browser=browser,
        )
        + "\n"
    )
    return 1 if problems else 0


def _channels(settings: Settings) -> str:
    names = []
    if settings.has_aibot:
        mode = "长连接" if settings.wecom.aibot.mode == "ws" else "回调"
        names.append(f"智能机器人（{mode}）")
    if settings.has_wecom_app:
        names.append("自建应用")
    hooks = [
        w.name for w in settings.wecom.webhooks if settings.secrets.webhook_key(w.name)
    ]
    if hooks:
        names.append(f"群机器人 {'、'.join(hooks)}")
    return "、".join(names) or "终端对话（未设置企业微信凭据）"


def _chat_problems(settings: Settings) -> list[str]:
    """Chats whose channel is not set up (a secret missing from the environment)."""
    problems = []
    places = [(s.name, s.chat) for s in settings.sections]
    places.append(("办公室", settings.office.chat))
    for owner, text in places:
        address = settings.chat(text)
        if address.channel == "aibot" and settings.wecom.aibot.mode == "callback":
            # Callback mode only answers @-mentions; nothing can push to the group.
            problems.append(
                f"{owner}的群 {text} 走智能机器人，但智能机器人是回调模式"
                '（[wecom.aibot] mode = "callback"），回调模式只能回复 @ 它的消息，'
                f"不能主动推送到群里：请为{owner}改用群机器人（webhook:名称）"
                '或自建应用群聊（appchat:群ID），或把 mode 改为 "ws"（长连接）'
            )
        elif address.channel == "aibot" and not settings.has_aibot:
            problems.append(
                f"{owner}的群 {text} 走智能机器人，但未配置 bot_id 及其机密"
            )
        elif address.channel in ("app", "appchat") and not settings.has_wecom_app:
            problems.append(
                f"{owner}的群 {text} 走自建应用，但未配置 corp_id 或 WECOM_APP_SECRET"
            )
        elif address.channel == "webhook" and not settings.secrets.webhook_key(
            address.id
        ):
            env = "WECOM_WEBHOOK_KEY_" + address.id.upper()
            problems.append(f"{owner}的群机器人 {address.id} 缺少环境变量 {env}")
    return problems
