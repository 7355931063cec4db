# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Write docs/inventory-reference.md from every role's meta/argument_specs.yml and from
meta/variables.yml (the collection-wide sovereign_* names and the results roles set).

    python docs/dev/gen_inventory_reference.py           # rewrite the page
    python docs/dev/gen_inventory_reference.py --check   # exit 1 when the page is stale

The page is generated so that it cannot drift from the argument specs, which Ansible itself
validates (shared/STYLE.md rule 1).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
ROLES_DIR = REPO_ROOT / "roles"
COLLECTION_VARIABLES = REPO_ROOT / "meta" / "variables.yml"
PAGE = REPO_ROOT / "docs" / "inventory-reference.md"
REGENERATE = "python docs/dev/gen_inventory_reference.py"
# A default longer than this is named by its size and left to the role's defaults file.
MAX_INLINE_DEFAULT = 160
KINDS = {
    "inventory": "Inventory variables (host or group vars)",
    "extra_var": "Playbook options (`-e name=value`)",
    "result": "Results the collection sets (read them, do not set them)",
}
# Ansible's documentation markup, as used in the argument specs.
_MARKUP = (
    (re.compile(r"[CVO]\(([^()]*(?:\([^()]*\)[^()]*)*)\)"), r"`\1`"),
    (re.compile(r"I\(([^()]*)\)"), r"*\1*"),
    (re.compile(r"B\(([^()]*)\)"), r"**\1**"),
    (re.compile(r"U\(([^()]*)\)"), r"<\1>"),
    (re.compile(r"L\(([^(),]*),\s*([^()]*)\)"), r"[\1](\2)"),
    (re.compile(r"M\(([^()]*)\)"), r"`\1`"),
)


def _text(description: Any) -> str:
    """One table cell from a description (a string or a list of paragraphs)."""
    parts = description if isinstance(description, list) else [description or ""]
    text = ""
    for part in (" ".join(str(part).split()) for part in parts):
        if not text:
            text = part
        elif text.endswith((".", ":", ";", "!", "?")):
            text += " " + part
        else:
            # A flow sequence (`[Access types, letters from rwxa.]`) splits a sentence at its commas.
            text += ", " + part
    for pattern, replacement in _MARKUP:
        text = pattern.sub(replacement, text)
    # Outside code spans an angle bracket would open an HTML tag; autolinks (<https://...>) stay.
    pieces = re.split(r"(`[^`]*`|<https?://[^>\s]*>)", text)
    text = "".join(
        piece if index % 2 else piece.replace("<", "&lt;").replace(">", "&gt;")
        for index, piece in enumerate(pieces)
    )
    return _cell(text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(value: str) -> str:
    """A code span for a table cell; pipes stay escaped (GFM splits cells on them even in code)."""
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{_cell(value)}{pad}{fence}"


def _default(spec: Mapping[str, Any], role: str) -> str:
    if "default" not in spec:
        return ""
    value = spec["default"]
    rendered = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if len(rendered) > MAX_INLINE_DEFAULT:
        size = f"{len(value)} entries" if isinstance(value, (list, dict)) else f"{len(rendered)} characters"
        return f"{size}, see `roles/{role}/defaults/main.yml`"
    return _code(rendered)


def _type(spec: Mapping[str, Any]) -> str:
    kind = str(spec.get("type", "str"))
    if kind == "list" and spec.get("elements"):
        return f"list of {spec['elements']}"
    return kind


def _choices(spec: Mapping[str, Any]) -> str:
    return ", ".join(_code(str(choice)) for choice in spec.get("choices") or [])


def _rows(options: Mapping[str, Any], role: str, prefix: str = "") -> Iterator[str]:
    """Table rows of an argument spec's options, sub-options under their parent (`a[].b`, `a.b`)."""
    for name in sorted(options):
        spec = options[name] or {}
        full = f"{prefix}{name}"
        required = "yes" if spec.get("required") else ""
        description = _text(spec.get("description"))
        if spec.get("no_log"):
            description += " A secret: never logged."
        yield (
            f"| `{full}` | {_type(spec)} | {_default(spec, role)} | {required} | {_choices(spec)} "
            f"| {description} |"
        )
        if spec.get("options"):
            separator = "[]." if spec.get("type") == "list" else "."
            yield from _rows(spec["options"], role, f"{full}{separator}")


def _role_page(role: str) -> str:
    return f"roles/{role}.md"


def render_roles(roles_dir: Path = ROLES_DIR) -> list[str]:
    """The page's section on roles, one per role with an argument spec."""
    lines: list[str] = []
    for spec_file in sorted(roles_dir.glob("*/meta/argument_specs.yml")):
        role = spec_file.parent.parent.name
        entry_points: Mapping[str, Any] = yaml.safe_load(spec_file.read_text(encoding="utf-8"))[
            "argument_specs"
        ]
        lines += ["", f"### `{role}`", ""]
        lines.append(
            f"Page: [docs/{_role_page(role)}]({_role_page(role)}). "
            f"Spec: `roles/{role}/meta/argument_specs.yml`."
        )
        for entry_point in sorted(entry_points, key=lambda name: (name != "main", name)):
            spec = entry_points[entry_point]
            options = spec.get("options") or {}
            heading = (
                ""
                if entry_point == "main"
                else f"Entry point `{entry_point}` (`tasks_from: {entry_point}`): "
            )
            summary = _text(spec.get("short_description")).rstrip(".")
            lines += ["", f"{heading}{summary}.", ""]
            if not options:
                lines.append("No variables.")
                continue
            lines += [
                "| variable | type | default | required | choices | description |",
                "|---|---|---|---|---|---|",
            ]
            lines += list(_rows(options, role))
    return lines


def _collection_default(entry: Mapping[str, Any]) -> str:
    """`default` is a value (shown as code), `default_text` a sentence."""
    if "default" in entry:
        value = entry["default"]
        return _code(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return _text(entry.get("default_text", ""))


def render_collection(data_file: Path = COLLECTION_VARIABLES) -> list[str]:
    """The page's section on the collection-wide sovereign_* variables."""
    variables: Mapping[str, Any] = yaml.safe_load(data_file.read_text(encoding="utf-8"))["variables"]
    lines: list[str] = []
    for kind, title in KINDS.items():
        names = sorted(name for name, entry in variables.items() if entry["kind"] == kind)
        lines += [
            "",
            f"### {title}",
            "",
            "| variable | type | default | read by | meaning |",
            "|---|---|---|---|---|",
        ]
        for name in names:
            entry = variables[name]
            lines.append(
                f"| `{name}` | {_cell(str(entry['type']))} | {_collection_default(entry)} "
                f"| {_cell(str(entry['read_by']))} | {_text(entry['meaning'])} |"
            )
    unknown = sorted({str(entry["kind"]) for entry in variables.values()} - set(KINDS))
    if unknown:
        raise ValueError(f"{data_file}: kind {unknown} is not valid; expected one of {sorted(KINDS)}")
    return lines


def render_role_names(data_file: Path = COLLECTION_VARIABLES) -> list[str]:
    """The tables of names under a role's prefix that no argument spec declares: the results roles
    and playbooks set for later ones, and the options of the playbooks."""
    data: Mapping[str, Any] = yaml.safe_load(data_file.read_text(encoding="utf-8"))
    lines: list[str] = []
    for section, title, by in (
        ("role_results", "Results the roles set (read them, do not set them)", "role"),
        ("playbook_options", "Options of the collection's playbooks (`-e name=value`)", "playbook"),
    ):
        lines += [
            "",
            f"### {title}",
            "",
            f"| variable | type | {'set by' if by == 'role' else 'playbook'} | meaning |",
        ]
        lines.append("|---|---|---|---|")
        for name in sorted(data[section]):
            entry = data[section][name]
            cells = (_cell(str(entry["type"])), _cell(str(entry[by])), _text(entry["meaning"]))
            lines.append(f"| `{name}` | {' | '.join(cells)} |")
    return lines


def render() -> str:
    """The whole page."""
    lines = [
        "# Inventory reference",
        "",
        "<!-- Generated: edit the argument specs or meta/variables.yml, then run",
        f"     {REGENERATE} -->",
        "",
        "Every variable the collection reads, generated from each role's `meta/argument_specs.yml`",
        "(which Ansible validates when the role runs) and from `meta/variables.yml`",
        "(the collection-wide `sovereign_*` names that plugins and playbooks read, and the results",
        "roles set). Each role's page explains what its variables do together; this page is the one list.",
        "",
        "## Unknown variables are errors",
        "",
        "The plan (`playbooks/plan.yml`, and so `site.yml`) stops before any host is changed when a",
        "host has a variable named `sovereign_*` or `<role>_*` (`engine_*`, `tls_proxy_*`, ...) that",
        "is not on this page: a misspelt name would otherwise be ignored without a word and its",
        "default used. The message names the variable, the hosts that set it and the closest known",
        "names. To keep a variable of your own in those name spaces, list its name or a shell pattern",
        "in `sovereign_allowed_variables` (for example `[sovereign_site_*]`).",
        "",
        "## Collection-wide variables",
        "",
        "Set them in `group_vars/all` unless the text says per host. They are in no argument spec;",
        'the planner checks their names (above) and values (docs/planner.md, "Input rules").',
    ]
    lines += render_collection()
    lines += render_role_names()
    lines += [
        "",
        "## Role variables",
        "",
        "Sub-options of a list are written `variable[].key`, of a mapping `variable.key`.",
        "A role applied through `playbooks/site.yml` gets some of its variables from the plan",
        "(`engine_plan`, `rocm_plan`, `mlx_plan`, `health_probe_engine_plan`): leave those unset.",
    ]
    lines += render_roles()
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the page, or with --check say whether it is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 when the page differs from the specs")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        if PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE.relative_to(REPO_ROOT)} is stale: run {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
