# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The MCP side of the gateway: tools/list per client, and the checked tools/call.

Order of a tools/call: find the downstream tool (unknown -> refused), make sure a tool that takes a
path was given one, resolve every path argument (paths.py: spelling, lstat walk, hard links, the
gateway's own workspace roots), check the trees a moving tool would move, then ask OPA with the
resolved paths; execute only on an explicit allow, with the resolved paths in place of the ones
sent. Every refusal of the gateway's own comes before OPA is asked. One audit line per call,
including calls the SDK refuses before this handler runs (``AuditRejectedCalls``).

What the client reads of a refusal names the rule and never a path, a resolved target, a pid or
the workspace roots; the audit line keeps those details.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import mcp_types as types
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel import Server

from . import __version__
from .audit import AuditLog, AuditRecord
from .decision import DecisionClient
from .downstream import Downstreams, Route, split_name
from .paths import NormalisedArguments, PathRejected, first_link_in_tree, normalise_arguments

logger = logging.getLogger(__name__)

DENIED_PREFIX = "denied by policy"


def error_result(text: str) -> types.CallToolResult:
    """An MCP tool error result (``isError: true``) carrying ``text``."""
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def refusal(rules: list[str]) -> types.CallToolResult:
    """The error result of a refused call: ``denied by policy: `` and the rules that refused it."""
    return error_result(f"{DENIED_PREFIX}: {'; '.join(rules) or 'no reason given'}")


def client_of(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The client id the HTTP layer authenticated for this request, or None."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    return user.username if isinstance(user, AuthenticatedUser) else None


def _has_path(value: Any) -> bool:
    """True when an argument names at least one path (a non-empty string or list)."""
    return value not in (None, "", [])


class Gateway:
    """Answers tools/list and tools/call for authenticated clients."""

    def __init__(
        self,
        downstreams: Downstreams,
        decisions: DecisionClient,
        audit: AuditLog,
        workspace_roots: tuple[str, ...],
    ) -> None:
        self.downstreams = downstreams
        self.decisions = decisions
        self.audit = audit
        self.workspace_roots = workspace_roots

    def mcp_server(self) -> Server[Any]:
        """The SDK server whose handlers are this gateway's."""
        server: Server[Any] = Server(
            "sovereign-mcp-gateway",
            version=__version__,
            on_list_tools=self.list_tools,
            on_call_tool=self.call_tool,
        )
        # The SDK's default middleware is an OpenTelemetry span per message; no exporter is ever
        # installed here (hosts have no egress), so it is pure per-call cost. Ours audits the
        # tools/call requests the SDK refuses before the handler.
        server.middleware = [AuditRejectedCalls(self.audit)]
        return server

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        """The downstream tools, named ``<server>__<tool>``, that the policy may allow this client.

        OPA is asked once per list, with the client and every tool (the policy's ``visible_tools``
        applies the same client/server/tool rules as its decisions); no answer shows no tool.
        """
        client = client_of(ctx)
        tools = self.downstreams.tools
        if client is None:
            return types.ListToolsResult(tools=[])
        names = [
            (route.server.name, route.tool, tool)
            for tool in tools
            if (route := self.downstreams.route(tool.name))
        ]
        visible = await self.decisions.visible_tools(
            client, [{"server": server, "tool": tool} for server, tool, _listed in names]
        )
        if visible is None:
            logger.warning("no tools/list answer from the decision service: client %s sees no tool", client)
            return types.ListToolsResult(tools=[])
        allowed = {(entry["server"], entry["tool"]) for entry in visible}
        return types.ListToolsResult(
            tools=[listed for server, tool, listed in names if (server, tool) in allowed]
        )

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        """Decide, then (only on allow) forward one tools/call."""
        client = client_of(ctx)
        if client is None:
            # The HTTP layer refuses unauthenticated requests; reaching here without a client is a bug.
            return refusal(["unauthenticated: the request is not authenticated"])
        return await self.checked_call(client, params.name, params.arguments)

    async def checked_call(
        self, client: str, name: str, arguments: dict[str, Any] | None
    ) -> types.CallToolResult:
        """The policy-checked call for an authenticated ``client``."""
        route = self.downstreams.route(name)
        if route is None:
            parts = split_name(name)
            self.audit.write(
                AuditRecord(
                    client=client,
                    server=parts[0] if parts else None,
                    tool=parts[1] if parts else name,
                    decision="deny",
                    reasons=["unknown tool"],
                    outcome="unknown_tool",
                )
            )
            return refusal([f"unknown_tool: unknown tool {name!r}"])

        server = route.server
        given = arguments or {}
        record = AuditRecord(
            client=client, server=server.name, tool=route.tool, decision="deny", reasons=[], outcome="denied"
        )
        missing = self._missing_paths(route, given)
        if missing:
            self.audit.write(replace(record, reasons=[missing]))
            return refusal([missing])
        normalised = normalise_arguments(
            given, server.path_arguments, self.workspace_roots, allow_hard_links=server.allow_hard_links
        )
        if not normalised.path_errors and route.tool in server.moving_tools:
            self._check_moved_trees(normalised)
        record = replace(record, paths=normalised.paths)
        if normalised.path_errors:
            self.audit.write(replace(record, reasons=normalised.details))
            return refusal(normalised.path_errors)

        decision = await self.decisions.decide(
            {
                "client": client,
                "server": server.name,
                "tool": route.tool,
                "arguments": given,
                "paths": normalised.paths,
                "path_errors": [],
                "path_arguments": sorted(route.path_arguments),
            }
        )
        record = replace(record, reasons=list(decision.reasons), opa_ms=decision.latency_ms)
        if not decision.allow:
            self.audit.write(record)
            return refusal(decision.refusals)

        record = replace(record, decision="allow")
        started = time.perf_counter()
        try:
            result = await self.downstreams.call(route, normalised.arguments)
        except Exception as exc:
            call_ms = (time.perf_counter() - started) * 1000.0
            logger.warning("downstream %s tool %s failed: %s", server.name, route.tool, type(exc).__name__)
            self.audit.write(replace(record, outcome="failed", call_ms=call_ms))
            return error_result(f"downstream server {server.name!r} failed ({type(exc).__name__})")
        call_ms = (time.perf_counter() - started) * 1000.0
        self.audit.write(replace(record, outcome="tool_error" if result.is_error else "ok", call_ms=call_ms))
        return result

    @staticmethod
    def _missing_paths(route: Route, arguments: dict[str, Any]) -> str | None:
        """Why a call to a tool that takes a path names none (or misses a required one), or None."""
        if not route.path_arguments:
            return None
        absent = sorted(name for name in route.required_paths if not _has_path(arguments.get(name)))
        if absent:
            return f"path_missing: tool {route.tool} needs the path argument {', '.join(absent)}"
        if not any(_has_path(arguments.get(name)) for name in route.path_arguments):
            names = ", ".join(sorted(route.path_arguments))
            return f"path_missing: tool {route.tool} takes a path ({names}) and the call names none"
        return None

    @staticmethod
    def _check_moved_trees(normalised: NormalisedArguments) -> None:
        """Refuse, in ``normalised``, a directory to be moved that holds a symlink (paths.py)."""
        for resolved in normalised.resolved:
            if not resolved.is_directory:
                continue
            try:
                link = first_link_in_tree(resolved.path)
                if link is not None:
                    raise PathRejected(
                        "path_tree_holds_links",
                        "names a tree holding symlinks, which would point elsewhere once moved or copied",
                        f"{link!r} is a symlink",
                    )
            except PathRejected as exc:
                normalised.path_errors.append(f"a moved tree [{exc.rule}] {exc}")
                normalised.details.append(f"{resolved.path!r} [{exc.rule}] {exc}: {exc.detail}")


def rejected_call(client: str, name: Any, reason: str) -> AuditRecord:
    """The audit record of a tools/call refused before the gateway's check (``name`` as sent)."""
    parts = split_name(name) if isinstance(name, str) else None
    return AuditRecord(
        client=client,
        server=parts[0] if parts else None,
        tool=parts[1] if parts else (name if isinstance(name, str) else ""),
        decision="deny",
        reasons=[reason],
        outcome="rejected",
    )


class AuditRejectedCalls:
    """Server middleware: an audit line for a tools/call that never reaches ``Gateway.call_tool``
    (the SDK refuses its params, e.g. ``arguments`` given as an array, or the session's state)."""

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Pass the request on; audit a tools/call that the SDK answered with an error."""
        try:
            return await call_next(ctx)
        except Exception as exc:
            if ctx.method == "tools/call":
                name = ctx.params.get("name") if isinstance(ctx.params, dict) else None
                reason = f"the request was refused before the gateway's check ({type(exc).__name__})"
                self._audit.write(rejected_call(client_of(ctx) or "", name, reason))
            raise
