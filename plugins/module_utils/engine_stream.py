# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""What one streamed completion measured: the engines' server-sent events read into figures.

Module ``sovereign.stack.engine_benchmark`` sends OpenAI-style ``/v1/completions`` requests with
``stream: true`` and ``stream_options.include_usage`` and timestamps every line as it arrives. The
engines answer in one shape with small differences, each handled here (fixtures under
tests/fixtures/benchmark/):

- llama.cpp: a ``text`` chunk per token (bytes of an unfinished UTF-8 character are held back, so
  chunks are fewer than tokens); the last chunk carries ``usage`` and ``timings`` (the server's own
  ``prompt_per_second`` and ``predicted_per_second``).
- vLLM and SGLang: ``text`` chunks with ``usage: null``, then a chunk with empty ``choices`` and the
  request's ``usage``.
- Ollama: every chunk carries a zeroed ``usage`` when usage is asked for; the real one comes in a
  last chunk with empty ``choices``.

An error the engine sends inside the stream (``{"error": ...}``), a line that is not JSON and a stream
without any text are a StreamError: the caller reports it for that request and goes on.
Standard library only: this runs on the managed host.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

DONE = "[DONE]"


class StreamError(ValueError):
    """A streamed answer that gives no figure; the message says what the engine sent."""


@dataclass
class Reading:
    """What arrived, with arrival times in seconds on the caller's clock."""

    first_text_at: Optional[float] = None
    last_text_at: Optional[float] = None
    text_chunks: int = 0
    prompt_tokens: Optional[int] = None
    completion_tokens: Optional[int] = None
    finish_reason: Optional[str] = None
    timings: Dict[str, float] = field(default_factory=dict)


def _payloads(lines: Iterable[Tuple[float, str]]) -> Iterator[Tuple[float, Dict[str, Any]]]:
    """(arrival, JSON object) of every ``data:`` line, up to ``[DONE]``; comments and blanks skipped."""
    for arrived, raw in lines:
        line = raw.strip()
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == DONE:
            return
        try:
            payload = json.loads(data)
        except ValueError:
            raise StreamError(f"the engine sent a line that is not JSON: {data[:160]!r}") from None
        if not isinstance(payload, dict):
            raise StreamError(f"the engine sent {data[:160]!r}, not a JSON object")
        yield arrived, payload


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)


def _count(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def read_stream(lines: Iterable[Tuple[float, str]]) -> Reading:
    """Fold a completion stream into a Reading; StreamError on an engine error or a broken line."""
    reading = Reading()
    for arrived, payload in _payloads(lines):
        if "error" in payload:
            raise StreamError(f"the engine reported an error mid-stream: {_error_text(payload['error'])}")
        for choice in payload.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            text = choice.get("text")
            if text is None and isinstance(choice.get("delta"), dict):
                text = choice["delta"].get("content")
            if text:
                if reading.first_text_at is None:
                    reading.first_text_at = arrived
                reading.last_text_at = arrived
                reading.text_chunks += 1
            if choice.get("finish_reason"):
                reading.finish_reason = str(choice["finish_reason"])
        usage = payload.get("usage")
        # Ollama zeroes usage on every chunk but the last: only a count above zero is one.
        if isinstance(usage, dict) and (_count(usage.get("total_tokens")) or 0) > 0:
            reading.prompt_tokens = _count(usage.get("prompt_tokens"))
            reading.completion_tokens = _count(usage.get("completion_tokens"))
        timings = payload.get("timings")
        if isinstance(timings, dict):
            reading.timings = {
                key: float(value)
                for key, value in timings.items()
                if isinstance(value, (int, float)) and not isinstance(value, bool)
            }
    return reading


@dataclass
class Figures:
    """One request's figures; ``*_source`` says whether the engine or this client timed it."""

    prompt_tokens: Optional[int]
    completion_tokens: int
    ttft_s: float
    decode_tps: float
    decode_source: str
    prefill_tps: Optional[float]
    prefill_source: Optional[str]


def figures(reading: Reading, sent_at: float) -> Figures:
    """The request's figures; StreamError when it produced no text or too little to time decoding.

    Decode speed is the engine's own where it reports one (llama.cpp ``timings``), else tokens after
    the first over the time from the first to the last text chunk. Prefill speed likewise, else
    prompt tokens over the time to the first token (which includes the HTTP round trip).
    """
    if reading.first_text_at is None or reading.last_text_at is None:
        raise StreamError(
            "no tokens: the engine answered without any text "
            f"(finish_reason {reading.finish_reason!r}, usage {reading.completion_tokens!r} tokens)"
        )
    completion = reading.completion_tokens or reading.text_chunks
    prompt = reading.prompt_tokens
    if prompt is None and reading.timings.get("prompt_n"):
        prompt = int(reading.timings["prompt_n"])
    ttft = max(reading.first_text_at - sent_at, 1e-6)
    engine_decode = reading.timings.get("predicted_per_second")
    if engine_decode and reading.timings.get("predicted_n", 0) >= 2:
        decode, decode_source = engine_decode, "engine"
    else:
        span = reading.last_text_at - reading.first_text_at
        if completion < 2 or span <= 0:
            raise StreamError(
                f"only {completion} token(s) in {span:.3f} s after the first: too little to time decoding"
            )
        decode, decode_source = (completion - 1) / span, "client"
    engine_prefill = reading.timings.get("prompt_per_second")
    prefill: Optional[float]
    prefill_source: Optional[str]
    if engine_prefill and reading.timings.get("prompt_n", 0) >= 1:
        prefill, prefill_source = engine_prefill, "engine"
    elif prompt:
        prefill, prefill_source = prompt / ttft, "client"
    else:
        prefill, prefill_source = None, None
    return Figures(prompt, completion, ttft, decode, decode_source, prefill, prefill_source)


def median_figures(runs: List[Figures]) -> Dict[str, Any]:
    """The median of each figure over repeated requests (the sources of the first run)."""
    prefills = [run.prefill_tps for run in runs if run.prefill_tps is not None]
    prompts = [run.prompt_tokens for run in runs if run.prompt_tokens is not None]
    return {
        "runs": len(runs),
        "prompt_tokens": int(statistics.median(prompts)) if prompts else None,
        "completion_tokens": int(statistics.median(run.completion_tokens for run in runs)),
        "ttft_s": round(statistics.median(run.ttft_s for run in runs), 4),
        "decode_tps": round(statistics.median(run.decode_tps for run in runs), 2),
        "decode_source": runs[0].decode_source,
        "prefill_tps": round(statistics.median(prefills), 1) if prefills else None,
        "prefill_source": runs[0].prefill_source,
    }
