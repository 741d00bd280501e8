"""Turn parsed TOML tables into frozen dataclasses, checking keys and types.

Used by `bot.config` only. Every failure raises `ConfigError` with the dotted key
(``sections[2].heads``) and a Chinese sentence saying what was expected, so an operator
can fix the file without reading code. Range and cross-field checks live next to the
settings classes, in their ``check`` methods.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

_TYPE_NAMES = {
    str: "字符串",
    int: "整数",
    bool: "true 或 false",
    float: "数字",
    Path: "路径字符串",
}


def describe_value(value: object) -> str:
    """Say in Chinese what kind of value the operator wrote."""
    if isinstance(value, bool):
        return f"布尔值 {str(value).lower()}"
    if isinstance(value, int):
        return f"整数 {value}"
    if isinstance(value, float):
        return f"数字 {value}"
    if isinstance(value, str):
        return f'字符串 "{value}"'
    if isinstance(value, list):
        return "列表"
    if isinstance(value, dict):
        return "表（[...] 段）"
    return type(value).__name__


def build(cls: type, raw: object, key: str, file: Path) -> Any:
    """Build dataclass `cls` from `raw`, the TOML table found at `key`."""
    if not isinstance(raw, dict):
        raise ConfigError(
            file, key, f"应为一个表（[{key}] 段），实际为{describe_value(raw)}"
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    _reject_unknown(cls, raw, fields, key, file)

    values: dict[str, Any] = {}
    for name, field in fields.items():
        sub = f"{key}.{name}" if key else name
        if name in raw:
            values[name] = _convert(hints[name], raw[name], sub, file)
        elif _is_required(field):
            raise ConfigError(file, sub, "缺少必填项")
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if check is not None:
        check(key, file)
    return obj


def _reject_unknown(cls: type, raw: dict, fields: dict, key: str, file: Path) -> None:
    env_hints: dict[str, str] = getattr(cls, "ENV_HINTS", {})
    for name in raw:
        if name in fields:
            continue
        sub = f"{key}.{name}" if key else name
        if name in env_hints:
            raise ConfigError(
                file,
                sub,
                "机密信息不能写在配置文件里；"
                f"请删除此项，改用环境变量 {env_hints[name]}",
            )
        close = difflib.get_close_matches(name, list(fields), n=1)
        hint = f"，是不是想写 {close[0]}？" if close else ""
        allowed = "、".join(fields)
        raise ConfigError(file, sub, f"未知的配置项{hint}（此处可用：{allowed}）")


def _is_required(field: dataclasses.Field) -> bool:
    return (
        field.default is dataclasses.MISSING
        and field.default_factory is dataclasses.MISSING
    )


def _convert(hint: Any, value: object, key: str, file: Path) -> Any:
    origin = typing.get_origin(hint)
    if origin is tuple:
        item_type = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise ConfigError(file, key, f"应为列表，实际为{describe_value(value)}")
        return tuple(
            _convert(item_type, item, f"{key}[{i + 1}]", file)
            for i, item in enumerate(value)
        )
    if origin is dict:  # a table of names to strings, e.g. [names]
        if not isinstance(value, dict):
            raise ConfigError(file, key, f"应为一个表，实际为{describe_value(value)}")
        item_type = typing.get_args(hint)[1]
        return {
            str(k): _convert(item_type, v, f"{key}.{k}", file) for k, v in value.items()
        }
    if origin in (typing.Union, types.UnionType):
        return _convert(typing.get_args(hint)[0], value, key, file)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, key, file)
    return _convert_scalar(hint, value, key, file)


def _convert_scalar(hint: type, value: object, key: str, file: Path) -> Any:
    expected = _TYPE_NAMES.get(hint, hint.__name__)
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ConfigError(file, key, f"应为{expected}，实际为{describe_value(value)}")
    if hint is Path:
        return Path(typing.cast(str, value))
    if hint is float:
        return float(typing.cast(float, value))
    return value
