# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The real host behind :class:`collect.HostAccess`: commands through ``AnsibleModule.run_command``."""

from __future__ import annotations

import os
import threading
from typing import Any, List, Optional, Sequence, Tuple

from ansible_collections.sovereign.stack.plugins.module_utils.hardware.collect import CommandResult

# Vendor tools live outside the default PATH on some installs (ROCm puts them in /opt/rocm/bin).
EXTRA_TOOL_DIRS = ["/opt/rocm/bin", "/usr/local/bin", "/usr/sbin", "/sbin"]


class ModuleHost:
    """Answers the collector's questions on the managed host."""

    def __init__(self, module: Any, timeout_seconds: float) -> None:
        self.module = module
        self.timeout_seconds = timeout_seconds

    def which(self, tool: str) -> Optional[str]:
        """Path of an executable on PATH or in the vendor directories."""
        path: Optional[str] = self.module.get_bin_path(tool, required=False, opt_dirs=EXTRA_TOOL_DIRS)
        return path

    def run(self, argv: Sequence[str]) -> CommandResult:
        """Run a command in the C locale; kill it when it outlives the timeout.

        ``run_command`` has no timeout of its own, so a timer kills the child it hands to
        ``before_communicate_callback``; run_command then returns with the kill's exit status.
        """
        command = [self.which(argv[0]) or argv[0], *argv[1:]]
        timer_box: List[threading.Timer] = []
        fired = threading.Event()

        def arm(process: Any) -> None:
            def kill() -> None:
                fired.set()
                process.kill()

            timer = threading.Timer(self.timeout_seconds, kill)
            timer.daemon = True
            timer_box.append(timer)
            timer.start()

        try:
            rc, stdout, stderr = self.module.run_command(
                command,
                environ_update={"LC_ALL": "C", "LANG": "C"},
                before_communicate_callback=arm,
            )
        finally:
            for timer in timer_box:
                timer.cancel()
        return CommandResult(rc=rc, stdout=stdout, stderr=stderr, timed_out=fired.is_set())

    def read_text(self, path: str) -> Optional[str]:
        """Contents of a text file, or None when it cannot be read."""
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except OSError:
            return None

    def list_dir(self, path: str) -> List[str]:
        """Entries of a directory, or [] when it cannot be listed."""
        try:
            return os.listdir(path)
        except OSError:
            return []

    def exists(self, path: str) -> bool:
        """Whether a path exists."""
        return os.path.exists(path)

    def disk_usage(self, path: str) -> Tuple[int, int]:
        """Total and unprivileged-free bytes of the filesystem holding ``path``."""
        stats = os.statvfs(path)
        return stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize
