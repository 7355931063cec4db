"""Fixtures for playbook-level tests: test containers and an ansible-runner driver.

Containers are made from the same base images and Docker settings as the molecule scenarios
(tests/harness/base-image.sh, tests/harness/container-settings.yml). Playbooks run through
ansible-runner so tests assert on its events (which task changed, failed or was skipped on which
host) instead of grepping output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
HARNESS = REPO_ROOT / "tests" / "harness"
COLLECTIONS_PATH = REPO_ROOT / ".build" / "collections"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an integration test (selected by ``-m integration``)."""
    for item in items:
        item.add_marker(pytest.mark.integration)


def base_image(suite: str = "bookworm") -> str:
    """Name of the Debian systemd test image for ``suite``, built on first use."""
    result = subprocess.run(
        [str(HARNESS / "base-image.sh"), suite], check=True, capture_output=True, text=True
    )
    return result.stdout.strip().splitlines()[-1]


@dataclass
class TestContainer:
    """A running systemd container that Ansible reaches with the docker connection."""

    name: str
    network: str | None

    def exec(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the container."""
        return subprocess.run(
            ["docker", "exec", self.name, *argv], check=check, capture_output=True, text=True
        )

    def inventory_host(self) -> dict[str, Any]:
        """Host variables that point Ansible at this container."""
        return {
            "ansible_connection": "community.docker.docker",
            "ansible_host": self.name,
            "ansible_user": "root",
            "ansible_python_interpreter": "/usr/bin/python3",
        }


def start_container(suite: str = "bookworm", network: str | None = "bridge") -> TestContainer:
    """Start a systemd container; ``network=None`` gives it no network at all."""
    settings = yaml.safe_load((HARNESS / "container-settings.yml").read_text())
    name = f"sovereign-it-{uuid.uuid4().hex[:8]}"
    argv = ["docker", "run", "-d", "--name", name, "--hostname", name]
    argv += [f"--cap-add={cap}" for cap in settings["capabilities"]]
    argv += [f"--security-opt={opt}" for opt in settings["security_opts"]]
    argv += [f"--cgroupns={settings['cgroupns_mode']}", f"--stop-signal={settings['stop_signal']}"]
    argv += [f"--tmpfs={path}" for path in settings["tmpfs"]]
    argv += [f"--volume={vol}" for vol in settings["volumes"]]
    argv += ["--network", network or "none", base_image(suite), settings["command"]]
    subprocess.run(argv, check=True, capture_output=True, text=True)
    container = TestContainer(name=name, network=network)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = container.exec("systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            return container
        time.sleep(0.5)
    stop_container(container)
    raise RuntimeError(f"systemd in {name} did not come up within 60 s (last state: {state!r})")


def stop_container(container: TestContainer) -> None:
    """Remove the container, whatever state it is in."""
    subprocess.run(["docker", "rm", "-f", container.name], check=False, capture_output=True)


@pytest.fixture
def debian_host() -> Iterator[TestContainer]:
    """A fresh Debian 12 container on Docker's default bridge."""
    container = start_container("bookworm")
    yield container
    stop_container(container)


@pytest.fixture
def offline_host() -> Iterator[TestContainer]:
    """A fresh Debian 12 container with no network interface but loopback: no egress at all."""
    container = start_container("bookworm", network=None)
    yield container
    stop_container(container)


@dataclass
class PlaybookRun:
    """What one ansible-runner run did, read from its events."""

    rc: int
    status: str
    events: list[dict[str, Any]] = field(repr=False)
    stdout: str = field(repr=False)

    def task_results(self, outcome: str) -> list[tuple[str, str]]:
        """(host, task name) pairs for ``outcome``: ok, changed, failed, skipped, unreachable."""
        return [
            (e["event_data"].get("host", ""), e["event_data"].get("task", ""))
            for e in self.events
            if _event_outcome(e) == outcome
        ]

    def failure_messages(self) -> list[str]:
        """The ``msg`` of every failed task."""
        return [
            str(e["event_data"].get("res", {}).get("msg", ""))
            for e in self.events
            if e.get("event") == "runner_on_failed"
        ]

    def hosts_touched(self) -> set[str]:
        """Hosts on which any task ran (ok, changed, failed or unreachable)."""
        kinds = {"runner_on_ok", "runner_on_failed", "runner_on_unreachable"}
        return {e["event_data"].get("host", "") for e in self.events if e.get("event") in kinds}


def _event_outcome(event: dict[str, Any]) -> str | None:
    """ok / changed / failed / skipped / unreachable for a per-host task event, else None."""
    kind = str(event.get("event", ""))
    if kind not in ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"):
        return None
    if kind == "runner_on_ok":
        return "changed" if event["event_data"].get("res", {}).get("changed") else "ok"
    return kind.removeprefix("runner_on_")


def run_playbook(
    playbook: str | Path,
    inventory: dict[str, Any] | str | Path,
    tmp_path: Path,
    *,
    extravars: dict[str, Any] | None = None,
    check: bool = False,
    tags: str | None = None,
    verbosity: int = 0,
    envvars: dict[str, str] | None = None,
) -> PlaybookRun:
    """Run ``playbook`` with ansible-runner (only ``tags``, when given; ``envvars`` added to the
    environment) and return its events."""
    import ansible_runner  # imported late: unit-only runs need not load it

    if isinstance(inventory, dict):
        inventory_path = tmp_path / "inventory.yml"
        inventory_path.write_text(yaml.safe_dump(inventory))
        inventory = inventory_path
    cmdline = ["--check"] if check else []
    if tags:
        cmdline += ["--tags", tags]
    # A fresh private data dir per run: ansible-runner keeps the command line (e.g. --check) in it
    # and would silently reuse it for the next run.
    private_data_dir = Path(tempfile.mkdtemp(prefix="runner-", dir=tmp_path))
    env = {
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_ROLES_PATH": str(REPO_ROOT / "roles"),
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        # ansible-playbook lives beside this interpreter (the venv), which may not be on PATH.
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        **(envvars or {}),
    }
    runner = ansible_runner.run(
        private_data_dir=str(private_data_dir),
        playbook=str(Path(playbook).resolve()),
        inventory=str(Path(inventory).resolve()),
        extravars=extravars or {},
        cmdline=" ".join(cmdline) or None,
        envvars=env,
        verbosity=verbosity,
        quiet=True,
        project_dir=str(REPO_ROOT),
    )
    return PlaybookRun(
        rc=runner.rc,
        status=runner.status,
        events=list(runner.events),
        stdout=runner.stdout.read(),
    )
