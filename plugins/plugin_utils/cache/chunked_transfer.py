# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Controller side of ``sovereign.stack.push_file``: hashing, resume decision, chunks and progress.

No Ansible imports: the action plugin (plugins/action/push_file.py) does the connection work and
calls these. ``ansible.builtin.copy`` cannot be used for model weights: it sends a file whole, so an
interrupted 40 GB copy starts again from zero, and it prints nothing while it sends. Nothing in
Ansible or its common collections resumes a transfer over an arbitrary connection plugin, so the
transfer is cut into chunks, each sent with the connection's own ``put_file`` and appended on the
host by module ``sovereign.stack.file_chunk``.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
# 256 MiB: each chunk costs a module start on the host (about 1.2 s loaded), which a 64 MiB chunk
# does not amortise (29 MiB/s against 55 MiB/s for 1 GiB, tests/benchmarks/bench_push_file.py).
DEFAULT_CHUNK_SIZE = 256 * MIB
READ_BLOCK = MIB
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
# A progress line each time the transfer passes another tenth of the file.
PROGRESS_STEPS = 10

Say = Callable[[str], None]
Clock = Callable[[], float]


class PushError(ValueError):
    """A problem with the source or the options, worded so the user knows what to change."""


@dataclass(frozen=True)
class SourceHashes:
    """The source file's size and sha256, and the sha256 of its first ``prefix_length`` bytes."""

    size: int
    sha256: str
    prefix_length: int
    prefix_sha256: str | None


@dataclass(frozen=True)
class Chunk:
    """One piece of the transfer: ``length`` bytes of the source starting at ``offset``."""

    offset: int
    length: int


def normalise_sha256(value: str, option: str = "sha256") -> str:
    """``value`` in lower case when it is a sha256 hex digest, else a PushError naming ``option``."""
    digest = value.strip().lower()
    if not SHA256_PATTERN.match(digest):
        raise PushError(f"{option} is {value!r}: expected a sha256 digest, 64 hexadecimal characters")
    return digest


def hash_source(path: str | Path, prefix_length: int) -> SourceHashes:
    """Hash ``path`` in one pass, noting the hash of its first ``prefix_length`` bytes on the way.

    ``prefix_sha256`` is None when the file is shorter than ``prefix_length`` (a partial file on the
    host that is longer than the source cannot be a prefix of it) or when ``prefix_length`` is 0.
    """
    digest = hashlib.sha256()
    prefix_sha256: str | None = None
    done = 0
    with open(path, "rb") as source:
        while True:
            wanted = READ_BLOCK
            if prefix_sha256 is None and prefix_length > done:
                wanted = min(READ_BLOCK, prefix_length - done)
            block = source.read(wanted)
            if not block:
                break
            digest.update(block)
            done += len(block)
            if prefix_length and done == prefix_length:
                prefix_sha256 = digest.copy().hexdigest()
    return SourceHashes(
        size=done, sha256=digest.hexdigest(), prefix_length=prefix_length, prefix_sha256=prefix_sha256
    )


def resume_offset(source: SourceHashes, part_size: int, part_sha256: str | None) -> int:
    """Where to resume: the partial file's length when it is a prefix of the source, else 0."""
    if part_size <= 0 or part_size > source.size or part_sha256 is None:
        return 0
    if part_size != source.prefix_length or source.prefix_sha256 != part_sha256:
        return 0
    return part_size


def chunks(start: int, size: int, chunk_size: int) -> list[Chunk]:
    """The chunks that carry bytes ``start`` to ``size`` of the source, at most ``chunk_size`` each.

    An empty source is one empty chunk, so that the host still creates (and commits) the file.
    """
    if chunk_size <= 0:
        raise PushError(f"chunk_size is {chunk_size}: expected a positive number of bytes")
    if start == size == 0:
        return [Chunk(0, 0)]
    return [Chunk(offset, min(chunk_size, size - offset)) for offset in range(start, size, chunk_size)]


def write_chunk(source: str | Path, chunk: Chunk, target: str | Path) -> None:
    """Copy ``chunk`` of ``source`` into the file ``target`` (what put_file then sends)."""
    left = chunk.length
    with open(source, "rb") as reader, open(target, "wb") as writer:
        reader.seek(chunk.offset)
        while left > 0:
            block = reader.read(min(READ_BLOCK, left))
            if not block:
                raise PushError(f"{source} became shorter while it was being sent (at byte {chunk.offset})")
            writer.write(block)
            left -= len(block)


def describe_size(size: int) -> str:
    """``size`` in MiB with one decimal, as the progress lines print it."""
    return f"{size / MIB:.1f} MiB"


class Progress:
    """Prints one line each time the transfer passes another tenth of the file (or per chunk).

    Percentages are of the whole file, so a resumed transfer starts at the resumed share.
    """

    def __init__(self, label: str, size: int, start: int, say: Say, clock: Clock = time.monotonic) -> None:
        self.label = label
        self.size = size
        self.start = start
        self.done = start
        self.say = say
        self.clock = clock
        self.started_at = clock()
        self.next_step = self._step_of(start) + 1

    def _step_of(self, done: int) -> int:
        return done * PROGRESS_STEPS // self.size if self.size else PROGRESS_STEPS

    def begin(self) -> None:
        """The opening line: how much is to be sent, and where a resumed transfer starts."""
        if self.start:
            self.say(
                f"{self.label}: resuming at {describe_size(self.start)} of {describe_size(self.size)}, "
                f"sending {describe_size(self.size - self.start)}"
            )
        else:
            self.say(f"{self.label}: sending {describe_size(self.size)}")

    def advance(self, sent: int) -> None:
        """Count ``sent`` more bytes as arrived; print a line when another tenth is passed."""
        self.done += sent
        step = self._step_of(self.done)
        if step < self.next_step and self.done < self.size:
            return
        self.next_step = step + 1
        elapsed = max(self.clock() - self.started_at, 1e-9)
        rate = (self.done - self.start) / MIB / elapsed
        shown_rate = f"{rate:.1f}" if rate < 10 else f"{rate:.0f}"
        percent = 100 * self.done // self.size if self.size else 100
        self.say(
            f"{self.label}: {describe_size(self.done)} of {describe_size(self.size)} ({percent} %), "
            f"{shown_rate} MiB/s"
        )


def local_file_size(path: str | Path, option: str = "src") -> int:
    """Size of the regular file ``path``, else a PushError naming ``option``."""
    try:
        status = os.stat(path)
    except OSError as exc:
        raise PushError(
            f"{option} is {str(path)!r}, which cannot be read on the controller: {exc.strerror}"
        ) from exc
    if not os.path.isfile(path):
        raise PushError(f"{option} is {str(path)!r}: expected a regular file on the controller")
    return status.st_size
