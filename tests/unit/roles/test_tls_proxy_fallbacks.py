# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The tls_proxy role's fallbacks: a replicated model keeps answering while one replica restarts.

A fleet of five "hosts" on loopback addresses (127.0.0.2 to 127.0.0.6), each the real Nginx with
the configuration the role renders for it, in front of its own small OpenAI-like upstream that
the test stops, makes answer 503 ("Loading model", as llama-server does while it loads) and
restarts. The CA, the hosts' keys and certificates come from the role's own controller tasks
(mkcert's CA, community.crypto's certificates with the role's names and addresses), the tokens
from its templates, so the peers verify each other exactly as on a fleet:

- ``a``, ``b`` (names ``a.fleet.test``, ``b.fleet.test``) and ``c`` (no name: its certificate's
  common name is its address) each fall back to the other two;
- ``solo`` has no fallbacks (the role's behaviour before them);
- ``wrongname`` falls back to ``b`` but expects another certificate name.

``b`` allows one request a second per address, so the rolling restart also shows that hops are
not rate-limited a second time. Skipped without Nginx, mkcert or root
(tests/harness/ensure-host-tools.sh installs them).
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "tls_proxy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
CHAT = "/v1/chat/completions"
ADDRESSES = {
    "a": "127.0.0.2",
    "b": "127.0.0.3",
    "c": "127.0.0.4",
    "solo": "127.0.0.5",
    "wrongname": "127.0.0.6",
}
NAMES = {"a": ["a.fleet.test"], "b": ["b.fleet.test"], "c": [], "solo": [], "wrongname": []}

pytestmark = pytest.mark.skipif(
    not os.access(NGINX, os.X_OK) or shutil.which("mkcert") is None or os.geteuid() != 0,
    reason="needs Nginx and mkcert (tests/harness/ensure-host-tools.sh) and root",
)


def _environment() -> dict[str, str]:
    return {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".build" / "collections"),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "0",
    }


def _free_port(*addresses: str) -> int:
    """A port free on every address."""
    for _attempt in range(50):
        with socket.socket() as probe:
            probe.bind((addresses[0], 0))
            port = int(probe.getsockname()[1])
        try:
            for address in addresses:
                with socket.socket() as sock:
                    sock.bind((address, port))
        except OSError:
            continue
        return port
    raise AssertionError("no common free port")


class QuietServer(http.server.ThreadingHTTPServer):
    """Nginx closes its idle upstream connections; that is no error worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Replica:
    """An OpenAI-like engine on 127.0.0.1: answers, answers 503 while "loading", or is stopped."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.port = _free_port("127.0.0.1")
        self.loading = False
        self.server: QuietServer | None = None

    def start(self, *, loading: bool = False) -> None:
        self.loading = loading
        if self.server is None:
            self.server = QuietServer(("127.0.0.1", self.port), self.handler())
            threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Close the socket: new connections are refused, as while an engine restarts."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        replica = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if replica.loading:
                    self.reply(
                        503, {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
                    )
                    return
                request = json.loads(body)
                answer = {
                    "object": "chat.completion",
                    "model": request.get("model"),
                    "replica": replica.name,
                    "body_sha256": hashlib.sha256(body).hexdigest(),
                    "seen_authorization": self.headers.get("Authorization", "-"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}}],
                }
                if not request.get("stream"):
                    self.reply(200, answer)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for event in (
                    json.dumps(answer),
                    json.dumps({"replica": replica.name, "delta": "!"}),
                    "[DONE]",
                ):
                    chunk = f"data: {event}\n\n".encode()
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def reply(self, status: int, answer: dict[str, Any]) -> None:
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        return Handler


class Host:
    """One fleet host: its rendered directory, address, Nginx process and replica."""

    def __init__(self, name: str, directory: Path, port: int, replica: Replica) -> None:
        self.name = name
        self.address = ADDRESSES[name]
        self.directory = directory
        self.port = port
        self.replica = replica
        self.conf = directory / "nginx.conf"
        self.process: subprocess.Popen[str] | None = None

    def access_log(self, *, settle: float = 0.3) -> list[str]:
        """The access log's lines. Nginx writes a line once the answer is sent, so give it a moment."""
        time.sleep(settle)
        log = self.directory / "access.log"
        return log.read_text().splitlines() if log.exists() else []


class Fleet:
    def __init__(self, root: Path, hosts: dict[str, Host]) -> None:
        self.root = root
        self.hosts = hosts
        self.ca = root / "controller" / "ca" / "rootCA.pem"

    def token(self, client: str) -> str:
        return (self.root / "controller" / "tokens" / client).read_text().strip()

    def post(
        self, host: str, path: str, payload: dict[str, Any], timeout: float = 10
    ) -> tuple[int, bytes, float]:
        target = self.hosts[host]
        context = ssl.create_default_context(cafile=str(self.ca))
        connection = http.client.HTTPSConnection(
            target.address, target.port, context=context, timeout=timeout
        )
        started = time.monotonic()
        try:
            connection.request(
                "POST",
                path,
                body=json.dumps(payload).encode(),
                headers={
                    "Authorization": f"Bearer {self.token('alice')}",
                    "Content-Type": "application/json",
                },
            )
            response = connection.getresponse()
            return response.status, response.read(), time.monotonic() - started
        finally:
            connection.close()


def _host_vars(name: str, port: int, replicas: dict[str, Replica], root: Path) -> dict[str, Any]:
    def peer(other: str, name: str | None = None) -> dict[str, str]:
        fallback = {"url": f"https://{ADDRESSES[other]}:{port}"}
        certificate_name = name if name is not None else (NAMES[other] + [ADDRESSES[other]])[0]
        if certificate_name != ADDRESSES[other]:
            fallback["name"] = certificate_name
        return fallback

    fallbacks = {
        "a": [peer("b"), peer("c")],
        "b": [peer("a"), peer("c")],
        "c": [peer("a"), peer("b")],
        "solo": [],
        "wrongname": [peer("b", "not-b.fleet.test")],
    }[name]
    location: dict[str, Any] = {
        "path": "/v1/",
        "upstream": f"http://127.0.0.1:{replicas[name].port}",
        "streaming": True,
    }
    if fallbacks:
        location["fallbacks"] = fallbacks
    directory = root / name
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "tls_proxy_listen_addresses": [ADDRESSES[name]],
        "tls_proxy_server_names": NAMES[name],
        "tls_proxy_port": port,
        "tls_proxy_clients": ["alice"],
        "tls_proxy_locations": [location],
        "tls_proxy_rate_limit": "1r/s" if name == "b" else "100r/s",
        "tls_proxy_rate_burst": 1 if name == "b" else 20,
        "tls_proxy_controller_dir": str(root / "controller"),
        "tls_proxy_config_dir": str(directory),
        "tls_proxy_fallback_connect_timeout": 2,
        "host_directory": str(directory),
    }


# The role's controller tasks issue the certificates; its templates render the rest. Internal
# paths (pid, logs) point into each host's directory.
RENDER = """
- name: Render the fleet
  hosts: fleet
  gather_facts: false
  vars_files: ["{role}/vars/Debian.yml"]
  tasks:
    - name: Issue the CA and the hosts' certificates as the role does
      ansible.builtin.include_role:
        name: sovereign.stack.tls_proxy
        tasks_from: controller
        public: true
    - name: Place them as the role does
      ansible.builtin.copy:
        src: "{{{{ item.src }}}}"
        dest: "{{{{ item.dest }}}}"
        mode: "0600"
      loop:
        - {{src: "{{{{ __tls_proxy_ca_cert }}}}", dest: "{{{{ __tls_proxy_ca }}}}"}}
        - {{src: "{{{{ __tls_proxy_host_dir }}}}/cert.pem", dest: "{{{{ __tls_proxy_cert }}}}"}}
        - {{src: "{{{{ __tls_proxy_host_dir }}}}/key.pem", dest: "{{{{ __tls_proxy_key }}}}"}}
    - name: Render the token map, the fleet token and nginx.conf
      ansible.builtin.template:
        src: "{role}/templates/{{{{ item.src }}}}"
        dest: "{{{{ item.dest }}}}"
        mode: "0600"
      loop:
        - {{src: etc/sovereign/tls-proxy/tokens.map.j2, dest: "{{{{ __tls_proxy_tokens_map }}}}"}}
        - src: etc/sovereign/tls-proxy/fleet-authorization.conf.j2
          dest: "{{{{ __tls_proxy_fleet_authorization }}}}"
        - {{src: etc/nginx/nginx.conf.j2, dest: "{{{{ host_directory }}}}/nginx.conf"}}
      vars:
        __tls_proxy_nginx_pid: "{{{{ host_directory }}}}/nginx.pid"
        __tls_proxy_nginx_log_dir: "{{{{ host_directory }}}}"
"""


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    root = tmp_path_factory.mktemp("tls_proxy_fallbacks")
    port = _free_port(*ADDRESSES.values())
    replicas = {name: Replica(name) for name in ADDRESSES}
    inventory = {
        "fleet": {"hosts": {name: _host_vars(name, port, replicas, root) for name in ADDRESSES}},
    }
    for name in ADDRESSES:
        (root / name).mkdir(mode=0o700)
    (root / "inventory.json").write_text(json.dumps(inventory))
    (root / "render.yml").write_text(RENDER.format(role=ROLE))
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(root / "inventory.json"), str(root / "render.yml")],
        capture_output=True,
        text=True,
        check=False,
        env=_environment(),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    hosts = {name: Host(name, root / name, port, replicas[name]) for name in ADDRESSES}
    try:
        for host in hosts.values():
            checked = subprocess.run(
                [NGINX, "-t", "-q", "-c", str(host.conf)], capture_output=True, text=True, check=False
            )
            assert checked.returncode == 0, checked.stderr
            host.process = subprocess.Popen(
                [NGINX, "-c", str(host.conf), "-g", "daemon off;"], stderr=subprocess.PIPE, text=True
            )
        for host in hosts.values():
            _wait_listening(host)
        yield Fleet(root, hosts)
    finally:
        for host in hosts.values():
            if host.process is not None:
                host.process.terminate()
                host.process.wait(timeout=10)
            host.replica.stop()


def _wait_listening(host: Host) -> None:
    for _attempt in range(50):
        with socket.socket() as sock:
            if sock.connect_ex((host.address, host.port)) == 0:
                return
        assert host.process is not None and host.process.poll() is None, (
            host.process.stderr.read() if host.process and host.process.stderr else ""
        )
        time.sleep(0.1)
    raise AssertionError(f"Nginx of {host.name} did not listen")


@pytest.fixture
def replicas(fleet: Fleet) -> Iterator[dict[str, Replica]]:
    """Every replica answering at the start of a test, whatever the last one left."""
    everyone = {name: host.replica for name, host in fleet.hosts.items()}
    for replica in everyone.values():
        replica.start()
    yield everyone
    for replica in everyone.values():
        replica.start()


def _payload(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "qwen", "messages": [{"role": "user", "content": text}], **extra}


def _answer(body: bytes) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(body)
    return answer


def test_the_fleet_token_is_in_every_token_map_and_only_in_root_only_files(fleet: Fleet) -> None:
    token = fleet.token("fleet")
    assert len(token) == 43 and token.isalnum() and token != fleet.token("alice")
    for host in fleet.hosts.values():
        assert (
            f'"~^(?i:Bearer) {token}$" "fleet";' in (host.directory / "tokens.map").read_text().splitlines()
        )
        hop = host.directory / "fleet-authorization.conf"
        assert f'proxy_set_header Authorization "Bearer {token}";' in hop.read_text()
        assert oct(hop.stat().st_mode & 0o777) == "0o600"
        assert token not in host.conf.read_text()


def test_a_served_replica_answers_itself(fleet: Fleet, replicas: dict[str, Replica]) -> None:
    status, body, _seconds = fleet.post("a", CHAT, _payload("hi"))
    assert status == 200
    assert _answer(body)["replica"] == "a"


def test_a_stopped_replica_hands_the_post_to_the_next_peer_with_its_body(
    fleet: Fleet, replicas: dict[str, Replica]
) -> None:
    replicas["a"].stop()
    payload = _payload("x" * 200_000)
    status, body, _seconds = fleet.post("a", CHAT, payload)
    assert status == 200, body
    answer = _answer(body)
    assert answer["replica"] == "b"
    assert answer["body_sha256"] == hashlib.sha256(json.dumps(payload).encode()).hexdigest()
    # The peer authenticated the hop and removed the header, like any client's.
    assert answer["seen_authorization"] == "-"
    hop = [line for line in fleet.hosts["b"].access_log() if '"fleet"' in line]
    assert hop and f"POST {CHAT}" in hop[-1] and " 200 " in hop[-1]
    assert fleet.hosts["a"].access_log()[-1].split()[1] == '"alice"'


def test_a_loading_replica_hands_on_and_the_next_peer_is_verified_by_its_address(
    fleet: Fleet, replicas: dict[str, Replica]
) -> None:
    replicas["a"].start(loading=True)
    status, body, _seconds = fleet.post("a", CHAT, _payload("hi"))
    assert status == 200 and _answer(body)["replica"] == "b"
    # b loading too: c, whose certificate has no DNS name, is checked for its common name, its address.
    replicas["b"].start(loading=True)
    status, body, _seconds = fleet.post("a", CHAT, _payload("hi"))
    assert status == 200 and _answer(body)["replica"] == "c"


def test_a_streaming_request_is_handed_on_and_streams(fleet: Fleet, replicas: dict[str, Replica]) -> None:
    replicas["a"].stop()
    status, body, _seconds = fleet.post("a", CHAT, _payload("hi", stream=True))
    assert status == 200
    events = [line.removeprefix("data: ") for line in body.decode().splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and json.loads(events[0])["replica"] == "b"


def test_a_hop_is_never_handed_on_again(fleet: Fleet, replicas: dict[str, Replica]) -> None:
    for name in ("a", "b", "c"):
        replicas[name].stop()
    path = "/v1/chat/completions-loop-check"
    status, _body, seconds = fleet.post("a", path, _payload("hi"))
    assert status == 502
    assert seconds < 2, "no peer may wait on another"
    # a tried b and c once each; neither handed the hop back or on.
    counts = {name: sum(path in line for line in fleet.hosts[name].access_log()) for name in ("a", "b", "c")}
    assert counts == {"a": 1, "b": 1, "c": 1}
    for name in ("b", "c"):
        line = next(line for line in fleet.hosts[name].access_log() if path in line)
        assert '"fleet"' in line and " 502 " in line


def test_without_fallbacks_a_stopped_replica_is_a_502(fleet: Fleet, replicas: dict[str, Replica]) -> None:
    conf = fleet.hosts["solo"].conf.read_text()
    assert (
        "error_page" not in conf
        and "proxy_intercept_errors" not in conf
        and "@sovereign_fallback" not in conf
    )
    replicas["solo"].stop()
    status, _body, _seconds = fleet.post("solo", CHAT, _payload("hi"))
    assert status == 502
    replicas["solo"].start(loading=True)
    status, body, _seconds = fleet.post("solo", CHAT, _payload("hi"))
    assert status == 503 and b"Loading model" in body


def test_a_peer_whose_certificate_does_not_match_gets_nothing(
    fleet: Fleet, replicas: dict[str, Replica]
) -> None:
    before = len(fleet.hosts["b"].access_log(settle=0))
    replicas["wrongname"].stop()
    status, _body, _seconds = fleet.post("wrongname", CHAT, _payload("hi"))
    assert status == 502
    assert len(fleet.hosts["b"].access_log()) == before
    assert (
        'upstream SSL certificate does not match "not-b.fleet.test"'
        in (fleet.hosts["wrongname"].directory / "error.log").read_text()
    )


def test_requests_every_100_ms_through_two_restarts_all_succeed(
    fleet: Fleet, replicas: dict[str, Replica]
) -> None:
    """Issue 9's acceptance: a rolling restart of a replicated deployment, 0 failed requests."""
    results: list[tuple[float, int, str, float]] = []
    done = threading.Event()

    def client() -> None:
        started = time.monotonic()
        sent = 0
        while not done.is_set():
            delay = started + sent * 0.1 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent += 1
            at = time.monotonic() - started
            try:
                status, body, seconds = fleet.post("a", CHAT, _payload(f"request {sent}"))
                replica = (
                    _answer(body).get("replica", "-") if status == 200 else body.decode(errors="replace")
                )
            except (OSError, http.client.HTTPException) as error:
                status, replica, seconds = 0, repr(error), 0.0
            results.append((at, status, replica, seconds))

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(1)
    for _restart in range(2):
        replicas["a"].stop()
        time.sleep(1.5)
        replicas["a"].start(loading=True)
        time.sleep(1.0)
        replicas["a"].start()
        time.sleep(1.0)
    done.set()
    thread.join(timeout=30)

    failed = [result for result in results if result[1] != 200]
    served = {name: sum(result[2] == name for result in results) for name in ("a", "b", "c")}
    slowest = max(result[3] for result in results)
    print(f"rolling restart: {len(results)} requests, {len(failed)} failed, {served}, slowest {slowest:.3f}s")
    assert len(results) >= 60
    assert failed == []
    # a answered before, between and after the restarts; b (1 request/s per address) took the rest.
    assert served["a"] > 0 and served["b"] > 20 and served["c"] == 0
