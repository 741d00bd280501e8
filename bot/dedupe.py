"""Recently seen delivery keys, so a callback WeCom delivers twice is handled once.

WeCom re-sends a callback it got no timely answer for ("五秒内收不到响应会断掉连接，
并且重新发起请求，总共重试三次",
https://developer.work.weixin.qq.com/document/path/90238) and recommends
de-duplicating by MsgId, or FromUserName + CreateTime for events. The AI bot may
also call back twice with the same ``msgid``
(https://developer.work.weixin.qq.com/document/path/100719).

In memory is enough: retries come within seconds of the first delivery, so a
10-minute window covers them with a wide margin; after a restart a retry older than
the window cannot arrive any more. The set is bounded so a flood cannot grow it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

DEFAULT_TTL_S = 600.0
DEFAULT_MAX_KEYS = 10_000


class RecentKeys:
    """Remembers keys for `ttl_s` seconds, at most `max_keys` (oldest forgotten).

    `clock` is monotonic seconds.
    """

    def __init__(
        self,
        ttl_s: float = DEFAULT_TTL_S,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl_s = ttl_s
        self._max_keys = max_keys
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def first_time(self, key: str) -> bool:
        """True (and remember `key`) unless it was seen within the window."""
        now = self._clock()
        self._forget_expired(now)
        if key in self._expiry:
            return False
        self._expiry[key] = now + self._ttl_s
        while len(self._expiry) > self._max_keys:
            self._expiry.popitem(last=False)
        return True

    def __contains__(self, key: object) -> bool:
        self._forget_expired(self._clock())
        return key in self._expiry

    def __len__(self) -> int:
        return len(self._expiry)

    def _forget_expired(self, now: float) -> None:
        # Keys are inserted in time order with one TTL, so expiry is ordered too.
        while self._expiry:
            key, expires = next(iter(self._expiry.items()))
            if expires > now:
                break
            del self._expiry[key]
