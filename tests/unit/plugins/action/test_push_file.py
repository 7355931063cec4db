# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Action push_file end to end in-process: a fake connection whose put_file copies into a folder
standing for the host, and module file_chunk run for real on that folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sovereign.stack.plugins.action import push_file
from ansible_collections.sovereign.stack.plugins.action.push_file import ActionModule
from ansible_collections.sovereign.stack.plugins.modules import file_chunk
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.chunked_transfer import MIB

SIZE = 5 * MIB + 12345
CHUNK = MIB


class FakeHost:
    """The host: its temporary directory, every upload, and an optional upload that fails."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.tmpdir = root / "tmp"
        self.uploads: list[int] = []
        self.modules: list[str] = []
        self.fail_upload_number: int | None = None
        self.capsys = capsys

    def put_file(self, local: str, remote: str) -> None:
        if self.fail_upload_number == len(self.uploads) + 1:
            raise AnsibleConnectionFailure("connection lost (test)")
        self.uploads.append(os.path.getsize(local))
        shutil.copyfile(local, remote)

    def execute_module(self, module_name: str, module_args: dict[str, Any], task_vars: Any) -> dict[str, Any]:
        assert module_name == "sovereign.stack.file_chunk"
        self.modules.append(module_args["state"])
        args = {key: value for key, value in module_args.items() if value is not None}
        with patch_module_args({**args, "_ansible_check_mode": self.check_mode}), pytest.raises(SystemExit):
            file_chunk.main()
        result: dict[str, Any] = json.loads(self.capsys.readouterr().out)
        return result

    check_mode = False


@pytest.fixture
def host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> FakeHost:
    return FakeHost(tmp_path / "host", capsys)


@pytest.fixture
def source(tmp_path: Path) -> tuple[Path, bytes, str]:
    data = os.urandom(SIZE)
    path = tmp_path / "controller" / "model.gguf"
    path.parent.mkdir()
    path.write_bytes(data)
    return path, data, hashlib.sha256(data).hexdigest()


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr(push_file.display, "display", lines.append)
    return lines


def push(host: FakeHost, check_mode: bool = False, **args: Any) -> dict[str, Any]:
    """Run the action once, as Ansible would for one task on host ``gpu-1``."""
    task = MagicMock()
    task.args = {"chunk_size": CHUNK, **args}
    task.check_mode = check_mode
    task.async_val = 0
    connection = MagicMock()
    connection._shell.tmpdir = None
    connection._shell.join_path = os.path.join
    connection.put_file.side_effect = host.put_file
    action = ActionModule(task, connection, MagicMock(), MagicMock(), MagicMock(), MagicMock())
    host.check_mode = check_mode

    def make_tmp_path() -> str:
        host.tmpdir.mkdir(parents=True, exist_ok=True)
        connection._shell.tmpdir = str(host.tmpdir)
        return str(host.tmpdir)

    action._make_tmp_path = make_tmp_path
    action._remove_tmp_path = lambda path: shutil.rmtree(path) if path else None
    action._fixup_perms2 = MagicMock()
    action._find_needle = lambda dirname, needle: needle
    action._execute_module = host.execute_module
    result: dict[str, Any] = action.run(task_vars={"inventory_hostname": "gpu-1"})
    return result


def dest_of(tmp_path: Path) -> Path:
    return tmp_path / "host" / "models" / "qwen" / "model.gguf"


def test_first_push_sends_every_chunk_and_a_second_sends_nothing(
    host: FakeHost, source: tuple[Path, bytes, str], tmp_path: Path, said: list[str]
) -> None:
    src, data, sha = source
    dest = dest_of(tmp_path)

    first = push(host, src=str(src), dest=str(dest), sha256=sha, mode="0644")

    assert first == {"changed": True, "dest": str(dest), "sha256": sha, "bytes_sent": SIZE, "resumed_from": 0}
    assert dest.read_bytes() == data
    assert oct(dest.stat().st_mode & 0o777) == "0o644"
    assert host.uploads == [CHUNK] * 5 + [12345]
    assert host.modules == ["probe"] + ["append"] * 5 + ["commit"]
    assert said[0] == f"push_file [gpu-1] {dest}: sending 5.0 MiB"
    assert said[-1].startswith(f"push_file [gpu-1] {dest}: 5.0 MiB of 5.0 MiB (100 %), ")
    assert len(said) == 7
    assert not host.tmpdir.exists()
    assert not Path(f"{dest}.part").exists()

    host.uploads.clear()
    host.modules.clear()
    second = push(host, src=str(src), dest=str(dest), sha256=sha, mode="0644")
    assert second == {"changed": False, "dest": str(dest), "sha256": sha, "bytes_sent": 0, "resumed_from": 0}
    assert host.uploads == []
    assert host.modules == ["probe"]


def test_an_interrupted_push_resumes_after_the_chunks_that_arrived(
    host: FakeHost, source: tuple[Path, bytes, str], tmp_path: Path, said: list[str]
) -> None:
    src, data, sha = source
    dest = dest_of(tmp_path)
    host.fail_upload_number = 4

    with pytest.raises(AnsibleConnectionFailure):
        push(host, src=str(src), dest=str(dest), sha256=sha)
    assert Path(f"{dest}.part").read_bytes() == data[: 3 * CHUNK]
    assert not dest.exists()

    host.fail_upload_number = None
    host.uploads.clear()
    resumed = push(host, src=str(src), dest=str(dest), sha256=sha)
    assert (resumed["resumed_from"], resumed["bytes_sent"]) == (3 * CHUNK, SIZE - 3 * CHUNK)
    assert host.uploads == [CHUNK, CHUNK, 12345]
    assert dest.read_bytes() == data
    assert f"push_file [gpu-1] {dest}: resuming at 3.0 MiB of 5.0 MiB, sending 2.0 MiB" in said


def test_a_complete_partial_file_is_committed_without_sending(
    host: FakeHost, source: tuple[Path, bytes, str], tmp_path: Path, said: list[str]
) -> None:
    src, data, sha = source
    dest = dest_of(tmp_path)
    dest.parent.mkdir(parents=True)
    Path(f"{dest}.part").write_bytes(data)
    result = push(host, src=str(src), dest=str(dest), sha256=sha)
    assert (result["changed"], result["resumed_from"], result["bytes_sent"]) == (True, SIZE, 0)
    assert host.uploads == []
    assert dest.read_bytes() == data


def test_an_empty_file_is_created_and_then_left_alone(
    host: FakeHost, tmp_path: Path, said: list[str]
) -> None:
    src = tmp_path / "empty"
    src.write_bytes(b"")
    sha = hashlib.sha256(b"").hexdigest()
    dest = dest_of(tmp_path)
    first = push(host, src=str(src), dest=str(dest), sha256=sha)
    assert (first["changed"], first["bytes_sent"], first["sha256"]) == (True, 0, sha)
    assert dest.read_bytes() == b""
    second = push(host, src=str(src), dest=str(dest), sha256=sha)
    assert second["changed"] is False


def test_a_partial_file_with_a_corrupt_prefix_is_sent_again_from_zero(
    host: FakeHost, source: tuple[Path, bytes, str], tmp_path: Path, said: list[str]
) -> None:
    src, data, sha = source
    dest = dest_of(tmp_path)
    dest.parent.mkdir(parents=True)
    Path(f"{dest}.part").write_bytes(data[:100] + b"X" + data[101 : 2 * CHUNK])
    result = push(host, src=str(src), dest=str(dest), sha256=sha)
    assert (result["resumed_from"], result["bytes_sent"]) == (0, SIZE)
    assert dest.read_bytes() == data


def test_a_source_without_the_expected_hash_is_never_sent(
    host: FakeHost, source: tuple[Path, bytes, str], tmp_path: Path, said: list[str]
) -> None:
    src, _data, sha = source
    wrong = hashlib.sha256(b"another file").hexdigest()
    dest = dest_of(tmp_path)
    with pytest.raises(AnsibleActionFail) as failure:
        push(host, src=str(src), dest=str(dest), sha256=wrong)
    assert str(failure.value) == (
        f"src {src} has sha256 {sha} on the controller, but the sha256 option is {wrong}: "
        "nothing was sent; fix the file or the expected hash"
    )
    assert host.uploads == []
    assert not dest.parent.exists()


def test_check_mode_reports_the_change_and_sends_nothing(
    host: FakeHost, source: tuple[Path, bytes, str], tmp_path: Path, said: list[str]
) -> None:
    src, data, sha = source
    dest = dest_of(tmp_path)
    dest.parent.mkdir(parents=True)
    Path(f"{dest}.part").write_bytes(data[: 2 * CHUNK])
    result = push(host, check_mode=True, src=str(src), dest=str(dest), sha256=sha)
    assert result == {
        "changed": True,
        "dest": str(dest),
        "sha256": None,
        "bytes_sent": 0,
        "resumed_from": 2 * CHUNK,
    }
    assert host.uploads == []
    assert host.modules == ["probe"]
    assert not dest.exists()
    assert said == []


@pytest.mark.parametrize("missing", ["file", "hash"])
def test_check_mode_reports_a_push_of_a_source_not_fetched_yet(
    host: FakeHost, source: tuple[Path, bytes, str], tmp_path: Path, missing: str
) -> None:
    src, _data, sha = source
    dest = dest_of(tmp_path)
    if missing == "file":
        src = src.with_name("not-fetched-yet.gguf")
    result = push(
        host, check_mode=True, src=str(src), dest=str(dest), sha256=None if missing == "hash" else sha
    )
    assert result["changed"] is True
    assert result["bytes_sent"] == 0
    assert "is not on the controller yet" in result["msg"]
    assert host.uploads == []
    assert host.modules == []


def test_outside_check_mode_a_missing_source_fails(
    host: FakeHost, source: tuple[Path, bytes, str], tmp_path: Path
) -> None:
    src, _data, sha = source
    with pytest.raises(Exception, match="not-fetched-yet"):
        push(host, src=str(src.with_name("not-fetched-yet.gguf")), dest=str(dest_of(tmp_path)), sha256=sha)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"dest": "models/a.gguf"}, "dest is 'models/a.gguf': expected an absolute path on the host"),
        ({"chunk_size": 4096}, "chunk_size is 4096: expected at least 1048576 bytes (1 MiB)"),
        ({"sha256": "abc"}, "sha256 is 'abc': expected a sha256 digest, 64 hexadecimal characters"),
    ],
)
def test_bad_options_name_the_option_and_value(
    host: FakeHost, source: tuple[Path, bytes, str], tmp_path: Path, args: dict[str, Any], message: str
) -> None:
    src, _data, sha = source
    with pytest.raises(AnsibleActionFail) as failure:
        push(host, **{"src": str(src), "dest": str(dest_of(tmp_path)), "sha256": sha, **args})
    assert str(failure.value) == message
    assert host.modules == []
