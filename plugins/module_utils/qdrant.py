# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Target-side helpers for the Qdrant modules: the REST client and the collection comparison.

Only the standard library and ansible.module_utils, so that nothing needs installing on hosts.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import quote

from ansible.module_utils.urls import fetch_url

# The parameters Qdrant fixes when a collection is created; a change needs a new collection.
IMMUTABLE_VECTOR_KEYS = ("size", "distance")


class QdrantError(Exception):
    """A request Qdrant refused or could not answer, with a message a user can act on."""


class QdrantClient:
    """The few REST calls the modules need, through the module's fetch_url (proxy, TLS settings)."""

    def __init__(self, module: Any, url: str, api_key: Optional[str], timeout: int) -> None:
        self.module = module
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def request(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Tuple[int, Any]:
        """``(status, parsed JSON or text)`` of one request; network failures raise QdrantError."""
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["api-key"] = self.api_key
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body)
        response, info = fetch_url(
            self.module, self.url + path, data=data, headers=headers, method=method, timeout=self.timeout
        )
        status = int(info.get("status", -1))
        if status == -1:
            raise QdrantError(f"could not reach Qdrant at {self.url}: {info.get('msg', 'no answer')}")
        raw = response.read() if response is not None else info.get("body", b"")
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        """The ``result`` of a successful request; any other status raises QdrantError."""
        status, payload = self.request(method, path, body)
        if 200 <= status < 300:
            return payload.get("result") if isinstance(payload, dict) else payload
        raise QdrantError(describe_failure(self.url, method, path, status, payload))

    def collection(self, name: str) -> Optional[Dict[str, Any]]:
        """CollectionInfo of ``name``, or None when it does not exist."""
        path = "/collections/" + quote(name, safe="")
        status, payload = self.request("GET", path)
        if status == 404:
            return None
        if 200 <= status < 300 and isinstance(payload, dict) and isinstance(payload.get("result"), dict):
            result: Dict[str, Any] = payload["result"]
            return result
        raise QdrantError(describe_failure(self.url, "GET", path, status, payload))


def describe_failure(url: str, method: str, path: str, status: int, payload: Any) -> str:
    """What went wrong, in Qdrant's words, with the likely cause for the authentication answers."""
    error = payload
    if isinstance(payload, dict):
        error = (
            (payload.get("status") or {}).get("error") if isinstance(payload.get("status"), dict) else payload
        )
    message = f"Qdrant at {url} answered {status} to {method} {path}: {error}"
    if status == 401:
        message += " (no API key was sent: set api_key)"
    elif status == 403:
        message += " (the api_key is wrong, or it is the read-only key, which cannot change collections)"
    return message


def collection_path(name: str) -> str:
    """The REST path of a collection."""
    return "/collections/" + quote(name, safe="")


def desired_state(params: Dict[str, Any]) -> Dict[str, Any]:
    """The parts of the collection the task declares, in the shape of Qdrant's collection config.

    Keys the task leaves unset are absent: the module manages only what is declared.
    """
    desired: Dict[str, Any] = {}
    vectors = params.get("vectors") or {}
    desired["vectors"] = {key: value for key, value in vectors.items() if value is not None}
    hnsw = {key: value for key, value in (params.get("hnsw_config") or {}).items() if value is not None}
    if hnsw:
        desired["hnsw_config"] = hnsw
    quantization = params.get("quantization_config")
    if quantization is not None:
        desired["quantization_config"] = quantization_body(quantization)
    if params.get("on_disk_payload") is not None:
        desired["on_disk_payload"] = params["on_disk_payload"]
    return desired


def quantization_body(option: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The module's quantization option as Qdrant's QuantizationConfig (None: no quantization)."""
    if option.get("disabled"):
        return None
    for kind in ("scalar", "product", "binary"):
        spec = option.get(kind)
        if spec is not None:
            return {kind: {key: value for key, value in spec.items() if value is not None}}
    return None


def current_state(info: Dict[str, Any]) -> Dict[str, Any]:
    """The managed parts of a live collection, in the shape desired_state() gives.

    Raises QdrantError for a collection this module cannot manage (named vectors).
    """
    config = info.get("config") or {}
    params = config.get("params") or {}
    vectors = params.get("vectors") or {}
    if "size" not in vectors:
        raise QdrantError(
            f"the collection has named vectors ({', '.join(sorted(vectors))}); qdrant_collection manages"
            " collections with one unnamed vector only"
        )
    return {
        "vectors": {
            "size": vectors.get("size"),
            "distance": vectors.get("distance"),
            # Qdrant leaves on_disk out when it was never set: vectors then live in memory.
            "on_disk": bool(vectors.get("on_disk", False)),
        },
        "hnsw_config": dict(config.get("hnsw_config") or {}),
        "quantization_config": config.get("quantization_config"),
        "on_disk_payload": params.get("on_disk_payload"),
    }


def immutable_changes(desired: Dict[str, Any], current: Dict[str, Any]) -> List[str]:
    """``vectors.size: 384 -> 768``-style lines for parameters Qdrant cannot change in place."""
    return [
        f"vectors.{key}: {current['vectors'].get(key)} -> {desired['vectors'][key]}"
        for key in IMMUTABLE_VECTOR_KEYS
        if key in desired["vectors"] and desired["vectors"][key] != current["vectors"].get(key)
    ]


def _quantization_differs(desired: Optional[Dict[str, Any]], current: Optional[Dict[str, Any]]) -> bool:
    if desired is None or current is None:
        return desired != current
    (kind, spec), current_kind = next(iter(desired.items())), next(iter(current))
    if kind != current_kind:
        return True
    return any(current[kind].get(key) != value for key, value in spec.items())


def update_body(desired: Dict[str, Any], current: Dict[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """The PATCH /collections/{name} body that brings ``current`` to ``desired``, and what it changes."""
    body: Dict[str, Any] = {}
    changes: List[str] = []
    on_disk = desired["vectors"].get("on_disk")
    if on_disk is not None and on_disk != current["vectors"]["on_disk"]:
        body["vectors"] = {"": {"on_disk": on_disk}}
        changes.append(f"vectors.on_disk: {current['vectors']['on_disk']} -> {on_disk}")
    hnsw = {
        key: value
        for key, value in desired.get("hnsw_config", {}).items()
        if current["hnsw_config"].get(key) != value
    }
    if hnsw:
        body["hnsw_config"] = hnsw
        changes.extend(
            f"hnsw_config.{key}: {current['hnsw_config'].get(key)} -> {hnsw[key]}" for key in sorted(hnsw)
        )
    if "quantization_config" in desired and _quantization_differs(
        desired["quantization_config"], current["quantization_config"]
    ):
        body["quantization_config"] = desired["quantization_config"] or "Disabled"
        changes.append(
            f"quantization_config: {current['quantization_config']} -> {desired['quantization_config']}"
        )
    if "on_disk_payload" in desired and desired["on_disk_payload"] != current["on_disk_payload"]:
        body["params"] = {"on_disk_payload": desired["on_disk_payload"]}
        changes.append(f"on_disk_payload: {current['on_disk_payload']} -> {desired['on_disk_payload']}")
    return body, changes


def create_body(desired: Dict[str, Any]) -> Dict[str, Any]:
    """The PUT /collections/{name} body for ``desired``."""
    body: Dict[str, Any] = {"vectors": dict(desired["vectors"])}
    for key in ("hnsw_config", "quantization_config", "on_disk_payload"):
        if key in desired and desired[key] is not None:
            body[key] = desired[key]
    return body


def predicted_state(desired: Dict[str, Any], current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """What the collection will look like after the change (for check mode's diff)."""
    if current is None:
        return {
            "vectors": {"on_disk": False, **desired["vectors"]},
            "hnsw_config": dict(desired.get("hnsw_config", {})),
            "quantization_config": desired.get("quantization_config"),
            "on_disk_payload": desired.get("on_disk_payload"),
        }
    after: Dict[str, Any] = json.loads(json.dumps(current))
    after["vectors"].update(desired["vectors"])
    after["hnsw_config"].update(desired.get("hnsw_config", {}))
    for key in ("quantization_config", "on_disk_payload"):
        if key in desired:
            after[key] = desired[key]
    return after
