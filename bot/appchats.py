"""``python -m bot appchat create|get``: the app's group chats (应用群聊) for operators.

A section whose chat is ``appchat:<chatid>`` needs a group the app itself created
(https://developer.work.weixin.qq.com/document/path/90245; a group created in the
client cannot be used, 86008), and WeCom shows the chatid nowhere in its client.
These commands create one, or show one, through `bot.wecom.api` and print what to
write in config.toml. Sending to the group is the ``appchat`` channel's job.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from bot.config import Settings
from bot.wecom.api import WeComClient
from bot.wecom.errors import WeComError

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_CONFIG = 2


async def appchat_command(
    settings: Settings, args: argparse.Namespace, out: TextIO
) -> int:
    """Run ``appchat create`` or ``appchat get``; return the exit code."""
    if not settings.has_wecom_app:
        sys.stderr.write(
            "未配置自建应用：请在 config.toml 的 [wecom.app] 填 corp_id、agent_id，"
            "并设置环境变量 WECOM_APP_SECRET。\n"
        )
        return EXIT_CONFIG
    app = settings.wecom.app
    client = WeComClient(
        app.api_base, app.corp_id, app.agent_id, settings.secrets.app_secret
    )
    try:
        if args.action == "create":
            return await _create(settings, client, args, out)
        return await _show(settings, client, args.chatid, out)
    except WeComError as exc:
        sys.stderr.write(f"企业微信拒绝了请求：{exc.reason}\n")
        return EXIT_REFUSED
    finally:
        await client.aclose()


async def _create(
    settings: Settings,
    client: WeComClient,
    args: argparse.Namespace,
    out: TextIO,
) -> int:
    members = list(dict.fromkeys([args.owner, *args.members]))
    body: dict[str, Any] = {"name": args.name, "owner": args.owner, "userlist": members}
    if args.chatid:
        body["chatid"] = args.chatid
    chatid = await client.appchat_create(body)
    out.write(
        f"已创建应用群聊“{args.name}”，群ID：{chatid}\n"
        f"群主：{args.owner}；成员 {len(members)} 人：{'、'.join(members)}\n"
        "请把下面这一行填入要用这个群的科室（[[sections]]）"
        "或办公室（[office]）的 chat，然后重启机器人：\n"
        f'  chat = "appchat:{chatid}"\n'
        "提示：新群在收到第一条消息之前，成员在企业微信里看不到它。\n"
    )
    return EXIT_OK


async def _show(
    settings: Settings, client: WeComClient, chatid: str, out: TextIO
) -> int:
    info = await client.appchat_get(chatid)
    members = [str(u) for u in info.get("userlist", [])]
    users = _users_of(settings, f"appchat:{chatid}")
    out.write(
        f"应用群聊 {info.get('chatid', chatid)}\n"
        f"名称：{info.get('name', '')}\n"
        f"群主：{info.get('owner', '')}\n"
        f"成员 {len(members)} 人：{'、'.join(members)}\n"
        f'在 config.toml 中写作：chat = "appchat:{chatid}"\n'
        f"当前配置中使用它的：{'、'.join(users) or '无'}\n"
    )
    return EXIT_OK


def _users_of(settings: Settings, address: str) -> list[str]:
    """Names of the sections (and the office) whose chat is `address`."""
    used = [s.name for s in settings.sections if s.chat.strip() == address]
    if settings.office.chat.strip() == address:
        used.append("办公室")
    return used
