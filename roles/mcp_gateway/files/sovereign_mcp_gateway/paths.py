# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Normalisation of path-valued tool arguments, the way the decision contract with OPA defines it.

A path is percent-decoded until it no longer changes (a bounded number of rounds, so
``%252e%252e`` cannot hide a ``..``), refused when it holds a NUL, is not a string or is not
absolute, and then resolved the way the kernel will resolve it: repeated ``/`` collapsed and
``.``/``..``/symlinks resolved component by component (``os.path.realpath``: the deepest existing
part is resolved for real, the rest appended), so a symlink inside the workspace that leads out of
it shows up as the path it really leads to. Error strings never contain the argument's value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

MAX_DECODE_ROUNDS = 4
"""More layers of percent-encoding than any honest client sends; deeper nesting is an error."""

MAX_PATH_LENGTH = 4096
"""PATH_MAX on Linux: a longer argument cannot name a file and is refused rather than resolved."""


class PathRejected(ValueError):
    """The value cannot be normalised; the message says why without repeating the value."""


@dataclass
class NormalisedArguments:
    """The result of normalising one call's path arguments.

    ``arguments`` is a copy of the call's arguments with every path replaced by its normalised form
    (what the downstream server receives, so what was decided is what is executed); ``paths`` and
    ``path_errors`` are the contract's fields of the same names.
    """

    arguments: dict[str, Any]
    paths: list[str] = field(default_factory=list)
    path_errors: list[str] = field(default_factory=list)


def percent_decode(value: str) -> str:
    """Decode percent-escapes until the string is stable; raise when that takes too many rounds."""
    for _round in range(MAX_DECODE_ROUNDS + 1):
        decoded = unquote(value, errors="strict")
        if decoded == value:
            return value
        value = decoded
    raise PathRejected(f"is percent-encoded more than {MAX_DECODE_ROUNDS} times")


def normalise_path(value: Any) -> str:
    """Return the absolute, decoded, symlink-resolved form of one path argument, or raise PathRejected."""
    if not isinstance(value, str):
        raise PathRejected(f"is not a string (got {type(value).__name__})")
    if len(value) > MAX_PATH_LENGTH:
        raise PathRejected(f"is longer than {MAX_PATH_LENGTH} characters")
    try:
        decoded = percent_decode(value)
    except UnicodeDecodeError as exc:
        raise PathRejected("holds percent-escapes that are not UTF-8") from exc
    if "\x00" in decoded:
        raise PathRejected("contains a NUL byte")
    if not decoded.startswith("/"):
        raise PathRejected("is not an absolute path")
    # POSIX keeps a leading '//' as implementation-defined; Linux treats it as '/', so do the same first.
    collapsed = "/" + decoded.lstrip("/")
    try:
        return os.path.realpath(collapsed)
    except (OSError, ValueError) as exc:
        raise PathRejected("cannot be resolved") from exc


def normalise_arguments(arguments: Mapping[str, Any], path_arguments: Iterable[str]) -> NormalisedArguments:
    """Normalise every argument named in ``path_arguments`` (a string, or a list of strings)."""
    result = NormalisedArguments(arguments=dict(arguments))
    for name in sorted(set(path_arguments)):
        if name not in arguments:
            continue
        value = arguments[name]
        if isinstance(value, list):
            normalised_items: list[str] = []
            for index, item in enumerate(value):
                try:
                    normalised_items.append(normalise_path(item))
                except PathRejected as exc:
                    result.path_errors.append(f"argument {name}[{index}] {exc}")
            result.paths.extend(normalised_items)
            if len(normalised_items) == len(value):
                result.arguments[name] = normalised_items
            continue
        try:
            normalised = normalise_path(value)
        except PathRejected as exc:
            result.path_errors.append(f"argument {name} {exc}")
            continue
        result.paths.append(normalised)
        result.arguments[name] = normalised
    return result


def inside_roots(path: str, roots: Iterable[str]) -> bool:
    """True when ``path`` (already normalised) is a root or lies below one."""
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)
