# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Duplicate keys in the inventory's YAML files.

Ansible keeps the last of two equal keys in a mapping and, unless ``DUPLICATE_YAML_DICT_KEY`` is
``error``, says so only in a warning: half of a deployment or hardware definition can vanish
without the play failing. The planner reads the same files again as YAML nodes (no values are
built, so vault and unsafe tags need no handling) and reports every duplicate with its place.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

YAML_SUFFIXES = ("", ".yml", ".yaml", ".json")
VAULT_HEADER = b"$ANSIBLE_VAULT"
# Larger files are not inventory (a binary, a data dump); reading them would only cost time.
MAX_FILE_BYTES = 4 * 1024 * 1024
VARS_FOLDERS = ("group_vars", "host_vars")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _files_below(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in YAML_SUFFIXES and not path.name.startswith("."):
            yield path


def inventory_files(sources: Iterable[str], playbook_dir: str | None) -> list[Path]:
    """The YAML files Ansible reads variables from: the inventory sources with their group_vars and
    host_vars, and the playbook folder's group_vars and host_vars."""
    found: dict[Path, None] = {}
    folders: list[Path] = [Path(playbook_dir)] if playbook_dir else []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            found.update(dict.fromkeys(_files_below(path)))
        elif path.is_file():
            found[path] = None
            folders.append(path.parent)
    for folder in folders:
        for name in VARS_FOLDERS:
            if (folder / name).is_dir():
                found.update(dict.fromkeys(_files_below(folder / name)))
    return list(found)


def _duplicates(node: yaml.Node, path: Path, seen: set[int]) -> Iterator[str]:
    # An alias points at a node already walked (and may point at its own parent).
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                line = key.start_mark.line + 1
                if key.value in first:
                    yield (
                        f"{path}:{line}: duplicate key {key.value!r} (first at line {first[key.value]}); "
                        "Ansible keeps only the last one: merge the two or remove one"
                    )
                else:
                    first[key.value] = line
            yield from _duplicates(value, path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicates(item, path, seen)


def duplicate_keys(files: Iterable[Path]) -> list[str]:
    """Every duplicate mapping key in ``files``; files that are not YAML or are vaulted are skipped."""
    problems: list[str] = []
    for path in files:
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if data.lstrip().startswith(VAULT_HEADER):
            continue
        try:
            for document in yaml.compose_all(data, Loader=_Loader):
                if document is not None:
                    problems.extend(_duplicates(document, path, set()))
        except yaml.YAMLError:
            # An INI inventory or a file Ansible cannot read either: Ansible reports it itself.
            continue
    return problems
