# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""What the collection publishes about itself points nowhere false.

The collection has no public address yet. galaxy.yml once named ``https://example.invalid/...`` as
its repository and the modules linked their docs there: Galaxy and ansible-doc would show those as
real addresses. An address field is left out until there is a real one.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
# galaxy.yml's address fields (ansible-galaxy's collection metadata).
URL_FIELDS = ("repository", "documentation", "homepage", "issues")
# RFC 2606 and RFC 6761 names that never resolve to anyone's project.
PLACEHOLDER_HOST = re.compile(r"(^|\.)(example|invalid|test|localhost)$|(^|\.)example\.(com|net|org)$")
URL = re.compile(r"https?://[^\s\"'<>)]+")


def _placeholders(text: str) -> list[str]:
    return [url for url in URL.findall(text) if PLACEHOLDER_HOST.search(urlsplit(url).hostname or "")]


def test_galaxy_has_no_placeholder_address() -> None:
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
    assert not _placeholders(yaml.safe_dump(galaxy))
    for field in URL_FIELDS:
        if field in galaxy:
            assert urlsplit(galaxy[field]).scheme == "https", f"galaxy.yml {field}: {galaxy[field]}"


@pytest.mark.parametrize(
    "plugin", sorted(str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "plugins").glob("*/*.py"))
)
def test_plugin_documentation_links_no_placeholder(plugin: str) -> None:
    assert not _placeholders((REPO_ROOT / plugin).read_text())


def test_the_placeholder_pattern_matches_what_it_must() -> None:
    assert _placeholders("repository: https://example.invalid/sovereign/stack")
    assert _placeholders("link: http://docs.example.com/x")
    assert not _placeholders("https://github.com/ansible-collections/community.crypto")
