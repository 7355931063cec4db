# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""sovereign.stack MCP gateway: one Streamable HTTP MCP endpoint in front of downstream MCP servers.

Every ``tools/call`` is authenticated (bearer token), rate limited, has its path arguments
normalised, is decided by OPA (fail closed) and is written to a JSONL audit log before and after it
reaches a downstream server. ``python -m sovereign_mcp_gateway --config FILE`` runs it.
"""

__version__ = "1.0.0"
