# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""plugins/module_utils/engine_stream.py on the engines' streamed answers (tests/fixtures/benchmark)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.sovereign.stack.plugins.module_utils.engine_stream import (
    Figures,
    Reading,
    StreamError,
    figures,
    median_figures,
    read_stream,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "benchmark"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


def events(name: str) -> list[tuple[float, str]]:
    return [(float(at), str(line)) for at, line in fixture(name)["events"]]


def test_llama_cpp_uses_the_servers_own_timings() -> None:
    recorded = fixture("llama_cpp_stream.json")
    reading = read_stream(events("llama_cpp_stream.json"))
    final = json.loads(recorded["events"][-4][1][len("data: ") :])
    timings = final["timings"]
    # Fewer text chunks than tokens: llama.cpp holds back bytes of unfinished UTF-8 characters.
    assert reading.completion_tokens == recorded["request"]["max_tokens"] == 12
    assert 0 < reading.text_chunks <= 12
    assert reading.finish_reason == "length"
    assert reading.prompt_tokens == timings["prompt_n"] == final["usage"]["prompt_tokens"]
    result = figures(reading, sent_at=0.0)
    assert (result.decode_source, result.decode_tps) == ("engine", timings["predicted_per_second"])
    assert (result.prefill_source, result.prefill_tps) == ("engine", timings["prompt_per_second"])
    assert result.ttft_s == pytest.approx(recorded["events"][0][0])


def test_vllm_is_timed_from_the_chunks_and_reads_the_final_usage() -> None:
    reading = read_stream(events("vllm_stream.json"))
    assert (reading.prompt_tokens, reading.completion_tokens, reading.text_chunks) == (4105, 10, 10)
    result = figures(reading, sent_at=0.0)
    assert result.decode_source == "client"
    # Nine tokens after the first, one every 25 ms.
    assert result.decode_tps == pytest.approx(9 / 0.225)
    assert result.ttft_s == pytest.approx(0.18)
    assert (result.prefill_source, result.prefill_tps) == ("client", pytest.approx(4105 / 0.18))


def test_ollama_zeroed_usage_on_every_chunk_is_not_a_count() -> None:
    reading = read_stream(events("ollama_stream.json"))
    assert (reading.prompt_tokens, reading.completion_tokens) == (37, 10)
    assert reading.finish_reason == "length"
    result = figures(reading, sent_at=0.0)
    assert result.decode_tps == pytest.approx(9 / 0.45)
    assert result.ttft_s == pytest.approx(0.9)


def test_an_error_inside_the_stream_is_reported_with_the_engines_message() -> None:
    with pytest.raises(StreamError, match="mid-stream: CUDA out of memory"):
        read_stream(events("vllm_error_midstream.json"))


def test_an_answer_without_text_is_no_tokens() -> None:
    reading = read_stream(events("llama_cpp_no_text.json"))
    assert reading.text_chunks == 0 and reading.finish_reason == "stop"
    with pytest.raises(StreamError, match=r"^no tokens: the engine answered without any text"):
        figures(reading, sent_at=0.0)


def test_one_token_is_too_little_to_time_decoding() -> None:
    lines = [(0.1, 'data: {"choices": [{"text": "x", "finish_reason": "length"}]}'), (0.1, "data: [DONE]")]
    with pytest.raises(StreamError, match="only 1 token"):
        figures(read_stream(lines), sent_at=0.0)


def test_lines_that_are_not_json_are_an_error() -> None:
    with pytest.raises(StreamError, match="not JSON: '<html>"):
        read_stream([(0.1, "data: <html>502 Bad Gateway</html>")])
    with pytest.raises(StreamError, match="not a JSON object"):
        read_stream([(0.1, "data: [1, 2]")])


def test_comments_events_and_what_follows_done_are_ignored() -> None:
    lines = [
        (0.0, ": keep-alive"),
        (0.0, "event: completion"),
        (0.1, 'data: {"choices": [{"delta": {"content": "a"}}]}'),
        (0.3, 'data: {"choices": [{"delta": {"content": "b"}}]}'),
        (0.3, "data: [DONE]"),
        (0.4, "data: not json after the end"),
    ]
    reading = read_stream(lines)
    assert (reading.first_text_at, reading.last_text_at, reading.text_chunks) == (0.1, 0.3, 2)
    # Without a usage count the chunks are counted.
    assert figures(reading, sent_at=0.0).decode_tps == pytest.approx(1 / 0.2)


def test_medians_over_repeats() -> None:
    runs = [
        Figures(100, 128, 0.2, 40.0, "engine", 500.0, "engine"),
        Figures(100, 128, 0.1, 42.0, "engine", 600.0, "engine"),
        Figures(101, 128, 0.9, 10.0, "engine", None, None),
    ]
    assert median_figures(runs) == {
        "runs": 3,
        "prompt_tokens": 100,
        "completion_tokens": 128,
        "ttft_s": 0.2,
        "decode_tps": 40.0,
        "decode_source": "engine",
        "prefill_tps": 550.0,
        "prefill_source": "engine",
    }


def test_engine_timings_need_two_predicted_tokens() -> None:
    reading = Reading(
        first_text_at=0.5,
        last_text_at=1.5,
        text_chunks=11,
        completion_tokens=11,
        timings={"predicted_n": 1, "predicted_per_second": 0.0},
    )
    assert figures(reading, sent_at=0.0).decode_source == "client"
