# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Action ``sovereign.stack.model_weights``: fetch the planned model weights into the controller cache.

Thin on purpose: it reads options and play variables and hands the work to
plugins/plugin_utils/weights_*.py. Documentation: plugins/modules/model_weights.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.artifacts import (
    DEFAULT_CACHE_DIR,
    Feedback,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_cache import WeightsCache
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_hub import (
    DEFAULT_ENDPOINT,
    ENDPOINT_VAR,
    TOKEN_VAR,
    HubClient,
    find_token,
    home_directory,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_sources import (
    SOURCES_VAR,
    WeightsError,
    resolve_source,
    wanted_models,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.play_settings import plain, setting

display = Display()

ARGUMENT_SPEC: dict[str, Any] = {
    "deployments": {"type": "list", "elements": "dict"},
    "sources": {"type": "dict"},
    "cache_dir": {"type": "path"},
    "endpoint": {"type": "str"},
    "token": {"type": "str", "no_log": True},
    "offline": {"type": "bool"},
    "retries": {"type": "int", "default": 3},
}
# Option -> play variable that supplies it when the task does not.
VARIABLE_DEFAULTS = {
    "sources": (SOURCES_VAR, {}),
    "cache_dir": ("sovereign_artifact_cache_dir", DEFAULT_CACHE_DIR),
    "endpoint": (ENDPOINT_VAR, DEFAULT_ENDPOINT),
    "token": (TOKEN_VAR, None),
    "offline": ("sovereign_artifact_offline", False),
}


class ActionModule(ActionBase):  # type: ignore[misc]  # Ansible ships no type information
    """Lists, downloads and verifies weights on the controller; never touches the hosts."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Resolve each planned model's source, fetch what the cache lacks, return engine_models entries."""
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(ARGUMENT_SPEC)
        settings = {
            option: setting(args, option, task_vars, VARIABLE_DEFAULTS, self._templar)
            for option in VARIABLE_DEFAULTS
        }
        if args["retries"] < 0:
            raise AnsibleActionFail(f"retries: {args['retries']} must be 0 or more")
        try:
            deployments = args["deployments"]
            if deployments is None:
                deployments = _planned_deployments(task_vars)
            sources = plain(settings["sources"])
            if not isinstance(sources, Mapping):
                raise WeightsError(f"{SOURCES_VAR} must be a mapping of model id to sources, got {sources!r}")
            wanted = [(model, resolve_source(sources, model)) for model in wanted_models(plain(deployments))]
            token = find_token(settings["token"], os.environ, home_directory())
            client = HubClient(str(settings["endpoint"]), token)
            cache = WeightsCache(
                settings["cache_dir"],
                client,
                feedback=Feedback(say=display.display, detail=display.v),
                retries=args["retries"],
            )
            result["cache_dir"] = str(cache.root)
            report = cache.ensure(
                wanted, offline=bool(settings["offline"]), check_mode=bool(self._task.check_mode)
            )
        except WeightsError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        result.update(changed=report.changed, models=report.models, files=report.files)
        result["msg"] = (
            f"{len(report.models)} model(s): {report.count('downloaded')} file(s) downloaded, "
            f"{report.count('would_download')} would be downloaded, {report.count('cached')} already "
            f"in cache ({result['cache_dir']})"
        )
        return result


def _planned_deployments(task_vars: Mapping[str, Any]) -> list[Any]:
    """Every play host's deployments from ``sovereign_plan`` (playbooks/plan.yml), less the
    model paths that host's ``engine_models`` already gives a source for."""
    hostvars = task_vars.get("hostvars", {})
    found: list[Any] = []
    planned = 0
    for host in task_vars.get("ansible_play_hosts") or []:
        variables = hostvars.get(host, {})
        if "sovereign_plan" not in variables:
            continue
        planned += 1
        plan = plain(variables["sovereign_plan"]).get("plan") or {}
        deployments = ((plan.get("hosts") or {}).get(host) or {}).get("deployments") or []
        seeded = set(plain(variables["engine_models"])) if "engine_models" in variables else set()
        found += [item for item in deployments if item.get("model_path") not in seeded]
    if not planned:
        raise WeightsError(
            "no deployments given and no play host has sovereign_plan: run playbooks/plan.yml first "
            "(it registers sovereign_plan) or pass deployments"
        )
    return found
