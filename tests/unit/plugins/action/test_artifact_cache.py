# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/action/artifact_cache.py: options, play variables, hosts' platforms, results."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import IO, Any
from unittest.mock import MagicMock

import pytest
import yaml
from ansible.errors import AnsibleActionFail
from ansible_collections.sovereign.stack.plugins.action.artifact_cache import ARGUMENT_SPEC, ActionModule
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache import artifacts

BASE = "https://downloads.example/standin"
LINUX = b"stand-in linux file\n"
MAC = b"stand-in mac file\n"
LINUX_SHA = hashlib.sha256(LINUX).hexdigest()
MAC_SHA = hashlib.sha256(MAC).hexdigest()
STANDIN_QDRANT = {
    "qdrant": {
        "version": "0.0.1-standin",
        "source": "unit test stand-in",
        "variants": {
            "linux-x86_64": {
                "url": f"{BASE}/standin-linux.tgz",
                "filename": "standin-linux.tgz",
                "sha256": LINUX_SHA,
            },
            "darwin-arm64": {
                "url": f"{BASE}/standin-mac.tgz",
                "filename": "standin-mac.tgz",
                "sha256": MAC_SHA,
                "mode": "0755",
            },
        },
    }
}


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Serve the stand-in files to the cache instead of the network; returns the requested URLs."""
    files = {f"{BASE}/standin-linux.tgz": LINUX, f"{BASE}/standin-mac.tgz": MAC}
    requested: list[str] = []

    def opener(url: str) -> tuple[IO[bytes], int | None]:
        requested.append(url)
        return io.BytesIO(files[url]), len(files[url])

    monkeypatch.setattr(artifacts, "default_opener", opener)
    return requested


def action(args: dict[str, Any], check_mode: bool = False) -> ActionModule:
    """The action as Ansible would build it for one task."""
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    templar = MagicMock()
    templar.template.side_effect = lambda value: value
    return ActionModule(task, MagicMock(), MagicMock(), MagicMock(), templar, MagicMock())


def play_vars(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    """Task variables of a play with a Linux x86_64 host and an Apple Silicon host."""
    return {
        "ansible_play_hosts": ["gpu-1", "mac-1"],
        "hostvars": {
            "gpu-1": {"ansible_facts": {"system": "Linux", "architecture": "x86_64"}},
            "mac-1": {"ansible_facts": {"system": "Darwin", "architecture": "arm64"}},
        },
        "sovereign_artifact_cache_dir": str(tmp_path / "cache"),
        "sovereign_artifacts": STANDIN_QDRANT,
        **extra,
    }


def test_each_host_gets_its_platform_file(tmp_path: Path, upstream: list[str]) -> None:
    result = action({"names": ["qdrant"], "dest_dir": "/var/cache/sovereign/artifacts"}).run(
        task_vars=play_vars(tmp_path)
    )

    cache = tmp_path / "cache" / "qdrant" / "0.0.1-standin"
    assert result["changed"] is True
    assert sorted(upstream) == [f"{BASE}/standin-linux.tgz", f"{BASE}/standin-mac.tgz"]
    assert result["hosts"] == {
        "gpu-1": {
            "qdrant": {
                "src": str(cache / "standin-linux.tgz"),
                "dest": "/var/cache/sovereign/artifacts/qdrant/0.0.1-standin/standin-linux.tgz",
                "mode": "0644",
                "sha256": LINUX_SHA,
                "version": "0.0.1-standin",
                "platform": "linux-x86_64",
                "in_cache": True,
            }
        },
        "mac-1": {
            "qdrant": {
                "src": str(cache / "standin-mac.tgz"),
                "dest": "/var/cache/sovereign/artifacts/qdrant/0.0.1-standin/standin-mac.tgz",
                "mode": "0755",
                "sha256": MAC_SHA,
                "version": "0.0.1-standin",
                "platform": "darwin-arm64",
                "in_cache": True,
            }
        },
    }
    assert result["paths"] == {
        "gpu-1": {"qdrant": "/var/cache/sovereign/artifacts/qdrant/0.0.1-standin/standin-linux.tgz"},
        "mac-1": {"qdrant": "/var/cache/sovereign/artifacts/qdrant/0.0.1-standin/standin-mac.tgz"},
    }
    assert result["msg"] == f"2 downloaded, 0 would be downloaded, 0 already in cache ({tmp_path / 'cache'})"


def test_second_run_is_unchanged(tmp_path: Path, upstream: list[str]) -> None:
    action({"names": ["qdrant"]}).run(task_vars=play_vars(tmp_path))
    result = action({"names": ["qdrant"]}).run(task_vars=play_vars(tmp_path))
    assert result["changed"] is False
    assert len(upstream) == 2
    assert {entry["state"] for entry in result["artifacts"]} == {"cached"}


def test_check_mode_reports_without_downloading(tmp_path: Path, upstream: list[str]) -> None:
    result = action({"names": ["qdrant"], "dest_dir": "/opt/a"}, check_mode=True).run(
        task_vars=play_vars(tmp_path)
    )
    assert result["changed"] is True
    assert upstream == []
    assert [entry["state"] for entry in result["artifacts"]] == ["would_download", "would_download"]
    assert result["hosts"]["gpu-1"]["qdrant"]["in_cache"] is False
    assert result["hosts"]["gpu-1"]["qdrant"]["sha256"] is None
    assert not (tmp_path / "cache").exists()


def test_offline_variable_fails_with_the_missing_list(tmp_path: Path, upstream: list[str]) -> None:
    with pytest.raises(AnsibleActionFail) as error:
        action({"names": ["qdrant"]}).run(task_vars=play_vars(tmp_path, sovereign_artifact_offline=True))
    message = str(error.value)
    assert "2 artifact file(s) are not in the cache" in message
    assert "qdrant 0.0.1-standin (linux-x86_64): standin-linux.tgz" in message
    assert "qdrant 0.0.1-standin (darwin-arm64): standin-mac.tgz" in message
    assert upstream == []


def test_option_beats_play_variable(tmp_path: Path, upstream: list[str]) -> None:
    result = action({"names": ["qdrant"], "offline": False, "cache_dir": str(tmp_path / "other")}).run(
        task_vars=play_vars(tmp_path, sovereign_artifact_offline=True)
    )
    assert result["cache_dir"] == str(tmp_path / "other")
    assert (tmp_path / "other" / "qdrant" / "0.0.1-standin" / "standin-linux.tgz").read_bytes() == LINUX


def test_host_without_a_variant_fails_naming_host_and_available_platforms(
    tmp_path: Path, upstream: list[str]
) -> None:
    task_vars = play_vars(tmp_path)
    task_vars["hostvars"]["mac-1"]["ansible_facts"]["architecture"] = "x86_64"
    with pytest.raises(
        AnsibleActionFail, match=r"'darwin-x86_64' \(needed by host mac-1\); available: darwin-arm64"
    ):
        action({"names": ["qdrant"]}).run(task_vars=task_vars)
    assert upstream == []


def test_host_without_facts_is_an_actionable_error(tmp_path: Path, upstream: list[str]) -> None:
    task_vars = play_vars(tmp_path)
    task_vars["hostvars"]["mac-1"] = {}
    with pytest.raises(AnsibleActionFail, match=r"host mac-1 has no ansible_facts.system/architecture"):
        action({"names": ["qdrant"]}).run(task_vars=task_vars)


def test_explicit_platforms_fetch_without_host_facts(tmp_path: Path, upstream: list[str]) -> None:
    result = action({"names": ["qdrant"], "platforms": ["darwin-arm64"]}).run(
        task_vars={"sovereign_artifact_cache_dir": str(tmp_path), "sovereign_artifacts": STANDIN_QDRANT}
    )
    assert upstream == [f"{BASE}/standin-mac.tgz"]
    assert "hosts" not in result


def test_all_variants_fetches_every_platform(tmp_path: Path, upstream: list[str]) -> None:
    result = action({"names": ["qdrant"], "all_variants": True}).run(
        task_vars={"sovereign_artifact_cache_dir": str(tmp_path), "sovereign_artifacts": STANDIN_QDRANT}
    )
    assert sorted(entry["platform"] for entry in result["artifacts"]) == ["darwin-arm64", "linux-x86_64"]


def test_mirror_variable_is_applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requested: list[str] = []

    def opener(url: str) -> tuple[IO[bytes], int | None]:
        requested.append(url)
        return io.BytesIO(LINUX), len(LINUX)

    monkeypatch.setattr(artifacts, "default_opener", opener)
    action({"names": ["qdrant"], "platforms": ["linux-x86_64"]}).run(
        task_vars=play_vars(tmp_path, sovereign_artifact_mirror="http://mirror.lan")
    )
    assert requested == ["http://mirror.lan/qdrant/0.0.1-standin/standin-linux.tgz"]


def test_seed_mode_reports_rejected_files_as_warnings(tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "standin-linux.tgz").write_bytes(LINUX)
    (usb / "standin-mac.tgz").write_bytes(LINUX)

    result = action({"seed_dir": str(usb)}).run(task_vars=play_vars(tmp_path))

    assert result["changed"] is True
    assert result["seeded"] == ["qdrant 0.0.1-standin (linux-x86_64)"]
    assert result["warnings"] == [
        f"skipped {usb / 'standin-mac.tgz'}: sha256 {LINUX_SHA} does not match "
        f"qdrant 0.0.1-standin (darwin-arm64), expected {MAC_SHA}"
    ]


def test_unknown_name_and_conflicting_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AnsibleActionFail, match=r"unknown artifact\(s\) 'qdrnat'"):
        action({"names": ["qdrnat"]}).run(task_vars=play_vars(tmp_path))
    with pytest.raises(
        AnsibleActionFail, match=re.escape("parameters are mutually exclusive: seed_dir|dest_dir")
    ):
        action({"seed_dir": str(tmp_path), "dest_dir": "/opt"}).run(task_vars=play_vars(tmp_path))


def test_artifacts_role_defaults_agree_with_its_argument_specs() -> None:
    role = Path(__file__).resolve().parents[4] / "roles" / "artifacts"
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"][
        "options"
    ]
    assert set(defaults) == set(options) == {"artifacts_names", "artifacts_dest_dir"}
    for name, spec in options.items():
        assert spec["default"] == defaults[name], name
        assert spec["type"] and spec["description"], name
    tasks = yaml.safe_load((role / "tasks" / "main.yml").read_text())
    [call] = [task for task in tasks if "sovereign.stack.artifact_cache" in task]
    assert set(call["sovereign.stack.artifact_cache"]) <= set(ARGUMENT_SPEC)
    assert call["run_once"] is True
