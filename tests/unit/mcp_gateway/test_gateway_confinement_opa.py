# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The confinement corpus with the REAL OPA server and the collection's policy, twice: with the
filesystem server allowed the whole test directory (only the gateway and OPA confine), and with
the role's server configuration (the server allowed the workspace only). Marked ``integration``:
it runs in make test's integration stage, after OPA is built."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from confinement_corpus import CASES, Case, Tally, build_confinement_layout, run_case
from decision_double import POLICY_DATA
from gateway_fixtures import Layout, RunningGateway, gateway_config, start_gateway, stop_gateway
from real_opa import RealOpa, build_opa

pytestmark = pytest.mark.integration

SERVER_CONFIGURATIONS = {
    "whole-directory": "real OPA, server given the whole test directory",
    "role": "real OPA, server given the workspace only (the role's configuration)",
}
TALLIES = {name: Tally(title) for name, title in SERVER_CONFIGURATIONS.items()}


@dataclass
class CorpusRun:
    """One layout, its OPA and the gateway in front of it."""

    layout: Layout
    gateway: RunningGateway


@pytest.fixture(scope="module", params=list(SERVER_CONFIGURATIONS))
def corpus_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CorpusRun]:
    """A fresh layout, OPA with the collection's policy for its workspace, and the gateway."""
    name = str(request.param)
    layout = build_confinement_layout(tmp_path_factory.mktemp(f"confinement-{name}"))
    opa = RealOpa(
        build_opa(),
        {**POLICY_DATA, "workspace_roots": [str(layout.workspace)]},
        tmp_path_factory.mktemp(f"confinement-opa-{name}"),
    )
    directory = tmp_path_factory.mktemp(f"confinement-gateway-{name}")
    roots = [layout.workspace] if name == "role" else None
    config = gateway_config(directory, layout, opa.url, opa_timeout_ms=1000, filesystem_roots=roots)
    running = start_gateway(directory, config)
    yield CorpusRun(layout=layout, gateway=running)
    stop_gateway(running)
    opa.close()
    print(f"\n{TALLIES[name].summary()}")


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_case_with_real_opa(case: Case, corpus_run: CorpusRun, request: pytest.FixtureRequest) -> None:
    outcome = await run_case(case, corpus_run.gateway, corpus_run.layout)
    TALLIES[request.node.callspec.params["corpus_run"]].record(case, outcome)
    assert not outcome.failed, outcome
