# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""playbooks/site.yml: it stops in the plan, before any layer changes a host, when a deployment
does not fit; a run limited to the engine layer still plans first and rolls one host at a time; the
TLS proxy's locations and replica fallbacks follow the plan (playbooks/vars/site_layers.yml)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from conftest import COLLECTIONS_PATH, REPO_ROOT, run_playbook

if TYPE_CHECKING:  # imported at run time, pytest would try to collect the class as tests
    from conftest import TestContainer

SITE = REPO_ROOT / "playbooks" / "site.yml"
SITE_LAYERS = REPO_ROOT / "playbooks" / "vars" / "site_layers.yml"
PLAN_TASK = "Compute and write the fleet plan"
# Files the baseline layer (the first layer that changes a host) would write.
BASELINE_FILES = ["/etc/ssh/sshd_config", "/etc/sysctl.d/60-sovereign-baseline.conf"]


def _state(host: TestContainer) -> str:
    """Checksums (or absence) of the files the first changing layer writes, and the package list."""
    listing = host.exec("sh", "-c", "sha256sum " + " ".join(BASELINE_FILES) + " 2>&1; dpkg -l | sha256sum")
    return listing.stdout


@pytest.mark.integration
def test_site_stops_in_the_plan_before_any_host_is_changed(
    debian_host: TestContainer, tmp_path: Path
) -> None:
    before = _state(debian_host)
    inventory = {
        "all": {
            "hosts": {debian_host.name: debian_host.inventory_host()},
            "vars": {
                # A 400B MoE model at a context no container's memory holds, with nothing allowed to shrink.
                "sovereign_deployments": [
                    {
                        "name": "too-big",
                        "model": "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
                        "context": 131072,
                    }
                ],
                "baseline_updates_mirror_host": "deb.debian.org",
                "baseline_timesync_servers": ["ntp.sovereign.test"],
                "baseline_ssh_admin_networks": ["172.16.0.0/12"],
            },
        }
    }
    run = run_playbook(
        SITE, inventory, tmp_path, extravars={"sovereign_plan_output_dir": str(tmp_path / "plan")}
    )
    assert run.status == "failed", run.stdout
    assert [task for _unused, task in run.task_results("failed")] == [PLAN_TASK]
    (message,) = run.failure_messages()
    assert "too-big" in message
    assert run.task_results("changed") == []
    ran = {task for _unused, task in run.task_results("ok") + run.task_results("skipped")}
    assert not any(task.startswith("Apply the baseline role") for task in ran)
    assert _state(debian_host) == before


@pytest.mark.integration
def test_engine_layer_runs_on_a_linux_host_with_no_deployment(
    debian_host: TestContainer, tmp_path: Path
) -> None:
    """A host the plan gives no deployment still gets the engine role, which then only looks for
    services an earlier plan left there (to remove them) and creates nothing."""
    inventory = {"all": {"hosts": {debian_host.name: debian_host.inventory_host()},
                         "vars": {"sovereign_deployments": []}}}  # fmt: skip
    run = run_playbook(
        SITE, inventory, tmp_path, tags="engine",
        extravars={"sovereign_plan_output_dir": str(tmp_path / "plan")},
    )  # fmt: skip
    assert run.status == "successful", run.stdout
    ran = {task for _unused, task in run.task_results("ok")}
    assert "Find the engine services on the host" in ran, sorted(ran)
    skipped = {task for _unused, task in run.task_results("skipped")}
    assert "Create the engine account" in skipped, sorted(skipped)
    # Only the plan, written on the controller, changes.
    assert [task for _unused, task in run.task_results("changed")] == [PLAN_TASK]
    assert debian_host.exec("sh", "-c", "getent passwd sovereign-engine || true").stdout == ""


def test_engine_play_rolls_one_host_at_a_time_and_stops_at_the_first_failure() -> None:
    plays = {play["name"]: play for play in yaml.safe_load(SITE.read_text())}
    engine = plays["Serve the planned models"]
    assert engine["serial"] == "{{ sovereign_engine_serial | default(1) }}"
    assert engine["max_fail_percentage"] == 0
    # Every layer reads its slice of the plan: a run limited to one layer must still plan first.
    assert "always" in plays["Know the hardware"]["tags"]
    assert "always" in plays["Plan the fleet on the controller"]["tags"]


def _listed_tasks(tmp_path: Path, tags: str) -> list[str]:
    """The task lines ``ansible-playbook site.yml --tags <tags> --list-tasks`` prints, in order."""
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_PATH),
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path),
    }
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"a": {}, "b": {}}}}))
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(SITE),
         "--tags", tags, "--list-tasks"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    lines = [line.strip() for line in listed.stdout.splitlines()]
    return [line for line in lines if "TAGS:" in line and not line.startswith("play #")]


def test_tags_engine_lists_the_hardware_and_the_plan_before_the_engines(tmp_path: Path) -> None:
    tasks = _listed_tasks(tmp_path, "engine")
    first_engine = next(index for index, task in enumerate(tasks) if "engines of this host" in task)
    assert any(PLAN_TASK in task for task in tasks[:first_engine]), tasks
    assert any("sovereign.stack.hardware" in task for task in tasks[:first_engine]), tasks
    # Nothing of another layer is in the run.
    assert not any("baseline" in task or "Tailscale" in task for task in tasks), tasks


def test_the_health_probe_is_a_layer_of_its_own(tmp_path: Path) -> None:
    """Issue 23: the probe hid in the backup layer (``'backup' in __site_layers``, tags backup and
    health on one play), so ``--tags backup`` reinstalled it and a host could not have one without
    the other."""
    backup = _listed_tasks(tmp_path, "backup")
    assert any("Apply the backup role" in task for task in backup), backup
    assert not any("health probe" in task for task in backup), backup
    health = _listed_tasks(tmp_path, "health")
    assert any("Apply the health probe role" in task for task in health), health
    assert not any("backup role" in task for task in health), health
    layers = yaml.safe_load(SITE_LAYERS.read_text())["__site_all_layers"]
    assert layers[-2:] == ["backup", "health"]
    plays = {play["name"]: play for play in yaml.safe_load(SITE.read_text())}
    assert (
        plays["Probe the stack's health"]["hosts"] == "{{ groups['sovereign_layer_health'] | default([]) }}"
    )


# The tiny test model (tests/fixtures/engine/tiny_gguf.py) as a catalog model.
TINY_MODEL = {
    "params_total_b": 0.000116, "params_active_b": 0.000116, "layers": 2, "hidden_size": 64,
    "attention_heads": 2, "kv_heads": 2, "head_dim": 32, "vocab_size": 265, "max_context": 512,
    "tie_embeddings": False, "attention": {"kind": "full"}, "moe": None, "source": "test",
}  # fmt: skip
LOCATIONS_PLAY = """
- name: Compute the TLS proxy's locations the way site.yml does
  hosts: all
  gather_facts: false
  vars_files: [{layers}]
  tasks:
    - name: Plan the fleet
      sovereign.stack.fleet_plan:
        output_dir: {out}
      run_once: true
      delegate_to: localhost
      register: sovereign_plan

    - name: Read the records the services layer wrote (roles qdrant and mcp_gateway)
      ansible.builtin.setup:
        gather_subset: ["!all", "!min", "local"]
        fact_path: "{facts}/{{{{ inventory_hostname }}}}"

    - name: Join the tailnet (the facts of role tailscale)
      ansible.builtin.set_fact:
        tailscale_ipv4: "{{{{ tailnet_ipv4 }}}}"
        tailscale_dns_name: "{{{{ inventory_hostname }}}}.tail1234.ts.net."
      when: tailnet_ipv4 is defined

    - name: Show them
      ansible.builtin.debug:
        var: __site_tls_locations
"""


def test_tls_locations_follow_the_plan_with_the_replicas_as_fallbacks(tmp_path: Path) -> None:
    playbook = tmp_path / "locations.yml"
    facts = tmp_path / "facts"
    # The records the qdrant and mcp_gateway roles keep on "data" (their ports.http): the proxy
    # fronts each service at the port its role recorded, not at a copy of the role's default.
    (facts / "data").mkdir(parents=True)
    (facts / "data" / "sovereign_qdrant.fact").write_text(json.dumps({"ports": {"http": 7333}}))
    (facts / "data" / "sovereign_mcp_gateway.fact").write_text(json.dumps({"ports": {"http": 8801}}))
    playbook.write_text(LOCATIONS_PLAY.format(layers=SITE_LAYERS, out=tmp_path / "plan", facts=facts))
    hosts: dict[str, dict[str, Any]] = {
        "gpu-a": {"tailnet_ipv4": "100.64.0.11"},
        "gpu-b": {"tailnet_ipv4": "100.64.0.12", "tls_proxy_server_names": ["b.example.test"]},
        # Not on the tailnet yet: no address to hand requests to.
        "gpu-c": {},
        "gpu-d": {"tailnet_ipv4": "100.64.0.14", "tls_proxy_port": 8443},
        # An inventory port the roles never saw is no source: the records are.
        "data": {"sovereign_services": ["qdrant", "opa", "mcp_gateway"], "qdrant_http_port": 7000},
    }
    hardware = {"memory_gib": 32, "cpu": {"cores": 8}, "gpus": []}
    inventory = {
        "all": {
            "hosts": {name: {"sovereign_hardware_declared": hardware} | host for name, host in hosts.items()},
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "sovereign_catalog_extensions": {"models": {"sovereign/tiny-random": TINY_MODEL}},
                "sovereign_deployments": [
                    {"name": "tiny-chat", "model": "sovereign/tiny-random", "replicas": 4,
                     "hosts": ["gpu-a", "gpu-b", "gpu-c", "gpu-d"], "engine": "llama.cpp", "context": 256},
                    {"name": "second", "model": "sovereign/tiny-random", "hosts": ["gpu-a"],
                     "engine": "llama.cpp", "context": 256, "port": 9090},
                ],
            },
        }
    }  # fmt: skip
    run = run_playbook(playbook, inventory, tmp_path)
    assert run.status == "successful", run.stdout
    found = {
        event["event_data"]["host"]: event["event_data"]["res"]["__site_tls_locations"]
        for event in run.events
        if event.get("event") == "runner_on_ok" and event["event_data"].get("task") == "Show them"
    }
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text())
    first = {name: [d["name"] for d in slice_["deployments"]][:1] for name, slice_ in plan["hosts"].items()}
    # The planner places pinned deployments by name: gpu-a's first (its /v1/) is "second".
    assert first == {"gpu-a": ["second"], "gpu-b": ["tiny-chat"], "gpu-c": ["tiny-chat"],
                     "gpu-d": ["tiny-chat"], "data": []}  # fmt: skip
    # /v1/ goes to the first deployment's port (not the role's default 8000); "second" has one
    # replica, so no fallback.
    assert found["gpu-a"] == [{"path": "/v1/", "upstream": "http://127.0.0.1:9090", "streaming": True}]
    # gpu-a's /v1/ serves another model and gpu-c has no tailnet address: neither is a fallback.
    assert found["gpu-b"][0]["upstream"] == "http://127.0.0.1:8080"
    to_b = {"url": "https://100.64.0.12", "name": "b.example.test"}
    to_d = {"url": "https://100.64.0.14:8443", "name": "gpu-d.tail1234.ts.net"}
    assert found["gpu-b"][0]["fallbacks"] == [to_d]
    assert found["gpu-c"][0]["fallbacks"] == [to_b, to_d]
    assert found["gpu-d"][0]["fallbacks"] == [to_b]
    assert found["data"] == [
        {"path": "/qdrant/", "upstream": "http://127.0.0.1:7333/"},
        {"path": "/mcp", "upstream": "http://127.0.0.1:8801", "auth": "upstream", "streaming": True},
        {
            "path": "/.well-known/oauth-protected-resource",
            "upstream": "http://127.0.0.1:8801",
            "auth": "upstream",
        },
    ]
