# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Wait until this host's tailnet address is assigned to the Tailscale interface and bindable.

tailscaled tells systemd it is ready (and `tailscale status` says Running) before the address is
on the interface, so a service that binds to the tailnet address at boot fails with
EADDRNOTAVAIL (tailscale/tailscale issues 11504 and 3340). sovereign-tailnet-address.service runs
this once; units that bind to the address order themselves after it. Ready means: an IPv4 address
in 100.64.0.0/10 (and, with --require-ipv6, an IPv6 address in fd7a:115c:a1e0::/48) is on the
interface, and a socket really binds to each address found in those ranges.

Run as `python3 <this file>` (the unit does). Exit status: 0 ready, 1 not ready within --timeout,
2 bad arguments. Standard library only: it runs on the host's Python before anything else of the
stack is there.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import json
import socket
import subprocess
import sys
import time
from typing import Any, Callable, List, Optional, Sequence, Union

TAILNET_IPV4 = ipaddress.ip_network("100.64.0.0/10")
TAILNET_IPV6 = ipaddress.ip_network("fd7a:115c:a1e0::/48")

Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
AddressSource = Callable[[], str]
Binder = Callable[[Address], Optional[str]]


def ip_json_source(interface: str) -> AddressSource:
    """`ip -j addr show dev <interface>`; an interface that does not exist yet has no addresses."""

    def read() -> str:
        result = subprocess.run(
            ["ip", "-j", "addr", "show", "dev", interface],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            check=False,
        )
        return result.stdout if result.returncode == 0 else "[]"

    return read


def tailnet_addresses(ip_json: str, interface: str) -> List[Address]:
    """The addresses of `interface` in the tailnet ranges, from `ip -j addr` output.

    IPv6 addresses still in duplicate address detection (tentative) or that failed it are left
    out: the kernel refuses to bind them.
    """
    try:
        links: Any = json.loads(ip_json or "[]")
    except ValueError:
        return []
    found: List[Address] = []
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("ifname") != interface:
            continue
        for info in link.get("addr_info") or []:
            if info.get("tentative") or info.get("dadfailed"):
                continue
            try:
                address = ipaddress.ip_address(str(info.get("local", "")))
            except ValueError:
                continue
            if address in TAILNET_IPV4 or address in TAILNET_IPV6:
                found.append(address)
    return found


def bind_error(address: Address) -> Optional[str]:
    """None when a TCP socket binds to `address` (any free port), else the reason it does not."""
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((str(address), 0))
        except OSError as error:
            return errno.errorcode.get(error.errno or 0, str(error))
    return None


def missing(
    addresses: Sequence[Address], require_ipv6: bool, binder: Binder, expected: Sequence[Address] = ()
) -> List[str]:
    """What is still missing; an empty list means ready."""
    reasons = [f"{address} is not on the interface" for address in expected if address not in addresses]
    unbindable = {address: binder(address) for address in addresses}
    bindable = [address for address, error in unbindable.items() if error is None]
    if not any(address.version == 4 for address in bindable):
        reasons.append(f"no bindable IPv4 address in {TAILNET_IPV4}")
    if require_ipv6 and not any(address.version == 6 for address in bindable):
        reasons.append(f"no bindable IPv6 address in {TAILNET_IPV6}")
    reasons.extend(f"{address} does not bind ({error})" for address, error in unbindable.items() if error)
    return reasons


def wait(
    source: AddressSource,
    *,
    interface: str,
    timeout: float,
    interval: float,
    require_ipv6: bool = False,
    expected: Sequence[Address] = (),
    binder: Binder = bind_error,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[List[Address], List[str]]:
    """Poll until ready or `timeout` seconds passed: (addresses found, what is missing)."""
    deadline = clock() + timeout
    while True:
        addresses = tailnet_addresses(source(), interface)
        reasons = missing(addresses, require_ipv6, binder, expected)
        if not reasons or clock() >= deadline:
            return addresses, reasons
        sleep(interval)


def main(argv: Optional[Sequence[str]] = None, source: Optional[AddressSource] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interface", default="tailscale0", help="the Tailscale interface (tailscale0)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait before failing (60)")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between checks (0.5)")
    parser.add_argument(
        "--require-ipv6", action="store_true", help=f"also wait for an address in {TAILNET_IPV6}"
    )
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        type=ipaddress.ip_address,
        metavar="ADDRESS",
        help="an address that must be among them (tailscale ip); repeatable",
    )
    args = parser.parse_args(argv)
    if args.timeout < 0 or args.interval <= 0:
        parser.error(f"--timeout must be >= 0 and --interval > 0, got {args.timeout} and {args.interval}")
    addresses, reasons = wait(
        source or ip_json_source(args.interface),
        interface=args.interface,
        timeout=args.timeout,
        interval=args.interval,
        require_ipv6=args.require_ipv6,
        expected=args.expect,
    )
    if reasons:
        print(
            f"{args.interface}: not ready after {args.timeout:g} s: {'; '.join(reasons)}"
            f" (addresses seen: {', '.join(map(str, addresses)) or 'none'})",
            file=sys.stderr,
        )
        return 1
    print(f"{args.interface}: ready, bindable: {', '.join(map(str, addresses))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
