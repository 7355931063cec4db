# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Action ``sovereign.stack.artifact_cache``: fill the controller's artifact cache for a play.

Thin on purpose: it reads options and play variables, works out each host's platform from its
facts, and hands the work to plugin_utils/artifacts.py. Documentation: plugins/modules/artifact_cache.py.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.artifacts import (
    DEFAULT_CACHE_DIR,
    ArtifactCache,
    ArtifactError,
    ArtifactFile,
    ArtifactSpec,
    CacheReport,
    Feedback,
    load_catalog,
    platform_key,
    select,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.play_settings import setting

display = Display()

ARGUMENT_SPEC: dict[str, Any] = {
    "names": {"type": "list", "elements": "str"},
    "platforms": {"type": "list", "elements": "str"},
    "all_variants": {"type": "bool", "default": False},
    "dest_dir": {"type": "str"},
    "seed_dir": {"type": "path"},
    "cache_dir": {"type": "path"},
    "mirror": {"type": "str"},
    "offline": {"type": "bool"},
    "overrides": {"type": "dict"},
}
MUTUALLY_EXCLUSIVE = [
    ["seed_dir", "platforms"],
    ["seed_dir", "all_variants"],
    ["seed_dir", "dest_dir"],
    ["platforms", "all_variants"],
]
# Option -> play variable that supplies it when the task does not.
VARIABLE_DEFAULTS = {
    "cache_dir": ("sovereign_artifact_cache_dir", DEFAULT_CACHE_DIR),
    "mirror": ("sovereign_artifact_mirror", None),
    "offline": ("sovereign_artifact_offline", False),
    "overrides": ("sovereign_artifacts", None),
}


class ActionModule(ActionBase):  # type: ignore[misc]  # Ansible ships no type information
    """Download, verify or seed artifacts on the controller; never touches the hosts."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validate options, then seed or fetch, and describe what each host needs."""
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE)
        settings = {
            option: setting(args, option, task_vars, VARIABLE_DEFAULTS, self._templar)
            for option in VARIABLE_DEFAULTS
        }
        feedback = Feedback(say=display.display, detail=display.v)
        cache = ArtifactCache(settings["cache_dir"], feedback=feedback)
        result["cache_dir"] = str(cache.root)
        try:
            catalog = load_catalog(settings["overrides"])
            if args["seed_dir"]:
                return {**result, **self._seed(cache, catalog, args["seed_dir"])}
            specs = select(catalog, args["names"] if args["names"] is not None else sorted(catalog))
            per_host = self._files_per_host(specs, args, task_vars)
            wanted = [artifact for files in per_host.values() for artifact in files.values()]
            report = cache.ensure(
                wanted,
                mirror=settings["mirror"],
                offline=bool(settings["offline"]),
                check_mode=bool(self._task.check_mode),
            )
        except ArtifactError as exc:
            raise AnsibleActionFail(str(exc)) from exc
        result["changed"] = bool(report.downloaded or report.would_download)
        result["artifacts"] = _describe_files(cache, report)
        if args["platforms"] is None and not args["all_variants"]:
            result["hosts"] = _describe_hosts(cache, report, per_host, args["dest_dir"])
            if args["dest_dir"]:
                result["paths"] = {
                    host: {name: entry["dest"] for name, entry in needs.items()}
                    for host, needs in result["hosts"].items()
                }
        result["msg"] = (
            f"{len(report.downloaded)} downloaded, {len(report.would_download)} would be downloaded, "
            f"{len(report.cached)} already in cache ({cache.root})"
        )
        return result

    def _seed(
        self, cache: ArtifactCache, catalog: Mapping[str, ArtifactSpec], seed_dir: str
    ) -> dict[str, Any]:
        """Seed mode: copy verifying files in, warn about the rest."""
        report = cache.seed(catalog, seed_dir)
        return {
            "changed": bool(report.seeded) and not self._task.check_mode,
            "seeded": report.seeded,
            "already_cached": report.already_cached,
            "rejected": report.rejected,
            "warnings": [f"skipped {line}" for line in report.rejected],
            "msg": (
                f"{len(report.seeded)} seeded, {len(report.already_cached)} already cached, "
                f"{len(report.rejected)} rejected, from {seed_dir} into {cache.root}"
            ),
        }

    def _files_per_host(
        self, specs: list[ArtifactSpec], args: Mapping[str, Any], task_vars: Mapping[str, Any]
    ) -> dict[str, dict[str, ArtifactFile]]:
        """For each host (or requested platform), the file of each artifact it needs."""
        if args["all_variants"]:
            grouped: dict[str, dict[str, ArtifactFile]] = {}
            for spec in specs:
                for platform in spec.variants:
                    grouped.setdefault(platform, {})[spec.name] = spec.resolve(platform, "all_variants")
            return grouped
        if args["platforms"] is not None:
            return {
                platform: {spec.name: spec.resolve(platform, "the platforms option") for spec in specs}
                for platform in args["platforms"]
            }
        return {
            host: {spec.name: spec.resolve(platform, f"host {host}") for spec in specs}
            for host, platform in _host_platforms(task_vars).items()
        }


def _host_platforms(task_vars: Mapping[str, Any]) -> dict[str, str]:
    """Platform key of every host still in the play, from its gathered facts."""
    hostvars = task_vars.get("hostvars", {})
    hosts = task_vars.get("ansible_play_hosts") or [task_vars.get("inventory_hostname")]
    platforms: dict[str, str] = {}
    for host in hosts:
        facts = hostvars[host].get("ansible_facts", {}) if host in hostvars else {}
        system, architecture = facts.get("system"), facts.get("architecture")
        if not system or not architecture:
            raise ArtifactError(
                f"host {host} has no ansible_facts.system/architecture to pick its artifact variant; "
                "gather facts first (role sovereign.stack.artifacts does) or pass platforms"
            )
        platforms[str(host)] = platform_key(str(system), str(architecture))
    return platforms


def _describe_files(cache: ArtifactCache, report: CacheReport) -> list[dict[str, Any]]:
    """One entry per file handled, for the task result."""
    states = (
        [(a, "downloaded") for a in report.downloaded]
        + [(a, "cached") for a in report.cached]
        + [(a, "would_download") for a in report.would_download]
    )
    return [
        {
            "name": artifact.name,
            "version": artifact.version,
            "platform": artifact.variant.platform,
            "filename": artifact.variant.filename,
            "path": str(cache.path(artifact)),
            "url": artifact.variant.url,
            "sha256": report.hashes.get(artifact),
            "state": state,
        }
        for artifact, state in states
    ]


def _describe_hosts(
    cache: ArtifactCache,
    report: CacheReport,
    per_host: Mapping[str, Mapping[str, ArtifactFile]],
    dest_dir: str | None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per host, per artifact: the cached source, the destination and how to install it."""
    return {
        host: {
            name: {
                "src": str(cache.path(artifact)),
                "dest": posixpath.join(dest_dir, str(artifact.relative_path)) if dest_dir else None,
                "mode": artifact.variant.mode,
                "sha256": report.hashes.get(artifact),
                "version": artifact.version,
                "platform": artifact.variant.platform,
                "in_cache": artifact in report.hashes,
            }
            for name, artifact in needs.items()
        }
        for host, needs in per_host.items()
    }
