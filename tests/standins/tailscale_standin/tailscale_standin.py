# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Stand-in for Tailscale's `tailscale` and `tailscaled` (the real ones cannot be downloaded here).

build_tailscale_standin.py packs this one file twice, as `tailscale` and `tailscaled`, into an
archive shaped like the static release (tailscale_<version>_<arch>/{tailscale,tailscaled,systemd/}).
It implements only what role sovereign.stack.tailscale uses, with upstream's names and flags:

tailscaled --state=PATH --socket=PATH --port=N [--tun=NAME] [--statedir=DIR] [--verbose=N]
    Listens on the socket, tells systemd it is ready (Type=notify), keeps the node's login and
    settings in the state file (0600). `tailscaled --cleanup` removes the interface.
tailscale [--socket=PATH] up|down|logout|status --json|ip -4|-6|version
    `up` takes --auth-key (a key or file:PATH), --hostname, --advertise-tags, --login-server,
    --accept-dns, --accept-routes, --reset, --timeout and a few more; like upstream it refuses to
    change settings without --reset unless every non-default one is given again.

Reproduced on purpose, the race the role must handle (tailscale/tailscale#11504, #3340): after
`up`, and at daemon start for a node already logged in, the state is Running and `status` lists
the addresses at once, but the interface gets them only TAILSCALE_STANDIN_ADDRESS_DELAY seconds
(default 3) later. The kernel here has no `dummy` link type, so the interface is one end of a
veth pair. Every `up` is appended to <statedir>/standin-up-calls.jsonl: its argv, the sha256 of
the auth key and where the key came from (file or argv), never the key itself.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

VERSION = "1.90.6-standin"
INTERFACE = "tailscale0"
PEER = "tsstandin0"
DEFAULT_SOCKET = "/run/tailscale/tailscaled.sock"
DEFAULT_CONTROL = "https://controlplane.tailscale.com"
# Upstream's defaults of the `up` settings the stand-in knows (cmd/tailscale/cli/up.go).
PREF_DEFAULTS: Dict[str, Any] = {
    "hostname": "",
    "advertise-tags": "",
    "login-server": DEFAULT_CONTROL,
    "accept-dns": True,
    "accept-routes": False,
    "shields-up": False,
    "ssh": False,
    "advertise-exit-node": False,
    "advertise-routes": "",
    "exit-node": "",
    "operator": "",
}
BOOL_FLAGS = {name for name, value in PREF_DEFAULTS.items() if isinstance(value, bool)} | {
    "reset",
    "force-reauth",
    "json",
    "qr",
}
STRING_FLAGS = {name for name, value in PREF_DEFAULTS.items() if isinstance(value, str)} | {
    "auth-key",
    "timeout",
}


def log(message: str) -> None:
    print(f"tailscaled-standin: {message}", file=sys.stderr, flush=True)


def run_ip(*args: str) -> bool:
    return subprocess.run(["ip", *args], capture_output=True, check=False).returncode == 0


def remove_interface() -> None:
    run_ip("link", "del", INTERFACE)


def ipv6_enabled() -> bool:
    try:
        return Path("/proc/sys/net/ipv6/conf/default/disable_ipv6").read_text().strip() == "0"
    except OSError:
        return False


def node_addresses(hostname: str) -> List[str]:
    digest = hashlib.sha256(hostname.encode()).digest()
    ipv4 = ipaddress.IPv4Address(f"100.{64 + digest[0] % 64}.{digest[1]}.{1 + digest[2] % 253}")
    addresses = [str(ipv4)]
    if ipv6_enabled():
        addresses.append(str(ipaddress.IPv6Address("fd7a:115c:a1e0::") + int(ipv4) % (1 << 32)))
    return addresses


def parse_duration(value: str) -> float:
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in ("ms", "s", "m", "h"):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * units[suffix]
    return float(value or 0)


class Node:
    """The daemon's state: login, settings, backend state, and the interface's addresses."""

    def __init__(self, state_file: Path) -> None:
        self.lock = threading.Lock()
        self.state_file = state_file
        self.calls_file = state_file.parent / "standin-up-calls.jsonl"
        self.delay = float(os.environ.get("TAILSCALE_STANDIN_ADDRESS_DELAY", "3"))
        self.saved: Dict[str, Any] = {"logged_in": False, "want_running": False, "prefs": dict(PREF_DEFAULTS)}
        if state_file.exists():
            self.saved.update(json.loads(state_file.read_text() or "{}"))
        else:
            self.save()
        self.backend = self._backend()
        self.assigned = False
        if self.backend == "Running":
            self.schedule_addresses()

    def _backend(self) -> str:
        if not self.saved["logged_in"]:
            return "NeedsLogin"
        return "Running" if self.saved["want_running"] else "Stopped"

    def save(self) -> None:
        fd = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(self.saved, out)

    def hostname(self) -> str:
        return str(self.saved["prefs"]["hostname"] or socket.gethostname().split(".")[0])

    def addresses(self) -> List[str]:
        return node_addresses(self.hostname()) if self.backend == "Running" else []

    def schedule_addresses(self) -> None:
        timer = threading.Timer(self.delay, self.assign_addresses)
        timer.daemon = True
        timer.start()

    def assign_addresses(self) -> None:
        with self.lock:
            if self.backend != "Running":
                return
            if not run_ip("link", "show", INTERFACE) and not run_ip(
                "link", "add", INTERFACE, "type", "veth", "peer", "name", PEER
            ):
                log(f"cannot create {INTERFACE}")
                return
            run_ip("link", "set", PEER, "up")
            run_ip("link", "set", INTERFACE, "up")
            run_ip("addr", "flush", "dev", INTERFACE)
            for address in self.addresses():
                if ":" in address:
                    run_ip("-6", "addr", "add", f"{address}/128", "dev", INTERFACE, "nodad")
                else:
                    run_ip("addr", "add", f"{address}/32", "dev", INTERFACE)
            self.assigned = True
            log(f"{INTERFACE} has {', '.join(self.addresses())}")

    def drop_addresses(self) -> None:
        run_ip("addr", "flush", "dev", INTERFACE)
        self.assigned = False

    def status(self) -> Dict[str, Any]:
        prefs = self.saved["prefs"]
        custom_control = prefs["login-server"] != DEFAULT_CONTROL
        suffix = "headscale-standin.internal" if custom_control else "tailnet-standin.ts.net"
        ips = self.addresses() or None
        tags = [tag for tag in str(prefs["advertise-tags"]).split(",") if tag] or None
        name = self.hostname()
        return {
            "Version": VERSION,
            "TUN": True,
            "BackendState": self.backend,
            "AuthURL": "",
            "TailscaleIPs": ips,
            "Self": {
                "ID": "n" + hashlib.sha256(name.encode()).hexdigest()[:12],
                "HostName": name,
                "DNSName": f"{name.lower()}.{suffix}." if self.saved["logged_in"] else "",
                "OS": "linux",
                "TailscaleIPs": ips,
                "Tags": tags,
                "Online": self.backend == "Running",
            },
            "MagicDNSSuffix": suffix,
            "CurrentTailnet": {"Name": suffix, "MagicDNSSuffix": suffix, "MagicDNSEnabled": True}
            if self.saved["logged_in"]
            else None,
            "Health": [],
        }

    def up(self, request: Dict[str, Any]) -> Dict[str, Any]:
        given: Dict[str, Any] = request["settings"]
        prefs: Dict[str, Any] = self.saved["prefs"]
        if self.saved["logged_in"] and not request["reset"]:
            left_out = [
                name
                for name, default in PREF_DEFAULTS.items()
                if prefs[name] != default and name not in given and name != "login-server"
            ]
            if left_out:
                mention = " ".join(f"--{name}={prefs[name]}" for name in left_out)
                return {
                    "error": "changing settings via 'tailscale up' requires mentioning all\n"
                    "non-default flags. To proceed, either re-run your command with --reset or\n"
                    "use the command below to explicitly mention the current value of\n"
                    f"all non-default settings:\n\n\ttailscale up {mention}"
                }
        if not self.saved["logged_in"] or request["force_reauth"]:
            key_hash = request.get("auth_key_sha256")
            if not key_hash:
                return {"BackendState": "NeedsLogin", "AuthURL": "https://login.standin.invalid/a/0123456789"}
        new_prefs = dict(PREF_DEFAULTS) if request["reset"] else dict(prefs)
        new_prefs.update(given)
        with open(os.open(self.calls_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a") as calls:
            calls.write(
                json.dumps(
                    {
                        "time": time.time(),
                        "argv": request["argv"],
                        "auth_key_sha256": request.get("auth_key_sha256"),
                        "auth_key_from": request.get("auth_key_from"),
                        "logged_in_before": self.saved["logged_in"],
                    }
                )
                + "\n"
            )
        with self.lock:
            renamed = new_prefs["hostname"] != prefs["hostname"]
            self.saved.update(logged_in=True, want_running=True, prefs=new_prefs)
            self.save()
            was_running = self.backend == "Running"
            self.backend = "Running"
            if renamed or not was_running:
                self.drop_addresses()
        log(
            "up: hostname={hostname!r} tags={advertise-tags!r} login-server={login-server!r}".format_map(
                new_prefs
            )
            + f" key from {request.get('auth_key_from')}"
        )
        if not self.assigned:
            self.schedule_addresses()
        return {"BackendState": "Running"}

    def down(self, logout: bool) -> Dict[str, Any]:
        with self.lock:
            self.saved["want_running"] = False
            if logout:
                self.saved["logged_in"] = False
            self.save()
            self.backend = self._backend()
            self.drop_addresses()
        return {"BackendState": self.backend}


def notify_ready() -> None:
    target = os.environ.get("NOTIFY_SOCKET")
    if not target:
        return
    address = "\0" + target[1:] if target.startswith("@") else target
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(b"READY=1\nSTATUS=stand-in running\n", address)


def parse_go_flags(args: List[str], bools: set[str], strings: set[str]) -> Tuple[Dict[str, Any], List[str]]:
    """Go's flag syntax: -name, --name, --name=value; bools take no separate value. Stops at the
    first argument that is not a flag."""
    values: Dict[str, Any] = {}
    index = 0
    while index < len(args) and args[index].startswith("-") and args[index] != "-":
        name, has_value, value = args[index].lstrip("-").partition("=")
        if name in bools:
            if has_value and value not in ("true", "false"):
                raise SystemExit(f'invalid boolean value "{value}" for -{name}')
            values[name] = value != "false"
        elif name in strings:
            if not has_value:
                index += 1
                if index >= len(args):
                    raise SystemExit(f"flag needs an argument: -{name}")
                value = args[index]
            values[name] = value
        else:
            print(f"flag provided but not defined: -{name}", file=sys.stderr)
            raise SystemExit(2)
        index += 1
    return values, args[index:]


def daemon(args: List[str]) -> int:
    flags, rest = parse_go_flags(
        args, {"cleanup"}, {"state", "socket", "port", "tun", "statedir", "verbose", "config"}
    )
    if rest:
        print(f"tailscaled: unexpected arguments {rest}", file=sys.stderr)
        return 2
    if flags.get("cleanup"):
        remove_interface()
        return 0
    state_file = Path(flags.get("state") or "/var/lib/tailscale/tailscaled.state")
    socket_path = Path(flags.get("socket") or DEFAULT_SOCKET)
    state_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    (state_file.parent / "standin-daemon.json").write_text(json.dumps({"argv": sys.argv, "flags": flags}))
    node = Node(state_file)
    log(f"{VERSION} starting: state {node.backend}, port {flags.get('port')}")

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            request = json.loads(self.rfile.readline() or b"{}")
            operation = request.get("op")
            if operation == "status":
                reply = node.status()
            elif operation == "up":
                reply = node.up(request)
            elif operation in ("down", "logout"):
                reply = node.down(operation == "logout")
            else:
                reply = {"error": f"unknown operation {operation!r}"}
            self.wfile.write(json.dumps(reply).encode() + b"\n")

    if socket_path.exists():
        socket_path.unlink()
    server = socketserver.ThreadingUnixStreamServer(str(socket_path), Handler)
    server.daemon_threads = True
    os.chmod(socket_path, 0o666)

    def stop(_signum: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    notify_ready()
    server.serve_forever()
    server.server_close()
    socket_path.unlink(missing_ok=True)
    log("stopped")
    return 0


def ask(socket_path: str, request: Dict[str, Any]) -> Dict[str, Any]:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(socket_path)
            sock.sendall(json.dumps(request).encode() + b"\n")
            reply = sock.makefile().readline()
    except OSError:
        print(
            f"failed to connect to local tailscaled; it doesn't appear to be running (sudo systemctl start"
            f" tailscaled ?) [socket {socket_path}]",
            file=sys.stderr,
        )
        raise SystemExit(1) from None
    result: Dict[str, Any] = json.loads(reply)
    return result


def cli_up(socket_path: str, args: List[str]) -> int:  # noqa: PLR0911 (one exit per outcome, as upstream's)
    flags, rest = parse_go_flags(args, BOOL_FLAGS, STRING_FLAGS)
    if rest:
        print(f"too many non-flag arguments: {rest}", file=sys.stderr)
        return 2
    request: Dict[str, Any] = {
        "op": "up",
        "argv": sys.argv,
        "reset": bool(flags.pop("reset", False)),
        "force_reauth": bool(flags.pop("force-reauth", False)),
    }
    timeout = parse_duration(str(flags.pop("timeout", "0")))
    flags.pop("json", None)
    flags.pop("qr", None)
    key: Optional[str] = flags.pop("auth-key", None)
    if key:
        source = "argv"
        if key.startswith("file:"):
            source = "file"
            try:
                key = Path(key[len("file:") :]).read_text().strip()
            except OSError as error:
                print(f"reading auth key file: {error}", file=sys.stderr)
                return 1
        if "invalid" in key:
            print("backend error: invalid key: unable to validate API key", file=sys.stderr)
            return 1
        request.update(auth_key_sha256=hashlib.sha256(key.encode()).hexdigest(), auth_key_from=source)
    for tag in filter(None, str(flags.get("advertise-tags", "")).split(",")):
        if not tag.startswith("tag:"):
            print(f"tag: \"{tag}\": tags must start with 'tag:'", file=sys.stderr)
            return 1
    request["settings"] = flags
    reply = ask(socket_path, request)
    if "error" in reply:
        print(f"Error: {reply['error']}", file=sys.stderr)
        return 1
    if reply.get("BackendState") == "NeedsLogin":
        print(f"\nTo authenticate, visit:\n\n\t{reply['AuthURL']}\n", file=sys.stderr)
        time.sleep(min(timeout, 3) if timeout else 3)
        print(
            "timeout waiting for Tailscale service to enter a Running state; last state: NeedsLogin",
            file=sys.stderr,
        )
        return 1
    return 0


def cli(args: List[str]) -> int:  # noqa: PLR0911 (one exit per subcommand, as upstream's)
    flags, rest = parse_go_flags(args, set(), {"socket"})
    socket_path = str(flags.get("socket", DEFAULT_SOCKET))
    command, command_args = (rest[0], rest[1:]) if rest else ("", [])
    if command == "version":
        print(f"{VERSION}\n  tailscale commit: standin\n  go version: none")
        return 0
    if command == "up":
        return cli_up(socket_path, command_args)
    if command in ("down", "logout"):
        ask(socket_path, {"op": command})
        return 0
    if command == "status":
        options = parse_go_flags(command_args, {"json", "peers", "self", "active"}, set())[0]
        status = ask(socket_path, {"op": "status"})
        if options.get("json"):
            print(json.dumps(status, indent=2))
            return 0
        if status["BackendState"] != "Running":
            print(status["BackendState"])
            return 1
        print(f"{(status['TailscaleIPs'] or [''])[0]}  {status['Self']['HostName']}  -  linux  -")
        return 0
    if command == "ip":
        options = parse_go_flags(command_args, {"4", "6", "1"}, set())[0]
        status = ask(socket_path, {"op": "status"})
        ips = status["TailscaleIPs"] or []
        if options.get("4"):
            ips = [ip for ip in ips if ":" not in ip]
        if options.get("6"):
            ips = [ip for ip in ips if ":" in ip]
        if not ips:
            print(f"no current Tailscale IPs; state: {status['BackendState']}", file=sys.stderr)
            return 1
        print("\n".join(ips))
        return 0
    print(f"tailscale (stand-in): unknown subcommand {command!r}", file=sys.stderr)
    return 2


def main() -> int:
    program = Path(sys.argv[0]).name
    return daemon(sys.argv[1:]) if program == "tailscaled" else cli(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
