# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Action sovereign.stack.push_file against a Debian test container over the docker connection.

One container for the module, a 200 MiB file of random bytes (a stand-in for model weights) made
once under pytest's tmp_path; each test pushes it to its own destination in the container. The
same container, given an SSH server (from Debian's archive), is reached over the ssh connection
as an unprivileged user with become; the local connection pushes to a folder on the controller.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, PlaybookRun, run_playbook, start_container, stop_container
from conftest import TestContainer as Container  # renamed: pytest would try to collect Test*

PLAYBOOK = REPO_ROOT / "tests" / "integration" / "playbooks" / "push_file.yml"
TASK = "Push the file"
MIB = 1 << 20
SIZE = 200 * MIB
HALF = 100 * MIB


@pytest.fixture(scope="module")
def host() -> Iterator[Container]:
    """One Debian 12 container for every test here, named after them."""
    started = start_container("bookworm")
    name = started.name.replace("sovereign-it-", "sovereign-it-push-file-")
    subprocess.run(["docker", "rename", started.name, name], check=True, capture_output=True)
    container = Container(name=name, network=started.network)
    yield container
    stop_container(container)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """200 MiB of random bytes standing in for a model file, and their sha256."""
    path = tmp_path_factory.mktemp("push-file") / "standin-weights.gguf"
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for _block in range(SIZE // MIB):
            block = os.urandom(MIB)
            digest.update(block)
            out.write(block)
    return path, digest.hexdigest()


def push(
    host: Container,
    tmp_path: Path,
    src: Path,
    dest: str,
    sha256: str,
    *,
    check: bool = False,
    chunk_size: int | None = None,
) -> PlaybookRun:
    inventory = {"all": {"hosts": {host.name: host.inventory_host()}}}
    extravars: dict[str, Any] = {
        "push_src": str(src),
        "push_dest": dest,
        "push_sha256": sha256,
        "push_mode": "0644",
    }
    if chunk_size is not None:
        extravars["push_chunk_size"] = chunk_size
    return run_playbook(PLAYBOOK, inventory, tmp_path, extravars=extravars, check=check)


def result_of(run: PlaybookRun) -> dict[str, Any]:
    """The push task's result (ok, changed or failed)."""
    for event in run.events:
        data = event.get("event_data", {})
        if event.get("event") in ("runner_on_ok", "runner_on_failed") and data.get("task") == TASK:
            return dict(data["res"])
    raise AssertionError(f"task {TASK!r} has no result; output:\n{run.stdout}")


def host_sha256(host: Container, path: str) -> str:
    return host.exec("sha256sum", path).stdout.split()[0]


def exists(host: Container, path: str) -> bool:
    return host.exec("test", "-e", path, check=False).returncode == 0


def seed_part(host: Container, tmp_path: Path, dest: str, data: bytes) -> None:
    """Leave ``data`` on the host as the partial file an interrupted transfer would have left."""
    local = tmp_path / "standin-part"
    local.write_bytes(data)
    host.exec("mkdir", "-p", os.path.dirname(dest))
    subprocess.run(["docker", "cp", str(local), f"{host.name}:{dest}.part"], check=True, capture_output=True)


def test_check_mode_then_first_push_then_nothing_sent(
    host: Container, weights: tuple[Path, str], tmp_path: Path
) -> None:
    src, sha = weights
    dest = "/var/lib/sovereign/models/first/standin-weights.gguf"

    dry = push(host, tmp_path, src, dest, sha, check=True)
    assert dry.rc == 0, dry.failure_messages()
    would = result_of(dry)
    assert (would["changed"], would["sha256"], would["bytes_sent"], would["resumed_from"]) == (
        True,
        None,
        0,
        0,
    )
    assert not exists(host, "/var/lib/sovereign/models/first")

    # 64 MiB chunks, so that the 200 MiB file shows progress between chunks (the default is 256 MiB).
    first = push(host, tmp_path, src, dest, sha, chunk_size=64 * MIB)
    assert first.rc == 0, first.failure_messages()
    result = result_of(first)
    assert (result["changed"], result["bytes_sent"], result["resumed_from"]) == (True, SIZE, 0)
    assert result["sha256"] == sha
    assert host_sha256(host, dest) == sha
    assert host.exec("stat", "-c", "%a %U", dest).stdout.split() == ["644", "root"]
    assert host.exec("stat", "-c", "%a", os.path.dirname(dest)).stdout.strip() == "755"
    assert not exists(host, dest + ".part")
    assert f"push_file [{host.name}] {dest}: sending 200.0 MiB" in first.stdout
    assert f"push_file [{host.name}] {dest}: 64.0 MiB of 200.0 MiB (32 %)" in first.stdout
    assert f"push_file [{host.name}] {dest}: 200.0 MiB of 200.0 MiB (100 %)" in first.stdout

    second = push(host, tmp_path, src, dest, sha)
    assert second.rc == 0, second.failure_messages()
    again = result_of(second)
    assert (again["changed"], again["bytes_sent"], again["sha256"]) == (False, 0, sha)
    assert second.task_results("changed") == []
    assert "push_file [" not in second.stdout


def test_a_partial_file_of_the_first_100_mib_is_resumed(
    host: Container, weights: tuple[Path, str], tmp_path: Path
) -> None:
    src, sha = weights
    dest = "/var/lib/sovereign/models/resume/standin-weights.gguf"
    with src.open("rb") as reader:
        seed_part(host, tmp_path, dest, reader.read(HALF))

    run = push(host, tmp_path, src, dest, sha)

    assert run.rc == 0, run.failure_messages()
    result = result_of(run)
    assert (result["resumed_from"], result["bytes_sent"]) == (HALF, SIZE - HALF)
    assert host_sha256(host, dest) == sha
    assert f"push_file [{host.name}] {dest}: resuming at 100.0 MiB of 200.0 MiB" in run.stdout


def test_a_partial_file_with_a_corrupt_prefix_restarts_at_zero(
    host: Container, weights: tuple[Path, str], tmp_path: Path
) -> None:
    src, sha = weights
    dest = "/var/lib/sovereign/models/corrupt/standin-weights.gguf"
    with src.open("rb") as reader:
        prefix = bytearray(reader.read(HALF))
    prefix[12345] ^= 0xFF
    seed_part(host, tmp_path, dest, bytes(prefix))

    run = push(host, tmp_path, src, dest, sha)

    assert run.rc == 0, run.failure_messages()
    result = result_of(run)
    assert (result["resumed_from"], result["bytes_sent"]) == (0, SIZE)
    assert host_sha256(host, dest) == sha


def test_a_wrong_sha256_fails_and_leaves_nothing_on_the_host(
    host: Container, weights: tuple[Path, str], tmp_path: Path
) -> None:
    src, sha = weights
    wrong = hashlib.sha256(b"not these weights").hexdigest()
    dest = "/var/lib/sovereign/models/wrong/standin-weights.gguf"

    run = push(host, tmp_path, src, dest, wrong)

    assert run.rc != 0
    assert run.failure_messages() == [
        f"src {src} has sha256 {sha} on the controller, but the sha256 option is {wrong}: "
        "nothing was sent; fix the file or the expected hash"
    ]
    assert not exists(host, dest)
    assert not exists(host, dest + ".part")
    assert not exists(host, os.path.dirname(dest))


@pytest.fixture(scope="module")
def ssh_login(host: Container, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Inventory variables reaching ``host`` over SSH as an unprivileged user who becomes root."""
    key = tmp_path_factory.mktemp("push-file-ssh") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    host.exec(
        "sh",
        "-c",
        "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "
        "openssh-server >/dev/null && useradd -m -s /bin/sh deploy && install -d -o deploy -m 0700 "
        "/home/deploy/.ssh && echo 'deploy ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/deploy && "
        "systemctl enable --now ssh",
    )
    subprocess.run(
        ["docker", "cp", f"{key}.pub", f"{host.name}:/home/deploy/.ssh/authorized_keys"], check=True
    )
    host.exec("chown", "deploy:", "/home/deploy/.ssh/authorized_keys")
    address = subprocess.run(
        ["docker", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", host.name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "ansible_connection": "ssh",
        "ansible_host": address,
        "ansible_user": "deploy",
        "ansible_become": True,
        "ansible_ssh_private_key_file": str(key),
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def test_the_ssh_connection_with_become_works_the_same(
    host: Container, ssh_login: dict[str, Any], tmp_path: Path
) -> None:
    data = os.urandom(5 * MIB + 7)
    src = tmp_path / "standin-small.bin"
    src.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    dest = "/var/lib/sovereign/models/over-ssh/standin-small.bin"
    inventory = {"all": {"hosts": {"over-ssh": ssh_login}}}
    extravars = {"push_src": str(src), "push_dest": dest, "push_sha256": sha, "push_chunk_size": MIB}

    first = run_playbook(PLAYBOOK, inventory, tmp_path, extravars={**extravars, "push_mode": "0640"})
    second = run_playbook(PLAYBOOK, inventory, tmp_path, extravars={**extravars, "push_mode": "0640"})

    assert first.rc == 0, first.failure_messages()
    assert (result_of(first)["changed"], result_of(first)["bytes_sent"]) == (True, len(data))
    assert host_sha256(host, dest) == sha
    assert host.exec("stat", "-c", "%a %U", dest).stdout.split() == ["640", "root"]
    assert "push_file [over-ssh]" in first.stdout
    assert (result_of(second)["changed"], result_of(second)["bytes_sent"]) == (False, 0)


def test_the_local_connection_works_the_same(tmp_path: Path) -> None:
    data = os.urandom(3 * MIB + 5)
    src = tmp_path / "standin-small.bin"
    src.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    dest = tmp_path / "host" / "models" / "small.bin"
    inventory = {
        "all": {
            "hosts": {
                "controller-itself": {
                    "ansible_connection": "local",
                    "ansible_python_interpreter": "/usr/bin/python3",
                }
            }
        }
    }
    extravars = {"push_src": str(src), "push_dest": str(dest), "push_sha256": sha, "push_chunk_size": MIB}

    first = run_playbook(PLAYBOOK, inventory, tmp_path, extravars=extravars)
    second = run_playbook(PLAYBOOK, inventory, tmp_path, extravars=extravars)

    assert first.rc == 0, first.failure_messages()
    assert (result_of(first)["changed"], result_of(first)["bytes_sent"]) == (True, len(data))
    assert dest.read_bytes() == data
    assert (result_of(second)["changed"], result_of(second)["bytes_sent"]) == (False, 0)
