# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Ejection and return of replicas, and the per-client limits (429 in the OpenAI shape)."""

from __future__ import annotations

import json

from sovereign_fleet_router.health import HealthSettings, record_failure, record_success
from sovereign_fleet_router.limits import ClientLimit, Limits
from sovereign_fleet_router.table import Replica

SETTINGS = HealthSettings(eject_after=2, return_after=3)


def replica() -> Replica:
    return Replica(host="a", url="http://127.0.0.1:8000", engine="llama_cpp", context=4096, concurrency=1)


def test_ejected_after_failures_in_a_row_and_returned_after_successes() -> None:
    checked = replica()
    record_failure(checked, SETTINGS)
    record_success(checked, SETTINGS)
    record_failure(checked, SETTINGS)
    assert checked.healthy  # not two in a row
    record_failure(checked, SETTINGS)
    assert not checked.healthy
    record_success(checked, SETTINGS)
    record_success(checked, SETTINGS)
    assert not checked.healthy
    record_success(checked, SETTINGS)
    assert checked.healthy


def test_a_request_that_cannot_reach_a_replica_ejects_it_at_once() -> None:
    checked = replica()
    record_failure(checked, SETTINGS, at_once=True)
    assert not checked.healthy


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # 2027-01-15 08:00 UTC

    def __call__(self) -> float:
        return self.now


def test_requests_per_minute_with_retry_after() -> None:
    clock = Clock()
    limits = Limits(ClientLimit(), {"alice": ClientLimit(requests_per_minute=2)}, clock)
    assert limits.admit("alice") is None
    clock.now += 10
    assert limits.admit("alice") is None
    refused = limits.admit("alice")
    assert refused is not None
    assert refused.status == 429
    assert json.loads(refused.body())["error"]["code"] == "rate_limit_exceeded"
    assert refused.retry_after_s == 51
    assert limits.admit("bob") is None  # no limit of its own, and the default has none
    clock.now += 50.5
    assert limits.admit("alice") is None


def test_tokens_per_day_reset_at_utc_midnight() -> None:
    clock = Clock()
    limits = Limits(ClientLimit(tokens_per_day=100), {}, clock)
    limits.add_tokens("carol", 60)
    assert limits.admit("carol") is None
    limits.add_tokens("carol", 40)
    refused = limits.admit("carol")
    assert refused is not None
    assert refused.retry_after_s == 16 * 3600
    clock.now += 16 * 3600
    assert limits.admit("carol") is None
