# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Action ``sovereign.stack.push_file``: a resumable, verified controller-to-host file transfer.

The host side is module ``sovereign.stack.file_chunk``; the chunking, hashing and progress logic is
in plugin_utils/chunked_transfer.py. Only the connection's ``put_file`` and module runs are used,
so it works over every connection plugin (ssh, community.docker.docker, local).
Documentation: plugins/modules/push_file.py.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.chunked_transfer import (
    DEFAULT_CHUNK_SIZE,
    MIB,
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

display = Display()

HOST_MODULE = "sovereign.stack.file_chunk"
ARGUMENT_SPEC: dict[str, Any] = {
    "src": {"type": "path", "required": True},
    # Not "path": that would expand ~ on the controller; the module expands it on the host.
    "dest": {"type": "str", "required": True},
    "sha256": {"type": "str", "required": True},
    "mode": {"type": "raw"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "chunk_size": {"type": "int", "default": DEFAULT_CHUNK_SIZE},
}
# Every chunk costs one upload and one module run; below this the runs dominate the transfer.
MIN_CHUNK_SIZE = MIB


@dataclass(frozen=True)
class Request:
    """The validated options of one task."""

    src: str
    dest: str
    sha256: str
    chunk_size: int
    attributes: Mapping[str, Any]


class ActionModule(ActionBase):  # type: ignore[misc]  # Ansible ships no type information
    """Send ``src`` to ``dest`` unless the host already holds ``sha256``, resuming a partial file."""

    # False: the host's temporary directory is made only once a chunk is to be sent (see _send).
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Probe the host, verify the source, send what is missing, verify on the host, rename."""
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(ARGUMENT_SPEC)
        if self._task.check_mode and not _source_ready(args):
            # A file another step of the same run would fetch first (model weights, artifacts)
            # is not on the controller yet in check mode: report the push it would make.
            result.update(changed=True, dest=str(args["dest"]), bytes_sent=0, resumed_from=0, sha256=None)
            result["msg"] = f"check mode: {args['src']} is not on the controller yet; it would be pushed"
            return result
        try:
            request = self._request(args)
            host = str(task_vars.get("inventory_hostname", self._play_context.remote_addr))
            result.update(self._push(request, f"push_file [{host}] {request.dest}", task_vars))
        except PushError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _request(self, args: Mapping[str, Any]) -> Request:
        """Options checked beyond the argument spec, each error naming the option and value."""
        dest = str(args["dest"])
        if not dest.startswith(("/", "~")):
            raise PushError(f"dest is {dest!r}: expected an absolute path on the host")
        if args["chunk_size"] < MIN_CHUNK_SIZE:
            raise PushError(
                f"chunk_size is {args['chunk_size']}: expected at least {MIN_CHUNK_SIZE} bytes (1 MiB)"
            )
        return Request(
            src=str(self._find_needle("files", args["src"])),
            dest=dest,
            sha256=normalise_sha256(str(args["sha256"])),
            chunk_size=int(args["chunk_size"]),
            attributes={name: args[name] for name in ("mode", "owner", "group")},
        )

    def _push(self, request: Request, label: str, task_vars: dict[str, Any]) -> dict[str, Any]:
        """The transfer itself; returns the task result's fields."""
        size = local_file_size(request.src)
        found = self._host_step(
            task_vars, request, state="probe", size=size, sha256=request.sha256, **request.attributes
        )
        outcome = {"dest": request.dest, "bytes_sent": 0, "resumed_from": 0}
        if found["dest_sha256"] == request.sha256:
            display.v(f"{label}: the host already holds sha256 {request.sha256}, nothing sent")
            return {**outcome, "changed": bool(found["changed"]), "sha256": found["dest_sha256"]}
        source = hash_source(request.src, int(found["part_size"]))
        if source.sha256 != request.sha256:
            raise PushError(
                f"src {request.src} has sha256 {source.sha256} on the controller, but the sha256 option "
                f"is {request.sha256}: nothing was sent; fix the file or the expected hash"
            )
        start = resume_offset(source, int(found["part_size"]), found["part_sha256"])
        outcome["resumed_from"] = start
        if self._task.check_mode:
            return {**outcome, "changed": True, "sha256": None}
        progress = Progress(label, size, start, display.display)
        progress.begin()
        committed = self._send(request, size, chunks(start, size, request.chunk_size), progress, task_vars)
        return {**outcome, "changed": True, "sha256": committed["dest_sha256"], "bytes_sent": size - start}

    def _send(
        self, request: Request, size: int, pieces: list[Chunk], progress: Progress, task_vars: dict[str, Any]
    ) -> dict[str, Any]:
        """Upload each chunk to the host's temporary directory and append it; the last one commits."""
        if not pieces:
            return self._host_step(
                task_vars, request, state="commit", sha256=request.sha256, **request.attributes
            )
        if self._connection._shell.tmpdir is None:
            self._make_tmp_path()
        remote_chunk = self._connection._shell.join_path(self._connection._shell.tmpdir, "push_file.chunk")
        staging = Path(tempfile.mkdtemp(prefix="push_file-"))
        try:
            for piece in pieces[:-1]:
                self._upload(request.src, size, piece, staging / "chunk", remote_chunk)
                self._host_step(task_vars, request, state="append", **_chunk_args(piece, remote_chunk))
                progress.advance(piece.length)
            last = pieces[-1]
            self._upload(request.src, size, last, staging / "chunk", remote_chunk)
            committed = self._host_step(
                task_vars,
                request,
                state="commit",
                sha256=request.sha256,
                **_chunk_args(last, remote_chunk),
                **request.attributes,
            )
            progress.advance(last.length)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return committed

    def _upload(self, src: str, size: int, piece: Chunk, staging: Path, remote: str) -> None:
        """put_file one chunk; the whole file goes as it is when it is a single chunk."""
        if piece.offset == 0 and piece.length == size:
            local = src
        else:
            write_chunk(src, piece, staging)
            local = str(staging)
        self._connection.put_file(local, remote)
        self._fixup_perms2((self._connection._shell.tmpdir, remote), execute=False)

    def _host_step(self, task_vars: dict[str, Any], request: Request, **module_args: Any) -> dict[str, Any]:
        """Run file_chunk on the host; its failure becomes this task's failure."""
        reply: dict[str, Any] = self._execute_module(
            module_name=HOST_MODULE, module_args={"dest": request.dest, **module_args}, task_vars=task_vars
        )
        if reply.get("failed"):
            raise PushError(str(reply.get("msg", f"{HOST_MODULE} failed on the host: {reply}")))
        return reply


def _source_ready(args: Mapping[str, Any]) -> bool:
    """False when an absolute ``src`` does not exist or no sha256 is known yet."""
    src = os.path.expanduser(str(args["src"]))
    return bool(args.get("sha256")) and (not os.path.isabs(src) or os.path.exists(src))


def _chunk_args(piece: Chunk, remote_chunk: str) -> dict[str, Any]:
    """file_chunk's options for appending ``piece``, uploaded to ``remote_chunk``."""
    return {"chunk": remote_chunk, "offset": piece.offset, "length": piece.length}
