# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Bearer-token authentication: the token's sha256 compared in constant time with every client's."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def token_digest(token: str) -> str:
    """The sha256 hex digest the tokens file stores for ``token``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, or None when there is none."""
    if authorization is None:
        return None
    scheme, _space, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class TokenAuthenticator:
    """Maps a presented bearer token to its client id.

    Every stored digest is compared, whether or not an earlier one matched, with
    ``hmac.compare_digest``, so the time taken says nothing about which client, or how many leading
    characters, matched.
    """

    def __init__(self, digests: Mapping[str, str]) -> None:
        self._digests = tuple((client, digest.encode("ascii")) for client, digest in digests.items())

    def authenticate(self, authorization: str | None) -> str | None:
        """The client id for the header value ``authorization``, or None when it is missing or wrong."""
        token = bearer_token(authorization)
        if token is None:
            return None
        presented = token_digest(token).encode("ascii")
        matched: str | None = None
        for client, digest in self._digests:
            if hmac.compare_digest(presented, digest) and matched is None:
                matched = client
        return matched
