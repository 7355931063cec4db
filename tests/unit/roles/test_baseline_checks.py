# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The baseline role's checks of its settings (tasks/preflight.yml).

One ``ansible-playbook`` run on localhost: each case is an inventory host of its own with the
same good variables but one change, so the good one passes and every bad one stops, with a
message that names the variable, the value and what is valid, and only the setting that is wrong.
The SSH check needs a real sshd and its facts; it is left to the molecule scenario.
"""

from __future__ import annotations

from typing import Any

import local_playbook
import pytest

PLAYBOOK = """
- name: Check the variables as the role does
  hosts: all
  gather_facts: false
  tasks:
    - name: Run the role's checks
      ansible.builtin.include_role:
        name: sovereign.stack.baseline
        tasks_from: preflight
"""
GOOD: dict[str, Any] = {
    "baseline_ssh_enabled": False,
    "baseline_updates_mirror_host": "deb.example.internal",
    "baseline_timesync_servers": ["ntp1.example.internal"],
    "baseline_sysctl_extra": {"net.ipv4.tcp_rmem": "4096 131072 6291456", "vm.swappiness": 10},
}

# case -> (overrides of GOOD, text the failure must contain)
WINDOW = "baseline_updates_reboot_window_start"
EXTRA = "baseline_sysctl_extra"
BAD: dict[str, tuple[dict[str, Any], str]] = {
    "no_mirror": ({"baseline_updates_mirror_host": ""}, 'baseline_updates_mirror_host is ""'),
    "window": ({WINDOW: "25:00"}, f'{WINDOW} is "25:00"'),
    # YAML 1.1 reads an unquoted 03:00 as the number 180.
    "window_number": ({WINDOW: 180}, f"{WINDOW} is 180"),
    "window_newline": (
        {"baseline_updates_reboot_window_start": "03:00\n"},
        'baseline_updates_reboot_window_start is "03:00\\n"',
    ),
    "reboot_time": ({"baseline_updates_reboot_time": "3am"}, 'baseline_updates_reboot_time is "3am"'),
    "no_time_servers": ({"baseline_timesync_servers": []}, "baseline_timesync_servers is []"),
    "ptrace": ({"baseline_sysctl_ptrace_scope": 7}, "baseline_sysctl_ptrace_scope is 7"),
    # The names and values go into a file read at boot: a newline would add a line of its own.
    "newline_value": (
        {"baseline_sysctl_extra": {"vm.swappiness": "10\nkernel.modules_disabled=1"}},
        'baseline_sysctl_extra has "vm.swappiness": "10\\nkernel.modules_disabled=1"',
    ),
    "newline_name": (
        {"baseline_sysctl_extra": {"vm.swappiness\nkernel.sysrq": 1}},
        'baseline_sysctl_extra has "vm.swappiness\\nkernel.sysrq"',
    ),
    # Python's $ also matches before a final newline.
    "trailing_newline_name": (
        {"baseline_sysctl_extra": {"vm.swappiness\n": 1}},
        'baseline_sysctl_extra has "vm.swappiness\\n"',
    ),
    "trailing_newline_value": (
        {"baseline_sysctl_extra": {"vm.swappiness": "10\n"}},
        '"vm.swappiness": "10\\n"',
    ),
    "equals_in_name": ({"baseline_sysctl_extra": {"vm.a=b": 1}}, 'baseline_sysctl_extra has "vm.a=b"'),
    "dotdot_name": ({"baseline_sysctl_extra": {"net..ipv4": 1}}, 'baseline_sysctl_extra has "net..ipv4"'),
    "undotted_name": ({"baseline_sysctl_extra": {"swappiness": 1}}, 'baseline_sysctl_extra has "swappiness"'),
    "empty_value": ({EXTRA: {"vm.swappiness": ""}}, f'{EXTRA} has "vm.swappiness": ""'),
    "null_value": ({"baseline_sysctl_extra": {"vm.swappiness": None}}, '"vm.swappiness": null'),
    "list_value": ({"baseline_sysctl_extra": {"vm.swappiness": [1]}}, '"vm.swappiness": [1]'),
    "bool_value": ({"baseline_sysctl_extra": {"vm.swappiness": True}}, '"vm.swappiness": true'),
    "control_value": ({EXTRA: {"vm.swappiness": "1\x1b[2J"}}, '"vm.swappiness": "1\\u001b[2J"'),
}
# case -> texts its message must not hold (each message names only the setting that is wrong).
NOT_NAMED: dict[str, tuple[str, ...]] = {
    "no_mirror": ("reboot", "timesync", "ptrace"),
    "window": ("mirror", "timesync", "ptrace"),
    "no_time_servers": ("mirror", "reboot", "ptrace"),
    "ptrace": ("mirror", "reboot", "timesync"),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Host -> "" when its checks passed, else the message of the check that stopped it."""
    hosts = {"good": GOOD}
    hosts.update({name: {**GOOD, **overrides} for name, (overrides, _text) in BAD.items()})
    report = local_playbook.run(tmp_path_factory.mktemp("baseline_checks"), PLAYBOOK, hosts)
    return local_playbook.failure_messages(report, hosts)


def test_good_settings_pass(outcomes: dict[str, str]) -> None:
    assert outcomes["good"] == ""


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_naming_the_variable_and_the_value(case: str, outcomes: dict[str, str]) -> None:
    message = outcomes[case]
    assert message, f"{case} passed the checks"
    assert " ".join(BAD[case][1].split()) in " ".join(message.split())


@pytest.mark.parametrize("case", sorted(NOT_NAMED))
def test_a_message_names_only_the_setting_that_is_wrong(case: str, outcomes: dict[str, str]) -> None:
    message = outcomes[case]
    assert message, f"{case} passed the checks"
    named = [text for text in NOT_NAMED[case] if text in message]
    assert not named, f"{case}: the message also names {named}: {message}"
