# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Capability tags of ``sovereign_deployments`` (issue 22): checked by the planner with the routing
table's rule, carried into plan.json's deployments, shown in plan.md, and read from the plan by the
table the fleet router serves."""

from __future__ import annotations

from typing import Any

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.input_rules import MAX_TAGS
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.fleet_routes import fleet_routes
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_inputs import parse_deployments
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_report import plan_markdown
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan
from hypothesis import given, settings
from hypothesis import strategies as st

CATALOG = load_catalog()
HOSTVARS = {
    "ws": {"sovereign_hardware_declared": {"gpus": [{"device": "rtx-3090", "count": 2}], "memory_gib": 64}},
    "mac": {"sovereign_hardware_declared": {"gpus": [{"device": "m3-ultra"}], "memory_gib": 192}},
}
TAG_CHARACTERS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


def chat(**extra: Any) -> dict[str, Any]:
    return {"name": "chat", "model": "Qwen/Qwen3-8B", **extra}


def refusal(tags: Any) -> str:
    with pytest.raises(PlanInputError) as caught:
        parse_deployments([chat(tags=tags)], CATALOG, ["ws"])
    return str(caught.value)


def test_tags_are_optional_sorted_and_each_kept_once() -> None:
    (untagged,) = parse_deployments([chat()], CATALOG, ["ws"])
    assert untagged.tags == ()
    (tagged,) = parse_deployments([chat(tags=["long-context", "code", "code"])], CATALOG, ["ws"])
    assert tagged.tags == ("code", "long-context")


@pytest.mark.parametrize(
    ("tags", "fragment"),
    [
        ("code", "'code' is not valid; expected a list of at most 16 capability tags"),
        ({"code": True}, "expected a list of at most 16"),
        (["Code"], "tag 'Code' is not valid"),
        (["code", 7], "tag 7 is not valid"),
        ([""], "tag '' is not valid"),
        (["-code"], "tag '-code' is not valid"),
        (["code\n"], "tag 'code\\n' is not valid"),
        (["c" * 33], "is not valid"),
        (["côde"], "tag 'côde' is not valid"),
        ([f"t{number}" for number in range(MAX_TAGS + 1)], "at most 16"),
    ],
)
def test_a_bad_tag_list_is_refused_naming_the_deployment_the_value_and_the_rule(
    tags: Any, fragment: str
) -> None:
    message = refusal(tags)
    assert "sovereign_deployments[0] (name 'chat').tags:" in message
    assert fragment in message
    assert "lower-case ASCII letters, digits and '-'" in message


def test_tags_is_a_known_key_and_a_near_miss_is_named() -> None:
    with pytest.raises(PlanInputError, match="did you mean 'tags'"):
        parse_deployments([chat(tag=["code"])], CATALOG, ["ws"])


def test_a_name_with_a_line_break_is_refused() -> None:
    with pytest.raises(PlanInputError, match=r"\.name: 'chat\\n' is not valid"):
        parse_deployments([{"name": "chat\n", "model": "Qwen/Qwen3-8B"}], CATALOG, ["ws"])


ODD_TEXT = st.text(
    st.characters(codec="utf-8") | st.sampled_from(["\n", "\r", "\t", " ", "\x00", "-", "a", "Z", "0"]),
    max_size=40,
) | st.text(st.sampled_from(sorted(TAG_CHARACTERS)), min_size=30, max_size=300)


@settings(max_examples=400, deadline=None)
@given(tags=st.lists(ODD_TEXT, max_size=MAX_TAGS + 2))
def test_any_text_is_a_valid_tag_or_a_refusal_that_says_where(tags: list[str]) -> None:
    try:
        (request,) = parse_deployments([chat(tags=tags)], CATALOG, ["ws"])
    except PlanInputError as error:
        assert "sovereign_deployments[0] (name 'chat').tags:" in str(error)
        return
    assert len(tags) <= MAX_TAGS
    for tag in request.tags:
        assert 1 <= len(tag) <= 32 and set(tag) <= TAG_CHARACTERS and tag[0] != "-", repr(tag)


@pytest.fixture(name="document", scope="module")
def fixture_document() -> dict[str, Any]:
    deployments = [
        chat(tags=["fast", "code"], hosts=["ws"]),
        {"name": "long", "model": "Qwen/Qwen3-8B", "replicas": 2, "tags": ["long-context"]},
        {"name": "plain", "model": "Qwen/Qwen3-4B", "hosts": ["mac"]},
    ]
    document, _fleet = compute_plan(HOSTVARS, deployments)
    return document


def _placed(document: dict[str, Any]) -> dict[tuple[str, str, int], list[str]]:
    return {
        (host, item["name"], item["replica"]): item["tags"]
        for host, entry in document["hosts"].items()
        for item in entry["deployments"]
    }


def test_plan_json_carries_each_replicas_tags(document: dict[str, Any]) -> None:
    placed = _placed(document)
    assert placed[("ws", "chat", 0)] == ["code", "fast"]
    assert sorted(tags for (_host, name, _replica), tags in placed.items() if name == "long") == [
        ["long-context"],
        ["long-context"],
    ]
    assert next(tags for (_host, name, _replica), tags in placed.items() if name == "plain") == []


def test_plan_md_shows_the_tags_in_the_deployments_table(document: dict[str, Any]) -> None:
    lines = plan_markdown(document).splitlines()
    header = next(line for line in lines if line.startswith("| Host | Deployment |"))
    assert header.endswith("| Decode tok/s | Tags |")
    row = next(line for line in lines if line.startswith("| ws | chat |"))
    assert row.endswith("| code, fast |")
    plain = next(line for line in lines if "| plain |" in line)
    assert plain.endswith("|  |")


def test_the_routing_table_reads_the_tags_from_the_plan(document: dict[str, Any]) -> None:
    table = {entry["name"]: entry for entry in fleet_routes({"plan": document}, "ws")["deployments"]}
    assert table["chat"]["tags"] == ["code", "fast"]
    assert table["long"]["tags"] == ["long-context"]
    assert table["plain"]["tags"] == []
