# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/cache/chunked_transfer.py: hashes, the resume decision, chunks, progress."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.chunked_transfer import (
    MIB,
    READ_BLOCK,
    Chunk,
    Progress,
    PushError,
    chunks,
    hash_source,
    local_file_size,
    normalise_sha256,
    resume_offset,
    write_chunk,
)

# Fixed bytes (not os.urandom): test ids carry their hashes and must be equal in every process.
DATA = random.Random(20261207).randbytes(3 * READ_BLOCK + 12345)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    path = tmp_path / "source.bin"
    path.write_bytes(DATA)
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_sha256_is_lowered_and_a_malformed_one_names_the_option_and_value() -> None:
    assert normalise_sha256(" " + sha(b"x").upper() + "\n") == sha(b"x")
    with pytest.raises(PushError, match=r"sha256 is 'abc': expected a sha256 digest, 64 hexadecimal"):
        normalise_sha256("abc")
    with pytest.raises(PushError, match=r"sha256 is 'g+'"):
        normalise_sha256("g" * 64)


@pytest.mark.parametrize(
    "prefix", [1, READ_BLOCK - 1, READ_BLOCK, READ_BLOCK + 1, 2 * READ_BLOCK + 7, len(DATA)]
)
def test_one_pass_gives_the_whole_hash_and_the_prefix_hash(source: Path, prefix: int) -> None:
    hashes = hash_source(source, prefix)
    assert hashes.size == len(DATA)
    assert hashes.sha256 == sha(DATA)
    assert hashes.prefix_length == prefix
    assert hashes.prefix_sha256 == sha(DATA[:prefix])


@pytest.mark.parametrize("prefix", [0, len(DATA) + 1])
def test_no_prefix_hash_for_an_empty_or_longer_partial_file(source: Path, prefix: int) -> None:
    hashes = hash_source(source, prefix)
    assert hashes.sha256 == sha(DATA)
    assert hashes.prefix_sha256 is None


def test_a_partial_file_holding_the_first_bytes_is_resumed_from_its_end(source: Path) -> None:
    part = 2 * READ_BLOCK + 7
    assert resume_offset(hash_source(source, part), part, sha(DATA[:part])) == part


def test_a_complete_partial_file_resumes_at_the_end(source: Path) -> None:
    assert resume_offset(hash_source(source, len(DATA)), len(DATA), sha(DATA)) == len(DATA)


def test_a_partial_file_with_other_bytes_restarts_at_zero(source: Path) -> None:
    part = READ_BLOCK
    corrupt = b"\0" + DATA[1:part]
    assert resume_offset(hash_source(source, part), part, sha(corrupt)) == 0


@pytest.mark.parametrize(
    ("part_size", "part_sha256"),
    [(0, None), (0, sha(b"")), (len(DATA) + 1, sha(DATA + b"x")), (READ_BLOCK, None)],
)
def test_no_resume_without_a_usable_partial_file(
    source: Path, part_size: int, part_sha256: str | None
) -> None:
    assert resume_offset(hash_source(source, part_size), part_size, part_sha256) == 0


def test_a_prefix_hash_of_another_length_is_never_trusted(source: Path) -> None:
    # The host's partial file changed size between the probe and the hash: do not resume.
    hashes = hash_source(source, READ_BLOCK)
    assert resume_offset(hashes, READ_BLOCK + 1, hashes.prefix_sha256) == 0


def test_chunks_cover_the_rest_of_the_file_exactly() -> None:
    pieces = chunks(10 * MIB, 200 * MIB + 5, 64 * MIB)
    assert pieces == [
        Chunk(10 * MIB, 64 * MIB),
        Chunk(74 * MIB, 64 * MIB),
        Chunk(138 * MIB, 62 * MIB + 5),
    ]
    assert sum(piece.length for piece in pieces) == 190 * MIB + 5
    assert chunks(7, 7, MIB) == []
    assert chunks(0, 0, MIB) == [Chunk(0, 0)]


def test_a_chunk_size_below_one_byte_is_refused() -> None:
    with pytest.raises(PushError, match="chunk_size is 0: expected a positive number of bytes"):
        chunks(0, 10, 0)


def test_a_chunk_file_holds_exactly_its_bytes(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "chunk"
    write_chunk(source, Chunk(READ_BLOCK - 3, READ_BLOCK + 10), target)
    assert target.read_bytes() == DATA[READ_BLOCK - 3 : 2 * READ_BLOCK + 7]


def test_a_source_that_shrank_while_sending_is_reported(source: Path, tmp_path: Path) -> None:
    with pytest.raises(PushError, match="became shorter while it was being sent"):
        write_chunk(source, Chunk(len(DATA) - 5, 10), tmp_path / "chunk")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_prints_one_line_per_tenth_when_chunks_are_small() -> None:
    lines: list[str] = []
    clock = FakeClock()
    progress = Progress("push_file [gpu-1] /m/a.gguf", 100 * MIB, 0, lines.append, clock)
    progress.begin()
    for _step in range(100):
        clock.now += 0.01
        progress.advance(MIB)
    assert lines[0] == "push_file [gpu-1] /m/a.gguf: sending 100.0 MiB"
    assert len(lines) == 11
    assert lines[1] == "push_file [gpu-1] /m/a.gguf: 10.0 MiB of 100.0 MiB (10 %), 100 MiB/s"
    assert lines[-1] == "push_file [gpu-1] /m/a.gguf: 100.0 MiB of 100.0 MiB (100 %), 100 MiB/s"


def test_progress_prints_every_chunk_when_chunks_are_big() -> None:
    lines: list[str] = []
    clock = FakeClock()
    progress = Progress("push_file [h] /d", 200 * MIB, 0, lines.append, clock)
    for length in (64, 64, 64, 8):
        clock.now += 0.5
        progress.advance(length * MIB)
    assert [line.split(": ", 1)[1] for line in lines] == [
        "64.0 MiB of 200.0 MiB (32 %), 128 MiB/s",
        "128.0 MiB of 200.0 MiB (64 %), 128 MiB/s",
        "192.0 MiB of 200.0 MiB (96 %), 128 MiB/s",
        "200.0 MiB of 200.0 MiB (100 %), 100 MiB/s",
    ]


def test_a_resumed_transfer_says_where_it_starts_and_counts_only_what_it_sends() -> None:
    lines: list[str] = []
    clock = FakeClock()
    progress = Progress("push_file [h] /d", 200 * MIB, 100 * MIB, lines.append, clock)
    progress.begin()
    clock.now += 1.0
    progress.advance(64 * MIB)
    clock.now += 1.0
    progress.advance(36 * MIB)
    assert lines == [
        "push_file [h] /d: resuming at 100.0 MiB of 200.0 MiB, sending 100.0 MiB",
        "push_file [h] /d: 164.0 MiB of 200.0 MiB (82 %), 64 MiB/s",
        "push_file [h] /d: 200.0 MiB of 200.0 MiB (100 %), 50 MiB/s",
    ]


def test_a_missing_or_odd_source_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(PushError, match=r"src is '.*/absent', which cannot be read on the controller"):
        local_file_size(tmp_path / "absent")
    with pytest.raises(PushError, match=r"src is '.*': expected a regular file on the controller"):
        local_file_size(tmp_path)
    (tmp_path / "f").write_bytes(b"12345")
    assert local_file_size(tmp_path / "f") == 5
