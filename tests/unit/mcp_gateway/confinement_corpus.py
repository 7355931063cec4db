# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The confinement corpus: tool calls that try to leave the workspace through what a path string
and the file system allow beyond ``..`` (issue 19), with the files they need set up on disk.

Categories: other Unicode spellings of a symlink's name (NFD asked for an NFC name and the other
way round; the npm filesystem server matches names after NFC), lookalike dots and slashes,
control characters, lengths past NAME_MAX/PATH_MAX, calls with no path, hard links to a file
outside, directory trees whose links point elsewhere once moved, symlinks at every component
(chains, loops, ``/``, ``/proc/self``), and legitimate calls that must keep working.

Every denied case must be refused by the gateway itself: not forwarded to the downstream server,
no secret in the answer, nothing written outside, the secret directory unchanged, and a refusal
text naming neither the workspace nor the secret's directory (nor a pid). ``{ws}`` and ``{base}``
are replaced by the real directories when a case runs.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway_client import call, raw_request, text_of
from gateway_fixtures import SECRET_MARKER, TOKENS, WORKSPACE_TEXT, Layout, RunningGateway, build_layout

WS = "{ws}"
BASE = "{base}"
NFC_E = "\u00e9"  # é, precomposed
NFD_E = "e\u0301"  # e + COMBINING ACUTE ACCENT
NFC_I = "\u00ef"  # ï, precomposed
NFD_I = "i\u0308"  # i + COMBINING DIAERESIS
NULL_ARGUMENTS = object()
"""Marks a case sent by hand with ``"arguments": null`` (the SDK's client never sends that)."""

CAFE_TEXT = "the NFC-named file inside the workspace\n"
PLAIN_TREE_TEXT = "a tree without links\n"


@dataclass(frozen=True)
class Case:
    """One call of the corpus; ``allowed`` cases must succeed and return ``expect_text``."""

    id: str
    category: str
    tool: str
    arguments: Any
    allowed: bool = False
    expect_text: str | None = None
    must_not_exist: tuple[str, ...] = ()
    must_exist: tuple[str, ...] = ()
    client: str = "carol"


def build_confinement_layout(directory: Path) -> Layout:
    """The adversarial corpus's workspace plus the links this corpus needs (see the module doc)."""
    layout = build_layout(directory)
    ws, secret = layout.workspace, layout.secret
    key = secret / "key.txt"
    (secret / "dir").mkdir()
    (secret / "dir" / "inner.txt").write_text(SECRET_MARKER + " inner\n")
    # Unicode spellings: links named in NFC and in NFD, to the secret directory and to the key.
    (ws / f"caf{NFC_E}_out").symlink_to(secret)
    (ws / f"caf{NFC_E}_key").symlink_to("../secret/key.txt")
    (ws / f"na{NFD_I}ve_out").symlink_to(secret)
    (ws / f"na{NFD_I}ve_key").symlink_to("../secret/key.txt")
    (ws / f"caf{NFC_E}.txt").write_text(CAFE_TEXT)
    # Hard links: to the secret key (outside), and to a workspace file (inside, refused by default).
    os.link(key, ws / "hard.txt")
    os.link(key, ws / f"h{NFC_E}rd.txt")
    (ws / "sub" / "hard_source.txt").write_text("a file with a second name in the workspace\n")
    os.link(ws / "sub" / "hard_source.txt", ws / "sub" / "hard_in_ws.txt")
    (ws / "link_to_hard").symlink_to("hard.txt")
    # Trees to move. deep1/x/y/z/lnk points at {ws}/secret/key.txt (inside, dangling) and at
    # {base}/secret/key.txt once deep1/x is moved to {ws}/moved_x.
    (ws / "deep1" / "x" / "y" / "z").mkdir(parents=True)
    (ws / "deep1" / "x" / "y" / "z" / "lnk").symlink_to("../../../../secret/key.txt")
    (ws / "tree_in" / "sub").mkdir(parents=True)
    (ws / "tree_in" / "sub" / "lnk").symlink_to("../../a.txt")
    (ws / "tree_abs").mkdir()
    (ws / "tree_abs" / "lnk").symlink_to(ws / "a.txt")
    (ws / "tree_dir_link").mkdir()
    (ws / "tree_dir_link" / "d").symlink_to(ws / "sub")
    (ws / "tree_plain" / "inner").mkdir(parents=True)
    (ws / "tree_plain" / "inner" / "file.txt").write_text(PLAIN_TREE_TEXT)
    # The state after such a move: an NFC-named link four levels down that now points outside.
    (ws / "moved_state" / "y" / "z").mkdir(parents=True)
    (ws / "moved_state" / "y" / "z" / f"caf{NFC_E}").symlink_to("../../../../secret/key.txt")
    # Symlinks at every component.
    (ws / "chain3").symlink_to("../secret")
    (ws / "chain2").symlink_to("chain3")
    (ws / "chain1").symlink_to("chain2")
    (ws / "sub" / "hop").symlink_to("../chain1")
    (ws / "out_and_back").symlink_to("../workspace/a.txt")
    (ws / "loop1").symlink_to("loop2")
    (ws / "loop2").symlink_to("loop1")
    (ws / "root_link").symlink_to("/")
    return layout


def _lookalike(name: str, path: str) -> Case:
    return Case(f"lookalike-{name}", "lookalike", "filesystem__read_text_file", {"path": path})


def _control(name: str, path: str, category: str = "control") -> Case:
    # Where the file would land if the call went through (the server trims surrounding spaces).
    target = path.strip().replace(WS, BASE + "/workspace")
    return Case(
        f"{category}-{name}",
        category,
        "filesystem__write_file",
        {"path": path, "content": "x"},
        must_not_exist=(target,),
    )


def corpus() -> list[Case]:
    """Every case, denied ones first."""
    read, write, lst = "filesystem__read_text_file", "filesystem__write_file", "filesystem__list_directory"
    move, multi = "filesystem__move_file", "filesystem__read_multiple_files"
    edit, info = "filesystem__edit_file", "filesystem__get_file_info"
    nfd_out, nfd_key = f"{WS}/caf{NFD_E}_out", f"{WS}/caf{NFD_E}_key"
    nfc_out, nfc_key = f"{WS}/na{NFC_I}ve_out", f"{WS}/na{NFC_I}ve_key"
    dry_edit = [{"oldText": "TOP", "newText": "x"}]
    cases = [
        # Other Unicode spellings of a link's name.
        Case("unicode-nfd-read-file-link", "unicode", read, {"path": nfd_key}),
        Case("unicode-nfd-read-through-dir-link", "unicode", read, {"path": f"{nfd_out}/key.txt"}),
        Case("unicode-nfc-read-nfd-file-link", "unicode", read, {"path": nfc_key}),
        Case("unicode-nfc-read-through-nfd-dir-link", "unicode", read, {"path": f"{nfc_out}/key.txt"}),
        Case("unicode-nfd-list", "unicode", lst, {"path": nfd_out}),
        Case("unicode-nfc-list-nfd-link", "unicode", lst, {"path": nfc_out}),
        Case(
            "unicode-nfd-write",
            "unicode",
            write,
            {"path": f"{nfd_out}/planted-u1.txt", "content": "x"},
            must_not_exist=(f"{BASE}/secret/planted-u1.txt",),
        ),
        Case(
            "unicode-nfc-write-nfd-link",
            "unicode",
            write,
            {"path": f"{nfc_out}/planted-u2.txt", "content": "x"},
            must_not_exist=(f"{BASE}/secret/planted-u2.txt",),
        ),
        Case("unicode-multi-nfd", "unicode", multi, {"paths": [f"{WS}/a.txt", nfd_key]}),
        Case("unicode-multi-nfc", "unicode", multi, {"paths": [nfc_key]}),
        Case("unicode-info", "unicode", info, {"path": nfd_key}),
        Case("unicode-tree", "unicode", "filesystem__directory_tree", {"path": nfd_out}),
        Case("unicode-search", "unicode", "filesystem__search_files", {"path": nfc_out, "pattern": "key"}),
        Case("unicode-edit-dry-run", "unicode", edit, {"path": nfd_key, "edits": dry_edit, "dryRun": True}),
        Case("unicode-media", "unicode", "filesystem__read_media_file", {"path": nfc_key}),
        Case("unicode-sizes", "unicode", "filesystem__list_directory_with_sizes", {"path": nfd_out}),
        Case(
            "unicode-move-into-link",
            "unicode",
            move,
            {"source": f"{WS}/sub/b.txt", "destination": f"{nfd_out}/moved-u.txt"},
            must_not_exist=(f"{BASE}/secret/moved-u.txt",),
            must_exist=(f"{WS}/sub/b.txt",),
        ),
        Case(
            "unicode-move-out-of-link",
            "unicode",
            move,
            {"source": nfc_key, "destination": f"{WS}/stolen-u.txt"},
            must_not_exist=(f"{WS}/stolen-u.txt",),
        ),
        Case(
            "unicode-create-dir",
            "unicode",
            "filesystem__create_directory",
            {"path": f"{nfd_out}/newdir"},
            must_not_exist=(f"{BASE}/secret/newdir",),
        ),
        Case("unicode-nfd-inside-file", "unicode", read, {"path": f"{WS}/caf{NFD_E}.txt"}),
        Case("unicode-percent-encoded-nfd", "unicode", read, {"path": f"{WS}/caf%65%CC%81_key"}),
        Case("unicode-dotdot-then-nfd", "unicode", read, {"path": f"{WS}/sub/../caf{NFD_E}_out/key.txt"}),
        Case("unicode-fullwidth-letters", "unicode", read, {"path": f"{WS}/\uff41.txt"}),
        Case("unicode-hangul-jamo", "unicode", read, {"path": f"{WS}/\u1100\u1161.txt"}),
        Case("unicode-ligature", "unicode", read, {"path": f"{WS}/\ufb01le.txt"}),
        # Lookalike dots and slashes.
        _lookalike("two-dot-leader", f"{WS}/\u2025/secret/key.txt"),
        _lookalike("fullwidth-dots", f"{WS}/\uff0e\uff0e/secret/key.txt"),
        _lookalike("one-dot-leaders", f"{WS}/\u2024\u2024/secret/key.txt"),
        _lookalike("fullwidth-solidus", f"{WS}/..\uff0f..\uff0fsecret\uff0fkey.txt"),
        _lookalike("division-slash", f"{WS}/..\u2215secret\u2215key.txt"),
        _lookalike("fraction-slash", f"{WS}/..\u2044secret\u2044key.txt"),
        _lookalike("combining-solidus", f"{WS}/..\u0338secret/key.txt"),
        _lookalike("combining-short-solidus", f"{WS}/.\u0337./secret/key.txt"),
        _lookalike("big-solidus", f"{WS}/..\u29f8secret\u29f8key.txt"),
        _lookalike("fullwidth-reverse-solidus", f"{WS}/..\uff3csecret\uff3ckey.txt"),
        _lookalike("small-full-stops", f"{WS}/\ufe52\ufe52/secret/key.txt"),
        _lookalike("ideographic-full-stops", f"{WS}/\u3002\u3002/secret/key.txt"),
        _lookalike("ellipsis", f"{WS}/\u2026/secret/key.txt"),
        _lookalike("small-reverse-solidus", f"{WS}/..\ufe68secret"),
        _lookalike("one-dot-leader-in-name", f"{WS}/a\u2024txt"),
        _lookalike("backslash", f"{WS}/..\\secret\\key.txt"),
        Case("lookalike-list", "lookalike", lst, {"path": f"{WS}/\u2025"}),
        Case(
            "lookalike-write",
            "lookalike",
            write,
            {"path": f"{WS}/\uff0e\uff0e/secret/planted-lk.txt", "content": "x"},
            must_not_exist=(f"{BASE}/secret/planted-lk.txt",),
        ),
        # Control characters and what the server trims.
        _control("newline", f"{WS}/new\nline.txt"),
        _control("tab", f"{WS}/a\t.txt"),
        _control("carriage-return", f"{WS}/cr.txt\r"),
        _control("escape", f"{WS}/\x1b[31mred.txt"),
        _control("delete", f"{WS}/del\x7f.txt"),
        _control("c1-next-line", f"{WS}/nel\x85.txt"),
        _control("line-separator", f"{WS}/ls\u2028.txt"),
        _control("right-to-left-override", f"{WS}/\u202etxt.exe"),
        _control("zero-width-space", f"{WS}/zw\u200b.txt"),
        _control("byte-order-mark", f"{WS}/\ufeffbom.txt"),
        _control("soft-hyphen", f"{WS}/soft\u00ad.txt"),
        _control("trailing-space", f"{WS}/trailing.txt "),
        _control("leading-space", f" {WS}/leading.txt"),
        _control("percent-newline", f"{WS}/pct%0aline.txt"),
        Case(
            "control-read-newline-traversal", "control", read, {"path": f"{WS}/a.txt\n/../../secret/key.txt"}
        ),
        # Lengths past NAME_MAX (255 bytes) and PATH_MAX (4096 bytes with the NUL).
        _control("component-256", f"{WS}/" + "x" * 256, "length"),
        _control("component-4000", f"{WS}/" + "y" * 4000, "length"),
        _control("component-256-bytes-128-chars", f"{WS}/" + NFC_E * 128, "length"),
        _control("path-over-4095-bytes", f"{WS}/" + "/".join([NFC_E * 100] * 21), "length"),
        # No path where the tool takes one.
        Case("no-path-empty", "no_path", read, {}),
        Case("no-path-null", "no_path", read, NULL_ARGUMENTS),
        Case("no-path-list", "no_path", lst, {}),
        Case("no-path-empty-list", "no_path", multi, {"paths": []}),
        Case("no-path-null-tree", "no_path", "filesystem__directory_tree", NULL_ARGUMENTS),
        Case(
            "no-path-move-source-only",
            "no_path",
            move,
            {"source": f"{WS}/sub/b.txt"},
            must_exist=(f"{WS}/sub/b.txt",),
        ),
        Case("no-path-move-destination-only", "no_path", move, {"destination": f"{WS}/nothing.txt"}),
        Case("no-path-write", "no_path", write, {"content": "x"}),
        Case("no-path-wrong-case", "no_path", info, {"Path": f"{WS}/a.txt"}),
        Case("no-path-search", "no_path", "filesystem__search_files", {"pattern": "*"}),
        Case("no-path-edit", "no_path", edit, {"edits": [], "dryRun": True}),
        Case("no-path-git", "no_path", "git__git_log", {}),
        # Hard links to a file outside (and one inside, refused by default too).
        Case("hardlink-read", "hardlink", read, {"path": f"{WS}/hard.txt"}),
        Case(
            "hardlink-edit-dry-run",
            "hardlink",
            edit,
            {"path": f"{WS}/hard.txt", "edits": dry_edit, "dryRun": True},
        ),
        Case("hardlink-write", "hardlink", write, {"path": f"{WS}/hard.txt", "content": "overwritten"}),
        Case("hardlink-multi", "hardlink", multi, {"paths": [f"{WS}/a.txt", f"{WS}/hard.txt"]}),
        Case("hardlink-info", "hardlink", info, {"path": f"{WS}/hard.txt"}),
        Case("hardlink-through-symlink", "hardlink", read, {"path": f"{WS}/link_to_hard"}),
        Case("hardlink-media", "hardlink", "filesystem__read_media_file", {"path": f"{WS}/hard.txt"}),
        Case(
            "hardlink-move",
            "hardlink",
            move,
            {"source": f"{WS}/hard.txt", "destination": f"{WS}/hard-moved.txt"},
            must_not_exist=(f"{WS}/hard-moved.txt",),
        ),
        Case("hardlink-inside-workspace", "hardlink", read, {"path": f"{WS}/sub/hard_in_ws.txt"}),
        Case("hardlink-nfd-name", "hardlink", read, {"path": f"{WS}/h{NFD_E}rd.txt"}),
        Case("hardlink-nfc-name", "hardlink", read, {"path": f"{WS}/h{NFC_E}rd.txt"}),
        # Trees whose links point elsewhere once moved.
        Case(
            "moved-inward-link-turns-outward",
            "moved",
            move,
            {"source": f"{WS}/deep1/x", "destination": f"{WS}/moved_x"},
            must_not_exist=(f"{WS}/moved_x",),
            must_exist=(f"{WS}/deep1/x/y/z",),
        ),
        *(
            Case(
                f"moved-{name}",
                "moved",
                move,
                {"source": f"{WS}/{source}", "destination": f"{WS}/{destination}"},
                must_not_exist=(f"{WS}/{destination}",),
                must_exist=(f"{WS}/{source}",),
            )
            for name, source, destination in [
                ("whole-deep-tree", "deep1", "sub/deep1"),
                ("relative-inward-link", "tree_in", "sub/tree_in"),
                ("absolute-link", "tree_abs", "tree_abs_moved"),
                ("directory-link", "tree_dir_link", "tree_dir_link_moved"),
            ]
        ),
        Case("moved-state-nfc", "moved", read, {"path": f"{WS}/moved_state/y/z/caf{NFC_E}"}),
        Case("moved-state-nfd", "moved", read, {"path": f"{WS}/moved_state/y/z/caf{NFD_E}"}),
        # Symlinks at every component.
        Case("symlink-chain", "symlink", read, {"path": f"{WS}/chain1/key.txt"}),
        Case("symlink-hop-into-chain", "symlink", read, {"path": f"{WS}/sub/hop/key.txt"}),
        Case("symlink-out-and-back", "symlink", read, {"path": f"{WS}/out_and_back"}),
        Case("symlink-loop", "symlink", read, {"path": f"{WS}/loop1"}),
        Case("symlink-root-link", "symlink", read, {"path": f"{WS}/root_link{BASE}/secret/key.txt"}),
        Case("symlink-proc-self-root", "symlink", read, {"path": f"/proc/self/root{BASE}/secret/key.txt"}),
        Case("symlink-proc-self-root-link", "symlink", read, {"path": f"/proc/self/root{WS}/link_key"}),
        Case("symlink-file-as-directory", "symlink", read, {"path": f"{WS}/link_in/x"}),
        Case(
            "symlink-write-through-chain",
            "symlink",
            write,
            {"path": f"{WS}/chain1/planted-chain.txt", "content": "x"},
            must_not_exist=(f"{BASE}/secret/planted-chain.txt",),
        ),
    ]
    legitimate = [
        Case("legit-read", "legit", read, {"path": f"{WS}/a.txt"}, allowed=True, expect_text=WORKSPACE_TEXT),
        Case(
            "legit-read-nfc-name",
            "legit",
            read,
            {"path": f"{WS}/caf{NFC_E}.txt"},
            allowed=True,
            expect_text=CAFE_TEXT,
        ),
        Case(
            "legit-read-percent-encoded-nfc",
            "legit",
            read,
            {"path": f"{WS}/caf%C3%A9.txt"},
            allowed=True,
            expect_text=CAFE_TEXT,
        ),
        Case(
            "legit-read-inward-link",
            "legit",
            read,
            {"path": f"{WS}/link_in"},
            allowed=True,
            expect_text=WORKSPACE_TEXT,
        ),
        Case(
            "legit-read-up-and-back",
            "legit",
            read,
            {"path": f"{WS}/sub/../a.txt"},
            allowed=True,
            expect_text=WORKSPACE_TEXT,
        ),
        Case(
            "legit-write-new-file",
            "legit",
            write,
            {"path": f"{WS}/sub/new-legit.txt", "content": "fresh"},
            allowed=True,
            expect_text="Successfully wrote",
            must_exist=(f"{WS}/sub/new-legit.txt",),
        ),
        Case("legit-list", "legit", lst, {"path": f"{WS}/sub"}, allowed=True, expect_text="b.txt"),
        Case(
            "legit-move-plain-tree",
            "legit",
            move,
            {"source": f"{WS}/tree_plain", "destination": f"{WS}/tree_plain_moved"},
            allowed=True,
            expect_text="Successfully moved",
            must_exist=(f"{WS}/tree_plain_moved/inner/file.txt",),
        ),
        Case(
            "legit-create-directory",
            "legit",
            "filesystem__create_directory",
            {"path": f"{WS}/made/here"},
            allowed=True,
            expect_text="Successfully created",
            must_exist=(f"{WS}/made/here",),
        ),
        Case(
            "legit-tool-without-paths",
            "legit",
            "filesystem__list_allowed_directories",
            {},
            allowed=True,
            expect_text="Allowed directories",
        ),
        Case(
            "legit-git-status",
            "legit",
            "git__git_status",
            {"repo_path": f"{WS}/repo"},
            allowed=True,
            expect_text="master",
        ),
    ]
    return cases + legitimate


CASES = corpus()


def fill(value: Any, layout: Layout) -> Any:
    """``value`` with ``{ws}`` and ``{base}`` replaced by the layout's directories."""
    if isinstance(value, str):
        return value.replace(WS, str(layout.workspace)).replace(BASE, str(layout.base))
    if isinstance(value, list):
        return [fill(item, layout) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, layout) for key, item in value.items()}
    return value


def tree_digest(directory: Path) -> str:
    """A digest of every name and file content below ``directory`` (symlinks not followed)."""
    digest = hashlib.sha256()
    for root, directories, files in sorted(os.walk(directory)):
        directories.sort()
        for name in sorted(files):
            path = Path(root) / name
            digest.update(str(path).encode("utf-8", "surrogateescape") + b"\0")
            if not path.is_symlink():
                digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class Outcome:
    """What one case did: an escape (secret read, written or changed), a forward of a call the
    gateway should have refused, a refusal text that discloses paths, or a wrong answer."""

    escaped: bool = False
    forwarded: bool = False
    disclosed: bool = False
    wrong: str = ""

    @property
    def failed(self) -> bool:
        """True when the case did anything but what it must."""
        return self.escaped or self.forwarded or self.disclosed or bool(self.wrong)


async def run_case(case: Case, gateway: RunningGateway, layout: Layout) -> Outcome:
    """Run ``case`` through ``gateway`` and judge it (nothing is asserted here)."""
    before_calls = len(gateway.downstream_calls())
    before_secret = tree_digest(layout.secret)
    token = TOKENS[case.client]
    if case.arguments is NULL_ARGUMENTS:
        reply = await raw_request(gateway.url, token, "tools/call", {"name": case.tool, "arguments": None})
        result = reply.get("result", {})
        is_error = bool(result.get("isError", "error" in reply))
        text = "\n".join(block.get("text", "") for block in result.get("content", []))
    else:
        answer = await call(gateway.url, token, case.tool, fill(case.arguments, layout))
        is_error, text = bool(answer.is_error), text_of(answer)
    forwarded = len(gateway.downstream_calls()) - before_calls
    outcome = Outcome()
    left = [fill(path, layout) for path in case.must_not_exist if os.path.lexists(fill(path, layout))]
    written_outside = [path for path in left if not path.startswith(f"{layout.workspace}/")]
    outcome.escaped = (
        SECRET_MARKER in text or bool(written_outside) or tree_digest(layout.secret) != before_secret
    )
    missing = [path for path in case.must_exist if not os.path.lexists(fill(path, layout))]
    if case.allowed:
        if is_error or case.expect_text is None or case.expect_text not in text or forwarded != 1:
            outcome.wrong = f"an allowed call failed: {text[:300]!r}"
        if missing:
            outcome.wrong = f"missing after the call: {missing}"
        return outcome
    outcome.forwarded = forwarded > 0
    outcome.disclosed = str(layout.base) in text or "/proc/" in text
    if not is_error or not text.startswith("denied by policy"):
        outcome.wrong = f"not refused by the gateway: {text[:300]!r}"
    elif missing or left:
        outcome.wrong = f"a refused call still changed the workspace: {missing or left}"
    return outcome


class Tally:
    """The outcomes of one run of the corpus (one gateway configuration), summed up at its end."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outcomes: dict[str, Outcome] = {}

    def record(self, case: Case, outcome: Outcome) -> None:
        """Keep ``outcome`` of ``case``."""
        self.outcomes[case.id] = outcome

    def summary(self) -> str:
        """One line: cases run, failed, escapes, forwarded-instead-of-refused, disclosures, wrong answers."""
        values = list(self.outcomes.values())
        return (
            f"confinement corpus [{self.name}]: {len(values)} cases, {sum(o.failed for o in values)} failed "
            f"({sum(o.escaped for o in values)} escapes, {sum(o.forwarded for o in values)} forwarded "
            f"instead of refused, {sum(o.disclosed for o in values)} refusals naming paths, "
            f"{sum(bool(o.wrong) for o in values)} wrong answers)"
        )
