# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""sovereign.stack fleet router: one OpenAI-compatible endpoint in front of every deployment of the fleet.

A request's ``model`` picks a deployment of the routing table (plugins/filter/fleet_routes.py writes
it from the plan); the router sends it to that deployment's healthy replica with the fewest
requests in flight, retries on another replica only while nothing has reached the client, relays
streamed answers as they come, and counts requests and tokens per client and model.
``python -m sovereign_fleet_router --config FILE`` runs it. It runs on the ASGI stack the MCP gateway
already installs (uvicorn), with no dependency of its own.
"""

__version__ = "0.1.0"
