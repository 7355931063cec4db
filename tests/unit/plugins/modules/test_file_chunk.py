# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Module file_chunk in-process on real files: probe, append at an offset, verify and commit."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sovereign.stack.plugins.modules import file_chunk

DATA = os.urandom(300_000)
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture(autouse=True)
def strict_umask() -> Iterator[None]:
    """A umask that would make directories 0700: the module must still create them 0755."""
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def run(capsys: pytest.CaptureFixture[str], check_mode: bool = False, **args: Any) -> dict[str, Any]:
    """Run the module with ``args`` and return its JSON result."""
    with patch_module_args({**args, "_ansible_check_mode": check_mode}), pytest.raises(SystemExit):
        file_chunk.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def upload(tmp_path: Path, data: bytes) -> Path:
    """A chunk as put_file leaves it in the host's temporary directory."""
    chunk = tmp_path / "upload" / "push_file.chunk"
    chunk.parent.mkdir(exist_ok=True)
    chunk.write_bytes(data)
    return chunk


def test_probe_of_a_fresh_host_reports_nothing_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, dest=str(tmp_path / "m" / "a.gguf"), state="probe", size=len(DATA), sha256=SHA)
    assert result["changed"] is False
    assert (result["dest_sha256"], result["part_size"], result["part_sha256"]) == (None, 0, None)


def test_probe_of_a_matching_file_fixes_only_its_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "a.gguf"
    dest.write_bytes(DATA)
    dest.chmod(0o600)
    args: dict[str, Any] = {
        "dest": str(dest),
        "state": "probe",
        "size": len(DATA),
        "sha256": SHA.upper(),
        "mode": "0644",
    }

    dry = run(capsys, check_mode=True, **args)
    assert (dry["changed"], dry["dest_sha256"]) == (True, SHA)
    assert mode_of(dest) == 0o600

    fixed = run(capsys, **args)
    assert (fixed["changed"], fixed["dest_sha256"], fixed["part_sha256"]) == (True, SHA, None)
    assert mode_of(dest) == 0o644

    again = run(capsys, **args)
    assert again["changed"] is False


def test_probe_hashes_a_destination_only_when_its_size_fits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "a.gguf"
    dest.write_bytes(DATA[:-1])
    result = run(capsys, dest=str(dest), state="probe", size=len(DATA), sha256=SHA)
    assert result["dest_sha256"] is None
    dest.write_bytes(b"x" * len(DATA))
    result = run(capsys, dest=str(dest), state="probe", size=len(DATA), sha256=SHA)
    assert result["dest_sha256"] == hashlib.sha256(b"x" * len(DATA)).hexdigest()


def test_probe_reports_a_partial_file_unless_it_is_longer_than_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "a.gguf"
    part = tmp_path / "a.gguf.part"
    part.write_bytes(DATA[:1000])
    result = run(capsys, dest=str(dest), state="probe", size=len(DATA), sha256=SHA)
    assert (result["part_size"], result["part_sha256"]) == (1000, hashlib.sha256(DATA[:1000]).hexdigest())
    part.write_bytes(DATA + b"more")
    result = run(capsys, dest=str(dest), state="probe", size=len(DATA), sha256=SHA)
    assert (result["part_size"], result["part_sha256"]) == (len(DATA) + 4, None)


def test_probe_refuses_a_directory_as_destination(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, dest=str(tmp_path), state="probe", size=1, sha256=SHA)
    assert result["failed"] is True
    assert result["msg"] == f"dest {tmp_path} is a directory on the host: expected a file path"


def test_a_first_chunk_creates_parents_0755_and_a_private_partial_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "models" / "qwen" / "a.gguf"
    chunk = upload(tmp_path, DATA[:1000])
    result = run(capsys, dest=str(dest), state="append", chunk=str(chunk), offset=0, length=1000)
    part = Path(str(dest) + ".part")
    assert (result["changed"], result["part_size"]) == (True, 1000)
    assert part.read_bytes() == DATA[:1000]
    assert mode_of(part) == 0o600
    assert mode_of(tmp_path / "models") == 0o755
    assert mode_of(tmp_path / "models" / "qwen") == 0o755
    assert not chunk.exists()
    assert not dest.exists()


def test_a_chunk_at_an_offset_cuts_what_an_interrupted_append_left(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "a.gguf"
    Path(str(dest) + ".part").write_bytes(DATA[:1000] + b"bytes of a lost, longer chunk" * 100)
    chunk = upload(tmp_path, DATA[1000:2000])
    result = run(capsys, dest=str(dest), state="append", chunk=str(chunk), offset=1000, length=1000)
    assert result["part_size"] == 2000
    assert Path(str(dest) + ".part").read_bytes() == DATA[:2000]


def test_a_chunk_past_the_end_of_the_partial_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "a.gguf"
    Path(str(dest) + ".part").write_bytes(DATA[:500])
    chunk = upload(tmp_path, DATA[1000:2000])
    result = run(capsys, dest=str(dest), state="append", chunk=str(chunk), offset=1000, length=1000)
    assert result["failed"] is True
    assert "holds 500 bytes, fewer than the offset 1000" in result["msg"]
    assert Path(str(dest) + ".part").read_bytes() == DATA[:500]


def test_an_incomplete_upload_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chunk = upload(tmp_path, DATA[:999])
    result = run(capsys, dest=str(tmp_path / "a"), state="append", chunk=str(chunk), offset=0, length=1000)
    assert result["failed"] is True
    assert f"chunk {chunk} has 999 bytes, expected 1000: the upload was incomplete" == result["msg"]
    assert not (tmp_path / "a.part").exists()


def test_commit_verifies_sets_the_mode_and_renames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "a.gguf"
    Path(str(dest) + ".part").write_bytes(DATA[:200_000])
    chunk = upload(tmp_path, DATA[200_000:])
    result = run(
        capsys,
        dest=str(dest),
        state="commit",
        sha256=SHA,
        chunk=str(chunk),
        offset=200_000,
        length=len(DATA) - 200_000,
        mode="0644",
    )
    assert (result["changed"], result["dest_sha256"]) == (True, SHA)
    assert dest.read_bytes() == DATA
    assert mode_of(dest) == 0o644
    assert not Path(str(dest) + ".part").exists()
    assert not chunk.exists()


def test_commit_without_a_mode_keeps_the_replaced_file_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "a.gguf"
    dest.write_bytes(b"old weights")
    dest.chmod(0o640)
    Path(str(dest) + ".part").write_bytes(DATA)
    result = run(capsys, dest=str(dest), state="commit", sha256=SHA)
    assert result["changed"] is True
    assert dest.read_bytes() == DATA
    assert mode_of(dest) == 0o640


def test_commit_without_a_mode_gives_a_new_file_the_umask_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "a.gguf"
    Path(str(dest) + ".part").write_bytes(DATA)
    run(capsys, dest=str(dest), state="commit", sha256=SHA)
    assert mode_of(dest) == 0o600  # 0666 under the test's umask 077


def test_commit_of_other_bytes_deletes_them_and_leaves_the_destination(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "a.gguf"
    dest.write_bytes(b"the old file stays")
    corrupt = b"\0" + DATA[1:]
    Path(str(dest) + ".part").write_bytes(corrupt)
    result = run(capsys, dest=str(dest), state="commit", sha256=SHA)
    assert result["failed"] is True
    assert f"has sha256 {hashlib.sha256(corrupt).hexdigest()} on the host, expected {SHA}" in result["msg"]
    assert not Path(str(dest) + ".part").exists()
    assert dest.read_bytes() == b"the old file stays"


def test_commit_without_a_partial_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, dest=str(tmp_path / "a"), state="commit", sha256=SHA)
    assert result["failed"] is True
    assert "a.part does not exist: there is nothing to commit" in result["msg"]


def test_append_in_check_mode_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chunk = upload(tmp_path, DATA[:1000])
    dest = tmp_path / "d" / "a"
    result = run(
        capsys, check_mode=True, dest=str(dest), state="append", chunk=str(chunk), offset=0, length=1000
    )
    assert result["changed"] is True
    assert not (tmp_path / "d").exists()
    assert chunk.exists()


def test_missing_options_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, dest=str(tmp_path / "a"), state="probe")
    assert result["failed"] is True
    assert "state is probe but all of the following are missing: sha256, size" in result["msg"]


def test_a_file_in_place_of_a_parent_directory_is_named_and_left_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "models").write_text("a file where a directory should be")
    (tmp_path / "models").chmod(0o600)
    dest = tmp_path / "models" / "qwen" / "a.gguf"
    chunk = upload(tmp_path, DATA[:10])
    result = run(capsys, dest=str(dest), state="append", chunk=str(chunk), offset=0, length=10)
    assert result["failed"] is True
    assert (
        result["msg"]
        == f"{tmp_path / 'models'} exists on the host and is not a directory: {dest} cannot be created"
    )
    assert mode_of(tmp_path / "models") == 0o600


def test_a_system_error_names_the_step_and_the_destination(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "a.gguf"
    Path(str(dest) + ".part").mkdir()  # a partial "file" that cannot be opened for writing
    chunk = upload(tmp_path, DATA[:10])
    result = run(capsys, dest=str(dest), state="append", chunk=str(chunk), offset=0, length=10)
    assert result["failed"] is True
    assert result["msg"].startswith(f"append of {dest} failed on the host: [Errno 21] Is a directory")


def test_a_symbolic_link_at_the_partial_path_is_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"must stay")
    dest = tmp_path / "a.gguf"
    Path(str(dest) + ".part").symlink_to(victim)
    chunk = upload(tmp_path, DATA[:10])
    result = run(capsys, dest=str(dest), state="append", chunk=str(chunk), offset=0, length=10)
    assert result["failed"] is True
    assert victim.read_bytes() == b"must stay"
