# SPDX-License-Identifier: Apache-2.0
"""Test probe: `fw-probe tcp|udp HOST PORT` exits 0 when HOST answers on PORT within 2 s, else 1.

TCP: the connection is established. UDP: a datagram sent to fw-echo comes back. Prints what happened.
"""

import socket
import sys

TIMEOUT = 2.0


def main() -> int:
    protocol, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as sock:
        sock.settimeout(TIMEOUT)
        try:
            sock.connect((host, port))
            if protocol == "udp":
                sock.send(b"probe\n")
                sock.recv(64)
        except OSError as error:
            print(f"{protocol} {host} {port}: unreachable ({error})")
            return 1
    print(f"{protocol} {host} {port}: reachable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
