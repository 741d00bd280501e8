"""WeCom error codes the fake answers with, and the shape of an error body.

Codes and meanings follow the global error-code page (全局错误码,
https://developer.work.weixin.qq.com/document/path/90313); the English `errmsg`
texts imitate what the real server sends (its messages are English, followed by
``hint``, ``from ip`` and ``more info`` parts). Where the official pages name no
code for a case (a used ``response_code``, an over-long card list) the choice is
marked in `ERRORS` and explained in the module that raises it.
"""

from __future__ import annotations

import secrets
import time

MORE_INFO = "https://open.work.weixin.qq.com/devtool/query?e={code}"

ERRORS: dict[int, str] = {
    -1: "system busy",
    0: "ok",
    40001: "invalid secret",
    40004: "invalid media type",
    40005: "invalid type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40056: "invalid agentid",
    # 40058 also answers card-structure errors the docs give no own code for.
    40058: "invalid parameter",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41006: "media_id missing",
    41010: "url missing",
    41011: "agentid missing",
    41016: "title missing",
    41033: "description missing",
    42001: "access_token expired",
    42014: "taskid has existed or empty or exceed max len",
    42015: "agent of the update does not match the sending agent",
    # 42016 also answers an unknown, used or expired response_code.
    42016: "invalid response_code or task_id not exist",
    42020: "button replace_name missing",
    44001: "empty media data",
    44004: "empty content",
    45001: "media size out of limit",
    45002: "content size out of limit",
    45008: "article count out of limit",
    45009: "api freq out of limit",
    47001: "data format error",
    60020: "not allow to access from your ip",
    81013: "user & party & tag all invalid",
    82001: "all touser & toparty & totag empty",
    86001: "invalid chatid",
    86003: "chatid not found",
    86004: "invalid chat name",
    86005: "invalid chat owner",
    86006: "invalid chat member count",
    86007: "invalid chat member",
    86008: "chat not created by this app",
    86215: "chatid existed",
    86216: "invalid chat member id",
    93000: "invalid webhook url",
    301002: "not allow operate another agent with this accesstoken",
}


class ApiError(Exception):
    """A WeCom API failure: the handler stops and the fake answers `errcode`.

    Args:
        errcode: the WeCom error code (a key of `ERRORS`).
        detail: optional extra words appended to the standard message.
    """

    def __init__(self, errcode: int, detail: str = "") -> None:
        self.errcode = errcode
        self.detail = detail
        base = ERRORS.get(errcode, "unknown error")
        super().__init__(f"{errcode} {base}" + (f": {detail}" if detail else ""))


def error_body(
    errcode: int, ip: str, errmsg: str | None = None, detail: str = ""
) -> dict[str, object]:
    """The JSON body WeCom sends for `errcode`, with hint, caller IP and link.

    `errmsg` replaces the table's text (tests inject odd messages this way).
    """
    text = errmsg if errmsg is not None else ERRORS.get(errcode, "unknown error")
    if detail:
        text = f"{text} ({detail})"
    hint = f"[{int(time.time())}_{secrets.token_hex(4)}_{secrets.token_hex(8)}]"
    return {
        "errcode": errcode,
        "errmsg": (
            f"{text}, hint: {hint}, from ip: {ip}, "
            f"more info at {MORE_INFO.format(code=errcode)}"
        ),
    }
