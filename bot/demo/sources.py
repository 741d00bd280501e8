"""The demo's sample sources: a forum RSS feed, a message-board list page and an
article page per item, rendered from ``demo/items.toml`` with publication times
relative to the start of the demo, so every item is fresh whenever it runs."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import jinja2
from aiohttp import web

DEMO_DIR = Path(__file__).resolve().parents[2] / "demo"


@dataclass(frozen=True)
class SampleItem:
    path: str
    title: str
    summary: str
    body: str
    published: datetime


def load_items(now: datetime) -> dict[str, list[SampleItem]]:
    """The sample items per list (``forum``, ``board``), newest first."""
    raw = tomllib.loads((DEMO_DIR / "items.toml").read_text(encoding="utf-8"))
    return {
        name: [
            SampleItem(
                path=entry["path"],
                title=entry["title"],
                summary=entry["summary"],
                body=entry["body"],
                published=now - timedelta(minutes=entry["minutes_ago"]),
            )
            for entry in entries
        ]
        for name, entries in raw.items()
    }


class SampleSources:
    """An HTTP server on 127.0.0.1 (a free port) serving the sample pages."""

    def __init__(self, now: datetime) -> None:
        self.items = load_items(now)
        self._pages = {
            item.path: item for items in self.items.values() for item in items
        }
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(DEMO_DIR / "sources"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self._env.filters["rfc822"] = format_datetime
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def __aenter__(self) -> SampleSources:
        app = web.Application()
        app.router.add_get("/forum.rss", self._forum)
        app.router.add_get("/board.html", self._board)
        app.router.add_get("/{kind:(forum|board)}/{name}", self._article)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _page(self, template: str, content_type: str, **values: object) -> web.Response:
        text = self._env.get_template(template).render(base=self.base, **values)
        return web.Response(text=text, content_type=content_type, charset="utf-8")

    async def _forum(self, request: web.Request) -> web.Response:
        return self._page(
            "forum.rss.j2", "application/rss+xml", items=self.items["forum"]
        )

    async def _board(self, request: web.Request) -> web.Response:
        return self._page("board.html.j2", "text/html", items=self.items["board"])

    async def _article(self, request: web.Request) -> web.Response:
        item = self._pages.get(request.path)
        if item is None:
            raise web.HTTPNotFound()
        return self._page("article.html.j2", "text/html", item=item)
