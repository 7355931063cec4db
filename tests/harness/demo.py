"""`make demo`: plan the example fleet, then converge the whole of site.yml onto one local container.

Steps: the plan of the example fleet (declared hardware, no host touched); a Debian sid systemd
container, `sovereign-demo`, made with the settings of the tests (tests/harness/container-settings.yml)
and the engine scenario's cgroup2 init; the controller-side caches filled by the molecule scenarios'
own prepare playbooks (tests/harness/demo_prepare.yml); the plan of the demo host; the converge of
playbooks/site.yml; smoke calls through the real path (tests/harness/demo_smoke.yml), the restore
drill and the health playbook; and a summary of every endpoint with the result of its call.

A second `make demo` reuses the container and the caches, and reports what the converge changed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
HARNESS = REPO_ROOT / "tests" / "harness"
BIN = REPO_ROOT / ".venv" / "bin"
DEMO_HOST = "sovereign-demo"
CHECKOUT_LABEL = "sovereign.demo.checkout"
# sid: the suite that packages llama-server (llama.cpp-tools).
SUITE = "sid"
# sid's systemd needs cgroup v2; this init gives the container one (molecule/engine/molecule.yml).
CGROUP2_INIT = REPO_ROOT / "tests" / "fixtures" / "engine" / "cgroup2-init.sh"
DEMO_DIR = REPO_ROOT / ".build" / "demo"
PREPARE_DIR = DEMO_DIR / "prepare"
OUTPUT = REPO_ROOT / "plan-output"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sovereign-stack"
RECAP = re.compile(
    rf"^{re.escape(DEMO_HOST)}\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
)
LAYERS = {
    "baseline": "base hardening (SSH, kernel parameters written, journal, audit rules written)",
    "engine": "llama-server from sid's llama.cpp-tools, serving the tiny model the planner placed",
    "services": "Qdrant (stand-in), OPA 1.4.2 (built from Debian's source), MCP gateway (PyPI wheels, npm)",
    "tailscale": "the tailnet address (Tailscale stand-in)",
    "tls_proxy": "mkcert CA, Nginx with TLS and bearer tokens on the tailnet address only",
    "firewall": "nftables: input drop but SSH and the tailnet's HTTPS, egress drop for the services",
    "backup": "restic to a local repository, restore drill",
    "health": "the health probe's quick and daily checks",
}
LEFT_OUT = {"accelerator": "no GPU in a container (the plan of this CPU-only host names no GPU vendor)"}
STANDINS = {
    "Qdrant": "no Qdrant release can be downloaded here, so the demo runs tests/standins/qdrant_standin "
    "(Qdrant's own engine, qdrant-edge-py, behind Qdrant's HTTP API) through the real qdrant role "
    "and artifact cache",
    "Tailscale": "no Tailscale release and no control server here, so tests/standins/tailscale_standin "
    "gives the container its tailscale0 address through the real tailscale role",
}


def step(title: str) -> None:
    """Print a step header."""
    print(f"\n==> {title}", flush=True)


def docker(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a docker CLI command and capture its output."""
    return subprocess.run(["docker", *argv], check=check, capture_output=True, text=True)


def ensure_demo_host() -> None:
    """Start the demo container unless it already runs from the current image (a rerun reuses it)."""
    image = subprocess.run(
        [str(HARNESS / "base-image.sh"), SUITE], check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    # Reused only when it runs the current image for this checkout: the controller-side secrets and
    # the cgroup2 init it mounts are this checkout's.
    state = '{{.State.Running}}|{{.Config.Image}}|{{index .Config.Labels "' + CHECKOUT_LABEL + '"}}'
    current = docker("inspect", "-f", state, DEMO_HOST, check=False).stdout.strip().split("|")
    if current == ["true", image, str(REPO_ROOT)]:
        print(f"{DEMO_HOST} is already running ({image}); reusing it")
        return
    docker("rm", "-f", DEMO_HOST, check=False)
    settings = yaml.safe_load((HARNESS / "container-settings.yml").read_text())
    apt_cache = CACHE / "apt-archives"
    apt_cache.mkdir(parents=True, exist_ok=True)
    volumes = [
        *settings["volumes"],
        f"{apt_cache}:/var/cache/apt/archives",
        f"{CGROUP2_INIT}:/lib/systemd/systemd:ro",
    ]
    argv = [
        "run",
        "-d",
        "--name",
        DEMO_HOST,
        "--hostname",
        DEMO_HOST,
        f"--label={CHECKOUT_LABEL}={REPO_ROOT}",
    ]
    argv += [f"--cap-add={cap}" for cap in settings["capabilities"]]
    argv += [f"--security-opt={opt}" for opt in settings["security_opts"]]
    argv += [f"--cgroupns={settings['cgroupns_mode']}", f"--stop-signal={settings['stop_signal']}"]
    argv += [f"--tmpfs={path}" for path in settings["tmpfs"]]
    argv += [f"--volume={vol}" for vol in volumes]
    docker(*argv, image, settings["command"])
    for _unused in range(120):
        state = docker("exec", DEMO_HOST, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            print(f"{DEMO_HOST} is up ({image})")
            return
        time.sleep(0.5)
    sys.exit(f"systemd in {DEMO_HOST} did not come up within 60 s")


def playbook(name: str, *extra: str, env: dict[str, str] | None = None, check: bool = True) -> dict[str, int]:
    """Run a playbook against the demo inventory, echoing its output; the demo host's recap counts."""
    environment = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / ".build" / "collections"),
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS": "false",
        # One `docker exec` per task instead of four (copy, chmod, run, clean up): most of the
        # converge's time on a busy 2-core machine is spent in those round trips.
        "ANSIBLE_PIPELINING": "true",
        **(env or {}),
    }
    argv = [str(BIN / "ansible-playbook"), "-i", str(REPO_ROOT / "inventories" / "demo"), name, *extra]
    recap: dict[str, int] = {}
    with subprocess.Popen(
        argv, env=environment, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            match = RECAP.match(line)
            if match:
                recap = dict(
                    zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True)
                )
    if check and process.returncode != 0:
        sys.exit(f"ansible-playbook {name} failed; the output above says where")
    recap["rc"] = process.returncode
    return recap


def plan_tables(plan_md: Path) -> str:
    """The deployment and memory tables of a plan.md."""
    text = plan_md.read_text()
    start = text.find("## Deployments")
    end = text.find("![memory")
    return text[start:end].rstrip() if start >= 0 else text


def host_json(path: str) -> dict[str, Any]:
    """A JSON status file of the demo host ({} when it cannot be read)."""
    result = docker("exec", DEMO_HOST, "cat", path, check=False)
    try:
        return dict(json.loads(result.stdout)) if result.returncode == 0 else {}
    except json.JSONDecodeError:
        return {}


def summary(converge: dict[str, int], timings: dict[str, float], started: float) -> None:
    """Every endpoint, its URL and the result of the call that really ran; layers; times."""
    smoke_file = DEMO_DIR / "smoke.json"
    smoke: dict[str, Any] = json.loads(smoke_file.read_text()) if smoke_file.exists() else {}
    backup = host_json("/var/lib/sovereign-backup/status.json")
    health = host_json("/var/lib/sovereign-health/status.json")
    plan = json.loads((OUTPUT / "demo" / "plan.json").read_text())
    deployment = plan["hosts"][DEMO_HOST]["deployments"][0]
    base = smoke.get("base_url", "https://<tailnet address>")
    mcp = {(call["path"], call["client"]): call["result"] for call in smoke.get("mcp", [])}
    last_backup = backup.get("last_backup", {})
    drill = backup.get("last_drill", {})
    failed_checks = [check["check"] for check in health.get("checks", []) if check.get("status") == "failed"]

    def tool_calls(path: str) -> str:
        alice, bob = mcp.get((path, "alice"), {}), mcp.get((path, "bob"), {})
        if "error" in alice or "error" in bob:
            answer = f"HTTP {smoke.get('mcp_initialize_status')} {smoke.get('mcp_initialize_body', '')!r}"
            return (
                f"FAILED: {(alice.get('error') or bob.get('error', ''))[:60]}; initialize answered {answer}"
            )
        allowed = (
            "allowed" if alice.get("is_error") is False else f"NOT ALLOWED: {alice.get('text', '')[:60]}"
        )
        denied = f"denied ({bob.get('text', '')[:60]})" if bob.get("is_error") else "NOT DENIED"
        return f"alice list_directory: {allowed}; bob write_file: {denied}"

    rows = [
        (
            f"engine: {deployment['model']} on llama.cpp ({deployment['quant']})",
            f"{base}/v1/chat/completions",
            f"HTTP {smoke.get('completion_status', '-')}, {smoke.get('completion_tokens', 0)} tokens "
            f"({smoke.get('completion_text', '')!r}); bearer token, TLS against the demo CA",
        ),
        (
            "engine: model list",
            f"{base}/v1/models",
            f"HTTP {smoke.get('models_status', '-')} {smoke.get('models', [])}; without a token "
            f"HTTP {smoke.get('no_token_status', '-')}",
        ),
        ("MCP gateway through Nginx (OPA decides each call)", f"{base}/mcp", tool_calls("nginx")),
        (
            "MCP gateway on the host (OPA decides each call)",
            "http://127.0.0.1:8800/mcp",
            tool_calls("loopback"),
        ),
        (
            "Qdrant stand-in, OPA, gateway (loopback)",
            "127.0.0.1:6333, 127.0.0.1:8181, 127.0.0.1:8800",
            "health probe HTTP checks (below); reachable only on the host",
        ),
        (
            "health probe",
            "sovereign-health-probe.service",
            f"{health.get('result', 'no status')}; failed checks: {', '.join(failed_checks) or 'none'}",
        ),
        (
            "backup (restic, local repository)",
            "/var/backups/sovereign/restic",
            f"snapshot {str(last_backup.get('snapshot_id', '-'))[:8]} at {last_backup.get('time', '-')}; "
            f"restore drill {drill.get('result', 'never ran')}, "
            f"{drill.get('files_verified', 0)} files verified",
        ),
    ]
    step(f"Summary of the demo host {DEMO_HOST} (Debian {SUITE} container)")
    width = max(len(row[0]) for row in rows)
    for what, url, result in rows:
        print(f"  {what:<{width}}  {url}\n  {'':<{width}}  -> {result}")
    print("\n  Converged layers:")
    for layer, what in LAYERS.items():
        print(f"    {layer:<12} {what}")
    for layer, why in LEFT_OUT.items():
        print(f"    {layer:<12} left out: {why}")
    print("  Stand-ins (test doubles from tests/standins, the roles do not know):")
    for name, why in STANDINS.items():
        print(f"    {name}: {why}")
    print(f"  Plans: {OUTPUT}/example/plan.md, {OUTPUT}/demo/plan.md (and plan.json, plan-memory.svg)")
    print(f"  Tokens and CA on this machine: {DEMO_DIR}/tls, {DEMO_DIR}/secrets")
    print(f"  Shell on the demo host: docker exec -it {DEMO_HOST} bash")
    print(f"  Remove it: docker rm -f {DEMO_HOST} && rm -rf {DEMO_DIR}")
    print(
        f"\n  site.yml converge: {converge.get('changed', '?')} changed of {converge.get('ok', '?')} tasks ok"
    )
    print("  Times: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in timings.items()))
    print(f"\n==> make demo finished in {time.monotonic() - started:.0f} s")


def main() -> None:
    """Run the demo end to end."""
    started = time.monotonic()
    timings: dict[str, float] = {}

    def timed(name: str, since: float) -> None:
        timings[name] = time.monotonic() - since

    mark = time.monotonic()
    step("Plan the example fleet (declared hardware, no host is touched)")
    subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventories/example", "playbooks/plan.yml", "-e",
         f"sovereign_plan_output_dir={OUTPUT / 'example'}"],
        cwd=REPO_ROOT, check=True, capture_output=True,
    )  # fmt: skip
    print(plan_tables(OUTPUT / "example" / "plan.md"))
    timed("example plan", mark)

    mark = time.monotonic()
    step(f"Start the demo host {DEMO_HOST}")
    ensure_demo_host()
    timed("container", mark)

    mark = time.monotonic()
    step("Fill the controller's artifact cache (the molecule scenarios' prepare playbooks)")
    PREPARE_DIR.mkdir(parents=True, exist_ok=True)
    playbook(
        str(HARNESS / "demo_prepare.yml"),
        "-e",
        f"sovereign_artifact_cache_dir={DEMO_DIR / 'artifacts'}",
        env={
            "MOLECULE_PROJECT_DIRECTORY": str(REPO_ROOT),
            "MOLECULE_SCENARIO_DIRECTORY": str(REPO_ROOT / "molecule" / "agent_layer"),
            "MOLECULE_EPHEMERAL_DIRECTORY": str(PREPARE_DIR),
        },
    )
    timed("prepare", mark)

    plan_dir = f"sovereign_plan_output_dir={OUTPUT / 'demo'}"
    mark = time.monotonic()
    step("Plan the demo host (its detected hardware)")
    playbook("playbooks/site.yml", "--tags", "plan", "-e", plan_dir)
    print(plan_tables(OUTPUT / "demo" / "plan.md"))
    timed("demo plan", mark)

    mark = time.monotonic()
    step("Converge playbooks/site.yml onto the demo host")
    converge = playbook("playbooks/site.yml", "-e", plan_dir)
    timed("converge", mark)

    mark = time.monotonic()
    step("Smoke calls through the tailnet address, the first backup, the restore drill and the health probe")
    playbook(str(HARNESS / "demo_smoke.yml"), check=False)
    playbook("playbooks/restore_drill.yml", check=False)
    playbook("playbooks/health.yml", check=False)
    timed("smoke", mark)

    summary(converge, timings, started)


if __name__ == "__main__":
    main()
