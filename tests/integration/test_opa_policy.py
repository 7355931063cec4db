# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The default Rego policy under the real OPA (built from Debian's source by tests/harness/build-opa.sh).

``opa test`` runs the policy's own unit tests; then a real ``opa run --server`` on a free loopback
port, laid out the way the opa role lays out a host (policy tree plus the configuration as
``data.sovereign.mcp_config``, API authorization on), answers the gateway's decision query.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
POLICIES = REPO_ROOT / "roles" / "opa" / "files" / "policies"
DECISION = "/v1/data/sovereign/mcp/decision"
VISIBLE_TOOLS = "/v1/data/sovereign/mcp/visible_tools"
# Written down so that a test file that silently stops loading (or a test deleted) is noticed.
EXPECTED_TESTS = 79

CONFIG = {
    "workspace_roots": ["/srv/workspace"],
    "clients": {
        "alice": {
            "servers": {"filesystem": ["read_text_file", "list_directory", "write_file"], "git": ["*"]}
        },
        "bob": {"servers": {"filesystem": ["read_text_file"]}},
    },
    "shell_tools": ["run_command", "execute", "exec", "shell", "bash", "run_shell", "terminal"],
    "destructive_tools": ["delete_file", "move_file", "remove", "rename"],
}


@pytest.fixture(scope="module")
def opa() -> Path:
    """The real opa binary, built once per recipe and then reused from the cache."""
    result = subprocess.run(
        [str(REPO_ROOT / "tests" / "harness" / "build-opa.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"build-opa.sh failed:\n{result.stderr}"
    return Path(result.stdout.strip().splitlines()[-1])


def _declared_tests() -> list[str]:
    return [
        match
        for path in sorted(POLICIES.rglob("*_test.rego"))
        for match in re.findall(r"^(test_\w+)", path.read_text(), flags=re.MULTILINE)
    ]


def _opa_test(opa: Path, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(opa), "test", "--format=json", *map(str, paths)], capture_output=True, text=True, check=False
    )


def test_every_policy_test_passes(opa: Path) -> None:
    result = _opa_test(opa, POLICIES)
    assert result.returncode == 0, result.stdout + result.stderr
    results = json.loads(result.stdout)
    failed = [r["name"] for r in results if r.get("fail") or r.get("error") or r.get("skip")]
    assert failed == []
    names = sorted(r["name"] for r in results)
    assert names == sorted(_declared_tests())
    assert len(names) == EXPECTED_TESTS
    verbose = subprocess.run(
        [str(opa), "test", "-v", str(POLICIES)], capture_output=True, text=True, check=False
    )
    assert verbose.returncode == 0
    assert f"PASS: {EXPECTED_TESTS}/{EXPECTED_TESTS}" in verbose.stdout


def test_a_broken_policy_fails_its_tests(opa: Path, tmp_path: Path) -> None:
    """The tests can fail: the startswith bug of the widely copied example policy is caught."""
    broken = tmp_path / "policies"
    shutil.copytree(POLICIES, broken)
    decision = broken / "sovereign" / "mcp" / "decision.rego"
    source = decision.read_text()
    # Confinement by prefix only, and no check of '..' segments: the classic bug.
    source = source.replace("[\"contains a '.' or '..' segment\", dot_segment(path)],\n", "")
    source = source.replace('startswith(path, concat("", [root, "/"]))', "startswith(path, root)")
    assert source != decision.read_text()
    decision.write_text(source)
    result = _opa_test(opa, broken)
    assert result.returncode != 0
    failed = {r["name"] for r in json.loads(result.stdout) if r.get("fail") or r.get("error")}
    assert {"test_prefix_confusion_denied", "test_the_startswith_bug_class_is_closed"} <= failed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _request(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _active_policy(directory: Path) -> Path:
    """The role's layout of what OPA serves: the policies without their tests, CONFIG as data."""
    policy = directory / "policy"
    shutil.copytree(POLICIES, policy, ignore=shutil.ignore_patterns("*_test.rego"))
    data = policy / "sovereign" / "mcp_config" / "data.json"
    data.parent.mkdir(parents=True)
    data.write_text(json.dumps(CONFIG))
    return policy


@contextmanager
def _opa_run(opa: Path, policy: Path, *options: str, stderr: Any) -> Iterator[str]:
    """``opa run --server`` on a free loopback port with ``options``, until it answers /health."""
    port = _free_port()
    server = subprocess.Popen(
        [str(opa), "run", "--server", f"--addr=127.0.0.1:{port}", "--disable-telemetry",
         "--log-level=error", *options, str(policy)],
        stdout=subprocess.DEVNULL, stderr=stderr, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if _request(base + "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, "opa run exited"
            assert time.monotonic() < deadline, "opa run did not answer /health within 20 s"
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def opa_server(opa: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The role's server: policies, no tests, config as data, API authorization on."""
    policy = _active_policy(tmp_path_factory.mktemp("active"))
    with _opa_run(opa, policy, "--authorization=basic", stderr=subprocess.DEVNULL) as base:
        yield base


def _decide(base: str, client: str, server: str, tool: str, paths: list[str], **extra: Any) -> dict[str, Any]:
    request = {"client": client, "server": server, "tool": tool, "arguments": {"path": paths}, "paths": paths}
    request.update(path_errors=[], path_arguments=["path"] if paths else [])
    request.update(extra)
    status, answer = _request(base + DECISION, "POST", {"input": request})
    assert status == 200, answer
    result: dict[str, Any] = answer["result"]
    assert set(result) == {"allow", "reasons", "refusals"}
    assert isinstance(result["allow"], bool)
    assert result["reasons"] and all(isinstance(reason, str) for reason in result["reasons"])
    assert all(isinstance(refusal, str) for refusal in result["refusals"])
    assert bool(result["refusals"]) is not result["allow"], "a deny names its rules, an allow none"
    return result


def test_server_allows_a_listed_tool_inside_the_workspace(opa_server: str) -> None:
    result = _decide(opa_server, "alice", "filesystem", "read_text_file", ["/srv/workspace/a.txt"])
    assert result == {
        "allow": True,
        "reasons": ["tool read_text_file allowed for client alice on server filesystem"],
        "refusals": [],
    }


def test_server_denies_a_tool_not_listed_for_the_client(opa_server: str) -> None:
    result = _decide(opa_server, "bob", "filesystem", "write_file", ["/srv/workspace/a.txt"])
    assert result == {
        "allow": False,
        "reasons": ["tool write_file not allowed for client bob on server filesystem"],
        "refusals": ["tool_not_allowed: tool write_file not allowed for client bob on server filesystem"],
    }


@pytest.mark.parametrize(
    "path",
    [
        "/srv/workspace/../etc/shadow",
        "/srv/workspace/%2e%2e/etc/shadow",
        "/srv/workspace-evil/x",
        "/etc/shadow",
        "/srv/workspace//a",
        "srv/workspace/a",
        "/srv/workspace/a\\..\\..\\etc",
    ],
)
def test_server_denies_paths_that_leave_the_workspace(opa_server: str, path: str) -> None:
    result = _decide(opa_server, "alice", "filesystem", "read_text_file", [path])
    assert result["allow"] is False
    # Reasons quote paths Go-style (%q), which for these ASCII paths is JSON's quoting; what the
    # client reads (refusals) names the rule only.
    assert any(json.dumps(path) in reason for reason in result["reasons"]), result
    assert not any("/srv" in refusal or path in refusal for refusal in result["refusals"]), result


def test_server_denies_a_path_tool_called_without_a_path(opa_server: str) -> None:
    result = _decide(opa_server, "alice", "filesystem", "read_text_file", [], path_arguments=["path"])
    assert result["allow"] is False
    assert result["refusals"] == [
        "path_missing: tool read_text_file takes a path (path) and the call names none"
    ]


def test_server_answers_the_tools_a_client_may_see(opa_server: str) -> None:
    tools = [
        {"server": "filesystem", "tool": "read_text_file"},
        {"server": "filesystem", "tool": "write_file"},
        {"server": "git", "tool": "git_log"},
        {"server": "git", "tool": "bash"},
    ]
    status, answer = _request(
        opa_server + VISIBLE_TOOLS, "POST", {"input": {"client": "bob", "tools": tools}}
    )
    assert status == 200
    assert answer["result"] == [{"server": "filesystem", "tool": "read_text_file"}]
    status, answer = _request(
        opa_server + VISIBLE_TOOLS, "POST", {"input": {"client": "alice", "tools": tools}}
    )
    assert answer["result"] == tools[:3], "a shell-like tool behind '*' stays hidden"


def test_server_denies_shell_tools_behind_a_wildcard_and_path_errors(opa_server: str) -> None:
    assert _decide(opa_server, "alice", "git", "git_log", [])["allow"] is True
    assert _decide(opa_server, "alice", "git", "bash", [])["allow"] is False
    errors = _decide(opa_server, "alice", "filesystem", "read_text_file", [], path_errors=["path: relative"])
    assert errors["allow"] is False


def test_server_denies_a_malformed_input(opa_server: str) -> None:
    status, answer = _request(opa_server + DECISION, "POST", {"input": "not an object"})
    assert status == 200
    assert answer["result"]["allow"] is False


def test_server_api_answers_only_the_decision_and_health(opa_server: str) -> None:
    """--authorization=basic with the collection's system.authz: no reading data, no policy swap."""
    assert _request(opa_server + "/v1/data/sovereign/mcp_config")[0] == 401
    assert _request(opa_server + "/v1/policies")[0] == 401
    assert _request(opa_server + "/v1/policies/evil", "PUT", {"module": "package sovereign.mcp"})[0] == 401
    assert (
        _decide(opa_server, "bob", "filesystem", "read_text_file", ["/srv/workspace/a.txt"])["allow"] is True
    )


def test_decision_log_erases_the_tool_arguments(opa: Path, tmp_path: Path) -> None:
    """The role's console decision log, with the collection's policies: a written file's content
    sent as an argument never reaches the log; client, tool, paths and result do."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"decision_logs": {"console": True}}))
    log_path = tmp_path / "decisions.log"
    marker = "content-that-must-not-be-logged"
    with log_path.open("wb") as log, _opa_run(
        opa, _active_policy(tmp_path), f"--config-file={config}", "--log-format=json", stderr=log
    ) as base:
        result = _decide(
            base, "alice", "filesystem", "write_file", ["/srv/workspace/a.txt"],
            arguments={"path": "/srv/workspace/a.txt", "content": marker},
        )  # fmt: skip
        assert result["allow"] is True
    text = log_path.read_text()
    events = [json.loads(line) for line in text.splitlines() if '"decision_id"' in line]
    assert len(events) == 1, text
    assert marker not in text
    assert events[0]["erased"] == ["/input/arguments"]
    assert "arguments" not in events[0]["input"]
    assert events[0]["input"]["paths"] == ["/srv/workspace/a.txt"]
    assert events[0]["input"]["tool"] == "write_file"
    assert events[0]["result"]["allow"] is True
