# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Reads the ``usage`` object out of an answer while it is relayed, without holding up any piece:
the whole body of a JSON answer (up to a bound), or each ``data:`` event of a streamed one."""

from __future__ import annotations

import json
from typing import Any

from .accounting import usage_tokens

MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_EVENT_BYTES = 1024 * 1024


class UsageScanner:
    """Feed it the answer's pieces in order; ``tokens()`` gives prompt and completion tokens."""

    def __init__(self, streamed: bool) -> None:
        self._streamed = streamed
        self._buffer = bytearray()
        self._usage: Any = None
        self._overflow = False

    def feed(self, piece: bytes) -> None:
        """Take the next piece of the body."""
        if self._overflow:
            return
        self._buffer += piece
        if not self._streamed:
            self._overflow = len(self._buffer) > MAX_JSON_BYTES
            return
        *lines, rest = self._buffer.split(b"\n")
        self._buffer = bytearray(rest)
        for line in lines:
            self._event(line)
        self._overflow = len(self._buffer) > MAX_EVENT_BYTES

    def _event(self, line: bytes | bytearray) -> None:
        if not line.startswith(b"data:") or b'"usage"' not in line:
            return
        try:
            event = json.loads(line[5:])
        except ValueError:
            return
        if isinstance(event, dict) and isinstance(event.get("usage"), dict):
            self._usage = event["usage"]

    def tokens(self) -> tuple[int, int]:
        """Prompt and completion tokens the backend reported (the last ``usage`` of a stream)."""
        if not self._streamed and not self._overflow and self._buffer:
            try:
                answer = json.loads(self._buffer)
            except ValueError:
                answer = None
            if isinstance(answer, dict):
                self._usage = answer.get("usage")
        elif self._streamed and self._buffer:
            self._event(bytes(self._buffer))
        return usage_tokens(self._usage)
