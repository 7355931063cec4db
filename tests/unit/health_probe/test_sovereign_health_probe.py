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
from typing import Any, Dict, Iterator, List

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
    tailscale = next(c for c in status["checks"] if c["check"] == "tailscale")
    assert (tailscale["status"], tailscale["detail"], tailscale["kind"]) == (
        "skipped",
        "switched off",
        "tailscale",
    )
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
    assert {
        "check": "nftables",
        "status": "failed",
        "detail": "check crashed: RuntimeError: boom",
        "kind": "nftables",
    } in status["checks"]


# --- Issue 20: what a client sees, failed units, quick and full runs, since when -----------------


def _pki(tmp_path: Path) -> Dict[str, str]:
    """A CA and a server certificate for 127.0.0.1 (an IP address name, as the TLS proxy's)."""
    paths = {name: str(tmp_path / f"{name}.pem") for name in ("ca", "ca-key", "cert", "key")}
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-subj", "/CN=probe test CA", "-days", "2", "-keyout", paths["ca-key"], "-out", paths["ca"]],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "2",
         "-CA", paths["ca"], "-CAkey", paths["ca-key"], "-keyout", paths["key"], "-out", paths["cert"]],
        check=True, capture_output=True,
    )  # fmt: skip
    return paths


PROBE_TOKEN = "probe-token-" + "p" * 31


class _Entry(BaseHTTPRequestHandler):
    """The TLS proxy as a client sees it: /v1/models wants the probe's token, /mcp is the gateway's
    (its own 401), /qdrant/ is Qdrant's (its own 401), /broken/ a 502 of a dead upstream."""

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, status: int, headers: Dict[str, str]) -> None:
        self.send_response(status)
        for key, value in {**headers, "Content-Length": "0"}.items():
            self.send_header(key, value)
        self.end_headers()

    def do_GET(self) -> None:
        if self.path == "/v1/models":
            ok = self.headers.get("Authorization") == f"Bearer {PROBE_TOKEN}"
            self._answer(200 if ok else 401, {})
        elif self.path == "/qdrant/":
            self._answer(401, {})
        else:
            self._answer(502, {})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer(401, {"WWW-Authenticate": 'Bearer realm="sovereign-mcp-gateway", error="invalid_token"'})


@pytest.fixture
def entry(tmp_path: Path) -> Iterator[Dict[str, Any]]:
    import ssl

    paths = _pki(tmp_path)
    token_file = tmp_path / "probe-token"
    token_file.write_text(PROBE_TOKEN + "\n")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Entry)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(paths["cert"], paths["key"])
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield {
        "addresses": ["127.0.0.1"],
        "port": httpd.server_address[1],
        "server_name": "",
        "ca_file": paths["ca"],
        "token_file": str(token_file),
        "locations": [
            {"path": "/v1/"},
            {"path": "/qdrant/"},
            {"path": "/mcp", "auth": "upstream"},
            {"path": "/.well-known/oauth-protected-resource", "auth": "upstream"},
        ],
    }
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_the_entry_point_is_called_as_a_client_calls_it(entry: Dict[str, Any]) -> None:
    results = hp.check_entry(entry)
    base = f"entry https://127.0.0.1:{entry['port']}"
    assert [(r["check"], r["status"]) for r in results] == [
        (f"{base}/v1/models", "ok"),
        (f"{base}/qdrant/", "ok"),
        (f"{base}/mcp", "ok"),
    ]
    assert "the gateway answered 401" in results[2]["detail"]
    broken = hp.check_entry({**entry, "locations": [{"path": "/broken/"}], "token_file": ""})
    assert broken[0]["status"] == "failed" and "answered 502" in broken[0]["detail"]
    wrong_token = hp.check_entry({**entry, "locations": [{"path": "/v1/"}], "token_file": ""})
    assert wrong_token[0]["status"] == "failed" and "answered 401" in wrong_token[0]["detail"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_a_stopped_entry_point_fails_naming_it(entry: Dict[str, Any], tmp_path: Path) -> None:
    """Issue 20: with Nginx stopped the probe said "14 ok, 0 failed"."""
    with ThreadingHTTPServer(("127.0.0.1", 0), _Health) as closed:
        refused_port = closed.server_address[1]
    results = hp.check_entry({**entry, "port": refused_port})
    assert {r["status"] for r in results} == {"failed"}
    assert results[0]["check"] == f"entry https://127.0.0.1:{refused_port}/v1/models"
    assert "did not answer" in results[0]["detail"] and "refused" in results[0]["detail"]
    (tmp_path / "other").mkdir()
    other_ca = _pki(tmp_path / "other")
    untrusted = hp.check_entry({**entry, "ca_file": other_ca["ca"]})
    assert untrusted[0]["status"] == "failed" and "CERTIFICATE_VERIFY_FAILED" in untrusted[0]["detail"]
    assert hp.check_entry({}) == [
        {"check": "entry", "status": "skipped", "detail": "no TLS entry point on this host"}
    ]


def test_every_failed_or_restarting_unit_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 20: units in `failed` state went unreported."""
    systemctl = _fake_binary(
        tmp_path,
        "systemctl",
        'if [ "$1" = list-units ]; then\n'
        "  printf 'sovereign-restore-drill.service loaded failed failed drill\\n"
        "sovereign-engine-chat.service loaded activating auto-restart engine\\n"
        "sovereign-health-probe.service loaded failed failed probe\\n'\n"
        "else\n"
        "  printf 'Id=sovereign-restore-drill.service\\nActiveState=failed\\nSubState=failed\\n"
        "Result=exit-code\\nNRestarts=0\\n\\nId=sovereign-engine-chat.service\\nActiveState=activating\\n"
        "SubState=auto-restart\\nResult=signal\\nNRestarts=4\\n'\n"
        "fi\n",
    )
    monkeypatch.setattr(hp.shutil, "which", lambda name: systemctl)
    results = hp.check_units({"ignore": ["sovereign-health-probe.service"]})
    assert results == [
        {
            "check": "unit sovereign-restore-drill.service",
            "status": "failed",
            "detail": "failed (result exit-code)",
        },
        {
            "check": "unit sovereign-engine-chat.service",
            "status": "failed",
            "detail": "restarting after failures (4 restarts, result signal)",
        },
    ]
    quiet = _fake_binary(tmp_path, "systemctl-quiet", "exit 0\n")
    monkeypatch.setattr(hp.shutil, "which", lambda name: quiet)
    assert hp.check_units({}) == [{"check": "units", "status": "ok", "detail": "no unit failed"}]


def test_each_check_says_since_when_and_every_change_is_in_the_history(tmp_path: Path) -> None:
    first = {"time": "2026-12-01T10:00:00Z", "checks": [{"check": "a", "status": "ok", "detail": "x"}]}
    status, changes = hp.with_history(first, {})
    assert status["checks"][0]["since"] == "2026-12-01T10:00:00Z"
    assert changes == [
        {"time": "2026-12-01T10:00:00Z", "check": "a", "from": "new", "to": "ok", "detail": "x"}
    ]
    later = {"time": "2026-12-01T10:05:00Z", "checks": [{"check": "a", "status": "ok", "detail": "y"}]}
    same, none = hp.with_history(later, status)
    assert same["checks"][0]["since"] == "2026-12-01T10:00:00Z" and none == []
    failing = {"time": "2026-12-01T10:10:00Z", "checks": [{"check": "a", "status": "failed", "detail": "z"}]}
    changed, one = hp.with_history(failing, same)
    assert changed["checks"][0]["since"] == "2026-12-01T10:10:00Z"
    assert one[0]["from"] == "ok" and one[0]["to"] == "failed"
    _gone, last = hp.with_history({"time": "2026-12-01T10:15:00Z", "checks": []}, changed)
    assert last[0]["to"] == "gone"
    history = tmp_path / "history.jsonl"
    hp.append_history(str(history), changes + one + last, keep=2)
    assert [json.loads(line)["to"] for line in history.read_text().splitlines()] == ["failed", "gone"]


def test_a_quick_run_keeps_the_last_full_runs_other_results(tmp_path: Path) -> None:
    config: Dict[str, Any] = {
        "host": "h1",
        "status_file": str(tmp_path / "status.json"),
        "summary_file": str(tmp_path / "summary.txt"),
        "history_file": str(tmp_path / "history.jsonl"),
        "checks": {
            "disk": {"enabled": True, "paths": [{"path": str(tmp_path), "max_used_percent": 0}]},
            "tailscale": {"enabled": False},
        },
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert hp.main(["--config", str(tmp_path / "config.json"), "--scope", "full"]) == 1
    full = json.loads((tmp_path / "status.json").read_text())
    config["checks"]["disk"]["paths"][0]["max_used_percent"] = 100
    (tmp_path / "config.json").write_text(json.dumps(config))
    # A quick run does not look at the disk: the full run's failure stays, with its time.
    assert hp.main(["--config", str(tmp_path / "config.json"), "--scope", "quick"]) == 1
    quick = json.loads((tmp_path / "status.json").read_text())
    disk = next(c for c in quick["checks"] if c["check"].startswith("disk "))
    assert disk["status"] == "failed" and disk["checked"] == full["time"] and disk["since"] == full["time"]
    assert next(c for c in quick["checks"] if c["check"] == "backup")["checked"] == full["time"]
    assert {c["check"] for c in quick["checks"]} == {c["check"] for c in full["checks"]}
    assert hp.main(["--config", str(tmp_path / "config.json"), "--scope", "full"]) == 0
    changes = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [(c["check"], c["from"], c["to"]) for c in changes if c["check"].startswith("disk")] == [
        (f"disk {tmp_path}", "new", "failed"),
        (f"disk {tmp_path}", "failed", "ok"),
    ]


def _benchmark(
    tmp_path: Path, hours_ago: float, flagged: List[Dict[str, Any]], failed: List[Dict[str, Any]]
) -> Dict[str, Any]:
    """A summary as playbooks/benchmark.yml leaves it (docs/benchmark.md), and the check's settings."""
    deployments = [
        {"name": "tiny-chat", "replica": 0, "status": "ok", "decode_ratio": 0.97},
        {"name": "tiny-chat", "replica": 1, "status": "flagged", "decode_ratio": 0.0465},
        {"name": "coder", "replica": 0, "status": "failed", "decode_ratio": None},
    ]
    path = tmp_path / "latest.json"
    path.write_text(
        json.dumps(
            {
                "schema_version": 1,
                "measured_at": _ago(hours_ago),
                "benchmark": "/srv/fleet/plan-output/benchmark.json",
                "tolerance": 0.25,
                "flagged": flagged,
                "failed": failed,
                "deployments": deployments,
            }
        )
    )
    return {"summary_file": str(path), "max_age_days": 30}


def test_no_benchmark_on_the_host_is_not_measured_not_a_failure(tmp_path: Path) -> None:
    [found] = hp.check_benchmark({"summary_file": str(tmp_path / "latest.json"), "max_age_days": 30}, NOW)
    assert found["check"] == "benchmark" and found["status"] == "ok"
    assert found["detail"].startswith("not measured")


def test_a_recent_benchmark_without_flags_passes_with_its_age(tmp_path: Path) -> None:
    [found] = hp.check_benchmark(_benchmark(tmp_path, 36, [], []), NOW)
    assert found == {
        "check": "benchmark",
        "status": "ok",
        "detail": "measured 1.5 days ago, 3 deployment(s), none flagged",
    }


def test_a_flagged_or_unmeasured_deployment_fails_the_check_naming_it(tmp_path: Path) -> None:
    settings = _benchmark(
        tmp_path, 2, [{"name": "tiny-chat", "replica": 1}], [{"name": "coder", "replica": 0}]
    )
    [found] = hp.check_benchmark(settings, NOW)
    assert found["status"] == "failed"
    assert "tiny-chat #1 flagged (decode at 0.05 of the plan)" in found["detail"]
    assert "coder not measured" in found["detail"]


def test_a_benchmark_older_than_the_limit_fails_unless_there_is_none(tmp_path: Path) -> None:
    settings = _benchmark(tmp_path, 31 * 24, [], [])
    [found] = hp.check_benchmark(settings, NOW)
    assert found["status"] == "failed" and "older than 30 days" in found["detail"]
    [unlimited] = hp.check_benchmark({**settings, "max_age_days": 0}, NOW)
    assert unlimited["status"] == "ok" and "31.0 days ago" in unlimited["detail"]


def test_an_unreadable_benchmark_summary_fails(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    path.write_text("{not json")
    assert hp.check_benchmark({"summary_file": str(path)}, NOW)[0]["status"] == "failed"
    path.write_text(json.dumps({"flagged": []}))
    assert "no measured_at" in hp.check_benchmark({"summary_file": str(path)}, NOW)[0]["detail"]


def test_the_benchmark_is_a_daily_check(tmp_path: Path) -> None:
    settings = {**_benchmark(tmp_path, 1, [{"name": "tiny-chat", "replica": 1}], []), "enabled": True}
    config = {"host": "h", "checks": {"benchmark": settings}}
    assert "benchmark" not in [c["kind"] for c in hp.probe(config, NOW, hp.QUICK)["checks"]]
    full = hp.probe(config, NOW, hp.FULL)
    assert [(c["check"], c["status"]) for c in full["checks"] if c["kind"] == "benchmark"] == [
        ("benchmark", "failed")
    ]
