#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Ansible module ``sovereign.stack.file_chunk``: the host side of a resumable file transfer."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: file_chunk
short_description: Host side of sovereign.stack.push_file (inspect, append a chunk, verify and commit)
version_added: 0.1.0
description:
  - The part of a resumable transfer that runs on the host. Action C(sovereign.stack.push_file)
    calls it; use that action in playbooks, not this module.
  - A file being received is written to C(<dest>.part) (mode C(0600) until it is complete) and
    renamed to O(dest) only once its sha256 is verified, so O(dest) is never a partial file.
  - V(probe) reports whether O(dest) already holds O(sha256) (hashed only when its size is O(size)),
    and if so makes its mode, owner and group right; it also reports the size and sha256 of a
    C(<dest>.part) left by an interrupted transfer, so the controller can resume after it.
  - V(append) writes the uploaded file O(chunk) into C(<dest>.part) at O(offset) (O(offset=0) starts
    a new partial file), creating missing parent directories with mode C(0755), then deletes O(chunk).
  - V(commit) appends O(chunk) first when given, then flushes C(<dest>.part) to disk, verifies its
    sha256, sets mode, owner and group, and renames it to O(dest). A partial file with another hash
    is deleted and the module fails.
author:
  - sovereign.stack contributors (@sovereign-stack)
options:
  dest:
    description:
      - Absolute path of the file on the host.
    type: path
    required: true
  state:
    description:
      - The step to run, see the description.
    type: str
    choices: [probe, append, commit]
    required: true
  sha256:
    description:
      - Expected sha256 of the complete file. Required with O(state=probe) and O(state=commit).
    type: str
  size:
    description:
      - Size in bytes of the complete file. Required with O(state=probe).
    type: int
  chunk:
    description:
      - Path on the host of an uploaded chunk to append. Required with O(state=append).
    type: path
  offset:
    description:
      - Byte offset in the partial file at which O(chunk) goes; bytes after it are cut off first.
      - Required with O(chunk).
    type: int
  length:
    description:
      - Size in bytes that O(chunk) must have; a chunk of another size is refused. Required with O(chunk).
    type: int
  mode:
    description:
      - Mode of O(dest), as for M(ansible.builtin.file). Default is C(0666) minus the umask for a new
        file, and an existing file's mode left as it is.
    type: raw
  owner:
    description:
      - Owner of O(dest). Default is the user the module runs as.
    type: str
  group:
    description:
      - Group of O(dest). Default is that user's group.
    type: str
attributes:
  check_mode:
    support: full
    details: V(probe) reports what it would change, changing nothing; V(append) and V(commit) do nothing.
  diff_mode:
    support: none
    details: Files of model-weight size are not diffed.
extends_documentation_fragment:
  - sovereign.stack.platform
  - action_common_attributes
seealso:
  - module: sovereign.stack.push_file
"""

EXAMPLES = r"""
- name: Ask whether the host already holds the file (push_file does this first)
  sovereign.stack.file_chunk:
    dest: /var/lib/sovereign/models/tiny.gguf
    state: probe
    size: 1048576
    sha256: 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809
"""

RETURN = r"""
dest:
  description: The destination path.
  returned: always
  type: str
  sample: /var/lib/sovereign/models/tiny.gguf
dest_sha256:
  description:
    - V(probe) and V(commit), the sha256 of O(dest) computed on the host; null when O(dest) is missing
      or its size is not O(size) (it is then not hashed).
  returned: state is probe or commit
  type: str
part_size:
  description: Bytes in C(<dest>.part); 0 when there is none.
  returned: always
  type: int
  sample: 104857600
part_sha256:
  description:
    - V(probe), the sha256 of C(<dest>.part); null when there is none, it is empty, it is longer
      than O(size), or O(dest) already holds O(sha256).
  returned: state is probe
  type: str
"""

import hashlib
import os
from typing import Any, Dict, Optional

from ansible.module_utils.basic import AnsibleModule

PART_SUFFIX = ".part"
READ_BLOCK = 1 << 20
DIRECTORY_MODE = 0o755
PART_MODE = 0o600

ARGUMENT_SPEC: Dict[str, Any] = {
    "dest": {"type": "path", "required": True},
    "state": {"type": "str", "choices": ["probe", "append", "commit"], "required": True},
    "sha256": {"type": "str"},
    "size": {"type": "int"},
    "chunk": {"type": "path"},
    "offset": {"type": "int"},
    "length": {"type": "int"},
    "mode": {"type": "raw"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
}
REQUIRED_IF = [
    ["state", "probe", ["sha256", "size"]],
    ["state", "append", ["chunk"]],
    ["state", "commit", ["sha256"]],
]
REQUIRED_TOGETHER = [["chunk", "offset", "length"]]


class ChunkError(Exception):
    """A state of the host's files that the transfer cannot continue from."""


def part_path(dest: str) -> str:
    """Where the file being received lives until it is verified."""
    return dest + PART_SUFFIX


def file_sha256(path: str) -> str:
    """sha256 of the file ``path``, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        block = reader.read(READ_BLOCK)
        while block:
            digest.update(block)
            block = reader.read(READ_BLOCK)
    return digest.hexdigest()


def regular_file_size(path: str) -> Optional[int]:
    """Size of ``path`` when it is a regular file, else None."""
    return os.path.getsize(path) if os.path.isfile(path) else None


def probe(dest: str, size: int, sha256: str) -> Dict[str, Any]:
    """What the host holds: the destination's hash when its size fits, and any partial file."""
    if os.path.isdir(dest):
        raise ChunkError(f"dest {dest} is a directory on the host: expected a file path")
    dest_sha256 = file_sha256(dest) if regular_file_size(dest) == size else None
    part = part_path(dest)
    part_size = regular_file_size(part) or 0
    part_sha256 = None
    if dest_sha256 != sha256 and 0 < part_size <= size:
        part_sha256 = file_sha256(part)
    return {"dest_sha256": dest_sha256, "part_size": part_size, "part_sha256": part_sha256}


def make_parents(dest: str) -> None:
    """Create the missing parent directories of ``dest``, mode 0755 whatever the umask."""
    missing = []
    parent = os.path.dirname(dest)
    while parent and not os.path.isdir(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, DIRECTORY_MODE)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise ChunkError(
                    f"{directory} exists on the host and is not a directory: {dest} cannot be created"
                ) from None
            continue  # made by another process meanwhile: its mode is not ours to change
        os.chmod(directory, DIRECTORY_MODE)


def append(dest: str, chunk: str, offset: int, length: int) -> int:
    """Write ``chunk`` into the partial file at ``offset``, delete it, and return the partial size.

    The partial file must hold at least ``offset`` bytes (the controller checked that they are the
    source's first bytes); anything after ``offset`` is what an interrupted append left and is cut.
    """
    received = regular_file_size(chunk)
    if received != length:
        raise ChunkError(f"chunk {chunk} has {received} bytes, expected {length}: the upload was incomplete")
    part = part_path(dest)
    if offset == 0:
        make_parents(dest)
    held = regular_file_size(part)
    if offset > 0 and (held is None or held < offset):
        raise ChunkError(
            f"{part} holds {held or 0} bytes, fewer than the offset {offset} the chunk belongs at: "
            "it changed during the transfer; run the task again to restart it"
        )
    # Never through a symbolic link someone left at the partial file's path.
    descriptor = os.open(part, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), PART_MODE)
    with os.fdopen(descriptor, "wb") as writer, open(chunk, "rb") as reader:
        writer.truncate(offset)
        writer.seek(offset)
        block = reader.read(READ_BLOCK)
        while block:
            writer.write(block)
            block = reader.read(READ_BLOCK)
    os.remove(chunk)
    return offset + length


def default_mode() -> int:
    """The mode a new file gets from the process umask (what ansible.builtin.copy gives too)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def fsync_path(path: str, flags: int) -> None:
    """Flush ``path`` (a file or a directory) to disk."""
    descriptor = os.open(path, flags)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def set_attributes(module: AnsibleModule, path: str, changed: bool) -> bool:
    """Apply the mode, owner and group options to ``path``; True when something changed."""
    params = module.params
    changed = module.set_owner_if_different(path, params["owner"], changed)
    changed = module.set_group_if_different(path, params["group"], changed)
    return bool(module.set_mode_if_different(path, params["mode"], changed))


def commit(module: AnsibleModule, dest: str, sha256: str) -> Dict[str, Any]:
    """Verify the complete partial file, give it its attributes and rename it into place."""
    part = part_path(dest)
    if not os.path.isfile(part):
        raise ChunkError(f"{part} does not exist: there is nothing to commit to {dest}")
    fsync_path(part, os.O_RDONLY)
    actual = file_sha256(part)
    if actual != sha256:
        os.remove(part)
        raise ChunkError(
            f"{part} has sha256 {actual} on the host, expected {sha256}: the bytes changed on the way; "
            "the partial file was deleted, run the task again to send the file anew"
        )
    if module.params["mode"] is None:
        os.chmod(part, default_mode() if not os.path.exists(dest) else os.stat(dest).st_mode & 0o7777)
    set_attributes(module, part, True)
    if os.path.isdir(dest):
        raise ChunkError(f"dest {dest} is a directory on the host: expected a file path")
    os.rename(part, dest)
    fsync_path(os.path.dirname(dest) or ".", os.O_RDONLY)
    return {"changed": True, "dest_sha256": actual, "part_size": 0}


def run(module: AnsibleModule) -> Dict[str, Any]:
    """Carry out O(state) and return the module result."""
    params = module.params
    dest = params["dest"]
    sha256 = (params["sha256"] or "").lower() or None
    if params["state"] == "probe":
        found = probe(dest, params["size"], sha256 or "")
        changed = False
        if found["dest_sha256"] == sha256:
            changed = set_attributes(module, dest, False)
        return {"changed": changed, "dest": dest, **found}
    if module.check_mode:
        return {"changed": True, "dest": dest, "part_size": regular_file_size(part_path(dest)) or 0}
    part_size = regular_file_size(part_path(dest)) or 0
    if params["chunk"] is not None:
        part_size = append(dest, params["chunk"], params["offset"], params["length"])
    if params["state"] == "append":
        return {"changed": True, "dest": dest, "part_size": part_size}
    return {"dest": dest, **commit(module, dest, sha256 or "")}


def main() -> None:
    """Module entry point."""
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_if=REQUIRED_IF,
        required_together=REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except ChunkError as exc:
        module.fail_json(msg=str(exc), dest=module.params["dest"])
    except OSError as exc:
        module.fail_json(msg=f"{module.params['state']} of {module.params['dest']} failed on the host: {exc}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
