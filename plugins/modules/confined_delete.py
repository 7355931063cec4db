#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Ansible module ``sovereign.stack.confined_delete``: delete files and folders, only inside one folder."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: confined_delete
short_description: Delete files and folders that lie inside one folder, and refuse anything else
version_added: 0.1.0
description:
  - Deletes each of O(paths) (a file, or a folder with everything in it) when it lies inside O(root),
    and refuses the whole request, deleting nothing, when any path does not.
  - A path is refused when it is empty, relative, not normalised (C(.), C(..), C(//) or a trailing
    C(/)), outside O(root) or O(root) itself, or when any part of it below O(root) is a symbolic link
    (a link would lead the deletion elsewhere). O(root) itself may be a link, as the operator chose it.
  - The walk from O(root) opens each folder without following links, so a link swapped in after the
    check is not followed either. A hard link is removed as a name; the file it shares stays with
    its other names.
  - Paths that do not exist are reported in RV(absent) and are not an error.
author:
  - sovereign.stack contributors (@sovereign-stack)
options:
  root:
    description:
      - Absolute, normalised path of the folder every deletion must stay inside, a folder the caller
        owns, so not C(/) nor a folder the system shares (C(/etc), C(/usr), C(/var), C(/var/lib),
        C(/opt), C(/home), C(/srv), C(/tmp) and the like), which are refused.
    type: path
    required: true
  paths:
    description:
      - Absolute paths to delete, each strictly inside O(root).
    type: list
    elements: str
    required: true
attributes:
  check_mode:
    support: full
    details: Checks every path and reports what would be deleted, deleting nothing.
  diff_mode:
    support: none
    details: Folders of model weights are not diffed.
extends_documentation_fragment:
  - sovereign.stack.platform
  - action_common_attributes
"""

EXAMPLES = r"""
- name: Delete the weights of a removed deployment
  sovereign.stack.confined_delete:
    root: /var/lib/sovereign/models
    paths:
      - /var/lib/sovereign/models/Qwen--Qwen3-8B/Qwen--Qwen3-8B-Q4_K_M.gguf
"""

RETURN = r"""
removed:
  description: The paths deleted (in check mode, those that would be).
  returned: success
  type: list
  elements: str
  sample: [/var/lib/sovereign/models/Qwen--Qwen3-8B/Qwen--Qwen3-8B-Q4_K_M.gguf]
absent:
  description: The paths that did not exist.
  returned: success
  type: list
  elements: str
refused:
  description: Why each refused path was refused (the module then fails and deletes nothing).
  returned: failure
  type: list
  elements: str
"""

import contextlib
import errno
import os
import posixpath
import shutil
import stat
import sys
from typing import Any, Dict, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule

ARGUMENT_SPEC: Dict[str, Any] = {
    "root": {"type": "path", "required": True},
    "paths": {"type": "list", "elements": "str", "required": True},
}
_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
# Folders the system and other software share: no role owns one of them whole.
SHARED_FOLDERS = frozenset(
    (
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/media",
        "/mnt",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/lib",
        "/usr/sbin",
        "/usr/share",
        "/var",
        "/var/cache",
        "/var/lib",
        "/var/log",
        "/var/tmp",
        "/Applications",
        "/Library",
        "/System",
        "/Users",
        "/Volumes",
        "/private",
        "/private/etc",
        "/private/var",
    )
)
# shutil.rmtree takes a folder descriptor from Python 3.11 on.
_RMTREE_DIR_FD = sys.version_info >= (3, 11)


class Refused(Exception):
    """A path the module will not delete; the message says why."""


def _parts(root: str, path: object) -> List[str]:
    """The components of ``path`` below ``root``; Refused when it is not strictly inside."""
    if not isinstance(path, str) or not path.strip():
        raise Refused(f"{path!r} is empty: nothing to delete")
    if not path.startswith("/"):
        raise Refused(f"{path!r} is relative: expected an absolute path inside {root}")
    if posixpath.normpath(path) != path:
        raise Refused(
            f"{path!r} is not normalised ('.', '..', '//' or a trailing '/'): expected a path inside {root}"
        )
    if path == root:
        raise Refused(f"{path!r} is the folder {root} itself: only what is inside it is deleted")
    if not path.startswith(root.rstrip("/") + "/"):
        raise Refused(f"{path!r} lies outside {root}: deletions stay inside it")
    return path[len(root.rstrip("/")) + 1 :].split("/")


def _walk(root: str, parts: List[str]) -> Tuple[Optional[int], Optional[os.stat_result]]:
    """Open the folder holding the last part without following links; its descriptor and the last
    part's lstat, or (None, None) when something on the way does not exist."""
    descriptor = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        for index, name in enumerate(parts):
            try:
                info = os.lstat(name, dir_fd=descriptor)
            except FileNotFoundError:
                os.close(descriptor)
                return None, None
            where = posixpath.join(root, *parts[: index + 1])
            if stat.S_ISLNK(info.st_mode):
                target = os.readlink(name, dir_fd=descriptor)
                raise Refused(f"{where} is a symbolic link (to {target}): deletions do not follow links")
            if index == len(parts) - 1:
                return descriptor, info
            if not stat.S_ISDIR(info.st_mode):
                os.close(descriptor)
                return None, None
            child = os.open(name, _DIRECTORY, dir_fd=descriptor)
            os.close(descriptor)
            descriptor = child
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(descriptor)
        raise
    return descriptor, None


def check(root: str, paths: List[str]) -> Tuple[List[str], List[str], List[str]]:
    """Sort ``paths`` into those to delete, those absent and the refusals (nothing is deleted)."""
    if not root.startswith("/") or posixpath.normpath(root) != root or root in SHARED_FOLDERS:
        return (
            [],
            [],
            [
                f"root {root!r} is not valid: expected an absolute, normalised folder of the caller's own, "
                "not a folder the system shares (/, /etc, /usr, /var/lib, ...)"
            ],
        )
    present: List[str] = []
    absent: List[str] = []
    refused: List[str] = []
    for path in paths:
        try:
            parts = _parts(root, path)
            if not os.path.isdir(root):
                absent.append(path)
                continue
            descriptor, info = _walk(root, parts)
        except Refused as error:
            refused.append(str(error))
            continue
        if descriptor is None or info is None:
            absent.append(path)
            continue
        os.close(descriptor)
        present.append(path)
    return present, absent, refused


def delete(root: str, path: str) -> None:
    """Delete ``path`` (checked by check()) through descriptors, following no link on the way."""
    parts = _parts(root, path)
    descriptor, info = _walk(root, parts)
    if descriptor is None or info is None:
        return
    try:
        name = parts[-1]
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(name, dir_fd=descriptor)
        elif _RMTREE_DIR_FD:
            shutil.rmtree(name, dir_fd=descriptor)
        else:
            # rmtree refuses a link at the top and does not follow links below it.
            shutil.rmtree(path)
    finally:
        os.close(descriptor)


def run(module: AnsibleModule) -> Dict[str, Any]:
    """Check every path, then delete them all, or none when one is refused."""
    root = module.params["root"].rstrip("/") or "/"
    present, absent, refused = check(root, module.params["paths"])
    if refused:
        message = f"Refusing to delete anything: {'; '.join(refused)}"
        module.fail_json(msg=message, refused=refused, removed=[], absent=absent)
    if not module.check_mode:
        for path in present:
            try:
                delete(root, path)
            except OSError as error:
                if error.errno != errno.ENOENT:
                    module.fail_json(msg=f"deleting {path} failed on the host: {error}", removed=[])
    return {"changed": bool(present), "removed": present, "absent": absent}


def main() -> None:
    """Module entry point."""
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()
