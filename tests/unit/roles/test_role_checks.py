# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The settings checks of roles engine, qdrant, backup and firewall (each role's tasks/preflight.yml).

Issue 23: each of these packed four to eight conditions under one message that named every rule,
so a user could not tell which setting was wrong. Each condition now has its own message naming
the host, the variable, its value and what is valid, and a refusal names only what failed, as
tls_proxy's checks do (test_tls_proxy_checks.py).

One ``ansible-playbook`` run on localhost: each case is an inventory host of its own with one role's
good variables but one change, so the good ones pass and every bad one stops.
"""

from __future__ import annotations

from typing import Any

import local_playbook
import pytest

ROLES = ("engine", "qdrant", "backup", "firewall")
PLAYBOOK = [
    {
        "name": "Check the settings as each role does",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [
            {
                "name": f"Run role {role}'s checks",
                "ansible.builtin.include_role": {
                    "name": f"sovereign.stack.{role}",
                    "tasks_from": "preflight",
                },
                "when": f"__test_role == '{role}'",
            }
            for role in ROLES
        ],
    }
]
DEPLOYMENT = {
    "name": "chat",
    "engine": "llama.cpp",
    "engine_version": "b6000",
    "model_path": "/var/lib/sovereign/models/chat.gguf",
    "port": 8080,
    "env": {"LLAMA_ARG_THREADS": "4"},
}


def _plan(**change: Any) -> dict[str, Any]:
    return {"engine_plan": [{**DEPLOYMENT, **change}]}


GOOD: dict[str, dict[str, Any]] = {
    "engine": _plan(),
    "qdrant": {},
    "backup": {},
    "firewall": {},
}
# case -> (role, overrides of its good variables, texts the failure must contain)
BAD: dict[str, tuple[str, dict[str, Any], tuple[str, ...]]] = {
    "engine_user": (
        "engine",
        {"engine_user": "Engine!"},
        ('engine_user "Engine!" must be a system account name', "such as sovereign-engine"),
    ),
    "engine_install_dir": (
        "engine",
        {"engine_install_dir": "opt/engines"},
        ('engine_install_dir "opt/engines" must be an absolute path',),
    ),
    "engine_models_dir": (
        "engine",
        {"engine_models_dir": "/var/lib/../x"},
        ('engine_models_dir "/var/lib/../x" must be an absolute path',),
    ),
    "engine_outside_models": (
        "engine",
        _plan(model_path="/srv/chat.gguf"),
        ('engine_plan[0] (name "chat"): model_path "/srv/chat.gguf" must lie inside engine_models_dir',),
    ),
    "engine_env": (
        "engine",
        _plan(env={"bad-key": "1"}),
        ('engine_plan[0] (name "chat"): env names ["bad-key"] must be capitals',),
    ),
    "engine_version": (
        "engine",
        _plan(engine_version="1.0\nExecStart=/bin/sh"),
        ('engine_plan[0] (name "chat"): engine_version', "must be letters, digits"),
    ),
    "engine_two": (
        "engine",
        _plan(port=0, env={"bad-key": "1"}),
        ('env names ["bad-key"] must be capitals', 'engine_plan[0] (name "chat"): port 0 must be 1 to 65535'),
    ),
    "qdrant_storage": (
        "qdrant",
        {"qdrant_storage_path": "data"},
        ('qdrant_storage_path "data" must be an absolute directory',),
    ),
    "qdrant_snapshots_inside": (
        "qdrant",
        {"qdrant_storage_path": "/srv/q", "qdrant_snapshots_path": "/srv/q/snapshots"},
        ('qdrant_snapshots_path "/srv/q/snapshots" must lie outside qdrant_storage_path "/srv/q"',),
    ),
    "qdrant_storage_inside": (
        "qdrant",
        {"qdrant_storage_path": "/srv/s/storage", "qdrant_snapshots_path": "/srv/s"},
        ('qdrant_storage_path "/srv/s/storage" must lie outside qdrant_snapshots_path "/srv/s"',),
    ),
    "backup_type": (
        "backup",
        {"backup_repository_type": "s3"},
        ('backup_repository_type "s3" must be local, sftp or rest',),
    ),
    "backup_path": (
        "backup",
        {"backup_repository_path": "restic"},
        ('backup_repository_path "restic" must be an absolute path for a local repository',),
    ),
    "backup_sftp_host": (
        "backup",
        {"backup_repository_type": "sftp", "backup_sftp_known_hosts": "b ssh-ed25519 AAAA"},
        ('backup_sftp_host "" must name the SFTP server',),
    ),
    "backup_sftp_known_hosts": (
        "backup",
        {"backup_repository_type": "sftp", "backup_sftp_host": "backup.internal"},
        ('backup_sftp_known_hosts "" must hold the SFTP server\'s host key line',),
    ),
    "backup_rest_url": (
        "backup",
        {"backup_repository_type": "rest", "backup_rest_url": "backup.example:8000"},
        ('backup_rest_url "backup.example:8000" must be the REST server\'s http(s) URL',),
    ),
    "firewall_tcp_ports": (
        "firewall",
        {"firewall_tailnet_tcp_ports": [443, 70000]},
        ("firewall_tailnet_tcp_ports [443, 70000] must be ports, 1 to 65535.",),
    ),
    "firewall_udp_ports": (
        "firewall",
        {"firewall_tailnet_udp_ports": [0]},
        ("firewall_tailnet_udp_ports [0] must be ports, 1 to 65535.",),
    ),
    "firewall_ssh_port": (
        "firewall",
        {"firewall_ssh_port": 0},
        ("firewall_ssh_port 0 must be a port, 1 to 65535.",),
    ),
    "firewall_tailscale_port": (
        "firewall",
        {"firewall_tailscale_udp_port": 70000},
        ("firewall_tailscale_udp_port 70000 must be a port, 1 to 65535, or 0 for none.",),
    ),
    "firewall_timeouts": (
        "firewall",
        {"firewall_confirm_timeout": 3, "firewall_rollback_timeout": 10},
        (
            "firewall_confirm_timeout (3) must be at least 5",
            "firewall_rollback_timeout (10) must be more than 10 seconds longer than"
            " firewall_confirm_timeout (3).",
        ),
    ),
    "firewall_log_rate": (
        "firewall",
        {"firewall_log_rate": "10/week"},
        ('firewall_log_rate "10/week" must read N/second, N/minute, N/hour or N/day',),
    ),
    "firewall_log_burst": (
        "firewall",
        {"firewall_log_burst": 0},
        ("firewall_log_burst (0) must be at least 1.",),
    ),
    "firewall_interface": (
        "firewall",
        {"firewall_tailnet_interface": "tailscale-interface0"},
        ('firewall_tailnet_interface "tailscale-interface0" must be an interface name',),
    ),
    "firewall_ruleset_file": (
        "firewall",
        {"firewall_ruleset_file": "sovereign.nft"},
        ('firewall_ruleset_file "sovereign.nft" must be an absolute path',),
    ),
}
# case -> texts its message must not hold: each message names only the rules the input breaks.
NOT_NAMED: dict[str, tuple[str, ...]] = {
    "engine_user": ("engine_install_dir", "engine_mlx_venv", "engine_models_dir", "engine_plan["),
    "engine_env": ("model_path", "port", "engine_version", "engine_user"),
    "engine_two": ("engine_user", "model_path", "engine_version"),
    "qdrant_storage": ("qdrant_snapshots_path", "lie outside"),
    "backup_sftp_host": ("backup_sftp_known_hosts", "backup_rest_url", "backup_repository_path"),
    "backup_rest_url": ("backup_sftp", "backup_repository_path", "backup_repository_type"),
    "firewall_log_rate": ("firewall_log_burst", "firewall_confirm_timeout", "ports", "firewall_ruleset_file"),
    "firewall_ssh_port": ("firewall_tailnet_tcp_ports", "firewall_tailscale_udp_port", "firewall_log_rate"),
}


def _hosts() -> dict[str, dict[str, Any]]:
    hosts = {f"good_{role}": {"__test_role": role, **GOOD[role]} for role in ROLES}
    for case, (role, overrides, _texts) in BAD.items():
        hosts[case] = {"__test_role": role, **GOOD[role], **overrides}
    return hosts


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Host -> "" when its checks passed, else the message of the check that stopped it."""
    hosts = _hosts()
    report = local_playbook.run(tmp_path_factory.mktemp("role_checks"), PLAYBOOK, hosts)
    return local_playbook.failure_messages(report, hosts)


@pytest.mark.parametrize("role", ROLES)
def test_good_settings_pass(role: str, outcomes: dict[str, str]) -> None:
    assert outcomes[f"good_{role}"] == ""


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_setting_is_refused_naming_the_host_the_variable_and_the_value(
    case: str, outcomes: dict[str, str]
) -> None:
    message = " ".join(outcomes[case].split())
    assert message, f"{case} passed the checks"
    assert message.startswith(f"On {case}: "), message
    for text in BAD[case][2]:
        assert " ".join(text.split()) in message, message


@pytest.mark.parametrize("case", sorted(NOT_NAMED))
def test_a_message_names_only_the_rules_the_input_breaks(case: str, outcomes: dict[str, str]) -> None:
    message = outcomes[case]
    assert message, f"{case} passed the checks"
    named = [text for text in NOT_NAMED[case] if text in message]
    assert not named, f"{case}: the message also names {named}: {message}"
