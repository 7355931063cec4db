# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""One request through the router: who sent it, whether they may, which replica answers it, and the
answer relayed to the client as it arrives, then counted.

A replica that cannot be reached, or that answers 502, 503 or 504 (an engine restarting or loading),
before anything was sent to the client is left for the next one: the same deployment's other
replicas, then for ``auto`` the next deployment by size. Once the answer's status line has been
relayed, nothing is retried: a replica failing mid-answer cuts the client's answer (the connection
closes without the final chunk), so the client sees a failure, not a shorter answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import Receive, Scope, Send

from .accounting import Accounting, RequestRecord
from .balancer import Balancer
from .config import RouterConfig
from .errors import ApiError, no_replica, too_large
from .health import record_failure
from .limits import Limits
from .parsing import parse_request
from .table import Deployment, Replica
from .upstream import Answer, BeforeFirstByte, BrokenAnswer, Origin
from .usage import UsageScanner

RETRY_STATUSES = frozenset({502, 503, 504})
CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@:=-]{0,127}$")
ANONYMOUS = "anonymous"


@dataclass
class _Outcome:
    deployment: str
    replica: str = ""
    status: int = 0
    attempts: int = 0
    error: bool = False


async def _read_body(receive: Receive, limit: int) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("client went away")
        body += message.get("body", b"")
        if len(body) > limit:
            raise too_large(limit)
        if not message.get("more_body", False):
            return bytes(body)


async def send_error(send: Send, error: ApiError) -> None:
    """Answer ``error`` in the OpenAI shape."""
    await send({"type": "http.response.start", "status": error.status, "headers": error.headers()})
    await send({"type": "http.response.body", "body": error.body()})


class Forwarder:
    """Routes POSTs of the OpenAI API to replicas."""

    def __init__(
        self,
        balancer: Balancer,
        config: RouterConfig,
        accounting: Accounting,
        limits: Limits,
        origin_for: Callable[[Replica], Origin],
    ) -> None:
        self._balancer = balancer
        self._config = config
        self._accounting = accounting
        self._limits = limits
        self._origin_for = origin_for

    def client_of(self, scope: Scope) -> str:
        """The client name the TLS proxy put in the configured header, or ``anonymous``."""
        wanted = self._config.client_header.encode("latin-1")
        for name, value in scope.get("headers", []):
            if name == wanted:
                text = value.decode("latin-1")
                return text if CLIENT_NAME.match(text) else ANONYMOUS
        return ANONYMOUS

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one POST to ``scope['path']``."""
        started = time.perf_counter()
        client = self.client_of(scope)
        try:
            refusal = self._limits.admit(client)
            if refusal is not None:
                raise refusal
            body = await _read_body(receive, self._config.max_body_bytes)
            request = parse_request(body)
            deployments = self._balancer.deployments_for(request.model, request.needed_context)
        except ApiError as error:
            await send_error(send, error)
            return
        except ConnectionError:
            return
        outcome = _Outcome(deployment=deployments[0].name)
        scanner = UsageScanner(request.stream)
        try:
            answer, replica = await self._first_answer(scope, body, deployments, outcome)
            if answer is None or replica is None:
                outcome.status, outcome.error = 503, True
                await send_error(send, no_replica(request.model))
                return
            await self._relay(answer, replica, send, scanner, outcome)
        finally:
            prompt, completion = scanner.tokens()
            self._limits.add_tokens(client, prompt + completion)
            self._accounting.record(
                RequestRecord(
                    client=client,
                    model=request.model,
                    deployment=outcome.deployment,
                    replica=outcome.replica,
                    status=outcome.status,
                    stream=request.stream,
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    error=outcome.error,
                    attempts=outcome.attempts,
                    duration_ms=(time.perf_counter() - started) * 1000,
                )
            )

    async def _first_answer(
        self, scope: Scope, body: bytes, deployments: list[Deployment], outcome: _Outcome
    ) -> tuple[Answer | None, Replica | None]:
        """The first answer not worth retrying, from the deployments' replicas in turn."""
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"application/json")
        for deployment in deployments:
            tried: list[Replica] = []
            while (replica := self._balancer.pick_replica(deployment, tried)) is not None:
                tried.append(replica)
                outcome.attempts += 1
                replica.in_flight += 1
                try:
                    answer = await self._origin_for(replica).send(
                        "POST", scope["path"], body, content_type, self._config.answer_timeout_s
                    )
                except BeforeFirstByte:
                    replica.in_flight -= 1
                    record_failure(replica, self._config.health, at_once=True)
                    continue
                except BaseException:
                    replica.in_flight -= 1
                    raise
                if answer.status in RETRY_STATUSES:
                    answer.release()
                    replica.in_flight -= 1
                    record_failure(replica, self._config.health, at_once=True)
                    continue
                outcome.deployment, outcome.replica = deployment.name, replica.host
                return answer, replica
        return None, None

    async def _relay(
        self, answer: Answer, replica: Replica, send: Send, scanner: UsageScanner, outcome: _Outcome
    ) -> None:
        """Send the answer on piece by piece; the replica's load drops when it is done."""
        outcome.status = answer.status
        outcome.error = answer.status >= 400
        try:
            await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
            async for piece in answer.pieces():
                scanner.feed(piece)
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except BrokenAnswer:
            outcome.error = True  # returning without the last body message cuts the client's answer
        except OSError:
            outcome.error = True  # the client went away; closing the replica's connection stops it
        finally:
            replica.in_flight -= 1
            answer.release()
