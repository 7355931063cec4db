# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Command line: ``python -m sovereign_fleet_router --config FILE [--check]``.

Exit status: 0 after a clean stop (or a valid ``--check``), 2 for a configuration or table error,
1 when the accounting log cannot be opened or the server did not start.
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from .app import RouterApp
from .config import ConfigError, load_config
from .table import TableError, load_table


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, load the configuration and the table, and serve until stopped."""
    parser = argparse.ArgumentParser(prog="sovereign-fleet-router", description=__doc__)
    parser.add_argument("--config", required=True, help="the router's JSON configuration file")
    parser.add_argument(
        "--check", action="store_true", help="validate the configuration and the table, then exit"
    )
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    options = parser.parse_args(argv)
    logging.basicConfig(level=options.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(options.config)
        deployments = load_table(config.table)
    except (ConfigError, TableError) as error:
        print(f"sovereign-fleet-router: {error}", file=sys.stderr)
        return 2
    if options.check:
        print(f"sovereign-fleet-router: {options.config} is valid ({len(deployments)} deployments)")
        return 0
    try:
        app = RouterApp(config, deployments)
    except OSError as error:
        print(
            f"sovereign-fleet-router: cannot open the accounting log or a peer file: {error}", file=sys.stderr
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
