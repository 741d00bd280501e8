"""Exceptions raised by the bot.

::

    BotError
     ├── ConfigError (ValueError)        bad config.toml or environment: exit 2
     ├── StoreError                      the embedded store cannot be used
     │    ├── StoreLockedError           another process owns the data directory
     │    └── StoreCorruptError          a data file cannot be read back
     └── UserError                       an expected chat failure, shown to the user
          ├── UnknownCommandError        nothing matches what was typed
          └── PermissionDeniedError      the sender's roles do not allow the command

`UserError` carries a template name and its parameters; the dispatcher renders it in
Chinese. Every other exception reaching the dispatcher is logged with its traceback and
answered with a generic apology and a reference code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class BotError(Exception):
    """Base class of every error the bot raises on purpose."""


class ConfigError(BotError, ValueError):
    """Raised when the configuration file or environment is invalid.

    `message` is Chinese and meant for the operator: it names the file, the key and
    what is expected.
    """

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path = str(path)
        self.key = key
        self.message = message
        where = f"{self.path} 中的 {key}" if key else self.path
        super().__init__(f"配置错误：{where}：{message}")


class StoreError(BotError):
    """Raised when the embedded store cannot be opened or written."""


class StoreLockedError(StoreError):
    """Raised when another process already owns the data directory."""

    def __init__(self, data_dir: Path, owner: str) -> None:
        self.data_dir = data_dir
        self.owner = owner
        super().__init__(
            f"数据目录 {data_dir} 正被另一个进程使用（{owner}）。"
            "同一数据目录只能运行一个机器人；"
            "请先停止那个进程，或用 --config 指定另一份配置。"
        )


class StoreCorruptError(StoreError):
    """Raised when a data file exists but cannot be read back."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"数据文件 {path} 无法读取：{reason}")


class UserError(BotError):
    """An expected failure answered in chat with the template `template`."""

    template = "errors/generic.j2"

    def __init__(self, template: str | None = None, **params: Any) -> None:
        if template is not None:
            self.template = template
        self.params = params
        super().__init__(f"{self.template} {sorted(params)}")


class UnknownCommandError(UserError):
    """Raised when a chat line matches no command."""

    template = "errors/unknown_command.j2"


class PermissionDeniedError(UserError):
    """Raised when the sender's roles do not allow a command."""

    template = "errors/permission_denied.j2"
