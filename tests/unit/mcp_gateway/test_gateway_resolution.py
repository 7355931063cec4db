# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The gateway's notion of "the file this call touches" (paths.py): spellings refused, the lstat
walk from the root, Unicode twins, hard links and moved trees; and a property test that whatever
it accepts is inside the workspace and is what the kernel resolves."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sovereign_mcp_gateway.paths import (
    MAX_SYMLINKS,
    PathRejected,
    check_spelling,
    first_link_in_tree,
    inside_roots,
    normalise_arguments,
    resolve_path,
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """base/ws (the root) with links of every kind, and base/out beside it."""
    base = Path(os.path.realpath(tmp_path_factory.mktemp("resolution")))
    ws, out = base / "ws", base / "out"
    (ws / "sub" / "deep").mkdir(parents=True)
    out.mkdir()
    (ws / "a.txt").write_text("a")
    (out / "secret").write_text("s")
    (ws / "caf\u00e9").mkdir()
    (ws / "na\u0131ve").mkdir()  # dotless i: NFC and NFKC leave it alone
    (ws / "nfd-e\u0301").symlink_to(out)
    (ws / "link_out").symlink_to(out)
    (ws / "link_in").symlink_to("a.txt")
    (ws / "abs_in").symlink_to(ws / "a.txt")
    (ws / "out_and_back").symlink_to("../ws/a.txt")
    (ws / "sub" / "up").symlink_to("..")
    (ws / "sub" / "up2").symlink_to("../..")
    (ws / "loop").symlink_to("loop")
    os.link(out / "secret", ws / "hard")
    return base


def roots(tree: Path) -> tuple[str, ...]:
    return (str(tree / "ws"),)


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("/ws/cafe\u0301", "path_unicode_form"),
        ("/ws/\uff41", "path_unicode_form"),
        ("/ws/\ufb01le", "path_unicode_form"),
        ("/ws/x\u00b2", "path_unicode_form"),
        ("/ws/\u00a0x", "path_unicode_form"),
        ("/ws/\u2025", "path_lookalike"),
        ("/ws/\u2024\u2024", "path_lookalike"),
        ("/ws/\uff0e\uff0e", "path_lookalike"),
        ("/ws/..\u2215etc", "path_lookalike"),
        ("/ws/..\u2044etc", "path_lookalike"),
        ("/ws/..\u0338etc", "path_lookalike"),
        ("/ws/..\u29f8etc", "path_lookalike"),
        ("/ws/..\u2571etc", "path_lookalike"),
        ("/ws/\u3002\u3002", "path_lookalike"),
        ("/ws/a\\b", "path_lookalike"),
        ("/ws/a\nb", "path_control_character"),
        ("/ws/a\x7f", "path_control_character"),
        ("/ws/a\x85b", "path_control_character"),
        ("/ws/\u202etxt", "path_control_character"),
        ("/ws/a\u200d", "path_control_character"),
        ("/ws/a\u2029b", "path_control_character"),
        ("/ws/\ue000", "path_control_character"),
        ("/ws/x ", "path_surrounding_space"),
        ("/ws/x\u2029", "path_surrounding_space"),
        ("/ws/" + "x" * 256, "path_name_too_long"),
        ("/ws/" + "\u00e9" * 128, "path_name_too_long"),
        ("/ws/" + "/".join(["y" * 200] * 21), "path_too_long"),
        ("ws/a", "path_not_absolute"),
        ("/ws/a\x00", "path_nul"),
    ],
)
def test_spellings_other_servers_could_read_otherwise_are_refused(path: str, rule: str) -> None:
    with pytest.raises(PathRejected) as refused:
        check_spelling(path)
    assert refused.value.rule == rule
    assert path.strip() not in str(refused.value), "a refusal never repeats the value"


@pytest.mark.parametrize(
    "path",
    [
        "/ws/caf\u00e9.txt",
        "/ws/\u65e5\u672c\u8a9e.md",
        "/ws/na\u0131ve",
        "/ws/\u00fcber/a b.txt",
        "/ws/" + "x" * 255,
    ],
)
def test_ordinary_names_pass(path: str) -> None:
    check_spelling(path)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("/ws/%c0%ae%c0%ae/etc", "path_encoding"),
        ("/ws/%e2%80%a5/etc", "path_lookalike"),
        ("/ws/cafe%cc%81", "path_unicode_form"),
        ("/ws/a%0ab", "path_control_character"),
        ("/ws/%ef%bc%8e%ef%bc%8e/etc", "path_lookalike"),
    ],
)
def test_percent_encoded_spellings_are_checked_after_decoding(value: str, rule: str) -> None:
    with pytest.raises(PathRejected) as refused:
        resolve_path(value)
    assert refused.value.rule == rule


def test_the_walk_resolves_links_that_stay_inside(tree: Path) -> None:
    ws = tree / "ws"
    assert resolve_path(f"{ws}/link_in", roots(tree)).path == f"{ws}/a.txt"
    assert resolve_path(f"{ws}/abs_in", roots(tree)).path == f"{ws}/a.txt"
    assert resolve_path(f"{ws}/sub/up/a.txt", roots(tree)).path == f"{ws}/a.txt"
    assert resolve_path(f"{ws}/sub/deep/../../a.txt", roots(tree)).path == f"{ws}/a.txt"
    missing = resolve_path(f"{ws}/sub/new/file.txt", roots(tree))
    assert (missing.path, missing.exists) == (f"{ws}/sub/new/file.txt", False)


@pytest.mark.parametrize(
    ("relative", "rule"),
    [
        ("link_out/secret", "path_outside_workspace"),
        ("out_and_back", "path_leaves_workspace"),
        ("sub/up2/ws/a.txt", "path_leaves_workspace"),
        ("../ws/a.txt", "path_leaves_workspace"),
        ("nfd-e\u0301/secret", "path_unicode_form"),
        ("nfd-\u00e9/secret", "path_unicode_twin"),
        ("loop", "path_symlink_loop"),
        ("a.txt/x", "path_not_directory"),
        ("a.txt/..", "path_not_directory"),
        ("hard", "path_hard_link"),
    ],
)
def test_the_walk_refuses(tree: Path, relative: str, rule: str) -> None:
    result = normalise_arguments({"path": f"{tree}/ws/{relative}"}, ["path"], roots(tree))
    assert len(result.path_errors) == 1, result
    assert f"[{rule}]" in result.path_errors[0]
    assert str(tree) not in result.path_errors[0], "what the client reads names no path"
    assert str(tree) in result.details[0] or rule in ("path_unicode_form", "path_symlink_loop")


def test_a_path_starting_outside_may_lead_in(tree: Path) -> None:
    # /proc/self/root is '/': the walk is outside until it reaches the workspace, and stays in.
    assert resolve_path(f"/proc/self/root{tree}/ws/a.txt", roots(tree)).path == f"{tree}/ws/a.txt"
    with pytest.raises(PathRejected, match="outside the workspace roots") as refused:
        resolve_path(f"/proc/self/root{tree}/out/secret", roots(tree))
    assert "/proc/" not in str(refused.value)


def test_hard_links_are_allowed_when_the_server_allows_them(tree: Path) -> None:
    result = normalise_arguments({"path": f"{tree}/ws/hard"}, ["path"], roots(tree), allow_hard_links=True)
    assert result.path_errors == [] and result.resolved[0].links == 2


def test_symlink_limit_is_the_kernels(tree: Path) -> None:
    chain = tree / "ws" / "chain"
    chain.mkdir()
    (chain / "l0").write_text("end")
    for index in range(1, MAX_SYMLINKS + 2):
        (chain / f"l{index}").symlink_to(f"l{index - 1}")
    assert resolve_path(f"{chain}/l{MAX_SYMLINKS}", roots(tree)).path == f"{chain}/l0"
    with pytest.raises(PathRejected, match="more than 40 symlinks"):
        resolve_path(f"{chain}/l{MAX_SYMLINKS + 1}", roots(tree))


def test_first_link_in_tree(tmp_path: Path) -> None:
    (tmp_path / "t" / "a" / "b").mkdir(parents=True)
    (tmp_path / "t" / "a" / "f").write_text("f")
    assert first_link_in_tree(str(tmp_path / "t")) is None
    (tmp_path / "t" / "a" / "b" / "l").symlink_to("../../..")
    assert first_link_in_tree(str(tmp_path / "t")) == str(tmp_path / "t" / "a" / "b" / "l")


# The property: whatever the gateway accepts is inside the root, contains no symlink, and is what
# the kernel itself resolves the decoded path to (when it exists).
COMPONENTS = st.sampled_from(
    [".", "..", "", "a.txt", "sub", "deep", "up", "up2", "link_in", "abs_in", "link_out", "out_and_back",
     "nfd-e\u0301", "nfd-\u00e9", "caf\u00e9", "cafe\u0301", "\u2025", "\uff0e\uff0e", "hard", "loop",
     "%2e%2e", "%2f", "ws", "out", "secret", "x"]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(COMPONENTS, min_size=1, max_size=7))
def test_accepted_paths_are_inside_and_agree_with_the_kernel(tree: Path, parts: list[str]) -> None:
    value = f"{tree}/ws/" + "/".join(parts)
    result = normalise_arguments({"path": value}, ["path"], roots(tree))
    if result.path_errors:
        return
    (resolved,) = result.resolved
    assert inside_roots(resolved.path, roots(tree))
    assert resolved.links <= 1
    if resolved.exists:
        assert os.path.realpath(resolved.path) == resolved.path
        assert os.path.realpath(unquote(unquote(value))) == resolved.path
