# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The engine stand-ins (tests/standins/) and the plan slice of molecule/engine_standins.

The slice must be what the planner writes, and the stand-in files must be what the artifact cache
accepts as present, so the scenario exercises the role's real install paths.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.artifacts import ArtifactCache
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.artifacts import (
    load_catalog as load_artifacts,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.engine_argv import LaunchInput, launch

REPO = Path(__file__).resolve().parents[3]
SLICE = REPO / "molecule" / "engine_standins" / "vars" / "plan-slice.yml"
GIB = 1024**3
SAFETENSORS = LaunchInput(
    name="tiny-vllm",
    model_path="/var/lib/sovereign/models/sovereign--tiny-random/BF16",
    port=18000,
    context=256,
    concurrency=2,
    tensor_parallel=1,
    gpu_layers=None,
    kv_dtype="bf16",
    quant="BF16",
    gpus=(),
    vendor="nvidia",
    unified=False,
    compute_capability="8.6",
    device_memory_bytes=24 * GIB,
    weights_bytes=470560,
    kv_cache_bytes=262144,
    overhead_bytes=1610612736,
)
PLANNED = {
    "tiny-vllm": ("vllm", SAFETENSORS),
    "tiny-sglang": ("sglang", dataclasses.replace(SAFETENSORS, name="tiny-sglang", port=18030)),
    "tiny-ollama": (
        "ollama",
        dataclasses.replace(
            SAFETENSORS,
            name="tiny-ollama",
            port=18434,
            vendor="cpu",
            kv_dtype="fp16",
            quant="F32",
            gpu_layers=0,
            compute_capability=None,
            overhead_bytes=536870912,
            model_path="/var/lib/sovereign/models/sovereign--tiny-random/sovereign--tiny-random-F32.gguf",
        ),
    ),
}


def load_builder() -> ModuleType:
    """tests/standins/build_standins.py as a module (tests/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "build_standins", REPO / "tests" / "standins" / "build_standins.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-ins built once by the builder's own entry point."""
    out = tmp_path_factory.mktemp("standins")
    builder = load_builder()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.argv", ["build_standins.py", str(out)])
        builder.main()
    return out


@pytest.mark.parametrize("name", sorted(PLANNED))
def test_scenario_slice_is_what_the_planner_writes(name: str) -> None:
    recorded = {item["name"]: item for item in yaml.safe_load(SLICE.read_text())["engine_plan"]}[name]
    engine, item = PLANNED[name]
    started = launch(load_catalog().engines[engine], item)
    assert recorded["engine"] == engine
    assert recorded["argv"] == list(started.argv)
    assert recorded["env"] == dict(started.env)
    assert recorded["engine_version"] == load_catalog().engines[engine].version
    assert (recorded["port"], recorded["model_path"]) == (item.port, item.model_path)


def test_wheels_carry_the_real_names_at_the_pinned_versions(built: Path) -> None:
    names = sorted(path.name for path in (built / "build").iterdir())
    assert names == [
        "sglang-0.5.23-py3-none-any.whl",
        "standin-ollama-linux.tgz",
        "vllm-0.34.0-py3-none-any.whl",
    ]
    with zipfile.ZipFile(built / "build" / "vllm-0.34.0-py3-none-any.whl") as wheel:
        assert (
            wheel.read("vllm-0.34.0.dist-info/entry_points.txt")
            == b"[console_scripts]\nvllm = vllm.standin_cli:main\n"
        )
        assert b"Name: vllm\nVersion: 0.34.0\n" in wheel.read("vllm-0.34.0.dist-info/METADATA")
        assert "vllm/_standin_http.py" in wheel.namelist()


def test_wheel_record_hashes_match_the_files(built: Path) -> None:
    with zipfile.ZipFile(built / "build" / "sglang-0.5.23-py3-none-any.whl") as wheel:
        record = wheel.read("sglang-0.5.23.dist-info/RECORD").decode()
        rows = [line.split(",") for line in record.splitlines()]
        for name, digest, size in rows:
            if name.endswith("/RECORD"):
                assert (digest, size) == ("", "")
                continue
            data = wheel.read(name)
            assert size == str(len(data))
            assert digest == load_builder()._record_hash(data)
        assert {row[0] for row in rows} == set(wheel.namelist())


def test_ollama_archive_has_upstream_layout(built: Path) -> None:
    with tarfile.open(built / "build" / "standin-ollama-linux.tgz") as archive:
        members = {member.name: member for member in archive.getmembers()}
    assert sorted(members) == ["bin", "bin/ollama", "lib", "lib/ollama"]
    assert members["bin/ollama"].mode == 0o755
    assert members["bin/ollama"].isfile()


def test_build_is_reproducible(built: Path, tmp_path: Path) -> None:
    builder = load_builder()
    again = builder.build_ollama_archive(tmp_path)
    assert again.read_bytes() == (built / "build" / "standin-ollama-linux.tgz").read_bytes()
    versions = builder.pinned_versions()
    wheel = builder.build_wheel("sglang", versions["sglang"], builder.HERE / "sglang_standin", "", tmp_path)
    assert wheel.read_bytes() == (built / "build" / wheel.name).read_bytes()


def test_overrides_make_the_seeded_files_present_in_the_cache(built: Path) -> None:
    overrides: dict[str, Any] = json.loads((built / "standin-artifacts.json").read_text())
    catalog = load_artifacts(overrides)
    cache = ArtifactCache(built / "cache")
    for name, filename in (
        ("vllm", "vllm-0.34.0-py3-none-any.whl"),
        ("sglang", "sglang-0.5.23-py3-none-any.whl"),
        ("ollama", "standin-ollama-linux.tgz"),
    ):
        spec = catalog[name]
        assert set(spec.variants) == {"linux-x86_64", "linux-aarch64"}
        variant = spec.variants["linux-x86_64"]
        assert variant.filename == filename
        assert variant.sha256 == hashlib.sha256((built / "build" / filename).read_bytes()).hexdigest()
        assert cache.state(spec.resolve("linux-x86_64", "the test host")).state == "present"
    assert catalog["ollama"].version == "0.13.1"


def test_option_reads_both_flag_spellings() -> None:
    spec = importlib.util.spec_from_file_location(
        "standin_http", REPO / "tests" / "standins" / "openai_http_standin.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    argv = ["serve", "/m", "--port", "18000", "--served-model-name=chat"]
    assert module.option(argv, "--port", "8000") == "18000"
    assert module.option(argv, "--served-model-name", "/m") == "chat"
    assert module.option(argv, "--host", "127.0.0.1") == "127.0.0.1"
