# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Build the engine stand-ins and seed them into an artifact cache (test-only).

Writes, byte-for-byte reproducibly (fixed timestamps, sorted entries):

- ``vllm-<version>-py3-none-any.whl`` from tests/standins/vllm_standin and
  ``sglang-<version>-py3-none-any.whl`` from tests/standins/sglang_standin, at the versions
  catalogs/engines.yml pins: the wheels carry the real distribution names so that the engine role's
  ``pip install --no-index --find-links <dir> <engine>==<version>`` resolves them like the real ones;
  only the file contents are stand-ins.
- ``standin-ollama-linux.tgz`` holding tests/standins/ollama_standin/bin/ollama and an empty
  ``lib/ollama/``, the layout of upstream's Linux archive.

Each file goes to ``<out>/build/`` and into the cache layout ``<out>/cache/<name>/<version>/<file>``
with its ``<file>.sha256`` record (docs/artifact-cache.md), and ``<out>/standin-artifacts.json``
holds the ``sovereign_artifacts`` overrides that point the artifact names ``vllm``, ``sglang`` and
``ollama`` at them, for every Linux platform (the stand-ins are architecture-independent).

Usage: ``python build_standins.py OUT_DIR``
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CATALOG = HERE.parents[1] / "catalogs" / "engines.yml"
SHARED_HTTP = HERE / "openai_http_standin.py"
FIXED_DATE = (2026, 1, 1, 0, 0, 0)
FIXED_EPOCH = 1767225600
PLATFORMS = ("linux-x86_64", "linux-aarch64")


def pinned_versions() -> dict[str, str]:
    """Engine id -> version, as catalogs/engines.yml pins them."""
    engines = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))["engines"]
    return {name: str(spec["version"]) for name, spec in engines.items()}


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_wheel(package: str, version: str, source: Path, entry_points: str, out: Path) -> Path:
    """A pure-Python wheel of ``source/<package>`` plus the shared HTTP stand-in module."""
    files = {f"{package}/{path.name}": path.read_bytes() for path in sorted((source / package).glob("*.py"))}
    files[f"{package}/_standin_http.py"] = SHARED_HTTP.read_bytes()
    info = f"{package}-{version}.dist-info"
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n"
        f"Summary: Test stand-in for {package} (sovereign.stack tests/standins), not the real engine\n"
    ).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: sovereign.stack build_standins\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    if entry_points:
        files[f"{info}/entry_points.txt"] = entry_points.encode()
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    wheel = out / f"{package}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, FIXED_DATE), data)
    return wheel


def build_ollama_archive(out: Path) -> Path:
    """``bin/ollama`` (0755) and an empty ``lib/ollama/``, gzip-compressed with a fixed mtime."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, kind, data in (
            ("bin", tarfile.DIRTYPE, b""),
            ("bin/ollama", tarfile.REGTYPE, (HERE / "ollama_standin" / "bin" / "ollama").read_bytes()),
            ("lib", tarfile.DIRTYPE, b""),
            ("lib/ollama", tarfile.DIRTYPE, b""),
        ):
            member = tarfile.TarInfo(name)
            member.type, member.mode, member.mtime, member.size = kind, 0o755, FIXED_EPOCH, len(data)
            archive.addfile(member, io.BytesIO(data) if data else None)
    path = out / "standin-ollama-linux.tgz"
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as compressed:
        compressed.write(buffer.getvalue())
    return path


def seed(out: Path, name: str, version: str, built: Path) -> dict[str, Any]:
    """Copy ``built`` into the cache layout with its record; the override entry for ``name``."""
    digest = hashlib.sha256(built.read_bytes()).hexdigest()
    target = out / "cache" / name / version / built.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(built, target)
    target.with_name(built.name + ".sha256").write_text(f"{digest}  {built.name}\n", encoding="utf-8")
    variant = {"url": built.as_uri(), "filename": built.name, "sha256": digest}
    return {
        "version": version,
        "source": "stand-in built by tests/standins/build_standins.py",
        "variants": {platform: dict(variant) for platform in PLATFORMS},
    }


def main() -> None:
    """Build every stand-in into OUT_DIR and write the overrides."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out.resolve()
    (out / "build").mkdir(parents=True, exist_ok=True)
    versions = pinned_versions()
    built = {
        "vllm": build_wheel(
            "vllm", versions["vllm"], HERE / "vllm_standin",
            "[console_scripts]\nvllm = vllm.standin_cli:main\n", out / "build",
        ),
        "sglang": build_wheel("sglang", versions["sglang"], HERE / "sglang_standin", "", out / "build"),
        "ollama": build_ollama_archive(out / "build"),
    }  # fmt: skip
    overrides = {name: seed(out, name, versions[name], path) for name, path in built.items()}
    (out / "standin-artifacts.json").write_text(
        json.dumps(overrides, indent=2, sort_keys=True), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
