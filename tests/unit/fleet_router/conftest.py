# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The fleet router's package on sys.path (it is installed on hosts as a package of its own)."""

from __future__ import annotations

import sys
from pathlib import Path

ROUTER_FILES = Path(__file__).resolve().parents[3] / "roles" / "fleet_router" / "files"
if str(ROUTER_FILES) not in sys.path:
    sys.path.insert(0, str(ROUTER_FILES))
