# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Command line: ``python -m sovereign_mcp_gateway --config FILE [--check]``.

Exit status: 0 after a clean stop (or a valid ``--check``), 2 for a configuration error, 1 when the
audit log cannot be opened or the server did not start, 3 when the start-up failed (uvicorn's
status for a failed lifespan: a downstream server did not start or list its tools).
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from .app import build_app
from .config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, load the configuration and serve until stopped."""
    parser = argparse.ArgumentParser(prog="sovereign-mcp-gateway", description=__doc__)
    parser.add_argument("--config", required=True, help="the gateway's JSON or YAML configuration file")
    parser.add_argument(
        "--check", action="store_true", help="validate the configuration and the tokens file, then exit"
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    options = parser.parse_args(argv)
    logging.basicConfig(level=options.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")

    try:
        config = load_config(options.config)
    except ConfigError as exc:
        print(f"sovereign-mcp-gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    if options.check:
        print(f"sovereign-mcp-gateway: {options.config} is valid ({len(config.servers)} servers)")
        return 0

    try:
        app = build_app(config)
    except OSError as exc:
        print(
            f"sovereign-mcp-gateway: cannot open audit_log {str(config.audit_log)!r}: {exc}", file=sys.stderr
        )
        return 1
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.listen_address,
            port=config.listen_port,
            log_level=options.log_level,
            access_log=False,
            server_header=False,
            proxy_headers=False,
            lifespan="on",
        )
    )
    server.run()
    return 0 if server.started else 1


if __name__ == "__main__":
    sys.exit(main())
