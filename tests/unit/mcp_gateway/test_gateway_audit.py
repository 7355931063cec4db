# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The JSONL audit log: fields, file mode, one line per record."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from sovereign_mcp_gateway.audit import AuditLog, AuditRecord


def test_records_are_json_lines_with_every_field(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "logs" / "audit.jsonl")
    log.write(
        AuditRecord(
            client="alice",
            server="filesystem",
            tool="read_text_file",
            decision="allow",
            reasons=[],
            outcome="ok",
            paths=["/srv/ws/a.txt"],
            opa_ms=0.41234,
            call_ms=1.5,
        )
    )
    log.write(
        AuditRecord(
            client="bob",
            server=None,
            tool="x",
            decision="deny",
            reasons=["unknown tool"],
            outcome="unknown_tool",
        )
    )
    log.close()
    lines = (tmp_path / "logs" / "audit.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert set(first) == {
        "time",
        "client",
        "server",
        "tool",
        "decision",
        "reasons",
        "outcome",
        "paths",
        "opa_ms",
        "call_ms",
    }
    assert first["opa_ms"] == 0.412
    assert first["time"].endswith("+00:00")
    assert second["opa_ms"] is None and second["server"] is None


def test_file_is_created_0600_and_appended(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    for client in ("a", "b"):
        log = AuditLog(path)
        log.write(
            AuditRecord(client=client, server="s", tool="t", decision="deny", reasons=[], outcome="denied")
        )
        log.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [json.loads(line)["client"] for line in path.read_text().splitlines()] == ["a", "b"]
