"""The bot's `Status` in the Prometheus text exposition format (``GET /metrics``).

Written by hand rather than with ``prometheus_client``: a dozen gauges computed
from one snapshot per scrape need no registry, no global state and no extra
dependency. Format: https://prometheus.io/docs/instrumenting/exposition_formats/
(``# HELP``/``# TYPE`` once per metric, label values escaped, timestamps in
seconds since the epoch).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.healthz import Status


def render(status: Status) -> str:
    """All metrics of `status` as one exposition-format document."""
    lines: list[str] = []

    def gauge(
        name: str, help_text: str, samples: list[tuple[dict[str, str], float]]
    ) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in samples:
            lines.append(f"{name}{_labels(labels)} {_number(value)}")

    now = status.now.timestamp()
    gauge(
        "bot_up",
        "1 while the bot answers and its scheduler is healthy.",
        [({}, status.ok)],
    )
    gauge(
        "bot_start_time_seconds",
        "When this bot process started.",
        [({}, status.started_at.timestamp())],
    )
    gauge(
        "bot_scheduler_running",
        "1 while the job scheduler runs.",
        [({}, status.scheduler_running)],
    )
    gauge("bot_scheduler_jobs", "Scheduled jobs.", [({}, status.jobs)])
    gauge(
        "bot_scheduler_overdue_jobs",
        "Jobs overdue by more than 3 minutes.",
        [({}, len(status.overdue_jobs))],
    )

    sources = [s for s in status.sources if s.enabled]
    gauge(
        "bot_source_last_success_timestamp_seconds",
        "Last successful scan of each source (0: never).",
        [({"source": s.name}, _ts(s.last_success)) for s in sources],
    )
    gauge(
        "bot_source_last_attempt_timestamp_seconds",
        "Last scan attempt of each source (0: never).",
        [({"source": s.name}, _ts(s.last_attempt)) for s in sources],
    )
    gauge(
        "bot_source_consecutive_failures",
        "Failed scans in a row per source.",
        [({"source": s.name}, s.consecutive_failures) for s in sources],
    )
    gauge(
        "bot_source_paused",
        "1 while a source is paused (暂停来源).",
        [({"source": s.name}, s.paused) for s in sources],
    )

    gauge(
        "bot_outbox_pending",
        "Messages queued and not yet sent, per channel.",
        [({"channel": c.name}, c.pending) for c in status.channels],
    )
    gauge(
        "bot_outbox_retrying",
        "Queued messages that failed at least once, per channel.",
        [({"channel": c.name}, c.retrying) for c in status.channels],
    )
    oldest = now - status.outbox_oldest.timestamp() if status.outbox_oldest else 0.0
    gauge(
        "bot_outbox_oldest_pending_age_seconds",
        "Age of the oldest queued message (0: none).",
        [({}, max(oldest, 0.0))],
    )
    gauge(
        "bot_channel_connected",
        "1 while a channel with a long connection is connected.",
        [
            ({"channel": c.name}, c.connected)
            for c in status.channels
            if c.connected is not None
        ],
    )
    return "\n".join(lines) + "\n"


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _ts(at: datetime | None) -> float:
    return at.timestamp() if at else 0.0
