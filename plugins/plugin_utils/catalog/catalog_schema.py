# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Typed readers for catalog entries that name the offending path, value and valid choices.

Every catalog entry (shipped file, inventory extension or inline spec) goes through
:class:`EntryReader`, so a typo in an inventory fails the same way as a typo in a shipped file.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

VENDORS = ("nvidia", "amd", "apple", "intel", "cpu")
FORMATS = ("gguf", "safetensors", "mlx")
ATTENTION_KINDS = ("full", "sliding", "mla", "hybrid")

_COMPUTE_CAPABILITY = re.compile(r"^[0-9]{1,2}\.[0-9]{1,2}$")
# Integers without a field-specific limit: far above any real value, small enough to compute with.
DEFAULT_INTEGER_MAXIMUM = 2**31 - 1
_PCI_DEVICE_ID = re.compile(r"^0x[0-9a-f]{4}$")


class CatalogError(ValueError):
    """A catalog entry or reference is invalid; the message names the path, value and what is valid."""


def closest_hint(value: str, valid: Collection[str], count: int = 3) -> str:
    """Return ``closest: a, b`` for the valid names nearest to ``value``, or the full list if none is near."""
    matches = difflib.get_close_matches(value, list(valid), n=count, cutoff=0.5)
    if matches:
        return "closest: " + ", ".join(matches)
    return "valid: " + (", ".join(sorted(valid)) if valid else "(none)")


def describe(value: object) -> str:
    """Short ``repr`` of a value with its YAML-ish type, for error messages."""
    kind = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(value))
    if kind is None:
        kind = "mapping" if isinstance(value, Mapping) else "list" if isinstance(value, list) else "null"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({kind})"


class EntryReader:
    """Reads the fields of one catalog entry; each accessor raises :class:`CatalogError` with the path.

    The constructor rejects unknown keys (naming the closest valid key, and all valid keys) and
    missing required keys, so accessors only have to check types and ranges.
    """

    def __init__(self, entry: object, where: str, required: Iterable[str], optional: Iterable[str]) -> None:
        if not isinstance(entry, Mapping):
            raise CatalogError(f"{where}: expected a mapping of fields, got {describe(entry)}")
        self.where = where
        self._entry: Mapping[Any, Any] = entry
        required_keys = tuple(required)
        valid = set(required_keys) | set(optional)
        for key in entry:
            if not isinstance(key, str) or key not in valid:
                near = difflib.get_close_matches(str(key), sorted(valid), n=1, cutoff=0.6)
                suggestion = f" (did you mean {near[0]!r}?)" if near else ""
                raise CatalogError(
                    f"{where}: unknown key {key!r}{suggestion}; valid keys: {', '.join(sorted(valid))}"
                )
        for key in required_keys:
            if entry.get(key) is None:
                raise CatalogError(f"{where}.{key}: required field is missing")

    def path(self, key: str) -> str:
        """The path of one field, for messages raised by callers."""
        return f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        """Whether the field is present and not null."""
        return self._entry.get(key) is not None

    def raw(self, key: str) -> Any:
        """The untyped value of a field (``None`` when absent)."""
        return self._entry.get(key)

    def _fail(self, key: str, value: object, expected: str) -> CatalogError:
        return CatalogError(f"{self.path(key)}: expected {expected}, got {describe(value)}")

    def text(self, key: str, default: str | None = None) -> str:
        """A non-empty string; ``default`` when absent (a required field is never absent)."""
        value = self._entry.get(key)
        if value is None and default is not None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self._fail(key, value, "a non-empty string")
        return value

    def optional_text(self, key: str) -> str | None:
        """A non-empty string or ``None``."""
        return self.text(key) if self.has(key) else None

    def number(self, key: str, *, minimum: float = 0.0, maximum: float | None = None) -> float:
        """A finite number strictly above ``minimum`` and at most ``maximum``."""
        value = self._entry.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._fail(key, value, "a number")
        if not math.isfinite(value) or value <= minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum:g}" if maximum is not None else ""
            raise self._fail(key, value, f"a number greater than {minimum:g}{upper}")
        return float(value)

    def optional_number(
        self, key: str, *, minimum: float = 0.0, maximum: float | None = None
    ) -> float | None:
        """Like :meth:`number`, or ``None`` when absent."""
        return self.number(key, minimum=minimum, maximum=maximum) if self.has(key) else None

    def fraction(self, key: str) -> float:
        """A number from 0 to 1 inclusive."""
        value = self._entry.get(key)
        # NaN fails the comparison as well.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise self._fail(key, value, "a number from 0 to 1")
        return float(value)

    def integer(
        self,
        key: str,
        *,
        minimum: int = 1,
        maximum: int = DEFAULT_INTEGER_MAXIMUM,
        default: int | None = None,
    ) -> int:
        """An integer from ``minimum`` to ``maximum``; ``default`` when absent."""
        value = self._entry.get(key)
        if value is None and default is not None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, value, "an integer")
        if value < minimum or value > maximum:
            raise self._fail(key, value, f"an integer of at least {minimum} and at most {maximum}")
        return value

    def optional_integer(
        self, key: str, *, minimum: int = 1, maximum: int = DEFAULT_INTEGER_MAXIMUM
    ) -> int | None:
        """Like :meth:`integer`, or ``None`` when absent."""
        return self.integer(key, minimum=minimum, maximum=maximum) if self.has(key) else None

    def boolean(self, key: str, default: bool) -> bool:
        """``true`` or ``false``; ``default`` when absent."""
        value = self._entry.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, value, "true or false")
        return value

    def choice(self, key: str, choices: Collection[str]) -> str:
        """One of ``choices``."""
        value = self.text(key)
        if value not in choices:
            raise CatalogError(f"{self.path(key)}: unknown value {value!r}; valid: {', '.join(choices)}")
        return value

    def text_list(self, key: str, choices: Collection[str] | None = None) -> tuple[str, ...]:
        """A list of non-empty strings (each one of ``choices`` when given); empty when absent."""
        value = self._entry.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self._fail(key, value, "a list of strings")
        items: list[str] = []
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise CatalogError(
                    f"{self.path(key)}[{index}]: expected a non-empty string, got {describe(item)}"
                )
            if choices is not None and item not in choices:
                raise CatalogError(
                    f"{self.path(key)}[{index}]: unknown value {item!r}; valid: {', '.join(choices)}"
                )
            items.append(item)
        return tuple(items)

    def compute_capability(self, key: str) -> str | None:
        """A quoted ``"major.minor"`` string such as ``"8.6"``, or ``None``."""
        if not self.has(key):
            return None
        value = self._entry.get(key)
        if not isinstance(value, str) or not _COMPUTE_CAPABILITY.match(value):
            raise self._fail(key, value, 'a quoted "major.minor" string such as "8.6"')
        return value

    def pci_device_ids(self, key: str) -> tuple[str, ...]:
        """PCI device ids, normalised to lower-case ``0x`` hex with four digits."""
        ids = tuple(item.lower() for item in self.text_list(key))
        for index, item in enumerate(ids):
            if not _PCI_DEVICE_ID.match(item):
                raise CatalogError(
                    f'{self.path(key)}[{index}]: expected a PCI device id such as "0x2204", got {item!r}'
                )
        return ids

    def mapping(self, key: str) -> Mapping[str, Any] | None:
        """A nested mapping, or ``None`` when absent."""
        value = self._entry.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._fail(key, value, "a mapping")
        return value
