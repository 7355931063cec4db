# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The grammar of inventory text that reaches a path, a unit line or an argv word, and the plausible
range of every number the planner reads.

Inventory values are untrusted text until checked here (shared/DESIGN.md, Principles). The catalog
reader, the host reader and the deployment reader all use these rules, so an id or a number is held
to one rule wherever it is written. docs/planner.md ("Input rules") lists them for users.
"""

from __future__ import annotations

import math
import posixpath
import re
from dataclasses import dataclass

# Hugging Face repo ids (huggingface_hub's validate_repo_id): an optional owner and a name of ASCII
# letters, digits, '-', '_' and '.', neither starting nor ending with '-' or '.', no '--' or '..',
# at most 96 characters each. '--' is also how the models folder joins owner and name.
_MODEL_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_MODEL_ID = re.compile(rf"(?:{_MODEL_PART}/)?{_MODEL_PART}")
MODEL_ID_RULE = (
    "a Hugging Face id 'owner/name' (or 'name'): ASCII letters, digits, '-', '_' and '.', each part "
    "starting and ending with a letter or digit, at most 96 characters, no '--' or '..'"
)
# Ids of quantizations, devices and engines, and engine versions: one safe word each.
_TOKEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._+-]{0,62}[A-Za-z0-9])?")
TOKEN_RULE = (
    "letters, digits, '.', '_', '+' and '-', starting and ending with a letter or digit, at most 64 "
    "characters, no '..'"
)
# Deployment names: an engine's served model name, a unit name's part and a routing-table key.
_DEPLOYMENT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
DEPLOYMENT_NAME_RULE = "lower-case letters, digits, '.', '_' or '-', starting with a letter or digit (max 63)"
# The fleet endpoint's own model names are "auto" and "auto:<tag>" (it picks a deployment by its
# tags); a deployment of that name could never be asked for by name.
RESERVED_DEPLOYMENT_NAMES = ("auto",)
# Capability tags of a deployment (``auto:<tag>`` at the fleet router, plan.md, the routing table):
# short lower-case words, so a tag list reads the same in a model name, a table cell and JSON.
_TAG = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
MAX_TAGS = 16
TAG_RULE = (
    f"a list of at most {MAX_TAGS} capability tags, each 1 to 32 lower-case ASCII letters, digits and '-', "
    "starting with a letter or digit (e.g. [code, long-context])"
)
# The models folder: an absolute, normalised path of safe characters (systemd, launchd, Ollama's
# Modelfile and the argv all take it as it is).
_PATH = re.compile(r"/[A-Za-z0-9._/@+-]{0,254}")
PATH_RULE = (
    "an absolute, normalised path (no '.', '..', '//' or trailing '/') of letters, digits, '.', '_', "
    "'@', '+', '-' and '/', at most 255 characters"
)
# Folders whose content belongs to the operating system: a models folder there would let a purge of
# old weights reach system files. Folders listed in SYSTEM_TREES are refused with everything below
# them; SYSTEM_FOLDERS only as themselves (a dedicated subfolder such as /srv/models is fine).
SYSTEM_TREES = (
    "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/run", "/sbin",
    "/sys", "/usr", "/System", "/private/etc", "/Library/Apple",
)  # fmt: skip
SYSTEM_FOLDERS = (
    "/", "/home", "/media", "/mnt", "/opt", "/root", "/srv", "/tmp", "/var", "/var/lib", "/var/tmp",
    "/var/cache", "/var/log", "/Users", "/Volumes", "/Library", "/Applications", "/private",
    "/private/var", "/usr/local",
)  # fmt: skip
# /usr/local holds operator-installed software, whose subfolders may hold models.
SYSTEM_TREE_EXCEPTIONS = ("/usr/local",)


def model_id_problem(value: object) -> str | None:
    """Why ``value`` cannot be a model id; None when it can."""
    if not isinstance(value, str) or not _MODEL_ID.fullmatch(value) or "--" in value or ".." in value:
        return f"expected {MODEL_ID_RULE}"
    return None


def token_problem(value: object) -> str | None:
    """Why ``value`` cannot be a quantization, device or engine id or an engine version; None when it can."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value) or ".." in value:
        return f"expected {TOKEN_RULE}"
    return None


def deployment_name_problem(value: object) -> str | None:
    """Why ``value`` cannot be a deployment's name; None when it can."""
    if not isinstance(value, str) or not _DEPLOYMENT_NAME.fullmatch(value):
        return f"expected {DEPLOYMENT_NAME_RULE}"
    if value in RESERVED_DEPLOYMENT_NAMES:
        return (
            f"{value!r} is the fleet endpoint's own model name (it picks a deployment by capability tags: "
            f"'{value}' or '{value}:<tag>'); choose another name"
        )
    return None


def tags_problem(value: object) -> str | None:
    """Why ``value`` cannot be a deployment's capability tags; None when it can (a repeated tag can)."""
    if not isinstance(value, (list, tuple)) or len(value) > MAX_TAGS:
        return f"expected {TAG_RULE}"
    for tag in value:
        if not isinstance(tag, str) or not _TAG.fullmatch(tag):
            return f"tag {tag!r} is not valid; expected {TAG_RULE}"
    return None


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def models_dir_problem(value: object) -> str | None:
    """Why ``value`` cannot be a host's models folder; None when it can."""
    if not isinstance(value, str) or not value.startswith("/"):
        return f"expected {PATH_RULE}"
    if not _PATH.fullmatch(value) or posixpath.normpath(value) != value or value.startswith("//"):
        return f"expected {PATH_RULE}"
    if value in SYSTEM_FOLDERS:
        return "expected a folder of its own, not a system folder (/srv/models, /var/lib/sovereign/models)"
    for tree in SYSTEM_TREES:
        exception = any(_inside(value, kept) and value != kept for kept in SYSTEM_TREE_EXCEPTIONS)
        if _inside(value, tree) and not exception:
            return (
                f"expected a folder outside the system tree {tree} (/srv/models, /var/lib/sovereign/models)"
            )
    return None


def path_inside(path: str, folder: str) -> bool:
    """Whether the normalised ``path`` lies strictly below ``folder`` (lexically; no link is read)."""
    return posixpath.normpath(path) == path and path.startswith(folder + "/")


@dataclass(frozen=True)
class Range:
    """The plausible values of one number: type, bounds and unit, for checks and messages."""

    minimum: float
    maximum: float
    integer: bool = False
    exclusive_minimum: bool = False

    def accepts(self, value: object) -> bool:
        """True for a finite number of the right type within the bounds (booleans are not numbers)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.integer and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        above = value > self.minimum if self.exclusive_minimum else value >= self.minimum
        return above and value <= self.maximum

    def expected(self) -> str:
        """'an integer of at least 1 and at most 64', 'a number greater than 0 and at most 65536'."""
        kind = "an integer" if self.integer else "a number"
        lower = (
            f"greater than {self.minimum:g}" if self.exclusive_minimum else f"of at least {self.minimum:g}"
        )
        return f"{kind} {lower} and at most {self.maximum:g}"


# Limits of what a host can hold (docs/planner.md, "Input rules"). They are far above any machine
# sold today and far below what would make the planner slow or its files huge.
HOST_MEMORY_GIB = Range(0, 65536, exclusive_minimum=True)
HOST_MEMORY_BYTES = Range(0, 65536 * 2**30, integer=True, exclusive_minimum=True)
# Sizes a fact may report as 0 when the tool could not read them.
REPORTED_MEMORY_BYTES = Range(0, 65536 * 2**30, integer=True)
DEVICE_MEMORY_GIB = Range(0, 16384, exclusive_minimum=True)
DEVICE_MEMORY_BYTES = Range(0, 16384 * 2**30, integer=True)
BANDWIDTH_GBS = Range(0, 100_000, exclusive_minimum=True)
TFLOPS = Range(0, 1_000_000, exclusive_minimum=True)
GPU_COUNT = Range(1, 64, integer=True)
GPUS_PER_HOST = 64
GPU_INDEX = Range(0, GPUS_PER_HOST - 1, integer=True)
RESERVE_GIB = Range(0, 65536)
# The highest TCP/UDP port: the planner's deployment ports, engines' default ports and the stack's
# service ports are all held to it.
MAX_PORT = 65535
PORT = Range(1, MAX_PORT, integer=True)
