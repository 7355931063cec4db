# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The same adversarial corpus through the gateway with the REAL OPA server and the collection's
policy (roles/opa/files/policies), instead of the decision double. Marked ``integration``: it runs
in make test's integration stage, which builds OPA first (tests/harness/build-opa.sh, Docker)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from decision_double import POLICY_DATA
from gateway_client import call, text_of
from gateway_fixtures import (
    TOKENS,
    WORKSPACE_TEXT,
    Layout,
    RunningGateway,
    gateway_config,
    start_gateway,
    stop_gateway,
)
from real_opa import RealOpa, build_opa
from test_gateway_adversarial import CASES, Case, check_case

pytestmark = pytest.mark.integration

ESCAPES: list[str] = []
RAN: list[str] = []


@pytest.fixture(scope="module")
def real_opa(tmp_path_factory: pytest.TempPathFactory, layout: Layout) -> Iterator[RealOpa]:
    """``opa run --server`` with the collection's policy and the test clients as data."""
    binary = build_opa()
    server = RealOpa(
        binary, {**POLICY_DATA, "workspace_roots": [str(layout.workspace)]}, tmp_path_factory.mktemp("opa")
    )
    yield server
    server.close()


@pytest.fixture(scope="module")
def opa_gateway(
    tmp_path_factory: pytest.TempPathFactory, layout: Layout, real_opa: RealOpa
) -> Iterator[RunningGateway]:
    """The gateway deciding with the real OPA."""
    directory = tmp_path_factory.mktemp("gateway-opa")
    running = start_gateway(directory, gateway_config(directory, layout, real_opa.url, opa_timeout_ms=1000))
    yield running
    stop_gateway(running)


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_case_with_real_opa(case: Case, opa_gateway: RunningGateway, layout: Layout) -> None:
    RAN.append(case.id)
    await check_case(case, opa_gateway, layout, ESCAPES)


@pytest.mark.anyio
async def test_reasons_come_from_the_policy(opa_gateway: RunningGateway, layout: Layout) -> None:
    result = await call(
        opa_gateway.url,
        TOKENS["bob"],
        "filesystem__write_file",
        {"path": f"{layout.workspace}/x", "content": "x"},
    )
    assert result.is_error is True
    assert "write_file" in text_of(result) and "bob" in text_of(result)
    record = opa_gateway.audit_lines()[-1]
    assert record["decision"] == "deny" and record["reasons"], record


def test_zero_escapes_with_real_opa() -> None:
    if not RAN:
        pytest.skip("only meaningful after the corpus ran in the same session")
    assert ESCAPES == []


def test_opa_runs_with_the_roles_api_authorization(real_opa: RealOpa) -> None:
    # Runs before test_stopped_opa_denies (file order), while the server is up.
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{real_opa.port}/v1/data", timeout=5)
    assert refused.value.code == 401


@pytest.mark.anyio
async def test_stopped_opa_denies(opa_gateway: RunningGateway, layout: Layout, real_opa: RealOpa) -> None:
    allowed = await call(
        opa_gateway.url, TOKENS["alice"], "filesystem__read_text_file", {"path": f"{layout.workspace}/a.txt"}
    )
    assert text_of(allowed) == WORKSPACE_TEXT
    real_opa.close()
    denied = await call(
        opa_gateway.url, TOKENS["alice"], "filesystem__read_text_file", {"path": f"{layout.workspace}/a.txt"}
    )
    assert denied.is_error is True
    assert text_of(denied).startswith("denied by policy")
    assert WORKSPACE_TEXT not in text_of(denied)
