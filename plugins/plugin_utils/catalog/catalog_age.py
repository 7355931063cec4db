# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""How far behind its package index each pin of the catalogs is (``make catalog-age``).

Every engine of ``catalogs/engines.yml`` and every artifact of ``catalogs/artifacts.yml`` is a pin:
one exact version. For the pins a package index serves (PyPI for wheels and the Python engines, npm
for the MCP servers), the index is asked by package name only and answers with its releases and
their dates. A pin is *aged* when a newer final release has been out for longer than the allowed
age (six months by default): the maintainer has had that long to move and has not. Pins that no
reachable index serves (GitHub release files, pkgs.tailscale.com) are listed with their source so
that they are checked by hand.

Parsing and judging are pure functions over the index's JSON, so the unit tests run them on
recorded answers; only :func:`fetch_json` touches the network.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

PYPI_JSON_URL = "https://pypi.org/pypi"
NPM_REGISTRY_URL = "https://registry.npmjs.org"
DEFAULT_MAX_AGE_DAYS = 183  # six months
FETCH_TIMEOUT_S = 20.0

# The index a pin's `source` URL names: a PyPI project page or an npm package page.
_SOURCE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("pypi", re.compile(r"^https://pypi\.org/project/(?P<package>[^/]+)/")),
    ("npm", re.compile(r"^https://www\.npmjs\.com/package/(?P<package>(@[^/]+/)?[^/]+)/")),
)

# Exit statuses of the report (documented in docs/operations.md).
EXIT_CURRENT = 0
EXIT_AGED = 1
EXIT_UNREACHABLE = 2


class IndexUnreachable(Exception):
    """The package index gave no usable answer (no network, HTTP error, not JSON)."""


@dataclass(frozen=True)
class Pin:
    """One pinned version in a catalog and the index that serves it (None: no index to ask)."""

    kind: str
    name: str
    version: str
    source: str
    index: str | None = None
    package: str | None = None


@dataclass(frozen=True)
class Release:
    """A final release on the index and the day its first file was published (None: unknown)."""

    version: str
    released: date | None


@dataclass(frozen=True)
class AgeRow:
    """What the report says about one pin."""

    pin: Pin
    status: str  # current, behind, aged, not-on-index, unreachable, no-index
    pinned_released: date | None = None
    newest: Release | None = None
    behind_days: int | None = None
    note: str = ""


def parse_index_ref(text: str) -> tuple[str, str]:
    """``pypi:vllm`` -> (``pypi``, ``vllm``); ValueError for an index this report cannot ask."""
    index, _colon, package = text.partition(":")
    if index not in {"pypi", "npm"} or not package:
        raise ValueError(f"package {text!r}: expected pypi:<name> or npm:<name>")
    return index, package


def index_of_source(source: str) -> tuple[str, str] | None:
    """The (index, package) a catalog ``source`` URL points at, or None for other hosts."""
    for index, pattern in _SOURCE_PATTERNS:
        match = pattern.match(source)
        if match:
            return index, urllib.parse.unquote(match.group("package"))
    return None


def pins_from_catalogs(engines: Mapping[str, Any], artifacts: Mapping[str, Any]) -> list[Pin]:
    """Every pin of the two catalog documents (their top-level ``engines:``/``artifacts:`` maps)."""
    pins: list[Pin] = []
    for name, entry in sorted(engines.items()):
        index, package = parse_index_ref(str(entry["package"])) if entry.get("package") else (None, None)
        pins.append(Pin("engine", name, str(entry["version"]), str(entry["source"]), index, package))
    for name, entry in sorted(artifacts.items()):
        found = index_of_source(str(entry.get("source", "")))
        kind = "wheel" if found and found[0] == "pypi" else "artifact"
        index, package = found if found else (None, None)
        pins.append(Pin(kind, name, str(entry["version"]), str(entry.get("source", "")), index, package))
    return pins


# A final release in PEP 440's terms: optional epoch, dotted numbers, optional post-release; a
# pre-release (a, b, rc), a development release or anything else does not match. Written here
# because ansible-test's import check runs without the packaging library.
FINAL_RELEASE = re.compile(r"(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[._-]?post[._-]?(\d+)|-(\d+))?")
# (epoch, release numbers without trailing zeros, post-release or -1): ordered as PEP 440 orders them.
VersionKey = tuple[int, tuple[int, ...], int]


def _final(version: str) -> VersionKey | None:
    """The version's sort key if it is a final release (pre-releases and unparsable tags are skipped)."""
    found = FINAL_RELEASE.fullmatch(version.strip().lower().removeprefix("v"))
    if found is None:
        return None
    release = tuple(int(part) for part in found.group(2).split("."))
    while len(release) > 1 and release[-1] == 0:
        release = release[:-1]
    post = found.group(3) or found.group(4)
    return (int(found.group(1) or 0), release, int(post) if post is not None else -1)


def _day(timestamp: object) -> date | None:
    if not isinstance(timestamp, str) or not timestamp:
        return None
    try:
        return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def parse_pypi(document: Mapping[str, Any]) -> dict[str, Release]:
    """Releases of a PyPI JSON API answer (``/pypi/<name>/json``), yanked ones left out."""
    releases: dict[str, Release] = {}
    for version, files in (document.get("releases") or {}).items():
        live = [f for f in files or [] if isinstance(f, Mapping) and not f.get("yanked")]
        if files and not live:
            continue
        days = [d for d in (_day(f.get("upload_time_iso_8601") or f.get("upload_time")) for f in live) if d]
        releases[version] = Release(version, min(days) if days else None)
    return releases


def parse_npm(document: Mapping[str, Any]) -> dict[str, Release]:
    """Releases of an npm registry answer (``/<name>``); deprecated versions left out."""
    times = document.get("time") or {}
    return {
        version: Release(version, _day(times.get(version)))
        for version, meta in (document.get("versions") or {}).items()
        if not (isinstance(meta, Mapping) and meta.get("deprecated"))
    }


def index_url(
    index: str, package: str, pypi_url: str = PYPI_JSON_URL, npm_url: str = NPM_REGISTRY_URL
) -> str:
    """The URL that answers for ``package`` on ``index`` (asked by name only)."""
    if index == "pypi":
        return f"{pypi_url.rstrip('/')}/{urllib.parse.quote(package)}/json"
    return f"{npm_url.rstrip('/')}/{urllib.parse.quote(package, safe='@')}"


def assess(pin: Pin, releases: Mapping[str, Release], today: date, max_age_days: int) -> AgeRow:
    """Judge one pin against the index's releases.

    The pin is behind from the day the first final release newer than it was published; it is aged
    when that day lies more than ``max_age_days`` before ``today``.
    """
    pinned = releases.get(pin.version)
    pinned_day = pinned.released if pinned else None
    current = _final(pin.version)
    finals = sorted(
        ((parsed, release) for release in releases.values() if (parsed := _final(release.version))),
        key=lambda item: item[0],
    )
    if not finals:
        return AgeRow(pin, "not-on-index", note="the index lists no final release")
    newest = finals[-1][1]
    note = "" if pinned else "the pinned version is not on the index"
    if current is None or current >= finals[-1][0]:
        return AgeRow(pin, "current", pinned_day, newest, 0, note)
    newer_days = [release.released for parsed, release in finals if parsed > current and release.released]
    if not newer_days:
        return AgeRow(pin, "behind", pinned_day, newest, None, note or "release dates unknown")
    behind = (today - min(newer_days)).days
    return AgeRow(pin, "aged" if behind > max_age_days else "behind", pinned_day, newest, behind, note)


Fetcher = Callable[[str], Mapping[str, Any]]


def fetch_json(url: str, timeout: float = FETCH_TIMEOUT_S) -> Mapping[str, Any]:
    """GET ``url`` as JSON; every failure (DNS, TLS, HTTP, timeout, bad JSON) is IndexUnreachable."""
    try:
        with open_url(url, headers={"Accept": "application/json"}, timeout=timeout) as response:
            document = json.load(response)
    except urllib.error.HTTPError as exc:
        raise IndexUnreachable(f"HTTP {exc.code} from {url}") from exc
    except (urllib.error.URLError, OSError, ValueError, UrlsConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise IndexUnreachable(f"{url}: {reason}") from exc
    if not isinstance(document, Mapping):
        raise IndexUnreachable(f"{url}: the answer is not a JSON object")
    return document


def check(
    pins: Iterable[Pin],
    fetch: Fetcher,
    today: date,
    *,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    pypi_url: str = PYPI_JSON_URL,
    npm_url: str = NPM_REGISTRY_URL,
) -> list[AgeRow]:
    """Ask the index once per package (the cp311/cp313/cp314 wheels share one answer) and judge."""
    answers: dict[tuple[str, str], dict[str, Release] | IndexUnreachable] = {}
    rows: list[AgeRow] = []
    for pin in pins:
        if pin.index is None or pin.package is None:
            rows.append(AgeRow(pin, "no-index", note=f"no package index serves it; check {pin.source}"))
            continue
        key = (pin.index, pin.package)
        if key not in answers:
            try:
                document = fetch(index_url(pin.index, pin.package, pypi_url, npm_url))
                answers[key] = parse_pypi(document) if pin.index == "pypi" else parse_npm(document)
            except IndexUnreachable as exc:
                answers[key] = exc
        answer = answers[key]
        if isinstance(answer, IndexUnreachable):
            rows.append(AgeRow(pin, "unreachable", note=str(answer)))
        else:
            rows.append(assess(pin, answer, today, max_age_days))
    return rows


def _text(day: date | None) -> str:
    return day.isoformat() if day else "?"


def render(rows: Sequence[AgeRow], max_age_days: int) -> list[str]:
    """The report's lines: one per pin, then a verdict."""
    lines = []
    for row in rows:
        pin = row.pin
        where = f"{pin.index}:{pin.package}" if pin.index else "-"
        head = f"{pin.kind:<8} {pin.name:<34} {pin.version:<12} released {_text(row.pinned_released):<10}"
        if row.status in {"current", "behind", "aged"} and row.newest is not None:
            if row.status == "current":
                tail = "current"
            else:
                since = f", behind for {row.behind_days} days" if row.behind_days is not None else ""
                tail = f"newer: {row.newest.version} ({_text(row.newest.released)}){since}"
                tail += "  AGED" if row.status == "aged" else ""
        else:
            tail = row.status
        lines.append(f"{head}  [{where}] {tail}" + (f"  ({row.note})" if row.note else ""))
    aged = [row.pin.name for row in rows if row.status == "aged"]
    asked = [row for row in rows if row.pin.index is not None]
    unreachable = [row for row in asked if row.status == "unreachable"]
    if asked and len(unreachable) == len(asked):
        lines.append(
            f"catalog-age: the package index could not be reached ({unreachable[0].note}); ages unknown"
        )
    elif aged:
        lines.append(
            f"catalog-age: {len(aged)} pin(s) behind by more than {max_age_days} days: {', '.join(aged)}"
        )
    else:
        lines.append(f"catalog-age: no pin is behind by more than {max_age_days} days")
    if unreachable and len(unreachable) < len(asked):
        lines.append(f"catalog-age: {len(unreachable)} package(s) got no answer from the index")
    return lines


def exit_status(rows: Sequence[AgeRow]) -> int:
    """1 when a pin is aged, 2 when the index answered for none of the pins it should serve, else 0."""
    if any(row.status == "aged" for row in rows):
        return EXIT_AGED
    asked = [row for row in rows if row.pin.index is not None]
    if asked and all(row.status == "unreachable" for row in asked):
        return EXIT_UNREACHABLE
    return EXIT_CURRENT
