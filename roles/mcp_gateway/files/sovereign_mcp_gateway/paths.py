# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The one notion of "the file this call touches", shared by the gateway's own checks and the
``paths`` it sends to OPA.

A path argument is accepted only in a spelling that every downstream server reads the same way,
then resolved the way the kernel resolves it, one component at a time from ``/``:

1. Spelling. Percent-decoded until stable (at most ``MAX_DECODE_ROUNDS`` rounds), then refused when
   it is not a string, holds a NUL, is not absolute, has surrounding white space (the npm
   filesystem server trims it before its own check, not before the file operation), holds a
   control or format character (C0, C1, DEL, bidi overrides, zero-width characters, line
   separators), a component that changes under Unicode NFC or NFKC (an NFD accent, fullwidth
   letters, ligatures: the npm server matches names after NFC, so another spelling of a symlink's
   name reaches the link the gateway did not see), a lookalike of ``/`` or ``.`` (fraction and
   division slashes, combining solidus overlays, one-dot leaders, ideographic full stops), a
   backslash, a component over NAME_MAX (255 bytes) or a whole path over PATH_MAX (4095 bytes).
2. Resolution. Every component is looked at with ``lstat`` (never one ``realpath``): ``..`` steps
   up, a symlink's target is spliced in and walked the same way (at most ``MAX_SYMLINKS``), and
   once the walk has been inside a workspace root it may not leave every root again, by ``..`` or
   by a link, at any step. The first component that does not exist ends the lookups (the rest is
   appended as written), but only after checking that its directory holds no entry that is the
   same name in another Unicode spelling.
3. The object. A regular file with more than one hard link is refused unless the server allows
   hard links (its content may be a file outside the workspace).

Refusals raise ``PathRejected``: its text names the rule and never the value, a resolved target,
a pid or the roots (the client reads it); ``detail`` carries what the audit log keeps.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import unicodedata
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

MAX_DECODE_ROUNDS = 4
"""More layers of percent-encoding than any honest client sends; deeper nesting is an error."""

MAX_ARGUMENT_LENGTH = 3 * 4096
"""Characters of a raw argument: PATH_MAX bytes, each percent-encoded (``%xx``). Longer is refused
before any decoding."""

MAX_PATH_BYTES = 4095
"""PATH_MAX (4096) less the terminating NUL: a longer path cannot name a file."""

MAX_NAME_BYTES = 255
"""NAME_MAX: a longer component cannot name a file."""

MAX_SYMLINKS = 40
"""The kernel's limit (ELOOP) on symlinks followed in one lookup."""

MAX_AUDITED_VALUE = 512
"""Characters of a refused path argument's ``repr`` that its audit line keeps."""

MAX_TREE_ENTRIES = 100_000
"""Entries a moved tree may hold for the gateway to check it; a larger tree is refused."""

_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format (bidi overrides, zero-width), surrogate, private-use, unassigned characters and
the line and paragraph separators."""
_LOOKALIKE_NAME = re.compile(r"SOLIDUS|SLASH|FULL STOP|DOT LEADER|ELLIPSIS")
"""Unicode names of characters that read as '/', '\\' or '.' (ASCII '/' and '.' excepted)."""
_LOOKALIKES = frozenset("\\\u2571\u2572\u29f5\u29f9\u2216")
"""Lookalikes whose names the pattern misses: backslash, box-drawing diagonals, set minus."""


class PathRejected(ValueError):
    """A path argument the gateway refuses.

    ``rule`` names the rule that refused it; ``str()`` says why in words the client may read (never
    the value, a resolved target or the workspace roots); ``detail`` is for the audit log only.
    """

    def __init__(self, rule: str, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.rule = rule
        self.detail = detail


@dataclass(frozen=True)
class ResolvedPath:
    """Where one path argument leads: ``path`` (absolute, no symlink, ``.`` or ``..`` in it) and what
    is there. ``exists`` is False when some component is missing (the rest of the path was
    appended as written); ``links`` is the hard-link count of a regular file (0 otherwise)."""

    path: str
    exists: bool
    is_directory: bool = False
    links: int = 0


@dataclass
class NormalisedArguments:
    """The result of normalising one call's path arguments.

    ``arguments`` is a copy of the call's arguments with every path replaced by its resolved form
    (what the downstream server receives, so what was decided is what is executed); ``paths`` are
    those resolved paths, in argument order; ``resolved`` what lies at each. ``path_errors`` are the
    refusals (what the client may read) and ``details`` the same with what the audit log keeps.
    """

    arguments: dict[str, Any]
    paths: list[str] = field(default_factory=list)
    resolved: list[ResolvedPath] = field(default_factory=list)
    path_errors: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)


def percent_decode(value: str) -> str:
    """Decode percent-escapes until the string is stable; raise when that takes too many rounds."""
    for _round in range(MAX_DECODE_ROUNDS + 1):
        try:
            decoded = unquote(value, errors="strict")
        except UnicodeDecodeError as exc:
            raise PathRejected("path_encoding", "holds percent-escapes that are not UTF-8") from exc
        if decoded == value:
            return value
        value = decoded
    raise PathRejected("path_encoding", f"is percent-encoded more than {MAX_DECODE_ROUNDS} times")


@lru_cache(maxsize=4096)
def _character_defect(character: str) -> str | None:
    """Why one non-ASCII character may not appear in a path, or None."""
    if unicodedata.category(character) in _REFUSED_CATEGORIES:
        return "path_control_character"
    if character in _LOOKALIKES or _LOOKALIKE_NAME.search(unicodedata.name(character, "")):
        return "path_lookalike"
    return None


_RULE_REASONS = {
    "path_control_character": "holds a control, format or line-separator character",
    "path_lookalike": "holds a character that looks like '/' or '.' (or a backslash)",
    "path_unicode_form": "holds a name that is not in Unicode NFC/NFKC form (another spelling of a name)",
    "path_name_too_long": f"holds a name longer than {MAX_NAME_BYTES} bytes",
}


def check_spelling(decoded: str) -> None:
    """Refuse a decoded path that downstream servers could read as another name (module doc, 1)."""
    if "\x00" in decoded:
        raise PathRejected("path_nul", "contains a NUL byte")
    if not decoded.startswith("/"):
        raise PathRejected("path_not_absolute", "is not an absolute path")
    if decoded != decoded.strip():
        raise PathRejected("path_surrounding_space", "starts or ends with white space")
    if len(decoded.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
        raise PathRejected("path_too_long", f"is longer than {MAX_PATH_BYTES} bytes")
    for component in decoded.split("/"):
        rule = _component_defect(component)
        if rule is not None:
            raise PathRejected(rule, _RULE_REASONS[rule])


def _component_defect(component: str) -> str | None:
    if _ASCII_CONTROL.search(component):
        return "path_control_character"
    if "\\" in component:
        return "path_lookalike"
    if not component.isascii():
        for character in component:
            defect = None if character.isascii() else _character_defect(character)
            if defect is not None:
                return defect
        if not unicodedata.is_normalized("NFKC", component):
            return "path_unicode_form"
    if len(component.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return "path_name_too_long"
    return None


def _twin_key(name: str) -> str:
    """Names that are one name for a server matching Unicode spellings share this key."""
    return unicodedata.normalize("NFKC", name)


def _has_unicode_twin(directory: str, name: str) -> bool:
    """True when ``directory`` holds another entry that is ``name`` in another Unicode spelling."""
    try:
        entries = os.listdir(directory)
    except OSError:
        return False
    key = _twin_key(name)
    # Two different ASCII names are never one name in another spelling: skip NFKC for them.
    return any(
        entry != name and not (entry.isascii() and name.isascii()) and _twin_key(entry) == key
        for entry in entries
    )


def inside_roots(path: str, roots: Iterable[str]) -> bool:
    """True when ``path`` (already resolved) is a root or lies below one."""
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


class _Lookup:
    """One path lookup, component by component, the way the kernel walks it (module doc, 2)."""

    def __init__(self, decoded: str, roots: tuple[str, ...]) -> None:
        self.roots = roots
        self.pending: deque[str] = deque(decoded.split("/"))
        self.current = "/"
        self.entered = inside_roots(self.current, roots)
        self.exists = True
        self.is_directory = True
        self.last: os.stat_result | None = None
        self.symlinks = 0

    def run(self) -> ResolvedPath:
        """Walk every pending component and say what lies at the end."""
        while self.pending:
            part = self.pending.popleft()
            if part == "":
                continue
            if self.exists and not self.is_directory:
                raise PathRejected(
                    "path_not_directory", "goes through something that is not a directory", repr(self.current)
                )
            if part == "." or self._step(part):
                continue
            if inside_roots(self.current, self.roots):
                self.entered = True
            elif self.entered:
                raise PathRejected(
                    "path_leaves_workspace",
                    "leaves the workspace on the way (by '..' or through a symlink)",
                    f"the lookup reaches {self.current!r}, outside the workspace roots",
                )
        if not self.exists:
            return ResolvedPath(path=self.current, exists=False)
        last = self.last if self.last is not None else os.lstat(self.current)
        links = last.st_nlink if stat.S_ISREG(last.st_mode) else 0
        return ResolvedPath(
            path=self.current, exists=True, is_directory=stat.S_ISDIR(last.st_mode), links=links
        )

    def _step(self, part: str) -> bool:
        """Take one component; True when the lookup moved nowhere to check yet (a symlink was
        spliced in, or the path no longer exists and is only appended to)."""
        if part == "..":
            self.current, self.last = os.path.dirname(self.current), None
            return False
        candidate = os.path.join(self.current, part)
        if not self.exists:
            self.current = candidate
            return True
        info = _lstat(self.current, candidate, part)
        if info is None:
            self.exists, self.current = False, candidate
            return True
        if stat.S_ISLNK(info.st_mode):
            self._splice(candidate)
            return True
        self.current, self.last, self.is_directory = candidate, info, stat.S_ISDIR(info.st_mode)
        return False

    def _splice(self, link: str) -> None:
        """Put the target of the symlink ``link`` in front of the pending components."""
        self.symlinks += 1
        if self.symlinks > MAX_SYMLINKS:
            raise PathRejected(
                "path_symlink_loop", f"follows more than {MAX_SYMLINKS} symlinks (a loop)", repr(link)
            )
        target = os.readlink(link)
        self.pending.extendleft(reversed(target.split("/")))
        if target.startswith("/"):
            # An absolute target is a lookup of its own from '/': it must end inside a root, and
            # may not leave the roots again once it has entered one.
            self.current, self.last = "/", None
            self.entered = inside_roots(self.current, self.roots)


def resolve(decoded: str, roots: tuple[str, ...] = ()) -> ResolvedPath:
    """Resolve an absolute, spelling-checked path component by component (module doc, 2)."""
    return _Lookup(decoded, roots).run()


def _lstat(directory: str, candidate: str, name: str) -> os.stat_result | None:
    """``lstat(candidate)``, or None when it does not exist (and has no twin of another spelling)."""
    try:
        return os.lstat(candidate)
    except FileNotFoundError:
        if _has_unicode_twin(directory, name):
            raise PathRejected(
                "path_unicode_twin",
                "names a missing entry whose directory holds the same name in another Unicode spelling",
                f"{candidate!r} is missing, its directory holds another spelling of the name",
            ) from None
        return None
    except OSError as exc:
        not_directory = exc.errno == errno.ENOTDIR
        raise PathRejected(
            "path_not_directory" if not_directory else "path_unresolvable",
            "goes through something that is not a directory"
            if not_directory
            else f"cannot be looked up ({errno.errorcode.get(exc.errno or 0, 'error')})",
            f"lstat {candidate!r}: {exc.strerror}",
        ) from None


def resolve_path(value: Any, roots: tuple[str, ...] = ()) -> ResolvedPath:
    """Check one path argument's spelling and resolve it, or raise PathRejected."""
    if not isinstance(value, str):
        raise PathRejected("path_not_string", f"is not a string (got {type(value).__name__})")
    if len(value) > MAX_ARGUMENT_LENGTH:
        raise PathRejected("path_too_long", f"is longer than {MAX_ARGUMENT_LENGTH} characters")
    decoded = percent_decode(value)
    check_spelling(decoded)
    try:
        resolved = resolve(decoded, roots)
    except OSError as exc:
        # The tree changed under the lookup (a link removed between its lstat and readlink).
        raise PathRejected("path_unresolvable", "changed while it was looked up", str(exc)) from None
    if roots and not inside_roots(resolved.path, roots):
        raise PathRejected(
            "path_outside_workspace", "is outside the workspace roots", f"resolves to {resolved.path!r}"
        )
    return resolved


def normalise_path(value: Any, roots: tuple[str, ...] = ()) -> str:
    """The resolved form of one path argument (``resolve_path(value, roots).path``)."""
    return resolve_path(value, roots).path


def normalise_arguments(
    arguments: Mapping[str, Any],
    path_arguments: Iterable[str],
    roots: tuple[str, ...] = (),
    *,
    allow_hard_links: bool = False,
) -> NormalisedArguments:
    """Normalise every argument named in ``path_arguments`` (a string, or a list of strings)."""
    result = NormalisedArguments(arguments=dict(arguments))
    for name in sorted(set(path_arguments)):
        if name not in arguments:
            continue
        value = arguments[name]
        items = value if isinstance(value, list) else [value]
        normalised: list[str] = []
        for index, item in enumerate(items):
            where = f"argument {name}[{index}]" if isinstance(value, list) else f"argument {name}"
            try:
                resolved = resolve_path(item, roots)
                if resolved.links > 1 and not allow_hard_links:
                    raise PathRejected(
                        "path_hard_link",
                        "is a file with more than one hard link (its content may be a file outside "
                        "the workspace)",
                        f"{resolved.path!r} has {resolved.links} links",
                    )
            except PathRejected as exc:
                result.path_errors.append(f"{where} [{exc.rule}] {exc}")
                # The audit log keeps what was asked for (escaped, cut short) and where the lookup went.
                asked = repr(item)[:MAX_AUDITED_VALUE]
                result.details.append(
                    f"{where} {asked} [{exc.rule}] {exc}{': ' + exc.detail if exc.detail else ''}"
                )
                continue
            normalised.append(resolved.path)
            result.resolved.append(resolved)
        result.paths.extend(normalised)
        if len(normalised) == len(items):
            result.arguments[name] = normalised if isinstance(value, list) else normalised[0]
    return result


def first_link_in_tree(directory: str) -> str | None:
    """The first symlink below ``directory`` (which is not followed itself), or None.

    A tree is moved, renamed or copied as it is, so a relative link inside it points somewhere else
    afterwards (an inward ``../../x`` can point outside the workspace once its folder moved up).
    Raises PathRejected when the tree holds more than MAX_TREE_ENTRIES entries to look at.
    """
    pending = [directory]
    seen = 0
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError as exc:
            raise PathRejected(
                "path_tree_unreadable", "names a tree the gateway cannot read to check", str(exc.strerror)
            ) from None
        for entry in entries:
            seen += 1
            if seen > MAX_TREE_ENTRIES:
                raise PathRejected(
                    "path_tree_too_large", f"names a tree of more than {MAX_TREE_ENTRIES} entries to check"
                )
            if entry.is_symlink():
                return entry.path
            if entry.is_dir(follow_symlinks=False):
                pending.append(entry.path)
    return None
