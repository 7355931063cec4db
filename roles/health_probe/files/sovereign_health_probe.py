# SPDX-License-Identifier: Apache-2.0
"""sovereign-health-probe: one JSON status and a short summary of a host's health.

Reads the JSON configuration the health_probe role renders. Every check can be switched off
(`enabled: false`); a check whose service is not on this host is skipped with a note rather than
failed. `--scope quick` (every few minutes) runs the cheap checks of what a client sees: the
services, the TLS entry point, failed units, the firewall and the tailnet; `--scope full` (daily)
adds disk, backups, certificates and the latest benchmark's age and flags. A quick run keeps
the last full run's results of the others. Each check's status says since when it has been what
it is, and every change of a check's status is appended to a history file. Exits 1 when any
check failed. Standard library only: it runs on every managed host.
"""

from __future__ import annotations

import argparse
import datetime
import fcntl
import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Dict, List, Optional, Tuple

DEFAULT_CONFIG = "/etc/sovereign-health/config.json"
OK, FAILED, SKIPPED = "ok", "failed", "skipped"
QUICK, FULL = "quick", "full"
# What a client sees, cheap enough for every few minutes; the rest changes slowly and runs daily.
QUICK_CHECKS = ("http", "entry", "units", "nftables", "tailscale")
DEFAULT_HISTORY_LENGTH = 500
# The MCP initialize a client opens a session with; the gateway's own 401 proves it answered.
MCP_INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "sovereign-health-probe", "version": "1"},
    },
}
GATEWAY_REALM = 'realm="sovereign-mcp-gateway"'

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


def deployment_name(entry: Dict[str, Any]) -> str:
    """A deployment as playbooks/benchmark.yml names it: the name, then ``#replica`` past the first."""
    replica = entry.get("replica") or 0
    return f"{entry.get('name', '?')}{f' #{replica}' if replica else ''}"


def check_benchmark(settings: Dict[str, Any], now: datetime.datetime) -> List[Result]:
    """The latest benchmark's age and flags, from the summary playbooks/benchmark.yml leaves here.

    No summary: not measured (ok, for information). A flagged deployment (decode slower than the
    plan by more than the benchmark's tolerance) or one the benchmark could not measure fails the
    check, named; so does a result older than ``max_age_days`` (0: no limit).
    """
    path = settings["summary_file"]
    if not os.path.exists(path):
        return [result("benchmark", OK, f"not measured ({path} does not exist)")]
    try:
        with open(path, encoding="utf-8") as handle:
            summary = json.load(handle)
        measured = parse_time(summary.get("measured_at", ""))
    except (OSError, ValueError, AttributeError) as error:
        return [result("benchmark", FAILED, f"{path} unreadable: {error}")]
    if measured is None:
        return [result("benchmark", FAILED, f"no measured_at in {path}")]
    days = (now - measured).total_seconds() / 86400
    ratios = {deployment_name(d): d.get("decode_ratio") for d in summary.get("deployments") or []}
    flagged = [deployment_name(d) for d in summary.get("flagged") or []]
    unmeasured = [deployment_name(d) for d in summary.get("failed") or []]
    problems = [
        f"{name} flagged (decode at {ratios[name]:.2f} of the plan)"
        if isinstance(ratios.get(name), (int, float))
        else f"{name} flagged"
        for name in flagged
    ] + [f"{name} not measured (the benchmark failed on it)" for name in unmeasured]
    limit = float(settings.get("max_age_days", 0))
    if limit and days > limit:
        problems.append(f"older than {limit:g} days (run playbooks/benchmark.yml)")
    detail = f"measured {days:.1f} days ago, {len(ratios)} deployment(s)"
    if problems:
        return [result("benchmark", FAILED, f"{detail}: {'; '.join(problems)}")]
    return [result("benchmark", OK, f"{detail}, none flagged")]


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


def _https(
    address: str, port: int, server_name: str, context: ssl.SSLContext, timeout: float
) -> http.client.HTTPConnection:
    """An HTTP connection over TLS to ``address``, the certificate checked for ``server_name``."""
    connection = http.client.HTTPConnection(server_name, port, timeout=timeout)
    raw = socket.create_connection((address, port), timeout=timeout)
    try:
        connection.sock = context.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise
    return connection


def entry_url(address: str, port: int, path: str) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}{'' if port == 443 else f':{port}'}{path}"


def entry_request(location: Dict[str, Any], token: str) -> Optional[Tuple[str, str, Dict[str, str], bytes]]:
    """What a client would send to ``location``: method, path, headers, body; None for no check.

    The engines' API (a path ending in /v1/): GET models, with the probe's token. The MCP
    gateway (/mcp): an initialize, answered 200 or, without a gateway token, with the gateway's
    own 401. Metadata under /.well-known/ is served by the gateway /mcp already checks. Any other
    location: GET, with the token where the proxy authenticates.
    """
    path = str(location["path"])
    proxy_auth = location.get("auth", "proxy") == "proxy"
    headers = {"Authorization": f"Bearer {token}"} if proxy_auth and token else {}
    if path.startswith("/.well-known/"):
        return None
    if path.rstrip("/").endswith("/mcp"):
        headers.update({"Accept": "application/json, text/event-stream", "Content-Type": "application/json"})
        return "POST", path, headers, json.dumps(MCP_INITIALIZE).encode()
    if path.endswith("/v1/"):
        return "GET", path + "models", headers, b""
    return "GET", path, headers, b""


def entry_verdict(path: str, status: int, headers: Dict[str, str]) -> Tuple[str, str]:
    """ok or failed for an answer of the entry point, and why."""
    if path.rstrip("/").endswith("/mcp") and status == 401:
        if GATEWAY_REALM in headers.get("www-authenticate", ""):
            return OK, "the gateway answered 401 (the probe holds no gateway token)"
        return FAILED, "401 from the proxy, not the gateway"
    if path.endswith("/models") or path.rstrip("/").endswith("/mcp"):
        return (OK if status == 200 else FAILED), f"answered {status}"
    # Anything below 500 came from the service behind the proxy (a 401 of Qdrant's own key check).
    return (OK if status < 500 else FAILED), f"answered {status}"


def check_entry(settings: Dict[str, Any]) -> List[Result]:
    """The TLS entry point, on each listen address, the way a tailnet client calls it."""
    addresses = settings.get("addresses") or []
    if not addresses:
        return [result("entry", SKIPPED, "no TLS entry point on this host")]
    port = int(settings.get("port", 443))
    timeout = float(settings.get("timeout", 5))
    token = ""
    if settings.get("token_file"):
        with open(settings["token_file"], encoding="utf-8") as handle:
            token = handle.read().strip()
    context = ssl.create_default_context(cafile=settings.get("ca_file") or None)
    results = []
    for address in addresses:
        server_name = settings.get("server_name") or address
        for location in settings.get("locations", []):
            request = entry_request(location, token)
            if request is None:
                continue
            method, path, headers, body = request
            name = f"entry {entry_url(address, port, path)}"
            started = time.monotonic()
            try:
                connection = _https(address, port, server_name, context, timeout)
                try:
                    connection.request(method, path, body=body or None, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    answer = {key.lower(): value for key, value in response.getheaders()}
                    status = response.status
                finally:
                    connection.close()
            except (OSError, ssl.SSLError, http.client.HTTPException) as error:
                results.append(result(name, FAILED, f"did not answer: {error}"))
                continue
            verdict, detail = entry_verdict(path, status, answer)
            elapsed = (time.monotonic() - started) * 1000
            results.append(result(name, verdict, f"{detail} in {elapsed:.0f} ms"))
    return results


def check_units(settings: Dict[str, Any]) -> List[Result]:
    """Every unit of the host that failed, or keeps failing and restarting."""
    systemctl = shutil.which("systemctl")
    if not systemctl:
        return [result("units", SKIPPED, "systemctl is not installed")]
    listed = run(
        [
            systemctl,
            "list-units",
            "--all",
            "--plain",
            "--no-legend",
            "--no-pager",
            "--state=failed,auto-restart",
        ]
    )
    if listed.returncode != 0:
        return [result("units", FAILED, f"systemctl list-units failed: {listed.stderr.strip()[:200]}")]
    ignored = set(settings.get("ignore", []))
    units = [line.split()[0] for line in listed.stdout.splitlines() if line.split()]
    units = [unit for unit in units if unit not in ignored]
    if not units:
        return [result("units", OK, "no unit failed")]
    shown = run([systemctl, "show", "--property=Id,ActiveState,SubState,Result,NRestarts", *units])
    properties: Dict[str, Dict[str, str]] = {}
    for block in shown.stdout.strip().split("\n\n"):
        values = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if values.get("Id"):
            properties[values["Id"]] = values
    results = []
    for unit in units:
        values = properties.get(unit, {})
        if values.get("SubState") == "auto-restart":
            restarts, why = values.get("NRestarts", "?"), values.get("Result", "?")
            detail = f"restarting after failures ({restarts} restarts, result {why})"
        else:
            detail = f"failed (result {values.get('Result', 'unknown')})"
        results.append(result(f"unit {unit}", FAILED, detail))
    return results


def probe(config: Dict[str, Any], now: datetime.datetime, scope: str = FULL) -> Dict[str, Any]:
    checks: Dict[str, Callable[[Dict[str, Any]], List[Result]]] = {
        "disk": check_disk,
        "backup": lambda s: check_backup(s, now),
        "http": check_http,
        "entry": check_entry,
        "units": check_units,
        "certificates": lambda s: check_certificates(s, now),
        "benchmark": lambda s: check_benchmark(s, now),
        "nftables": check_nftables,
        "tailscale": check_tailscale,
    }
    results: List[Result] = []
    for kind, function in checks.items():
        if scope == QUICK and kind not in QUICK_CHECKS:
            continue
        settings = config.get("checks", {}).get(kind) or {}
        if not settings.get("enabled", False):
            results.append({**result(kind, SKIPPED, "switched off"), "kind": kind})
            continue
        try:
            found = function(settings)
        except Exception as error:
            found = [result(kind, FAILED, f"check crashed: {type(error).__name__}: {error}")]
        results += [{**entry, "kind": kind} for entry in found]
    failed = [r for r in results if r["status"] == FAILED]
    return {
        "host": config.get("host", os.uname().nodename),
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "result": "failing" if failed else "ok",
        "failed": len(failed),
        "checks": results,
    }


def carry_over(status: Dict[str, Any], previous: Dict[str, Any]) -> Dict[str, Any]:
    """A quick run's status with the last full run's results of the checks it did not run.

    Each carried result keeps the time it was checked at (``checked``).
    """
    carried = [
        {**entry, "checked": entry.get("checked", previous.get("time", ""))}
        for entry in previous.get("checks", [])
        if entry.get("kind", "") not in QUICK_CHECKS and entry.get("kind")
    ]
    checks = status["checks"] + carried
    failed = [r for r in checks if r["status"] == FAILED]
    return {**status, "checks": checks, "failed": len(failed), "result": "failing" if failed else "ok"}


def with_history(
    status: Dict[str, Any], previous: Dict[str, Any]
) -> Tuple[Dict[str, Any], List[Dict[str, str]]]:
    """The status with ``since`` on every check (when it entered its status), and the changes.

    A check keeps the ``since`` of the previous status while its status stays the same; a new
    check or a changed status starts now. Checks that are gone are changes too ("gone").
    """
    before = {entry["check"]: entry for entry in previous.get("checks", [])}
    changes: List[Dict[str, str]] = []
    checks = []
    for entry in status["checks"]:
        old = before.pop(entry["check"], None)
        if old is not None and old.get("status") == entry["status"]:
            since = old.get("since", previous.get("time", status["time"]))
        else:
            since = status["time"]
            changes.append(
                {
                    "time": status["time"],
                    "check": entry["check"],
                    "from": old["status"] if old else "new",
                    "to": entry["status"],
                    "detail": entry["detail"],
                }
            )
        checks.append({**entry, "since": since})
    changes += [
        {"time": status["time"], "check": name, "from": old.get("status", ""), "to": "gone", "detail": ""}
        for name, old in before.items()
    ]
    return {**status, "checks": checks}, changes


def append_history(path: str, changes: List[Dict[str, str]], keep: int) -> None:
    """Append ``changes`` to the JSON-lines history at ``path``, keeping its last ``keep`` lines."""
    lines: List[str] = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    lines += [json.dumps(change, sort_keys=True) for change in changes]
    write_atomic(path, "".join(line + "\n" for line in lines[-keep:]))


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


def read_status(path: str) -> Dict[str, Any]:
    """The last status written, or an empty one (first run, or an unreadable file)."""
    try:
        with open(path, encoding="utf-8") as handle:
            loaded = json.load(handle)
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="sovereign-health-probe", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    parser.add_argument(
        "--scope",
        choices=[QUICK, FULL],
        default=FULL,
        help="quick: services, entry point, units, firewall, tailnet; full: all checks (default)",
    )
    parser.add_argument("--no-write", action="store_true", help="print the status, write no file")
    args = parser.parse_args(argv)
    try:
        with open(args.config, encoding="utf-8") as handle:
            config = json.load(handle)
    except (OSError, ValueError) as error:
        print(f"sovereign-health-probe: cannot read {args.config}: {error}", file=sys.stderr)
        return 2
    state_dir = os.path.dirname(config["status_file"]) or "."
    # The quick and the full run may overlap: one at a time reads and writes the status.
    with open(os.path.join(state_dir, ".lock"), "a", encoding="utf-8") as lock:
        if not args.no_write:
            fcntl.flock(lock, fcntl.LOCK_EX)
        previous = read_status(config["status_file"])
        status = probe(config, datetime.datetime.now(datetime.timezone.utc), args.scope)
        if args.scope == QUICK:
            status = carry_over(status, previous)
        status, changes = with_history(status, previous)
        text = summary(status)
        if not args.no_write:
            write_atomic(config["status_file"], json.dumps(status, indent=2, sort_keys=True) + "\n")
            write_atomic(config["summary_file"], text)
            history = config.get("history_file")
            if history and changes:
                append_history(history, changes, int(config.get("history_length", DEFAULT_HISTORY_LENGTH)))
    sys.stdout.write(text)
    return 1 if status["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
