"""Conversion between the dataclasses of `bot.models` and stored JSON documents.

Datetimes are stored as ISO 8601 strings with their offset and come back as aware
datetimes in the store's time zone; a naive datetime is taken to be in that zone.
The ``id`` field is never stored: the store derives it from where the document
lives. Missing fields take the dataclass default, unknown fields are ignored, so
documents written by older or newer code still load.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from datetime import datetime, tzinfo
from typing import Any, TypeVar

T = TypeVar("T")

_PLAIN, _TIME, _MAYBE_TIME, _RECORDS, _TUPLE = range(5)


def time_out(value: datetime, tz: tzinfo) -> str:
    """Store an aware datetime (a naive one is taken to be in `tz`)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.isoformat()


def time_in(value: str, tz: tzinfo) -> datetime:
    """Read back a stored datetime, converted to `tz`."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(tz)


def local(value: datetime, tz: tzinfo) -> datetime:
    """`value` expressed in `tz` (a naive value is taken to be in `tz`)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value.astimezone(tz)


@functools.cache
def _spec(cls: type) -> tuple[tuple[str, int], ...]:
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if f.name == "id":
            continue
        hint = hints[f.name]
        if hint is datetime:
            kind = _TIME
        elif hint == datetime | None:
            kind = _MAYBE_TIME
        elif _record_type(hint) is not None:
            kind = _RECORDS
        elif typing.get_origin(hint) is tuple:
            kind = _TUPLE
        else:
            kind = _PLAIN
        out.append((f.name, kind))
    return tuple(out)


@functools.cache
def _records_of(cls: type, name: str) -> type:
    """The dataclass held by field `name` of `cls` (a ``tuple[X, ...]``).

    Cached: resolving annotations costs far more than reading a record.
    """
    record = _record_type(typing.get_type_hints(cls)[name])
    assert record is not None
    return record


def _record_type(hint: Any) -> type | None:
    """The dataclass X when `hint` is ``tuple[X, ...]``, else None."""
    if typing.get_origin(hint) is not tuple:
        return None
    args = typing.get_args(hint)
    if len(args) == 2 and args[1] is Ellipsis and dataclasses.is_dataclass(args[0]):
        return typing.cast(type, args[0])
    return None


def to_doc(obj: Any, tz: tzinfo) -> dict[str, Any]:
    """The JSON document for dataclass instance `obj` (without its id)."""
    doc: dict[str, Any] = {}
    for name, kind in _spec(type(obj)):
        value = getattr(obj, name)
        if kind == _TIME or (kind == _MAYBE_TIME and value is not None):
            value = time_out(value, tz)
        elif kind == _RECORDS:
            value = [to_doc(record, tz) for record in value]
        elif isinstance(value, dict):
            value = copy_json(value)
        doc[name] = value
    return doc


def from_doc(cls: type[T], doc: dict[str, Any], tz: tzinfo, **extra: Any) -> T:
    """Rebuild a `cls` instance from its document; `extra` sets e.g. the id."""
    kwargs: dict[str, Any] = {}
    for name, kind in _spec(cls):
        if name not in doc:
            continue
        value = doc[name]
        if kind == _TIME or (kind == _MAYBE_TIME and value is not None):
            value = time_in(value, tz)
        elif kind == _RECORDS:
            record = _records_of(cls, name)
            value = tuple(from_doc(record, item, tz) for item in value)
        elif kind == _TUPLE:
            value = tuple(value)
        elif isinstance(value, dict):
            value = copy_json(value)
        kwargs[name] = value
    kwargs.update(extra)
    return cls(**kwargs)


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON-like value (dicts and lists), tuples become lists."""
    if isinstance(value, dict):
        return {str(k): copy_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [copy_json(v) for v in value]
    return value
