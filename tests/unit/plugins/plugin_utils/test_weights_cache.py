# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/cache/weights_cache.py and weights_hub.py against the Hub stand-in.

The stand-in (tests/standins/hf_hub_standin.py) serves on 127.0.0.1 through Ansible's real
``open_url``, so redirects, Range requests and cut connections are the real ones.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.artifacts import Feedback
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_cache import (
    WeightsCache,
    git_blob_id,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_hub import (
    HubClient,
    Token,
    default_opener,
    find_token,
    parse_listing,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_sources import (
    ModelSource,
    WantedModel,
    WeightsError,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "standins"))
from hf_hub_standin import HubStandin, StandinRepo

GGUF_REPO = "Qwen/Qwen3-8B-GGUF"
DENSE_REPO = "Qwen/Qwen3-8B"
GGUF_BYTES = os.urandom(300_000)
GGUF = WantedModel("Qwen/Qwen3-8B", "Q4_K_M", "gguf", "/m/Qwen--Qwen3-8B/Qwen--Qwen3-8B-Q4_K_M.gguf")
DENSE = WantedModel("Qwen/Qwen3-8B", "BF16", "safetensors", "/m/Qwen--Qwen3-8B/BF16")
SECRET = "hf_standinSecretToken0123456789"


def repos(**gguf_options: Any) -> dict[str, StandinRepo]:
    """A GGUF repository and a safetensors one (with a small, non-LFS config file)."""
    return {
        GGUF_REPO: StandinRepo(
            files={
                "Qwen3-8B-Q4_K_M.gguf": GGUF_BYTES,
                "Qwen3-8B-Q8_0.gguf": b"q8" * 100,
                "README.md": b"# r",
            },
            **gguf_options,
        ),
        DENSE_REPO: StandinRepo(
            files={
                "model.safetensors": os.urandom(50_000),
                "config.json": b'{"architectures": ["Qwen3ForCausalLM"]}',
                "tokenizer.json": b"{}" * 600,
                "original/params.json": b"{}",
            }
        ),
    }


@pytest.fixture
def hub() -> Iterator[HubStandin]:
    server = HubStandin(repos())
    yield server
    server.close()


def sources(gguf_revision: str = "main") -> list[tuple[WantedModel, ModelSource]]:
    """Both models, the GGUF one from its own repository."""
    return [
        (GGUF, ModelSource(GGUF_REPO, gguf_revision, None, "sources['Qwen/Qwen3-8B'].gguf")),
        (DENSE, ModelSource(DENSE_REPO, "main", None, "own repository")),
    ]


def cache_for(hub: HubStandin, tmp_path: Path, token: Token | None = None, **options: Any) -> WeightsCache:
    """A cache under tmp_path talking to the stand-in; progress lines collected in ``said``."""
    said: list[str] = []
    cache = WeightsCache(
        tmp_path / "cache", HubClient(hub.base, token), feedback=Feedback(say=said.append), **options
    )
    cache.said = said  # type: ignore[attr-defined]  # test-only handle on the progress lines
    return cache


def downloads(hub: HubStandin) -> list[str]:
    """Requests that transfer file contents."""
    return hub.paths("/cdn/") + [p for p in hub.paths("/") if "/resolve/" in p]


def test_fetch_gives_engine_models_entries_and_a_manifest(hub: HubStandin, tmp_path: Path) -> None:
    cache = cache_for(hub, tmp_path)
    report = cache.ensure(sources(), offline=False, check_mode=False)
    commit = hub.repos[GGUF_REPO].commit
    snapshot = tmp_path / "cache" / "models" / GGUF_REPO / commit
    assert report.changed
    assert report.models[GGUF.model_path] == {
        "src": str(snapshot / "Qwen3-8B-Q4_K_M.gguf"),
        "sha256": hashlib.sha256(GGUF_BYTES).hexdigest(),
    }
    assert (snapshot / "Qwen3-8B-Q4_K_M.gguf").read_bytes() == GGUF_BYTES
    assert not (snapshot / "Qwen3-8B-Q8_0.gguf").exists()
    dense = report.models[DENSE.model_path]
    dense_commit = hub.repos[DENSE_REPO].commit
    assert dense["src"] == str(tmp_path / "cache" / "models" / DENSE_REPO / dense_commit)
    files = hub.repos[DENSE_REPO].files
    assert dense["files"] == {
        name: hashlib.sha256(files[name]).hexdigest()
        for name in ("config.json", "model.safetensors", "tokenizer.json")
    }
    manifest = json.loads((snapshot.parent / f"{commit}.manifest.json").read_text())
    assert {k: manifest[k] for k in ("repo", "revision", "commit", "endpoint")} == {
        "repo": GGUF_REPO,
        "revision": "main",
        "commit": commit,
        "endpoint": hub.base.removeprefix("http://"),
    }
    (entry,) = manifest["files"].values()
    assert entry["size"] == len(GGUF_BYTES)
    assert entry["sha256"] == hashlib.sha256(GGUF_BYTES).hexdigest()
    assert entry["fetched_at"].endswith("Z")
    refs = json.loads((snapshot.parent / "refs.json").read_text())
    assert refs == {"main": commit}
    assert not list(snapshot.rglob("*.part"))
    assert {f["state"] for f in report.files} == {"downloaded"}


def test_a_second_run_downloads_nothing_and_changes_nothing(hub: HubStandin, tmp_path: Path) -> None:
    first = cache_for(hub, tmp_path).ensure(sources(), offline=False, check_mode=False)
    hub.requests.clear()
    manifests = sorted((tmp_path / "cache").rglob("*.manifest.json"))
    before = [path.read_text() for path in manifests]
    second = cache_for(hub, tmp_path).ensure(sources(), offline=False, check_mode=False)
    assert downloads(hub) == []
    assert not second.changed
    assert second.models == first.models
    assert {f["state"] for f in second.files} == {"cached"}
    assert [path.read_text() for path in manifests] == before


def test_a_commit_revision_already_cached_makes_no_request_at_all(hub: HubStandin, tmp_path: Path) -> None:
    commit = hub.repos[GGUF_REPO].commit
    cache_for(hub, tmp_path).ensure(sources(commit)[:1], offline=False, check_mode=False)
    hub.requests.clear()
    report = cache_for(hub, tmp_path).ensure(sources(commit)[:1], offline=False, check_mode=False)
    assert hub.requests == []
    assert not report.changed


def test_a_cached_file_that_no_longer_verifies_is_fetched_again(hub: HubStandin, tmp_path: Path) -> None:
    report = cache_for(hub, tmp_path).ensure(sources()[:1], offline=False, check_mode=False)
    path = Path(report.models[GGUF.model_path]["src"])
    path.write_bytes(b"x" * len(GGUF_BYTES))  # same size, other bytes: only the re-verified hash tells
    hub.requests.clear()
    again = cache_for(hub, tmp_path).ensure(sources()[:1], offline=False, check_mode=False)
    assert path.read_bytes() == GGUF_BYTES
    assert again.changed
    assert len(hub.paths("/cdn/")) == 1


def test_an_interrupted_download_resumes_with_range_in_the_same_run(tmp_path: Path) -> None:
    hub = HubStandin(repos(), cut_after=100_000, cut_times=1)
    try:
        cache = cache_for(hub, tmp_path)
        report = cache.ensure(sources()[:1], offline=False, check_mode=False)
    finally:
        hub.close()
    cdn = [r for r in hub.requests if r.path.startswith("/cdn/")]
    assert [r.range for r in cdn] == [None, "bytes=100000-"]
    assert hub.bytes_served < 2 * len(GGUF_BYTES)
    assert Path(report.models[GGUF.model_path]["src"]).read_bytes() == GGUF_BYTES
    assert any("resuming at" in line for line in cache.said)  # type: ignore[attr-defined]


def test_a_download_that_keeps_failing_keeps_its_part_for_the_next_run(tmp_path: Path) -> None:
    hub = HubStandin(repos(), cut_after=60_000, cut_times=2)
    try:
        with pytest.raises(
            WeightsError, match=r"failed 2 times, last after 120000 of 300000 bytes.*run again"
        ):
            cache_for(hub, tmp_path, retries=1).ensure(sources()[:1], offline=False, check_mode=False)
        commit = hub.repos[GGUF_REPO].commit
        part = tmp_path / "cache" / "models" / GGUF_REPO / commit / "Qwen3-8B-Q4_K_M.gguf.part"
        assert part.stat().st_size == 120_000
        hub.requests.clear()
        report = cache_for(hub, tmp_path).ensure(sources()[:1], offline=False, check_mode=False)
    finally:
        hub.close()
    assert [r.range for r in hub.requests if r.path.startswith("/cdn/")] == ["bytes=120000-"]
    assert Path(report.models[GGUF.model_path]["src"]).read_bytes() == GGUF_BYTES
    assert not part.exists()


def test_a_server_that_ignores_range_restarts_the_file(hub: HubStandin, tmp_path: Path) -> None:
    commit = hub.repos[GGUF_REPO].commit
    part = tmp_path / "cache" / "models" / GGUF_REPO / commit / "Qwen3-8B-Q4_K_M.gguf.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale" * 1000)

    def no_range(url: str, **kwargs: Any) -> Any:
        headers = {k: v for k, v in kwargs.pop("headers").items() if k != "Range"}
        return default_opener(url, headers=headers, **kwargs)

    said: list[str] = []
    cache = WeightsCache(
        tmp_path / "cache", HubClient(hub.base, None, opener=no_range), Feedback(say=said.append)
    )
    report = cache.ensure(sources()[:1], offline=False, check_mode=False)
    assert Path(report.models[GGUF.model_path]["src"]).read_bytes() == GGUF_BYTES
    assert any("did not resume at byte 5000; starting over" in line for line in said)


def test_a_wrong_hash_fails_and_leaves_nothing_in_place(tmp_path: Path) -> None:
    hub = HubStandin(repos(tampered={"Qwen3-8B-Q4_K_M.gguf": os.urandom(len(GGUF_BYTES))}))
    try:
        with pytest.raises(WeightsError) as error:
            cache_for(hub, tmp_path).ensure(sources()[:1], offline=False, check_mode=False)
    finally:
        hub.close()
    assert "sha256 mismatch" in str(error.value)
    assert hashlib.sha256(GGUF_BYTES).hexdigest() in str(error.value)
    snapshot = tmp_path / "cache" / "models" / GGUF_REPO / hub.repos[GGUF_REPO].commit
    assert list(snapshot.iterdir()) == []
    assert not list((tmp_path / "cache").rglob("*.manifest.json"))


def test_a_small_file_is_verified_by_its_git_blob_id(tmp_path: Path) -> None:
    served = repos()
    genuine = served[DENSE_REPO].files["config.json"]
    served[DENSE_REPO].tampered["config.json"] = genuine.replace(b"Qwen3", b"Evil3")  # same size
    hub = HubStandin(served)
    try:
        with pytest.raises(WeightsError, match=r"git blob id mismatch for .*config.json"):
            cache_for(hub, tmp_path).ensure(sources()[1:], offline=False, check_mode=False)
        served[DENSE_REPO].tampered["config.json"] = b"{}"
        with pytest.raises(WeightsError, match=r"config.json serves 2 bytes, the Hub lists \d+"):
            cache_for(hub, tmp_path).ensure(sources()[1:], offline=False, check_mode=False)
    finally:
        hub.close()
    path = tmp_path / "blob"
    path.write_bytes(b"hello\n")
    assert git_blob_id(path) == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object


def test_a_gated_repository_without_a_token_names_the_repo_and_how_to_give_one(tmp_path: Path) -> None:
    hub = HubStandin(repos(gated_token=SECRET))
    try:
        with pytest.raises(WeightsError) as error:
            cache_for(hub, tmp_path).ensure(sources()[:1], offline=False, check_mode=False)
        assert "answered 401" in str(error.value)
        assert GGUF_REPO in str(error.value)
        assert "sovereign_hf_token" in str(error.value)
        with pytest.raises(WeightsError) as refused:
            wrong = Token("hf_wrong", "HF_TOKEN")
            cache_for(hub, tmp_path, token=wrong).ensure(sources()[:1], offline=False, check_mode=False)
        assert "answered 403" in str(refused.value)
        assert "HF_TOKEN" in str(refused.value)
        assert "hf_wrong" not in str(refused.value)
        hub.requests.clear()
        report = cache_for(hub, tmp_path, token=Token(SECRET, "sovereign_hf_token")).ensure(
            sources()[:1], offline=False, check_mode=False
        )
    finally:
        hub.close()
    assert Path(report.models[GGUF.model_path]["src"]).read_bytes() == GGUF_BYTES
    resolve = [r for r in hub.requests if "/resolve/" in r.path]
    cdn = [r for r in hub.requests if r.path.startswith("/cdn/")]
    assert resolve and all(r.authorized for r in resolve)
    assert cdn and not any(r.authorized for r in cdn)  # the token never leaves the endpoint
    for path in (tmp_path / "cache").rglob("*.json"):
        assert SECRET not in path.read_text()
    assert SECRET not in json.dumps(report.models) + json.dumps(report.files)


def test_offline_lists_every_missing_item_and_makes_no_request(hub: HubStandin, tmp_path: Path) -> None:
    with pytest.raises(WeightsError) as error:
        cache_for(hub, tmp_path).ensure(sources(), offline=True, check_mode=False)
    assert hub.requests == []
    message = str(error.value)
    assert f"{GGUF_REPO}@main: no listing in the cache" in message
    assert f"{DENSE_REPO}@main: no listing in the cache" in message


def test_offline_after_a_fetch_resolves_the_branch_from_the_cache(hub: HubStandin, tmp_path: Path) -> None:
    first = cache_for(hub, tmp_path).ensure(sources(), offline=False, check_mode=False)
    hub.requests.clear()
    again = cache_for(hub, tmp_path).ensure(sources(), offline=True, check_mode=False)
    assert hub.requests == []
    assert again.models == first.models
    Path(first.models[GGUF.model_path]["src"]).unlink()
    with pytest.raises(WeightsError) as error:
        cache_for(hub, tmp_path).ensure(sources(), offline=True, check_mode=False)
    assert "Qwen3-8B-Q4_K_M.gguf" in str(error.value)
    assert f"expected at: {first.models[GGUF.model_path]['src']}" in str(error.value)
    assert "1 model weight item(s)" in str(error.value)


def test_check_mode_reports_what_would_be_fetched_and_writes_nothing(hub: HubStandin, tmp_path: Path) -> None:
    report = cache_for(hub, tmp_path).ensure(sources(), offline=False, check_mode=True)
    assert report.changed
    assert {f["state"] for f in report.files} == {"would_download"}
    assert report.models[GGUF.model_path]["sha256"] == hashlib.sha256(GGUF_BYTES).hexdigest()
    assert report.models[DENSE.model_path]["files"]["config.json"] is None  # non-LFS: known once fetched
    assert downloads(hub) == []
    assert not (tmp_path / "cache").exists()


def test_a_verified_file_copied_in_by_hand_is_adopted_without_download(
    hub: HubStandin, tmp_path: Path
) -> None:
    commit = hub.repos[GGUF_REPO].commit
    target = tmp_path / "cache" / "models" / GGUF_REPO / commit / "Qwen3-8B-Q4_K_M.gguf"
    target.parent.mkdir(parents=True)
    target.write_bytes(GGUF_BYTES)
    report = cache_for(hub, tmp_path).ensure(sources()[:1], offline=False, check_mode=False)
    assert downloads(hub) == []
    assert [f["state"] for f in report.files] == ["adopted"]
    manifest = json.loads((target.parent.parent / f"{commit}.manifest.json").read_text())
    assert manifest["files"]["Qwen3-8B-Q4_K_M.gguf"]["sha256"] == hashlib.sha256(GGUF_BYTES).hexdigest()


def test_unknown_repositories_and_unreachable_endpoints_say_what_to_check(
    hub: HubStandin, tmp_path: Path
) -> None:
    missing = [(GGUF, ModelSource("Qwen/Nope-GGUF", "main", None, "src"))]
    with pytest.raises(WeightsError, match=r"answered 404 .*Qwen/Nope-GGUF@main.*sovereign_model_sources"):
        cache_for(hub, tmp_path).ensure(missing, offline=False, check_mode=False)
    closed = WeightsCache(tmp_path / "c", HubClient("http://127.0.0.1:9", None))
    with pytest.raises(WeightsError, match=r"could not reach http://127.0.0.1:9 .*sovereign_hf_endpoint"):
        closed.ensure(sources()[:1], offline=False, check_mode=False)


def test_a_listing_naming_a_file_outside_the_repository_is_refused() -> None:
    document = {
        "sha": "a" * 40,
        "siblings": [{"rfilename": "../../etc/cron.d/x", "size": 1, "blobId": "b" * 40}],
    }
    with pytest.raises(WeightsError, match="outside the repository"):
        parse_listing(document, "evil/repo", "main")
    with pytest.raises(WeightsError, match=r"must be asked with \?blobs=true"):
        parse_listing({"sha": "a" * 40, "siblings": [{"rfilename": "x.gguf"}]}, "r/r", "main")


def test_the_token_comes_from_the_variable_then_the_environment_then_the_token_file(tmp_path: Path) -> None:
    (tmp_path / ".cache" / "huggingface").mkdir(parents=True)
    (tmp_path / ".cache" / "huggingface" / "token").write_text("hf_from_file\n")
    (tmp_path / "hfhome").mkdir()
    (tmp_path / "hfhome" / "token").write_text("hf_from_hf_home\n")
    env = {"HF_TOKEN": "hf_from_env", "HF_HOME": str(tmp_path / "hfhome")}
    assert find_token("hf_explicit", env, tmp_path) == Token("hf_explicit", "sovereign_hf_token")
    assert find_token(None, env, tmp_path) == Token("hf_from_env", "HF_TOKEN")
    from_home = find_token(None, {"HF_HOME": env["HF_HOME"]}, tmp_path)
    assert from_home == Token("hf_from_hf_home", str(tmp_path / "hfhome" / "token"))
    default = find_token(None, {}, tmp_path)
    assert default == Token("hf_from_file", str(tmp_path / ".cache" / "huggingface" / "token"))
    assert find_token(None, {}, tmp_path / "nowhere") is None
    assert "hf_from_file" not in repr(default)


def test_too_little_free_space_fails_before_any_download(
    hub: HubStandin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def tiny_disk(path: object) -> Any:
        return shutil._ntuple_diskusage(10**6, 10**6 - 1000, 1000)

    monkeypatch.setattr(shutil, "disk_usage", tiny_disk)
    with pytest.raises(
        WeightsError, match=r"need .* but .* has 1000 bytes free.*sovereign_artifact_cache_dir"
    ):
        cache_for(hub, tmp_path).ensure(sources()[:1], offline=False, check_mode=False)
    assert downloads(hub) == []
