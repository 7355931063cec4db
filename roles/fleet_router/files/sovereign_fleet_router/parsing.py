# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""What the router reads of a request body: the model, whether it streams, and how much context it
needs. The body itself goes to the backend unchanged."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from .errors import bad_request

MAX_MODEL_NAME = 256
# A token is about four bytes of English text in the BPE vocabularies engines use; the estimate only
# decides which deployment of ``auto`` fits, the engine still enforces its real context.
BYTES_PER_TOKEN = 4


@dataclass(frozen=True)
class RoutedRequest:
    """The routing facts of one request."""

    model: str
    stream: bool
    needed_context: int


def _text_bytes(value: Any) -> int:
    """Bytes of every string inside ``value`` (messages, content parts, prompt lists)."""
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, list):
        return sum(_text_bytes(item) for item in value)
    if isinstance(value, dict):
        return sum(_text_bytes(item) for item in value.values())
    return 0


def _max_tokens(request: dict[str, Any]) -> int:
    for key in ("max_completion_tokens", "max_tokens"):
        value = request.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise bad_request(f"{key} must be a whole number of tokens, 0 or more", key)
        return value
    return 0


def parse_request(body: bytes) -> RoutedRequest:
    """The routing facts of ``body``, or ApiError 400 naming what is wrong with it."""
    try:
        request = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise bad_request(f"The body is not JSON: {type(error).__name__}") from None
    if not isinstance(request, dict):
        raise bad_request("The body must be a JSON object.")
    model = request.get("model")
    if not isinstance(model, str) or not model.strip() or len(model) > MAX_MODEL_NAME:
        raise bad_request("model must be a non-empty string naming a model of GET /v1/models.", "model")
    stream = request.get("stream", False)
    if not isinstance(stream, bool):
        raise bad_request("stream must be true or false.", "stream")
    prompt = sum(_text_bytes(request.get(key)) for key in ("messages", "prompt", "input", "tools"))
    return RoutedRequest(model, stream, math.ceil(prompt / BYTES_PER_TOKEN) + _max_tokens(request))
