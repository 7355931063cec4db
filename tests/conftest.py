"""Makes the checkout importable as ``ansible_collections.sovereign.stack`` for every test.

`make venv` creates ``.build/collections/ansible_collections/sovereign/stack`` as a link to the
checkout; this file creates it too, so ``pytest`` works on its own in a fresh clone.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTIONS_ROOT = REPO_ROOT / ".build" / "collections"
_LINK = COLLECTIONS_ROOT / "ansible_collections" / "sovereign" / "stack"

if not _LINK.exists():
    _LINK.parent.mkdir(parents=True, exist_ok=True)
    _LINK.symlink_to(Path("../../../.."), target_is_directory=True)
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))
