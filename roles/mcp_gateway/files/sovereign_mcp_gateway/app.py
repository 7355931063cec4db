# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The HTTP side: ``/mcp`` (bearer auth -> rate limit -> size limit -> MCP), ``/healthz`` and the
protected-resource metadata (RFC 9728) under ``/.well-known/oauth-protected-resource``.

Authentication and the rate limit answer 401 and 429 before the SDK sees the request; the SDK's
session manager then answers 413 for a body over ``max_payload_bytes`` before parsing it, and binds
each MCP session to the client that opened it. A 401 carries ``WWW-Authenticate: Bearer`` with a
realm, ``error="invalid_token"`` when a credential was presented (RFC 6750, 3.1: none when there
was none) and ``resource_metadata`` (RFC 9728, 5.1), whose document names no authorization server:
tokens are issued by the operator, there is no OAuth flow to start.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from .audit import AuditLog
from .auth import TokenAuthenticator
from .config import GatewayConfig
from .decision import DecisionClient
from .downstream import Downstreams
from .gateway import Gateway, rejected_call
from .ratelimit import RateLimiter

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
METADATA_PATH = "/.well-known/oauth-protected-resource"
REALM = "sovereign-mcp-gateway"
MAX_AUDITED_BODY_BYTES = 64 * 1024
"""Of a request the SDK refuses at the HTTP level, at most this much is read back for its audit line."""


async def _json_error(
    send: Send, status: int, body: dict[str, str], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def _public_origin(scope: Scope) -> str:
    """``scheme://host`` as the client reached it: through the TLS proxy (which sets
    X-Forwarded-Proto and X-Forwarded-Host) or directly. Only ever printed back to that client."""
    headers = Headers(scope=scope)
    proto = headers.get("x-forwarded-proto", "")
    scheme = proto if proto in ("http", "https") else str(scope.get("scheme", "http"))
    host = headers.get("x-forwarded-host") or headers.get("host") or ""
    if not host or any(character in host for character in "/\\ @?#"):
        host = "localhost"
    return f"{scheme}://{host}"


def metadata_url(scope: Scope) -> str:
    """Where this gateway's protected-resource metadata is, for the client that sent ``scope``."""
    return f"{_public_origin(scope)}{METADATA_PATH}{MCP_PATH}"


def unauthorized_headers(scope: Scope, presented: bool) -> list[tuple[bytes, bytes]]:
    """``WWW-Authenticate`` of a 401 (RFC 6750, 3; RFC 9728, 5.1)."""
    parameters = [f'realm="{REALM}"']
    if presented:
        parameters.append('error="invalid_token"')
        parameters.append('error_description="the bearer token is not valid for this gateway"')
    parameters.append(f'resource_metadata="{metadata_url(scope)}"')
    return [(b"www-authenticate", ("Bearer " + ", ".join(parameters)).encode("latin-1"))]


UNAUTHORIZED_DESCRIPTION = (
    "HTTP 401: this gateway needs Authorization: Bearer <token> with a token issued by its operator "
    "(there is no OAuth authorization server to obtain one from)"
)


class McpEndpoint:
    """ASGI app for ``/mcp``: authenticates and rate limits, then hands over to the SDK."""

    def __init__(
        self,
        authenticator: TokenAuthenticator,
        limiter: RateLimiter,
        sessions: StreamableHTTPSessionManager,
        audit: AuditLog,
    ) -> None:
        self._authenticator = authenticator
        self._limiter = limiter
        self._sessions = sessions
        self._audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401/429 here, or pass the request on with the client as the authenticated user."""
        authorization = Headers(scope=scope).get("authorization")
        client = self._authenticator.authenticate(authorization)
        if client is None:
            body = {
                "error": "invalid_token" if authorization is not None else "unauthorized",
                "error_description": UNAUTHORIZED_DESCRIPTION,
            }
            await _json_error(
                send, 401, body, unauthorized_headers(scope, presented=authorization is not None)
            )
            return
        if not self._limiter.allow(client):
            retry = str(self._limiter.retry_after(client)).encode()
            await _json_error(send, 429, {"error": "rate limit exceeded"}, [(b"retry-after", retry)])
            return
        # The SDK keys session ownership on the client id; the token itself is never stored.
        scope["user"] = AuthenticatedUser(AccessToken(token=f"client:{client}", client_id=client, scopes=[]))
        scope["auth"] = AuthCredentials([])
        watched = _RejectedCallWatch(receive, send)
        await self._sessions.handle_request(scope, watched.receive, watched.send)
        if watched.status >= 400:
            self._audit_rejected(client, watched)

    def _audit_rejected(self, client: str, watched: _RejectedCallWatch) -> None:
        """An audit line for each tools/call in a request the SDK refused at the HTTP level (an
        unknown or missing session, a bad header, a batch), when the body is JSON this can read."""
        try:
            message = json.loads(bytes(watched.body))
        except ValueError:
            return
        for item in message if isinstance(message, list) else [message]:
            if not isinstance(item, dict) or item.get("method") != "tools/call":
                continue
            params = item.get("params")
            name = params.get("name") if isinstance(params, dict) else None
            reason = f"the request was refused with HTTP {watched.status} before the gateway's check"
            self._audit.write(rejected_call(client, name, reason))


class _RejectedCallWatch:
    """Wraps an ASGI request's channels: keeps the first ``MAX_AUDITED_BODY_BYTES`` of the body and
    the response status, so a refused tools/call can be audited after the SDK answered."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.body = bytearray()
        self.status = 0

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request" and len(self.body) < MAX_AUDITED_BODY_BYTES:
            self.body += message.get("body", b"")[: MAX_AUDITED_BODY_BYTES - len(self.body)]
        return message

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self._send(message)


async def protected_resource_metadata(request: Request) -> Response:
    """RFC 9728's document for ``/mcp``: bearer tokens in the header, and no authorization server."""
    origin = _public_origin(request.scope)
    return JSONResponse(
        {
            "resource": f"{origin}{MCP_PATH}",
            "bearer_methods_supported": ["header"],
            "resource_name": "sovereign MCP gateway (bearer tokens are issued by its operator; no OAuth)",
        },
        headers={"cache-control": "no-store"},
    )


def _transport_security(config: GatewayConfig) -> TransportSecuritySettings:
    """DNS-rebinding protection: only Host/Origin values naming this gateway's own address."""
    host = f"[{config.listen_address}]" if ":" in config.listen_address else config.listen_address
    hosts = ["127.0.0.1", "localhost", "[::1]", host]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{name}:*" for name in dict.fromkeys(hosts)],
        allowed_origins=[
            f"{scheme}://{name}:*" for name in dict.fromkeys(hosts) for scheme in ("http", "https")
        ],
    )


def build_app(config: GatewayConfig) -> Starlette:
    """The gateway's ASGI application; downstream servers are started by its lifespan."""
    audit = AuditLog(config.audit_log)
    decisions = DecisionClient(config.opa_url, config.opa_timeout_ms, config.opa_tools_url)
    downstreams = Downstreams(config.servers, config.call_timeout_s)
    gateway = Gateway(downstreams, decisions, audit, config.workspace_roots)
    sessions = StreamableHTTPSessionManager(
        app=gateway.mcp_server(),
        security_settings=_transport_security(config),
        max_request_body_size=config.max_payload_bytes,
        # One JSON body per POST instead of an SSE stream: the gateway sends nothing unprompted.
        json_response=True,
    )
    endpoint = McpEndpoint(
        TokenAuthenticator(config.tokens),
        RateLimiter(config.rate_limit_per_second, config.rate_limit_burst),
        sessions,
        audit,
    )

    async def healthz(request: Request) -> Response:
        """ok / not ok, whether OPA answers, and each downstream server's state (ok, restarting or
        down), restarts and next attempt; no auth, and no command, path or URL of a server."""
        opa_ok = await decisions.healthy()
        downstream = await downstreams.health()
        healthy = opa_ok and all(entry["status"] == "ok" for entry in downstream.values())
        return JSONResponse(
            {
                "status": "ok" if healthy else "not ok",
                "opa": "ok" if opa_ok else "not ok",
                "downstreams": downstream,
            },
            status_code=200 if healthy else 503,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with downstreams, sessions.run():
                logger.info(
                    "gateway ready: %d tools from %d servers", len(downstreams.tools), len(config.servers)
                )
                yield
        finally:
            await decisions.aclose()
            audit.close()

    return Starlette(
        routes=[
            Route(MCP_PATH, endpoint=endpoint),
            Route(HEALTH_PATH, endpoint=healthz, methods=["GET"]),
            Route(METADATA_PATH, endpoint=protected_resource_metadata, methods=["GET"]),
            Route(METADATA_PATH + MCP_PATH, endpoint=protected_resource_metadata, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
