# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Fixtures for the gateway tests: the test workspace, the decision test double and one running
gateway in front of the real npm filesystem server and the real mcp-server-git."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from decision_double import DecisionDouble
from gateway_fixtures import (
    Layout,
    RunningGateway,
    build_layout,
    gateway_config,
    start_gateway,
    stop_gateway,
)


@pytest.fixture
def anyio_backend() -> str:
    """The SDK runs on asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
def layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    """The workspace and the secret beside it, shared by the whole session."""
    return build_layout(tmp_path_factory.mktemp("gw"))


@pytest.fixture(scope="session")
def decision_double(layout: Layout) -> Iterator[DecisionDouble]:
    """The OPA test double, applying the contract's rules to the test workspace."""
    double = DecisionDouble([str(layout.workspace)])
    yield double
    double.close()


@pytest.fixture(scope="session")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, layout: Layout, decision_double: DecisionDouble
) -> Iterator[RunningGateway]:
    """One gateway in front of the real filesystem and git servers, deciding with the double."""
    directory = tmp_path_factory.mktemp("gateway")
    running = start_gateway(directory, gateway_config(directory, layout, decision_double.url))
    yield running
    stop_gateway(running)


@pytest.fixture(autouse=True)
def _contract_mode(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts with the double applying the contract (a test may switch modes)."""
    yield
    if "decision_double" in request.fixturenames:
        double = request.getfixturevalue("decision_double")
        double.mode = double.tools_mode = "contract"
