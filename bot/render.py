"""Render chat replies, cards and forms from the jinja2 templates in `templates/`.

The only module that imports jinja2. Templates are Chinese text a bureau may reword
without touching code; `StrictUndefined` makes a missing variable fail loudly (in a
test) instead of leaving a blank in a group chat.
"""

from __future__ import annotations

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

    def render(self, template: str, /, **params: Any) -> str:
        """Render `template` (e.g. ``"help.j2"``) and strip outer blank lines."""
        return self._env.get_template(template).render(**params).strip("\n")


def _format_time(value: Any) -> str:
    return value.strftime("%H:%M") if value else "—"


def _format_datetime(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"
