# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Per-client token buckets: ``burst`` requests at once, refilled at ``rate`` requests per second."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """One token bucket per client id; ``allow`` takes a token or says the client must wait."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got rate={rate!r} burst={burst!r}")
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def allow(self, client: str) -> bool:
        """Take one token from ``client``'s bucket; False when the bucket is empty."""
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            bucket = self._buckets[client] = _Bucket(tokens=self._burst, updated=now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def retry_after(self, client: str) -> int:
        """Whole seconds until ``client`` has a token again (at least 1), for the Retry-After header."""
        bucket = self._buckets.get(client)
        missing = 1.0 - (bucket.tokens if bucket else self._burst)
        return max(1, int(missing / self._rate + 0.999))
