"""`make catalog-age`: print how far each pin of catalogs/engines.yml and catalogs/artifacts.yml is
behind its package index, and exit 1 when one is behind by more than --max-age-days.

The logic is plugins/plugin_utils/catalog/catalog_age.py (unit-tested on recorded index answers); this file
only reads the catalogs, asks the network and prints. docs/operations.md: the monthly step.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".build" / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog import catalog_age  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the report, return its exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-age-days", type=int, default=catalog_age.DEFAULT_MAX_AGE_DAYS)
    parser.add_argument("--pypi-url", default=catalog_age.PYPI_JSON_URL, help="PyPI JSON API base")
    parser.add_argument("--npm-url", default=catalog_age.NPM_REGISTRY_URL, help="npm registry base")
    parser.add_argument("--catalogs", type=Path, default=ROOT / "catalogs")
    options = parser.parse_args(argv)
    engines = yaml.safe_load((options.catalogs / "engines.yml").read_text(encoding="utf-8"))["engines"]
    artifacts = yaml.safe_load((options.catalogs / "artifacts.yml").read_text(encoding="utf-8"))["artifacts"]
    pins = catalog_age.pins_from_catalogs(engines, artifacts)
    rows = catalog_age.check(
        pins,
        catalog_age.fetch_json,
        date.today(),
        max_age_days=options.max_age_days,
        pypi_url=options.pypi_url,
        npm_url=options.npm_url,
    )
    print("\n".join(catalog_age.render(rows, options.max_age_days)))
    return int(catalog_age.exit_status(rows))


if __name__ == "__main__":
    sys.exit(main())
