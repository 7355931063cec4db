# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""HTTP/1.1 to the replicas over kept-alive asyncio connections, with the answer's body relayed
piece by piece as it arrives.

Written here rather than taken from httpx because the router sits on the latency path of every
request (the MCP gateway measured httpx2 at twice the cost of plain asyncio streams for its policy
call, roles/mcp_gateway/files/sovereign_mcp_gateway/http1.py) and because the router must know
exactly whether a failure came before the answer's first byte (safe to try another replica) or
after it (never retried). Every failure up to and including the status line raises
``BeforeFirstByte``; a failure later ends the relayed body with ``BrokenAnswer``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 64 * 1024
READ_PIECE = 64 * 1024
# Hop-by-hop headers of the backend's answer, which the router's own server sets for the client.
HOP_HEADERS = frozenset({b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade"})


class BeforeFirstByte(Exception):
    """The replica could not be reached, or failed before its status line: no byte reached the client."""


class BrokenAnswer(Exception):
    """The replica failed after its answer began: the client gets a cut answer, never a retry."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class Answer:
    """A replica's status and headers, and its body to be relayed with ``pieces()``."""

    def __init__(
        self, origin: Origin, connection: _Connection, status: int, headers: list[tuple[bytes, bytes]]
    ) -> None:
        self._origin = origin
        self._connection = connection
        self.status = status
        self.headers = [(name, value) for name, value in headers if name not in HOP_HEADERS]
        values = dict(headers)
        self._chunked = b"chunked" in values.get(b"transfer-encoding", b"").lower()
        length = values.get(b"content-length")
        self._length = int(length) if length is not None and not self._chunked else None
        self._reusable = values.get(b"connection", b"").lower() != b"close"
        self._done = False

    async def pieces(self) -> AsyncIterator[bytes]:
        """The body as it arrives; raises BrokenAnswer when the replica fails part-way."""
        reader = self._connection.reader
        try:
            if self._chunked:
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
                    if size == 0:
                        while await reader.readuntil(b"\r\n") != b"\r\n":
                            pass  # trailers
                        break
                    yield await reader.readexactly(size)
                    await reader.readexactly(2)
            elif self._length is not None:
                remaining = self._length
                while remaining:
                    piece = await reader.read(min(remaining, READ_PIECE))
                    if not piece:
                        raise EOFError("answer shorter than its Content-Length")
                    remaining -= len(piece)
                    yield piece
            else:
                self._reusable = False
                while piece := await reader.read(READ_PIECE):
                    yield piece
        except (OSError, EOFError, ValueError, asyncio.LimitOverrunError) as error:
            self._reusable = False
            raise BrokenAnswer(f"{type(error).__name__}: {error}") from error
        self._done = True

    def release(self) -> None:
        """Give the connection back for the next request, or close it when the body was not read
        to its end (a client gone, a retried 503) or the replica asked to close."""
        if self._done and self._reusable:
            self._origin.give_back(self._connection)
        else:
            self._connection.close()


class Origin:
    """One replica's base URL (``http://127.0.0.1:8001`` or a peer's ``https://.../sovereign-replica/8001``)
    with its idle connections."""

    def __init__(
        self,
        url: str,
        connect_timeout_s: float,
        ssl_context: ssl.SSLContext | None = None,
        authorization: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._prefix = parts.path.rstrip("/")
        self._host_header = parts.netloc.encode("idna")
        self._ssl = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        self._authorization = authorization.encode("latin-1") if authorization else None
        self._connect_timeout_s = connect_timeout_s
        self._idle: list[_Connection] = []

    def give_back(self, connection: _Connection) -> None:
        """Keep ``connection`` for a later request."""
        self._idle.append(connection)

    def close(self) -> None:
        """Close every idle connection."""
        while self._idle:
            self._idle.pop().close()

    async def send(
        self, method: str, path: str, body: bytes, content_type: bytes, head_timeout_s: float
    ) -> Answer:
        """Send one request and wait for the answer's status line and headers.

        A kept-alive connection the replica closed while idle is retried once on a fresh one
        (nothing was answered); every other failure raises BeforeFirstByte.
        """
        request = self._request_bytes(method, path, body, content_type)
        while self._idle:
            connection = self._idle.pop()
            try:
                return await self._exchange(connection, request, head_timeout_s)
            except TimeoutError as error:
                connection.close()  # the replica is slow, not gone: no second wait on a fresh connection
                raise BeforeFirstByte("no answer in time") from error
            except (OSError, EOFError, asyncio.IncompleteReadError):
                connection.close()  # closed by the replica while idle; a fresh one below
            except BaseException:
                connection.close()
                raise
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    limit=MAX_HEAD_BYTES,
                    server_hostname=self._host if self._ssl else None,
                ),
                self._connect_timeout_s,
            )
        except (OSError, TimeoutError, ssl.SSLError) as error:
            raise BeforeFirstByte(f"cannot connect: {type(error).__name__}") from error
        connection = _Connection(reader, writer)
        try:
            return await self._exchange(connection, request, head_timeout_s)
        except BeforeFirstByte:
            connection.close()
            raise
        except (OSError, EOFError, TimeoutError, ValueError, asyncio.LimitOverrunError) as error:
            connection.close()
            raise BeforeFirstByte(f"no answer: {type(error).__name__}") from error
        except BaseException:
            connection.close()
            raise

    def _request_bytes(self, method: str, path: str, body: bytes, content_type: bytes) -> bytes:
        lines = [
            f"{method} {self._prefix}{path} HTTP/1.1".encode("ascii"),
            b"Host: " + self._host_header,
            b"Content-Type: " + content_type,
            b"Content-Length: " + str(len(body)).encode(),
        ]
        if self._authorization:
            lines.append(b"Authorization: " + self._authorization)
        return b"\r\n".join(lines) + b"\r\n\r\n" + body

    async def _exchange(self, connection: _Connection, request: bytes, head_timeout_s: float) -> Answer:
        connection.writer.write(request)
        await connection.writer.drain()
        head = await asyncio.wait_for(connection.reader.readuntil(b"\r\n\r\n"), head_timeout_s)
        status_line, *header_lines = head.split(b"\r\n")
        version, _space, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1.") or not rest[:3].isdigit():
            raise BeforeFirstByte("malformed status line")
        headers = []
        for line in header_lines:
            if line:
                name, _colon, value = line.partition(b":")
                headers.append((name.strip().lower(), value.strip()))
        return Answer(self, connection, int(rest[:3]), headers)
