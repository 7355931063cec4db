# SPDX-License-Identifier: Apache-2.0
"""Test listener: `fw-echo PORT` answers on TCP and UDP PORT, IPv4 and IPv6, with one line."""

import socket
import sys
import threading

port = int(sys.argv[1])


def serve_udp() -> None:
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", port))
        while True:
            peer = sock.recvfrom(512)[1]
            sock.sendto(b"echo\n", peer)


threading.Thread(target=serve_udp, daemon=True).start()
with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as server:
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("::", port))
    server.listen(16)
    while True:
        connection = server.accept()[0]
        with connection:
            connection.sendall(b"echo\n")
