# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""A stand-in for the Qdrant server (test-only): Qdrant's REST API in front of Qdrant Edge.

The real Qdrant server binary cannot be fetched here, but Qdrant's own storage and search engine
can (``qdrant-edge-py``, on PyPI). This module puts a small REST front over it that answers the
endpoints the collection's roles, the ``qdrant_collection`` module, the backup and the MCP server
use, with the real request and response shapes, so that tests exercise real persistence, search
and snapshot behaviour. Every collection is one Edge shard; the collection's REST configuration
is kept beside it as ``config.json`` (the real server keeps one there too).

Run it the way the real binary is run: ``qdrant --config-path FILE``. It reads the keys of the
real configuration file that the ``qdrant`` role writes: ``service.host``, ``service.http_port``,
``service.grpc_port`` (only ``null`` is accepted: there is no gRPC here), ``service.api_key``,
``service.read_only_api_key``, ``storage.storage_path``, ``storage.snapshots_path``,
``storage.on_disk_payload``, ``telemetry_disabled`` and ``log_level``.

Differences from the real server, on purpose: one shard per collection, no gRPC, no cluster, no
payload indexes, snapshots in the stand-in's own tar layout (recoverable by the stand-in only).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import email.parser
import email.policy
import hashlib
import hmac
import json
import logging
import re
import shutil
import signal
import socket
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import qdrant_edge as edge
import yaml

VERSION = "1.19.1"
LOG = logging.getLogger("qdrant")
NAME_PATTERN = re.compile(r"^[^/\\:*?\"<>|\x00]{1,255}$")
DISTANCES = {
    "Cosine": edge.Distance.Cosine,
    "Euclid": edge.Distance.Euclid,
    "Dot": edge.Distance.Dot,
    "Manhattan": edge.Distance.Manhattan,
}
COMPRESSION = {
    "x4": edge.CompressionRatio.X4,
    "x8": edge.CompressionRatio.X8,
    "x16": edge.CompressionRatio.X16,
    "x32": edge.CompressionRatio.X32,
    "x64": edge.CompressionRatio.X64,
}
HNSW_KEYS = {
    "m",
    "ef_construct",
    "full_scan_threshold",
    "max_indexing_threads",
    "on_disk",
    "payload_m",
    "inline_storage",
}
OPTIMIZER_KEYS = {
    "deleted_threshold",
    "vacuum_min_vector_number",
    "default_segment_number",
    "max_segment_size",
    "memmap_threshold",
    "indexing_threshold",
    "flush_interval_sec",
    "max_optimization_threads",
    "prevent_unoptimized",
}
CREATE_KEYS = {
    "vectors",
    "shard_number",
    "sharding_method",
    "replication_factor",
    "write_consistency_factor",
    "on_disk_payload",
    "hnsw_config",
    "wal_config",
    "optimizers_config",
    "quantization_config",
    "sparse_vectors",
    "strict_mode_config",
    "metadata",
}
UPDATE_KEYS = {
    "vectors",
    "optimizers_config",
    "params",
    "hnsw_config",
    "quantization_config",
    "sparse_vectors",
    "strict_mode_config",
    "metadata",
}
DEFAULT_HNSW = {
    "m": 16,
    "ef_construct": 100,
    "full_scan_threshold": 10000,
    "max_indexing_threads": 0,
    "on_disk": False,
}
DEFAULT_OPTIMIZERS = {
    "deleted_threshold": 0.2,
    "vacuum_min_vector_number": 1000,
    "default_segment_number": 0,
    "max_segment_size": None,
    "memmap_threshold": None,
    "indexing_threshold": 10000,
    "flush_interval_sec": 5,
    "max_optimization_threads": None,
}
# Points a read-only key may reach with POST: they read, never write.
READ_ONLY_POSTS = {"search", "query", "count", "scroll", "recommend", "discover", "facet"}


class ApiError(Exception):
    """An error answered with Qdrant's error envelope."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def wrong_input(message: str) -> ApiError:
    """Qdrant's 400 for a request it understood but refuses."""
    return ApiError(HTTPStatus.BAD_REQUEST, f"Wrong input: {message}")


def not_found(name: str) -> ApiError:
    """Qdrant's 404 for a collection that does not exist."""
    return ApiError(HTTPStatus.NOT_FOUND, f"Not found: Collection `{name}` doesn't exist!")


def check_keys(body: dict[str, Any], allowed: set[str], what: str) -> None:
    """Refuse unknown fields like the real server's strict (``deny_unknown_fields``) types."""
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(
            HTTPStatus.BAD_REQUEST, f"Json deserialize error: unknown field `{unknown[0]}` in {what}"
        )


def validate_vector_params(name: str, params: Any) -> dict[str, Any]:
    """One dense vector's parameters, checked the way the real server checks them."""
    if not isinstance(params, dict):
        raise ApiError(HTTPStatus.BAD_REQUEST, f"Json deserialize error: vector `{name}` must be an object")
    check_keys(
        params,
        {
            "size",
            "distance",
            "on_disk",
            "hnsw_config",
            "quantization_config",
            "datatype",
            "multivector_config",
        },
        "VectorParams",
    )
    size = params.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 65536:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            f"Validation error in JSON body: [vectors.size: value {size} invalid, must be from 1 to 65536]",
        )
    if params.get("distance") not in DISTANCES:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            f"Json deserialize error: unknown variant `{params.get('distance')}`,"
            f" expected one of {', '.join('`' + d + '`' for d in DISTANCES)}",
        )
    if "hnsw_config" in params and params["hnsw_config"] is not None:
        validate_hnsw(params["hnsw_config"])
    if params.get("quantization_config") is not None:
        validate_quantization(params["quantization_config"])
    return {key: value for key, value in params.items() if value is not None}


def validate_hnsw(hnsw: Any) -> None:
    """An HNSW config (or diff): known keys and Qdrant's bounds."""
    if not isinstance(hnsw, dict):
        raise ApiError(HTTPStatus.BAD_REQUEST, "Json deserialize error: hnsw_config must be an object")
    check_keys(hnsw, HNSW_KEYS | {"memory"}, "HnswConfigDiff")
    if hnsw.get("ef_construct") is not None and hnsw["ef_construct"] < 4:
        raise ApiError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "Validation error in JSON body: [hnsw_config.ef_construct:"
            f" value {hnsw['ef_construct']} invalid, must be 4 or larger]",
        )
    for key in ("m", "full_scan_threshold", "max_indexing_threads", "payload_m"):
        if hnsw.get(key) is not None and (not isinstance(hnsw[key], int) or hnsw[key] < 0):
            raise ApiError(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                f"Validation error in JSON body: [hnsw_config.{key}:"
                f" value {hnsw[key]} invalid, must be a non-negative integer]",
            )


def validate_quantization(quantization: Any) -> None:
    """A quantization config: exactly one of scalar, product, binary."""
    if not isinstance(quantization, dict) or len(quantization) != 1:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "Json deserialize error: data did not match any variant of untagged enum QuantizationConfig",
        )
    ((kind, spec),) = quantization.items()
    if kind == "scalar":
        check_keys(spec, {"type", "quantile", "always_ram", "memory"}, "ScalarQuantizationConfig")
        if spec.get("type") != "int8":
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                f"Json deserialize error: unknown variant `{spec.get('type')}`, expected `int8`",
            )
        quantile = spec.get("quantile")
        if quantile is not None and not 0.5 <= quantile <= 1.0:
            raise ApiError(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                "Validation error in JSON body:"
                f" [quantization_config.scalar.quantile: value {quantile} invalid, must be from 0.5 to 1]",
            )
    elif kind == "product":
        check_keys(spec, {"compression", "always_ram", "memory"}, "ProductQuantizationConfig")
        if spec.get("compression") not in COMPRESSION:
            raise ApiError(
                HTTPStatus.BAD_REQUEST,
                f"Json deserialize error: unknown variant"
                f" `{spec.get('compression')}`, expected one of {', '.join(COMPRESSION)}",
            )
    elif kind == "binary":
        check_keys(spec, {"always_ram", "encoding", "query_encoding", "memory"}, "BinaryQuantizationConfig")
    else:
        raise ApiError(
            HTTPStatus.BAD_REQUEST,
            "Json deserialize error: data did not match any variant of untagged enum QuantizationConfig",
        )


def to_edge_quantization(quantization: dict[str, Any] | None) -> Any:
    """The Edge form of a REST quantization config."""
    if not quantization:
        return None
    ((kind, spec),) = quantization.items()
    if kind == "scalar":
        return edge.ScalarQuantizationConfig(
            edge.ScalarType.Int8, quantile=spec.get("quantile"), always_ram=spec.get("always_ram")
        )
    if kind == "product":
        return edge.ProductQuantizationConfig(
            COMPRESSION[spec["compression"]], always_ram=spec.get("always_ram")
        )
    return edge.BinaryQuantizationConfig(always_ram=spec.get("always_ram"))


def to_edge_hnsw(hnsw: dict[str, Any]) -> Any:
    """The Edge form of a full HNSW config."""
    return edge.HnswIndexConfig(
        m=hnsw["m"],
        ef_construct=hnsw["ef_construct"],
        full_scan_threshold=hnsw["full_scan_threshold"],
        max_indexing_threads=hnsw.get("max_indexing_threads") or 0,
        on_disk=hnsw.get("on_disk"),
        payload_m=hnsw.get("payload_m"),
    )


def vectors_by_name(vectors: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{name: params}`` for both the unnamed (``""``) and the named form of ``vectors``."""
    return {"": vectors} if "size" in vectors else vectors


def to_edge_config(config: dict[str, Any]) -> Any:
    """The Edge shard configuration for a collection's REST configuration."""
    params = config["params"]
    vectors = {}
    for name, spec in vectors_by_name(params["vectors"]).items():
        vectors[name] = edge.EdgeVectorParams(
            size=spec["size"],
            distance=DISTANCES[spec["distance"]],
            on_disk=spec.get("on_disk"),
            quantization_config=to_edge_quantization(spec.get("quantization_config")),
            hnsw_config=to_edge_hnsw({**config["hnsw_config"], **spec["hnsw_config"]})
            if spec.get("hnsw_config")
            else None,
        )
    optimizers = config["optimizer_config"]
    return edge.EdgeConfig(
        vectors=vectors,
        on_disk_payload=params.get("on_disk_payload"),
        hnsw_config=to_edge_hnsw(config["hnsw_config"]),
        quantization_config=to_edge_quantization(config.get("quantization_config")),
        optimizers=edge.EdgeOptimizersConfig(
            deleted_threshold=optimizers.get("deleted_threshold"),
            vacuum_min_vector_number=optimizers.get("vacuum_min_vector_number"),
            default_segment_number=optimizers.get("default_segment_number"),
            max_segment_size=optimizers.get("max_segment_size"),
            indexing_threshold=optimizers.get("indexing_threshold"),
        ),
    )


def to_edge_filter(spec: dict[str, Any] | None) -> Any:
    """The Edge form of a REST filter (the condition types the stack's clients use)."""
    if not spec:
        return None
    check_keys(spec, {"must", "should", "must_not", "min_should"}, "Filter")

    def conditions(key: str) -> list[Any] | None:
        value = spec.get(key)
        if value is None:
            return None
        return [to_edge_condition(item) for item in (value if isinstance(value, list) else [value])]

    return edge.Filter(must=conditions("must"), should=conditions("should"), must_not=conditions("must_not"))


def to_edge_condition(spec: dict[str, Any]) -> Any:
    """One filter condition."""
    if "has_id" in spec:
        return edge.HasIdCondition(set(spec["has_id"]))
    if "is_empty" in spec:
        return edge.IsEmptyCondition(spec["is_empty"]["key"])
    if "is_null" in spec:
        return edge.IsNullCondition(spec["is_null"]["key"])
    if "nested" in spec:
        return edge.NestedCondition(spec["nested"]["key"], to_edge_filter(spec["nested"]["filter"]))
    if "key" not in spec:
        return to_edge_filter(spec)
    match, range_ = spec.get("match"), spec.get("range")
    edge_match: Any = None
    if match is not None:
        if "value" in match:
            edge_match = edge.MatchValue(match["value"])
        elif "any" in match:
            edge_match = edge.MatchAny(match["any"])
        elif "except" in match:
            edge_match = edge.MatchExcept(match["except"])
        elif "text" in match:
            edge_match = edge.MatchText(match["text"])
        else:
            raise ApiError(
                HTTPStatus.BAD_REQUEST, f"Json deserialize error: unsupported match {sorted(match)}"
            )
    edge_range = (
        edge.RangeFloat(**{k: range_[k] for k in ("gte", "gt", "lte", "lt") if k in range_})
        if range_
        else None
    )
    return edge.FieldCondition(key=spec["key"], match=edge_match, range=edge_range)


def point_id(value: Any) -> Any:
    """A point id as JSON shows it (Edge gives UUIDs back as UUID objects)."""
    return str(value) if isinstance(value, uuid.UUID) else value


def parse_id(value: Any) -> Any:
    """A REST point id: an unsigned integer or a UUID."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ApiError(
        HTTPStatus.BAD_REQUEST,
        f"Json deserialize error: point id {value!r} is neither an unsigned integer nor a UUID",
    )


def scored(point: Any, with_payload: Any, with_vector: Any) -> dict[str, Any]:
    """A ScoredPoint as the REST API shows it."""
    result: dict[str, Any] = {"id": point_id(point.id), "version": point.version, "score": point.score}
    if with_payload:
        result["payload"] = point.payload
    if with_vector:
        result["vector"] = unname(point.vector)
    return result


def unname(vector: Any) -> Any:
    """The unnamed vector as a plain list, named vectors as a dict."""
    if isinstance(vector, dict) and set(vector) == {""}:
        return vector[""]
    return vector


class Collection:
    """One collection: its REST configuration and its Edge shard."""

    def __init__(self, path: Path, config: dict[str, Any], shard: Any) -> None:
        self.path = path
        self.config = config
        self.shard = shard
        self.lock = threading.RLock()

    @property
    def name(self) -> str:
        """The collection's name (its directory)."""
        return self.path.name

    def save_config(self) -> None:
        """Write the REST configuration beside the shard, atomically."""
        partial = self.path / "config.json.tmp"
        partial.write_text(json.dumps(self.config, indent=2, sort_keys=True), encoding="utf-8")
        partial.replace(self.path / "config.json")

    def reopen(self) -> None:
        """Close and load the shard again with the current configuration."""
        self.shard.flush()
        self.shard.close()
        self.shard = edge.EdgeShard.load(str(self.path / "0"), to_edge_config(self.config))


class Storage:
    """Every collection under ``<storage_path>/collections``, and the snapshots."""

    def __init__(self, storage_path: Path, snapshots_path: Path, on_disk_payload: bool) -> None:
        self.root = storage_path / "collections"
        self.snapshots = snapshots_path
        self.on_disk_payload = on_disk_payload
        self.root.mkdir(parents=True, exist_ok=True)
        self.snapshots.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.collections: dict[str, Collection] = {}
        for directory in sorted(self.root.iterdir()):
            if (directory / "config.json").is_file() and (directory / "0").is_dir():
                self.collections[directory.name] = self._load(directory)
                LOG.info("Loaded collection %s", directory.name)

    @staticmethod
    def _load(directory: Path) -> Collection:
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        return Collection(
            directory, config, edge.EdgeShard.load(str(directory / "0"), to_edge_config(config))
        )

    def get(self, name: str) -> Collection:
        """The collection, or Qdrant's 404."""
        with self.lock:
            if name not in self.collections:
                raise not_found(name)
            return self.collections[name]

    def create(self, name: str, body: dict[str, Any]) -> None:
        """PUT /collections/{name}."""
        if not NAME_PATTERN.match(name) or name in (".", ".."):
            raise wrong_input(f"Collection name `{name}` contains characters that are not allowed")
        check_keys(body, CREATE_KEYS, "CreateCollection")
        vectors = body.get("vectors")
        if not isinstance(vectors, dict) or not vectors:
            raise wrong_input("a collection needs at least one dense vector in `vectors`")
        checked = {n: validate_vector_params(n, v) for n, v in vectors_by_name(vectors).items()}
        hnsw = body.get("hnsw_config") or {}
        validate_hnsw(hnsw)
        optimizers = body.get("optimizers_config") or {}
        check_keys(optimizers, OPTIMIZER_KEYS, "OptimizersConfigDiff")
        quantization = body.get("quantization_config")
        if quantization is not None:
            validate_quantization(quantization)
        on_disk_payload = body.get("on_disk_payload")
        config = {
            "params": {
                "vectors": checked[""] if "size" in vectors else checked,
                "shard_number": 1,
                "replication_factor": body.get("replication_factor") or 1,
                "write_consistency_factor": body.get("write_consistency_factor") or 1,
                "on_disk_payload": self.on_disk_payload if on_disk_payload is None else bool(on_disk_payload),
            },
            "hnsw_config": {**DEFAULT_HNSW, **{k: v for k, v in hnsw.items() if v is not None}},
            "optimizer_config": {
                **DEFAULT_OPTIMIZERS,
                **{k: v for k, v in optimizers.items() if v is not None},
            },
            "wal_config": {"wal_capacity_mb": 32, "wal_segments_ahead": 0, "wal_retain_closed": 1},
            "quantization_config": quantization,
            "strict_mode_config": {"enabled": False},
            "metadata": body.get("metadata") or {},
            "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
        with self.lock:
            if name in self.collections:
                raise wrong_input(f"Collection `{name}` already exists!")
            directory = self.root / name
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            shard = edge.EdgeShard.create(str(directory / "0"), to_edge_config(config))
            collection = Collection(directory, config, shard)
            collection.save_config()
            self.collections[name] = collection
        LOG.info("Created collection %s", name)

    def update(self, name: str, body: dict[str, Any]) -> None:
        """PATCH /collections/{name}: only the parameters Qdrant lets change."""
        check_keys(body, UPDATE_KEYS, "UpdateCollection")
        collection = self.get(name)
        with collection.lock:
            config = copy.deepcopy(collection.config)
            if body.get("vectors"):
                named = vectors_by_name(config["params"]["vectors"])
                for vector, diff in body["vectors"].items():
                    if vector not in named:
                        raise wrong_input(f"Not existing vector name error: {vector}")
                    check_keys(
                        diff, {"hnsw_config", "quantization_config", "on_disk", "memory"}, "VectorParamsDiff"
                    )
                    if diff.get("hnsw_config") is not None:
                        validate_hnsw(diff["hnsw_config"])
                        named[vector]["hnsw_config"] = {
                            **named[vector].get("hnsw_config", {}),
                            **diff["hnsw_config"],
                        }
                    if "quantization_config" in diff:
                        self._apply_quantization(named[vector], diff["quantization_config"])
                    if diff.get("on_disk") is not None:
                        named[vector]["on_disk"] = bool(diff["on_disk"])
            if body.get("hnsw_config") is not None:
                validate_hnsw(body["hnsw_config"])
                config["hnsw_config"].update({k: v for k, v in body["hnsw_config"].items() if v is not None})
            if body.get("optimizers_config") is not None:
                check_keys(body["optimizers_config"], OPTIMIZER_KEYS, "OptimizersConfigDiff")
                config["optimizer_config"].update(body["optimizers_config"])
            if body.get("params") is not None:
                check_keys(
                    body["params"],
                    {
                        "replication_factor",
                        "write_consistency_factor",
                        "read_fan_out_factor",
                        "on_disk_payload",
                    },
                    "CollectionParamsDiff",
                )
                config["params"].update({k: v for k, v in body["params"].items() if v is not None})
            if "quantization_config" in body:
                self._apply_quantization(config, body["quantization_config"])
            if body.get("metadata"):
                config["metadata"].update(body["metadata"])
            previous = collection.config
            collection.config = config
            try:
                collection.reopen()
            except Exception as error:
                collection.config = previous
                collection.reopen()
                raise wrong_input(f"the shard refused the new configuration: {error}") from error
            collection.save_config()
        LOG.info("Updated collection %s", name)

    @staticmethod
    def _apply_quantization(target: dict[str, Any], quantization: Any) -> None:
        if quantization is None:
            return
        if quantization == "Disabled":
            target["quantization_config"] = None
            return
        validate_quantization(quantization)
        target["quantization_config"] = quantization

    def delete(self, name: str) -> bool:
        """DELETE /collections/{name}; whether it existed."""
        with self.lock:
            collection = self.collections.pop(name, None)
        if collection is None:
            return False
        with collection.lock:
            collection.shard.close()
            shutil.rmtree(collection.path)
        LOG.info("Deleted collection %s", name)
        return True

    def snapshot_dir(self, name: str) -> Path:
        """Where the snapshots of one collection go."""
        return self.snapshots / name

    def create_snapshot(self, name: str) -> dict[str, Any]:
        """POST /collections/{name}/snapshots: a tar of the configuration and the flushed shard."""
        collection = self.get(name)
        target_dir = self.snapshot_dir(name)
        target_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H-%M-%S")
        snapshot = target_dir / f"{name}-{uuid.uuid4().int % 10**16}-{stamp}.snapshot"
        with collection.lock:
            collection.shard.flush()
            collection.shard.close()
            try:
                # gzip: the shard's preallocated mmap chunks are mostly zeros, which tar does not keep sparse.
                with tarfile.open(snapshot.with_suffix(".snapshot.tmp"), "w:gz", compresslevel=1) as archive:
                    archive.add(collection.path / "config.json", arcname="config.json")
                    archive.add(collection.path / "0", arcname="0")
            finally:
                collection.shard = edge.EdgeShard.load(
                    str(collection.path / "0"), to_edge_config(collection.config)
                )
        snapshot.with_suffix(".snapshot.tmp").replace(snapshot)
        digest = sha256_of(snapshot)
        snapshot.with_name(snapshot.name + ".checksum").write_text(digest, encoding="utf-8")
        LOG.info("Created snapshot %s", snapshot.name)
        return describe_snapshot(snapshot)

    def list_snapshots(self, name: str) -> list[dict[str, Any]]:
        """GET /collections/{name}/snapshots."""
        self.get(name)
        directory = self.snapshot_dir(name)
        if not directory.is_dir():
            return []
        return [describe_snapshot(path) for path in sorted(directory.glob("*.snapshot"))]

    def snapshot_path(self, name: str, snapshot: str) -> Path:
        """The file of one snapshot, or Qdrant's 404."""
        self.get(name)
        path = self.snapshot_dir(name) / snapshot
        if "/" in snapshot or snapshot.startswith(".") or not path.is_file():
            raise ApiError(HTTPStatus.NOT_FOUND, f"Not found: Snapshot {snapshot} not found")
        return path

    def delete_snapshot(self, name: str, snapshot: str) -> None:
        """DELETE /collections/{name}/snapshots/{snapshot}."""
        path = self.snapshot_path(name, snapshot)
        path.unlink()
        path.with_name(path.name + ".checksum").unlink(missing_ok=True)

    def recover(self, name: str, body: dict[str, Any]) -> None:
        """PUT /collections/{name}/snapshots/recover from ``file://`` (in the snapshots path) or http(s)."""
        check_keys(body, {"location", "priority", "checksum", "api_key"}, "SnapshotRecover")
        location = body.get("location")
        if not isinstance(location, str):
            raise ApiError(HTTPStatus.BAD_REQUEST, "Json deserialize error: missing field `location`")
        parsed = urllib.parse.urlparse(location)
        with tempfile.TemporaryDirectory(dir=self.snapshots) as scratch:
            archive_path = Path(scratch) / "download.snapshot"
            if parsed.scheme == "file":
                source = Path(urllib.parse.unquote(parsed.path)).resolve()
                if not source.is_relative_to(self.snapshots.resolve()):
                    raise wrong_input(
                        f"Snapshot file {source} must be inside the snapshots directory {self.snapshots}"
                    )
                if not source.is_file():
                    raise ApiError(HTTPStatus.NOT_FOUND, f"Not found: Snapshot file {source} does not exist")
                shutil.copyfile(source, archive_path)
            elif parsed.scheme in ("http", "https"):
                request = urllib.request.Request(location)
                if body.get("api_key"):
                    request.add_header("api-key", body["api_key"])
                with urllib.request.urlopen(request, timeout=60) as response, archive_path.open("wb") as out:
                    shutil.copyfileobj(response, out)
            else:
                raise wrong_input(
                    f"Snapshot location {location} has an unsupported scheme (file, http, https)"
                )
            self.restore(name, archive_path, body.get("checksum"))
        LOG.info("Recovered collection %s from %s", name, location)

    def upload(self, name: str, data: bytes, checksum: str | None) -> None:
        """POST /collections/{name}/snapshots/upload: recover from an uploaded snapshot file."""
        with tempfile.TemporaryDirectory(dir=self.snapshots) as scratch:
            archive_path = Path(scratch) / "upload.snapshot"
            archive_path.write_bytes(data)
            self.restore(name, archive_path, checksum)
        LOG.info("Recovered collection %s from an uploaded snapshot", name)

    def restore(self, name: str, archive_path: Path, checksum: str | None) -> None:
        """Replace (or create) collection ``name`` from a snapshot file, checking its sha256 if given."""
        if checksum:
            actual = sha256_of(archive_path)
            if actual != checksum:
                raise wrong_input(f"Snapshot checksum mismatch: expected {checksum}, got {actual}")
        unpacked = archive_path.parent / "unpacked"
        try:
            with tarfile.open(archive_path) as archive:
                archive.extractall(unpacked, filter="data")
        except tarfile.TarError as error:
            raise wrong_input(f"Snapshot is not a collection snapshot of this server: {error}") from error
        if not (unpacked / "config.json").is_file() or not (unpacked / "0").is_dir():
            raise wrong_input("Snapshot is not a collection snapshot of this server")
        with self.lock:
            self.delete(name)
            directory = self.root / name
            shutil.move(str(unpacked), directory)
            self.collections[name] = self._load(directory)

    def close(self) -> None:
        """Flush and close every shard."""
        with self.lock:
            for collection in self.collections.values():
                collection.shard.flush()
                collection.shard.close()
            self.collections.clear()


def sha256_of(path: Path) -> str:
    """The file's sha256, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_snapshot(path: Path) -> dict[str, Any]:
    """A SnapshotDescription."""
    checksum_file = path.with_name(path.name + ".checksum")
    stat = path.stat()
    created = datetime.datetime.fromtimestamp(stat.st_mtime, datetime.timezone.utc).replace(tzinfo=None)
    return {
        "name": path.name,
        "creation_time": created.isoformat(timespec="seconds"),
        "size": stat.st_size,
        "checksum": checksum_file.read_text(encoding="utf-8").strip() if checksum_file.exists() else None,
    }


def collection_info(collection: Collection) -> dict[str, Any]:
    """GET /collections/{name}: CollectionInfo."""
    with collection.lock:
        info = collection.shard.info()
        config = {key: value for key, value in collection.config.items() if key != "created_at"}
        return {
            "status": "green",
            "optimizer_status": "ok",
            "indexed_vectors_count": info.indexed_vectors_count,
            "points_count": info.points_count,
            "segments_count": info.segments_count,
            "config": config,
            "payload_schema": {},
            "update_queue": {"length": 0},
            "created_at": collection.config.get("created_at"),
        }


class Settings:
    """The keys of Qdrant's configuration file that the stand-in honours."""

    def __init__(self, path: Path) -> None:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        service = raw.get("service") or {}
        storage = raw.get("storage") or {}
        self.host = str(service.get("host", "0.0.0.0"))
        self.http_port = int(service.get("http_port", 6333))
        if service.get("grpc_port") is not None:
            raise SystemExit(
                f"{path}: service.grpc_port is {service['grpc_port']}; the stand-in has no gRPC: set null"
            )
        self.api_key = service.get("api_key") or None
        self.read_only_api_key = service.get("read_only_api_key") or None
        self.storage_path = Path(storage.get("storage_path", "./storage"))
        self.snapshots_path = Path(storage.get("snapshots_path", "./snapshots"))
        self.on_disk_payload = bool(storage.get("on_disk_payload", True))
        self.telemetry_disabled = bool(raw.get("telemetry_disabled", False))
        self.log_level = str(raw.get("log_level", "INFO")).upper()


class Handler(BaseHTTPRequestHandler):
    """One REST request."""

    server: QdrantServer
    protocol_version = "HTTP/1.1"
    query: dict[str, str]

    def log_message(self, format: str, *args: Any) -> None:
        """Access log lines at debug level, like the real server's actix logger at info."""
        LOG.debug("%s %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        """Dispatch a GET."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Dispatch a POST."""
        self._dispatch("POST")

    def do_PUT(self) -> None:
        """Dispatch a PUT."""
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        """Dispatch a PATCH."""
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        """Dispatch a DELETE."""
        self._dispatch("DELETE")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _ok(self, result: Any, started: float) -> None:
        self._json(HTTPStatus.OK, {"result": result, "status": "ok", "time": time.monotonic() - started})

    def _error(self, status: int, message: str, started: float) -> None:
        self._json(status, {"status": {"error": message}, "time": time.monotonic() - started})

    def _presented_key(self) -> str | None:
        key = self.headers.get("api-key")
        if key:
            return key
        authorization = self.headers.get("Authorization") or ""
        if authorization.lower().startswith("bearer "):
            return authorization[7:].strip()
        return None

    def _access(self, method: str, parts: list[str]) -> None:
        """Qdrant's API key semantics: none given 401, wrong 403, read-only key may only read."""
        settings = self.server.settings
        if settings.api_key is None and settings.read_only_api_key is None:
            return
        presented = self._presented_key()
        if presented is None:
            raise ApiError(
                HTTPStatus.UNAUTHORIZED, "Must provide an API key or an Authorization bearer token"
            )
        if settings.api_key is not None and hmac.compare_digest(presented, settings.api_key):
            return
        if settings.read_only_api_key is not None and hmac.compare_digest(
            presented, settings.read_only_api_key
        ):
            reads = method == "GET" and "snapshots" not in parts
            reads = reads or (
                method == "POST" and len(parts) == 4 and parts[2] == "points" and parts[3] in READ_ONLY_POSTS
            )
            reads = reads or (method == "POST" and len(parts) == 3 and parts[2] == "points")
            if not reads:
                raise ApiError(
                    HTTPStatus.FORBIDDEN, "Forbidden: Write access is required to perform this operation"
                )
            return
        raise ApiError(HTTPStatus.FORBIDDEN, "Invalid API key or JWT")

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as error:
            raise ApiError(HTTPStatus.BAD_REQUEST, f"Json deserialize error: {error}") from error
        if not isinstance(body, dict):
            raise ApiError(HTTPStatus.BAD_REQUEST, "Json deserialize error: expected a JSON object")
        return body

    def _uploaded_snapshot(self) -> bytes:
        """The ``snapshot`` field of a multipart/form-data upload, as qdrant-client and curl -F send it."""
        content_type = self.headers.get("Content-Type") or ""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not content_type.startswith("multipart/form-data"):
            raise ApiError(
                HTTPStatus.BAD_REQUEST, "Wrong input: expected multipart/form-data with a `snapshot` field"
            )
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + raw
        )
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "snapshot":
                data = part.get_payload(decode=True)
                if isinstance(data, bytes):
                    return data
        raise ApiError(HTTPStatus.BAD_REQUEST, "Wrong input: the upload has no `snapshot` field")

    def _dispatch(self, method: str) -> None:
        started = time.monotonic()
        url = urllib.parse.urlsplit(self.path)
        self.query = dict(urllib.parse.parse_qsl(url.query))
        parts = [urllib.parse.unquote(part) for part in url.path.strip("/").split("/") if part]
        try:
            if parts in (["healthz"], ["livez"]) and method == "GET":
                self._send(HTTPStatus.OK, b"healthz check passed", "text/plain")
                return
            if parts == ["readyz"] and method == "GET":
                self._send(HTTPStatus.OK, b"all shards are ready", "text/plain")
                return
            if not parts and method == "GET":
                self._json(
                    HTTPStatus.OK,
                    {
                        "title": "qdrant - vector search engine",
                        "version": VERSION,
                        "commit": "sovereign-stack-standin",
                    },
                )
                return
            self._access(method, parts)
            self._route(method, parts, started)
        except ApiError as error:
            self._error(error.status, error.message, started)
        except Exception as error:  # the real server answers 500 with the error text
            LOG.exception("request %s %s failed", method, self.path)
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"Service internal error: {error}", started)

    def _route(self, method: str, parts: list[str], started: float) -> None:
        storage = self.server.storage
        if parts == ["collections"] and method == "GET":
            with storage.lock:
                names = sorted(storage.collections)
            self._ok({"collections": [{"name": name} for name in names]}, started)
            return
        if len(parts) < 2 or parts[0] != "collections":
            raise ApiError(HTTPStatus.NOT_FOUND, f"Not found: {self.path}")
        name, rest = parts[1], parts[2:]
        if not rest:
            self._collection(method, name, started)
        elif rest == ["exists"] and method == "GET":
            with storage.lock:
                self._ok({"exists": name in storage.collections}, started)
        elif rest[0] == "points":
            self._points(method, name, rest[1:], started)
        elif rest[0] == "snapshots":
            self._snapshots(method, name, rest[1:], started)
        else:
            raise ApiError(HTTPStatus.NOT_FOUND, f"Not found: {self.path}")

    def _collection(self, method: str, name: str, started: float) -> None:
        storage = self.server.storage
        if method == "GET":
            self._ok(collection_info(storage.get(name)), started)
        elif method == "PUT":
            storage.create(name, self._body())
            self._ok(True, started)
        elif method == "PATCH":
            storage.update(name, self._body())
            self._ok(True, started)
        elif method == "DELETE":
            self._ok(storage.delete(name), started)
        else:
            raise ApiError(HTTPStatus.METHOD_NOT_ALLOWED, f"Method {method} not allowed")

    def _points(self, method: str, name: str, rest: list[str], started: float) -> None:
        collection = self.server.storage.get(name)
        body = self._body()
        action = rest[0] if rest else ""
        with collection.lock:
            if method == "PUT" and action == "":
                collection.shard.update(
                    edge.UpdateOperation.upsert_points(self._parse_points(collection, body))
                )
                self._ok({"operation_id": 0, "status": "completed"}, started)
            elif method == "POST" and action == "delete":
                if "points" in body:
                    collection.shard.update(
                        edge.UpdateOperation.delete_points([parse_id(i) for i in body["points"]])
                    )
                else:
                    collection.shard.update(
                        edge.UpdateOperation.delete_points_by_filter(to_edge_filter(body.get("filter")))
                    )
                self._ok({"operation_id": 0, "status": "completed"}, started)
            elif method == "POST" and action == "":
                records = collection.shard.retrieve(
                    [parse_id(i) for i in body.get("ids", [])],
                    with_payload=body.get("with_payload", True),
                    with_vector=body.get("with_vector", False),
                )
                self._ok(
                    [
                        self._record(r, body.get("with_payload", True), body.get("with_vector", False))
                        for r in records
                    ],
                    started,
                )
            elif method == "POST" and action == "search":
                self._ok(self._search(collection, body), started)
            elif method == "POST" and action == "query":
                self._ok({"points": self._query(collection, body)}, started)
            elif method == "POST" and action == "count":
                count = collection.shard.count(
                    edge.CountRequest(
                        exact=bool(body.get("exact", True)), filter=to_edge_filter(body.get("filter"))
                    )
                )
                self._ok({"count": count}, started)
            elif method == "POST" and action == "scroll":
                with_payload, with_vector = body.get("with_payload", True), body.get("with_vector", False)
                offset = body.get("offset")
                records, next_offset = collection.shard.scroll(
                    edge.ScrollRequest(
                        offset=None if offset is None else parse_id(offset),
                        limit=body.get("limit", 10),
                        filter=to_edge_filter(body.get("filter")),
                        with_payload=with_payload,
                        with_vector=with_vector,
                    )
                )
                self._ok(
                    {
                        "points": [self._record(r, with_payload, with_vector) for r in records],
                        "next_page_offset": point_id(next_offset),
                    },
                    started,
                )
            else:
                raise ApiError(HTTPStatus.NOT_FOUND, f"Not found: {self.path}")

    @staticmethod
    def _record(record: Any, with_payload: Any, with_vector: Any) -> dict[str, Any]:
        result: dict[str, Any] = {"id": point_id(record.id)}
        if with_payload:
            result["payload"] = record.payload
        if with_vector:
            result["vector"] = unname(record.vector)
        return result

    @staticmethod
    def _parse_points(collection: Collection, body: dict[str, Any]) -> list[Any]:
        vectors = vectors_by_name(collection.config["params"]["vectors"])
        if "batch" in body:
            batch = body["batch"]
            rows = zip(
                batch["ids"],
                batch["vectors"]
                if isinstance(batch["vectors"], list)
                else [dict(zip(batch["vectors"], values)) for values in zip(*batch["vectors"].values())],
                batch.get("payloads") or [None] * len(batch["ids"]),
            )
            items = [{"id": i, "vector": v, "payload": p} for i, v, p in rows]
        elif "points" in body:
            items = body["points"]
        else:
            raise ApiError(HTTPStatus.BAD_REQUEST, "Json deserialize error: expected `points` or `batch`")
        points = []
        for item in items:
            vector = item.get("vector")
            named = {"": vector} if isinstance(vector, list) else vector
            if not isinstance(named, dict):
                raise ApiError(
                    HTTPStatus.BAD_REQUEST, f"Json deserialize error: point {item.get('id')} has no vector"
                )
            for vector_name, values in named.items():
                if vector_name not in vectors:
                    raise wrong_input(f"Not existing vector name error: {vector_name}")
                if len(values) != vectors[vector_name]["size"]:
                    raise wrong_input(
                        f"Vector dimension error: expected dim: {vectors[vector_name]['size']},"
                        f" got {len(values)}"
                    )
            points.append(edge.Point(parse_id(item.get("id")), named, item.get("payload")))
        return points

    @staticmethod
    def _nearest(collection: Collection, vector: Any, using: str | None) -> Any:
        vectors = vectors_by_name(collection.config["params"]["vectors"])
        name = using or ""
        if name not in vectors:
            raise wrong_input(f"Not existing vector name error: {name}")
        if not isinstance(vector, list) or len(vector) != vectors[name]["size"]:
            raise wrong_input(
                f"Vector dimension error: expected dim: {vectors[name]['size']},"
                f" got {len(vector) if isinstance(vector, list) else vector!r}"
            )
        return edge.Query.Nearest(vector, using=using or None)

    def _search(self, collection: Collection, body: dict[str, Any]) -> list[dict[str, Any]]:
        vector, using = body.get("vector"), None
        if isinstance(vector, dict):
            using, vector = vector.get("name"), vector.get("vector")
        with_payload, with_vector = body.get("with_payload", False), body.get("with_vector", False)
        points = collection.shard.search(
            edge.SearchRequest(
                query=self._nearest(collection, vector, using),
                limit=body.get("limit", 10),
                offset=body.get("offset"),
                filter=to_edge_filter(body.get("filter")),
                with_payload=with_payload,
                with_vector=with_vector,
                score_threshold=body.get("score_threshold"),
            )
        )
        return [scored(point, with_payload, with_vector) for point in points]

    def _query(self, collection: Collection, body: dict[str, Any]) -> list[dict[str, Any]]:
        query = body.get("query")
        if isinstance(query, dict) and "nearest" in query:
            query = query["nearest"]
        with_payload, with_vector = body.get("with_payload", False), body.get("with_vector", False)
        request = edge.QueryRequest(
            limit=body.get("limit", 10),
            offset=body.get("offset"),
            query=None if query is None else self._nearest(collection, query, body.get("using")),
            filter=to_edge_filter(body.get("filter")),
            with_payload=with_payload,
            with_vector=with_vector,
            score_threshold=body.get("score_threshold"),
        )
        return [scored(point, with_payload, with_vector) for point in collection.shard.query(request)]

    def _snapshots(self, method: str, name: str, rest: list[str], started: float) -> None:
        storage = self.server.storage
        if not rest and method == "POST":
            self._ok(storage.create_snapshot(name), started)
        elif not rest and method == "GET":
            self._ok(storage.list_snapshots(name), started)
        elif rest == ["recover"] and method == "PUT":
            storage.recover(name, self._body())
            self._ok(True, started)
        elif rest == ["upload"] and method == "POST":
            storage.upload(name, self._uploaded_snapshot(), self.query.get("checksum"))
            self._ok(True, started)
        elif len(rest) == 1 and method == "GET":
            path = storage.snapshot_path(name, rest[0])
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(path.stat().st_size))
            self.end_headers()
            with path.open("rb") as snapshot:
                shutil.copyfileobj(snapshot, self.wfile)
        elif len(rest) == 1 and method == "DELETE":
            storage.delete_snapshot(name, rest[0])
            self._ok(True, started)
        else:
            raise ApiError(HTTPStatus.NOT_FOUND, f"Not found: {self.path}")


class QdrantServer(ThreadingHTTPServer):
    """The HTTP server, holding the settings and the storage."""

    daemon_threads = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.storage = Storage(settings.storage_path, settings.snapshots_path, settings.on_disk_payload)
        if ":" in settings.host:
            self.address_family = socket.AF_INET6
        super().__init__((settings.host, settings.http_port), Handler)


def main(argv: list[str] | None = None) -> int:
    """``qdrant --config-path FILE``, like the real binary."""
    parser = argparse.ArgumentParser(prog="qdrant", description="Qdrant stand-in (sovereign.stack tests)")
    parser.add_argument("--config-path", type=Path, required=True)
    parser.add_argument("--disable-telemetry", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings(args.config_path)
    logging.basicConfig(
        level=getattr(logging, settings.log_level, logging.INFO),
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    server = QdrantServer(settings)
    LOG.info(
        "Qdrant stand-in %s HTTP listening on %s:%d (telemetry %s)",
        VERSION,
        settings.host,
        server.server_address[1],
        "disabled"
        if settings.telemetry_disabled or args.disable_telemetry
        else "off: the stand-in never sends any",
    )
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    try:
        server.serve_forever()
    finally:
        server.server_close()
        server.storage.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
