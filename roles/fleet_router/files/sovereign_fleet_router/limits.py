# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Optional per-client limits: requests in any 60 seconds, and tokens (prompt + completion, as the
backends' ``usage`` reported them) per UTC day. A client with no limit of its own gets the default."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from .errors import ApiError, rate_limited

WINDOW_S = 60.0


@dataclass(frozen=True)
class ClientLimit:
    """None means unlimited."""

    requests_per_minute: int | None = None
    tokens_per_day: int | None = None


def _seconds_to_midnight(now: float) -> int:
    moment = datetime.fromtimestamp(now, UTC)
    return 86400 - (moment.hour * 3600 + moment.minute * 60 + moment.second)


class Limits:
    """Keeps each client's recent request times and today's tokens."""

    def __init__(
        self,
        default: ClientLimit,
        per_client: Mapping[str, ClientLimit],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._default = default
        self._per_client = dict(per_client)
        self._clock = clock
        self._recent: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._tokens: dict[str, tuple[str, int]] = {}

    def _limit(self, client: str) -> ClientLimit:
        return self._per_client.get(client, self._default)

    def admit(self, client: str) -> ApiError | None:
        """Count one request of ``client``; a 429 instead when it is over a limit (then not counted)."""
        limit = self._limit(client)
        now = self._clock()
        if limit.tokens_per_day is not None:
            day, used = self._tokens.get(client, ("", 0))
            if day == _day(now) and used >= limit.tokens_per_day:
                message = f"Client {client!r} has used its {limit.tokens_per_day} tokens for today (UTC)."
                return rate_limited(message, _seconds_to_midnight(now))
        if limit.requests_per_minute is not None:
            recent = self._recent[client]
            while recent and recent[0] <= now - WINDOW_S:
                recent.popleft()
            if len(recent) >= limit.requests_per_minute:
                message = f"Client {client!r} is over its {limit.requests_per_minute} requests per minute."
                return rate_limited(message, max(1, int(recent[0] + WINDOW_S - now) + 1))
            recent.append(now)
        return None

    def add_tokens(self, client: str, tokens: int) -> None:
        """Count tokens a backend reported for ``client`` against today's."""
        if self._limit(client).tokens_per_day is None or tokens <= 0:
            return
        today = _day(self._clock())
        day, used = self._tokens.get(client, (today, 0))
        self._tokens[client] = (today, (used if day == today else 0) + tokens)


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).date().isoformat()
