"""WeCom settings: the non-secret `[wecom.*]` tables, secrets from the environment,
and chat addresses (where a section's messages go).

A chat address is ``"<channel>:<id>"``:

- ``aibot:<chatid>``: a group (or user) reached by the AI bot (智能机器人);
- ``appchat:<chatid>``: a group chat created by the self-built app (自建应用);
- ``app:<userid|userid>``: app messages to members, one by one;
- ``webhook:<name>``: the group robot named in ``[[wecom.webhooks]]``;
- ``console``: the terminal.

A bare id (no prefix) goes to the preferred channel that is set up: the AI bot,
else the app's group chats, else the console. Sending is left to `bot.channels`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from bot.errors import ConfigError

CHANNELS = ("aibot", "appchat", "app", "webhook", "console")
WEBHOOK_KEY_PREFIX = "WECOM_WEBHOOK_KEY_"
_NAME = re.compile(r"^[A-Za-z0-9_]{1,32}$")

_APP_ENV_HINTS = {
    "secret": "WECOM_APP_SECRET",
    "corp_secret": "WECOM_APP_SECRET",
    "corpsecret": "WECOM_APP_SECRET",
    "token": "WECOM_APP_TOKEN",
    "aes_key": "WECOM_APP_AES_KEY",
    "encoding_aes_key": "WECOM_APP_AES_KEY",
}
_AIBOT_ENV_HINTS = {
    "secret": "WECOM_AIBOT_SECRET",
    "token": "WECOM_AIBOT_TOKEN",
    "aes_key": "WECOM_AIBOT_AES_KEY",
    "encoding_aes_key": "WECOM_AIBOT_AES_KEY",
}


def _check_url(file: Path, key: str, value: str, schemes: tuple[str, ...]) -> None:
    if not value.startswith(schemes):
        raise ConfigError(file, key, f"应为以 {' 或 '.join(schemes)} 开头的网址")


@dataclass(frozen=True)
class WecomApp:
    """Self-built app (自建应用): REST API and encrypted XML callbacks."""

    ENV_HINTS: ClassVar[dict[str, str]] = _APP_ENV_HINTS

    corp_id: str = ""
    agent_id: int = 0
    api_base: str = "https://qyapi.weixin.qq.com/cgi-bin/"

    def check(self, key: str, file: Path) -> None:
        if self.agent_id < 0:
            raise ConfigError(
                file, f"{key}.agent_id", "应为企业微信应用的 AgentId（正整数）"
            )
        _check_url(file, f"{key}.api_base", self.api_base, ("http://", "https://"))


@dataclass(frozen=True)
class WecomAiBot:
    """AI bot (智能机器人): long connection (``ws``) or callback URL (``callback``)."""

    ENV_HINTS: ClassVar[dict[str, str]] = _AIBOT_ENV_HINTS

    bot_id: str = ""
    mode: str = "ws"
    ws_url: str = "wss://openws.work.weixin.qq.com"

    def check(self, key: str, file: Path) -> None:
        if self.mode not in ("ws", "callback"):
            raise ConfigError(
                file,
                f"{key}.mode",
                f'"{self.mode}" 无效，应为 "ws"（长连接）或 "callback"（回调）',
            )
        _check_url(file, f"{key}.ws_url", self.ws_url, ("ws://", "wss://"))


@dataclass(frozen=True)
class WecomWebhook:
    """A group robot (群机器人); its key comes from WECOM_WEBHOOK_KEY_<NAME>."""

    name: str

    @property
    def env_name(self) -> str:
        return WEBHOOK_KEY_PREFIX + self.name.upper()

    def check(self, key: str, file: Path) -> None:
        if not _NAME.match(self.name):
            raise ConfigError(
                file,
                f"{key}.name",
                f'"{self.name}" 不可用：只能由字母、数字和 _ 组成，最长 32 个字符',
            )


@dataclass(frozen=True)
class Wecom:
    app: WecomApp = field(default_factory=WecomApp)
    aibot: WecomAiBot = field(default_factory=WecomAiBot)
    webhooks: tuple[WecomWebhook, ...] = ()
    webhook_base: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/"
    callback_max_age_s: int = 300

    def check(self, key: str, file: Path) -> None:
        _check_url(
            file, f"{key}.webhook_base", self.webhook_base, ("http://", "https://")
        )
        if not 30 <= self.callback_max_age_s <= 3600:
            raise ConfigError(
                file, f"{key}.callback_max_age_s", "应在 30 到 3600 秒之间"
            )
        names = [w.name for w in self.webhooks]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise ConfigError(
                    file, f"{key}.webhooks[{i + 1}].name", f'"{name}" 重复'
                )


@dataclass(frozen=True)
class Secrets:
    """Secrets from the environment; never printed (repr hides them)."""

    app_secret: str = field(default="", repr=False)
    app_token: str = field(default="", repr=False)
    app_aes_key: str = field(default="", repr=False)
    aibot_secret: str = field(default="", repr=False)
    aibot_token: str = field(default="", repr=False)
    aibot_aes_key: str = field(default="", repr=False)
    webhook_keys: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str]) -> Secrets:
        return cls(
            app_secret=env.get("WECOM_APP_SECRET", ""),
            app_token=env.get("WECOM_APP_TOKEN", ""),
            app_aes_key=env.get("WECOM_APP_AES_KEY", ""),
            aibot_secret=env.get("WECOM_AIBOT_SECRET", ""),
            aibot_token=env.get("WECOM_AIBOT_TOKEN", ""),
            aibot_aes_key=env.get("WECOM_AIBOT_AES_KEY", ""),
            webhook_keys={
                name[len(WEBHOOK_KEY_PREFIX) :].lower(): value
                for name, value in env.items()
                if name.startswith(WEBHOOK_KEY_PREFIX) and value
            },
        )

    def webhook_key(self, name: str) -> str:
        return self.webhook_keys.get(name.lower(), "")

    def values(self) -> list[str]:
        """Every non-empty secret, for the log redaction filter."""
        plain = (
            self.app_secret,
            self.app_token,
            self.app_aes_key,
            self.aibot_secret,
            self.aibot_token,
            self.aibot_aes_key,
        )
        return [v for v in (*plain, *self.webhook_keys.values()) if v]


@dataclass(frozen=True)
class ChatAddress:
    """Where a message goes: a channel and the id it knows the chat by."""

    channel: str
    id: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.id}" if self.id else self.channel


def parse_chat(text: str, default_channel: str) -> ChatAddress:
    """Parse ``"webhook:szk"`` (or a bare id, for `default_channel`)."""
    text = text.strip()
    if text == "console" or not text:
        return ChatAddress("console", "")
    channel, sep, ident = text.partition(":")
    if not sep:
        return ChatAddress(default_channel, text)
    if channel not in CHANNELS:
        raise ValueError(channel)
    return ChatAddress(channel, ident.strip())
