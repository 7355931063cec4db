# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Which replica a request goes to: least requests in flight among the healthy ones, and for the
router's own model ``auto`` / ``auto:<tag>[,<tag>]``, which deployment."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from .errors import ApiError, unknown_model
from .table import Deployment, Replica

AUTO = "auto"


class Balancer:
    """The table's deployments by name, and the choice of replica for each request."""

    def __init__(self, deployments: list[Deployment]) -> None:
        self.deployments = deployments
        self._by_name = {deployment.name: deployment for deployment in deployments}
        # Ties in load go to the replica picked longest ago, so idle replicas share sequential requests.
        self._picks = itertools.count(1)

    def known_models(self) -> list[str]:
        """Names a client may ask for: every deployment, then ``auto`` and ``auto:<tag>``."""
        tags = sorted({tag for deployment in self.deployments for tag in deployment.tags})
        return (
            [deployment.name for deployment in self.deployments] + [AUTO] + [f"{AUTO}:{tag}" for tag in tags]
        )

    def pick_replica(self, deployment: Deployment, tried: Iterable[Replica] = ()) -> Replica | None:
        """The healthy replica of ``deployment`` not yet ``tried`` with the fewest requests in flight."""
        excluded = set(map(id, tried))
        candidates = [replica for replica in deployment.healthy_replicas() if id(replica) not in excluded]
        if not candidates:
            return None
        chosen = min(candidates, key=lambda replica: (replica.in_flight, replica.last_pick))
        chosen.last_pick = next(self._picks)
        return chosen

    def deployments_for(self, model: str, needed_context: int) -> list[Deployment]:
        """The deployments to try for ``model``, in order; ApiError 404 for a name the fleet lacks.

        A deployment name gives that deployment. ``auto`` and ``auto:<tags>`` give every deployment
        that has the tags and whose context fits ``needed_context``, smallest by weights first, the
        ones with a healthy replica that has room (fewer requests in flight than its concurrency)
        before the saturated ones.
        """
        if model in self._by_name:
            return [self._by_name[model]]
        if model != AUTO and not model.startswith(AUTO + ":"):
            raise unknown_model(model, self.known_models())
        wanted = {tag.strip() for tag in model[len(AUTO) + 1 :].split(",") if tag.strip()}
        fitting = [
            deployment
            for deployment in self.deployments
            if wanted <= deployment.tags and deployment.context >= needed_context
        ]
        if not fitting:
            raise self._no_fit(model, wanted, needed_context)
        with_room = [d for d in fitting if any(not replica.saturated for replica in d.healthy_replicas())]
        return with_room + [deployment for deployment in fitting if deployment not in with_room]

    def _no_fit(self, model: str, wanted: set[str], needed_context: int) -> ApiError:
        """404 when no deployment has the tags at all; 400 when some do but none has the context."""
        if not any(wanted <= deployment.tags for deployment in self.deployments):
            error = unknown_model(model, self.known_models())
            message = f"No deployment of the fleet has the tags {sorted(wanted)}. {error.message}"
            return ApiError(error.status, message, error.kind, error.code, error.param)
        return ApiError(
            400,
            f"No deployment with the tags {sorted(wanted)} fits about {needed_context} tokens of context.",
            "invalid_request_error",
            "context_length_exceeded",
            "messages",
        )
