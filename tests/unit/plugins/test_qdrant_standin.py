# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The Qdrant stand-in (tests/standins/qdrant_standin): the API semantics the stack's tests rely on."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

STANDIN_DIR = Path(__file__).resolve().parents[2] / "standins" / "qdrant_standin"
sys.path.insert(0, str(STANDIN_DIR))
from qdrant_standin_harness import StandinServer  # noqa: E402

VECTORS = {"size": 4, "distance": "Cosine"}
POINTS = {
    "points": [
        {"id": 1, "vector": [0.9, 0.1, 0.0, 0.0], "payload": {"city": "Rome"}},
        {
            "id": "5c56c793-69f3-4fbf-87e6-c4bf54c28c26",
            "vector": [0.0, 0.0, 0.1, 0.9],
            "payload": {"city": "Oslo"},
        },
    ]
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[StandinServer]:
    standin = StandinServer(tmp_path / "qdrant")
    standin.start()
    yield standin
    standin.stop()


def test_health_endpoints_need_no_key(server: StandinServer) -> None:
    assert server.request("GET", "/readyz", key=None) == (200, b"all shards are ready")
    assert server.request("GET", "/healthz", key=None)[0] == 200


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/collections", None), ("PUT", "/collections/a", {"vectors": VECTORS})],
)
def test_a_request_without_a_key_is_401(server: StandinServer, method: str, path: str, body: object) -> None:
    status, answer = server.request(method, path, body, key=None)
    assert status == 401
    assert answer["status"]["error"] == "Must provide an API key or an Authorization bearer token"


def test_a_wrong_key_is_403(server: StandinServer) -> None:
    assert server.request("GET", "/collections", key="guess")[0] == 403


def test_the_read_only_key_reads_and_never_writes(server: StandinServer) -> None:
    ro = server.read_only_api_key
    assert server.request("PUT", "/collections/a", {"vectors": VECTORS}, key=ro)[0] == 403
    assert server.request("PUT", "/collections/a", {"vectors": VECTORS})[0] == 200
    assert server.request("PUT", "/collections/a/points", POINTS, key=ro)[0] == 403
    assert server.request("PUT", "/collections/a/points", POINTS)[0] == 200
    assert server.request("PATCH", "/collections/a", {"hnsw_config": {"m": 8}}, key=ro)[0] == 403
    assert server.request("POST", "/collections/a/snapshots", key=ro)[0] == 403
    assert server.request("DELETE", "/collections/a", key=ro)[0] == 403
    status, found = server.request(
        "POST",
        "/collections/a/points/search",
        {"vector": [1, 0, 0, 0], "limit": 1, "with_payload": True},
        key=ro,
    )
    assert status == 200
    assert found["result"][0]["id"] == 1
    assert found["result"][0]["payload"] == {"city": "Rome"}
    status, counted = server.request(
        "POST", "/collections/a/points/count", {"exact": True}, key=ro, bearer=True
    )
    assert (status, counted["result"]) == (200, {"count": 2})


def test_collection_info_has_the_real_envelope_and_config_shape(server: StandinServer) -> None:
    server.request(
        "PUT", "/collections/a", {"vectors": {**VECTORS, "on_disk": True}, "hnsw_config": {"m": 32}}
    )
    status, answer = server.request("GET", "/collections/a")
    assert status == 200
    assert set(answer) == {"result", "status", "time"}
    assert answer["status"] == "ok"
    config = answer["result"]["config"]
    assert {"params", "hnsw_config", "optimizer_config", "wal_config", "quantization_config"} <= set(config)
    assert config["params"]["vectors"] == {"size": 4, "distance": "Cosine", "on_disk": True}
    assert config["hnsw_config"] == {
        "m": 32,
        "ef_construct": 100,
        "full_scan_threshold": 10000,
        "max_indexing_threads": 0,
        "on_disk": False,
    }
    assert server.request("GET", "/collections")[1]["result"] == {"collections": [{"name": "a"}]}
    assert server.request("GET", "/collections/nope")[1]["status"]["error"] == (
        "Not found: Collection `nope` doesn't exist!"
    )


def test_bad_collection_bodies_are_refused_like_qdrant(server: StandinServer) -> None:
    assert server.request("PUT", "/collections/a", {"vectors": {"size": 0, "distance": "Cosine"}})[0] == 422
    assert server.request("PUT", "/collections/a", {"vectors": {"size": 4, "distance": "cos"}})[0] == 400
    assert server.request("PUT", "/collections/a", {"vectors": VECTORS, "colour": "red"})[0] == 400
    assert server.request("PUT", "/collections/a", {"vectors": VECTORS})[0] == 200
    status, answer = server.request("PUT", "/collections/a", {"vectors": VECTORS})
    assert (status, answer["status"]["error"]) == (400, "Wrong input: Collection `a` already exists!")
    status, answer = server.request("PUT", "/collections/a/points", {"points": [{"id": 3, "vector": [1, 2]}]})
    assert status == 400
    assert "expected dim: 4, got 2" in answer["status"]["error"]


def test_query_filters_on_payload(server: StandinServer) -> None:
    server.request("PUT", "/collections/a", {"vectors": VECTORS})
    server.request("PUT", "/collections/a/points", POINTS)
    status, answer = server.request(
        "POST",
        "/collections/a/points/query",
        {
            "query": [1, 0, 0, 0],
            "limit": 5,
            "filter": {"must": [{"key": "city", "match": {"value": "Oslo"}}]},
        },
    )
    assert status == 200
    assert [point["id"] for point in answer["result"]["points"]] == ["5c56c793-69f3-4fbf-87e6-c4bf54c28c26"]


def test_points_survive_a_restart(server: StandinServer) -> None:
    server.request("PUT", "/collections/a", {"vectors": VECTORS})
    server.request("PUT", "/collections/a/points", POINTS)
    server.request("PATCH", "/collections/a", {"hnsw_config": {"ef_construct": 64}})
    server.stop()
    server.start()
    status, found = server.request(
        "POST", "/collections/a/points/search", {"vector": [0, 0, 0, 1], "limit": 1}
    )
    assert status == 200
    assert found["result"][0]["id"] == "5c56c793-69f3-4fbf-87e6-c4bf54c28c26"
    assert server.request("GET", "/collections/a")[1]["result"]["config"]["hnsw_config"]["ef_construct"] == 64


def test_snapshot_download_and_recover(server: StandinServer) -> None:
    server.request("PUT", "/collections/a", {"vectors": VECTORS})
    server.request("PUT", "/collections/a/points", POINTS)
    status, created = server.request("POST", "/collections/a/snapshots")
    assert status == 200
    snapshot = created["result"]
    assert snapshot["name"].startswith("a-") and snapshot["name"].endswith(".snapshot")
    assert (server.snapshots_path / "a" / snapshot["name"]).is_file()
    assert server.request("GET", "/collections/a/snapshots")[1]["result"] == [snapshot]
    status, data = server.request("GET", f"/collections/a/snapshots/{snapshot['name']}")
    assert status == 200
    assert hashlib.sha256(data).hexdigest() == snapshot["checksum"]

    server.request("DELETE", "/collections/a")
    location = (server.snapshots_path / "a" / snapshot["name"]).as_uri()
    bad = server.request(
        "PUT", "/collections/a/snapshots/recover", {"location": location, "checksum": "0" * 64}
    )
    assert bad[0] == 400
    assert "checksum mismatch" in bad[1]["status"]["error"]
    recovered = server.request(
        "PUT", "/collections/a/snapshots/recover", {"location": location, "checksum": snapshot["checksum"]}
    )
    assert recovered[0] == 200
    assert server.request("POST", "/collections/a/points/count", {})[1]["result"] == {"count": 2}


def test_an_uploaded_snapshot_restores_a_collection(server: StandinServer) -> None:
    server.request("PUT", "/collections/a", {"vectors": VECTORS})
    server.request("PUT", "/collections/a/points", POINTS)
    snapshot = server.request("POST", "/collections/a/snapshots")[1]["result"]
    data = server.request("GET", f"/collections/a/snapshots/{snapshot['name']}")[1]
    boundary = "sovereign-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="snapshot"; filename="a.snapshot"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{server.url}/collections/b/snapshots/upload?checksum={snapshot['checksum']}",
        data=body,
        method="POST",
        headers={"api-key": str(server.api_key), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["result"] is True
    assert server.request("POST", "/collections/b/points/count", {})[1]["result"] == {"count": 2}
    assert server.request("POST", "/collections/c/snapshots/upload", key=server.read_only_api_key)[0] == 403


def test_recover_refuses_files_outside_the_snapshots_path(server: StandinServer, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.snapshot"
    outside.write_bytes(b"not a snapshot")
    status, answer = server.request("PUT", "/collections/a/snapshots/recover", {"location": outside.as_uri()})
    assert status == 400
    assert "must be inside the snapshots directory" in answer["status"]["error"]


def test_a_grpc_port_is_refused(tmp_path: Path) -> None:
    standin = StandinServer(tmp_path / "qdrant")
    standin.root.mkdir(parents=True)
    standin.write_config(service={"host": "127.0.0.1", "http_port": standin.port, "grpc_port": 6334})
    with pytest.raises(RuntimeError, match="grpc_port is 6334"):
        standin.start()


def test_the_build_packs_a_release_shaped_reproducible_tarball(tmp_path: Path) -> None:
    outputs = []
    for attempt in ("one", "two"):
        subprocess.run(
            [
                sys.executable,
                str(STANDIN_DIR / "build.py"),
                str(tmp_path / attempt),
                "--python",
                "/opt/venv/bin/python",
            ],
            check=True,
            capture_output=True,
        )
        outputs.append((tmp_path / attempt / "build" / "qdrant-standin-linux.tar.gz").read_bytes())
    assert outputs[0] == outputs[1]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(outputs[0]))) as archive:
        members = archive.getmembers()
        assert [(member.name, member.mode) for member in members] == [("qdrant", 0o755)]
        executable = archive.extractfile(members[0])
        assert executable is not None
        assert executable.readline() == b"#!/opt/venv/bin/python\n"
    record = tmp_path / "one" / "cache" / "qdrant" / "1.19.1-standin" / "qdrant-standin-linux.tar.gz.sha256"
    assert record.read_text() == f"{hashlib.sha256(outputs[0]).hexdigest()}  qdrant-standin-linux.tar.gz\n"
