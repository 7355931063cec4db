# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The router's ASGI application: ``POST /v1/chat/completions``, ``/v1/completions`` and
``/v1/embeddings`` routed by model; ``GET /v1/models`` (every deployment of the fleet, its context,
engines, tags and healthy replicas), ``GET /healthz`` and ``GET /metrics`` (the accounting counters).

A plain ASGI callable rather than a Starlette app: the dispatch is five paths, and each layer of
middleware costs time on every request (docs/architecture.md "Fleet endpoint: router choice").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
from typing import Any

from starlette.types import Receive, Scope, Send

from .accounting import Accounting
from .balancer import AUTO, Balancer
from .config import RouterConfig
from .errors import not_found
from .health import HealthChecker
from .limits import Limits
from .proxy import Forwarder, send_error
from .table import Deployment, Replica
from .upstream import Origin

logger = logging.getLogger(__name__)

ROUTED_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/embeddings"})


def models_listing(deployments: list[Deployment]) -> dict[str, Any]:
    """``/v1/models``: each deployment with its context and engines, then ``auto`` and its tags."""
    data: list[dict[str, Any]] = [
        {
            "id": deployment.name,
            "object": "model",
            "owned_by": "sovereign-fleet",
            "context_length": deployment.context,
            "engine": ",".join(deployment.engines),
            "tags": sorted(deployment.tags),
            "replicas": len(deployment.replicas),
            "healthy_replicas": len(deployment.healthy_replicas()),
        }
        for deployment in deployments
    ]
    tags = sorted({tag for deployment in deployments for tag in deployment.tags})
    for name in [AUTO, *(f"{AUTO}:{tag}" for tag in tags)]:
        data.append({"id": name, "object": "model", "owned_by": "sovereign-fleet-router"})
    return {"object": "list", "data": data}


async def _send_body(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RouterApp:
    """The ASGI callable; the health checks run while its lifespan does."""

    def __init__(self, config: RouterConfig, deployments: list[Deployment]) -> None:
        self.config = config
        self.balancer = Balancer(deployments)
        self.accounting = Accounting(
            config.accounting_log, config.accounting_log_max_bytes, config.accounting_log_backups
        )
        self.limits = Limits(config.default_limit, config.client_limits)
        self._peer_ssl = self._peer_context()
        self._peer_authorization = (
            "Bearer " + config.peer_token_file.read_text(encoding="utf-8").strip()
            if config.peer_token_file
            else None
        )
        self._origins: dict[int, Origin] = {}
        self.forwarder = Forwarder(self.balancer, config, self.accounting, self.limits, self.origin_for)
        self.health = HealthChecker(deployments, config.health, self._new_origin)

    def _peer_context(self) -> ssl.SSLContext | None:
        if self.config.peer_ca_file is None:
            return None
        return ssl.create_default_context(cafile=str(self.config.peer_ca_file))

    def _new_origin(self, replica: Replica) -> Origin:
        remote = replica.url.startswith("https://")
        return Origin(
            replica.url,
            self.config.connect_timeout_s,
            self._peer_ssl if remote else None,
            self._peer_authorization if remote else None,
        )

    def origin_for(self, replica: Replica) -> Origin:
        """The connection pool requests to ``replica`` use."""
        origin = self._origins.get(id(replica))
        if origin is None:
            origin = self._origins[id(replica)] = self._new_origin(replica)
        return origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path in ROUTED_PATHS and method == "POST":
            await self.forwarder.handle(scope, receive, send)
        elif path == "/v1/models" and method == "GET":
            body = json.dumps(models_listing(self.balancer.deployments)).encode()
            await _send_body(send, 200, body, b"application/json")
        elif path == "/healthz" and method == "GET":
            serving = all(d.healthy_replicas() for d in self.balancer.deployments)
            body = json.dumps({"status": "ok" if serving else "degraded"}).encode()
            await _send_body(send, 200 if serving else 503, body, b"application/json")
        elif path == "/metrics" and method == "GET":
            await _send_body(send, 200, self.accounting.metrics().encode(), b"text/plain; version=0.0.4")
        else:
            await send_error(send, not_found(path))

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        checks: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # One round before serving: replicas already down are not tried by the first requests.
                await self.health.check_once()
                checks = asyncio.create_task(self.health.run())
                logger.info("fleet router ready: %d deployments", len(self.balancer.deployments))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if checks is not None:
                    checks.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await checks
                self.health.close()
                for origin in self._origins.values():
                    origin.close()
                self.accounting.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
