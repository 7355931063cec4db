# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The OPA client. Fails closed: only a well-formed ``{"result": {"allow": true}}`` allows a call.

OPA's answers are read as JSON exactly as RFC 8259 defines it: Python's ``json`` also accepts
``NaN``, ``Infinity`` and duplicate keys (the last one wins), so an answer holding them would be
read differently here than by a strict reader; such an answer denies.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio

from .http1 import HttpError, KeepAliveClient

GENERIC_REFUSAL = "decision_service: the decision service denied the call (the audit log has its reasons)"
"""What the client reads when OPA denies without naming a rule it may show."""


class NotStrictJson(ValueError):
    """The body is not JSON as RFC 8259 defines it."""


@dataclass(frozen=True)
class Decision:
    """OPA's answer for one call: ``allow`` is True only on an explicit JSON ``true``.

    ``reasons`` are the detailed reasons (the audit log keeps them); ``refusals`` name the rules
    that denied, in words the client may read (no path, no root).
    """

    allow: bool
    reasons: list[str]
    latency_ms: float
    refusals: list[str]


def _reject_constant(name: str) -> Any:
    raise NotStrictJson(f"{name} is not JSON")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise NotStrictJson("an object repeats a key")
    return document


def strict_json(body: bytes) -> Any:
    """Parse ``body`` as RFC 8259 JSON (UTF-8, no NaN or Infinity, no repeated key in an object)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotStrictJson("the body is not UTF-8") from exc
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_unique_keys)
    except NotStrictJson:
        raise
    except ValueError as exc:
        raise NotStrictJson(str(exc)) from exc


def _string_list(value: Any) -> list[str] | None:
    """``value`` when it is a list of strings, else None."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None


def interpret(status: int, body: bytes) -> tuple[bool, list[str], list[str]]:
    """Turn OPA's HTTP answer into (allow, reasons, refusals); anything but an explicit allow denies."""
    try:
        result = _result_of(status, body)
    except NotStrictJson as exc:
        return False, [str(exc)], []
    reasons = _string_list(result.get("reasons", []))
    refusals = _string_list(result.get("refusals", []))
    if reasons is None or refusals is None:
        return False, ["decision service returned reasons or refusals that are not lists of strings"], []
    allow = result.get("allow")
    if not isinstance(allow, bool):
        return False, [*reasons, "decision service returned a non-boolean allow"], refusals
    # `is True` on purpose: "true", 1 and {"x": 1} are not an allow.
    if allow is True:
        return True, reasons, []
    return False, reasons or ["denied (no reason given)"], refusals


def _result_of(status: int, body: bytes) -> dict[str, Any]:
    """The ``result`` object of a 200 answer; NotStrictJson says why there is none."""
    if status != 200:
        raise NotStrictJson(f"decision service answered HTTP {status}")
    try:
        document = strict_json(body)
    except NotStrictJson as exc:
        raise NotStrictJson(f"decision service answered malformed JSON ({exc})") from exc
    result = document.get("result") if isinstance(document, dict) else None
    if not isinstance(result, dict):
        raise NotStrictJson("decision service returned no decision (is the policy loaded?)")
    return result


class DecisionClient:
    """Asks OPA's data API for decisions over kept-alive connections."""

    def __init__(self, url: str, timeout_ms: int, tools_url: str = "") -> None:
        self.url = url
        self.timeout_s = timeout_ms / 1000.0
        parts = urlsplit(url)
        self._target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        tools = urlsplit(tools_url) if tools_url else None
        self._tools_target = urlunsplit(("", "", tools.path or "/", tools.query, "")) if tools else ""
        if tools is not None and tools.netloc != parts.netloc:
            raise ValueError("the tools/list rule must be served by the same OPA as the decision")
        # Direct connections only: a proxy from the environment must never see, or answer, decisions.
        self._http = KeepAliveClient(f"{parts.scheme}://{parts.netloc}")

    async def _post(self, target: str, decision_input: dict[str, Any]) -> tuple[int, bytes]:
        body = json.dumps({"input": decision_input}, separators=(",", ":")).encode()
        with anyio.fail_after(self.timeout_s):
            response = await self._http.request("POST", target, body)
        return response.status, response.body

    async def decide(self, decision_input: dict[str, Any]) -> Decision:
        """POST ``{"input": decision_input}`` and return the decision; errors and timeouts deny."""
        started = time.perf_counter()
        refusals: list[str] = []
        try:
            status, body = await self._post(self._target, decision_input)
            allow, reasons, refusals = interpret(status, body)
        except TimeoutError:
            allow, reasons = False, [f"decision service did not answer within {self.timeout_s * 1000:.0f} ms"]
        except HttpError as exc:
            allow, reasons = False, [f"decision service unreachable ({exc})"]
        except Exception as exc:  # fail closed on anything unforeseen, too
            allow, reasons = False, [f"decision failed ({type(exc).__name__})"]
        if not allow and not refusals:
            # The gateway's own failures to get a decision carry no path: the client may read them.
            refusals = [f"decision_service: {reason}" for reason in reasons if reason.startswith("decision ")]
            refusals = refusals or [GENERIC_REFUSAL]
        return Decision(
            allow=allow,
            reasons=reasons,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            refusals=refusals,
        )

    async def visible_tools(self, client: str, tools: list[dict[str, str]]) -> list[dict[str, str]] | None:
        """The entries of ``tools`` (``{"server", "tool"}``) that the policy may allow ``client`` to
        call, or None when OPA gave no well-formed answer (the caller shows nothing then)."""
        if not self._tools_target:
            return None
        try:
            status, body = await self._post(self._tools_target, {"client": client, "tools": tools})
            document = strict_json(body) if status == 200 else None
        except (TimeoutError, HttpError, NotStrictJson):
            return None
        result = document.get("result") if isinstance(document, dict) else None
        if not isinstance(result, list):
            return None
        visible = [
            entry
            for entry in result
            if isinstance(entry, dict)
            and set(entry) == {"server", "tool"}
            and all(isinstance(value, str) for value in entry.values())
        ]
        return visible if len(visible) == len(result) else None

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
