# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Bearer-token authentication against sha256 digests, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from sovereign_mcp_gateway.auth import TokenAuthenticator, bearer_token, token_digest

DIGESTS = {"alice": token_digest("alice-secret"), "bob": token_digest("bob-secret")}


def test_digest_is_sha256_hex() -> None:
    assert token_digest("x") == hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer alice-secret", "alice"),
        ("bearer alice-secret", "alice"),
        ("BEARER   bob-secret  ", "bob"),
        ("Bearer wrong", None),
        ("Bearer ", None),
        ("Bearer", None),
        ("Basic YWxpY2U6c2VjcmV0", None),
        ("alice-secret", None),
        ("", None),
        (None, None),
        ("Bearer " + DIGESTS["alice"], None),
        ("Bearer alice-secret2", None),
        ("Bearer ALICE-SECRET", None),
    ],
)
def test_authenticate(header: str | None, expected: str | None) -> None:
    assert TokenAuthenticator(DIGESTS).authenticate(header) == expected


def test_bearer_token_parsing() -> None:
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("Token abc") is None


def test_every_digest_is_compared_with_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real_compare = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append(b)
        return real_compare(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    assert TokenAuthenticator(DIGESTS).authenticate("Bearer alice-secret") == "alice"
    assert len(calls) == 2, "the loop must not stop at the first match (timing)"
    calls.clear()
    assert TokenAuthenticator(DIGESTS).authenticate("Bearer nobody") is None
    assert len(calls) == 2
