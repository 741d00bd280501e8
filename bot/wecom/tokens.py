"""The access token of one WeCom app: fetched once, shared, refreshed early.

WeCom blocks callers that fetch tokens too often, so one token is kept per app and
refreshed a few minutes before it expires. Concurrent callers wait for a single
fetch (an `asyncio.Lock`). When WeCom says a token is invalid before its time, the
caller `invalidate`s it and the next `get` fetches a new one. A configuration
failure (wrong secret, CorpID, untrusted IP) is remembered for a while so a queue
of messages does not hammer ``gettoken``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.wecom.errors import WeComError

logger = logging.getLogger(__name__)

# Fetches a token: returns (access_token, expires_in seconds) or raises WeComError.
Fetch = Callable[[], Awaitable[tuple[str, float]]]

REFRESH_MARGIN_S = 300.0
CONFIG_FAILURE_HOLD_S = 60.0


class TokenManager:
    """Hands out a valid access token; `clock` is monotonic seconds."""

    def __init__(
        self,
        fetch: Fetch,
        clock: Callable[[], float],
        *,
        margin: float = REFRESH_MARGIN_S,
        failure_hold: float = CONFIG_FAILURE_HOLD_S,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin = margin
        self._failure_hold = failure_hold
        self._token = ""
        self._expires_at = 0.0
        self._failure: WeComError | None = None
        self._failure_until = 0.0
        self._lock = asyncio.Lock()
        self.fetches = 0

    def _fresh(self) -> bool:
        return bool(self._token) and self._clock() < self._expires_at - self._margin

    async def get(self) -> str:
        """A token that is valid for at least the margin (fetching if needed)."""
        if self._fresh():
            return self._token
        async with self._lock:
            if self._fresh():
                return self._token
            if self._failure is not None and self._clock() < self._failure_until:
                failure = self._failure
                raise WeComError(
                    failure.reason,
                    retryable=False,
                    config_problem=True,
                    code=failure.code,
                    api=failure.api,
                )
            self.fetches += 1
            try:
                token, expires_in = await self._fetch()
            except WeComError as exc:
                if exc.config_problem:
                    self._failure = exc
                    self._failure_until = self._clock() + self._failure_hold
                raise
            self._failure = None
            self._token = token
            self._expires_at = self._clock() + expires_in
            logger.info("wecom token fetched expires_in=%d", int(expires_in))
            return token

    def invalidate(self, token: str) -> None:
        """Forget `token` (if it is still the current one) after WeCom rejected it."""
        if token and token == self._token:
            self._token = ""
            self._expires_at = 0.0
            logger.info("wecom token invalidated")
