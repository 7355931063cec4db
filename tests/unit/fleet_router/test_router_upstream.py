# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The router's hop to a peer's replica: HTTPS checked against the peer CA, the replica's path
prefix, and the fleet token; a certificate the CA did not sign fails before the first byte."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sovereign_fleet_router.upstream import BeforeFirstByte, Origin


def certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA), as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


async def peer_once(tmp_path: Path, client_ca: Path | None) -> tuple[int, bytes, list[bytes]]:
    """Serve one HTTPS answer with the 'peer' certificate; the client trusts ``client_ca``."""
    cert_file, key_file = certificate(tmp_path, "peer")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            heads.append(await reader.readuntil(b"\r\n\r\n"))
            await reader.readexactly(2)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    context = ssl.create_default_context(cafile=str(client_ca or cert_file))
    origin = Origin(f"https://127.0.0.1:{port}/sovereign-replica/8001", 2.0, context, "Bearer fleet-token")
    async with server:
        reply = await origin.send("POST", "/v1/chat/completions", b"{}", b"application/json", 5.0)
        body = b"".join([piece async for piece in reply.pieces()])
        reply.release()
        origin.close()
    return reply.status, body, heads


def test_a_peer_replica_over_https_with_the_fleet_token(tmp_path: Path) -> None:
    status, body, heads = asyncio.run(peer_once(tmp_path, None))
    assert (status, body) == (200, b"ok")
    request_line, *headers = heads[0].decode().split("\r\n")
    assert request_line == "POST /sovereign-replica/8001/v1/chat/completions HTTP/1.1"
    assert "Authorization: Bearer fleet-token" in headers


def test_a_peer_certificate_from_another_ca_fails_before_the_first_byte(tmp_path: Path) -> None:
    stranger, _key = certificate(tmp_path, "stranger")
    with pytest.raises(BeforeFirstByte, match="SSL"):
        asyncio.run(peer_once(tmp_path, stranger))
