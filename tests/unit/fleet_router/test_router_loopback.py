# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The router end to end over real TCP on loopback, in front of stand-in engines that are real
processes: routing by model, ``auto``, unbuffered streaming, limits, accounting against the engines'
``usage``, and failover when engines are killed mid-run."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.fleet_routes import fleet_routes
from router_fixtures import Router, post, start_backend, start_router, table_of

CHAT: dict[str, Any] = {"messages": [{"role": "user", "content": "four words of prompt"}], "max_tokens": 8}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Router]:
    """small (two replicas, tag code), slow (streams 3 tokens 0.4 s apart), big (code, long-context)."""
    small = [start_backend("small"), start_backend("small")]
    slow = start_backend("slow", chunks=3, chunk_delay=0.4)
    big = start_backend("big", chunks=6)
    table = table_of(
        [
            ("small", 4096, 1_000, ["code"], small),
            ("slow", 4096, 2_000, [], [slow]),
            ("big", 32768, 9_000, ["code", "long-context"], [big]),
        ]
    )
    limits = {"clients": {"limited": {"requests_per_minute": 2}}}
    work = tmp_path_factory.mktemp("router")
    router = start_router(work, table, [*small, slow, big], limits=limits, max_body_bytes=65536)
    yield router
    router.stop()


def test_models_lists_every_deployment_with_context_and_engine(fleet: Router) -> None:
    connection = fleet.connection()
    connection.request("GET", "/v1/models")
    listing = json.loads(connection.getresponse().read())
    by_id = {entry["id"]: entry for entry in listing["data"]}
    assert list(by_id) == ["small", "slow", "big", "auto", "auto:code", "auto:long-context"]
    assert (by_id["big"]["context_length"], by_id["big"]["engine"]) == (32768, "fake")
    assert by_id["small"]["healthy_replicas"] == 2


@pytest.mark.parametrize(
    ("model", "max_tokens", "served_by"),
    [
        ("small", 8, "small"),
        ("big", 8, "big"),
        ("auto:code", 8, "small"),
        ("auto:code", 5000, "big"),
        ("auto:long-context", 8, "big"),
        ("auto", 8, "small"),
    ],
)
def test_routed_by_model(fleet: Router, model: str, max_tokens: int, served_by: str) -> None:
    status, _headers, body = post(fleet.connection(), {**CHAT, "model": model, "max_tokens": max_tokens})
    assert status == 200
    assert json.loads(body)["model"] == served_by


def test_an_unknown_model_is_an_openai_404_naming_the_known(fleet: Router) -> None:
    status, headers, body = post(fleet.connection(), {**CHAT, "model": "gpt-4o"})
    error = json.loads(body)["error"]
    assert status == 404
    assert headers["content-type"] == "application/json"
    assert error["code"] == "model_not_found"
    assert "small, slow, big" in error["message"]


def test_a_body_over_the_limit_is_an_openai_413(fleet: Router) -> None:
    status, _headers, body = post(fleet.connection(), {**CHAT, "model": "small", "prompt": "x" * 100_000})
    assert status == 413
    assert json.loads(body)["error"]["code"] == "request_too_large"


def test_a_table_from_the_plan_routes(tmp_path: Path) -> None:
    """The filter's table, as the role will write it, is what the router reads."""
    chat, code = start_backend("chat"), start_backend("code")
    plan = {
        "hosts": {
            "a": {
                "deployments": [
                    {"name": "chat", "port": chat.port, "context": 8192, "engine": "llama_cpp",
                     "memory": {"weights_bytes": 2_000}},
                    {"name": "code", "port": code.port, "context": 8192, "engine": "llama_cpp",
                     "memory": {"weights_bytes": 1_000}, "tags": ["code"]},
                ]
            }
        }
    }  # fmt: skip
    router = start_router(tmp_path, fleet_routes(plan, "a"), [chat, code])
    try:
        connection = router.connection()
        served = [
            json.loads(post(connection, {**CHAT, "model": name})[2])["model"]
            for name in ("chat", "auto:code")
        ]
        assert served == ["chat", "code"]
    finally:
        router.stop()


def test_streaming_is_relayed_as_it_comes(fleet: Router) -> None:
    connection = fleet.connection()
    started = time.monotonic()
    connection.request("POST", "/v1/chat/completions", json.dumps({**CHAT, "model": "slow", "stream": True}))
    answer = connection.getresponse()
    first = answer.read1(65536)
    first_at = time.monotonic() - started
    rest = answer.read()
    done_at = time.monotonic() - started
    assert first.startswith(b"data: ")
    assert first_at < 0.3  # the first token, while the engine is still generating the others
    assert done_at > 0.75  # two more tokens, 0.4 s apart
    assert rest.rstrip().endswith(b"data: [DONE]")


def test_a_client_over_its_limit_gets_an_openai_429(fleet: Router) -> None:
    connection = fleet.connection()
    statuses = [post(connection, {**CHAT, "model": "small"}, client="limited")[0] for _call in range(2)]
    status, headers, body = post(connection, {**CHAT, "model": "small"}, client="limited")
    assert statuses == [200, 200]
    assert status == 429
    assert int(headers["retry-after"]) >= 1
    assert json.loads(body)["error"]["type"] == "rate_limit_error"


def streamed_usage(body: bytes) -> dict[str, int]:
    events = [line[6:] for line in body.split(b"\n") if line.startswith(b"data: {")]
    usages: list[dict[str, int]] = [json.loads(event)["usage"] for event in events if b'"usage"' in event]
    return usages[-1]


def test_accounting_equals_the_usage_the_engines_returned(fleet: Router) -> None:
    connection = fleet.connection()
    expected: dict[str, list[int]] = {}
    for number, model in enumerate(["small", "big", "auto:long-context", "small", "slow", "small"]):
        stream = number % 2 == 1
        words = " ".join(["word"] * (number + 1))
        request = {**CHAT, "model": model, "stream": stream, "messages": [{"role": "user", "content": words}]}
        status, _headers, body = post(connection, request, client="counted")
        assert status == 200
        # The stand-in names itself in every answer and event: the deployment that served it.
        answer = json.loads(body.split(b"\n")[0][6:]) if stream else json.loads(body)
        usage = streamed_usage(body) if stream else answer["usage"]
        served = answer["model"]
        sums = expected.setdefault(served, [0, 0, 0])
        sums[0] += 1
        sums[1] += usage["prompt_tokens"]
        sums[2] += usage["completion_tokens"]
    connection.request("GET", "/metrics")
    metrics = connection.getresponse().read().decode()
    for model, (requests, prompt, completion) in expected.items():
        labels = f'{{client="counted",model="{model}"}}'
        assert f"sovereign_fleet_requests_total{labels} {requests}\n" in metrics
        assert f"sovereign_fleet_prompt_tokens_total{labels} {prompt}\n" in metrics
        assert f"sovereign_fleet_completion_tokens_total{labels} {completion}\n" in metrics
    lines = [json.loads(line) for line in fleet.accounting_log.read_text().splitlines()]
    logged = [line for line in lines if line["client"] == "counted"]
    assert sum(line["prompt_tokens"] for line in logged) == sum(sums[1] for sums in expected.values())
    assert sum(line["completion_tokens"] for line in logged) == sum(sums[2] for sums in expected.values())


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[Router]:
    """One deployment on two engines that take 50 ms to answer, so requests are in flight."""
    backends = [start_backend("small", answer_delay=0.05), start_backend("small", answer_delay=0.05)]
    router = start_router(tmp_path, table_of([("small", 4096, 1, [], backends)]), backends)
    yield router
    router.stop()


def test_an_engine_killed_mid_run_fails_no_request(replicated: Router) -> None:
    outcomes: list[int] = []
    stop = time.monotonic() + 3.0

    def load() -> None:
        connection = replicated.connection()
        while time.monotonic() < stop:
            try:
                outcomes.append(post(connection, {**CHAT, "model": "small"})[0])
            except (OSError, http.client.HTTPException):
                outcomes.append(-1)
                connection = replicated.connection()

    workers = [threading.Thread(target=load) for _worker in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)
    replicated.backends[1].kill()
    for worker in workers:
        worker.join()
    assert len(outcomes) > 100
    assert set(outcomes) == {200}
    lines = [json.loads(line) for line in replicated.accounting_log.read_text().splitlines()]
    # Requests in flight on the killed engine failed before their first byte and went to the other.
    assert any(line["attempts"] == 2 and line["status"] == 200 for line in lines)


def test_every_replica_down_is_a_quick_openai_503(replicated: Router) -> None:
    for backend in replicated.backends:
        backend.kill()
    connection = replicated.connection()
    for _round in range(2):  # at once (connections refused), then once the health checks ejected both
        started = time.monotonic()
        status, headers, body = post(connection, {**CHAT, "model": "small"})
        assert time.monotonic() - started < 1.0
        assert status == 503
        assert headers["retry-after"] == "1"
        assert json.loads(body)["error"]["code"] == "model_unavailable"
        time.sleep(0.5)


def test_a_replica_answering_503_before_anything_was_sent_is_passed_over(tmp_path: Path) -> None:
    loading, ready = start_backend("small", refuse_with=503), start_backend("small")
    router = start_router(tmp_path, table_of([("small", 4096, 1, [], [loading, ready])]), [loading, ready])
    try:
        connection = router.connection()
        statuses = [post(connection, {**CHAT, "model": "small"})[0] for _call in range(10)]
        assert statuses == [200] * 10
        first = json.loads(router.accounting_log.read_text().splitlines()[0])
        # The first request went to the loading engine (first in the table), then to the ready one.
        assert (first["attempts"], first["replica"]) == (2, f"h{ready.port}")
    finally:
        router.stop()


def test_an_answer_cut_after_its_first_byte_is_not_retried(tmp_path: Path) -> None:
    backends = [
        start_backend("small", chunks=5, chunk_delay=0.3),
        start_backend("small", chunks=5, chunk_delay=0.3),
    ]
    router = start_router(tmp_path, table_of([("small", 4096, 1, [], backends)]), backends)
    try:
        connection = router.connection()
        connection.request(
            "POST", "/v1/chat/completions", json.dumps({**CHAT, "model": "small", "stream": True})
        )
        answer = connection.getresponse()
        first = answer.read1(65536)
        backends[0].kill()  # the first replica of the table takes the first request
        with pytest.raises(http.client.IncompleteRead):
            answer.read()
        assert first.startswith(b"data: ")
        time.sleep(0.2)
        (line,) = [json.loads(text) for text in router.accounting_log.read_text().splitlines()]
        assert (line["attempts"], line["error"], line["replica"]) == (1, True, f"h{backends[0].port}")
    finally:
        router.stop()
