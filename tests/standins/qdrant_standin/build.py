# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Pack the Qdrant stand-in like the real release and seed it into an artifact cache (test-only).

The real release is a tar.gz with the ``qdrant`` executable at its root. This writes
``<out>/build/qdrant-standin-linux.tar.gz`` with one member, ``qdrant`` (0755): the stand-in's
source (qdrant_standin.py) behind a shebang naming the interpreter of the virtual environment the
test host's prepare step creates with qdrant-edge-py in it (``--python``, default
``/opt/qdrant-standin/bin/python``). The archive is byte-for-byte reproducible (fixed mtimes).

It is copied into the cache layout ``<out>/cache/qdrant/<version>/<file>`` with its ``.sha256``
record (docs/artifact-cache.md), and ``<out>/standin-artifacts.json`` holds the
``sovereign_artifacts`` override that points the catalog name ``qdrant`` at it for every Linux
platform.

Usage: ``python build.py OUT_DIR [--python /path/to/venv/bin/python]``
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "qdrant_standin.py"
ARCHIVE_NAME = "qdrant-standin-linux.tar.gz"
VERSION = "1.19.1-standin"
DEFAULT_PYTHON = "/opt/qdrant-standin/bin/python"
FIXED_EPOCH = 1767225600
PLATFORMS = ("linux-x86_64", "linux-aarch64")


def build_archive(out: Path, python: str) -> Path:
    """The release-shaped tar.gz holding ``qdrant`` at its root."""
    executable = f"#!{python}\n".encode() + SOURCE.read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        member = tarfile.TarInfo("qdrant")
        member.mode, member.mtime, member.size = 0o755, FIXED_EPOCH, len(executable)
        archive.addfile(member, io.BytesIO(executable))
    path = out / ARCHIVE_NAME
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as compressed:
        compressed.write(buffer.getvalue())
    return path


def seed(out: Path, built: Path) -> dict[str, Any]:
    """Copy ``built`` into the cache layout with its record; the ``sovereign_artifacts`` entry."""
    digest = hashlib.sha256(built.read_bytes()).hexdigest()
    target = out / "cache" / "qdrant" / VERSION / built.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, target)
    target.with_name(built.name + ".sha256").write_text(f"{digest}  {built.name}\n", encoding="utf-8")
    variant = {"url": built.as_uri(), "filename": built.name, "sha256": digest}
    return {
        "version": VERSION,
        "mode": "0644",
        "source": "stand-in built by tests/standins/qdrant_standin/build.py",
        "variants": {platform: dict(variant) for platform in PLATFORMS},
    }


def main() -> None:
    """Build the archive into OUT_DIR, seed it, write the override."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--python", default=DEFAULT_PYTHON, help="interpreter the executable's shebang names")
    args = parser.parse_args()
    out = args.out.resolve()
    (out / "build").mkdir(parents=True, exist_ok=True)
    built = build_archive(out / "build", args.python)
    overrides = {"qdrant": seed(out, built)}
    (out / "standin-artifacts.json").write_text(
        json.dumps(overrides, indent=2, sort_keys=True), encoding="utf-8"
    )
    print(built)


if __name__ == "__main__":
    main()
