# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Path normalisation: traversal, slashes, percent-encoding, symlinks, NUL, non-strings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sovereign_mcp_gateway.paths import (
    PathRejected,
    inside_roots,
    normalise_arguments,
    normalise_path,
    percent_decode,
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp/ws with a file, a symlink leading out, a relative symlink up, and tmp/out/secret."""
    root = Path(str(tmp_path.resolve()))
    (root / "ws" / "sub").mkdir(parents=True)
    (root / "out").mkdir()
    (root / "ws" / "a.txt").write_text("a")
    (root / "out" / "secret").write_text("s")
    (root / "ws" / "link_out").symlink_to(root / "out")
    (root / "ws" / "sub" / "up").symlink_to("../..")
    (root / "ws" / "dangling").symlink_to(root / "out" / "not-yet")
    return root


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/srv/ws/a.txt", "/srv/ws/a.txt"),
        ("/srv/ws/../../etc/shadow", "/etc/shadow"),
        ("/srv/ws/./a.txt", "/srv/ws/a.txt"),
        ("//srv///ws//a.txt", "/srv/ws/a.txt"),
        ("/srv/ws/a.txt/", "/srv/ws/a.txt"),
        ("/../../../etc/passwd", "/etc/passwd"),
        ("/srv/ws/%2e%2e/%2e%2e/etc/shadow", "/etc/shadow"),
        ("/srv/ws/%2E%2e/%2e%2E/etc/shadow", "/etc/shadow"),
        ("/srv/ws/%252e%252e/etc", "/srv/etc"),
        ("/srv/ws/%25252e%25252e/etc", "/srv/etc"),
        ("%2fsrv%2fws%2f..%2f..%2fetc", "/etc"),
        ("/srv/ws/..%2f..%2fetc", "/etc"),
        ("/srv/ws/a%20b.txt", "/srv/ws/a b.txt"),
        ("/SRV/WS/../Etc", "/SRV/Etc"),
    ],
)
def test_lexical_normalisation(raw: str, expected: str) -> None:
    assert normalise_path(raw) == expected


def test_percent_decoding_is_bounded() -> None:
    value = "/x/%2e"
    for _layer in range(6):
        value = value.replace("%", "%25")
    with pytest.raises(PathRejected, match="percent-encoded more than"):
        normalise_path(value)
    assert percent_decode("/x/%25252e") == "/x/."


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("relative/a.txt", "not an absolute path"),
        ("./a.txt", "not an absolute path"),
        ("../etc/passwd", "not an absolute path"),
        ("~/.ssh/id_rsa", "not an absolute path"),
        ("", "not an absolute path"),
        ("file:///etc/passwd", "not an absolute path"),
        ("%2e%2e/etc", "not an absolute path"),
        ("/srv/ws/a\x00.txt", "NUL"),
        ("/srv/ws/a%00.txt", "NUL"),
        ("/srv/ws/a%2500.txt", "NUL"),
        ("/srv/ws/%ff%fe", "not UTF-8"),
        ("/" + "a" * 5000, "longer than"),
    ],
)
def test_rejected_strings(raw: str, reason: str) -> None:
    with pytest.raises(PathRejected, match=reason) as caught:
        normalise_path(raw)
    if len(raw) > 3:
        assert raw not in str(caught.value), "error messages must not echo the value"


@pytest.mark.parametrize("value", [None, 3, 1.5, True, ["/a"], {"p": "/a"}])
def test_non_strings_are_rejected(value: object) -> None:
    with pytest.raises(PathRejected, match="not a string"):
        normalise_path(value)


def test_symlink_leading_out_is_resolved(tree: Path) -> None:
    assert normalise_path(f"{tree}/ws/link_out/secret") == f"{tree}/out/secret"
    assert normalise_path(f"{tree}/ws/sub/up/out/secret") == f"{tree}/out/secret"


def test_symlink_then_dotdot_follows_the_kernel(tree: Path) -> None:
    # The kernel resolves link_out first, then '..': the parent of out, not of the link.
    assert normalise_path(f"{tree}/ws/link_out/../ws/a.txt") == f"{tree}/ws/a.txt"
    assert normalise_path(f"{tree}/ws/link_out/..") == str(tree)


def test_missing_tail_keeps_the_resolved_parent(tree: Path) -> None:
    assert normalise_path(f"{tree}/ws/link_out/new/deeper.txt") == f"{tree}/out/new/deeper.txt"
    assert normalise_path(f"{tree}/ws/new.txt") == f"{tree}/ws/new.txt"
    assert normalise_path(f"{tree}/ws/dangling") == f"{tree}/out/not-yet"


def test_arguments_are_normalised_and_errors_collected(tree: Path) -> None:
    result = normalise_arguments(
        {
            "path": f"{tree}/ws/link_out/secret",
            "paths": [f"{tree}/ws//a.txt", "relative"],
            "source": 7,
            "content": "/not/a/path/argument",
        },
        ["path", "paths", "source", "destination"],
    )
    assert result.paths == [f"{tree}/out/secret", f"{tree}/ws/a.txt"]
    assert result.path_errors == [
        "argument paths[1] [path_not_absolute] is not an absolute path",
        "argument source [path_not_string] is not a string (got int)",
    ]
    assert result.arguments["path"] == f"{tree}/out/secret"
    assert result.arguments["content"] == "/not/a/path/argument"
    assert result.arguments["paths"] == [f"{tree}/ws//a.txt", "relative"], (
        "a list with errors is left as sent"
    )


def test_inside_roots() -> None:
    roots = ("/srv/workspace",)
    assert inside_roots("/srv/workspace", roots)
    assert inside_roots("/srv/workspace/a", roots)
    assert not inside_roots("/srv/workspace2/a", roots)
    assert not inside_roots("/srv/workspace-evil", roots)
    assert not inside_roots("/srv", roots)
