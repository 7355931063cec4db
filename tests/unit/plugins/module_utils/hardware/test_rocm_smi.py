# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""rocm-smi JSON in the ROCm 5 and ROCm 6 spellings."""

from __future__ import annotations

import json

import pytest
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import ParseError
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.rocm_smi import parse


def test_rocm6_cards_sorted_numerically_with_gtt() -> None:
    cards = {
        f"card{n}": {
            "Card Series": "AMD Instinct MI100",
            "Card Model": "0x738c",
            "Subsystem ID": "0x0c34",
            "GFX Version": "gfx908",
            "VRAM Total Memory (B)": "34342961152",
            "VRAM Total Used Memory (B)": "7028736",
            "GTT Total Memory (B)": "1000",
            "PCI Bus": f"0000:{n:02x}:00.0",
        }
        for n in (10, 2)
    }
    cards["system"] = {"Driver version": "6.12.12"}
    first, second = parse(json.dumps(cards))
    assert [first.gpu["index"], second.gpu["index"]] == [2, 10]
    assert first.gpu["memory_free_bytes"] == 34342961152 - 7028736
    assert first.gpu["pci_device_id"] == "0x738c"
    assert first.gpu["driver_version"] == "6.12.12"
    assert first.gtt_total_bytes == 1000


def test_rocm5_spelling_does_not_take_the_subsystem_for_the_device_id() -> None:
    (reading,) = parse(
        json.dumps(
            {
                "card0": {
                    "Card series": "Arcturus GL-XL [AMD Instinct MI100]",
                    "Card model": "0x0c34",
                    "VRAM Total Memory (B)": "34342961152",
                }
            }
        )
    )
    assert reading.gpu["name"] == "Arcturus GL-XL [AMD Instinct MI100]"
    assert reading.gpu["pci_device_id"] is None
    assert reading.gpu["memory_free_bytes"] is None
    assert reading.gtt_total_bytes is None


def test_no_cards_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no card objects"):
        parse(json.dumps({"system": {"Driver version": "6.8.0"}}))


def test_warning_text_instead_of_json_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="rocm-smi: output is not JSON"):
        parse("WARNING: No JSON data to report\n")


def test_non_object_json_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="keyed by card0"):
        parse("[]")
