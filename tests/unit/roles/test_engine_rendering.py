# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The engine role's systemd unit and launchd job, rendered for each engine from the planner's argv."""

from __future__ import annotations

import dataclasses
import plistlib
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.engine_argv import LaunchInput, launch
from systemd_unit import directives

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "engine"
UNIT_TEMPLATE = ROLE / "templates" / "etc" / "systemd" / "system" / "sovereign-engine.service.j2"
PLIST_TEMPLATE = ROLE / "templates" / "Library" / "LaunchDaemons" / "sovereign-engine.plist.j2"
GIB = 1024**3
CPU_INPUT = LaunchInput(
    name="tiny-chat",
    model_path="/var/lib/sovereign/models/sovereign--tiny-random/sovereign--tiny-random-F32.gguf",
    port=18081,
    context=256,
    concurrency=2,
    tensor_parallel=1,
    gpu_layers=0,
    kv_dtype="fp16",
    quant="F32",
    gpus=(),
    vendor="cpu",
    unified=False,
    compute_capability=None,
    device_memory_bytes=8 * GIB,
    weights_bytes=470560,
    kv_cache_bytes=262144,
    overhead_bytes=402653184,
)
GPU_INPUT = dataclasses.replace(
    CPU_INPUT,
    name="chat",
    model_path="/srv/models/Qwen--Qwen3-8B/AWQ",
    port=8000,
    context=16384,
    concurrency=4,
    tensor_parallel=2,
    gpu_layers=None,
    kv_dtype="bf16",
    quant="AWQ",
    gpus=(0, 1),
    vendor="nvidia",
    compute_capability="8.6",
    device_memory_bytes=24 * GIB,
    weights_bytes=10 * GIB,
    kv_cache_bytes=8 * GIB,
    overhead_bytes=2 * GIB,
)


def deployment(engine: str, item: LaunchInput, total_bytes: int = 0) -> dict[str, Any]:
    """A plan deployment as plan_report.py writes it, with the planner's own argv and env."""
    started = launch(load_catalog().engines[engine], item)
    return {
        "name": item.name,
        "engine": engine,
        "engine_version": load_catalog().engines[engine].version,
        "gpus": list(item.gpus),
        "port": item.port,
        "model_path": item.model_path,
        "argv": list(started.argv),
        "env": dict(started.env),
        "memory": {"total_bytes": total_bytes},
    }


def role_vars() -> dict[str, Any]:
    """The role's defaults and vars/main.yml; their templates trusted, as Ansible trusts role files."""
    variables: dict[str, Any] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(yaml.safe_load((ROLE / "vars" / "main.yml").read_text()))
    variables = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in variables.items()}
    variables["ansible_managed"] = "Ansible managed"
    return variables


def render(template: Path, item: dict[str, Any], **extra: Any) -> str:
    """Render ``template`` with the role's defaults and vars, as the template task does."""
    variables = role_vars()
    variables.update(
        __engine_deployment=item,
        __engine_unit_stem=item["name"],
        __engine_exec_path=f"/opt/sovereign/engines/{item['engine']}/bin",
        __engine_launchd_label=f"org.sovereign-stack.engine.{item['name']}",
    )
    variables.update(extra)
    templar = Templar(loader=DataLoader(), variables=variables)
    return str(templar.template(trust_as_template(template.read_text())))


def systemd_words(value: str) -> list[str]:
    """Split an ExecStart= value the way systemd does for double-quoted words, undoing %% and $$."""
    return [word.replace("%%", "%").replace("$$", "$") for word in shlex.split(value)]


def test_llama_cpp_cpu_unit_runs_the_plan_argv_fully_sandboxed() -> None:
    item = deployment("llama.cpp", CPU_INPUT, total_bytes=403385888)
    found = directives(render(UNIT_TEMPLATE, item))
    assert systemd_words(found["ExecStart"][0]) == item["argv"]
    assert item["argv"][:2] == ["llama-server", "-m"]
    assert found["ExecSearchPath"] == ["/opt/sovereign/engines/llama.cpp/bin"]
    assert found["User"] == ["sovereign-engine"]
    assert found["PrivateDevices"] == ["yes"]
    assert "DeviceAllow" not in found
    assert found["MemoryDenyWriteExecute"] == ["yes"]
    assert found["RestrictAddressFamilies"] == ["AF_INET AF_INET6 AF_UNIX"]
    assert found["CapabilityBoundingSet"] == [""]
    assert found["SystemCallFilter"] == ["@system-service", "~@privileged"]
    assert found["ProtectSystem"] == ["strict"]
    assert found["Restart"] == ["on-failure"]
    assert found["X-SovereignModelPath"] == [f'"{CPU_INPUT.model_path}"']
    assert "MemoryMax" not in found


def test_vllm_unit_opens_only_its_gpus_and_allows_jit() -> None:
    item = deployment("vllm", GPU_INPUT)
    found = directives(render(UNIT_TEMPLATE, item, engine_gpu_vendor="nvidia"))
    assert systemd_words(found["ExecStart"][0])[:3] == ["vllm", "serve", "/srv/models/Qwen--Qwen3-8B/AWQ"]
    assert systemd_words(found["ExecStart"][0]) == item["argv"]
    assert found["DevicePolicy"] == ["closed"]
    assert found["DeviceAllow"] == [
        "/dev/nvidia0 rw", "/dev/nvidia1 rw", "/dev/nvidiactl rw", "/dev/nvidia-uvm rw",
        "/dev/nvidia-uvm-tools rw",
    ]  # fmt: skip
    assert "PrivateDevices" not in found
    assert "MemoryDenyWriteExecute" not in found
    assert systemd_words(found["Environment"][1]) == ["CUDA_VISIBLE_DEVICES=0,1"]


def test_sglang_unit_on_unified_memory_gets_memory_max() -> None:
    unified = dataclasses.replace(GPU_INPUT, gpus=(), unified=True, vendor="nvidia")
    item = deployment("sglang", unified, 20 * GIB)
    found = directives(render(UNIT_TEMPLATE, item, engine_unified_memory=True))
    assert systemd_words(found["ExecStart"][0])[:3] == ["python", "-m", "sglang.launch_server"]
    assert found["MemoryMax"] == [str(20 * GIB + 1073741824)]
    assert "MemoryDenyWriteExecute" not in found


def test_ollama_unit_carries_the_plan_environment() -> None:
    item = deployment("ollama", dataclasses.replace(CPU_INPUT, port=11500, context=4096))
    found = directives(render(UNIT_TEMPLATE, item))
    assert systemd_words(found["ExecStart"][0]) == ["ollama", "serve"]
    environment = dict(systemd_words(value)[0].split("=", 1) for value in found["Environment"])
    assert environment == {
        "HOME": "/var/lib/sovereign-engine/tiny-chat",
        "OLLAMA_CONTEXT_LENGTH": "4096",
        "OLLAMA_FLASH_ATTENTION": "1",
        "OLLAMA_HOST": "127.0.0.1:11500",
        "OLLAMA_KV_CACHE_TYPE": "f16",
        "OLLAMA_MAX_LOADED_MODELS": "1",
        "OLLAMA_NUM_PARALLEL": "2",
    }
    assert found["MemoryDenyWriteExecute"] == ["yes"]


def test_arguments_with_quotes_specifiers_and_variables_stay_literal() -> None:
    item = deployment("llama.cpp", CPU_INPUT)
    item["argv"] = ["llama-server", "--alias", 'say "hi" 100% $HOME \\n', "--port", "1"]
    found = directives(render(UNIT_TEMPLATE, item))
    assert found["ExecStart"][0].split(" ", 2)[2].startswith('"say \\"hi\\" 100%% $$HOME \\\\n"')
    assert systemd_words(found["ExecStart"][0]) == item["argv"]


def test_mlx_lm_launchd_job_runs_the_plan_argv() -> None:
    mac = dataclasses.replace(CPU_INPUT, model_path="/srv/m/mlx-q4", vendor="apple", unified=True)
    item = deployment("mlx-lm", mac)
    rendered = render(PLIST_TEMPLATE, item, __engine_exec_path="/opt/sovereign/mlx/venv/bin")
    job = plistlib.loads(rendered.encode())
    assert job["ProgramArguments"] == [
        "mlx_lm.server", "--model", "/srv/m/mlx-q4", "--host", "127.0.0.1", "--port", "18081",
    ]  # fmt: skip
    assert job["Label"] == "org.sovereign-stack.engine.tiny-chat"
    assert job["UserName"] == "sovereign-engine"
    assert job["EnvironmentVariables"] == {"PATH": "/opt/sovereign/mlx/venv/bin:/usr/bin:/bin"}
    assert job["KeepAlive"] == {"SuccessfulExit": False}


def test_molecule_plan_slice_is_what_the_planner_writes() -> None:
    recorded = yaml.safe_load((REPO / "molecule" / "engine" / "vars" / "plan-slice.yml").read_text())[
        "engine_plan"
    ][0]
    planned = deployment("llama.cpp", CPU_INPUT)
    assert recorded["argv"] == planned["argv"]
    assert recorded["env"] == planned["env"] == {}
    assert recorded["engine_version"] == planned["engine_version"]


@pytest.mark.parametrize("engine", ["vllm", "sglang", "llama.cpp", "ollama", "mlx-lm"])
def test_every_planned_engine_has_an_install_task(engine: str) -> None:
    tasks = ROLE / "tasks" / f"install_{engine.replace('.', '_').replace('-', '_')}.yml"
    assert tasks.is_file()
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    assert engine in specs["options"]["engine_plan"]["options"]["engine"]["choices"]


def test_the_model_path_line_is_quoted_so_a_newline_cannot_add_lines() -> None:
    item = deployment("llama.cpp", CPU_INPUT)
    item["model_path"] = "/srv/models/x\n[Service]\nExecStartPre=/bin/sh -c id"
    rendered = render(UNIT_TEMPLATE, item)
    assert "\nExecStartPre" not in rendered
    assert rendered.splitlines().count("[Service]") == 1
    quoted = '"/srv/models/x\\n[Service]\\nExecStartPre=/bin/sh -c id"'
    assert directives(rendered)["X-SovereignModelPath"] == [quoted]


@pytest.mark.parametrize(("vendor", "devices", "variable"), [
    ("nvidia", ["/dev/nvidia0 rw", "/dev/nvidiactl rw", "/dev/nvidia-uvm rw", "/dev/nvidia-uvm-tools rw"],
     "CUDA_VISIBLE_DEVICES=0"),
    ("amd", ["/dev/kfd rw", "char-drm rw"], "HIP_VISIBLE_DEVICES=0"),
])  # fmt: skip
def test_on_a_mixed_host_each_unit_opens_its_own_vendors_devices(
    vendor: str, devices: list[str], variable: str
) -> None:
    one_gpu = dataclasses.replace(GPU_INPUT, gpus=(0,), vendor=vendor, tensor_parallel=1)
    item = deployment("llama.cpp", one_gpu)
    item["gpu_vendor"] = vendor
    # The host's vendor (the first of its GPUs) is NVIDIA; the deployment's own wins.
    found = directives(render(UNIT_TEMPLATE, item, engine_gpu_vendor="nvidia"))
    assert found["DeviceAllow"] == devices
    assert systemd_words(found["Environment"][1]) == [variable]


def test_a_plan_entry_without_its_vendor_falls_back_to_the_hosts() -> None:
    item = deployment("vllm", GPU_INPUT)
    found = directives(render(UNIT_TEMPLATE, item, engine_gpu_vendor="nvidia"))
    assert found["DeviceAllow"][:2] == ["/dev/nvidia0 rw", "/dev/nvidia1 rw"]


SAFE = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("__engine_safe_path", "/var/lib/sovereign/models/x\n[Service]"),
        ("__engine_safe_path", "/var/lib/sovereign/models/../../../etc"),
        ("__engine_safe_path", "/var/lib/sovereign/models/./x"),
        ("__engine_safe_path", "/var/lib/sovereign/models//x"),
        ("__engine_safe_path", "/var/lib/sovereign/models/x/"),
        ("__engine_safe_path", "/srv/models/$(reboot)"),
        ("__engine_safe_path", "/srv/models/a b"),
        ("__engine_safe_path", "relative/path"),
        ("__engine_safe_path", ""),
        ("__engine_safe_name", "chat\nExecStartPre=/bin/sh"),
        ("__engine_safe_name", "../chat"),
        ("__engine_safe_version", "0.11.0\n[Service]"),
        ("__engine_safe_version", "../../etc"),
        ("__engine_safe_user", "root\nUser=root"),
        ("__engine_safe_env_key", "PATH=/tmp\nX"),
    ],
)
def test_the_roles_grammar_refuses_what_would_inject_or_escape(pattern: str, value: str) -> None:
    """The role's assert uses Jinja's match test, which is Python's re.match."""
    assert re.match(SAFE[pattern], value) is None


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("__engine_safe_path", "/var/lib/sovereign/models/Qwen--Qwen3-8B/Qwen--Qwen3-8B-Q4_K_M.gguf"),
        ("__engine_safe_path", "/srv/models/meta-llama--Llama-3.1-8B-Instruct/mlx-4bit"),
        ("__engine_safe_name", "tiny-chat-1"),
        ("__engine_safe_version", "b6710"),
        ("__engine_safe_version", "0.11.0"),
        ("__engine_safe_user", "sovereign-engine"),
        ("__engine_safe_env_key", "CUDA_VISIBLE_DEVICES"),
    ],
)
def test_the_roles_grammar_accepts_what_the_planner_writes(pattern: str, value: str) -> None:
    assert re.fullmatch(SAFE[pattern], value) is not None
