"""What ``GET /healthz`` and ``GET /metrics`` report about the running bot.

`BotStatus` reads the scheduler, the source states in the store, the outbox queue
and the running channels into one `Status`, computed afresh on each request. The
bot is healthy (``ok``, HTTP 200) while the scheduler runs and no job is overdue
by more than `OVERDUE_AFTER`: a job every minute that has not run for that long
means the event loop is stuck or the scheduler died. Failing sources and
disconnected channels are reported but do not make the bot unhealthy: they are
problems outside the process that restarting it would not fix.

`serve_status` makes sure an HTTP server listens whenever ``run`` runs: the
callback server when a channel needs one, else a server with only these routes.
The Prometheus rendering lives in `bot.metrics`; the routes in `bot.server`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot import metrics
from bot.server import CallbackServer

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from bot.app import App

logger = logging.getLogger(__name__)

OVERDUE_AFTER = timedelta(minutes=3)


@dataclass(frozen=True)
class SourceStatus:
    """The last scan of one source."""

    name: str
    enabled: bool
    paused: bool
    last_attempt: datetime | None
    last_success: datetime | None
    consecutive_failures: int
    last_error: str
    alert: str


@dataclass(frozen=True)
class ChannelStatus:
    """One running channel: connected (``null`` if it has no connection) and queue."""

    name: str
    connected: bool | None
    pending: int
    retrying: int


@dataclass(frozen=True)
class Status:
    ok: bool
    now: datetime
    started_at: datetime
    scheduler_running: bool
    jobs: int
    overdue_jobs: list[str]
    sources: list[SourceStatus]
    outbox_pending: int
    outbox_oldest: datetime | None
    channels: list[ChannelStatus]


class BotStatus:
    """Computes the bot's `Status` on demand; the server's status source."""

    def __init__(self, app: App, scheduler: BaseScheduler) -> None:
        self._app = app
        self._scheduler = scheduler
        self._started_at = app.now()

    def snapshot(self) -> Status:
        now = self._app.now()
        running = bool(self._scheduler.running)
        jobs = self._scheduler.get_jobs()
        overdue = sorted(
            job.id
            for job in jobs
            if job.next_run_time is not None and job.next_run_time < now - OVERDUE_AFTER
        )
        pending = self._app.outbox.pending()
        return Status(
            ok=running and not overdue,
            now=now,
            started_at=self._started_at,
            scheduler_running=running,
            jobs=len(jobs),
            overdue_jobs=overdue,
            sources=self._sources(),
            outbox_pending=len(pending),
            outbox_oldest=min(
                (m.created_at for m in pending if m.created_at), default=None
            ),
            channels=self._channels(pending),
        )

    def health(self) -> dict[str, Any]:
        """The ``/healthz`` JSON body; ``ok`` decides between 200 and 503."""
        status = self.snapshot()
        body = asdict(status)
        return _jsonable(body)

    def metrics(self) -> str:
        """The ``/metrics`` body in Prometheus text format."""
        return metrics.render(self.snapshot())

    def _sources(self) -> list[SourceStatus]:
        states = {state.name: state for state in self._app.store.sources.all()}
        out = []
        for source in self._app.scanner.sources():
            state = states.get(source.name)
            out.append(
                SourceStatus(
                    name=source.name,
                    enabled=source.enabled,
                    paused=bool(state and state.paused),
                    last_attempt=state.last_attempt if state else None,
                    last_success=state.last_success if state else None,
                    consecutive_failures=state.consecutive_failures if state else 0,
                    last_error=state.last_error if state else "",
                    alert=state.alert if state else "",
                )
            )
        return out

    def _channels(self, pending: list[Any]) -> list[ChannelStatus]:
        queued = Counter(m.channel for m in pending)
        retrying = Counter(m.channel for m in pending if m.attempts)
        names = sorted(set(self._app.channels) | set(queued))
        out = []
        for name in names:
            channel = self._app.channels.get(name)
            connected = getattr(channel, "connected", None)
            out.append(
                ChannelStatus(
                    name=name,
                    connected=connected if isinstance(connected, bool) else None,
                    pending=queued[name],
                    retrying=retrying[name],
                )
            )
        return out


async def serve_status(app: App, scheduler: BaseScheduler) -> CallbackServer | None:
    """Attach a `BotStatus` to the callback server, starting one if none runs.

    Returns the server this call started (the caller stops it), or None when the
    channels' callback server carries the routes or the port is taken (logged as
    an ERROR; the bot runs on unwatched).
    """
    status = BotStatus(app, scheduler)
    server = app.callback_server
    if server is not None:
        server.status = status
        return None
    own = CallbackServer(app.settings, {})
    own.status = status
    try:
        await own.start()
    except OSError as exc:
        # Scanning and pushing matter more than being watched: run on without it.
        logger.error(
            "status server not started host=%s port=%d error=%s",
            app.settings.server.host,
            app.settings.server.port,
            exc.strerror or exc,
        )
        await own.stop()
        return None
    return own


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return value
