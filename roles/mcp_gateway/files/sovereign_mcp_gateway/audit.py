# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The JSONL audit log: one line per tools/call, never a token, an argument value or file contents."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class AuditRecord:
    """What one tools/call leaves in the log.

    ``decision`` is ``allow`` or ``deny``; ``outcome`` is ``ok``, ``tool_error`` (the downstream
    answered with an error result), ``failed`` (the downstream could not be reached or timed out),
    ``denied`` or ``unknown_tool``. ``paths`` are the normalised path arguments (the only argument
    content that is logged); ``opa_ms`` and ``call_ms`` are None when that step did not run.
    """

    client: str
    server: str | None
    tool: str
    decision: str
    reasons: list[str]
    outcome: str
    paths: list[str] = field(default_factory=list)
    opa_ms: float | None = None
    call_ms: float | None = None


class AuditLog:
    """Appends records to a JSONL file (created 0600), one write and flush per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._file = os.fdopen(descriptor, "a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, record: AuditRecord) -> None:
        """Append ``record`` with the current UTC time as one JSON line."""
        line = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **asdict(record)}
        for key in ("opa_ms", "call_ms"):
            if line[key] is not None:
                line[key] = round(line[key], 3)
        text = json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(text)
            self._file.flush()

    def close(self) -> None:
        """Close the file; later writes fail."""
        with self._lock:
            self._file.close()
