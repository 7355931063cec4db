# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/catalog/catalog_age.py on recorded index answers (no network)."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog import catalog_age
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import catalog_path
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog_age import (
    AgeRow,
    IndexUnreachable,
    Pin,
    Release,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "catalog_age"
TODAY = date(2026, 12, 7)
VLLM = Pin("engine", "vllm", "0.11.0", "https://docs.vllm.ai/", "pypi", "vllm")
FILESYSTEM = Pin("artifact", "mcp-server-filesystem", "2026.8.31", "https://www.npmjs.com/", "npm",
                 "@modelcontextprotocol/server-filesystem")  # fmt: skip


def recorded(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return document


def replay(answers: Mapping[str, str]) -> catalog_age.Fetcher:
    """A fetcher that serves recorded answers by URL and counts the calls."""
    calls: list[str] = []

    def fetch(url: str) -> Mapping[str, Any]:
        calls.append(url)
        if url not in answers:
            raise IndexUnreachable(f"{url}: Name or service not known")
        return recorded(answers[url])

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


def test_pypi_answer_gives_each_release_its_first_upload_day() -> None:
    releases = catalog_age.parse_pypi(recorded("pypi_vllm.json"))
    assert releases["0.11.0"] == Release("0.11.0", date(2025, 10, 4))
    assert releases["0.34.0"].released == date(2026, 11, 16)


def test_pypi_release_whose_files_are_all_yanked_is_left_out() -> None:
    document = {"releases": {"1.0": [{"upload_time": "2026-01-01T00:00:00", "yanked": True}],
                             "0.9": [{"upload_time": "2025-01-01T00:00:00", "yanked": False}]}}  # fmt: skip
    assert list(catalog_age.parse_pypi(document)) == ["0.9"]


def test_npm_order_is_by_version_not_by_publication() -> None:
    # The registry published 2.0.1 and 2.3.0 after 2026.8.31; they are older versions by number.
    releases = catalog_age.parse_npm(recorded("npm_server_filesystem.json"))
    row = catalog_age.assess(FILESYSTEM, releases, TODAY, 183)
    assert row.status == "current"
    assert row.pinned_released == date(2026, 9, 1)


def test_old_vllm_pin_is_aged_from_the_day_the_first_newer_release_came_out() -> None:
    row = catalog_age.assess(VLLM, catalog_age.parse_pypi(recorded("pypi_vllm.json")), TODAY, 183)
    assert row.status == "aged"
    assert row.newest == Release("0.34.0", date(2026, 11, 16))
    # 0.11.1, the first release after 0.11.0 in the recording, came out on this day:
    first_newer = catalog_age.parse_pypi(recorded("pypi_vllm.json"))["0.11.1"].released
    assert first_newer is not None
    assert row.behind_days == (TODAY - first_newer).days


def test_a_pin_behind_by_less_than_the_allowed_age_is_only_reported() -> None:
    releases = {"1.0.0": Release("1.0.0", date(2026, 11, 1)), "1.0.1": Release("1.0.1", date(2026, 12, 1))}
    row = catalog_age.assess(Pin("wheel", "w", "1.0.0", "s", "pypi", "w"), releases, TODAY, 183)
    assert (row.status, row.behind_days) == ("behind", 6)
    assert catalog_age.exit_status([row]) == catalog_age.EXIT_CURRENT


def test_pre_releases_do_not_count_as_newer() -> None:
    releases = {
        "1.0.0": Release("1.0.0", date(2025, 1, 1)),
        "2.0.0rc1": Release("2.0.0rc1", date(2025, 2, 1)),
    }
    row = catalog_age.assess(Pin("wheel", "w", "1.0.0", "s", "pypi", "w"), releases, TODAY, 183)
    assert row.status == "current"


def test_a_pin_the_index_does_not_list_says_so() -> None:
    releases = {"1.0.0": Release("1.0.0", date(2026, 12, 1))}
    row = catalog_age.assess(Pin("wheel", "w", "1.0.5", "s", "pypi", "w"), releases, TODAY, 183)
    assert row.status == "current"
    assert "not on the index" in row.note


def test_catalog_sources_name_their_index() -> None:
    assert catalog_age.index_of_source("https://pypi.org/project/anyio/4.16.0/") == ("pypi", "anyio")
    assert catalog_age.index_of_source(
        "https://www.npmjs.com/package/@modelcontextprotocol/server-filesystem/v/2026.8.31"
    ) == ("npm", "@modelcontextprotocol/server-filesystem")
    assert catalog_age.index_of_source("https://github.com/qdrant/qdrant/releases/tag/v1.19.1") is None


def test_every_shipped_pin_is_listed_and_the_python_engines_are_asked_on_pypi() -> None:
    engines = yaml.safe_load(catalog_path("engines.yml").read_text(encoding="utf-8"))["engines"]
    artifacts = yaml.safe_load(catalog_path("artifacts.yml").read_text(encoding="utf-8"))["artifacts"]
    pins = {pin.name: pin for pin in catalog_age.pins_from_catalogs(engines, artifacts)}
    assert len(pins) == len(engines) + len(artifacts) - len(set(engines) & set(artifacts))
    for engine, package in (("vllm", "vllm"), ("sglang", "sglang"), ("mlx-lm", "mlx-lm")):
        assert (pins[engine].index, pins[engine].package) == ("pypi", package)
        assert pins[engine].version == engines[engine]["version"]
    assert pins["pywheel-anyio"].kind == "wheel"
    assert pins["qdrant"].index is None


def test_one_answer_serves_every_wheel_of_a_package() -> None:
    pins = [Pin("wheel", f"pywheel-vllm-cp3{n}", "0.11.0", "s", "pypi", "vllm") for n in (11, 13)]
    fetch = replay({"https://pypi.org/pypi/vllm/json": "pypi_vllm.json"})
    rows = catalog_age.check(pins, fetch, TODAY)
    assert [row.status for row in rows] == ["aged", "aged"]
    assert fetch.calls == ["https://pypi.org/pypi/vllm/json"]  # type: ignore[attr-defined]


def test_npm_package_is_asked_by_its_scoped_name() -> None:
    url = catalog_age.index_url("npm", "@modelcontextprotocol/server-filesystem")
    assert url == "https://registry.npmjs.org/@modelcontextprotocol%2Fserver-filesystem"
    rows = catalog_age.check([FILESYSTEM], replay({url: "npm_server_filesystem.json"}), TODAY)
    assert rows[0].status == "current"


def test_no_network_gives_one_clear_line_and_its_own_exit_status() -> None:
    pins = [VLLM, FILESYSTEM, Pin("artifact", "qdrant", "1.19.1", "https://github.com/q", None, None)]
    rows = catalog_age.check(pins, replay({}), TODAY)
    lines = catalog_age.render(rows, 183)
    assert lines[-1].startswith("catalog-age: the package index could not be reached (")
    assert "Traceback" not in "\n".join(lines)
    assert catalog_age.exit_status(rows) == catalog_age.EXIT_UNREACHABLE


def test_aged_pin_fails_the_report_and_is_named() -> None:
    rows = catalog_age.check([VLLM], replay({"https://pypi.org/pypi/vllm/json": "pypi_vllm.json"}), TODAY)
    lines = catalog_age.render(rows, 183)
    assert "newer: 0.34.0 (2026-11-16)" in lines[0] and lines[0].endswith("AGED")
    assert lines[-1] == "catalog-age: 1 pin(s) behind by more than 183 days: vllm"
    assert catalog_age.exit_status(rows) == catalog_age.EXIT_AGED


def test_a_longer_allowed_age_lets_the_same_pin_pass() -> None:
    fetch = replay({"https://pypi.org/pypi/vllm/json": "pypi_vllm.json"})
    rows = catalog_age.check([VLLM], fetch, TODAY, max_age_days=3650)
    assert [row.status for row in rows] == ["behind"]
    assert catalog_age.exit_status(rows) == catalog_age.EXIT_CURRENT


def test_fetch_json_turns_network_errors_into_index_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(catalog_age, "open_url", refuse)
    with pytest.raises(IndexUnreachable, match="Temporary failure in name resolution"):
        catalog_age.fetch_json("https://pypi.org/pypi/vllm/json")


def test_engine_package_must_name_a_known_index() -> None:
    with pytest.raises(ValueError, match="expected pypi:<name> or npm:<name>"):
        catalog_age.parse_index_ref("github:ollama/ollama")


def test_rows_render_one_line_per_pin() -> None:
    rows = [AgeRow(VLLM, "current", date(2026, 11, 16), Release("0.34.0", date(2026, 11, 16)), 0)]
    assert len(catalog_age.render(rows, 183)) == 2


@pytest.mark.parametrize(
    ("older", "newer"),
    [("0.33.0", "0.34.0"), ("1.0", "1.0.post1"), ("1.9", "1.10"), ("0.5.3", "0.5.23"), ("1!0.1", "1!0.2"),
     ("2.0", "1!1.0")],
)  # fmt: skip
def test_final_releases_order_as_pep_440_orders_them(older: str, newer: str) -> None:
    first, second = catalog_age._final(older), catalog_age._final(newer)
    assert first is not None and second is not None and first < second


@pytest.mark.parametrize("version", ["2.0.0rc1", "1.0a1", "1.0b2", "1.0.dev3", "b6710", "latest", ""])
def test_pre_releases_and_tags_are_not_final(version: str) -> None:
    assert catalog_age._final(version) is None


def test_trailing_zeros_do_not_make_a_newer_release() -> None:
    assert catalog_age._final("1.0") == catalog_age._final("1.0.0") == catalog_age._final("v1")
