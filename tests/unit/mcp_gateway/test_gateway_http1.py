# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The minimal keep-alive HTTP/1.1 client the decision client uses, against scripted raw servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from sovereign_mcp_gateway.http1 import MAX_BODY_BYTES, HttpError, KeepAliveClient

pytestmark = pytest.mark.anyio

Answer = Callable[[int], bytes]


@asynccontextmanager
async def raw_server(answer: Answer, close_after_each: bool = False) -> AsyncIterator[tuple[str, list[int]]]:
    """A server that answers the n-th request (counted over all connections) with ``answer(n)``."""
    count = 0
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal count
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                count += 1
                writer.write(answer(count))
                await writer.drain()
                if close_after_each:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", connections
    finally:
        server.close()


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body


async def test_keep_alive_reuses_one_connection() -> None:
    async with raw_server(lambda n: ok(b'{"n": %d}' % n)) as (origin, connections):
        client = KeepAliveClient(origin)
        bodies = [(await client.request("POST", "/x", b"{}")).body for _attempt in range(3)]
        await client.aclose()
    assert bodies == [b'{"n": 1}', b'{"n": 2}', b'{"n": 3}']
    assert len(connections) == 1


async def test_chunked_body() -> None:
    chunked = (
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n5;x=y\r\n: 1}\n\r\n0\r\n\r\n'
    )
    async with raw_server(lambda n: chunked) as (origin, _connections):
        client = KeepAliveClient(origin)
        response = await client.request("POST", "/x", b"{}")
        await client.aclose()
    assert (response.status, response.body) == (200, b'{"a": 1}\n')


async def test_server_closing_idle_connections_is_retried_once() -> None:
    async with raw_server(lambda n: ok(b"%d" % n), close_after_each=True) as (origin, connections):
        client = KeepAliveClient(origin)
        first = await client.request("POST", "/x", b"{}")
        second = await client.request("POST", "/x", b"{}")
        await client.aclose()
    assert (first.body, second.body) == (b"1", b"2")
    assert len(connections) == 2


async def test_connection_close_header_is_honoured() -> None:
    async with raw_server(lambda n: ok(b"x", b"Connection: close\r\n")) as (origin, connections):
        client = KeepAliveClient(origin)
        await client.request("POST", "/x", b"{}")
        await client.request("POST", "/x", b"{}")
        await client.aclose()
    assert len(connections) == 2


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\n\r\n{}",
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 2xx OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: " + str(MAX_BODY_BYTES + 1).encode() + b"\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
    ],
    ids=["no-length", "not-http", "bad-status", "bad-length", "too-large", "bad-chunk", "short-body"],
)
async def test_malformed_answers_raise(answer: bytes) -> None:
    async with raw_server(lambda n: answer, close_after_each=True) as (origin, _connections):
        client = KeepAliveClient(origin)
        with pytest.raises(HttpError):
            await client.request("POST", "/x", b"{}")
        await client.aclose()


async def test_nothing_listening_raises() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(HttpError, match="cannot connect"):
        await KeepAliveClient(f"http://127.0.0.1:{port}").request("GET", "/health")


def test_only_http_origins() -> None:
    with pytest.raises(ValueError, match="not an http"):
        KeepAliveClient("ftp://127.0.0.1:21")
