# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""What the router reads of a request: the model, streaming, the context it needs; and every other
body answered with an OpenAI-shaped 400, never an exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sovereign_fleet_router.errors import ApiError
from sovereign_fleet_router.parsing import BYTES_PER_TOKEN, parse_request


def test_a_chat_request() -> None:
    body = {
        "model": "chat",
        "stream": True,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "x" * 400}],
    }
    request = parse_request(json.dumps(body).encode())
    assert request.model == "chat"
    assert request.stream is True
    # "user" and the content, 404 bytes, then the completion's 100 tokens.
    assert request.needed_context == -(-404 // BYTES_PER_TOKEN) + 100


def test_max_completion_tokens_wins_and_unicode_counts_in_bytes() -> None:
    body = {"model": "modèle-ü", "prompt": "é" * 10, "max_completion_tokens": 5, "max_tokens": 900}
    request = parse_request(json.dumps(body, ensure_ascii=False).encode())
    assert request.model == "modèle-ü"
    assert request.stream is False
    assert request.needed_context == 5 + 5


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b"{not json", None),
        (b"[1, 2]", None),
        (b'{"messages": []}', "model"),
        (b'{"model": ""}', "model"),
        (b'{"model": 7}', "model"),
        (json.dumps({"model": "m" * 257}).encode(), "model"),
        (b'{"model": "chat", "stream": "yes"}', "stream"),
        (b'{"model": "chat", "max_tokens": -1}', "max_tokens"),
        (b'{"model": "chat", "max_tokens": NaN}', "max_tokens"),
        (b'{"model": "chat", "max_tokens": true}', "max_tokens"),
        (b"\xff\xfe", None),
        (b"[" * 100_000, None),
    ],
)
def test_bad_bodies_are_a_400(body: bytes, param: str | None) -> None:
    with pytest.raises(ApiError) as refused:
        parse_request(body)
    assert refused.value.status == 400
    assert refused.value.param == param
    assert json.loads(refused.value.body())["error"]["type"] == "invalid_request_error"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_route_or_are_refused(body: bytes) -> None:
    try:
        request = parse_request(body)
    except ApiError as error:
        assert error.status == 400
        return
    assert request.model.strip()
    assert request.needed_context >= 0


JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
)


@settings(max_examples=400, deadline=None)
@given(
    st.fixed_dictionaries(
        {"model": st.text(min_size=1, max_size=40) | JSON},
        optional={"messages": JSON, "prompt": JSON, "stream": JSON, "max_tokens": JSON, "input": JSON},
    )
)
def test_any_request_object_routes_or_is_refused(document: dict[str, object]) -> None:
    try:
        request = parse_request(json.dumps(document).encode())
    except ApiError as error:
        assert error.status == 400
        return
    assert request.model == document["model"]
