# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Module confined_delete in-process on real files: what lies inside the root goes, nothing else does."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sovereign.stack.plugins.modules import confined_delete


def run(capsys: pytest.CaptureFixture[str], check_mode: bool = False, **args: Any) -> dict[str, Any]:
    """Run the module with ``args`` and return its JSON result."""
    with patch_module_args({**args, "_ansible_check_mode": check_mode}), pytest.raises(SystemExit):
        confined_delete.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    """A models folder with a GGUF, a safetensors folder, and a secret outside it."""
    root = tmp_path / "models"
    (root / "Qwen--Qwen3-8B").mkdir(parents=True)
    gguf = root / "Qwen--Qwen3-8B" / "Qwen--Qwen3-8B-Q4_K_M.gguf"
    gguf.write_bytes(b"weights")
    folder = root / "Qwen--Qwen3-8B" / "FP8"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    outside = tmp_path / "etc"
    outside.mkdir()
    secret = outside / "shadow"
    secret.write_text("secret")
    return {"root": root, "gguf": gguf, "folder": folder, "outside": outside, "secret": secret}


def test_files_and_folders_inside_are_deleted(
    capsys: pytest.CaptureFixture[str], tree: dict[str, Path]
) -> None:
    result = run(capsys, root=str(tree["root"]), paths=[str(tree["gguf"]), str(tree["folder"])])
    assert result["changed"] is True
    assert result["removed"] == [str(tree["gguf"]), str(tree["folder"])]
    assert not tree["gguf"].exists() and not tree["folder"].exists()
    assert tree["root"].is_dir()


def test_absent_paths_are_reported_not_errors(
    capsys: pytest.CaptureFixture[str], tree: dict[str, Path]
) -> None:
    missing = str(tree["root"] / "gone" / "x.gguf")
    result = run(capsys, root=str(tree["root"]), paths=[missing])
    assert (result["changed"], result["removed"], result["absent"]) == (False, [], [missing])


def test_check_mode_deletes_nothing(capsys: pytest.CaptureFixture[str], tree: dict[str, Path]) -> None:
    result = run(capsys, check_mode=True, root=str(tree["root"]), paths=[str(tree["gguf"])])
    assert result["changed"] is True and result["removed"] == [str(tree["gguf"])]
    assert tree["gguf"].exists()


def refused(capsys: pytest.CaptureFixture[str], tree: dict[str, Path], *paths: str) -> dict[str, Any]:
    result = run(capsys, root=str(tree["root"]), paths=[str(tree["gguf"]), *paths])
    assert result["failed"] is True
    assert result["removed"] == []
    # All or nothing: the good path beside the refused one is kept too.
    assert tree["gguf"].exists() and tree["secret"].read_text() == "secret"
    return result


@pytest.mark.parametrize(
    ("path", "because"),
    [
        pytest.param("/etc", "lies outside", id="etc"),
        pytest.param("", "is empty", id="empty"),
        pytest.param("   ", "is empty", id="blank"),
        pytest.param("models/x", "is relative", id="relative"),
        pytest.param("{root}/..", "not normalised", id="dot-dot-end"),
        pytest.param("{root}/../etc/shadow", "not normalised", id="dot-dot-traversal"),
        pytest.param("{root}/./x", "not normalised", id="dot"),
        pytest.param("{root}/x/", "not normalised", id="trailing-slash"),
        pytest.param("{root}", "the folder", id="the-root-itself"),
        pytest.param("{root}-old/x", "lies outside", id="sibling-with-the-same-prefix"),
    ],
)
def test_paths_outside_or_malformed_are_refused(
    capsys: pytest.CaptureFixture[str], tree: dict[str, Path], path: str, because: str
) -> None:
    result = refused(capsys, tree, path.format(root=tree["root"]))
    assert because in result["msg"], result["msg"]
    assert "Refusing to delete anything" in result["msg"]


def test_a_symlink_pointing_out_is_refused(capsys: pytest.CaptureFixture[str], tree: dict[str, Path]) -> None:
    link = tree["root"] / "evil"
    link.symlink_to(tree["outside"])
    result = refused(capsys, tree, str(link))
    assert f"{link} is a symbolic link (to {tree['outside']})" in result["msg"]
    assert tree["outside"].is_dir()


def test_a_symlinked_folder_on_the_way_is_refused(
    capsys: pytest.CaptureFixture[str], tree: dict[str, Path]
) -> None:
    (tree["root"] / "evil").symlink_to(tree["outside"])
    result = refused(capsys, tree, str(tree["root"] / "evil" / "shadow"))
    assert "is a symbolic link" in result["msg"]


def test_a_symlink_pointing_inside_is_refused_too(
    capsys: pytest.CaptureFixture[str], tree: dict[str, Path]
) -> None:
    link = tree["root"] / "alias"
    link.symlink_to(tree["folder"])
    refused(capsys, tree, str(link))
    assert tree["folder"].is_dir()


def test_a_root_that_is_a_link_is_followed(capsys: pytest.CaptureFixture[str], tree: dict[str, Path]) -> None:
    alias = tree["root"].parent / "models-link"
    alias.symlink_to(tree["root"])
    result = run(capsys, root=str(alias), paths=[str(alias / tree["gguf"].relative_to(tree["root"]))])
    assert result["changed"] is True and not tree["gguf"].exists()


def test_a_hard_link_goes_as_a_name_and_the_outside_file_stays(
    capsys: pytest.CaptureFixture[str], tree: dict[str, Path]
) -> None:
    linked = tree["root"] / "hard.gguf"
    os.link(tree["secret"], linked)
    result = run(capsys, root=str(tree["root"]), paths=[str(linked)])
    assert result["removed"] == [str(linked)]
    assert tree["secret"].read_text() == "secret"


def test_a_link_inside_a_deleted_folder_is_removed_not_followed(
    capsys: pytest.CaptureFixture[str], tree: dict[str, Path]
) -> None:
    (tree["folder"] / "escape").symlink_to(tree["outside"])
    result = run(capsys, root=str(tree["root"]), paths=[str(tree["folder"])])
    assert result["removed"] == [str(tree["folder"])]
    assert tree["secret"].read_text() == "secret"


@pytest.mark.parametrize(
    "root", ["/", "/etc", "/var/lib", "/usr", "/opt", "/home", "relative", "/srv/../etc"]
)
def test_the_root_must_be_a_folder_of_its_own(capsys: pytest.CaptureFixture[str], root: str) -> None:
    result = run(capsys, root=root, paths=[f"{root}/x"])
    assert result["failed"] is True and f"root {root!r} is not valid" in result["msg"], result["msg"]
