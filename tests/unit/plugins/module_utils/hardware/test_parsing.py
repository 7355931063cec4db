# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Number and id helpers shared by the parsers."""

from __future__ import annotations

import pytest
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import (
    ParseError,
    bus_key,
    hex_id,
    is_unknown,
    optional_int,
)


@pytest.mark.parametrize("raw", ["[N/A]", "N/A", "[Not Supported]", "", "  "])
def test_unknown_markers(raw: str) -> None:
    assert is_unknown(raw)
    assert optional_int(raw, "x") is None


def test_optional_int_reads_decimal_hex_and_floats() -> None:
    assert optional_int("81559", "x") == 81559
    assert optional_int("0x74a1", "x") == 0x74A1
    assert optional_int("2749.998", "x") == 2749
    assert optional_int(12, "x") == 12


def test_optional_int_rejects_words_and_booleans() -> None:
    with pytest.raises(ParseError, match="memory: expected a number, got 'lots'"):
        optional_int("lots", "memory")
    with pytest.raises(ParseError):
        optional_int(True, "flag")


def test_hex_id_is_lower_case_four_digits() -> None:
    assert hex_id("0x744C") == "0x744c"
    assert hex_id("2e12") == "0x2e12"
    assert hex_id("N/A") is None
    with pytest.raises(ParseError, match="expected hex digits"):
        hex_id("0xZZ")


def test_bus_keys_of_nvidia_smi_and_lspci_agree() -> None:
    assert bus_key("00000000:1B:00.0") == bus_key("0000:1b:00.0") == "0000:1b:00.0"
    assert bus_key("0000000F:01:00.0") == bus_key("000f:01:00.0")
    assert bus_key("01:00.0") == "0000:01:00.0"
    assert bus_key(None) is None
