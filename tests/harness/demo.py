"""`make demo`: plan the example fleet, then converge site.yml onto one local Debian container.

Prints the plan of the example fleet, converges the demo host (a systemd container made from the
same base image and settings as the tests), and ends with a summary of what runs where and how to
reach it. Only layers that exist in playbooks/site.yml run: nothing is faked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
HARNESS = REPO_ROOT / "tests" / "harness"
BIN = REPO_ROOT / ".venv" / "bin"
DEMO_HOST = "sovereign-demo"
OUTPUT = REPO_ROOT / "plan-output"


def step(title: str) -> None:
    """Print a step header."""
    print(f"\n==> {title}", flush=True)


def docker(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a docker CLI command and capture its output."""
    return subprocess.run(["docker", *argv], check=check, capture_output=True, text=True)


def ensure_demo_host() -> None:
    """Start the demo container unless it already runs (a second `make demo` reuses it)."""
    running = docker("inspect", "-f", "{{.State.Running}}", DEMO_HOST, check=False).stdout.strip()
    if running == "true":
        print(f"{DEMO_HOST} is already running; reusing it")
        return
    docker("rm", "-f", DEMO_HOST, check=False)
    image = subprocess.run(
        [str(HARNESS / "base-image.sh"), "bookworm"], check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    settings = yaml.safe_load((HARNESS / "container-settings.yml").read_text())
    argv = ["run", "-d", "--name", DEMO_HOST, "--hostname", DEMO_HOST]
    argv += [f"--cap-add={cap}" for cap in settings["capabilities"]]
    argv += [f"--security-opt={opt}" for opt in settings["security_opts"]]
    argv += [f"--cgroupns={settings['cgroupns_mode']}", f"--stop-signal={settings['stop_signal']}"]
    argv += [f"--tmpfs={path}" for path in settings["tmpfs"]]
    argv += [f"--volume={vol}" for vol in settings["volumes"]]
    docker(*argv, image, settings["command"])
    for _unused in range(120):
        state = docker("exec", DEMO_HOST, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            print(f"{DEMO_HOST} is up ({image})")
            return
        time.sleep(0.5)
    sys.exit(f"systemd in {DEMO_HOST} did not come up within 60 s")


def playbook(inventory: str, name: str, output_dir: Path) -> None:
    """Run one of the collection's playbooks; stop the demo if it fails."""
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPO_ROOT / ".build" / "collections")}
    argv = [
        str(BIN / "ansible-playbook"),
        "-i",
        str(REPO_ROOT / inventory),
        str(REPO_ROOT / "playbooks" / name),
        "-e",
        f"sovereign_plan_output_dir={output_dir}",
    ]
    if subprocess.run(argv, env=env, cwd=REPO_ROOT, check=False).returncode != 0:
        sys.exit(f"ansible-playbook {name} failed; the output above says where")


def summary(plan_file: Path) -> None:
    """What runs where, and how to reach it, from the demo's plan.json."""
    plan = json.loads(plan_file.read_text())
    print("\n==> Summary of the demo host")
    for host, slice_ in sorted(plan["hosts"].items()):
        for dep in slice_.get("deployments", []):
            mem = dep["memory"]
            print(
                f"  {host}: {dep['model']} on {dep['engine']} ({dep['quant']}, context {dep['context']}), "
                f"{mem['total_bytes'] / 2**30:.2f} GiB of a {mem['budget_bytes'] / 2**30:.2f} GiB budget, "
                f"~{dep['predicted_decode_tps']:.0f} tokens/s predicted, planned on 127.0.0.1:{dep['port']}"
            )
            print(f"    argv: {' '.join(dep['argv'])}")
    for item in plan.get("unplaced", []):
        print(f"  unplaced: {item['model']}: {item['reason']}")
    print(
        "\n  Converged layers: hardware facts, the plan and base hardening (sovereign_layers in\n"
        "  inventories/demo/hosts.yml). The engine, agent, tailnet, TLS and firewall layers need the\n"
        "  artifact cache filled and a tailnet, so only sshd listens on the demo host."
    )
    print(f"  Plans: {OUTPUT}/example/plan.md, {OUTPUT}/demo/plan.md (and plan.json, plan-memory.svg)")
    print(f"  Shell on the demo host: docker exec -it {DEMO_HOST} bash; remove it: docker rm -f {DEMO_HOST}")


def main() -> None:
    """Run the demo end to end."""
    started = time.monotonic()
    step("Plan the example fleet (declared hardware, no host is touched)")
    playbook("inventories/example", "plan.yml", OUTPUT / "example")
    print((OUTPUT / "example" / "plan.md").read_text())
    step(f"Start the demo host {DEMO_HOST}")
    ensure_demo_host()
    step("Converge playbooks/site.yml onto the demo host")
    playbook("inventories/demo", "site.yml", OUTPUT / "demo")
    summary(OUTPUT / "demo" / "plan.json")
    print(f"\n==> make demo finished in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
