# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The OPA decision client. Fails closed: only ``{"result": {"allow": true}}`` allows a call."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio

from .http1 import HttpError, KeepAliveClient


@dataclass(frozen=True)
class Decision:
    """OPA's answer for one call: ``allow`` is True only on an explicit JSON ``true``."""

    allow: bool
    reasons: list[str]
    latency_ms: float


def interpret(status: int, body: bytes) -> tuple[bool, list[str]]:
    """Turn OPA's HTTP answer into (allow, reasons); anything but an explicit allow is a deny."""
    if status != 200:
        return False, [f"decision service answered HTTP {status}"]
    try:
        document = json.loads(body)
    except ValueError:
        return False, ["decision service answered malformed JSON"]
    result = document.get("result") if isinstance(document, dict) else None
    if not isinstance(result, dict):
        return False, ["decision service returned no decision (is the policy loaded?)"]
    raw_reasons = result.get("reasons", [])
    reasons = [str(reason) for reason in raw_reasons] if isinstance(raw_reasons, list) else []
    # `is True` on purpose: "true", 1 and {"x": 1} are not an allow.
    if result.get("allow") is True:
        return True, reasons
    if "allow" in result and not isinstance(result.get("allow"), bool):
        return False, [*reasons, "decision service returned a non-boolean allow"]
    return False, reasons or ["denied (no reason given)"]


class DecisionClient:
    """Asks OPA's data API for the gateway decision over kept-alive connections."""

    def __init__(self, url: str, timeout_ms: int) -> None:
        self.url = url
        self.timeout_s = timeout_ms / 1000.0
        parts = urlsplit(url)
        self._target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        # Direct connections only: a proxy from the environment must never see, or answer, decisions.
        self._http = KeepAliveClient(f"{parts.scheme}://{parts.netloc}")

    async def decide(self, decision_input: dict[str, Any]) -> Decision:
        """POST ``{"input": decision_input}`` and return the decision; errors and timeouts deny."""
        started = time.perf_counter()
        try:
            body = json.dumps({"input": decision_input}, separators=(",", ":")).encode()
            with anyio.fail_after(self.timeout_s):
                response = await self._http.request("POST", self._target, body)
            allow, reasons = interpret(response.status, response.body)
        except TimeoutError:
            allow, reasons = False, [f"decision service did not answer within {self.timeout_s * 1000:.0f} ms"]
        except HttpError as exc:
            allow, reasons = False, [f"decision service unreachable ({exc})"]
        except Exception as exc:  # fail closed on anything unforeseen, too
            allow, reasons = False, [f"decision failed ({type(exc).__name__})"]
        return Decision(allow=allow, reasons=reasons, latency_ms=(time.perf_counter() - started) * 1000.0)

    async def healthy(self) -> bool:
        """True when OPA's ``/health`` answers 200 within the decision timeout."""
        try:
            with anyio.fail_after(self.timeout_s):
                response = await self._http.request("GET", "/health")
        except (TimeoutError, HttpError):
            return False
        return response.status == 200

    async def aclose(self) -> None:
        """Close the idle connections."""
        await self._http.aclose()
