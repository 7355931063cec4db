# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The Tailscale stand-in (tests/standins/tailscale_standin) behaves like upstream where the role
and its molecule scenario rely on it: Go flag syntax, the `up` settings rule, login with a key,
the race between Running and the address, the archive layout. `ip` is replaced by a recorder,
so nothing here touches this machine's network."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List

import pytest

STANDIN = Path(__file__).resolve().parents[3] / "tests/standins/tailscale_standin"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, STANDIN / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


standin = _load("tailscale_standin")
builder = _load("build_tailscale_standin")


@pytest.fixture
def ip_calls(monkeypatch: pytest.MonkeyPatch) -> List[tuple[str, ...]]:
    calls: List[tuple[str, ...]] = []

    def fake_ip(*args: str) -> bool:
        calls.append(args)
        return args[:2] != ("link", "show")

    monkeypatch.setattr(standin, "run_ip", fake_ip)
    monkeypatch.setattr(standin, "ipv6_enabled", lambda: False)
    return calls


def _up(node: Any, settings: Dict[str, Any], key: str | None = None, reset: bool = True) -> Dict[str, Any]:
    request: Dict[str, Any] = {
        "argv": ["tailscale", "up"],
        "settings": settings,
        "reset": reset,
        "force_reauth": False,
    }
    if key is not None:
        request.update(auth_key_sha256=hashlib.sha256(key.encode()).hexdigest(), auth_key_from="file")
    result: Dict[str, Any] = node.up(request)
    return result


def test_go_flag_syntax() -> None:
    flags, rest = standin.parse_go_flags(
        ["--hostname=a", "--accept-dns=false", "--ssh", "--timeout", "30s", "status"],
        standin.BOOL_FLAGS,
        standin.STRING_FLAGS,
    )
    assert flags == {"hostname": "a", "accept-dns": False, "ssh": True, "timeout": "30s"}
    assert rest == ["status"]
    with pytest.raises(SystemExit):
        standin.parse_go_flags(["--no-such-flag"], standin.BOOL_FLAGS, standin.STRING_FLAGS)
    assert standin.parse_duration("120s") == 120 and standin.parse_duration("2m") == 120


def test_a_new_node_needs_a_key_then_runs_before_its_address_exists(
    tmp_path: Path, ip_calls: List[tuple[str, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAILSCALE_STANDIN_ADDRESS_DELAY", "3600")
    node = standin.Node(tmp_path / "tailscaled.state")
    assert node.status()["BackendState"] == "NeedsLogin"
    assert _up(node, {"hostname": "gpu-1"})["BackendState"] == "NeedsLogin"
    assert (
        _up(node, {"hostname": "gpu-1", "advertise-tags": "tag:ai"}, key="tskey-auth-secret")["BackendState"]
        == "Running"
    )
    status = node.status()
    assert status["Self"]["HostName"] == "gpu-1"
    assert status["Self"]["Tags"] == ["tag:ai"]
    ipv4 = status["Self"]["TailscaleIPs"][0]
    assert ipv4.startswith("100.")
    # Running and listed, but not on the interface yet: the race.
    assert not any(call[:2] == ("addr", "add") for call in ip_calls)
    node.assign_addresses()
    assert ("addr", "add", f"{ipv4}/32", "dev", "tailscale0") in ip_calls
    record = json.loads((tmp_path / "standin-up-calls.jsonl").read_text().splitlines()[-1])
    assert record["auth_key_sha256"] == hashlib.sha256(b"tskey-auth-secret").hexdigest()
    assert "tskey-auth-secret" not in (tmp_path / "standin-up-calls.jsonl").read_text()
    assert "tskey-auth-secret" not in (tmp_path / "tailscaled.state").read_text()
    assert (tmp_path / "tailscaled.state").stat().st_mode & 0o777 == 0o600


def test_changing_settings_without_reset_needs_every_non_default_flag(
    tmp_path: Path, ip_calls: List[tuple[str, ...]]
) -> None:
    node = standin.Node(tmp_path / "tailscaled.state")
    _up(node, {"hostname": "gpu-1", "advertise-tags": "tag:ai"}, key="k")
    refused = _up(node, {"hostname": "gpu-2"}, reset=False)
    assert "requires mentioning all" in refused["error"] and "--advertise-tags=tag:ai" in refused["error"]
    assert _up(node, {"hostname": "gpu-2"}, reset=True)["BackendState"] == "Running"
    assert node.status()["Self"]["Tags"] is None


def test_a_restarted_daemon_of_a_logged_in_node_runs_again(
    tmp_path: Path, ip_calls: List[tuple[str, ...]]
) -> None:
    _up(standin.Node(tmp_path / "tailscaled.state"), {"login-server": "https://hs.example.lan"}, key="k")
    again = standin.Node(tmp_path / "tailscaled.state")
    assert again.status()["BackendState"] == "Running"
    assert again.status()["Self"]["DNSName"].endswith(".headscale-standin.internal.")
    assert again.down(logout=True)["BackendState"] == "NeedsLogin"


def test_the_archive_is_shaped_like_the_static_release(tmp_path: Path) -> None:
    path, digest = builder.build(tmp_path, "1.90.6-standin", "amd64")
    assert path.name == "tailscale_1.90.6-standin_amd64.tgz"
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()
    with tarfile.open(path) as archive:
        names = {member.name: member for member in archive.getmembers()}
    root = "tailscale_1.90.6-standin_amd64"
    assert {f"{root}/tailscale", f"{root}/tailscaled", f"{root}/systemd/tailscaled.service"} <= set(names)
    assert names[f"{root}/tailscaled"].mode == 0o755
    with tarfile.open(path) as archive:
        program = archive.extractfile(f"{root}/tailscaled")
        assert program is not None
        assert program.readline() == b"#!/usr/bin/python3\n"
    assert builder.build(tmp_path / "again", "1.90.6-standin", "amd64")[1] == digest
