# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Parsers for ``nvidia-smi --query-gpu`` CSV and the ``nvidia-smi topo -m`` matrix.

Field names are those listed by ``nvidia-smi --help-query-gpu``; ``pci.device_id`` is the 32-bit
"PCI vendor device id" (device in the high 16 bits, vendor 0x10DE in the low 16), e.g. 0x233010DE.
``compute_cap`` exists since driver 510 (older drivers reject the whole query, see
https://github.com/huggingface/candle/issues/733).
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional

from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import (
    MIB,
    GpuList,
    ParseError,
    hex_id,
    new_gpu,
    optional_int,
    optional_text,
)

QUERY_FIELDS = (
    "index",
    "name",
    "pci.device_id",
    "pci.bus_id",
    "memory.total",
    "memory.free",
    "compute_cap",
    "driver_version",
)

_NVLINK_CELL = re.compile(r"^NV\d+$")
_MATRIX_LABEL = re.compile(r"^(GPU|NIC)\d+$")


def parse_query(text: str) -> GpuList:
    """Parse ``--query-gpu=<QUERY_FIELDS> --format=csv,noheader,nounits`` (memory in MiB)."""
    gpus: GpuList = []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != len(QUERY_FIELDS):
            raise ParseError(
                f"nvidia-smi query line {line_number}: expected {len(QUERY_FIELDS)} comma-separated fields "
                f"({','.join(QUERY_FIELDS)}), got {len(cells)}: {line!r}"
            )
        index_raw, name, device_raw, bus_id, total_raw, free_raw, cap_raw, driver = cells
        index = optional_int(index_raw, "nvidia-smi index")
        if index is None:
            raise ParseError(f"nvidia-smi query line {line_number}: no GPU index in {line!r}")
        gpu = new_gpu(index, "nvidia", name)
        gpu["pci_device_id"] = _device_id(device_raw)
        gpu["pci_bus_id"] = optional_text(bus_id)
        total_mib = optional_int(total_raw, "nvidia-smi memory.total")
        free_mib = optional_int(free_raw, "nvidia-smi memory.free")
        gpu["memory_total_bytes"] = None if total_mib is None else total_mib * MIB
        gpu["memory_free_bytes"] = None if free_mib is None else free_mib * MIB
        gpu["compute_capability"] = optional_text(cap_raw)
        gpu["driver_version"] = optional_text(driver)
        gpus.append(gpu)
    if not gpus:
        raise ParseError("nvidia-smi query: no GPU lines in the output")
    return gpus


def _device_id(raw: str) -> Optional[str]:
    """Keep the device half of nvidia-smi's vendor+device id (0x233010DE -> 0x2330)."""
    text = optional_text(raw)
    if text is None:
        return None
    digits = text.lower()[2:] if text.lower().startswith("0x") else text.lower()
    if len(digits) == 8:
        digits = digits[:4]
    device_id: Optional[str] = hex_id(digits)
    return device_id


def parse_topology(text: str) -> Dict[int, List[int]]:
    """Read NVLink peers from ``nvidia-smi topo -m``: a cell ``NV<n>`` joins row GPU and column GPU.

    The header row lists the matrix columns (GPU0 GPU1 ... NIC0 ...) before "CPU Affinity"; each
    following row starts with its own label, then one cell per column.
    """
    columns: List[str] = []
    peers: Dict[int, List[int]] = {}
    for line in text.splitlines():
        cells = line.split()
        if not cells:
            continue
        if not columns:
            if _MATRIX_LABEL.match(cells[0]) and (len(cells) == 1 or cells[1] != "X"):
                columns = _leading_labels(cells)
            continue
        row = re.match(r"^GPU(\d+)$", cells[0])
        if row is None:
            continue
        peers[int(row.group(1))] = [
            int(column[3:])
            for column, cell in zip(columns, cells[1:])
            if column.startswith("GPU") and _NVLINK_CELL.match(cell)
        ]
    if not columns or not peers:
        raise ParseError("nvidia-smi topo -m: no GPU matrix found in the output")
    return peers


def _leading_labels(cells: List[str]) -> List[str]:
    """Column labels of the matrix header: the GPU<n>/NIC<n> cells before "CPU Affinity"."""
    labels: List[str] = []
    for cell in cells:
        if not _MATRIX_LABEL.match(cell):
            break
        labels.append(cell)
    return labels
