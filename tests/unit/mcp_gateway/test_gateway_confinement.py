# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The confinement corpus (confinement_corpus.py) through the gateway in front of the real npm
filesystem server, which is allowed the whole test directory, deciding with the decision double.
The same corpus runs with the real OPA in test_gateway_confinement_opa.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from confinement_corpus import CASES, Case, Tally, build_confinement_layout, run_case
from decision_double import DecisionDouble
from gateway_fixtures import Layout, RunningGateway, gateway_config, start_gateway, stop_gateway

TALLY = Tally("decision double, server given the whole test directory")


@pytest.fixture(scope="module")
def confinement_layout(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    """A layout of this module's own: the corpus moves and writes files."""
    return build_confinement_layout(tmp_path_factory.mktemp("confinement"))


@pytest.fixture(scope="module")
def confinement_gateway(
    tmp_path_factory: pytest.TempPathFactory, confinement_layout: Layout
) -> Iterator[RunningGateway]:
    """The gateway with the decision double applying the contract to this layout's workspace."""
    double = DecisionDouble([str(confinement_layout.workspace)])
    directory = tmp_path_factory.mktemp("confinement-gateway")
    running = start_gateway(directory, gateway_config(directory, confinement_layout, double.url))
    yield running
    stop_gateway(running)
    double.close()
    print(f"\n{TALLY.summary()}")


def test_corpus_covers_every_category() -> None:
    categories = Counter(case.category for case in CASES if not case.allowed)
    assert sum(categories.values()) >= 60, categories
    assert set(categories) == {
        "unicode",
        "lookalike",
        "control",
        "length",
        "no_path",
        "hardlink",
        "moved",
        "symlink",
    }
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_case(case: Case, confinement_gateway: RunningGateway, confinement_layout: Layout) -> None:
    outcome = await run_case(case, confinement_gateway, confinement_layout)
    TALLY.record(case, outcome)
    assert not outcome.failed, outcome
