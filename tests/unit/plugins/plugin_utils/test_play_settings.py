# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/play_settings.py: option, then play variable, then default."""

from __future__ import annotations

from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils.play_settings import plain, setting

DEFAULTS = {"endpoint": ("sovereign_hf_endpoint", "https://huggingface.co")}


class UpperTemplar:
    """Marks templated values, so the test sees that play variables are templated."""

    def template(self, variable: Any) -> Any:
        return None if variable is None else str(variable).upper()


def test_the_option_wins_then_the_templated_variable_then_the_default() -> None:
    templar = UpperTemplar()
    given = {"endpoint": "http://mirror"}
    play = {"sovereign_hf_endpoint": "http://inventory"}
    assert setting(given, "endpoint", play, DEFAULTS, templar) == "http://mirror"
    assert setting({"endpoint": None}, "endpoint", play, DEFAULTS, templar) == "HTTP://INVENTORY"
    assert (
        setting({}, "endpoint", {"sovereign_hf_endpoint": None}, DEFAULTS, templar)
        == "https://huggingface.co"
    )
    assert setting({}, "endpoint", {}, DEFAULTS, templar) == "https://huggingface.co"


def test_plain_turns_subclasses_into_json_types() -> None:
    class Tagged(str):
        pass

    value = plain({"a": [Tagged("x")]})
    assert value == {"a": ["x"]}
    assert value["a"][0].__class__ is str  # exactly str, not a subclass
