# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Inventory variables in the collection's name spaces that nothing reads: misspellings, found before
anything changes.

A name is in the collection's name space when it starts with ``sovereign_`` or with a role's name and
an underscore (``engine_``, ``tls_proxy_``). It is known when a role's ``meta/argument_specs.yml``
declares it, when ``meta/variables.yml`` lists it (collection-wide variables, results the
collection sets, names that are not variables), or when the inventory allows it by name or
pattern in ``sovereign_allowed_variables``. Anything else is an error that names the closest known
names, since Ansible itself passes a misspelt variable by without a word.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

COLLECTION_ROOT = Path(__file__).resolve().parents[3]
VARIABLES_FILE = COLLECTION_ROOT / "meta" / "variables.yml"
ALLOW_VARIABLE = "sovereign_allowed_variables"
COLLECTION_PREFIX = "sovereign_"
# Hosts named in one message before the rest are counted.
NAMED_HOSTS = 5


def _yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as stream:
        return yaml.safe_load(stream)


@lru_cache(maxsize=None)
def role_names() -> tuple[str, ...]:
    """The collection's roles (folders under roles/ with an argument spec)."""
    return tuple(
        sorted(p.parent.parent.name for p in (COLLECTION_ROOT / "roles").glob("*/meta/argument_specs.yml"))
    )


@lru_cache(maxsize=None)
def known_names() -> frozenset[str]:
    """Every variable the collection reads or sets: argument specs and meta/variables.yml."""
    names: set[str] = set()
    for role in role_names():
        specs = _yaml(COLLECTION_ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
        for entry_point in specs.values():
            names.update(entry_point.get("options") or {})
    data = _yaml(VARIABLES_FILE)
    for section in ("variables", "role_results", "playbook_options"):
        names.update(data.get(section) or {})
    return frozenset(names)


@lru_cache(maxsize=None)
def prefixes() -> tuple[str, ...]:
    """Name spaces the collection owns: sovereign_ and each role's name followed by an underscore."""
    return (COLLECTION_PREFIX, *(f"{role}_" for role in role_names()))


def allowed_patterns(host: str, value: object) -> tuple[list[str], list[str]]:
    """The host's ``sovereign_allowed_variables`` (names or shell patterns), and problems with it."""
    if value is None:
        return [], []
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        return [], [
            f"hosts.{host}.{ALLOW_VARIABLE}: {value!r} is not valid; expected a list of variable names "
            "or shell patterns such as 'sovereign_my_*'"
        ]
    return list(value), []


def hosts_text(hosts: list[str]) -> str:
    """'a, b, c' or 'a, b, c, d, e and 995 more'."""
    named = ", ".join(hosts[:NAMED_HOSTS])
    more = len(hosts) - NAMED_HOSTS
    return f"{named} and {more} more" if more > 0 else named


def unknown_variables(
    names_by_host: Mapping[str, Iterable[str]], allowed_by_host: Mapping[str, list[str]]
) -> list[str]:
    """One problem per unknown name, naming the hosts that set it and the closest known names."""
    known = known_names()
    spaces = prefixes()
    found: dict[str, list[str]] = {}
    for host in sorted(names_by_host):
        patterns = allowed_by_host.get(host, [])
        for name in names_by_host[host]:
            if not isinstance(name, str) or not name.startswith(spaces) or name in known:
                continue
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns):
                continue
            found.setdefault(name, []).append(host)
    problems = []
    for name, hosts in sorted(found.items()):
        close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.75)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        problems.append(
            f"unknown variable {name!r} (set on {hosts_text(hosts)}): no role or plugin of "
            f"sovereign.stack reads it{hint}; fix the name (docs/inventory-reference.md lists every "
            f"variable) or, to keep it, list it in {ALLOW_VARIABLE}"
        )
    return problems
