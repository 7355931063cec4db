"""The collection builds with ansible-galaxy, installs, and ansible-doc finds its plugins."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = REPO_ROOT / ".venv" / "bin"


def _plugin_names(kind: str) -> set[str]:
    """FQCNs of the plugins of ``kind`` (module, filter, ...) in the working tree."""
    folder = REPO_ROOT / "plugins" / ("modules" if kind == "module" else kind)
    if kind == "filter":
        # Filter files hold several filters; each has a YAML doc beside it or a DOCUMENTATION block.
        return {f"sovereign.stack.{p.stem}" for p in folder.glob("*.yml")}
    return {f"sovereign.stack.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__"}


def test_build_install_and_document(tmp_path: Path) -> None:
    # Away from the checkout's ansible.cfg, which points collections_path at the working tree:
    # galaxy would then call the collection installed already and ansible-doc would read the tree.
    config = tmp_path / "ansible.cfg"
    config.write_text("[defaults]\n")
    install_root = tmp_path / "collections"
    env = {**os.environ, "ANSIBLE_CONFIG": str(config), "ANSIBLE_COLLECTIONS_PATH": str(install_root)}
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
    build = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", str(REPO_ROOT), "--output-path", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=env,
    )
    tarball = tmp_path / f"sovereign-stack-{galaxy['version']}.tar.gz"
    assert tarball.is_file(), build.stdout
    with tarfile.open(tarball) as archive:
        members = set(archive.getnames())
    assert "MANIFEST.json" in members
    assert "catalogs/devices.yml" in members or not (REPO_ROOT / "catalogs/devices.yml").exists()
    assert not any(name.startswith((".venv/", ".build/")) for name in members)
    # Tool caches of the checkout (this test run leaves .pytest_cache and __pycache__ itself).
    caches = (".ansible", ".mypy_cache", ".pytest_cache", ".ruff_cache", "__pycache__")
    assert [name for name in members if set(name.split("/")) & set(caches) or name.endswith(".pyc")] == []

    subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--offline",
            "--no-deps",
            "-p",
            str(install_root),
            str(tarball),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=env,
    )
    modules = _plugin_names("module")
    assert modules, "the collection should ship at least one module"
    listing = subprocess.run(
        [str(BIN / "ansible-doc"), "--list", "--json", "sovereign.stack"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    listed = set(json.loads(listing.stdout))
    assert modules <= listed, f"ansible-doc lists {sorted(listed)}, missing {sorted(modules - listed)}"
    for module in sorted(modules):
        doc = subprocess.run(
            [str(BIN / "ansible-doc"), "--json", module], capture_output=True, text=True, check=True, env=env
        )
        data = json.loads(doc.stdout)[module]
        assert data["doc"]["short_description"], module
        assert data["doc"]["collection"] == "sovereign.stack"
    filters = _plugin_names("filter")
    if filters:
        listing = subprocess.run(
            [str(BIN / "ansible-doc"), "-t", "filter", "--list", "--json", "sovereign.stack"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        assert filters <= set(json.loads(listing.stdout))
