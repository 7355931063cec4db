# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""plugins/test/listen_address.py: every spelling of "listen everywhere" is caught, real addresses are not."""

from __future__ import annotations

import pytest
from ansible_collections.sovereign.stack.plugins.test import listen_address
from ansible_collections.sovereign.stack.plugins.test.listen_address import wildcard_address


@pytest.mark.parametrize(
    "value", ["0.0.0.0", "::", "[::]", "0:0:0:0:0:0:0:0", "0:0::0", " 0.0.0.0 ", "", "*", "ANY"]
)
def test_wildcards_are_caught(value: str) -> None:
    assert wildcard_address(value) is True


@pytest.mark.parametrize(
    "value", ["127.0.0.1", "::1", "[::1]", "100.101.102.103", "fd7a:115c:a1e0::1", "localhost", None, 8080]
)
def test_real_addresses_and_other_text_are_not(value: object) -> None:
    assert wildcard_address(value) is False


def test_the_test_is_registered_under_its_documented_name() -> None:
    # Imported through the module: pytest would collect a class named Test* as tests.
    assert listen_address.TestModule().tests() == {"wildcard_address": wildcard_address}
