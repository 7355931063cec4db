# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The tls_proxy role's nginx.conf, rendered from its variables and run by the real Nginx.

The templates are rendered by a real ``ansible-playbook`` run (one for all variants: the
templates use collection plugins, whose loader would otherwise have to be installed in this
process). ``nginx -t`` checks each variant; then Nginx serves the rendered configuration on
127.0.0.1 (instead of a tailnet address) in front of a tiny loopback upstream, and real TLS
clients check what the role promises: TLS 1.2+ only (1.3 only with the modern profile), HSTS, no
version in ``Server``, 401 without a token, 400 without a client certificate, the upstream's
answer with them, 413 and 429 at the limits. Where Nginx is missing or the test does not run as
root, the Nginx checks are skipped and molecule/firewall runs them on a real host.
"""

from __future__ import annotations

import datetime
import http.client
import http.server
import ipaddress
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
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROLE = Path(__file__).resolve().parents[3] / "roles" / "tls_proxy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
UPSTREAM_BODY = b'{"object": "list", "data": [{"id": "upstream"}]}'

needs_nginx = pytest.mark.skipif(
    not os.access(NGINX, os.X_OK) or os.geteuid() != 0, reason="needs Nginx (apt-get install nginx) and root"
)

# name -> overrides of the role's variables (ports and paths are added per variant)
VARIANTS: dict[str, dict[str, Any]] = {
    "intermediate_bearer": {},
    "limits": {
        "tls_proxy_client_max_body_size": "1k",
        "tls_proxy_rate_limit": "1r/s",
        "tls_proxy_rate_burst": 30,
    },
    "modern": {"tls_proxy_profile": "modern"},
    "client_certificate": {"tls_proxy_auth": "client_certificate", "tls_proxy_clients": []},
    "two_addresses_and_a_name": {
        "tls_proxy_listen_addresses": ["127.0.0.1", "::1"],
        "tls_proxy_server_names": ["gpu-1.tail.ts.net"],
    },
    "broken_upstream": {"tls_proxy_locations": [{"path": "/v1/", "upstream": "http://127.0.0.1:99999"}]},
    "tailnet": {
        "tls_proxy_listen_addresses": ["100.100.1.1", "fd7a:115c:a1e0:0::1"],
        "tls_proxy_server_names": ["a.ts.net"],
        "tls_proxy_port": 443,
    },
    "tailnet_modern": {"tls_proxy_listen_addresses": ["100.100.1.1"], "tls_proxy_profile": "modern"},
    "tailnet_fallbacks": {
        "tls_proxy_listen_addresses": ["100.100.1.1"],
        "tls_proxy_locations": [
            {
                "path": "/v1/",
                "upstream": "http://127.0.0.1:8000",
                "fallbacks": [
                    {"url": "https://100.100.1.2", "name": "b.ts.net"},
                    {"url": "https://[fd7a:115c:a1e0:0::3]:8443/"},
                ],
            }
        ],
    },
}

# nginx -t binds the listen addresses: these variants' tailnet addresses do not exist here, and
# broken_upstream must fail.
RENDER_ONLY = {"broken_upstream", "tailnet", "tailnet_modern", "tailnet_fallbacks"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


class Pki:
    """A CA like mkcert's (with key identifiers), a server certificate for 127.0.0.1, a client certificate."""

    def __init__(self, directory: Path) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = (
            x509.CertificateBuilder()
            .subject_name(_name("test CA"))
            .issuer_name(_name("test CA"))
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.ca_key.public_key()), critical=False
            )
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
            )
            .sign(self.ca_key, hashes.SHA256())
        )
        self.directory = directory
        self.ca_path = directory / "ca.pem"
        self.ca_path.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))
        self.issue("cert.pem", "key.pem", "127.0.0.1", ExtendedKeyUsageOID.SERVER_AUTH)
        self.issue("client.pem", "client-key.pem", "alice", ExtendedKeyUsageOID.CLIENT_AUTH)

    def issue(self, cert: str, key: str, name: str, usage: x509.ObjectIdentifier) -> None:
        now = datetime.datetime.now(datetime.timezone.utc)
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(name))
            .issuer_name(self.ca.subject)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=10))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False
            )
        )
        if usage == ExtendedKeyUsageOID.SERVER_AUTH:
            san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))])
            builder = builder.add_extension(san, critical=False)
        signed = builder.sign(self.ca_key, hashes.SHA256())
        (self.directory / cert).write_bytes(signed.public_bytes(serialization.Encoding.PEM))
        (self.directory / key).write_bytes(
            leaf_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )


class Upstream(http.server.BaseHTTPRequestHandler):
    """Answers every request with UPSTREAM_BODY and the Authorization header it received."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Seen-Authorization", self.headers.get("Authorization", "-"))
        self.send_header("X-Seen-Host", self.headers.get("Host", "-"))
        self.end_headers()
        self.wfile.write(UPSTREAM_BODY)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class Proxy:
    """One rendered variant: its directory (certificates, token map, nginx.conf) and port."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.conf = directory / "nginx.conf"
        self.pki = Pki(directory)

    @property
    def text(self) -> str:
        return self.conf.read_text()

    def token(self, client: str) -> str:
        return (self.directory / "controller" / "tokens" / client).read_text().strip()

    def check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [NGINX, "-t", "-q", "-c", str(self.conf)], capture_output=True, text=True, check=False
        )

    def context(self, **options: Any) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.pki.ca_path))
        for name, value in options.items():
            setattr(context, name, value)
        return context

    def request(
        self,
        path: str,
        headers: dict[str, str] | None = None,
        context: ssl.SSLContext | None = None,
        body: bytes | None = None,
    ) -> http.client.HTTPResponse:
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=context or self.context(), timeout=5
        )
        connection.request("POST" if body is not None else "GET", path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        connection.close()
        return response


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, upstream: int) -> dict[str, Proxy]:
    """Every variant rendered by the template module, with the role's defaults and vars loaded as a play's."""
    root = tmp_path_factory.mktemp("tls_proxy")
    proxies: dict[str, Proxy] = {}
    tasks: list[dict[str, Any]] = []
    for name, overrides in VARIANTS.items():
        (root / name).mkdir()
        proxy = Proxy(root / name, _free_port())
        variables: dict[str, Any] = {
            "tls_proxy_listen_addresses": ["127.0.0.1"],
            "tls_proxy_server_names": [],
            "tls_proxy_port": proxy.port,
            "tls_proxy_clients": ["alice", "bob"],
            "tls_proxy_locations": [
                {"path": "/v1/", "upstream": f"http://127.0.0.1:{upstream}"},
                {"path": "/mcp", "upstream": f"http://127.0.0.1:{upstream}", "auth": "upstream"},
            ],
            "tls_proxy_config_dir": str(proxy.directory),
            "tls_proxy_controller_dir": str(proxy.directory / "controller"),
            "__tls_proxy_nginx_pid": str(proxy.directory / "nginx.pid"),
            "__tls_proxy_nginx_log_dir": str(proxy.directory),
            **overrides,
        }
        for template, dest in (
            ("etc/sovereign/tls-proxy/tokens.map.j2", "tokens.map"),
            ("etc/nginx/nginx.conf.j2", "nginx.conf"),
        ):
            tasks.append(
                {
                    "name": f"{name} {dest}",
                    "ansible.builtin.template": {
                        "src": str(ROLE / "templates" / template),
                        "dest": str(proxy.directory / dest),
                        "mode": "0600",
                    },
                    "vars": variables,
                }
            )
        proxies[name] = proxy
    render_with_role(root, tasks)
    return proxies


def render_with_role(
    directory: Path, tasks: list[dict[str, Any]], variables: dict[str, Any] | None = None
) -> None:
    """Run ``tasks`` (template tasks) in a play that loads the role's defaults and vars as Ansible does."""
    play = [
        {
            "name": "Render",
            "hosts": "localhost",
            "gather_facts": False,
            "vars_files": [
                str(ROLE / relative) for relative in ("defaults/main.yml", "vars/main.yml", "vars/Debian.yml")
            ],
            "vars": variables or {},
            "tasks": tasks,
        }
    ]
    playbook = directory / "render.yml"
    playbook.write_text(json.dumps(play))
    result = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), str(playbook)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def serve(rendered: dict[str, Proxy]) -> Iterator[Any]:
    started: list[subprocess.Popen[str]] = []

    def start(name: str) -> Proxy:
        proxy = rendered[name]
        checked = proxy.check()
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen(
            [NGINX, "-c", str(proxy.conf), "-g", "daemon off;"], stderr=subprocess.PIPE, text=True
        )
        started.append(process)
        for _attempt in range(50):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", proxy.port)) == 0:
                    return proxy
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            time.sleep(0.1)
        raise AssertionError("Nginx did not listen")

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


@needs_nginx
@pytest.mark.parametrize("name", sorted(set(VARIANTS) - RENDER_ONLY))
def test_nginx_accepts_every_variant(name: str, rendered: dict[str, Proxy]) -> None:
    result = rendered[name].check()
    assert result.returncode == 0, result.stderr


@needs_nginx
def test_nginx_refuses_a_broken_upstream(rendered: dict[str, Proxy]) -> None:
    """The check the template task's validate runs, so a broken file never replaces a good one."""
    result = rendered["broken_upstream"].check()
    assert result.returncode != 0
    assert "invalid port" in result.stderr


def test_listen_lines_are_the_addresses_only_with_ipv6_in_brackets(rendered: dict[str, Proxy]) -> None:
    conf = rendered["tailnet"].text
    listens = [line.strip() for line in conf.splitlines() if line.strip().startswith("listen")]
    assert listens == [
        "listen 100.100.1.1:443 ssl default_server;",
        "listen [fd7a:115c:a1e0::1]:443 ssl default_server;",
    ]
    assert "server_name a.ts.net;" in conf
    assert "server_tokens off;" in conf
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "ssl_ecdh_curve X25519:prime256v1:secp384r1;" in conf


def test_fallbacks_are_tried_in_order_each_checked_for_its_own_name(rendered: dict[str, Proxy]) -> None:
    conf = rendered["tailnet_fallbacks"].text
    local, first, second = conf.split("location /v1/ ", 1)[1].split("location @")
    assert "error_page 502 503 504 = @sovereign_fallback_0_0;" in local
    assert first.startswith("sovereign_fallback_0_0 {")
    assert "proxy_pass https://100.100.1.2:443;" in first and "proxy_ssl_name b.ts.net;" in first
    assert "proxy_ssl_server_name on;" in first, "SNI for a name"
    assert "error_page 502 503 504 = @sovereign_fallback_0_1;" in first
    assert "proxy_pass https://[fd7a:115c:a1e0::3]:8443;" in second
    assert "proxy_ssl_name fd7a:115c:a1e0::3;" in second and "error_page" not in second
    assert "proxy_ssl_server_name" not in second, "no SNI for an address (RFC 6066)"
    for hop in (first, second):
        assert "proxy_ssl_verify on;" in hop and 'if ($sovereign_client = "fleet")' in hop
    assert "limit_req_zone $sovereign_rate_key" in conf


def test_modern_sets_tls13_only_and_no_tls12_cipher_list(rendered: dict[str, Proxy]) -> None:
    conf = rendered["tailnet_modern"].text
    assert "ssl_protocols TLSv1.3;" in conf
    assert "ssl_ciphers" not in conf


def test_intermediate_ciphers_are_mozillas_aead_forward_secret_list(rendered: dict[str, Proxy]) -> None:
    line = next(
        line.strip()
        for line in rendered["tailnet"].text.splitlines()
        if line.strip().startswith("ssl_ciphers")
    )
    ciphers = line.removeprefix("ssl_ciphers ").rstrip(";").split(":")
    assert len(ciphers) == 9
    assert all(c.startswith(("ECDHE-", "DHE-")) and ("GCM" in c or "CHACHA20" in c) for c in ciphers)


def test_tokens_are_generated_once_per_client_and_only_their_names_are_logged(
    rendered: dict[str, Proxy],
) -> None:
    proxy = rendered["intermediate_bearer"]
    alice, bob = proxy.token("alice"), proxy.token("bob")
    assert len(alice) == 43 and alice.isalnum() and alice != bob
    assert oct((proxy.directory / "controller" / "tokens" / "alice").stat().st_mode & 0o777) == "0o600"
    assert (proxy.directory / "tokens.map").read_text().splitlines()[-2:] == [
        f'"~^(?i:Bearer) {alice}$" "alice";',
        f'"~^(?i:Bearer) {bob}$" "bob";',
    ]
    assert "$http_authorization" not in proxy.text.split("log_format", 1)[1].split(";", 1)[0]


@needs_nginx
@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_bearer_tokens_tls_versions_and_headers(serve: Any) -> None:
    proxy = serve("intermediate_bearer")
    alice = {"Authorization": f"Bearer {proxy.token('alice')}"}

    refused = proxy.request("/v1/models")
    assert refused.status == 401
    assert refused.getheader("WWW-Authenticate") == 'Bearer realm="sovereign"'
    assert refused.getheader("Strict-Transport-Security") == "max-age=63072000"
    assert refused.getheader("Server") == "nginx"
    assert proxy.request("/v1/models", {"Authorization": "Bearer wrong"}).status == 401

    served = proxy.request("/v1/models", alice)
    assert served.status == 200
    assert served.getheader("X-Seen-Authorization") == "-", "the proxy's token must not reach the upstream"
    assert served.getheader("Strict-Transport-Security") == "max-age=63072000"
    assert proxy.request("/v1/models", {"Authorization": f"Bearer {proxy.token('bob')}"}).status == 200
    assert proxy.request("/other", alice).status == 404

    passed = proxy.request("/mcp", {"Authorization": "Bearer gateway-token"})
    assert passed.status == 200
    assert passed.getheader("X-Seen-Authorization") == "Bearer gateway-token"
    # The gateway's DNS-rebinding check accepts only its own loopback address as Host.
    assert passed.getheader("X-Seen-Host", "").startswith("127.0.0.1:")
    assert passed.getheader("WWW-Authenticate") is None

    tls12 = proxy.context(maximum_version=ssl.TLSVersion.TLSv1_2)
    assert proxy.request("/v1/models", alice, context=tls12).status == 200
    old = proxy.context(maximum_version=ssl.TLSVersion.TLSv1_1, minimum_version=ssl.TLSVersion.TLSv1)
    old.set_ciphers("ALL:@SECLEVEL=0")
    # The server's alert, not a client that refused to try.
    with pytest.raises(ssl.SSLError, match="ALERT_PROTOCOL_VERSION"):
        proxy.request("/v1/models", alice, context=old)


@needs_nginx
def test_body_size_and_rate_limits(serve: Any) -> None:
    proxy = serve("limits")
    alice = {"Authorization": f"Bearer {proxy.token('alice')}"}
    assert proxy.request("/v1/x", alice, body=b"x" * 512).status == 200
    assert proxy.request("/v1/x", alice, body=b"x" * 2048).status == 413
    statuses = [proxy.request("/v1/models", alice).status for _request in range(40)]
    assert 200 in statuses and 429 in statuses


@needs_nginx
def test_modern_refuses_tls12(serve: Any) -> None:
    proxy = serve("modern")
    tls13 = proxy.context(minimum_version=ssl.TLSVersion.TLSv1_3)
    assert (
        proxy.request("/v1/models", {"Authorization": f"Bearer {proxy.token('alice')}"}, context=tls13).status
        == 200
    )
    with pytest.raises(ssl.SSLError, match="ALERT_PROTOCOL_VERSION"):
        proxy.request("/v1/models", context=proxy.context(maximum_version=ssl.TLSVersion.TLSv1_2))


@needs_nginx
def test_client_certificate_of_the_ca_is_required(serve: Any) -> None:
    proxy = serve("client_certificate")
    assert proxy.request("/v1/models").status == 400
    with_cert = proxy.context()
    with_cert.load_cert_chain(str(proxy.directory / "client.pem"), str(proxy.directory / "client-key.pem"))
    assert proxy.request("/v1/models", context=with_cert).status == 200


def test_the_health_probe_has_a_token_of_its_own(rendered: dict[str, Proxy]) -> None:
    proxy = rendered["intermediate_bearer"]
    probe = proxy.token("health-probe")
    assert len(probe) == 43 and probe not in (proxy.token("alice"), proxy.token("bob"))
    assert f'"~^(?i:Bearer) {probe}$" "health-probe";' in (proxy.directory / "tokens.map").read_text()


@needs_nginx
def test_only_the_exact_token_passes(serve: Any) -> None:
    """Issue 20: a map's plain strings match ignoring case, so a token with its letters' case
    flipped passed. Only the whole token, in its case, may pass; the scheme in any case (RFC 9110)."""
    proxy = serve("intermediate_bearer")
    token = proxy.token("alice")

    def status(authorization: str) -> int:
        return proxy.request("/v1/models", {"Authorization": authorization}).status

    assert status(f"Bearer {token}") == 200
    assert status(f"bearer {token}") == 200 and status(f"BEARER {token}") == 200
    assert status(f"Bearer {token.swapcase()}") == 401
    assert status(f"BEARER {token.upper()}") == 401
    assert status(f"Bearer {token.lower()}") == 401
    assert status(f"Bearer {token[:-1]}") == 401, "a prefix"
    assert status(f"Bearer {token[1:]}") == 401, "a suffix"
    assert status(f"Bearer {token}x") == 401, "the token and more"
    assert status(f"Bearer  {token}") == 401, "two spaces"
    assert status(f"Basic {token}") == 401
    assert status(token) == 401


@needs_nginx
def test_tls13_resumes_only_from_the_servers_own_cache(serve: Any) -> None:
    """ssl_session_tickets off (SSL_OP_NO_TICKET): TLS 1.2 gets no ticket; OpenSSL's TLS 1.3 still sends
    one, but a stateful one: it names a session that OpenSSL keeps in Nginx's session cache, so there
    is no ticket key that could decrypt a recorded ticket (docs/roles/tls_proxy.md)."""
    proxy = serve("intermediate_bearer")
    alice = {"Authorization": f"Bearer {proxy.token('alice')}"}

    def session(context: ssl.SSLContext) -> ssl.SSLSession:
        connection = http.client.HTTPSConnection("127.0.0.1", proxy.port, context=context, timeout=5)
        connection.request("GET", "/v1/models", headers=alice)
        connection.getresponse().read()
        sock = connection.sock
        assert isinstance(sock, ssl.SSLSocket) and sock.session is not None
        found = sock.session
        connection.close()
        return found

    tls12 = session(proxy.context(maximum_version=ssl.TLSVersion.TLSv1_2))
    assert not tls12.has_ticket, "TLS 1.2 must not get a session ticket"
    tls13 = proxy.context(minimum_version=ssl.TLSVersion.TLSv1_3)
    first = session(tls13)
    assert first.has_ticket
    # Resumed from Nginx's cache (1 day, ssl_session_timeout), with a fresh key exchange (psk_dhe_ke).
    raw = socket.create_connection(("127.0.0.1", proxy.port), timeout=5)
    with tls13.wrap_socket(raw, server_hostname="127.0.0.1", session=first) as resumed:
        resumed.sendall(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        resumed.recv(1)
        assert resumed.session_reused
