# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Reading the router's JSON files (configuration, routing table) with one kind of error for each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_json(path: Path, error: type[ValueError]) -> Any:
    """The decoded file; ``error`` naming the path when it cannot be read or is not JSON."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as failure:
        raise error(f"cannot read {path}: {failure}") from failure
    except ValueError as failure:
        raise error(f"{path} is not JSON: {failure}") from failure
