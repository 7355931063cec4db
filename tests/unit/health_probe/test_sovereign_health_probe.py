# SPDX-License-Identifier: Apache-2.0
"""roles/health_probe/files/sovereign_health_probe.py: each check's ok, failed and skipped paths."""

from __future__ import annotations

import datetime
import importlib.util
import json
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles/health_probe/files/sovereign_health_probe.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sovereign_health_probe", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hp = _load()
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)


def _ago(hours: float) -> str:
    return (NOW - datetime.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_disk_passes_under_and_fails_over_the_thresholds(tmp_path: Path) -> None:
    under = hp.check_disk({"paths": [{"path": str(tmp_path), "max_used_percent": 100}]})
    assert under[0]["status"] == "ok"
    over = hp.check_disk({"paths": [{"path": str(tmp_path), "max_used_percent": 0}]})
    assert over[0]["status"] == "failed" and "max 0% used" in over[0]["detail"]
    little = hp.check_disk(
        {"paths": [{"path": str(tmp_path), "max_used_percent": 100, "min_free_bytes": 2**62}]}
    )
    assert little[0]["status"] == "failed"
    absent = hp.check_disk({"paths": [{"path": str(tmp_path / "none")}]})
    assert absent[0] == {
        "check": f"disk {tmp_path / 'none'}",
        "status": "skipped",
        "detail": "directory not on this host",
    }


def _backup_status(tmp_path: Path, backup: Dict[str, Any], drill: Dict[str, Any]) -> Dict[str, Any]:
    path = tmp_path / "status.json"
    path.write_text(json.dumps({"last_backup": backup, "last_drill": drill}))
    return {"status_file": str(path), "max_backup_age_hours": 36, "max_drill_age_hours": 192}


def test_backup_ages_within_limits_pass(tmp_path: Path) -> None:
    settings = _backup_status(
        tmp_path, {"result": "ok", "time": _ago(3)}, {"result": "ok", "time": _ago(100)}
    )
    assert [r["status"] for r in hp.check_backup(settings, NOW)] == ["ok", "ok"]


def test_an_old_backup_and_a_failed_drill_fail(tmp_path: Path) -> None:
    settings = _backup_status(
        tmp_path,
        {"result": "ok", "time": _ago(37)},
        {"result": "failed", "time": _ago(1), "problems": ["/etc/x: missing"]},
    )
    backup, drill = hp.check_backup(settings, NOW)
    assert backup["status"] == "failed" and "limit 36 h" in backup["detail"]
    assert drill["status"] == "failed" and "/etc/x: missing" in drill["detail"]


def test_a_missing_backup_status_fails_unless_the_backup_is_not_on_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = {"status_file": str(tmp_path / "none.json"), "unit": "sovereign-backup.timer"}
    monkeypatch.setattr(hp, "unit_present", lambda unit: False)
    assert hp.check_backup(settings, NOW)[0]["status"] == "skipped"
    monkeypatch.setattr(hp, "unit_present", lambda unit: True)
    assert hp.check_backup(settings, NOW)[0]["status"] == "failed"


class _Health(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 503)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_http_endpoints_pass_fail_and_skip(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hp, "unit_present", lambda unit: unit == "present.service")
    with ThreadingHTTPServer(("127.0.0.1", 0), _Health) as closed:
        refused_port = closed.server_address[1]
    results = hp.check_http(
        {
            "endpoints": [
                {"name": "opa", "url": f"{server}/health", "unit": "present.service"},
                {"name": "qdrant", "url": f"{server}/readyz"},
                {"name": "engine", "url": f"http://127.0.0.1:{refused_port}/v1/models", "timeout": 2},
                {"name": "gateway", "url": f"{server}/health", "unit": "absent.service"},
            ]
        }
    )
    assert [r["status"] for r in results] == ["ok", "failed", "failed", "skipped"]
    assert "answered 503" in results[1]["detail"]
    assert "did not answer" in results[2]["detail"]
    assert results[3]["detail"] == "absent.service not on this host"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_certificate_expiry_is_measured_in_days(tmp_path: Path) -> None:
    def certificate(name: str, days: int) -> str:
        path = tmp_path / f"{name}.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=t",
                "-days",
                str(days),
                "-keyout",
                str(tmp_path / f"{name}.key"),
                "-out",
                str(path),
            ],
            check=True,
            capture_output=True,
        )
        return str(path)

    now = datetime.datetime.now(datetime.timezone.utc)
    results = hp.check_certificates(
        {
            "min_days": 14,
            "files": [certificate("long", 90), certificate("short", 5), str(tmp_path / "none.pem")],
        },
        now,
    )
    assert [r["status"] for r in results] == ["ok", "failed", "skipped"]
    assert "minimum 14" in results[1]["detail"]


def _fake_binary(tmp_path: Path, name: str, script: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def test_nftables_table_loaded_missing_or_nft_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = _fake_binary(
        tmp_path,
        "nft-ok",
        "printf 'table inet sovereign {\\n chain input {\\n  tcp dport 22 accept\\n }\\n}\\n'\n",
    )
    monkeypatch.setattr(hp.shutil, "which", lambda name: loaded)
    assert hp.check_nftables({"table": "sovereign"})[0]["status"] == "ok"
    missing = _fake_binary(tmp_path, "nft-missing", "echo 'Error: No such file or directory' >&2; exit 1\n")
    monkeypatch.setattr(hp.shutil, "which", lambda name: missing)
    result = hp.check_nftables({"table": "sovereign"})[0]
    assert result["status"] == "failed" and "No such file" in result["detail"]
    monkeypatch.setattr(hp.shutil, "which", lambda name: None)
    monkeypatch.setattr(hp.os.path, "exists", lambda path: False)
    assert hp.check_nftables({"table": "sovereign"})[0]["status"] == "skipped"


def test_tailscale_up_down_or_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    up = _fake_binary(tmp_path, "ts-up", 'echo \'{"BackendState": "Running"}\'\n')
    down = _fake_binary(tmp_path, "ts-down", 'echo \'{"BackendState": "NeedsLogin"}\'\n')
    monkeypatch.setattr(hp.shutil, "which", lambda name: up)
    assert hp.check_tailscale({})[0]["status"] == "ok"
    monkeypatch.setattr(hp.shutil, "which", lambda name: down)
    assert "NeedsLogin" in hp.check_tailscale({})[0]["detail"]
    monkeypatch.setattr(hp.shutil, "which", lambda name: None)
    assert hp.check_tailscale({})[0]["status"] == "skipped"


def test_main_writes_status_and_summary_and_exits_1_on_a_failure(tmp_path: Path) -> None:
    config: Dict[str, Any] = {
        "host": "h1",
        "status_file": str(tmp_path / "status.json"),
        "summary_file": str(tmp_path / "summary.txt"),
        "checks": {
            "disk": {"enabled": True, "paths": [{"path": str(tmp_path), "max_used_percent": 0}]},
            "tailscale": {"enabled": False},
        },
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert hp.main(["--config", str(tmp_path / "config.json")]) == 1
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["result"] == "failing" and status["failed"] == 1
    assert {"check": "tailscale", "status": "skipped", "detail": "switched off"} in status["checks"]
    summary = (tmp_path / "summary.txt").read_text()
    assert summary.startswith("h1: FAILING") and f"FAILED  disk {tmp_path}" in summary
    config["checks"]["disk"]["paths"][0]["max_used_percent"] = 100
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert hp.main(["--config", str(tmp_path / "config.json")]) == 0


def test_a_crashing_check_is_a_failed_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(settings: Dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(hp, "check_nftables", broken)
    status = hp.probe({"checks": {"nftables": {"enabled": True, "table": "t"}}}, NOW)
    assert {"check": "nftables", "status": "failed", "detail": "check crashed: RuntimeError: boom"} in status[
        "checks"
    ]
