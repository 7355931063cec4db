# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Usage read from relayed answers, counters per client and model, and the rotated JSONL log."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from sovereign_fleet_router.accounting import Accounting, RequestRecord, usage_tokens
from sovereign_fleet_router.usage import UsageScanner


def record(client: str, deployment: str, prompt: int, completion: int, error: bool = False) -> RequestRecord:
    return RequestRecord(
        client, deployment, deployment, "a", 500 if error else 200, False, prompt, completion, error, 1, 1.5
    )


def test_usage_of_a_json_answer_in_pieces() -> None:
    scanner = UsageScanner(streamed=False)
    body = json.dumps({"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 30}}).encode()
    for start in range(0, len(body), 7):
        scanner.feed(body[start : start + 7])
    assert scanner.tokens() == (12, 30)


def test_usage_of_a_stream_split_mid_event_takes_the_last() -> None:
    events = (
        b'data: {"choices":[{"delta":{"content":"usage"}}]}\n\n'
        b'data: {"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n'
        b'data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9}}\n\n'
        b"data: [DONE]\n\n"
    )
    scanner = UsageScanner(streamed=True)
    for start in range(0, len(events), 5):
        scanner.feed(events[start : start + 5])
    assert scanner.tokens() == (5, 9)


def test_odd_usage_counts_nothing() -> None:
    assert usage_tokens({"prompt_tokens": -3, "completion_tokens": True}) == (0, 0)
    assert usage_tokens(None) == (0, 0)
    scanner = UsageScanner(streamed=False)
    scanner.feed(b"not json")
    assert scanner.tokens() == (0, 0)


def test_counters_and_metrics(tmp_path: Path) -> None:
    accounting = Accounting(tmp_path / "accounting.jsonl", 1 << 20, 2)
    accounting.record(record("alice", "chat", 10, 20))
    accounting.record(record("alice", "chat", 1, 2, error=True))
    accounting.record(record('ev"il', "code", 3, 4))
    assert accounting.counters[("alice", "chat")] == {
        "requests": 2,
        "prompt_tokens": 11,
        "completion_tokens": 22,
        "errors": 1,
    }
    metrics = accounting.metrics()
    assert 'sovereign_fleet_completion_tokens_total{client="alice",model="chat"} 22' in metrics
    assert 'client="ev\\"il"' in metrics
    accounting.close()
    lines = [json.loads(line) for line in (tmp_path / "accounting.jsonl").read_text().splitlines()]
    assert [line["prompt_tokens"] for line in lines] == [10, 1, 3]
    assert stat.S_IMODE((tmp_path / "accounting.jsonl").stat().st_mode) == 0o600


def test_the_log_rotates_by_size_and_keeps_its_backups(tmp_path: Path) -> None:
    path = tmp_path / "accounting.jsonl"
    accounting = Accounting(path, 600, 2)
    for number in range(12):
        accounting.record(record(f"client{number}", "chat", number, 0))
    accounting.close()
    kept = sorted(found.name for found in tmp_path.iterdir())
    assert kept == ["accounting.jsonl", "accounting.jsonl.1", "accounting.jsonl.2"]
    for name in kept:
        assert (tmp_path / name).stat().st_size <= 600
    newest = [json.loads(line)["client"] for line in path.read_text().splitlines()]
    assert newest[-1] == "client11"
