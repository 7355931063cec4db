# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Module engine_benchmark in-process against a loopback HTTP server that replays the recorded engine
answers of tests/fixtures/benchmark: prompts sized per depth, figures, and every failure kept per
deployment (engine down, HTTP errors, answers without tokens) instead of failing the task."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sovereign.stack.plugins.modules import engine_benchmark
from ansible_collections.sovereign.stack.plugins.modules.engine_benchmark import (
    Engine,
    EngineError,
    Measurer,
    depths_to_measure,
    served_model,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "benchmark"
PARAMS = {"max_depth": 4096, "repeats": 3, "decode_tokens": 64, "timeout": 10, "service": None}


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


@dataclass
class Replay:
    """What the loopback engine answers, and the completion requests it received."""

    models: list[str]
    completion: dict[str, Any]
    ps: dict[str, Any] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)


def handler(replay: Replay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # the base class's name
            """Quiet."""

        def _json(self, status: int, payload: object) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                self._json(200, {"object": "list", "data": [{"id": model} for model in replay.models]})
            elif self.path == "/api/ps":
                self._json(200, replay.ps)
            else:
                self._json(404, {"error": "not here"})

        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            replay.requests.append(json.loads(self.rfile.read(length)))
            answer = replay.completion
            if "body" in answer:
                body = answer["body"].encode()
                self.send_response(answer["status"])
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            for _at, line in answer["events"]:
                self.wfile.write(line.encode())
                self.wfile.flush()
            self.close_connection = True

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    """Start replaying engines on free loopback ports; each call returns (port, replay)."""
    servers: list[ThreadingHTTPServer] = []

    def start(replay: Replay) -> int:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler(replay))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def deployment(port: int, **changes: Any) -> dict[str, Any]:
    return {
        "name": "chat",
        "replica": 0,
        "engine": "llama.cpp",
        "port": port,
        "context": 8192,
        "model_path": "/var/lib/sovereign/models/acme--chat/acme--chat-Q4_K_M.gguf",
        "predicted_decode_tps_by_depth": {"0": 50.0, "4096": 40.0},
        **changes,
    }


def run(capsys: pytest.CaptureFixture[str], check_mode: bool = False, **args: Any) -> dict[str, Any]:
    with patch_module_args({**args, "_ansible_check_mode": check_mode}), pytest.raises(SystemExit):
        engine_benchmark.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_each_depth_is_measured_with_prompts_of_its_size(serve: Any) -> None:
    replay = Replay(["chat"], fixture("llama_cpp_stream.json"))
    port = serve(replay)
    result = Measurer(Engine(port, 10), deployment(port), PARAMS).measure()
    assert result["error"] is None and result["model_id"] == "chat"
    assert [entry["depth"] for entry in result["depths"]] == [0, 4096]
    for entry in result["depths"]:
        assert (entry["runs"], entry["decode_source"], entry["completion_tokens"]) == (3, "engine", 12)
    probe, *measured = replay.requests
    # The recorded answer says how many tokens the probe's prompt was: characters per token follow.
    final = next(line for _at, line in reversed(replay.completion["events"]) if '"usage"' in line)
    recorded_prompt_tokens = json.loads(final[len("data: ") :])["usage"]["prompt_tokens"]
    assert result["tokenizer_chars_per_token"] == pytest.approx(
        len(probe["prompt"]) / recorded_prompt_tokens, abs=0.001
    )
    deep = [request for request in measured if "depth 4096" in request["prompt"]]
    assert len(deep) == 3
    expected_chars = 4096 * result["tokenizer_chars_per_token"]
    assert 0.9 * expected_chars < len(deep[0]["prompt"]) < expected_chars
    # A unique first line per request: no engine can answer from its prompt cache.
    assert len({request["prompt"].splitlines()[0] for request in measured}) == len(measured) == 6
    assert all(request["max_tokens"] == 64 and request["ignore_eos"] for request in measured)
    assert all(request["cache_prompt"] is False and request["stream"] for request in measured)


def test_depths_stop_at_max_depth_and_below_the_context() -> None:
    planned = deployment(
        1, context=16384, predicted_decode_tps_by_depth={"0": 9.0, "4096": 8.0, "16384": 7.0}
    )
    assert depths_to_measure(planned, 4096) == [0, 4096]
    assert depths_to_measure(planned, 65536) == [0, 4096]
    assert depths_to_measure(deployment(1, predicted_decode_tps_by_depth={}), 4096) == [0]


def test_a_small_context_shortens_the_prompt_not_the_answer(serve: Any) -> None:
    replay = Replay(["chat"], fixture("llama_cpp_stream.json"))
    port = serve(replay)
    small = deployment(port, context=256, predicted_decode_tps_by_depth={"0": 50.0})
    result = Measurer(Engine(port, 10), small, {**PARAMS, "decode_tokens": 128}).measure()
    assert result["error"] is None
    probe, *measured = replay.requests
    assert len(probe["prompt"]) <= 128
    assert all(request["max_tokens"] == 128 for request in measured)


def test_engine_down_is_the_deployments_error(serve: Any) -> None:
    port = free_port()
    result = Measurer(Engine(port, 5), deployment(port), PARAMS).measure()
    assert result["error"].startswith(f"engine down: http://127.0.0.1:{port}/v1/models cannot be reached")
    assert result["depths"] == []


def test_an_engine_serving_another_model_is_not_measured(serve: Any) -> None:
    port = serve(Replay(["other"], fixture("llama_cpp_stream.json")))
    result = Measurer(Engine(port, 5), deployment(port), PARAMS).measure()
    assert "serves ['other'], not deployment 'chat'" in result["error"]


@pytest.mark.parametrize(
    ("listed", "chosen"),
    [
        (["chat"], "chat"),
        (["chat:latest", "other:latest"], "chat:latest"),
        (["/var/lib/sovereign/models/acme--chat/acme--chat-Q4_K_M.gguf"], deployment(0)["model_path"]),
    ],
)
def test_the_served_id_follows_each_engines_naming(serve: Any, listed: list[str], chosen: str) -> None:
    port = serve(Replay(listed, fixture("llama_cpp_stream.json")))
    assert served_model(Engine(port, 5), deployment(port)) == chosen


def test_http_errors_fail_each_depth_and_say_why(serve: Any) -> None:
    port = serve(Replay(["chat"], fixture("llama_cpp_exceeds_context.json")))
    result = Measurer(Engine(port, 5), deployment(port), PARAMS).measure()
    assert "answered HTTP 400" in result["error"] and "exceeds the available context size" in result["error"]


def test_answers_without_tokens_are_reported_per_depth(serve: Any) -> None:
    replay = Replay(["chat"], fixture("llama_cpp_stream.json"))
    port = serve(replay)
    measurer = Measurer(Engine(port, 5), deployment(port), PARAMS)
    per_token = measurer.chars_per_token("chat")
    replay.completion = fixture("llama_cpp_no_text.json")
    entry = measurer.depth("chat", 0, per_token)
    assert entry["error"].startswith("no tokens") and len(entry["errors"]) == 3


def test_the_module_reports_failures_without_failing(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    result = run(capsys, deployment=deployment(port))
    assert result["changed"] is False and "failed" not in result
    assert result["measurement"]["error"].startswith("engine down")


def test_the_module_measures_in_check_mode(capsys: pytest.CaptureFixture[str], serve: Any) -> None:
    port = serve(Replay(["chat:latest"], fixture("ollama_stream.json"), ps={"models": [
        {"name": "chat:latest", "model": "chat:latest", "size": 5_000_000_000, "size_vram": 4_000_000_000}
    ]}))  # fmt: skip
    result = run(capsys, check_mode=True, deployment=deployment(port, engine="ollama"), repeats=1)
    measurement = result["measurement"]
    assert measurement["error"] is None and result["changed"] is False
    assert measurement["depths"][0]["decode_source"] == "client"
    assert measurement["memory"]["engine_bytes"] == 5_000_000_000
    assert measurement["memory"]["engine_vram_bytes"] == 4_000_000_000


def test_bad_options_and_plan_entries_fail_the_task(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, deployment={"name": "chat", "engine": "vllm", "port": "x"}, repeats=0)
    assert result["failed"] is True
    assert "repeats must be at least 1, got 0" in result["msg"]
    assert "deployment.port: 'x' is not valid" in result["msg"]
    assert "deployment.context: None is not valid" in result["msg"]


def test_engine_error_names_the_url() -> None:
    port = free_port()
    with pytest.raises(EngineError, match=rf"127\.0\.0\.1:{port}/v1/models"):
        Engine(port, 2).get_json("/v1/models")
