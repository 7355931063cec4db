"""Prints one closing line, 'tests: N passed, N failed, N skipped', over the JUnit XML files of a run.

`make test` runs pytest several times (unit, integration); this sums them so the end of the log
says how many tests ran in all.
"""

from __future__ import annotations

import sys
from pathlib import Path
from xml.etree import ElementTree


def main(paths: list[str]) -> int:
    """Sum the testsuite counters of every file given; exit 1 when any test failed or erred."""
    total = failed = skipped = 0
    for path in paths:
        if not Path(path).is_file():
            continue
        root = ElementTree.parse(path).getroot()
        for suite in root.iter("testsuite"):
            total += int(suite.get("tests", 0))
            failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped += int(suite.get("skipped", 0))
    passed = total - failed - skipped
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
