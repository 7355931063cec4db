# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The OPA decision client fails closed on every answer that is not an explicit allow."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from decision_double import DecisionDouble
from gateway_fixtures import free_port
from sovereign_mcp_gateway.decision import DecisionClient, interpret


@pytest.mark.parametrize(
    ("status", "body", "allow"),
    [
        (200, {"result": {"allow": True, "reasons": []}}, True),
        (200, {"result": {"allow": False, "reasons": ["no"]}}, False),
        (200, {"result": {"allow": "true"}}, False),
        (200, {"result": {"allow": 1}}, False),
        (200, {"result": {"allow": [True]}}, False),
        (200, {"result": {"reasons": []}}, False),
        (200, {"result": True}, False),
        (200, {"result": "allow"}, False),
        (200, {}, False),
        (200, [], False),
        (200, None, False),
        (500, {"result": {"allow": True}}, False),
        (404, {"result": {"allow": True}}, False),
        (302, {"result": {"allow": True}}, False),
    ],
)
def test_interpret(status: int, body: object, allow: bool) -> None:
    granted, reasons = interpret(status, json.dumps(body).encode())
    assert granted is allow
    if not allow:
        assert reasons, "a deny always says why"


def test_interpret_malformed() -> None:
    assert interpret(200, b'{"result": {"allow": tru') == (
        False,
        ["decision service answered malformed JSON"],
    )


def test_reasons_are_passed_on() -> None:
    assert interpret(200, b'{"result": {"allow": false, "reasons": ["tool x not allowed"]}}') == (
        False,
        ["tool x not allowed"],
    )


@pytest.fixture
def double() -> Iterator[DecisionDouble]:
    served = DecisionDouble(["/srv/ws"])
    yield served
    served.close()


INPUT = {
    "client": "alice",
    "server": "filesystem",
    "tool": "read_text_file",
    "arguments": {"path": "/srv/ws/a"},
    "paths": ["/srv/ws/a"],
    "path_errors": [],
}


@pytest.mark.anyio
async def test_allow_and_deny_from_the_double(double: DecisionDouble) -> None:
    client = DecisionClient(double.url, timeout_ms=1000)
    try:
        assert (await client.decide(INPUT)).allow is True
        denied = await client.decide({**INPUT, "client": "bob", "tool": "write_file"})
        assert denied.allow is False
        assert denied.reasons == ["tool write_file not allowed for client bob on server filesystem"]
        assert double.inputs[0] == INPUT, "the contract's input is sent unchanged"
        assert await client.healthy() is True
    finally:
        await client.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["slow", "error500", "malformed", "string_true", "no_result"])
async def test_misbehaving_service_denies(double: DecisionDouble, mode: str) -> None:
    double.mode, double.delay_s = mode, 1.0
    client = DecisionClient(double.url, timeout_ms=200)
    try:
        decision = await client.decide(INPUT)
    finally:
        await client.aclose()
    assert decision.allow is False
    assert decision.reasons
    if mode == "slow":
        assert decision.latency_ms < 900, "the timeout bounds the wait"
        assert "did not answer within 200 ms" in decision.reasons[0]


@pytest.mark.anyio
async def test_unreachable_service_denies() -> None:
    client = DecisionClient(f"http://127.0.0.1:{free_port()}/v1/data/sovereign/mcp/decision", timeout_ms=500)
    try:
        decision = await client.decide(INPUT)
        assert decision.allow is False
        assert "unreachable" in decision.reasons[0]
        assert await client.healthy() is False
    finally:
        await client.aclose()
