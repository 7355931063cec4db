# SPDX-License-Identifier: Apache-2.0
"""sovereign-health-probe: one JSON status and a short summary of a host's health.

Reads the JSON configuration the health_probe role renders. Every check can be switched off
(`enabled: false`); a check whose service is not on this host is skipped with a note rather than
failed. Exits 1 when any check failed. Standard library only: it runs on every managed host.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional

DEFAULT_CONFIG = "/etc/sovereign-health/config.json"
OK, FAILED, SKIPPED = "ok", "failed", "skipped"

Result = Dict[str, str]


def result(check: str, status: str, detail: str) -> Result:
    return {"check": check, "status": status, "detail": detail}


def run(argv: List[str], timeout: float = 10.0) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def unit_present(unit: str) -> bool:
    """The unit file is installed (whatever its state): its service belongs on this host."""
    if not shutil.which("systemctl"):
        return False
    shown = run(["systemctl", "show", "--property=LoadState", "--value", unit])
    return shown.returncode == 0 and shown.stdout.strip() not in ("", "not-found")


def check_disk(settings: Dict[str, Any]) -> List[Result]:
    results = []
    for entry in settings.get("paths", []):
        path = entry["path"]
        name = f"disk {path}"
        if not os.path.isdir(path):
            results.append(result(name, SKIPPED, "directory not on this host"))
            continue
        usage = shutil.disk_usage(path)
        used_percent = 100.0 * usage.used / usage.total if usage.total else 0.0
        detail = f"{used_percent:.1f}% used, {usage.free // (1024 * 1024)} MiB free"
        max_used = float(entry.get("max_used_percent", 90))
        min_free = int(entry.get("min_free_bytes", 0))
        if used_percent > max_used or usage.free < min_free:
            limits = f"max {max_used:g}% used, min {min_free // (1024 * 1024)} MiB free"
            results.append(result(name, FAILED, f"{detail} ({limits})"))
        else:
            results.append(result(name, OK, detail))
    return results


def parse_time(text: str) -> Optional[datetime.datetime]:
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return None


def check_backup(settings: Dict[str, Any], now: datetime.datetime) -> List[Result]:
    status_file = settings["status_file"]
    if not os.path.exists(status_file):
        if settings.get("unit") and not unit_present(settings["unit"]):
            return [result("backup", SKIPPED, f"{settings['unit']} not on this host")]
        return [result("backup", FAILED, f"{status_file} does not exist: no backup has run")]
    try:
        with open(status_file, encoding="utf-8") as handle:
            status = json.load(handle)
    except (OSError, ValueError) as error:
        return [result("backup", FAILED, f"{status_file} unreadable: {error}")]
    results = []
    for section, name, limit_key in (
        ("last_backup", "backup age", "max_backup_age_hours"),
        ("last_drill", "restore drill age", "max_drill_age_hours"),
    ):
        record = status.get(section) or {}
        limit = float(settings.get(limit_key, 0))
        started = parse_time(record.get("time", ""))
        if started is None:
            results.append(
                result(name, FAILED, f"no {section.replace('last_', '')} recorded in {status_file}")
            )
            continue
        hours = (now - started).total_seconds() / 3600
        detail = f"{hours:.1f} h ago, {record.get('result', 'unknown')}"
        if record.get("result") != "ok":
            problems = record.get("problems") or [record.get("error", "")]
            results.append(result(name, FAILED, f"{detail}: {'; '.join(p for p in problems if p)}"))
        elif limit and hours > limit:
            results.append(result(name, FAILED, f"{detail} (limit {limit:g} h)"))
        else:
            results.append(result(name, OK, detail))
    return results


def check_http(settings: Dict[str, Any]) -> List[Result]:
    results = []
    for endpoint in settings.get("endpoints", []):
        name = f"http {endpoint['name']}"
        unit = endpoint.get("unit", "")
        if unit and not unit_present(unit):
            results.append(result(name, SKIPPED, f"{unit} not on this host"))
            continue
        request = urllib.request.Request(endpoint["url"], method="GET")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=float(endpoint.get("timeout", 5))) as response:
                code = response.status
        except urllib.error.HTTPError as error:
            code = error.code
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            results.append(result(name, FAILED, f"{endpoint['url']} did not answer: {reason}"))
            continue
        elapsed = (time.monotonic() - started) * 1000
        expected = [int(c) for c in endpoint.get("status_codes", [200])]
        status = OK if code in expected else FAILED
        results.append(result(name, status, f"{endpoint['url']} answered {code} in {elapsed:.0f} ms"))
    return results


def check_certificates(settings: Dict[str, Any], now: datetime.datetime) -> List[Result]:
    results = []
    min_days = float(settings.get("min_days", 14))
    openssl = shutil.which("openssl")
    for path in settings.get("files", []):
        name = f"certificate {path}"
        if not os.path.exists(path):
            results.append(result(name, SKIPPED, "file not on this host"))
            continue
        if not openssl:
            results.append(result(name, SKIPPED, "openssl is not installed"))
            continue
        shown = run([openssl, "x509", "-noout", "-enddate", "-in", path])
        if shown.returncode != 0 or "=" not in shown.stdout:
            results.append(result(name, FAILED, f"not a readable certificate: {shown.stderr.strip()[:200]}"))
            continue
        not_after = shown.stdout.strip().split("=", 1)[1]
        expires = datetime.datetime.fromtimestamp(ssl.cert_time_to_seconds(not_after), datetime.timezone.utc)
        days = (expires - now).total_seconds() / 86400
        detail = f"expires {expires:%Y-%m-%d} ({days:.0f} days)"
        results.append(
            result(
                name,
                FAILED if days < min_days else OK,
                detail + (f", minimum {min_days:g}" if days < min_days else ""),
            )
        )
    return results


def check_nftables(settings: Dict[str, Any]) -> List[Result]:
    family, table = settings.get("family", "inet"), settings["table"]
    name = f"nftables table {family} {table}"
    nft = shutil.which("nft") or ("/usr/sbin/nft" if os.path.exists("/usr/sbin/nft") else None)
    if not nft:
        return [result(name, SKIPPED, "nft is not installed")]
    listed = run([nft, "list", "table", family, table])
    if listed.returncode != 0:
        return [result(name, FAILED, f"not loaded: {listed.stderr.strip()[:200]}")]
    rules = sum(
        1
        for line in listed.stdout.splitlines()
        if line.strip() and not line.strip().startswith(("table", "chain", "}", "type", "policy"))
    )
    return [result(name, OK, f"loaded ({rules} rule lines)")]


def check_tailscale(settings: Dict[str, Any]) -> List[Result]:
    binary = shutil.which(settings.get("binary", "tailscale"))
    if not binary:
        return [result("tailscale", SKIPPED, "tailscale is not installed")]
    shown = run([binary, "status", "--json"])
    try:
        state = json.loads(shown.stdout).get("BackendState", "")
    except ValueError:
        state = ""
    if state == "Running":
        return [result("tailscale", OK, "up (BackendState Running)")]
    return [
        result(
            "tailscale",
            FAILED,
            f"not up: BackendState {state or 'unknown'} {shown.stderr.strip()[:200]}".strip(),
        )
    ]


def probe(config: Dict[str, Any], now: datetime.datetime) -> Dict[str, Any]:
    checks: Dict[str, Callable[[Dict[str, Any]], List[Result]]] = {
        "disk": check_disk,
        "backup": lambda s: check_backup(s, now),
        "http": check_http,
        "certificates": lambda s: check_certificates(s, now),
        "nftables": check_nftables,
        "tailscale": check_tailscale,
    }
    results: List[Result] = []
    for kind, function in checks.items():
        settings = config.get("checks", {}).get(kind) or {}
        if not settings.get("enabled", False):
            results.append(result(kind, SKIPPED, "switched off"))
            continue
        try:
            results += function(settings)
        except Exception as error:
            results.append(result(kind, FAILED, f"check crashed: {type(error).__name__}: {error}"))
    failed = [r for r in results if r["status"] == FAILED]
    return {
        "host": config.get("host", os.uname().nodename),
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "result": "failing" if failed else "ok",
        "failed": len(failed),
        "checks": results,
    }


def summary(status: Dict[str, Any]) -> str:
    counted = {s: sum(1 for r in status["checks"] if r["status"] == s) for s in (OK, FAILED, SKIPPED)}
    lines = [
        f"{status['host']}: {status['result'].upper()} at {status['time']}"
        f" ({counted[OK]} ok, {counted[FAILED]} failed, {counted[SKIPPED]} skipped)"
    ]
    lines += [
        f"  {r['status'].upper():7} {r['check']}: {r['detail']}"
        for r in status["checks"]
        if r["status"] != SKIPPED
    ]
    lines += [f"  skipped {r['check']}: {r['detail']}" for r in status["checks"] if r["status"] == SKIPPED]
    return "\n".join(lines) + "\n"


def write_atomic(path: str, text: str) -> None:
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="sovereign-health-probe", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument("--no-write", action="store_true", help="print the status, write no file")
    args = parser.parse_args(argv)
    try:
        with open(args.config, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        print(f"sovereign-health-probe: cannot read {args.config}: {error}", file=sys.stderr)
        return 2
    status = probe(config, datetime.datetime.now(datetime.timezone.utc))
    text = summary(status)
    if not args.no_write:
        write_atomic(config["status_file"], json.dumps(status, indent=2, sort_keys=True) + "\n")
        write_atomic(config["summary_file"], text)
    sys.stdout.write(text)
    return 1 if status["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
