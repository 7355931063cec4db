# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The backup, the health probe and the MCP gateway find OPA, the gateway and the backup through the
records their roles keep on the host (issue 23, docs/architecture.md "Wiring").

Their defaults carried copies of the other roles' places: the backup saved ``/etc/sovereign-opa``,
``/etc/sovereign-mcp-gateway`` and their log folders, the probe asked ``127.0.0.1:8181/health`` and
``127.0.0.1:8800/healthz`` and read ``/var/lib/sovereign-backup/status.json``, and the gateway asked
the OPA of ``127.0.0.1:8181``. An inventory that moved OPA or the gateway (another port, another
folder) left the backup saving folders that were empty, the probe calling a port nothing listened on
and the gateway denying every call. Roles opa, mcp_gateway and backup now record these places
(tasks/output.yml) and the readers template them from the records; test_qdrant_record_readers.py
does the same for Qdrant.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import local_playbook
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from test_mcp_gateway_role import _trusted

ROLES = Path(__file__).resolve().parents[3] / "roles"
# What each role records where an inventory moved everything (their tasks/output.yml fields).
OPA = {
    "service_user": "policy",
    "ports": {"http": 9181},
    "url": "http://127.0.0.1:9181",
    "unit": "sovereign-opa.service",
    "config_dir": "/srv/opa/etc",
    "log_dir": "/srv/opa/log",
}
GATEWAY = {
    "service_user": "tools",
    "ports": {"http": 9800},
    "url": "http://127.0.0.1:9800",
    "unit": "sovereign-mcp-gateway.service",
    "config_dir": "/srv/gateway/etc",
    "log_dir": "/srv/gateway/log",
}
BACKUP = {
    "status_file": "/srv/backup/state/status.json",
    "unit": "sovereign-backup.timer",
    "state_dir": "/srv/backup/state",
    "repository_path": "/srv/backup/restic",
}
ENGINE = {"service_user": "engine", "ports": {"chat": 8001}, "models_dir": "/srv/models"}
TLS_PROXY = {
    "worker_user": "www-data",
    "config_dir": "/srv/tls",
    "certificate_files": ["/srv/tls/cert.pem", "/srv/tls/ca.pem"],
}
MOVED = {
    "sovereign_opa": OPA,
    "sovereign_mcp_gateway": GATEWAY,
    "sovereign_backup": BACKUP,
    "sovereign_engine": ENGINE,
    "sovereign_tls_proxy": TLS_PROXY,
}
# What Ansible's setup gives for a .fact file that is not JSON.
UNREADABLE = "error loading facts as JSON or ini - please check content: /etc/ansible/facts.d/x.fact"


def _templar(role: str, records: dict[str, Any] | None, **extra: Any) -> Templar:
    variables: dict[str, Any] = {}
    for relative in ("defaults/main.yml", "vars/main.yml", "vars/Debian.yml"):
        variables.update(_trusted(yaml.safe_load((ROLES / role / relative).read_text()) or {}))
    local = {} if records is None else records
    variables.update(inventory_hostname="data-1", ansible_facts={"ansible_local": local}, **extra)
    return Templar(loader=DataLoader(), variables=variables)


def _value(templar: Templar, expression: str) -> Any:
    return templar.template(trust_as_template("{{ " + expression + " }}"))


def _record_fields(role: str) -> dict[str, Any]:
    """The record ``role`` writes (tasks/output.yml), templated from the role's own defaults."""
    output = yaml.safe_load((ROLES / role / "tasks" / "output.yml").read_text())
    fields = next(task for task in output if "ansible.builtin.copy" in task)["vars"][f"__{role}_output"]
    templar = _templar(role, None)
    return {key: templar.template(_trusted(value)) for key, value in fields.items()}


def test_the_records_hold_what_the_readers_read() -> None:
    assert _record_fields("opa") == {
        "service_user": "sovereign-opa",
        "ports": {"http": 8181},
        "url": "http://127.0.0.1:8181",
        "unit": "sovereign-opa.service",
        "config_dir": "/etc/sovereign-opa",
        "log_dir": "/var/log/sovereign-opa",
    }
    assert _record_fields("mcp_gateway") == {
        "service_user": "sovereign-mcp-gateway",
        "ports": {"http": 8800},
        "url": "http://127.0.0.1:8800",
        "unit": "sovereign-mcp-gateway.service",
        "config_dir": "/etc/sovereign-mcp-gateway",
        "log_dir": "/var/log/sovereign-mcp-gateway",
    }
    assert _record_fields("backup") == {
        "status_file": "/var/lib/sovereign-backup/status.json",
        "unit": "sovereign-backup.timer",
        "state_dir": "/var/lib/sovereign-backup",
        "repository_path": "/var/backups/sovereign/restic",
    }
    assert set(OPA) == set(_record_fields("opa")) and set(GATEWAY) == set(_record_fields("mcp_gateway"))
    assert set(BACKUP) == set(_record_fields("backup"))


def _output_fields(role: str) -> dict[str, Any]:
    """The fields of the record ``role`` writes, untemplated (tasks/output.yml)."""
    output = yaml.safe_load((ROLES / role / "tasks" / "output.yml").read_text())
    fields: dict[str, Any] = next(task for task in output if "ansible.builtin.copy" in task)["vars"][
        f"__{role}_output"
    ]
    return fields


def test_the_engine_and_the_tls_proxy_record_their_folders_and_certificates() -> None:
    """The backup saved and the probe watched /var/lib/sovereign/models and /etc/sovereign/tls-proxy,
    copies of engine_models_dir and tls_proxy_config_dir."""
    engine = _templar("engine", None, engine_models_dir="/srv/models")
    assert engine.template(_trusted(_output_fields("engine")["models_dir"])) == "/srv/models"
    proxy = _templar("tls_proxy", None, tls_proxy_config_dir="/srv/tls")
    fields = _output_fields("tls_proxy")
    assert proxy.template(_trusted(fields["config_dir"])) == "/srv/tls"
    assert proxy.template(_trusted(fields["certificate_files"])) == ["/srv/tls/cert.pem", "/srv/tls/ca.pem"]


def test_a_remote_repository_is_no_disk_of_this_host() -> None:
    output = yaml.safe_load((ROLES / "backup" / "tasks" / "output.yml").read_text())
    field = next(task for task in output if "ansible.builtin.copy" in task)["vars"]["__backup_output"][
        "repository_path"
    ]
    templar = _templar("backup", None, backup_repository_type="sftp", backup_sftp_host="vault.lan")
    assert templar.template(_trusted(field)) == ""


@pytest.mark.parametrize(
    ("role", "copies"),
    [
        ("backup", r"sovereign-opa|sovereign-mcp-gateway|sovereign-health|tls-proxy|sovereign/models"),
        (
            "health_probe",
            r"sovereign-opa|sovereign-mcp-gateway|sovereign-backup|8181|8800|tls-proxy|sovereign/models",
        ),
        ("mcp_gateway", r"8181"),
    ],
)
def test_no_copy_of_another_roles_places_in_the_readers_defaults(role: str, copies: str) -> None:
    text = (ROLES / role / "defaults" / "main.yml").read_text()
    assert not re.search(copies, text)


def test_the_backup_saves_the_recorded_folders_and_treats_the_logs_as_append_only() -> None:
    templar = _templar("backup", MOVED)
    paths = _value(templar, "__backup_paths")
    for folder in ("/srv/opa/etc", "/srv/opa/log", "/srv/gateway/etc", "/srv/gateway/log", "/srv/tls",
                   "/srv/models"):  # fmt: skip
        assert folder in paths
    # The weights in the recorded models folder stay out unless backup_model_weights says otherwise.
    assert "/srv/models/**/*.gguf" in _value(templar, "__backup_excludes")
    assert not any("sovereign-opa" in path or "sovereign-mcp-gateway" in path for path in paths)
    assert _value(templar, "__backup_config.append_only_paths") == ["/srv/gateway/log", "/srv/opa/log"]


@pytest.mark.parametrize("records", [None, {"sovereign_opa": UNREADABLE}], ids=["no record", "unreadable"])
def test_without_records_the_backup_saves_no_service_folders(records: Any) -> None:
    templar = _templar("backup", records)
    paths = _value(templar, "__backup_paths")
    assert not any("opa" in path or "gateway" in path or "tls" in path or "health" in path for path in paths)
    assert paths == ["/etc/sovereign", "/etc/nftables.conf"]
    assert _value(templar, "__backup_config.append_only_paths") == []
    # No models folder, so no weight patterns either (not "/**/*.gguf", which would match anywhere).
    assert not any(".gguf" in pattern for pattern in _value(templar, "__backup_excludes"))


def test_the_inventorys_own_log_folders_stay_append_only_beside_the_recorded_ones() -> None:
    templar = _templar("backup", MOVED, backup_log_paths=["/srv/app/log", "/srv/opa/log"])
    assert _value(templar, "__backup_config.append_only_paths") == [
        "/srv/app/log",
        "/srv/opa/log",
        "/srv/gateway/log",
    ]


def test_the_probe_checks_the_recorded_services_and_backup() -> None:
    templar = _templar("health_probe", MOVED, health_probe_engine_plan=[])
    assert _value(templar, "__health_probe_http_checks") == [
        {"name": "opa", "url": "http://127.0.0.1:9181/health", "unit": "sovereign-opa.service"},
        {
            "name": "mcp-gateway",
            "url": "http://127.0.0.1:9800/healthz",
            "unit": "sovereign-mcp-gateway.service",
        },
    ]
    backup = _value(templar, "__health_probe_config.checks.backup")
    assert backup["enabled"] is True
    assert backup["status_file"] == "/srv/backup/state/status.json"
    assert backup["unit"] == "sovereign-backup.timer"
    disks = [disk["path"] for disk in _value(templar, "__health_probe_disk_paths")]
    assert disks == ["/srv/models", "/srv/backup/state", "/srv/backup/restic"]
    assert _value(templar, "health_probe_certificate_files") == ["/srv/tls/cert.pem", "/srv/tls/ca.pem"]
    assert _value(templar, "__health_probe_loopback_only") is True


@pytest.mark.parametrize(
    "records",
    [
        None,
        dict.fromkeys(MOVED, UNREADABLE),
        {"sovereign_opa": {"service_user": "sovereign-opa", "ports": {"http": 8181}}},
    ],
    ids=["no record", "unreadable", "a record of an older release"],
)
def test_without_records_the_probe_checks_none_of_them(records: Any) -> None:
    templar = _templar("health_probe", records, health_probe_engine_plan=[])
    assert _value(templar, "__health_probe_http_checks") == []
    backup = _value(templar, "__health_probe_config.checks.backup")
    assert backup["enabled"] is False
    assert _value(templar, "__health_probe_disk_paths") == []
    assert _value(templar, "health_probe_certificate_files") == []


def test_the_inventorys_own_entries_replace_the_recorded_ones() -> None:
    own = {"name": "opa", "url": "http://127.0.0.1:9181/health?bundles"}
    templar = _templar(
        "health_probe",
        MOVED,
        health_probe_engine_plan=[],
        health_probe_http_checks=[own],
        health_probe_disk_paths=[{"path": "/srv/backup/restic", "max_used_percent": 70}],
        health_probe_backup_status_file="/srv/elsewhere/status.json",
    )
    checks = _value(templar, "__health_probe_http_checks")
    assert [check["name"] for check in checks] == ["opa", "mcp-gateway"] and checks[0] == own
    disks = _value(templar, "__health_probe_disk_paths")
    assert disks == [
        {"path": "/srv/backup/restic", "max_used_percent": 70},
        {"path": "/srv/models", "max_used_percent": 90, "min_free_bytes": 0},
        {"path": "/srv/backup/state", "max_used_percent": 90, "min_free_bytes": 0},
    ]
    assert _value(templar, "__health_probe_config.checks.backup.status_file") == "/srv/elsewhere/status.json"


def test_the_gateway_asks_the_recorded_opa() -> None:
    templar = _templar("mcp_gateway", MOVED)
    assert _value(templar, "mcp_gateway_opa_url") == "http://127.0.0.1:9181/v1/data/sovereign/mcp/decision"
    for records in (None, {"sovereign_opa": UNREADABLE}):
        assert _value(_templar("mcp_gateway", records), "mcp_gateway_opa_url") == ""
    chosen = "http://10.0.0.5:8181/v1/data/sovereign/mcp/decision"
    assert _value(_templar("mcp_gateway", MOVED, mcp_gateway_opa_url=chosen), "mcp_gateway_opa_url") == chosen


VALIDATE = """
- name: Check the gateway's settings as the role does
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the records this case's host keeps
      ansible.builtin.setup:
        gather_subset: ["!all", "!min", "local"]
        fact_path: "{{ __test_facts }}"

    - name: Run role mcp_gateway's checks
      ansible.builtin.include_role:
        name: sovereign.stack.mcp_gateway
        tasks_from: validate
"""


def test_a_gateway_with_no_opa_to_ask_is_refused_by_name(tmp_path: Path) -> None:
    settings = {
        "mcp_gateway_workspace_roots": ["/srv/workspace"],
        "mcp_gateway_clients": {"alice": {"servers": {}}},
    }
    with_opa = tmp_path / "with-opa"
    with_opa.mkdir()
    (with_opa / "sovereign_opa.fact").write_text(json.dumps(OPA))
    (tmp_path / "without").mkdir()
    hosts = {
        "with-opa": {**settings, "__test_facts": str(with_opa)},
        "without-opa": {**settings, "__test_facts": str(tmp_path / "without")},
        "named-opa": {
            **settings,
            "__test_facts": str(tmp_path / "without"),
            "mcp_gateway_opa_url": "http://127.0.0.1:8181/v1/data/sovereign/mcp/decision",
        },
    }
    report = local_playbook.run(tmp_path, VALIDATE, hosts)
    failures = local_playbook.failure_messages(report, hosts)
    assert failures["with-opa"] == "" and failures["named-opa"] == ""
    assert "without-opa: mcp_gateway_opa_url is empty" in failures["without-opa"]
    assert "Add opa to this host's sovereign_services" in failures["without-opa"]
    # Check mode on a new host only pretended to run OPA: it goes on, saying what a real run needs.
    checked = local_playbook.run(tmp_path, VALIDATE, hosts, check_mode=True)
    assert local_playbook.failure_messages(checked, hosts) == dict.fromkeys(hosts, "")
    said = [
        task["hosts"]["without-opa"].get("msg", "")
        for play in checked["plays"]
        for task in play["tasks"]
        if "without-opa" in task["hosts"]
    ]
    assert any("check mode: without-opa: mcp_gateway_opa_url is empty" in message for message in said), said


# The layer of site.yml each record's role belongs to.
RECORD_LAYERS = {
    "sovereign_engine": "engine",
    "sovereign_qdrant": "services",
    "sovereign_opa": "services",
    "sovereign_mcp_gateway": "services",
    "sovereign_tls_proxy": "tls_proxy",
    "sovereign_health_probe": "health",
}


def test_the_backup_reads_only_records_of_layers_that_run_before_it() -> None:
    """A record written after the backup layer reached the backup's settings one run late, so the
    second run of the site scenario changed the backup configuration on every host (idempotence)."""
    layers = yaml.safe_load((ROLES.parent / "playbooks" / "vars" / "site_layers.yml").read_text())[
        "__site_all_layers"
    ]
    text = (ROLES / "backup" / "vars" / "main.yml").read_text() + (
        ROLES / "backup" / "defaults" / "main.yml"
    ).read_text()
    read = {record for record in RECORD_LAYERS if record in text}
    assert read >= {"sovereign_engine", "sovereign_qdrant", "sovereign_tls_proxy"}
    for record in read:
        assert layers.index(RECORD_LAYERS[record]) < layers.index("backup"), record
