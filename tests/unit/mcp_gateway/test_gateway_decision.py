# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The OPA decision client fails closed on every answer that is not an explicit allow."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from decision_double import DecisionDouble
from gateway_fixtures import free_port
from sovereign_mcp_gateway.decision import (
    GENERIC_REFUSAL,
    DecisionClient,
    NotStrictJson,
    interpret,
    strict_json,
)


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
    granted, reasons, _refusals = interpret(status, json.dumps(body).encode())
    assert granted is allow
    if not allow:
        assert reasons, "a deny always says why"


def test_interpret_malformed() -> None:
    granted, reasons, refusals = interpret(200, b'{"result": {"allow": tru')
    assert granted is False and refusals == []
    assert reasons[0].startswith("decision service answered malformed JSON")


def test_reasons_and_refusals_are_passed_on() -> None:
    body = (
        b'{"result": {"allow": false, "reasons": ["path /x outside"], "refusals": ["path_outside: a path"]}}'
    )
    assert interpret(200, body) == (False, ["path /x outside"], ["path_outside: a path"])


# Python's json module reads every one of these; RFC 8259 allows none of them, so none may allow.
NOT_RFC_8259 = {
    "nan-reasons": b'{"result": {"allow": true, "reasons": NaN}}',
    "nan-in-list": b'{"result": {"allow": true, "reasons": [NaN]}}',
    "infinity": b'{"result": {"allow": true, "reasons": [], "weight": Infinity}}',
    "minus-infinity": b'{"result": {"allow": true, "reasons": [], "weight": -Infinity}}',
    "duplicate-allow-false-then-true": b'{"result": {"allow": false, "allow": true}}',
    "duplicate-allow-true-then-false": b'{"result": {"allow": true, "allow": false}}',
    "duplicate-result": b'{"result": {"allow": false}, "result": {"allow": true}}',
    "duplicate-nested": b'{"result": {"allow": true, "reasons": [], "x": {"a": 1, "a": 2}}}',
    "not-utf8": b'{"result": {"allow": true, "reasons": ["\xff"]}}',
    "utf8-bom": b'\xef\xbb\xbf{"result": {"allow": true, "reasons": []}}',
    "trailing-garbage": b'{"result": {"allow": true, "reasons": []}} {}',
    "single-quotes": b"{'result': {'allow': true}}",
}


@pytest.mark.parametrize("body", list(NOT_RFC_8259.values()), ids=list(NOT_RFC_8259))
def test_answers_outside_rfc_8259_deny(body: bytes) -> None:
    granted, reasons, _refusals = interpret(200, body)
    assert granted is False
    assert reasons and reasons[0].startswith("decision service answered malformed JSON"), reasons


@pytest.mark.parametrize(
    "result",
    [
        {"allow": True, "reasons": "fine"},
        {"allow": True, "reasons": [1]},
        {"allow": True, "reasons": [], "refusals": {"a": 1}},
        {"allow": True, "reasons": [], "refusals": [None]},
    ],
)
def test_malformed_reasons_or_refusals_deny(result: dict[str, object]) -> None:
    assert interpret(200, json.dumps({"result": result}).encode())[0] is False


def test_strict_json_accepts_rfc_8259() -> None:
    assert strict_json(b' {"a": [1, 2.5e3, -0, "\\u00e9", null, true]} ') == {
        "a": [1, 2500.0, 0, "\u00e9", None, True]
    }
    with pytest.raises(NotStrictJson, match="repeats a key"):
        strict_json(b'{"a": 1, "a": 1}')


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
    "path_arguments": ["path"],
}


@pytest.mark.anyio
async def test_allow_and_deny_from_the_double(double: DecisionDouble) -> None:
    client = DecisionClient(double.url, timeout_ms=1000)
    try:
        assert (await client.decide(INPUT)).allow is True
        denied = await client.decide({**INPUT, "client": "bob", "tool": "write_file"})
        assert denied.allow is False
        assert denied.reasons == ["tool write_file not allowed for client bob on server filesystem"]
        assert denied.refusals == [
            "tool_not_allowed: tool write_file not allowed for client bob on server filesystem"
        ]
        assert double.inputs[0] == INPUT, "the contract's input is sent unchanged"
        assert await client.healthy() is True
    finally:
        await client.aclose()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "mode", ["slow", "error500", "malformed", "string_true", "no_result", "nan", "infinity", "duplicate_key"]
)
async def test_misbehaving_service_denies(double: DecisionDouble, mode: str) -> None:
    double.mode, double.delay_s = mode, 1.0
    client = DecisionClient(double.url, timeout_ms=200)
    try:
        decision = await client.decide(INPUT)
    finally:
        await client.aclose()
    assert decision.allow is False
    assert decision.reasons
    assert decision.refusals and decision.refusals[0].startswith("decision_service: ")
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


@pytest.mark.anyio
async def test_a_deny_without_refusals_reads_as_the_generic_refusal(double: DecisionDouble) -> None:
    double.mode = "deny_without_refusals"
    client = DecisionClient(double.url, timeout_ms=1000)
    try:
        decision = await client.decide(INPUT)
    finally:
        await client.aclose()
    assert decision.refusals == [GENERIC_REFUSAL], "a reason holding a path is never what the client reads"
    assert decision.reasons == ["path /srv/secret is outside"]


@pytest.mark.anyio
async def test_visible_tools_from_the_double(double: DecisionDouble) -> None:
    tools_url = double.url.replace("/decision", "/visible_tools")
    client = DecisionClient(double.url, timeout_ms=1000, tools_url=tools_url)
    tools = [
        {"server": "filesystem", "tool": "read_text_file"},
        {"server": "filesystem", "tool": "write_file"},
    ]
    dead = f"http://127.0.0.1:{free_port()}/v1/data/sovereign/mcp"
    unreachable = DecisionClient(f"{dead}/decision", timeout_ms=500, tools_url=f"{dead}/visible_tools")
    try:
        assert await client.visible_tools("bob", tools) == tools[:1]
        assert await client.visible_tools("mallory", tools) == []
        assert await unreachable.visible_tools("bob", tools) is None, "no answer shows nothing"
    finally:
        await client.aclose()
        await unreachable.aclose()


def test_the_tools_query_goes_to_the_same_opa() -> None:
    with pytest.raises(ValueError, match="same OPA"):
        DecisionClient(
            "http://127.0.0.1:8181/v1/data/a/decision", 500, "http://10.0.0.1:8181/v1/data/a/tools"
        )
