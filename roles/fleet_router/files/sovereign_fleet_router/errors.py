# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Error answers in the OpenAI API's shape (``{"error": {message, type, param, code}}``), so the
OpenAI SDKs raise their own exception classes (NotFoundError, RateLimitError, ...) for them."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiError(Exception):
    """An answer the router gives itself instead of a backend's."""

    status: int
    message: str
    kind: str
    code: str
    param: str | None = None
    retry_after_s: int | None = None

    def body(self) -> bytes:
        """The JSON body of the answer."""
        error = {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}
        return json.dumps({"error": error}, ensure_ascii=False).encode("utf-8")

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Content type and length, and Retry-After where the client should wait."""
        found = [(b"content-type", b"application/json"), (b"content-length", str(len(self.body())).encode())]
        if self.retry_after_s is not None:
            found.append((b"retry-after", str(self.retry_after_s).encode()))
        return found


def bad_request(message: str, param: str | None = None) -> ApiError:
    """400: the request cannot be routed as sent."""
    return ApiError(400, message, "invalid_request_error", "invalid_request", param)


def unknown_model(model: str, known: list[str]) -> ApiError:
    """404 naming the models the fleet serves, as OpenAI answers an unknown model."""
    names = ", ".join(known) if known else "none"
    message = f"The model {model!r} does not exist in this fleet. Models served: {names}."
    return ApiError(404, message, "invalid_request_error", "model_not_found", "model")


def no_replica(model: str) -> ApiError:
    """503: every replica of the model is down or was tried and failed before answering."""
    message = f"No replica of {model!r} is available right now; retry later."
    return ApiError(503, message, "server_error", "model_unavailable", None, retry_after_s=1)


def rate_limited(message: str, retry_after_s: int) -> ApiError:
    """429 for a client over one of its limits."""
    return ApiError(429, message, "rate_limit_error", "rate_limit_exceeded", None, retry_after_s)


def too_large(limit: int) -> ApiError:
    """413 for a body over the configured size."""
    return ApiError(
        413, f"The request body is over {limit} bytes.", "invalid_request_error", "request_too_large"
    )


def not_found(path: str) -> ApiError:
    """404 for a path the router does not serve."""
    return ApiError(404, f"No route {path!r} on this endpoint.", "invalid_request_error", "unknown_url")
