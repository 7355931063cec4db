# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""galaxy.yml declares exactly the collections the shipped roles and playbooks call.

A collection used but not declared breaks an install from Galaxy at the first task that needs it
(tls_proxy called community.crypto undeclared); one declared but unused (community.docker, which
only the tests need) makes every user install it for nothing. The scan covers what users run:
task and handler module keys, Jinja filters, tests and lookups under roles/ and playbooks/, and
Python imports under plugins/ and roles/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
SHIPPED_YAML = ("roles", "playbooks")
SHIPPED_PYTHON = ("plugins", "roles")
# Collections that ship with ansible-core or are this collection: never dependencies.
IMPLICIT = {"ansible.builtin", "ansible.legacy", "sovereign.stack"}
FQCN = re.compile(r"^([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*$")
# `| ns.coll.filter`, `is ns.coll.test`, `lookup('ns.coll.plugin'` and `query(...)` in Jinja.
JINJA_USE = re.compile(
    r"(?:\|\s*|\bis\s+(?:not\s+)?|\b(?:lookup|query)\(\s*['\"])([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*"
)
PYTHON_IMPORT = re.compile(r"ansible_collections\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)")


# Folders of data, not tasks: their keys are names such as sysctl's `net.core.bpf_jit_harden`.
DATA_FOLDERS = {"vars", "defaults", "meta"}


def _yaml_files() -> Iterator[Path]:
    for top in SHIPPED_YAML:
        yield from sorted((REPO_ROOT / top).rglob("*.yml"))


def _task_files() -> Iterator[Path]:
    return (path for path in _yaml_files() if not DATA_FOLDERS & set(path.relative_to(REPO_ROOT).parts))


def _module_keys(node: Any) -> Iterator[str]:
    """Every mapping key anywhere in a YAML document (task keys are where module names sit)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str):
                yield key
            yield from _module_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _module_keys(item)


def collections_in_module_keys(document: Any) -> set[str]:
    """Collections named by FQCN mapping keys (modules, action plugins) in one YAML document."""
    return {match.group(1) for key in _module_keys(document) if (match := FQCN.match(key))} - IMPLICIT


def collections_in_jinja(text: str) -> set[str]:
    """Collections named by FQCN filters, tests and lookups in template or YAML text."""
    return {match.group(1) for match in JINJA_USE.finditer(text)} - IMPLICIT


def used_collections() -> dict[str, list[str]]:
    """Collection -> files (relative) of the shipped code that use it."""
    used: dict[str, list[str]] = {}

    def note(names: set[str], path: Path) -> None:
        for name in names:
            used.setdefault(name, []).append(str(path.relative_to(REPO_ROOT)))

    for path in _yaml_files():
        note(collections_in_jinja(path.read_text(encoding="utf-8")), path)
    for path in _task_files():
        note(collections_in_module_keys(yaml.safe_load(path.read_text(encoding="utf-8"))), path)
    for top in SHIPPED_YAML:
        for path in sorted((REPO_ROOT / top).rglob("*.j2")):
            note(collections_in_jinja(path.read_text(encoding="utf-8")), path)
    for top in SHIPPED_PYTHON:
        for path in sorted((REPO_ROOT / top).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            note({f"{m.group(1)}.{m.group(2)}" for m in PYTHON_IMPORT.finditer(text)} - IMPLICIT, path)
    return used


def declared_collections() -> dict[str, str]:
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text(encoding="utf-8"))
    dependencies: dict[str, str] = galaxy.get("dependencies") or {}
    return dependencies


def test_every_collection_the_roles_call_is_declared() -> None:
    used = used_collections()
    missing = {name: files[:3] for name, files in used.items() if name not in declared_collections()}
    assert not missing, f"galaxy.yml dependencies lack collections the shipped code uses: {missing}"


def test_no_collection_is_declared_that_the_roles_do_not_call() -> None:
    unused = sorted(set(declared_collections()) - set(used_collections()))
    assert not unused, f"galaxy.yml declares collections no role, playbook or plugin uses: {unused}"


def test_every_dependency_has_a_lower_bound() -> None:
    for name, spec in declared_collections().items():
        assert re.fullmatch(r">=\d+\.\d+\.\d+", str(spec)), f"{name}: {spec!r} is not '>=X.Y.Z'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ addr | ansible.utils.ipaddr('address') }}", {"ansible.utils"}),
        ("{{ addr is ansible.utils.ip_address }}", {"ansible.utils"}),
        ("{{ x is not community.general.foo }}", {"community.general"}),
        ("{{ lookup('community.general.random_string') }}", {"community.general"}),
        ("{{ value | ansible.builtin.to_json }}", set()),
        # Dotted words that are not plugin calls: a file name, a fact path, a host name.
        ("/etc/nginx/nginx.conf and sovereign_plan.plan.hosts and deb.debian.org", set()),
    ],
)
def test_the_jinja_scan_finds_plugin_calls_and_nothing_else(text: str, expected: set[str]) -> None:
    assert collections_in_jinja(text) == expected


def test_the_module_key_scan_finds_task_modules() -> None:
    tasks = yaml.safe_load(
        "- name: a\n  community.crypto.x509_certificate_info: {path: /x}\n"
        "- block:\n    - ansible.posix.sysctl: {name: a, value: 1}\n"
        "- ansible.builtin.debug: {msg: deb.debian.org}\n"
    )
    assert collections_in_module_keys(tasks) == {"community.crypto", "ansible.posix"}
