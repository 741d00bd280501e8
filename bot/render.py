"""Render chat replies, cards and forms from the jinja2 templates in `templates/`.

The only module that imports jinja2. Templates are Chinese text a bureau may reword
without touching code; `StrictUndefined` makes a missing variable fail loudly (in a
test) instead of leaving a blank in a group chat.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


class Renderer:
    """Renders named templates with keyword parameters."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._env.filters["hm"] = _format_time
        self._env.filters["ymdhm"] = _format_datetime
        self._env.filters["highlight"] = highlight
        self._env.filters["excerpt"] = excerpt
        self._env.filters["mention"] = mention

    def render(self, template: str, /, **params: Any) -> str:
        """Render `template` (e.g. ``"help.j2"``) and strip outer blank lines."""
        return self._env.get_template(template).render(**params).strip("\n")


def highlight(text: str, terms: Iterable[str]) -> str:
    """Mark each matched term in `text` with WeCom markdown's warning colour."""
    wanted = sorted({t for t in terms if t}, key=len, reverse=True)
    if not wanted:
        return text
    pattern = re.compile("|".join(re.escape(t) for t in wanted), re.IGNORECASE)
    return pattern.sub(lambda m: f'<font color="warning">{m[0]}</font>', text)


def excerpt(text: str, terms: Iterable[str] = (), width: int = 80) -> str:
    """About `width` characters of `text` around the first matched term."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    lowered = text.lower()
    hits = [lowered.find(t.lower()) for t in terms if t and t.lower() in lowered]
    start = max(0, min(hits) - width // 4) if hits else 0
    end = min(len(text), start + width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def mention(userid: str) -> str:
    """A WeCom markdown @mention of `userid`."""
    return f"<@{userid}>"


def _format_time(value: Any) -> str:
    return value.strftime("%H:%M") if value else "—"


def _format_datetime(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"
