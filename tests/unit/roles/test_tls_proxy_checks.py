# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The tls_proxy role's checks of the fallbacks and the fleet client (tasks/preflight.yml).

One ``ansible-playbook`` run on localhost: each case is an inventory host of its own with the
same good variables but one change, so the good one passes and every bad one stops, with a
message that names the variable, the value and what is valid.
"""

from __future__ import annotations

from typing import Any

import local_playbook
import pytest

PLAYBOOK = """
- name: Check the variables as the role does
  hosts: all
  gather_facts: true
  gather_subset: ["!all", "!min", "network"]
  tasks:
    - name: Run the role's checks
      ansible.builtin.include_role:
        name: sovereign.stack.tls_proxy
        tasks_from: preflight
"""
# The host's own first address: the checks refuse listen addresses the host does not have.
OWN = "{{ ansible_facts['all_ipv4_addresses'] | first }}"
PEER = {"url": "https://100.64.0.2", "name": "b.tail1234.ts.net"}
LOCATION = "tls_proxy_locations entry /v1/ has fallbacks entry"


def _location(*fallbacks: Any, **extra: Any) -> list[dict[str, Any]]:
    return [{"path": "/v1/", "upstream": "http://127.0.0.1:8000", "fallbacks": list(fallbacks), **extra}]


GOOD: dict[str, Any] = {
    "tls_proxy_listen_addresses": [OWN],
    # The fact tailscale_ranges of role tailscale, which this test does not run.
    "tailscale_ranges": ["100.64.0.0/10", "fd7a:115c:a1e0::/48"],
    "tls_proxy_clients": ["alice"],
    "tls_proxy_locations": _location(PEER, {"url": "https://[fd7a:115c:a1e0::2]:8443/"}),
}

# case -> (overrides of GOOD, text the failure must contain)
BAD: dict[str, tuple[dict[str, Any], str]] = {
    "http": (
        {"tls_proxy_locations": _location({"url": "http://100.64.0.2"})},
        f'{LOCATION} {{"url": "http://100.64.0.2"}}',
    ),
    "loopback": (
        {"tls_proxy_locations": _location({"url": "https://127.0.0.1"})},
        "never a wildcard, a loopback",
    ),
    "wildcard": ({"tls_proxy_locations": _location({"url": "https://0.0.0.0"})}, '"https://0.0.0.0"'),
    "ipv6_wildcard": ({"tls_proxy_locations": _location({"url": "https://[::]"})}, '"https://[::]"'),
    "itself": ({"tls_proxy_locations": _location({"url": f"https://{OWN}"})}, "one of this host's"),
    "path": (
        {"tls_proxy_locations": _location({"url": "https://100.64.0.2/v1/"})},
        '"https://100.64.0.2/v1/"',
    ),
    "port": (
        {"tls_proxy_locations": _location({"url": "https://100.64.0.2:70000"})},
        "port 70000 is not 1 to 65535",
    ),
    "dns_name": (
        {"tls_proxy_locations": _location({"url": "https://b.ts.net"})},
        "an IPv4 address or a bracketed",
    ),
    "bad_name": ({"tls_proxy_locations": _location({"url": PEER["url"], "name": "b ts"})}, '"name": "b ts"'),
    "twice": ({"tls_proxy_locations": _location(PEER, PEER)}, "each URL once per location"),
    "not_a_mapping": (
        {"tls_proxy_locations": _location("https://100.64.0.2")},
        f'{LOCATION} "https://100.64.0.2"',
    ),
    "upstream_auth": (
        {"tls_proxy_locations": _location(PEER, auth="upstream")},
        'auth "proxy" (now "upstream")',
    ),
    "certificates": (
        {"tls_proxy_auth": "client_certificate", "tls_proxy_clients": []},
        'tls_proxy_auth "bearer" (now "client_certificate")',
    ),
    "no_fleet_client": ({"tls_proxy_fleet_client": ""}, 'tls_proxy_fleet_client (now "")'),
    "fleet_is_a_client": (
        {"tls_proxy_clients": ["alice", "fleet"]},
        'tls_proxy_fleet_client "fleet" must be',
    ),
    "fleet_name": ({"tls_proxy_fleet_client": "the fleet"}, 'tls_proxy_fleet_client "the fleet" must be'),
    "connect_timeout": ({"tls_proxy_fallback_connect_timeout": 0}, "tls_proxy_fallback_connect_timeout (0)"),
    # Issue 20: Nginx's unit lets these networks in; without tailscale's fact there are none.
    "no_client_networks": ({"tailscale_ranges": []}, "tls_proxy_client_networks is []"),
    "every_address": (
        {"tls_proxy_client_networks": ["0.0.0.0/0"]},
        'tls_proxy_client_networks is ["0.0.0.0/0"]',
    ),
    "not_a_network": ({"tls_proxy_client_networks": ["tailnet"]}, 'tls_proxy_client_networks is ["tailnet"]'),
    "probe_is_the_fleet": ({"tls_proxy_probe_client": "fleet"}, 'tls_proxy_probe_client "fleet"'),
    "probe_is_a_client": (
        {"tls_proxy_clients": ["alice", "health-probe"]},
        'tls_proxy_probe_client "health-probe"',
    ),
    # Issue 23: the settings' checks, one message per wrong setting.
    "rate_limit": ({"tls_proxy_rate_limit": "10/s"}, 'tls_proxy_rate_limit "10/s" must be N r/s or N r/m'),
    "renew_days": (
        {"tls_proxy_certificate_renew_days": 400},
        "tls_proxy_certificate_renew_days (400) must be at least 1 and fewer than"
        " tls_proxy_certificate_days (365)",
    ),
    "two_settings": (
        {"tls_proxy_port": 0, "tls_proxy_hsts_max_age": -1},
        "tls_proxy_port 0 must be a port, 1 to 65535. tls_proxy_hsts_max_age (-1) must be at least 0.",
    ),
}
# case -> texts its message must not hold: each message names only the rules the input breaks
# (issue 23: a check that packed a dozen conditions under one message named them all).
NOT_NAMED: dict[str, tuple[str, ...]] = {
    "rate_limit": ("tls_proxy_server_names", "tls_proxy_certificate_days (", "tls_proxy_hsts_max_age"),
    "two_settings": ("tls_proxy_rate_limit", "tls_proxy_profile"),
    "port": ("tls_proxy_fleet_client", "each URL once", "its name"),
    "twice": ("tls_proxy_auth", "its port"),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Host -> "" when its checks passed, else the message of the check that stopped it."""
    hosts = {"good": GOOD}
    hosts.update({name: {**GOOD, **overrides} for name, (overrides, _text) in BAD.items()})
    report = local_playbook.run(tmp_path_factory.mktemp("tls_proxy_checks"), PLAYBOOK, hosts)
    return local_playbook.failure_messages(report, hosts)


def test_good_fallbacks_pass(outcomes: dict[str, str]) -> None:
    assert outcomes["good"] == ""


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_refused_naming_the_variable_and_the_value(case: str, outcomes: dict[str, str]) -> None:
    message = outcomes[case]
    assert message, f"{case} passed the checks"
    assert " ".join(BAD[case][1].split()) in " ".join(message.split())


@pytest.mark.parametrize("case", sorted(NOT_NAMED))
def test_a_message_names_only_the_rules_the_input_breaks(case: str, outcomes: dict[str, str]) -> None:
    message = outcomes[case]
    assert message, f"{case} passed the checks"
    named = [text for text in NOT_NAMED[case] if text in message]
    assert not named, f"{case}: the message also names {named}: {message}"
