# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Per-client accounting: one JSONL line per request (rotated by size, kept ``backups`` deep) and
counters per client and deployment (requests, prompt and completion tokens from the backend's
``usage``, errors), served on ``/metrics`` in Prometheus' text format. Never a token or a prompt."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

COUNTERS = ("requests", "prompt_tokens", "completion_tokens", "errors")


@dataclass(frozen=True)
class RequestRecord:
    """What one request leaves in the log. ``deployment`` is the one that answered (or was asked
    for); ``model`` what the client asked for (a deployment, ``auto`` or ``auto:<tag>``)."""

    client: str
    model: str
    deployment: str
    replica: str
    status: int
    stream: bool
    prompt_tokens: int
    completion_tokens: int
    error: bool
    attempts: int
    duration_ms: float


def usage_tokens(usage: Any) -> tuple[int, int]:
    """Prompt and completion tokens of an OpenAI ``usage`` object; 0 for what is missing or odd."""
    if not isinstance(usage, dict):
        return 0, 0
    counts = []
    for key in ("prompt_tokens", "completion_tokens"):
        value = usage.get(key, 0)
        counts.append(value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0)
    return counts[0], counts[1]


class Accounting:
    """The log file and the counters."""

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self._max_bytes = max_bytes
        self._backups = backups
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._open()
        self.counters: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(COUNTERS, 0))

    def _open(self) -> Any:
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(descriptor, "a", encoding="utf-8")

    def record(self, entry: RequestRecord) -> None:
        """Count ``entry`` and append it as one line, rotating the file first when it is full."""
        counter = self.counters[(entry.client, entry.deployment)]
        counter["requests"] += 1
        counter["prompt_tokens"] += entry.prompt_tokens
        counter["completion_tokens"] += entry.completion_tokens
        counter["errors"] += int(entry.error)
        line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **asdict(entry)}
        line["duration_ms"] = round(entry.duration_ms, 3)
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
        if self._file.tell() + len(text) > self._max_bytes and self._file.tell() > 0:
            self._rotate()
        self._file.write(text)
        self._file.flush()

    def _rotate(self) -> None:
        """accounting.jsonl -> .1 -> .2 ... up to ``backups``; the oldest is dropped."""
        self._file.close()
        for number in range(self._backups - 1, 0, -1):
            older = Path(f"{self.path}.{number}")
            if older.exists():
                older.replace(f"{self.path}.{number + 1}")
        if self._backups > 0:
            self.path.replace(f"{self.path}.1")
        else:
            self.path.unlink()
        self._file = self._open()

    def metrics(self) -> str:
        """The counters in Prometheus' text exposition format."""
        lines = []
        for name in COUNTERS:
            metric = f"sovereign_fleet_{name}_total"
            lines.append(f"# TYPE {metric} counter")
            for (client, deployment), counter in sorted(self.counters.items()):
                labels = f'client="{_label(client)}",model="{_label(deployment)}"'
                lines.append(f"{metric}{{{labels}}} {counter[name]}")
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        """Close the log file."""
        self._file.close()


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
