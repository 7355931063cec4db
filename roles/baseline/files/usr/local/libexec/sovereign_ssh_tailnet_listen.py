# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Write the sshd drop-in that makes sshd listen on this host's tailnet address.

sshd must listen on the tailnet address, which exists only once the host joined the tailnet: on a
fleet's first run that is after role baseline configured sshd, and after every boot it is after
sshd started. So the address is not in sshd_config; sshd_config includes the file this writes, and
sovereign-ssh-tailnet.service runs this each time the tailnet address wait unit of role tailscale
comes up, then reloads sshd. Only an IPv4 address in the tailnet range (100.64.0.0/10) is ever
written: a wrong interface name gives no address, never a LAN one.

Run as `python3 <this file> --interface=IF --output=FILE`. Exit status: 0 written (or unchanged),
1 the file could not be written, 2 bad arguments. Standard library only.
"""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import os
import socket
import struct
import sys
import tempfile
from typing import Callable, Optional, Sequence

TAILNET_IPV4 = ipaddress.ip_network("100.64.0.0/10")
SIOCGIFADDR = 0x8915  # <linux/sockios.h>: the interface's (first) IPv4 address
IFNAMSIZ = 16

AddressReader = Callable[[str], Optional[str]]


def interface_ipv4(interface: str) -> Optional[str]:
    """The IPv4 address of `interface` (SIOCGIFADDR), or None while it has none or does not exist."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            answer = fcntl.ioctl(probe.fileno(), SIOCGIFADDR, struct.pack("256s", interface.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(answer[20:24])


def drop_in(interface: str, read: AddressReader = interface_ipv4) -> str:
    """The drop-in's text: a ListenAddress line for the tailnet address, else only a comment."""
    address = read(interface)
    if address is not None and ipaddress.ip_address(address) in TAILNET_IPV4:
        return (
            f"# {interface}: the tailnet address (sovereign-ssh-tailnet.service)\nListenAddress {address}\n"
        )
    return f"# {interface} has no tailnet address yet (sovereign-ssh-tailnet.service)\n"


def write_if_changed(path: str, text: str) -> bool:
    """Replace `path` with `text` atomically when it differs; True when it changed."""
    try:
        with open(path, encoding="utf-8") as current:
            if current.read() == text:
                return False
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tailnet-listen.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return True


def valid_interface(name: str) -> str:
    """An interface name the kernel could have: 1-15 bytes, no slash, whitespace or NUL."""
    if (
        not 0 < len(name.encode()) < IFNAMSIZ
        or any(c in name for c in "/\0")
        or any(c.isspace() for c in name)
    ):
        raise argparse.ArgumentTypeError(f"not an interface name: {name!r}")
    return name


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse the arguments, write the drop-in, say what it holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interface", required=True, type=valid_interface)
    parser.add_argument("--output", required=True)
    arguments = parser.parse_args(argv)
    text = drop_in(arguments.interface)
    try:
        changed = write_if_changed(arguments.output, text)
    except OSError as error:
        print(f"cannot write {arguments.output}: {error}", file=sys.stderr)
        return 1
    listen = [line for line in text.splitlines() if line.startswith("ListenAddress")]
    what = listen[0] if listen else "no tailnet address"
    print(f"{'wrote' if changed else 'kept'} {arguments.output}: {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
