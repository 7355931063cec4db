# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""End to end: the SDK's client over Streamable HTTP -> the gateway process -> the real npm
filesystem server and the real mcp-server-git, with the decision test double standing in for OPA.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from decision_double import DecisionDouble
from gateway_client import INITIALIZE, MCP_HEADERS, call, connect, raw_request, text_of
from gateway_fixtures import (
    SECRET_MARKER,
    TOKENS,
    WORKSPACE_TEXT,
    Layout,
    RunningGateway,
    free_port,
    gateway_config,
    start_gateway,
    stop_gateway,
)

pytestmark = pytest.mark.anyio

ALICE, BOB = TOKENS["alice"], TOKENS["bob"]


def assert_denied(result: object, *fragments: str) -> None:
    """A tool error result saying 'denied by policy' (with each fragment in its reasons)."""
    text = text_of(result)  # type: ignore[arg-type]
    assert result.is_error is True  # type: ignore[attr-defined]
    assert text.startswith("denied by policy"), text
    assert SECRET_MARKER not in text
    for fragment in fragments:
        assert fragment in text, text


async def test_tools_are_listed_from_the_real_servers(gateway: RunningGateway) -> None:
    async with connect(gateway.url, ALICE) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert {"filesystem__read_text_file", "filesystem__write_file", "filesystem__move_file"} <= names
    assert {"git__git_status", "git__git_log"} <= names
    assert all("__" in name for name in names)


async def test_allowed_read_returns_the_file_and_is_audited(gateway: RunningGateway, layout: Layout) -> None:
    before = len(gateway.downstream_calls())
    result = await call(
        gateway.url, ALICE, "filesystem__read_text_file", {"path": f"{layout.workspace}/a.txt"}
    )
    assert result.is_error is False
    assert text_of(result) == WORKSPACE_TEXT
    assert gateway.downstream_calls()[before:] == ["read_text_file"]
    record = gateway.audit_lines()[-1]
    assert (
        record["client"] == "alice"
        and record["server"] == "filesystem"
        and record["tool"] == "read_text_file"
    )
    assert record["decision"] == "allow" and record["outcome"] == "ok"
    assert record["paths"] == [f"{layout.workspace}/a.txt"]
    assert record["opa_ms"] > 0 and record["call_ms"] > 0


async def test_downstream_receives_the_normalised_path(gateway: RunningGateway, layout: Layout) -> None:
    messy = f"{layout.workspace}//sub/..//./%61.txt"
    result = await call(gateway.url, ALICE, "filesystem__read_text_file", {"path": messy})
    assert text_of(result) == WORKSPACE_TEXT
    assert gateway.audit_lines()[-1]["paths"] == [f"{layout.workspace}/a.txt"]


async def test_allowed_write_creates_the_file(gateway: RunningGateway, layout: Layout) -> None:
    target = layout.workspace / "written-by-alice.txt"
    result = await call(
        gateway.url, ALICE, "filesystem__write_file", {"path": str(target), "content": "new text"}
    )
    assert result.is_error is False, text_of(result)
    assert target.read_text() == "new text"


async def test_denied_write_never_reaches_the_server(gateway: RunningGateway, layout: Layout) -> None:
    target = layout.workspace / "written-by-bob.txt"
    before = len(gateway.downstream_calls())
    result = await call(gateway.url, BOB, "filesystem__write_file", {"path": str(target), "content": "x"})
    assert_denied(result, "tool write_file not allowed for client bob on server filesystem")
    assert not target.exists()
    assert len(gateway.downstream_calls()) == before
    record = gateway.audit_lines()[-1]
    assert record["client"] == "bob" and record["decision"] == "deny" and record["call_ms"] is None


async def test_write_outside_the_workspace_leaves_no_file(gateway: RunningGateway, layout: Layout) -> None:
    target = layout.secret / "planted.txt"
    result = await call(
        gateway.url,
        ALICE,
        "filesystem__write_file",
        {"path": f"{layout.workspace}/../secret/planted.txt", "content": "x"},
    )
    assert_denied(result, "[path_leaves_workspace]")
    assert not target.exists()


async def test_git_inside_allowed_outside_denied(gateway: RunningGateway, layout: Layout) -> None:
    inside = await call(gateway.url, ALICE, "git__git_log", {"repo_path": str(layout.workspace / "repo")})
    assert inside.is_error is False and "first" in text_of(inside)
    outside = await call(gateway.url, ALICE, "git__git_log", {"repo_path": str(layout.outside_repo)})
    assert_denied(outside, "outside the workspace roots")
    denied_for_bob = await call(
        gateway.url, BOB, "git__git_status", {"repo_path": str(layout.workspace / "repo")}
    )
    assert_denied(denied_for_bob, "tool git_status not allowed for client bob on server git")


@pytest.mark.parametrize(
    "mode", ["slow", "error500", "malformed", "string_true", "no_result", "nan", "infinity", "duplicate_key"]
)
async def test_misbehaving_decision_service_denies(
    gateway: RunningGateway, layout: Layout, decision_double: DecisionDouble, mode: str
) -> None:
    decision_double.mode, decision_double.delay_s = mode, 1.0
    target = layout.workspace / f"write-during-{mode}.txt"
    before = len(gateway.downstream_calls())
    async with connect(gateway.url, ALICE) as client:
        read = await client.call_tool("filesystem__read_text_file", {"path": f"{layout.workspace}/a.txt"})
        write = await client.call_tool("filesystem__write_file", {"path": str(target), "content": "x"})
    assert_denied(read)
    assert_denied(write)
    assert WORKSPACE_TEXT not in text_of(read)
    assert not target.exists()
    assert len(gateway.downstream_calls()) == before
    if mode == "slow":
        assert "did not answer within 300 ms" in text_of(read)
        assert gateway.audit_lines()[-1]["opa_ms"] < 900


async def test_allow_everything_policy_still_cannot_leave_the_workspace(
    gateway: RunningGateway, layout: Layout, decision_double: DecisionDouble
) -> None:
    decision_double.mode = "allow_all"
    result = await call(
        gateway.url, BOB, "filesystem__read_text_file", {"path": f"{layout.workspace}/link_key"}
    )
    assert_denied(result, "[path_outside_workspace] is outside the workspace roots")
    allowed = await call(
        gateway.url, BOB, "filesystem__read_text_file", {"path": f"{layout.workspace}/a.txt"}
    )
    assert text_of(allowed) == WORKSPACE_TEXT


async def test_unknown_tool_is_denied_without_asking(
    gateway: RunningGateway, decision_double: DecisionDouble
) -> None:
    asked = len(decision_double.inputs)
    result = await call(gateway.url, ALICE, "filesystem__delete_everything", {"path": "/"})
    assert_denied(result, "unknown tool 'filesystem__delete_everything'")
    assert len(decision_double.inputs) == asked
    assert gateway.audit_lines()[-1]["outcome"] == "unknown_tool"


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer wrong"}, {"authorization": f"Basic {ALICE}"}, {"authorization": "Bearer"}],
)
async def test_missing_or_wrong_token_is_401_before_mcp(
    gateway: RunningGateway, headers: dict[str, str]
) -> None:
    audited = len(gateway.audit_lines())
    async with httpx2.AsyncClient(trust_env=False) as http:
        response = await http.post(gateway.url, headers={**MCP_HEADERS, **headers}, json=INITIALIZE)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    origin = gateway.url.removesuffix("/mcp")
    assert challenge.startswith('Bearer realm="sovereign-mcp-gateway"')
    assert f'resource_metadata="{origin}/.well-known/oauth-protected-resource/mcp"' in challenge
    # RFC 6750, 3.1: no error code when the request carried no credentials at all.
    assert ('error="invalid_token"' in challenge) is bool(headers), challenge
    assert "HTTP 401" in response.json()["error_description"]
    assert "mcp-session-id" not in response.headers
    assert len(gateway.audit_lines()) == audited


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]
)
async def test_protected_resource_metadata_names_no_authorization_server(
    gateway: RunningGateway, path: str
) -> None:
    origin = gateway.url.removesuffix("/mcp")
    async with httpx2.AsyncClient(trust_env=False) as http:
        direct = await http.get(origin + path)
        proxied = await http.get(
            origin + path, headers={"x-forwarded-proto": "https", "x-forwarded-host": "gw.tailnet.test"}
        )
    assert direct.status_code == 200
    document = direct.json()
    assert document["resource"] == gateway.url
    assert document["bearer_methods_supported"] == ["header"]
    assert "authorization_servers" not in document, "tokens come from the operator, not from OAuth"
    assert "operator" in document["resource_name"]
    assert proxied.json()["resource"] == "https://gw.tailnet.test/mcp", (
        "the URL the client used, through Nginx"
    )


async def test_tools_list_shows_each_client_only_what_it_may_call(
    gateway: RunningGateway, layout: Layout
) -> None:
    async with connect(gateway.url, BOB) as client:
        bob = {tool.name for tool in (await client.list_tools()).tools}
    async with connect(gateway.url, ALICE) as client:
        alice = {tool.name for tool in (await client.list_tools()).tools}
    assert bob == {"filesystem__read_text_file"}
    assert "filesystem__write_file" in alice and "git__git_log" in alice
    assert "filesystem__edit_file" not in alice and "filesystem__delete_file" not in alice
    hidden = await call(gateway.url, BOB, "filesystem__list_directory", {"path": str(layout.workspace)})
    assert_denied(
        hidden, "tool_not_allowed: tool list_directory not allowed for client bob on server filesystem"
    )


async def test_tools_list_shows_nothing_without_an_answer(
    gateway: RunningGateway, decision_double: DecisionDouble
) -> None:
    decision_double.tools_mode = "error500"
    async with connect(gateway.url, ALICE) as client:
        assert (await client.list_tools()).tools == []


@pytest.mark.parametrize(
    ("params", "tool"),
    [
        ({"name": "filesystem__read_text_file", "arguments": ["/etc/passwd"]}, "read_text_file"),
        ({"name": "filesystem__read_text_file", "arguments": "/etc/passwd"}, "read_text_file"),
        ({"name": 7, "arguments": {}}, ""),
        ({"arguments": {}}, ""),
    ],
)
async def test_calls_the_sdk_refuses_are_audited(
    gateway: RunningGateway, params: dict[str, object], tool: str
) -> None:
    before = len(gateway.audit_lines())
    reply = await raw_request(gateway.url, ALICE, "tools/call", params)
    assert "error" in reply, reply
    (record,) = gateway.audit_lines()[before:]
    assert (record["client"], record["tool"], record["decision"], record["outcome"]) == (
        "alice",
        tool,
        "deny",
        "rejected",
    )


async def test_a_call_on_an_unknown_session_is_audited(gateway: RunningGateway) -> None:
    before = len(gateway.audit_lines())
    async with httpx2.AsyncClient(trust_env=False) as http:
        response = await http.post(
            gateway.url,
            headers={**MCP_HEADERS, "authorization": f"Bearer {ALICE}", "mcp-session-id": "no-such-session"},
            json={
                "jsonrpc": "2.0",
                "id": 5,
                "method": "tools/call",
                "params": {"name": "filesystem__read_text_file"},
            },
        )
    assert response.status_code == 404
    (record,) = gateway.audit_lines()[before:]
    assert record["outcome"] == "rejected" and record["tool"] == "read_text_file"
    assert "HTTP 404" in record["reasons"][0]


async def test_sdk_client_with_a_wrong_token_cannot_connect(gateway: RunningGateway) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its own error type for a refused request
        async with connect(gateway.url, "not-a-token") as client:
            await client.list_tools()


async def test_oversized_payload_is_413(gateway: RunningGateway, layout: Layout) -> None:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {
                "name": "filesystem__write_file",
                "arguments": {"path": f"{layout.workspace}/big", "content": "x" * 70000},
            },
        }
    )
    async with httpx2.AsyncClient(trust_env=False) as http:
        response = await http.post(
            gateway.url, headers={**MCP_HEADERS, "authorization": f"Bearer {ALICE}"}, content=body
        )
    assert response.status_code == 413
    assert not (layout.workspace / "big").exists()


async def test_session_belongs_to_the_client_that_opened_it(gateway: RunningGateway) -> None:
    async with httpx2.AsyncClient(trust_env=False) as http:
        opened = await http.post(
            gateway.url, headers={**MCP_HEADERS, "authorization": f"Bearer {ALICE}"}, json=INITIALIZE
        )
        session = opened.headers["mcp-session-id"]
        hijack = await http.post(
            gateway.url,
            headers={**MCP_HEADERS, "authorization": f"Bearer {BOB}", "mcp-session-id": session},
            json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
        )
    assert opened.status_code == 200
    assert hijack.status_code == 404


async def test_healthz_without_auth(gateway: RunningGateway) -> None:
    async with httpx2.AsyncClient(trust_env=False) as http:
        response = await http.get(gateway.health_url)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ok",
        "opa": "ok",
        "downstreams": {
            "filesystem": {"status": "ok", "restarts": 0},
            "git": {"status": "ok", "restarts": 0},
        },
    }


@pytest.fixture(scope="module")
def gateway_without_opa(tmp_path_factory: pytest.TempPathFactory, layout: Layout) -> Iterator[RunningGateway]:
    """A gateway whose OPA URL points at a port nobody listens on."""
    directory = tmp_path_factory.mktemp("gateway-no-opa")
    dead = f"http://127.0.0.1:{free_port()}/v1/data/sovereign/mcp/decision"
    running = start_gateway(directory, gateway_config(directory, layout, dead))
    yield running
    stop_gateway(running)


async def test_opa_down_denies_and_health_says_so(
    gateway_without_opa: RunningGateway, layout: Layout
) -> None:
    target = layout.workspace / "write-while-opa-down.txt"
    async with connect(gateway_without_opa.url, ALICE) as client:
        read = await client.call_tool("filesystem__read_text_file", {"path": f"{layout.workspace}/a.txt"})
        write = await client.call_tool("filesystem__write_file", {"path": str(target), "content": "x"})
    assert_denied(read, "decision service unreachable")
    assert_denied(write)
    assert not target.exists()
    assert gateway_without_opa.downstream_calls() == []
    async with httpx2.AsyncClient(trust_env=False) as http:
        health = await http.get(gateway_without_opa.health_url)
    assert health.status_code == 503
    assert health.json()["status"] == "not ok" and health.json()["opa"] == "not ok"


@pytest.fixture(scope="module")
def rate_limited_gateway(
    tmp_path_factory: pytest.TempPathFactory, layout: Layout, decision_double: DecisionDouble
) -> Iterator[RunningGateway]:
    """A gateway that lets each client send 3 requests, then 1 every 10 s."""
    directory = tmp_path_factory.mktemp("gateway-rate")
    config = gateway_config(
        directory, layout, decision_double.url, rate_limit_per_second=0.1, rate_limit_burst=3
    )
    running = start_gateway(directory, config)
    yield running
    stop_gateway(running)


async def test_rate_limit_is_per_client(rate_limited_gateway: RunningGateway) -> None:
    async def post(token: str) -> httpx2.Response:
        return await http.post(
            rate_limited_gateway.url,
            headers={**MCP_HEADERS, "authorization": f"Bearer {token}"},
            json=INITIALIZE,
        )

    async with httpx2.AsyncClient(trust_env=False) as http:
        alice = [(await post(ALICE)).status_code for _attempt in range(5)]
        bob = (await post(BOB)).status_code
        limited = await post(ALICE)
    assert alice == [200, 200, 200, 429, 429]
    assert bob == 200
    assert int(limited.headers["retry-after"]) >= 1


def test_audit_log_holds_no_secrets_or_contents(gateway: RunningGateway) -> None:
    text = gateway.audit_log.read_text()
    assert text, "earlier tests wrote audit lines"
    for secret in (*TOKENS.values(), SECRET_MARKER, WORKSPACE_TEXT.strip(), "new text"):
        assert secret not in text
    for record in gateway.audit_lines():
        assert "arguments" not in record
    assert oct(Path(gateway.audit_log).stat().st_mode & 0o777) == "0o600"
