"""Logging set-up: one line per record, key=value fields, secrets masked.

Modules log through ``logging.getLogger(__name__)`` with constant templates and lazy
arguments. The formatter here masks, in the final text (tracebacks included), every
configured secret value and the values of query parameters that carry credentials,
so a careless log call cannot leak a token into a file.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

MASK = "***"

# Query or key=value fields whose value is a credential, in URLs, dicts and messages.
_CREDENTIAL_FIELDS = re.compile(
    r"(?i)(access_token|corpsecret|secret|msg_signature|signature|echostr|"
    r"encodingaeskey|aes_key|token|encrypt)"
    r"(\"?\s*[=:]\s*\"?)([^&\s\"',;}]+)"
)


class RedactingFormatter(logging.Formatter):
    """Format records and mask secrets in the resulting text."""

    def __init__(self, secrets: Iterable[str] = (), fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._secrets = sorted(
            {s for s in secrets if len(s) >= 4}, key=len, reverse=True
        )

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self._secrets)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Mask credential fields and the given secret values in `text`."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return _CREDENTIAL_FIELDS.sub(lambda m: m[1] + m[2] + MASK, text)


def setup(
    level: str = "INFO",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    file: Path | None = None,
) -> None:
    """Send the bot's logs to `stream` (stderr by default), masking `secrets`.

    With `file`, records at `level` go to that rotating file and only errors reach
    `stream`: the console chat stays readable (source trouble shows in 来源).
    """
    formatter = RedactingFormatter(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    if file is not None:
        handler.setLevel(max(logging.ERROR, logging.getLevelName(level)))
        file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.handlers.RotatingFileHandler(
            file, maxBytes=10_000_000, backupCount=5, encoding="utf-8"
        )
        to_file.setFormatter(formatter)
        root.addHandler(to_file)
    # Libraries log request URLs (which may carry access_token) at INFO.
    for noisy in ("httpx", "httpcore", "apscheduler", "jieba"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
