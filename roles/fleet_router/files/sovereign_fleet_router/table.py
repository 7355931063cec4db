# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The routing table the router serves (written by the collection's filter ``fleet_routes`` from
the plan), read into objects that also carry each replica's live state."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .jsonfile import read_json


class TableError(ValueError):
    """The table file is missing or not in the shape the filter writes."""


@dataclass(eq=False)
class Replica:
    """One engine serving a deployment, and what the router knows of it now."""

    host: str
    url: str
    engine: str
    context: int
    concurrency: int
    healthy: bool = True
    in_flight: int = 0
    failures: int = 0
    successes: int = 0
    last_pick: int = 0

    @property
    def saturated(self) -> bool:
        """As many requests in flight as the plan sized its engine for."""
        return self.in_flight >= self.concurrency


@dataclass(eq=False)
class Deployment:
    """A model of the fleet, by its served name, with its replicas."""

    name: str
    context: int
    weights_bytes: int
    engines: list[str]
    tags: frozenset[str]
    replicas: list[Replica] = field(default_factory=list)

    def healthy_replicas(self) -> list[Replica]:
        """The replicas requests may go to now."""
        return [replica for replica in self.replicas if replica.healthy]


def _replica(entry: dict[str, Any], where: str) -> Replica | None:
    """A routable replica, or None for one the table lists without a URL (a peer not reachable yet)."""
    url = entry.get("url")
    if url is None:
        return None
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise TableError(f"{where}.url must be an http(s) URL, got {url!r}")
    return Replica(
        host=str(entry.get("host", "")),
        url=url.rstrip("/"),
        engine=str(entry.get("engine", "unknown")),
        context=int(entry["context"]),
        concurrency=max(1, int(entry.get("concurrency", 1))),
    )


def parse_table(document: Any) -> list[Deployment]:
    """Deployments of a table document, smallest first as the filter sorted them."""
    if not isinstance(document, dict) or not isinstance(document.get("deployments"), list):
        raise TableError("the table must be an object with a 'deployments' list")
    deployments = []
    for index, entry in enumerate(document["deployments"]):
        where = f"deployments[{index}]"
        try:
            replicas = [
                _replica(replica, f"{where}.replicas[{number}]")
                for number, replica in enumerate(entry["replicas"])
            ]
            deployment = Deployment(
                name=str(entry["name"]),
                context=int(entry["context"]),
                weights_bytes=int(entry.get("weights_bytes", 0)),
                engines=[str(engine) for engine in entry.get("engines", [])],
                tags=frozenset(str(tag) for tag in entry.get("tags", [])),
                replicas=[replica for replica in replicas if replica is not None],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            if isinstance(error, TableError):
                raise
            raise TableError(f"{where} is not a table entry: {type(error).__name__}: {error}") from error
        deployments.append(deployment)
    names = [deployment.name for deployment in deployments]
    if len(set(names)) != len(names):
        raise TableError("a deployment name appears twice in the table")
    return deployments


def load_table(path: Path) -> list[Deployment]:
    """Read and parse the table file."""
    return parse_table(read_json(path, TableError))
