# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Model weights end to end: ansible-playbook runs the action (and the engine role's weights step)
against the Hugging Face Hub stand-in (tests/standins/hf_hub_standin.py) on 127.0.0.1.

No container is needed: the action runs on the controller only, so the inventory's hosts are
controller-local names.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO_ROOT, PlaybookRun, run_playbook

sys.path.insert(0, str(REPO_ROOT / "tests" / "standins"))
from hf_hub_standin import HubStandin, StandinRepo

ACTION_PLAYBOOK = REPO_ROOT / "tests" / "integration" / "playbooks" / "model_weights.yml"
ROLE_PLAYBOOK = REPO_ROOT / "tests" / "integration" / "playbooks" / "engine_weights.yml"
FETCH_TASK = "Fetch the planned model weights"
ROLE_FETCH_TASK = "Fetch the planned model weights into the controller's artifact cache"
GGUF_REPO = "Qwen/Qwen3-8B-GGUF"
DENSE_REPO = "Qwen/Qwen3-8B"
GGUF_BYTES = os.urandom(2_000_000)
SECRET = "hf_standinIntegrationToken42"
GGUF_PATH = "/var/lib/sovereign/models/Qwen--Qwen3-8B/Qwen--Qwen3-8B-Q4_K_M.gguf"
DENSE_PATH = "/var/lib/sovereign/models/Qwen--Qwen3-8B/BF16"
GGUF_DEPLOYMENT = {
    "name": "chat",
    "model": "Qwen/Qwen3-8B",
    "quant": "Q4_K_M",
    "format": "gguf",
    "model_path": GGUF_PATH,
}
DENSE_DEPLOYMENT = {
    "name": "dense",
    "model": "Qwen/Qwen3-8B",
    "quant": "BF16",
    "format": "safetensors",
    "model_path": DENSE_PATH,
}
SOURCES = {"Qwen/Qwen3-8B": {"gguf": {"repo": GGUF_REPO, "revision": "main"}}}


def standin_repos(**gguf_options: Any) -> dict[str, StandinRepo]:
    """A GGUF repository (two quants) and the model's own safetensors repository."""
    return {
        GGUF_REPO: StandinRepo(
            files={"Qwen3-8B-Q4_K_M.gguf": GGUF_BYTES, "Qwen3-8B-Q8_0.gguf": os.urandom(4096)}, **gguf_options
        ),
        DENSE_REPO: StandinRepo(
            files={
                "model.safetensors": os.urandom(100_000),
                "config.json": b'{"model_type": "qwen3"}',
                "tokenizer.json": b"{}",
                "original/consolidated.pth": b"not wanted",
            }
        ),
    }


@pytest.fixture(autouse=True)
def no_controller_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The runner's own Hugging Face token, if any, must not reach the tests."""
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))


@pytest.fixture
def hub() -> Iterator[HubStandin]:
    server = HubStandin(standin_repos())
    yield server
    server.close()


def inventory(hub: HubStandin, cache: Path, **extra: Any) -> dict[str, Any]:
    """Two controller-local hosts and the collection-wide variables pointing at the stand-in."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    return {
        "all": {
            "hosts": {"gpu-1": dict(local), "gpu-2": dict(local)},
            "vars": {
                "sovereign_artifact_cache_dir": str(cache),
                "sovereign_hf_endpoint": hub.base,
                "sovereign_model_sources": SOURCES,
                **extra,
            },
        }
    }


def fetch(
    hub: HubStandin, tmp_path: Path, deployments: list[dict[str, Any]], check: bool = False, **extra: Any
) -> PlaybookRun:
    """Run the action playbook for ``deployments``."""
    inv = inventory(hub, tmp_path / "cache", **extra)
    return run_playbook(
        ACTION_PLAYBOOK, inv, tmp_path, extravars={"weights_deployments": deployments}, check=check
    )


def result_of(run: PlaybookRun, task: str) -> dict[str, Any]:
    """The result of the first successful event of ``task``."""
    for event in run.events:
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("task") == task:
            return dict(data["res"])
    raise AssertionError(f"task {task!r} did not succeed:\n{run.stdout}")


def content_requests(hub: HubStandin) -> list[str]:
    """Requests that transfer file contents (resolve and CDN)."""
    return [r.path for r in hub.requests if "/resolve/" in r.path or r.path.startswith("/cdn/")]


def test_fetch_then_a_second_run_requests_no_download_and_changes_nothing(
    hub: HubStandin, tmp_path: Path
) -> None:
    first = fetch(hub, tmp_path, [GGUF_DEPLOYMENT, DENSE_DEPLOYMENT])
    assert first.status == "successful", first.stdout
    result = result_of(first, FETCH_TASK)
    assert result["changed"] is True
    assert result["models"][GGUF_PATH]["sha256"] == hashlib.sha256(GGUF_BYTES).hexdigest()
    assert Path(result["models"][GGUF_PATH]["src"]).read_bytes() == GGUF_BYTES
    assert sorted(result["models"][DENSE_PATH]["files"]) == [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
    ]
    assert "model weights Qwen/Qwen3-8B-GGUF@" in first.stdout  # progress lines reach the output
    assert [r.path for r in hub.requests].count(f"/api/models/{GGUF_REPO}/revision/main") == 1
    hub.requests.clear()
    second = fetch(hub, tmp_path, [GGUF_DEPLOYMENT, DENSE_DEPLOYMENT])
    assert second.status == "successful", second.stdout
    again = result_of(second, FETCH_TASK)
    assert again["changed"] is False
    assert again["models"] == result["models"]
    assert content_requests(hub) == []


def test_an_interrupted_download_is_resumed_with_range(tmp_path: Path) -> None:
    hub = HubStandin(standin_repos(), cut_after=700_000, cut_times=1)
    try:
        run = fetch(hub, tmp_path, [GGUF_DEPLOYMENT])
    finally:
        hub.close()
    assert run.status == "successful", run.stdout
    cdn = [r for r in hub.requests if r.path.startswith("/cdn/")]
    assert [r.range for r in cdn] == [None, "bytes=700000-"]
    assert hub.bytes_served < 2 * len(GGUF_BYTES)
    assert Path(result_of(run, FETCH_TASK)["models"][GGUF_PATH]["src"]).read_bytes() == GGUF_BYTES


def test_a_wrong_hash_fails_and_leaves_no_file_in_place(tmp_path: Path) -> None:
    hub = HubStandin(standin_repos(tampered={"Qwen3-8B-Q4_K_M.gguf": os.urandom(len(GGUF_BYTES))}))
    try:
        run = fetch(hub, tmp_path, [GGUF_DEPLOYMENT])
    finally:
        hub.close()
    assert run.status == "failed"
    (message,) = run.failure_messages()
    assert "sha256 mismatch for Qwen/Qwen3-8B-GGUF@" in message
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p.name != "refs.json"]


def test_a_gated_repository_needs_a_token_and_the_token_is_never_shown(tmp_path: Path) -> None:
    hub = HubStandin(standin_repos(gated_token=SECRET))
    try:
        refused = fetch(hub, tmp_path, [GGUF_DEPLOYMENT])
        granted = fetch(hub, tmp_path, [GGUF_DEPLOYMENT], sovereign_hf_token=SECRET)
    finally:
        hub.close()
    assert refused.status == "failed"
    (message,) = refused.failure_messages()
    assert GGUF_REPO in message
    assert "answered 401" in message
    assert "sovereign_hf_token" in message
    assert granted.status == "successful", granted.stdout
    assert SECRET not in granted.stdout
    assert SECRET not in json.dumps(result_of(granted, FETCH_TASK))
    assert not any(r.authorized for r in hub.requests if r.path.startswith("/cdn/"))


def test_offline_with_weights_missing_fails_listing_them(hub: HubStandin, tmp_path: Path) -> None:
    assert fetch(hub, tmp_path, [GGUF_DEPLOYMENT]).status == "successful"
    hub.requests.clear()
    run = fetch(hub, tmp_path, [GGUF_DEPLOYMENT, DENSE_DEPLOYMENT], sovereign_artifact_offline=True)
    assert run.status == "failed"
    (message,) = run.failure_messages()
    assert f"{DENSE_REPO}@main: no listing in the cache" in message
    assert "sovereign_artifact_offline is true" in message
    assert hub.requests == []
    ok = fetch(hub, tmp_path, [GGUF_DEPLOYMENT], sovereign_artifact_offline=True)
    assert ok.status == "successful", ok.stdout
    assert result_of(ok, FETCH_TASK)["changed"] is False


def test_check_mode_reports_and_fetches_nothing(hub: HubStandin, tmp_path: Path) -> None:
    run = fetch(hub, tmp_path, [GGUF_DEPLOYMENT, DENSE_DEPLOYMENT], check=True)
    assert run.status == "successful", run.stdout
    result = result_of(run, FETCH_TASK)
    assert result["changed"] is True
    assert {f["state"] for f in result["files"]} == {"would_download"}
    assert content_requests(hub) == []
    assert not (tmp_path / "cache").exists()


def test_the_engine_role_fetches_once_for_all_hosts_and_keeps_inventory_entries(
    hub: HubStandin, tmp_path: Path
) -> None:
    seeded = {"src": "/srv/seeded/model.gguf", "sha256": "0" * 64}
    other_path = "/var/lib/sovereign/models/seeded.gguf"
    inv = inventory(hub, tmp_path / "cache")
    inv["all"]["hosts"]["gpu-2"]["engine_models"] = {other_path: seeded}
    # First in the play and without deployments: it does not include the role, as in site.yml.
    inv["all"]["hosts"] = {"cpu-1": dict(inv["all"]["hosts"]["gpu-1"]), **inv["all"]["hosts"]}
    plan = {
        "cpu-1": [],
        "gpu-1": [GGUF_DEPLOYMENT],
        "gpu-2": [DENSE_DEPLOYMENT, dict(GGUF_DEPLOYMENT, model_path=other_path)],
    }
    run = run_playbook(ROLE_PLAYBOOK, inv, tmp_path, extravars={"weights_plan": plan})
    assert run.status == "successful", run.stdout
    fetched = [host for host, task in run.task_results("changed") if task == ROLE_FETCH_TASK]
    assert len(fetched) == 1  # run_once: one fetch for the whole play
    models = {}
    for event in run.events:
        data = event.get("event_data", {})
        if event.get("event") == "runner_on_ok" and data.get("task") == "Show each host's engine_models":
            models[data["host"]] = data["res"]["engine_models"]
    assert set(models["gpu-1"]) == {GGUF_PATH}
    assert set(models["gpu-2"]) == {DENSE_PATH, other_path}
    assert models["gpu-2"][other_path] == seeded  # pre-seeded: kept, not fetched
    assert Path(models["gpu-1"][GGUF_PATH]["src"]).read_bytes() == GGUF_BYTES
    # Only Q4_K_M and the dense directory were fetched; the seeded path's file was not asked for.
    assert len(list(hub.paths("/cdn/"))) == 2
