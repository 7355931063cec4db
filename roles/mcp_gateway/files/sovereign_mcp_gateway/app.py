# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The HTTP side: ``/mcp`` (bearer auth -> rate limit -> size limit -> MCP) and ``/healthz``.

Authentication and the rate limit answer 401 and 429 before the SDK sees the request; the SDK's
session manager then answers 413 for a body over ``max_payload_bytes`` before parsing it, and binds
each MCP session to the client that opened it.
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
from starlette.types import Receive, Scope, Send

from .audit import AuditLog
from .auth import TokenAuthenticator
from .config import GatewayConfig
from .decision import DecisionClient
from .downstream import Downstreams
from .gateway import Gateway
from .ratelimit import RateLimiter

logger = logging.getLogger(__name__)

MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"


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


class McpEndpoint:
    """ASGI app for ``/mcp``: authenticates and rate limits, then hands over to the SDK."""

    def __init__(
        self, authenticator: TokenAuthenticator, limiter: RateLimiter, sessions: StreamableHTTPSessionManager
    ) -> None:
        self._authenticator = authenticator
        self._limiter = limiter
        self._sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 401/429 here, or pass the request on with the client as the authenticated user."""
        client = self._authenticator.authenticate(Headers(scope=scope).get("authorization"))
        if client is None:
            await _json_error(send, 401, {"error": "unauthorized"}, [(b"www-authenticate", b"Bearer")])
            return
        if not self._limiter.allow(client):
            retry = str(self._limiter.retry_after(client)).encode()
            await _json_error(send, 429, {"error": "rate limit exceeded"}, [(b"retry-after", retry)])
            return
        # The SDK keys session ownership on the client id; the token itself is never stored.
        scope["user"] = AuthenticatedUser(AccessToken(token=f"client:{client}", client_id=client, scopes=[]))
        scope["auth"] = AuthCredentials([])
        await self._sessions.handle_request(scope, receive, send)


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
    decisions = DecisionClient(config.opa_url, config.opa_timeout_ms)
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
    )

    async def healthz(request: Request) -> Response:
        """ok / not ok, and whether OPA and each downstream server answer; no auth, no detail beyond that."""
        opa_ok = await decisions.healthy()
        downstream_ok = await downstreams.health()
        healthy = opa_ok and all(downstream_ok.values())
        return JSONResponse(
            {
                "status": "ok" if healthy else "not ok",
                "opa": "ok" if opa_ok else "not ok",
                "downstreams": {name: "ok" if ok else "not ok" for name, ok in downstream_ok.items()},
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
        routes=[Route(MCP_PATH, endpoint=endpoint), Route(HEALTH_PATH, endpoint=healthz, methods=["GET"])],
        lifespan=lifespan,
    )
