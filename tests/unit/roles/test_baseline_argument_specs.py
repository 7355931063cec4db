# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The baseline role's interface beyond the checks every role gets (test_role_interfaces.py):
switches, forwarding, templates and kernel parameter data."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "baseline"


def load(relative: str) -> Any:
    """One YAML file of the role."""
    return yaml.safe_load((ROLE / relative).read_text())


DEFAULTS: dict[str, Any] = load("defaults/main.yml")
OPTIONS: dict[str, Any] = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
INTERNAL: dict[str, Any] = load("vars/main.yml")


def test_every_group_has_its_own_switch() -> None:
    switches = {
        n for n, s in OPTIONS.items() if s["type"] == "bool" and n.endswith(("_enabled", "_disabled"))
    }
    assert switches == {
        "baseline_ssh_enabled",
        "baseline_sysctl_network_enabled",
        "baseline_sysctl_kernel_enabled",
        "baseline_sysctl_filesystem_enabled",
        "baseline_coredump_disabled",
        "baseline_modules_enabled",
        "baseline_updates_enabled",
        "baseline_timesync_enabled",
        "baseline_journald_enabled",
        "baseline_audit_enabled",
        "baseline_audit_system_rules_enabled",
        "baseline_banner_enabled",
    }


def test_forwarding_follows_the_plan_and_is_off_by_default() -> None:
    assert DEFAULTS["baseline_forwarding"] == "{{ baseline_plan_runs_containers }}"
    assert DEFAULTS["baseline_plan_runs_containers"] is False
    assert set(INTERNAL["__baseline_sysctl_forwarding"]) == {
        "net.ipv4.ip_forward",
        "net.ipv6.conf.all.forwarding",
    }


def test_ptrace_scope_is_left_to_the_kernel_by_default() -> None:
    assert DEFAULTS["baseline_sysctl_ptrace_scope"] is None
    assert "default" not in OPTIONS["baseline_sysctl_ptrace_scope"]


def test_per_namespace_pattern_separates_namespaced_from_global_keys() -> None:
    pattern = re.compile(INTERNAL["__baseline_sysctl_per_namespace_pattern"])
    namespaced = set(INTERNAL["__baseline_sysctl_network"]) | set(INTERNAL["__baseline_sysctl_forwarding"])
    global_keys = (
        set(INTERNAL["__baseline_sysctl_kernel"])
        | set(INTERNAL["__baseline_sysctl_filesystem"])
        | set(INTERNAL["__baseline_sysctl_coredump"])
    )
    assert all(pattern.match(key) for key in namespaced)
    assert not any(pattern.match(key) for key in global_keys)
    # net.core.* lives in the initial namespace only: it must count as global.
    assert "net.core.bpf_jit_harden" in global_keys
    assert pattern.match("net.core.bpf_jit_harden") is None


def test_squashfs_and_overlay_stay_loadable() -> None:
    disabled = set(DEFAULTS["baseline_modules_disabled_filesystems"]) | set(
        DEFAULTS["baseline_modules_disabled_protocols"]
    )
    assert disabled == {"cramfs", "freevxfs", "hfs", "hfsplus", "jffs2", "udf", "dccp", "sctp", "rds", "tipc"}
    assert not disabled & {"squashfs", "overlay", "nvidia", "amdgpu"}


def test_kex_lists_exist_for_both_debian_releases_and_start_post_quantum() -> None:
    kex = load("vars/Debian.yml")["__baseline_ssh_kex_by_release"]
    assert set(kex) == {"12", "13"}
    assert kex["12"][0] == "sntrup761x25519-sha512@openssh.com"
    assert kex["13"][0] == "mlkem768x25519-sha256"
    assert not any("sha1" in name for names in kex.values() for name in names)


def test_templates_mirror_destinations_and_start_with_ansible_managed() -> None:
    templates = sorted((ROLE / "templates").rglob("*.j2"))
    assert len(templates) == 12
    for template in templates:
        assert template.read_text().startswith("{{ ansible_managed | comment"), template
        assert template.relative_to(ROLE / "templates").parts[0] == "etc", template
