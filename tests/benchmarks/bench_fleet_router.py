# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Fleet router benchmark: what a router in front of an engine adds, for each candidate router.

One stand-in engine on loopback (tests/standins/fake_openai_backend.py, answering at once, streaming
4 tokens 10 ms apart); every candidate routes the model ``small`` to it. Requests go round-robin
across the targets, one at a time, from plain blocking Python on kept-alive connections, so every
target sees the same machine state: ``direct`` (the engine's own port), ``sovereign`` (our router,
roles/fleet_router/files), and where installed: ``nginx`` (a plain proxy_pass, the floor of any Nginx
design), ``nginx-njs`` (routing by the body's model in njs, which Nginx can only do in a content
handler with a subrequest), and the routers given by path: ``--litellm``, ``--sglang-router``,
``--vllm-router`` (their executables, each in its own virtualenv).

Printed per target: p50 and p99 of a short non-streamed chat completion, the same added to
``direct``'s, median time to the first streamed event, and the resident memory of its processes.

Run: ``.venv/bin/python tests/benchmarks/bench_fleet_router.py [--requests 1000]``, or ``--smoke``
(direct and ours only, 30 requests) for CI. Exits non-zero if a request fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
NJS_MODULE = Path("/usr/lib/nginx/modules/ngx_http_js_module.so")
BENCH_KEY = "sk-bench-only-not-a-secret"
CHAT = {"model": "small", "messages": [{"role": "user", "content": "say four words"}], "max_tokens": 4}
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {BENCH_KEY}"}
# Starter of one candidate: (engine port, its own port, a scratch folder) -> argv.
Starter = Callable[[int, int, Path], list[str]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_sovereign(engine: int, port: int, work: Path) -> list[str]:
    table = {
        "version": 1,
        "host": "bench",
        "deployments": [
            {
                "name": "small",
                "context": 4096,
                "weights_bytes": 1,
                "engines": ["fake"],
                "tags": [],
                "replicas": [
                    {"host": "bench", "url": f"http://127.0.0.1:{engine}", "engine": "fake", "context": 4096}
                ],
            }
        ],
    }
    (work / "table.json").write_text(json.dumps(table))
    config = {
        "table": str(work / "table.json"),
        "accounting_log": str(work / "accounting.jsonl"),
        "listen_port": port,
    }
    (work / "router.json").write_text(json.dumps(config))
    return [
        PYTHON,
        "-m",
        "sovereign_fleet_router",
        "--config",
        str(work / "router.json"),
        "--log-level",
        "warning",
    ]


NGINX_HEAD = """daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/error.log;
{load}
events {{ worker_connections 256; }}
http {{ access_log off; client_body_temp_path {work}; proxy_temp_path {work};
  upstream small {{ server 127.0.0.1:{engine}; keepalive 16; }}
"""


def start_nginx(engine: int, port: int, work: Path) -> list[str]:
    config = NGINX_HEAD.format(work=work, load="", engine=engine) + (
        f"  server {{ listen 127.0.0.1:{port};\n"
        "    location /v1/ { proxy_pass http://small; proxy_http_version 1.1;\n"
        '      proxy_set_header Connection ""; proxy_buffering off; } } }\n'
    )
    (work / "nginx.conf").write_text(config)
    return ["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)]


NJS_ROUTE = """function byModel(r) {
  var model;
  try { model = JSON.parse(r.requestText).model; } catch (e) { r.return(400, 'bad json'); return; }
  r.subrequest('/_up/' + model + r.uri, {method: 'POST', body: r.requestText}, function (reply) {
    r.headersOut['Content-Type'] = reply.headersOut['Content-Type'];
    r.return(reply.status, reply.responseText);
  });
}
export default {byModel};
"""


def start_nginx_njs(engine: int, port: int, work: Path) -> list[str]:
    (work / "route.js").write_text(NJS_ROUTE)
    config = NGINX_HEAD.format(work=work, load=f"load_module {NJS_MODULE};", engine=engine) + (
        f"  js_import route from {work}/route.js;\n"
        "  client_body_buffer_size 1m; subrequest_output_buffer_size 1m;\n"
        f"  server {{ listen 127.0.0.1:{port};\n"
        "    location /v1/ { js_content route.byModel; }\n"
        "    location ~ ^/_up/(?<upstream_name>[a-z0-9._-]+)(?<rest>/.*)$ { internal;\n"
        "      proxy_pass http://$upstream_name$rest; proxy_http_version 1.1;\n"
        '      proxy_set_header Connection ""; } } }\n'
    )
    (work / "nginx.conf").write_text(config)
    return ["nginx", "-c", str(work / "nginx.conf"), "-p", str(work)]


def litellm_starter(executable: str) -> Starter:
    def start(engine: int, port: int, work: Path) -> list[str]:
        model = {
            "model_name": "small",
            # The OpenAI provider wants a key even for a backend that checks none.
            "litellm_params": {
                "model": "openai/small",
                "api_base": f"http://127.0.0.1:{engine}/v1",
                "api_key": "-",
            },
        }
        # LiteLLM refuses to start without a master key; the benchmark's clients all send it.
        settings = {"master_key": BENCH_KEY}
        (work / "litellm.json").write_text(json.dumps({"model_list": [model], "general_settings": settings}))
        return [
            executable,
            "--config",
            str(work / "litellm.json"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]

    return start


def rust_router_starter(executable: str) -> Starter:
    def start(engine: int, port: int, work: Path) -> list[str]:
        launch = ["launch"] if "sglang" in Path(executable).name else []
        return [
            executable,
            *launch,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--worker-urls",
            f"http://127.0.0.1:{engine}",
            "--policy",
            "round_robin",
            # Both routers export metrics on 29000 by default; two at once would collide.
            "--prometheus-port",
            str(free_port()),
        ]

    return start


def post(connection: http.client.HTTPConnection, body: dict[str, object]) -> http.client.HTTPResponse:
    connection.request("POST", "/v1/chat/completions", json.dumps(body), HEADERS)
    return connection.getresponse()


def wait_ready(port: int, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            answer = post(connection, CHAT)
            answer.read()
            connection.close()
            if answer.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"not answering on {port} after {seconds} s")


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` and its descendants."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            resident = [line for line in status.splitlines() if line.startswith("VmRSS:")]
            total += int(resident[0].split()[1]) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, IndexError):
            continue
    return total


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


class Target:
    def __init__(self, name: str, port: int, process: subprocess.Popen[bytes] | None) -> None:
        self.name = name
        self.port = port
        self.process = process
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.plain: list[float] = []
        self.first_event: list[float] = []

    def measure_plain(self) -> None:
        started = time.perf_counter()
        answer = post(self.connection, CHAT)
        body = answer.read()
        self.plain.append((time.perf_counter() - started) * 1000)
        if answer.status != 200 or b"usage" not in body:
            raise RuntimeError(f"{self.name}: {answer.status} {body[:200]!r}")

    def measure_stream(self) -> None:
        started = time.perf_counter()
        answer = post(self.connection, {**CHAT, "stream": True})
        first = answer.read1(65536)
        self.first_event.append((time.perf_counter() - started) * 1000)
        rest = answer.read()
        if answer.status != 200 or b"data:" not in first + rest:
            raise RuntimeError(f"{self.name}: streamed {answer.status} {(first + rest)[:200]!r}")


def choose_starters(options: argparse.Namespace) -> dict[str, Starter]:
    """Ours always; Nginx where installed (not in the smoke); the others where given."""
    starters: dict[str, Starter] = {"sovereign": start_sovereign}
    if not options.smoke and shutil.which("nginx"):
        starters["nginx"] = start_nginx
        if NJS_MODULE.exists():
            starters["nginx-njs"] = start_nginx_njs
    if options.litellm:
        starters["litellm"] = litellm_starter(options.litellm)
    for name in ("sglang_router", "vllm_router"):
        if getattr(options, name):
            starters[name.replace("_", "-")] = rust_router_starter(getattr(options, name))
    return starters


def start_targets(
    starters: dict[str, Starter], scratch: Path, processes: list[subprocess.Popen[bytes]]
) -> list[Target]:
    """The stand-in engine, then each candidate in front of it; one that does not start is left out."""
    environment = {**os.environ, "PYTHONPATH": str(REPO / "roles" / "fleet_router" / "files")}
    engine_port = free_port()
    engine = subprocess.Popen(
        [PYTHON, str(REPO / "tests/standins/fake_openai_backend.py"), "--port", str(engine_port),
         "--model", "small", "--chunks", "4", "--chunk-delay", "0.01"],
    )  # fmt: skip
    processes.append(engine)
    wait_ready(engine_port, engine, 10)
    targets = [Target("direct", engine_port, engine)]
    for name, starter in starters.items():
        work = scratch / name
        work.mkdir()
        port = free_port()
        with (work / "output.log").open("wb") as log:
            process = subprocess.Popen(
                starter(engine_port, port, work), stdout=log, stderr=subprocess.STDOUT, env=environment
            )
        processes.append(process)
        try:
            wait_ready(port, process, 90)
        except RuntimeError as error:
            print(f"{name}: left out, {error}: {(work / 'output.log').read_text()[-600:]}")
            continue
        targets.append(Target(name, port, process))
    return targets


def measure(targets: list[Target], requests: int) -> None:
    """Warm every target up, then interleave the measured requests target by target."""
    for _warmup in range(min(50, requests)):
        for target in targets:
            target.measure_plain()
            target.measure_stream()
    for target in targets:
        target.plain.clear()
        target.first_event.clear()
    for _request in range(requests):
        for target in targets:
            target.measure_plain()
    for _request in range(max(requests // 5, 10)):
        for target in targets:
            target.measure_stream()


def run(options: argparse.Namespace) -> int:
    requests = 30 if options.smoke else options.requests
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="bench-fleet-router-") as scratch:
        try:
            targets = start_targets(choose_starters(options), Path(scratch), processes)
            measure(targets, requests)
            report(targets, requests)
        finally:
            for process in reversed(processes):
                process.terminate()
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    process.kill()
    return 0


def report(targets: list[Target], requests: int) -> None:
    direct = targets[0]
    base50, base99 = statistics.median(direct.plain), percentile(direct.plain, 0.99)
    print(f"{requests} non-streamed requests per target, interleaved; streamed: {len(direct.first_event)}")
    print(f"{'target':<14}{'p50 ms':>9}{'p99 ms':>9}{'+p50 ms':>9}{'+p99 ms':>9}{'TTFT ms':>9}{'RSS MiB':>9}")
    for target in targets:
        p50, p99 = statistics.median(target.plain), percentile(target.plain, 0.99)
        rss = rss_bytes(target.process.pid) / 2**20 if target.process else 0.0
        print(
            f"{target.name:<14}{p50:9.2f}{p99:9.2f}{p50 - base50:9.2f}{p99 - base99:9.2f}"
            f"{statistics.median(target.first_event):9.2f}{rss:9.1f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true", help="direct and ours, 30 requests (CI)")
    parser.add_argument("--litellm", help="the litellm executable of its own virtualenv")
    parser.add_argument("--sglang-router", help="the sglang-router executable")
    parser.add_argument("--vllm-router", help="the vllm-router executable")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
