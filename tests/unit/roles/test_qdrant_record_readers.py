# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The backup and the health probe find Qdrant through the record role qdrant keeps on the host.

Issue 23: their defaults carried copies of Qdrant's folders, URL, port and unit
(``/etc/sovereign-qdrant``, ``/etc/sovereign-qdrant/api-key``, ``/var/lib/sovereign-qdrant``,
``http://127.0.0.1:6333/readyz``), so an inventory that moved Qdrant left the backup and the probe
looking at the old places. Role qdrant now records them (tasks/output.yml, local fact
``ansible_local.sovereign_qdrant``) and both roles read that record. Each role's variables are
templated here from its own defaults and vars, with and without a record.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from test_mcp_gateway_role import _trusted

ROLES = Path(__file__).resolve().parents[3] / "roles"
# What role qdrant records where an inventory moved everything (tasks/output.yml's fields).
MOVED = {
    "service_user": "vectors",
    "ports": {"http": 7400, "grpc": 7401},
    "url": "http://127.0.0.1:7400",
    "unit": "sovereign-qdrant.service",
    "api_key_file": "/srv/qdrant/etc/api-key",
    "config_dir": "/srv/qdrant/etc",
    "storage_path": "/srv/qdrant/data",
    "snapshots_path": "/srv/qdrant/snapshots",
}


def _variables(role: str, record: Any = None, **extra: Any) -> Templar:
    variables: dict[str, Any] = {}
    for relative in ("defaults/main.yml", "vars/main.yml"):
        variables.update(_trusted(yaml.safe_load((ROLES / role / relative).read_text()) or {}))
    local = {} if record is None else {"sovereign_qdrant": record}
    variables.update(inventory_hostname="data-1", ansible_facts={"ansible_local": local}, **extra)
    return Templar(loader=DataLoader(), variables=variables)


def _value(templar: Templar, expression: str) -> Any:
    return templar.template(trust_as_template("{{ " + expression + " }}"))


def test_the_qdrant_record_holds_what_the_backup_and_the_probe_read() -> None:
    output = yaml.safe_load((ROLES / "qdrant" / "tasks" / "output.yml").read_text())
    record = next(task for task in output if "ansible.builtin.copy" in task)["vars"]["__qdrant_output"]
    assert set(record) == set(MOVED)
    variables: dict[str, Any] = {}
    for relative in ("defaults/main.yml", "vars/main.yml"):
        variables.update(_trusted(yaml.safe_load((ROLES / "qdrant" / relative).read_text())))
    templar = Templar(loader=DataLoader(), variables=variables)
    written = {
        key: templar.template(_trusted(value)) for key, value in record.items() if key != "service_user"
    }
    assert written == {
        "ports": {"http": 6333, "grpc": 6334},
        "url": "http://127.0.0.1:6333",
        "unit": "sovereign-qdrant.service",
        "api_key_file": "/etc/sovereign-qdrant/api-key",
        "config_dir": "/etc/sovereign-qdrant",
        "storage_path": "/var/lib/sovereign-qdrant/storage",
        "snapshots_path": "/var/lib/sovereign-qdrant/snapshots",
    }


@pytest.mark.parametrize("role", ["backup", "health_probe"])
def test_no_copy_of_qdrants_places_in_the_readers_defaults(role: str) -> None:
    text = (ROLES / role / "defaults" / "main.yml").read_text()
    assert not re.search(r"sovereign-qdrant|6333", text)


def test_the_backup_snapshots_the_recorded_qdrant_and_saves_its_configuration() -> None:
    templar = _variables("backup", MOVED)
    assert _value(templar, "backup_qdrant_url") == "http://127.0.0.1:7400"
    assert _value(templar, "backup_qdrant_api_key_file") == "/srv/qdrant/etc/api-key"
    paths = _value(templar, "__backup_paths")
    assert "/srv/qdrant/etc" in paths
    assert not any("sovereign-qdrant" in path for path in paths)


@pytest.mark.parametrize(
    "record", [None, "error loading facts as JSON or ini"], ids=["no record", "unreadable"]
)
def test_without_a_qdrant_record_the_backup_leaves_qdrant_out(record: Any) -> None:
    templar = _variables("backup", record)
    assert _value(templar, "backup_qdrant_url") == ""
    assert _value(templar, "backup_qdrant_api_key_file") == ""
    assert not any("qdrant" in path for path in _value(templar, "__backup_paths"))


def test_an_inventorys_qdrant_url_still_wins() -> None:
    templar = _variables("backup", MOVED, backup_qdrant_url="http://127.0.0.1:9999")
    assert _value(templar, "backup_qdrant_url") == "http://127.0.0.1:9999"


def test_the_probe_asks_the_recorded_qdrant_and_watches_its_storage() -> None:
    templar = _variables("health_probe", MOVED, health_probe_engine_plan=[])
    qdrant = [check for check in _value(templar, "__health_probe_http_checks") if check["name"] == "qdrant"]
    assert qdrant == [
        {"name": "qdrant", "url": "http://127.0.0.1:7400/readyz", "unit": "sovereign-qdrant.service"}
    ]
    disks = {disk["path"]: disk for disk in _value(templar, "__health_probe_disk_paths")}
    assert disks["/srv/qdrant/data"] == {
        "path": "/srv/qdrant/data",
        "max_used_percent": 85,
        "min_free_bytes": 1073741824,
    }
    assert _value(templar, "__health_probe_loopback_only") is True


@pytest.mark.parametrize(
    "record", [None, "error loading facts as JSON or ini"], ids=["no record", "unreadable"]
)
def test_without_a_qdrant_record_the_probe_has_no_qdrant_check(record: Any) -> None:
    templar = _variables("health_probe", record, health_probe_engine_plan=[])
    assert "qdrant" not in [check["name"] for check in _value(templar, "__health_probe_http_checks")]
    assert not any("qdrant" in disk["path"] for disk in _value(templar, "__health_probe_disk_paths"))


def test_the_inventorys_own_qdrant_entries_replace_the_recorded_ones() -> None:
    own_check = {"name": "qdrant", "url": "http://127.0.0.1:7400/healthz"}
    own_disk = {"path": "/srv/qdrant/data", "max_used_percent": 70}
    templar = _variables(
        "health_probe",
        MOVED,
        health_probe_engine_plan=[],
        health_probe_http_checks=[own_check],
        health_probe_disk_paths=[own_disk],
    )
    assert _value(templar, "__health_probe_http_checks") == [own_check]
    assert _value(templar, "__health_probe_disk_paths") == [own_disk]
