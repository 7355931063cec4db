# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Active health checks: each replica is asked for ``health_path`` every ``interval_s``; it is
ejected after ``eject_after`` failed checks in a row (at once when a request could not reach it)
and returns after ``return_after`` good ones in a row."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from .table import Deployment, Replica
from .upstream import BeforeFirstByte, BrokenAnswer, Origin

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthSettings:
    """How replicas are checked."""

    # Every engine the plan can choose answers it (Ollama has no /health), and it is what the engine
    # role's readiness wait asks of each engine.
    path: str = "/v1/models"
    interval_s: float = 1.0
    timeout_s: float = 1.0
    eject_after: int = 2
    return_after: int = 2


def record_failure(replica: Replica, settings: HealthSettings, at_once: bool = False) -> None:
    """Count a failed check (or eject at once: a request could not reach the replica)."""
    replica.successes = 0
    replica.failures += 1
    if replica.healthy and (at_once or replica.failures >= settings.eject_after):
        replica.healthy = False
        logger.warning("replica %s on %s ejected", replica.url, replica.host)


def record_success(replica: Replica, settings: HealthSettings) -> None:
    """Count a good check; return an ejected replica after enough of them."""
    replica.failures = 0
    replica.successes += 1
    if not replica.healthy and replica.successes >= settings.return_after:
        replica.healthy = True
        logger.warning("replica %s on %s returned", replica.url, replica.host)


class HealthChecker:
    """Checks every replica of the table, each on its own connection pool."""

    def __init__(
        self, deployments: list[Deployment], settings: HealthSettings, origin_for: Callable[[Replica], Origin]
    ) -> None:
        self._settings = settings
        self._checks = [(replica, origin_for(replica)) for d in deployments for replica in d.replicas]

    async def check_once(self) -> None:
        """One round over every replica, concurrently."""
        await asyncio.gather(*(self._check(replica, origin) for replica, origin in self._checks))

    async def run(self) -> None:
        """Check forever, every interval."""
        while True:
            await self.check_once()
            await asyncio.sleep(self._settings.interval_s)

    def close(self) -> None:
        """Close the checks' connections."""
        for _replica, origin in self._checks:
            origin.close()

    async def _check(self, replica: Replica, origin: Origin) -> None:
        try:
            answer = await asyncio.wait_for(
                origin.send("GET", self._settings.path, b"", b"application/json", self._settings.timeout_s),
                self._settings.timeout_s,
            )
            try:
                async for _piece in answer.pieces():
                    pass
            finally:
                answer.release()
        except (BeforeFirstByte, BrokenAnswer, TimeoutError):
            record_failure(replica, self._settings)
            return
        if answer.status == 200:
            record_success(replica, self._settings)
        else:
            record_failure(replica, self._settings)
