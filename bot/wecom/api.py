"""Async clients for WeCom's REST API: the self-built app and the group robot.

`WeComClient` talks to ``/cgi-bin/`` with an access token (see `TokenManager`):
app messages, card updates, recall, app group chats and media upload. A call
rejected for an invalid, expired or missing token is retried once with a new token,
never more. `WebhookClient` posts to one group robot (群机器人) by its key.

Every failure is raised as a `WeComError` sorted by `bot.wecom.errors.classify`.
Logs name the endpoint only: never a URL, an access token, a secret or a key.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from bot.wecom import errors
from bot.wecom.errors import TOKEN_CODES
from bot.wecom.tokens import TokenManager

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0

Files = dict[str, tuple[str, bytes, str]]


async def _request(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    api: str,
    params: dict[str, str],
    body: dict[str, Any] | None = None,
    files: Files | None = None,
) -> dict[str, Any]:
    """One HTTP exchange; the decoded JSON answer, errcode not yet checked."""
    content = None
    headers = {}
    if body is not None:
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers["Content-Type"] = "application/json; charset=utf-8"
    try:
        response = await http.request(
            method, url, params=params, content=content, files=files, headers=headers
        )
    except httpx.TimeoutException:
        logger.warning("wecom call timed out api=%s", api)
        raise errors.timeout_error(api) from None
    except httpx.TransportError as exc:
        logger.warning("wecom call failed api=%s error=%s", api, type(exc).__name__)
        raise errors.connection_error(api, type(exc).__name__) from None
    if response.status_code != 200:
        logger.warning(
            "wecom call http error api=%s status=%d", api, response.status_code
        )
        raise errors.http_error(api, response.status_code)
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        logger.warning("wecom call answer not json api=%s", api)
        raise errors.bad_answer(api)
    return data


def _errcode(data: dict[str, Any]) -> int:
    try:
        return int(data.get("errcode", 0) or 0)
    except (TypeError, ValueError):
        return -1


def _check(api: str, data: dict[str, Any]) -> dict[str, Any]:
    code = _errcode(data)
    if code == 0:
        return data
    error = errors.classify(api, code, str(data.get("errmsg", "")))
    logger.warning(
        "wecom call rejected api=%s errcode=%d retryable=%s config_problem=%s",
        api,
        code,
        error.retryable,
        error.config_problem,
    )
    raise error


def _join(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path


class WeComClient:
    """The REST API of one self-built app (自建应用).

    `http` is shared when given (the caller closes it), else owned and closed by
    `aclose`. `clock` (monotonic seconds) times the token's expiry.
    """

    def __init__(
        self,
        api_base: str,
        corp_id: str,
        agent_id: int,
        secret: str,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._base = api_base
        self._corp_id = corp_id
        self.agent_id = agent_id
        self._secret = secret
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self.tokens = TokenManager(self._fetch_token, clock)

    def __repr__(self) -> str:
        return f"WeComClient(agent_id={self.agent_id})"

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def _fetch_token(self) -> tuple[str, float]:
        data = await _request(
            self._http,
            "GET",
            _join(self._base, "gettoken"),
            api="gettoken",
            params={"corpid": self._corp_id, "corpsecret": self._secret},
        )
        _check("gettoken", data)
        if not data.get("access_token"):
            raise errors.bad_answer("gettoken")
        return str(data["access_token"]), float(data.get("expires_in", 7200))

    async def call(
        self,
        method: str,
        api: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        files: Files | None = None,
    ) -> dict[str, Any]:
        """Call ``/cgi-bin/<api>`` with a token; retry once if the token is refused."""
        for attempt in (1, 2):
            token = await self.tokens.get()
            data = await _request(
                self._http,
                method,
                _join(self._base, api),
                api=api,
                params={**(params or {}), "access_token": token},
                body=body,
                files=files,
            )
            code = _errcode(data)
            if code in TOKEN_CODES and attempt == 1:
                logger.info("wecom token refused api=%s errcode=%d", api, code)
                self.tokens.invalidate(token)
                continue
            return _check(api, data)
        raise AssertionError("unreachable")  # pragma: no cover

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        """``message/send`` (the app's agentid is added); the answer."""
        data = await self.call(
            "POST", "message/send", body={**body, "agentid": self.agent_id}
        )
        invalid = {
            k: data[k]
            for k in ("invaliduser", "invalidparty", "invalidtag", "unlicenseduser")
            if data.get(k)
        }
        if invalid:
            logger.warning("wecom message partly undelivered %s", _fields(invalid))
        return data

    async def update_template_card(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call(
            "POST",
            "message/update_template_card",
            body={**body, "agentid": self.agent_id},
        )

    async def recall(self, msgid: str) -> None:
        await self.call("POST", "message/recall", body={"msgid": msgid})

    async def appchat_create(self, body: dict[str, Any]) -> str:
        """Create a group chat; its chatid."""
        data = await self.call("POST", "appchat/create", body=body)
        return str(data.get("chatid", ""))

    async def appchat_get(self, chatid: str) -> dict[str, Any]:
        """The group's ``chat_info`` (chatid, name, owner, userlist)."""
        data = await self.call("GET", "appchat/get", params={"chatid": chatid})
        info = data.get("chat_info", {})
        return info if isinstance(info, dict) else {}

    async def appchat_update(self, body: dict[str, Any]) -> None:
        await self.call("POST", "appchat/update", body=body)

    async def appchat_send(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self.call("POST", "appchat/send", body=body)

    async def upload_media(self, kind: str, filename: str, data: bytes) -> str:
        """Upload a temporary medium (valid 3 days); its media_id."""
        answer = await self.call(
            "POST",
            "media/upload",
            params={"type": kind},
            files={"media": (filename, data, "application/octet-stream")},
        )
        return str(answer.get("media_id", ""))


class WebhookClient:
    """One group robot (群机器人), reached by its secret key."""

    def __init__(
        self,
        webhook_base: str,
        key: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._base = webhook_base
        self._key = key
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)

    def __repr__(self) -> str:
        return "WebhookClient(key=***)"

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def send(self, body: dict[str, Any]) -> dict[str, Any]:
        data = await _request(
            self._http,
            "POST",
            _join(self._base, "send"),
            api="webhook/send",
            params={"key": self._key},
            body=body,
        )
        return _check("webhook/send", data)

    async def upload_media(self, kind: str, filename: str, data: bytes) -> str:
        answer = await _request(
            self._http,
            "POST",
            _join(self._base, "upload_media"),
            api="webhook/upload_media",
            params={"key": self._key, "type": kind},
            files={"media": (filename, data, "application/octet-stream")},
        )
        return str(_check("webhook/upload_media", answer).get("media_id", ""))


def _fields(values: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())
