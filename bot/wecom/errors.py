"""WeCom error codes sorted into what the outbox should do, with Chinese reasons.

Every failure of a WeCom call becomes a `WeComError` (a `SendError`):

- *retryable* (busy, rate limited, timeouts, HTTP 5xx, no connection): try later;
- *config problem* (secret, CorpID, AgentId, trusted IP, recipients, robot key):
  an operator must fix something, the message stays queued and admins are told;
- *message problem* (empty, too long, bad parameters): this message can never go
  out as it is, retrying would not help.

The reasons are Chinese and say what to fix; they never carry a URL, a token or a
webhook key.
"""

from __future__ import annotations

import re

from bot.channels.base import SendError

# The access token is invalid, expired or missing: fetch a new one, retry once.
TOKEN_CODES = frozenset({40014, 42001, 41001})

RETRY, CONFIG, MESSAGE = "retry", "config", "message"

_IP = re.compile(r"from ip:\s*([0-9a-fA-F.:]+)")

# errcode -> (what to do, Chinese reason for the operator).
_TABLE: dict[int, tuple[str, str]] = {
    -1: (RETRY, "企业微信系统繁忙，稍后自动重试"),
    45009: (RETRY, "调用次数超过企业微信的频率限制，至少 60 秒后自动重试"),
    45033: (RETRY, "接口并发调用超过企业微信限制，稍后自动重试"),
    40014: (RETRY, "access_token 刷新后仍被企业微信判为无效，稍后自动重试"),
    42001: (RETRY, "access_token 刷新后仍被企业微信判为过期，稍后自动重试"),
    41001: (RETRY, "请求缺少 access_token，稍后自动重试"),
    40001: (
        CONFIG,
        "应用 Secret 不正确：请到企业微信管理后台 → 应用 → 查看 Secret，"
        "核对环境变量 WECOM_APP_SECRET 是否为该应用的 Secret",
    ),
    40013: (
        CONFIG,
        "企业 ID（CorpID）不正确：请到企业微信管理后台 → 我的企业 查看企业ID，"
        "核对配置 [wecom.app] corp_id",
    ),
    40091: (
        CONFIG,
        "应用 Secret 不合法：请核对环境变量 WECOM_APP_SECRET（不要多复制空格或换行）",
    ),
    40056: (
        CONFIG,
        "应用 AgentId 不正确：请核对配置 [wecom.app] agent_id 与管理后台中的 AgentId",
    ),
    301002: (
        CONFIG,
        "Secret 与 AgentId 不属于同一个应用：请核对 WECOM_APP_SECRET 与 "
        "[wecom.app] agent_id",
    ),
    48002: (
        CONFIG,
        "应用没有调用该接口的权限：请到企业微信管理后台检查应用的接口权限和可见范围",
    ),
    50003: (CONFIG, "应用已停用或已删除：请到企业微信管理后台 → 应用 启用该应用"),
    81013: (
        CONFIG,
        "接收人全部无效或不在应用的可见范围内：请核对配置中的用户ID，"
        "并在管理后台把他们加入应用的可见范围",
    ),
    60011: (
        CONFIG,
        "应用无权访问该成员或部门：请在管理后台把接收人加入应用的可见范围",
    ),
    60021: (
        CONFIG,
        "接收人不在应用的可见范围内：请在管理后台 → 应用 → 可见范围 中添加",
    ),
    82001: (CONFIG, "接收人为空或全部无效：请核对配置中的用户ID"),
    93000: (
        CONFIG,
        "群机器人地址（key）无效或机器人已被移出群：请在群里重新添加机器人，"
        "并更新环境变量 WECOM_WEBHOOK_KEY_<名称>",
    ),
    93004: (CONFIG, "群机器人已被停用：请在群设置 → 群机器人 中启用该机器人"),
    43012: (
        CONFIG,
        "应用未设置接收消息的回调地址，不能发送带按钮的卡片：请到企业微信管理后台 "
        "→ 应用 → 接收消息 设置 API 接收",
    ),
    86001: (CONFIG, "群聊 ID 不合法：请核对配置中的 appchat 群ID"),
    86003: (CONFIG, "群聊不存在：请核对配置中的 appchat 群ID，或重新创建群聊"),
    40050: (CONFIG, "群聊不存在：请核对配置中的 appchat 群ID，或重新创建群聊"),
    49008: (CONFIG, "群聊已解散：请重新创建群聊并更新配置"),
    86008: (CONFIG, "该群聊不是本应用创建的，应用不能向其发消息：请改用本应用创建的群"),
    86004: (MESSAGE, "群名称不合法（最长 50 个字）"),
    86005: (MESSAGE, "群主不合法：群主须是群成员，且在应用的可见范围内"),
    86006: (MESSAGE, "群成员人数须在 2 到 2000 人之间（含群主）"),
    86007: (MESSAGE, "群成员中有无效的用户ID，或不在应用的可见范围内"),
    86215: (MESSAGE, "该群ID已被使用：请换一个 --chatid，或不指定由企业微信生成"),
    86216: (MESSAGE, "群成员中有无效的用户ID"),
    44004: (MESSAGE, "消息内容为空"),
    45002: (MESSAGE, "消息内容超过企业微信的长度限制"),
    40058: (MESSAGE, "消息参数不合法"),
    40008: (MESSAGE, "消息类型不合法（该会话不支持这种消息）"),
    41016: (MESSAGE, "消息缺少标题"),
    41033: (MESSAGE, "消息缺少描述"),
    42014: (MESSAGE, "卡片的 task_id 重复、为空或过长"),
    42015: (MESSAGE, "要更新的卡片不属于本应用"),
    42016: (MESSAGE, "要更新的卡片 task_id 不存在"),
    42017: (MESSAGE, "卡片按钮 key 不存在"),
    42018: (MESSAGE, "卡片按钮 key 不合法"),
    42020: (MESSAGE, "卡片缺少按钮名称"),
    40004: (MESSAGE, "文件类型不合法"),
    40005: (MESSAGE, "文件类型不合法"),
    40006: (MESSAGE, "文件大小不合法（需大于 5 字节，文件不超过 20MB）"),
    40007: (MESSAGE, "素材 media_id 不合法或已过期"),
    44001: (MESSAGE, "上传的文件为空"),
    45001: (MESSAGE, "文件大小超过限制"),
}


class WeComError(SendError):
    """A WeCom call failed; `api` is the endpoint (e.g. ``message/send``)."""

    def __init__(
        self,
        reason: str,
        *,
        retryable: bool,
        retry_after: float = 0.0,
        config_problem: bool = False,
        code: int | None = None,
        api: str = "",
    ) -> None:
        super().__init__(
            reason,
            retryable=retryable,
            retry_after=retry_after,
            config_problem=config_problem,
            code=code,
        )
        self.api = api


def egress_ip(errmsg: str) -> str:
    """The caller's IP WeCom reports in an errmsg (``... from ip: 1.2.3.4``)."""
    match = _IP.search(errmsg)
    return match[1] if match else ""


def classify(api: str, errcode: int, errmsg: str = "") -> WeComError:
    """The error for a WeCom answer with a non-zero `errcode`."""
    if errcode == 60020:
        ip = egress_ip(errmsg) or "（未知）"
        return WeComError(
            f"服务器出口 IP {ip} 不在应用的企业可信 IP 中：请到企业微信管理后台 → "
            f"应用 → 企业可信IP 添加（错误码 60020）",
            retryable=False,
            config_problem=True,
            code=errcode,
            api=api,
        )
    action, reason = _TABLE.get(
        errcode, (MESSAGE, f"企业微信拒绝了请求：{_short(errmsg)}")
    )
    return WeComError(
        f"{reason}（错误码 {errcode}）",
        retryable=action == RETRY,
        retry_after=60.0 if errcode == 45009 else 0.0,
        config_problem=action == CONFIG,
        code=errcode,
        api=api,
    )


def timeout_error(api: str) -> WeComError:
    return WeComError("企业微信接口响应超时，稍后自动重试", retryable=True, api=api)


def connection_error(api: str, kind: str) -> WeComError:
    return WeComError(
        f"无法连接企业微信（{kind}），稍后自动重试", retryable=True, api=api
    )


def http_error(api: str, status: int) -> WeComError:
    """A non-200 HTTP answer: 5xx and 429 pass, anything else means a wrong address."""
    if status >= 500 or status == 429:
        return WeComError(
            f"企业微信接口返回 HTTP {status}，稍后自动重试", retryable=True, api=api
        )
    return WeComError(
        f"企业微信接口返回 HTTP {status}：请核对配置中的接口地址"
        "（[wecom.app] api_base 或 [wecom] webhook_base）",
        retryable=False,
        config_problem=True,
        api=api,
    )


def bad_answer(api: str) -> WeComError:
    return WeComError(
        "企业微信接口返回了无法识别的内容（可能经过了代理或网关），稍后自动重试",
        retryable=True,
        api=api,
    )


def _short(errmsg: str) -> str:
    # WeCom appends ", hint: [...], from ip: ..., more info at <url>": keep the gist.
    return errmsg.split(",")[0].strip()[:80] or "未知错误"
