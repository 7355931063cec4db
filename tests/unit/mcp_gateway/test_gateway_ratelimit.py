# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The per-client token bucket."""

from __future__ import annotations

import pytest
from sovereign_mcp_gateway.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.allow("alice") for _attempt in range(4)] == [True, True, True, False]
    assert limiter.retry_after("alice") == 1
    clock.now += 0.5
    assert limiter.allow("alice") is True
    assert limiter.allow("alice") is False
    clock.now += 10
    assert [limiter.allow("alice") for _attempt in range(4)] == [True, True, True, False], (
        "refill stops at burst"
    )


def test_clients_have_separate_buckets() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=FakeClock())
    assert limiter.allow("alice") is True
    assert limiter.allow("alice") is False
    assert limiter.allow("bob") is True


def test_retry_after_for_slow_rates() -> None:
    limiter = RateLimiter(rate=0.1, burst=1, clock=FakeClock())
    limiter.allow("alice")
    assert limiter.retry_after("alice") == 10


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_invalid_settings(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="rate must be"):
        RateLimiter(rate=rate, burst=burst)
