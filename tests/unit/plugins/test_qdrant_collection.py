# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Module qdrant_collection against the Qdrant stand-in (Qdrant Edge behind Qdrant's REST API) on loopback."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sovereign.stack.plugins.modules import qdrant_collection

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "standins" / "qdrant_standin"))
from qdrant_standin_harness import StandinServer

VECTORS = {"size": 4, "distance": "Cosine"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandinServer]:
    standin = StandinServer(tmp_path_factory.mktemp("qdrant-collection"))
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def name(request: pytest.FixtureRequest, server: StandinServer) -> Iterator[str]:
    """A collection name of the test's own, deleted afterwards."""
    collection = request.node.name.replace("[", "-").replace("]", "")[:60]
    yield collection
    server.request("DELETE", f"/collections/{collection}")


def run(server: StandinServer, capsys: pytest.CaptureFixture[str], **args: Any) -> Dict[str, Any]:
    """Run the module in-process with the server's URL and read-write key unless given."""
    args.setdefault("url", server.url)
    args.setdefault("api_key", server.api_key)
    with patch_module_args(args), pytest.raises(SystemExit):
        qdrant_collection.main()
    result: Dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def live_config(server: StandinServer, name: str) -> Dict[str, Any]:
    status, body = server.request("GET", f"/collections/{name}")
    assert status == 200, body
    config: Dict[str, Any] = body["result"]["config"]
    return config


def test_creates_the_collection_with_the_declared_parameters(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(
        server,
        capsys,
        name=name,
        vectors={"size": 8, "distance": "Dot", "on_disk": True},
        hnsw_config={"m": 32, "ef_construct": 200},
        quantization_config={"scalar": {"quantile": 0.99, "always_ram": True}},
        on_disk_payload=False,
    )
    assert result["changed"] is True
    assert result["changes"] == [f"collection {name}: created"]
    config = live_config(server, name)
    assert config["params"]["vectors"] == {"size": 8, "distance": "Dot", "on_disk": True}
    assert config["params"]["on_disk_payload"] is False
    assert config["hnsw_config"]["m"] == 32
    assert config["hnsw_config"]["ef_construct"] == 200
    assert config["quantization_config"] == {"scalar": {"type": "int8", "quantile": 0.99, "always_ram": True}}
    assert result["collection"]["vectors"] == {"size": 8, "distance": "Dot", "on_disk": True}


def test_a_second_run_changes_nothing(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = {"name": name, "vectors": VECTORS, "hnsw_config": {"m": 16}, "on_disk_payload": True}
    assert run(server, capsys, **args)["changed"] is True
    again = run(server, capsys, **args)
    assert again["changed"] is False
    assert again["changes"] == []
    assert "diff" not in again


def test_updates_hnsw_and_on_disk_in_place_keeping_the_points(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(server, capsys, name=name, vectors=VECTORS)
    server.request("PUT", f"/collections/{name}/points", {"points": [{"id": 1, "vector": [1, 0, 0, 0]}]})
    result = run(
        server,
        capsys,
        name=name,
        vectors={**VECTORS, "on_disk": True},
        hnsw_config={"ef_construct": 128, "on_disk": True},
    )
    assert result["changed"] is True
    assert result["changes"] == [
        "vectors.on_disk: False -> True",
        "hnsw_config.ef_construct: 100 -> 128",
        "hnsw_config.on_disk: False -> True",
    ]
    config = live_config(server, name)
    assert config["params"]["vectors"]["on_disk"] is True
    assert config["hnsw_config"]["ef_construct"] == 128
    assert config["hnsw_config"]["m"] == 16, "undeclared keys stay as they were"
    status, count = server.request("POST", f"/collections/{name}/points/count", {"exact": True})
    assert (status, count["result"]["count"]) == (200, 1)


def test_diff_shows_the_managed_parameters_before_and_after(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(server, capsys, name=name, vectors=VECTORS)
    result = run(server, capsys, name=name, vectors=VECTORS, on_disk_payload=False, _ansible_diff=True)
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert before["on_disk_payload"] is True
    assert after["on_disk_payload"] is False
    assert {key: value for key, value in before.items() if key != "on_disk_payload"} == {
        key: value for key, value in after.items() if key != "on_disk_payload"
    }
    assert set(after) == {"vectors", "hnsw_config", "quantization_config", "on_disk_payload"}
    assert server.api_key not in json.dumps(result)


def test_quantization_can_be_changed_and_removed(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(server, capsys, name=name, vectors=VECTORS, quantization_config={"scalar": {"quantile": 0.95}})
    product = run(
        server, capsys, name=name, vectors=VECTORS, quantization_config={"product": {"compression": "x16"}}
    )
    assert product["changed"] is True
    assert live_config(server, name)["quantization_config"] == {"product": {"compression": "x16"}}
    disabled = run(server, capsys, name=name, vectors=VECTORS, quantization_config={"disabled": True})
    assert disabled["changed"] is True
    assert live_config(server, name)["quantization_config"] is None
    again = run(server, capsys, name=name, vectors=VECTORS, quantization_config={"disabled": True})
    assert again["changed"] is False


def test_refuses_a_vector_size_change_without_recreate(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(server, capsys, name=name, vectors=VECTORS)
    result = run(server, capsys, name=name, vectors={"size": 8, "distance": "Euclid"})
    assert result["failed"] is True
    assert "vectors.size: 4 -> 8" in result["msg"]
    assert "vectors.distance: Cosine -> Euclid" in result["msg"]
    assert "recreate: true" in result["msg"]
    assert live_config(server, name)["params"]["vectors"]["size"] == 4


def test_recreate_replaces_the_collection_and_drops_its_points(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(server, capsys, name=name, vectors=VECTORS)
    server.request("PUT", f"/collections/{name}/points", {"points": [{"id": 1, "vector": [1, 0, 0, 0]}]})
    result = run(server, capsys, name=name, vectors={"size": 8, "distance": "Cosine"}, recreate=True)
    assert result["changed"] is True
    assert result["changes"] == [f"collection {name}: recreated (vectors.size: 4 -> 8)"]
    assert live_config(server, name)["params"]["vectors"]["size"] == 8
    status, count = server.request("POST", f"/collections/{name}/points/count", {"exact": True})
    assert (status, count["result"]["count"]) == (200, 0)


def test_check_mode_reports_and_changes_nothing(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    created = run(server, capsys, name=name, vectors=VECTORS, _ansible_check_mode=True, _ansible_diff=True)
    assert created["changed"] is True
    assert created["diff"]["before"] == {}
    assert created["diff"]["after"]["vectors"] == {"size": 4, "distance": "Cosine", "on_disk": False}
    assert server.request("GET", f"/collections/{name}")[0] == 404

    run(server, capsys, name=name, vectors=VECTORS)
    updated = run(
        server,
        capsys,
        name=name,
        vectors=VECTORS,
        hnsw_config={"m": 48},
        recreate=True,
        _ansible_check_mode=True,
    )
    assert updated["changed"] is True
    assert updated["collection"]["hnsw_config"]["m"] == 48
    assert live_config(server, name)["hnsw_config"]["m"] == 16

    resized = run(
        server,
        capsys,
        name=name,
        vectors={"size": 6, "distance": "Cosine"},
        recreate=True,
        _ansible_check_mode=True,
    )
    assert resized["changed"] is True
    assert live_config(server, name)["params"]["vectors"]["size"] == 4

    removed = run(server, capsys, name=name, state="absent", _ansible_check_mode=True)
    assert removed["changed"] is True
    assert server.request("GET", f"/collections/{name}")[0] == 200


def test_state_absent_deletes_once(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(server, capsys, name=name, vectors=VECTORS)
    assert run(server, capsys, name=name, state="absent")["changed"] is True
    assert server.request("GET", f"/collections/{name}")[0] == 404
    assert run(server, capsys, name=name, state="absent")["changed"] is False


def test_the_read_only_key_cannot_create(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(server, capsys, name=name, vectors=VECTORS, api_key=server.read_only_api_key)
    assert result["failed"] is True
    assert "answered 403 to PUT" in result["msg"]
    assert "read-only key" in result["msg"]
    assert server.read_only_api_key not in result["msg"]
    assert server.request("GET", f"/collections/{name}")[0] == 404


def test_the_read_only_key_sees_an_unchanged_collection(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run(server, capsys, name=name, vectors=VECTORS)
    result = run(server, capsys, name=name, vectors=VECTORS, api_key=server.read_only_api_key)
    assert result["changed"] is False


def test_no_key_is_a_401_that_says_so(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(server, capsys, name=name, vectors=VECTORS, api_key=None)
    assert result["failed"] is True
    assert "answered 401 to GET" in result["msg"]
    assert "set api_key" in result["msg"]


def test_an_unreachable_server_is_named(capsys: pytest.CaptureFixture[str], server: StandinServer) -> None:
    result = run(server, capsys, name="docs", vectors=VECTORS, url="http://127.0.0.1:9", timeout=2)
    assert result["failed"] is True
    assert "could not reach Qdrant at http://127.0.0.1:9" in result["msg"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"vectors": {"size": 0, "distance": "Cosine"}},
            "vectors.size is 0: give the dimension of the embeddings",
        ),
        ({"vectors": {"size": 70000, "distance": "Cosine"}}, "vectors.size is 70000"),
        (
            {"vectors": VECTORS, "hnsw_config": {"ef_construct": 2}},
            "hnsw_config.ef_construct is 2: give 4 or more",
        ),
        ({"vectors": VECTORS, "hnsw_config": {"m": -1}}, "hnsw_config.m is -1: give 0 or more"),
        (
            {"vectors": VECTORS, "quantization_config": {"scalar": {"quantile": 1.5}}},
            "quantization_config.scalar.quantile is 1.5: give a value from 0.5 to 1.0",
        ),
        (
            {"vectors": VECTORS, "quantization_config": {"disabled": False}},
            "quantization_config.disabled is false",
        ),
        ({"vectors": VECTORS, "name": "a/b"}, "name is 'a/b': give 1 to 255 characters without /"),
        (
            {"vectors": VECTORS, "url": "127.0.0.1:6333"},
            "url is '127.0.0.1:6333': give the REST API's base URL",
        ),
        ({"vectors": VECTORS, "timeout": 0}, "timeout is 0: give a whole number of seconds"),
        ({"vectors": {"size": 4, "distance": "cosine"}}, "value of distance must be one of: Cosine, Euclid"),
        ({}, "state is present but all of the following are missing: vectors"),
        (
            {"vectors": VECTORS, "quantization_config": {"scalar": {}, "binary": {}}},
            "parameters are mutually exclusive: scalar|product|binary|disabled",
        ),
    ],
)
def test_bad_input_names_the_parameter_and_the_value(
    server: StandinServer, capsys: pytest.CaptureFixture[str], args: Dict[str, Any], message: str
) -> None:
    args.setdefault("name", "bad-input")
    result = run(server, capsys, **args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert server.request("GET", "/collections/bad-input")[0] == 404


def test_named_vector_collections_are_left_alone(
    server: StandinServer, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    server.request("PUT", f"/collections/{name}", {"vectors": {"text": {"size": 4, "distance": "Cosine"}}})
    result = run(server, capsys, name=name, vectors=VECTORS)
    assert result["failed"] is True
    assert "named vectors (text)" in result["msg"]
