#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Ansible module ``sovereign.stack.qdrant_collection``: one Qdrant collection, created or updated."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: qdrant_collection
short_description: Create, update or delete a Qdrant collection over the REST API
version_added: 0.1.0
description:
  - Makes one collection of a Qdrant server match what the task declares, through Qdrant's REST API
    (C(GET), C(PUT), C(PATCH) and C(DELETE) on C(/collections/<name>)).
  - A missing collection is created with the declared vector size, distance and parameters.
  - On an existing collection, the parameters Qdrant can change in place (C(vectors.on_disk),
    C(hnsw_config), C(quantization_config), C(on_disk_payload)) are updated with one C(PATCH);
    parameters the task leaves unset are left as they are.
  - Qdrant cannot change the vector size or distance of a collection. A task that declares other
    values fails naming both, unless O(recreate=true), which deletes the collection with all its
    points and creates it again.
  - Only collections with one unnamed dense vector are managed; a collection with named vectors
    is reported as an error and left alone.
  - Runs on the host (or wherever the URL is reachable) with Python's standard library only.
author:
  - sovereign.stack contributors (@sovereign-stack)
options:
  url:
    description:
      - Base URL of the Qdrant REST API.
    type: str
    default: http://127.0.0.1:6333
  api_key:
    description:
      - Qdrant API key, sent as the C(api-key) header. Changing collections needs the read-write key;
        the read-only key is refused with 403.
      - Leave unset for a server without an API key.
    type: str
  name:
    description:
      - Name of the collection.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the collection; V(absent) deletes it with all its points.
    type: str
    choices: [present, absent]
    default: present
  vectors:
    description:
      - The collection's unnamed dense vector. Required with O(state=present).
    type: dict
    suboptions:
      size:
        description:
          - Dimension of the vectors (the embedding model's output size), 1 to 65536.
          - Fixed at creation.
        type: int
        required: true
      distance:
        description:
          - Similarity measure. Fixed at creation.
        type: str
        choices: [Cosine, Euclid, Dot, Manhattan]
        required: true
      on_disk:
        description:
          - Keep the original vectors on disk (memory-mapped) instead of in RAM.
          - Unset leaves the collection's value; Qdrant's default is V(false).
        type: bool
  hnsw_config:
    description:
      - HNSW index parameters of the collection. Unset keys are left as they are.
    type: dict
    suboptions:
      m:
        description: [Edges per node of the index graph (0 disables the global index).]
        type: int
      ef_construct:
        description: [Neighbours considered while building the index, 4 or more.]
        type: int
      full_scan_threshold:
        description: [Size in KiB of the vectors below which a full scan is preferred over the index.]
        type: int
      max_indexing_threads:
        description: [Threads used to build the index, 0 for automatic.]
        type: int
      on_disk:
        description: [Keep the index on disk instead of in RAM.]
        type: bool
      payload_m:
        description: [Edges per node of the payload-based index.]
        type: int
  quantization_config:
    description:
      - Quantization of the collection's vectors. Give exactly one of O(quantization_config.scalar),
        O(quantization_config.product), O(quantization_config.binary) or
        O(quantization_config.disabled=true).
      - Unset leaves the collection's quantization as it is.
    type: dict
    suboptions:
      scalar:
        description: [Scalar quantization (one byte per dimension).]
        type: dict
        suboptions:
          type:
            description: [Quantized type.]
            type: str
            choices: [int8]
            default: int8
          quantile:
            description: [Quantile of the values kept when computing the bounds, 0.5 to 1.0.]
            type: float
          always_ram:
            description: [Keep the quantized vectors in RAM.]
            type: bool
      product:
        description: [Product quantization.]
        type: dict
        suboptions:
          compression:
            description: [Compression ratio.]
            type: str
            choices: [x4, x8, x16, x32, x64]
            required: true
          always_ram:
            description: [Keep the quantized vectors in RAM.]
            type: bool
      binary:
        description: [Binary quantization (one bit per dimension).]
        type: dict
        suboptions:
          always_ram:
            description: [Keep the quantized vectors in RAM.]
            type: bool
      disabled:
        description: [V(true) removes any quantization from the collection.]
        type: bool
  on_disk_payload:
    description:
      - Keep point payloads on disk instead of in RAM. Unset leaves the collection's value.
    type: bool
  recreate:
    description:
      - When the declared vector size or distance differs from the collection's, delete the
        collection, with every point in it, and create it again. Without it the task fails.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for each request, also passed to Qdrant as the operation timeout.
    type: int
    default: 30
  validate_certs:
    description:
      - Verify the server's TLS certificate when O(url) is https.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Reads the collection and reports what would change; nothing is sent but C(GET).
  diff_mode:
    support: full
    details: Shows the managed parameters before and after.
  platform:
    details: Needs only Python's standard library; the server may be anywhere O(url) reaches.
extends_documentation_fragment:
  - sovereign.stack.platform
  - action_common_attributes
notes:
  - The comparison covers only the parameters the task declares, so a second run with the same
    arguments changes nothing.
  - The API key is never logged or returned.
seealso:
  - name: Qdrant collections
    description: Qdrant's documentation of collection parameters.
    link: https://qdrant.tech/documentation/concepts/collections/
"""

EXAMPLES = r"""
- name: Keep the documents collection for 384-dimension embeddings
  sovereign.stack.qdrant_collection:
    api_key: "{{ lookup('ansible.builtin.file', '/etc/sovereign-qdrant/api-key') }}"
    name: documents
    vectors:
      size: 384
      distance: Cosine
      on_disk: true
    hnsw_config:
      m: 16
      ef_construct: 128
    quantization_config:
      scalar:
        quantile: 0.99
        always_ram: true
  no_log: true

- name: Drop a collection
  sovereign.stack.qdrant_collection:
    api_key: "{{ qdrant_key }}"
    name: scratch
    state: absent
"""

RETURN = r"""
collection:
  description:
    - The managed parameters of the collection after the task (predicted in check mode); empty
      when the collection is absent.
  returned: always
  type: dict
  sample:
    vectors: {size: 384, distance: Cosine, on_disk: true}
    hnsw_config: {m: 16, ef_construct: 128, full_scan_threshold: 10000, max_indexing_threads: 0}
    quantization_config: {scalar: {type: int8, quantile: 0.99, always_ram: true}}
    on_disk_payload: true
changes:
  description: One line per parameter changed (or to be changed in check mode), C(old -> new).
  returned: always
  type: list
  elements: str
  sample: ["hnsw_config.ef_construct: 100 -> 128"]
"""

import re
from typing import Any, Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sovereign.stack.plugins.module_utils.qdrant import (
    QdrantClient,
    QdrantError,
    collection_path,
    create_body,
    current_state,
    desired_state,
    immutable_changes,
    predicted_state,
    update_body,
)

# Qdrant refuses these characters in collection names (they end up in file paths).
NAME_PATTERN = re.compile(r'^[^/\\:*?"<>|\x00]{1,255}$')

HNSW_OPTIONS: Dict[str, Any] = {
    "m": {"type": "int"},
    "ef_construct": {"type": "int"},
    "full_scan_threshold": {"type": "int"},
    "max_indexing_threads": {"type": "int"},
    "on_disk": {"type": "bool"},
    "payload_m": {"type": "int"},
}
ARGUMENT_SPEC: Dict[str, Any] = {
    "url": {"type": "str", "default": "http://127.0.0.1:6333"},
    "api_key": {"type": "str", "no_log": True},
    "name": {"type": "str", "required": True},
    "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
    "vectors": {
        "type": "dict",
        "options": {
            "size": {"type": "int", "required": True},
            "distance": {
                "type": "str",
                "choices": ["Cosine", "Euclid", "Dot", "Manhattan"],
                "required": True,
            },
            "on_disk": {"type": "bool"},
        },
    },
    "hnsw_config": {"type": "dict", "options": HNSW_OPTIONS},
    "quantization_config": {
        "type": "dict",
        "options": {
            "scalar": {
                "type": "dict",
                "options": {
                    "type": {"type": "str", "choices": ["int8"], "default": "int8"},
                    "quantile": {"type": "float"},
                    "always_ram": {"type": "bool"},
                },
            },
            "product": {
                "type": "dict",
                "options": {
                    "compression": {
                        "type": "str",
                        "choices": ["x4", "x8", "x16", "x32", "x64"],
                        "required": True,
                    },
                    "always_ram": {"type": "bool"},
                },
            },
            "binary": {"type": "dict", "options": {"always_ram": {"type": "bool"}}},
            "disabled": {"type": "bool"},
        },
        "mutually_exclusive": [["scalar", "product", "binary", "disabled"]],
        "required_one_of": [["scalar", "product", "binary", "disabled"]],
    },
    "on_disk_payload": {"type": "bool"},
    "recreate": {"type": "bool", "default": False},
    "timeout": {"type": "int", "default": 30},
    "validate_certs": {"type": "bool", "default": True},
}


def input_errors(params: Dict[str, Any]) -> List[str]:
    """Every value the argument spec cannot check, each naming the parameter, the value and what is valid."""
    errors = []
    name = params["name"]
    if not NAME_PATTERN.match(name) or name in (".", ".."):
        errors.append(
            f"name is {name!r}: give 1 to 255 characters without / \\ : * ? \" < > | (Qdrant's rule)"
        )
    if not re.match(r"^https?://[^/]+", params["url"]):
        errors.append(
            f"url is {params['url']!r}: give the REST API's base URL, such as http://127.0.0.1:6333"
        )
    if params["timeout"] < 1:
        errors.append(f"timeout is {params['timeout']}: give a whole number of seconds, 1 or more")
    vectors = params.get("vectors")
    if vectors is not None and not 1 <= vectors["size"] <= 65536:
        errors.append(
            f"vectors.size is {vectors['size']}: give the dimension of the embeddings, from 1 to 65536"
        )
    hnsw = params.get("hnsw_config") or {}
    if hnsw.get("ef_construct") is not None and hnsw["ef_construct"] < 4:
        errors.append(f"hnsw_config.ef_construct is {hnsw['ef_construct']}: give 4 or more")
    for key in ("m", "full_scan_threshold", "max_indexing_threads", "payload_m"):
        if hnsw.get(key) is not None and hnsw[key] < 0:
            errors.append(f"hnsw_config.{key} is {hnsw[key]}: give 0 or more")
    scalar = (params.get("quantization_config") or {}).get("scalar") or {}
    quantile = scalar.get("quantile")
    if quantile is not None and not 0.5 <= quantile <= 1.0:
        errors.append(f"quantization_config.scalar.quantile is {quantile}: give a value from 0.5 to 1.0")
    disabled = (params.get("quantization_config") or {}).get("disabled")
    if disabled is False:
        errors.append(
            "quantization_config.disabled is false: give scalar, product or binary to quantize,"
            " or disabled: true to remove quantization"
        )
    return errors


def remove(module: AnsibleModule, client: QdrantClient, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """state=absent: delete the collection if it exists."""
    name = module.params["name"]
    if current is None:
        return {"changed": False, "collection": {}, "changes": []}
    if not module.check_mode:
        client.call("DELETE", collection_path(name) + f"?timeout={module.params['timeout']}")
    return {
        "changed": True,
        "collection": {},
        "changes": [f"collection {name}: deleted"],
        "diff": {"before": current, "after": {}},
    }


def apply(
    module: AnsibleModule, client: QdrantClient, desired: Dict[str, Any], current: Optional[Dict[str, Any]]
) -> Tuple[List[str], Optional[Dict[str, Any]]]:
    """Send what brings the collection to ``desired`` (nothing in check mode).

    Returns the change lines and the state the collection is changed from (None: created anew).
    """
    name = module.params["name"]
    path = collection_path(name) + f"?timeout={module.params['timeout']}"
    if current is None:
        if not module.check_mode:
            client.call("PUT", path, create_body(desired))
        return [f"collection {name}: created"], None
    immutable = immutable_changes(desired, current)
    if immutable and not module.params["recreate"]:
        module.fail_json(
            msg=f"collection {name} cannot change {', '.join(immutable)} in place (Qdrant fixes vector"
            " size and distance at creation); set recreate: true to delete it with all its points and"
            " create it again, or declare the existing values",
            changed=False,
        )
    if immutable:
        if not module.check_mode:
            client.call("DELETE", path)
            client.call("PUT", path, create_body(desired))
        return [f"collection {name}: recreated ({', '.join(immutable)})"], None
    body, changes = update_body(desired, current)
    if body and not module.check_mode:
        client.call("PATCH", path, body)
    return changes, current


def run(module: AnsibleModule, client: QdrantClient) -> Dict[str, Any]:
    """Compare, then change what differs unless in check mode; the module's result."""
    name = module.params["name"]
    info = client.collection(name)
    current = current_state(info) if info is not None else None
    if module.params["state"] == "absent":
        return remove(module, client, current)
    desired = desired_state(module.params)
    changes, base = apply(module, client, desired, current)
    if not changes:
        return {"changed": False, "collection": current, "changes": []}
    if module.check_mode:
        after = predicted_state(desired, base)
    else:
        after_info = client.collection(name)
        after = current_state(after_info) if after_info is not None else {}
    return {
        "changed": True,
        "collection": after,
        "changes": changes,
        "diff": {"before": current or {}, "after": after},
    }


def main() -> None:
    """Validate, then reconcile the collection."""
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=[("state", "present", ["vectors"])],
        supports_check_mode=True,
    )
    errors = input_errors(module.params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    client = QdrantClient(module, module.params["url"], module.params["api_key"], module.params["timeout"])
    try:
        result = run(module, client)
    except QdrantError as error:
        module.fail_json(msg=f"collection {module.params['name']}: {error}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
