# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""An adversarial corpus, generated here, against the gateway in front of the real servers.

The downstream filesystem server itself is allowed the whole test directory (workspace AND the
secret next to it), so only the gateway and the policy stand between these calls and the secret.
Every case is its own test: a denied call says "denied by policy", leaks nothing, reaches no
downstream server and leaves no file behind; a legitimate call (some are mixed in) returns the
real content. At the end, the count of escapes is asserted to be 0.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from gateway_client import call, text_of
from gateway_fixtures import SECRET_MARKER, TOKENS, WORKSPACE_TEXT, Layout, RunningGateway

pytestmark = pytest.mark.anyio

WS = "{ws}"  # replaced by the real workspace path when a case runs
BASE = "{base}"


@dataclass(frozen=True)
class Case:
    """One adversarial (or legitimate) tools/call."""

    id: str
    tool: str
    arguments: dict[str, Any]
    client: str = "alice"
    allowed: bool = False
    must_not_exist: tuple[str, ...] = ()
    expect_text: str | None = None
    must_exist: tuple[str, ...] = field(default_factory=tuple)


def _encodings(path: str) -> dict[str, str]:
    """The same traversal spelled many ways."""
    return {
        "plain": path,
        "enc-dots": path.replace("..", "%2e%2e"),
        "enc-dots-upper": path.replace("..", "%2E%2E"),
        "enc-dots-mixed": path.replace("..", "%2e%2E"),
        "enc-slash": path.replace("../", "..%2f"),
        "enc-slash-upper": path.replace("../", "..%2F"),
        "enc-all": path.replace("../", "%2e%2e%2f"),
        "double-enc": path.replace("..", "%252e%252e"),
        "double-enc-slash": path.replace("../", "%252e%252e%252f"),
        "triple-enc": path.replace("..", "%25252e%25252e"),
        "slashes": path.replace("/", "//"),
        "dot-segments": path.replace("../", "./.././"),
        "dot-after-dotdot": path.replace("../", ".././"),
        "half-enc-dot": path.replace("..", ".%2e"),
    }


def _traversals() -> dict[str, str]:
    """Paths that start in the workspace and climb out to the secret or to /etc."""
    targets = {
        "secret-key": f"{WS}/../secret/key.txt",
        "secret-key-deep": f"{WS}/sub/../../secret/key.txt",
        "etc-passwd": f"{WS}/../../../../../../../../etc/passwd",
        "etc-hostname": f"{WS}/sub/../../../../../../../etc/hostname",
    }
    return {f"{t}-{e}": v for t, path in targets.items() for e, v in _encodings(path).items()}


SYMLINKS_OUT = {
    "link-key": f"{WS}/link_key",
    "link-out-key": f"{WS}/link_out/key.txt",
    "link-up-secret": f"{WS}/link_up/secret/key.txt",
    "sub-link-escape": f"{WS}/sub/link_escape/key.txt",
    "link-out-enc": f"{WS}/link%5fout/key.txt",
    "link-key-enc": f"{WS}/%6cink_key",
    "link-key-slashes": f"{WS}//link_key",
    "link-out-dot": f"{WS}/./link_out/./key.txt",
    "link-out-dotdot-back": f"{WS}/sub/../link_out/key.txt",
    "link-up-double-enc": f"{WS}/link_up/secret%252fkey.txt",
}

MALFORMED_PATHS: dict[str, Any] = {
    "relative": "a.txt",
    "relative-up": "../secret/key.txt",
    "dot-relative": "./a.txt",
    "home": "~/secret",
    "file-uri": "file://" + f"{BASE}/secret/key.txt",
    "nul": f"{WS}/a.txt\x00/../../secret/key.txt",
    "nul-enc": f"{WS}/a.txt%00",
    "nul-double-enc": f"{WS}/a.txt%2500",
    "bad-utf8": f"{WS}/%ff%fe",
    "deep-enc": f"{WS}/%2525252525252e%2525252525252e/secret",
    "too-long": f"{WS}/" + "x" * 5000,
    "integer": 7,
    "null": None,
    "object": {"path": f"{WS}/a.txt"},
    "list-in-path": [f"{WS}/../secret/key.txt"],
    "bool": True,
    "empty": "",
}

MIXED_CASE = {
    "upper-workspace": "UPPER_WS",
    "upper-secret-via-workspace": f"{WS}/../SECRET/../secret/key.txt",
    "upper-secret": f"{BASE}/SECRET/KEY.TXT",
    "enc-upper-secret": f"{BASE}/%53ECRET/key.txt",
    "mixed-enc-workspace": "MIXED_ENC_WS",
}


def _cases() -> list[Case]:
    cases: list[Case] = []
    for name, path in {**_traversals(), **SYMLINKS_OUT}.items():
        cases.append(Case(f"read-{name}", "filesystem__read_text_file", {"path": path}))
    for name, path in list(_traversals().items())[::3] + list(SYMLINKS_OUT.items())[::2]:
        cases.append(Case(f"info-{name}", "filesystem__get_file_info", {"path": path}))
    for name, path in _encodings(f"{WS}/../secret").items():
        cases.append(Case(f"list-secret-dir-{name}", "filesystem__list_directory", {"path": path}))
    cases.append(Case("list-link-out", "filesystem__list_directory", {"path": f"{WS}/link_out"}))
    for index, (name, path) in enumerate(_encodings(f"{WS}/../secret/planted-{{n}}.txt").items()):
        target = path.replace("{n}", str(index))
        cases.append(
            Case(
                f"write-out-{name}",
                "filesystem__write_file",
                {"path": target, "content": "planted"},
                must_not_exist=(f"{BASE}/secret/planted-{index}.txt",),
            )
        )
    cases.append(
        Case(
            "write-through-symlink",
            "filesystem__write_file",
            {"path": f"{WS}/link_out/planted-link.txt", "content": "planted"},
            must_not_exist=(f"{BASE}/secret/planted-link.txt",),
        )
    )
    cases.append(
        Case(
            "write-through-dangling-symlink-dir",
            "filesystem__write_file",
            {"path": f"{WS}/sub/link_escape/planted-sub.txt", "content": "planted"},
            must_not_exist=(f"{BASE}/secret/planted-sub.txt",),
        )
    )
    for name, path in _encodings(f"{WS}/../secret/moved.txt").items():
        cases.append(
            Case(
                f"move-out-{name}",
                "filesystem__move_file",
                {"source": f"{WS}/sub/b.txt", "destination": path},
                must_not_exist=(f"{BASE}/secret/moved.txt",),
                must_exist=(f"{WS}/sub/b.txt",),
            )
        )
    cases.append(
        Case(
            "move-workspace-root",
            "filesystem__move_file",
            {"source": WS, "destination": f"{WS}/sub/root-moved"},
            must_exist=(f"{WS}/a.txt",),
        )
    )
    cases.append(
        Case(
            "move-secret-in",
            "filesystem__move_file",
            {"source": f"{WS}/link_key", "destination": f"{WS}/stolen.txt"},
            must_not_exist=(f"{WS}/stolen.txt",),
        )
    )
    for name, value in MALFORMED_PATHS.items():
        cases.append(Case(f"malformed-{name}", "filesystem__read_text_file", {"path": value}))
    for name, path in MIXED_CASE.items():
        cases.append(Case(f"case-{name}", "filesystem__read_text_file", {"path": path}))
    cases.append(
        Case(
            "multi-one-bad",
            "filesystem__read_multiple_files",
            {"paths": [f"{WS}/a.txt", f"{WS}/../secret/key.txt"]},
        )
    )
    cases.append(
        Case("multi-symlink", "filesystem__read_multiple_files", {"paths": [f"{WS}/a.txt", f"{WS}/link_key"]})
    )
    cases.append(Case("multi-not-list", "filesystem__read_multiple_files", {"paths": [f"{WS}/a.txt", 3]}))
    for tool in (
        "filesystem__delete_file",
        "filesystem__run_command",
        "filesystem__exec",
        "nosuch__read_text_file",
        "read_text_file",
        "filesystem____read_text_file",
        "filesystem__",
        "__read_text_file",
        "filesystem__READ_TEXT_FILE",
        "FILESYSTEM__read_text_file",
        "filesystem__read_text_file ",
        "git__run_shell",
        "filesystem/read_text_file",
        "filesystem.read_text_file",
        "",
    ):
        cases.append(Case(f"unknown-tool-{tool or 'empty'}", tool, {"path": f"{WS}/a.txt"}))
    not_listed: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
        ("bob", "filesystem__write_file", {"path": f"{WS}/bob.txt", "content": "x"}, (f"{WS}/bob.txt",)),
        ("bob", "filesystem__list_directory", {"path": WS}, ()),
        ("bob", "filesystem__get_file_info", {"path": f"{WS}/a.txt"}, ()),
        ("bob", "git__git_status", {"repo_path": f"{WS}/repo"}, ()),
        ("alice", "filesystem__edit_file", {"path": f"{WS}/a.txt", "edits": [], "dryRun": True}, ()),
        ("alice", "filesystem__create_directory", {"path": f"{WS}/newdir"}, (f"{WS}/newdir",)),
        ("alice", "filesystem__search_files", {"path": WS, "pattern": "*"}, ()),
        ("alice", "filesystem__directory_tree", {"path": WS}, ()),
        ("alice", "filesystem__read_media_file", {"path": f"{WS}/a.txt"}, ()),
        ("alice", "filesystem__list_allowed_directories", {}, ()),
    ]
    for client, tool, arguments, absent in not_listed:
        cases.append(
            Case(f"not-listed-{client}-{tool}", tool, arguments, client=client, must_not_exist=absent)
        )
    for name, path in _encodings(f"{WS}/../outside_repo").items():
        cases.append(Case(f"git-out-{name}", "git__git_log", {"repo_path": path}))
    cases.append(
        Case("git-show-out", "git__git_show", {"repo_path": f"{BASE}/outside_repo", "revision": "HEAD"})
    )
    cases.append(Case("git-relative", "git__git_status", {"repo_path": "repo"}))

    legitimate = {
        "plain": f"{WS}/a.txt",
        "slashes": f"{WS}//a.txt",
        "dot": f"{WS}/./a.txt",
        "up-and-back": f"{WS}/sub/../a.txt",
        "encoded-name": f"{WS}/%61.txt",
        "double-encoded-name": f"{WS}/%2561.txt",
        "symlink-inside": f"{WS}/link_in",
        "encoded-slash": f"{WS}%2fa.txt",
    }
    for name, path in legitimate.items():
        cases.append(
            Case(
                f"legit-read-{name}",
                "filesystem__read_text_file",
                {"path": path},
                allowed=True,
                expect_text=WORKSPACE_TEXT,
            )
        )
    cases.append(
        Case(
            "legit-bob-read",
            "filesystem__read_text_file",
            {"path": f"{WS}/a.txt"},
            client="bob",
            allowed=True,
            expect_text=WORKSPACE_TEXT,
        )
    )
    cases.append(
        Case("legit-list", "filesystem__list_directory", {"path": WS}, allowed=True, expect_text="a.txt")
    )
    cases.append(
        Case("legit-git", "git__git_status", {"repo_path": f"{WS}/repo"}, allowed=True, expect_text="master")
    )
    return cases


CASES = _cases()
ESCAPES: list[str] = []
RAN: list[str] = []


def _fill(value: Any, layout: Layout) -> Any:
    if isinstance(value, str):
        if value == "UPPER_WS":
            return str(layout.workspace).upper() + "/a.txt"
        if value == "MIXED_ENC_WS":
            return str(layout.workspace).replace("/workspace", "/%57orkspace") + "/a.txt"
        return value.replace(WS, str(layout.workspace)).replace(BASE, str(layout.base))
    if isinstance(value, list):
        return [_fill(item, layout) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, layout) for key, item in value.items()}
    return value


def test_corpus_is_large_enough() -> None:
    denied = [case for case in CASES if not case.allowed]
    assert len(denied) >= 200, len(denied)
    assert len({case.id for case in CASES}) == len(CASES)


async def check_case(case: Case, gateway: RunningGateway, layout: Layout, escapes: list[str]) -> None:
    """Run one case and assert its outcome; a denied case that got anywhere is recorded in ``escapes``."""
    before = len(gateway.downstream_calls())
    result = await call(gateway.url, TOKENS[case.client], case.tool, _fill(case.arguments, layout))
    text = text_of(result)
    reached = len(gateway.downstream_calls()) - before
    leaked = SECRET_MARKER in text or any(os.path.exists(_fill(path, layout)) for path in case.must_not_exist)
    if case.allowed:
        assert result.is_error is False, text
        assert case.expect_text is not None and case.expect_text in text
        assert reached == 1
        return
    if not result.is_error or reached or leaked:
        escapes.append(case.id)
    assert result.is_error is True, text
    assert text.startswith("denied by policy"), text
    assert reached == 0, "a denied call reached the downstream server"
    assert not leaked, text
    for path in case.must_exist:
        assert os.path.exists(_fill(path, layout))


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_case(case: Case, gateway: RunningGateway, layout: Layout) -> None:
    RAN.append(case.id)
    await check_case(case, gateway, layout, ESCAPES)


OVERSIZED = [70_000, 100_000, 1_000_000, 5_000_000]


@pytest.mark.parametrize("size", OVERSIZED)
@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_oversized_payload(size: int, declared: bool, gateway: RunningGateway, layout: Layout) -> None:
    target = layout.workspace / f"huge-{size}-{declared}.txt"
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 9,
            "method": "tools/call",
            "params": {
                "name": "filesystem__write_file",
                "arguments": {"path": str(target), "content": "y" * size},
            },
        }
    ).encode()
    headers = {
        "accept": "application/json, text/event-stream",
        "content-type": "application/json",
        "authorization": f"Bearer {TOKENS['alice']}",
    }

    async def chunks() -> Any:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    async with httpx2.AsyncClient(trust_env=False) as http:
        response = await http.post(gateway.url, headers=headers, content=body if declared else chunks())
    assert response.status_code == 413
    assert not target.exists()


BAD_AUTH = {
    "none": None,
    "bare-scheme": "bearer",
    "wrong": "Bearer not-the-token",
    "basic": f"Basic {TOKENS['alice']}",
    "no-scheme": TOKENS["alice"],
    "token-upper": f"Bearer {TOKENS['alice'].upper()}",
    "token-prefix": f"Bearer {TOKENS['alice'][:-1]}",
    "token-suffix": f"Bearer {TOKENS['alice']}x",
    "digest-as-token": "Bearer " + hashlib.sha256(TOKENS["alice"].encode()).hexdigest(),
    "two-tokens": f"Bearer {TOKENS['bob']} {TOKENS['alice']}",
}


@pytest.mark.parametrize("method", ["initialize", "tools/call"])
@pytest.mark.parametrize("authorization", list(BAD_AUTH.values()), ids=list(BAD_AUTH))
async def test_bad_token(
    method: str, authorization: str | None, gateway: RunningGateway, layout: Layout
) -> None:
    audited = len(gateway.audit_lines())
    params: dict[str, Any] = (
        {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}
        if method == "initialize"
        else {"name": "filesystem__read_text_file", "arguments": {"path": f"{layout.workspace}/a.txt"}}
    )
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    async with httpx2.AsyncClient(trust_env=False) as http:
        response = await http.post(
            gateway.url, headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        )
    assert response.status_code == 401
    assert WORKSPACE_TEXT not in response.text
    assert len(gateway.audit_lines()) == audited


def test_zero_escapes() -> None:
    if not RAN:
        pytest.skip("only meaningful after the corpus ran in the same session")
    assert ESCAPES == []
