# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The firewall role's ruleset, rendered with several variable sets and checked by the real ``nft -c``.

``nft -c -f`` parses the file and sends it to the kernel as a check-only transaction (nothing is
loaded); it needs nftables installed and CAP_NET_ADMIN. Where either is missing those checks are
skipped and molecule/firewall runs them on the hardened host.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "firewall"
RULESET = ROLE / "templates" / "etc" / "sovereign" / "firewall" / "sovereign.nft.j2"
UNIT = ROLE / "templates" / "etc" / "systemd" / "system" / "sovereign-firewall.service.j2"
NFT = shutil.which("nft") or "/usr/sbin/nft"
GETENT = {"root": ["x", "0", "0", "root", "/root", "/bin/bash"]}

FULL = {
    "firewall_admin_networks": ["192.168.10.0/24", "10.20.0.7", "fd00:10::/64"],
    "firewall_tailnet_tcp_ports": [443, 22],
    "firewall_tailnet_udp_ports": [5353],
    "firewall_container_subnets": ["172.30.0.0/16", "172.31.5.0/24", "fd00:c0::/64"],
    "firewall_mirror_addresses": [
        {"address": "10.20.0.5", "ports": [80, 3142]},
        {"address": "fd00:10::5", "ports": [443]},
        {"address": "10.20.0.6", "ports": [123], "protocol": "udp"},
    ],
    "firewall_dns_resolvers": ["10.20.0.53", "fd00:10::53"],
    "firewall_input_extra_rules": ["ip saddr 10.20.0.0/24 tcp dport 9100 accept"],
    "getent": {
        **GETENT,
        "sovereign-engine": ["x", "998", "998", "", "/var/lib/sovereign", "/usr/sbin/nologin"],
        "sovereign-qdrant": ["x", "997", "997", "", "/var/lib/qdrant", "/usr/sbin/nologin"],
    },
    # The service roles' records (tasks/output.yml of each); sovereign-opa has no account here.
    "local_facts": {
        "sovereign_engine": {"service_user": "sovereign-engine", "ports": {"chat": 8001}},
        "sovereign_qdrant": {"service_user": "sovereign-qdrant", "ports": {"http": 6333, "grpc": 6334}},
        "sovereign_opa": {"service_user": "sovereign-opa", "ports": {"http": 8181}},
    },
}
VARIABLE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "full": FULL,
    "ipv6_only": {
        "firewall_admin_networks": ["fd00:10::/64"],
        "firewall_tailnet_ranges": ["fd7a:115c:a1e0::/48"],
        "firewall_container_subnets": ["fd00:c0::/64"],
        "firewall_dns_resolvers": ["fd00:10::53"],
        "firewall_tailnet_tcp_ports": [],
        "firewall_tailscale_udp_port": 0,
    },
    "overlapping_networks": {
        "firewall_admin_networks": ["10.0.0.0/8", "10.20.0.0/16", "10.20.0.7"],
        "firewall_container_subnets": ["172.16.0.0/12", "172.17.0.0/16"],
    },
    "other_interface": {"firewall_tailnet_interface": "wg-tail", "firewall_log_rate": "3/second"},
}


def render(template: Path, overrides: dict[str, Any]) -> str:
    """Render ``template`` with the role's defaults and vars as the template task does."""
    overrides = dict(overrides)
    getent = overrides.pop("getent", GETENT)
    local_facts = overrides.pop("local_facts", {})
    variables: dict[str, Any] = {}
    for relative in ("defaults/main.yml", "vars/main.yml", "vars/Debian.yml"):
        # Role files are trusted templates, as Ansible's loader marks them.
        loaded = yaml.safe_load((ROLE / relative).read_text())
        variables.update({k: trust_as_template(v) if isinstance(v, str) else v for k, v in loaded.items()})
    variables.update(overrides)
    variables["ansible_facts"] = {
        "getent_passwd": getent,
        **({"ansible_local": local_facts} if local_facts else {}),
    }
    variables["ansible_managed"] = "Ansible managed"
    templar = Templar(loader=DataLoader(), variables=variables)
    return str(templar.template(trust_as_template(template.read_text())))


def nft_check(ruleset: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "sovereign.nft"
    path.write_text(ruleset)
    return subprocess.run([NFT, "-c", "-f", str(path)], capture_output=True, text=True, check=False)


def nft_can_check() -> bool:
    if not os.access(NFT, os.X_OK):
        return False
    probe = subprocess.run(
        [NFT, "-c", "-f", "-"],
        input="table inet sovereign_probe {}\n",
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0


needs_nft = pytest.mark.skipif(not nft_can_check(), reason="nft -c needs nftables and CAP_NET_ADMIN")


def chain(ruleset: str, name: str) -> list[str]:
    """The rules of one chain: no comments, blank lines or base chain declaration."""
    body = re.search(rf"\n\tchain {name} {{\n(.*?)\n\t}}", ruleset, re.S)
    assert body, name
    lines = [line.strip() for line in body.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "type filter hook"))]


@needs_nft
@pytest.mark.parametrize("name", sorted(VARIABLE_SETS))
def test_every_variable_set_renders_a_ruleset_nft_accepts(name: str, tmp_path: Path) -> None:
    result = nft_check(render(RULESET, VARIABLE_SETS[name]), tmp_path)
    assert result.returncode == 0, result.stderr


@needs_nft
@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"firewall_input_extra_rules": ["tcp dport 8080 acept"]}, "syntax error"),
        ({"firewall_admin_networks": ["192.168.10.0/33"]}, "Error"),
        ({"firewall_mirror_addresses": [{"address": "10.20.0.5", "ports": [70000]}]}, "Error"),
    ],
    ids=["misspelt_extra_rule", "bad_prefix", "port_out_of_range"],
)
def test_nft_refuses_broken_rules(overrides: dict[str, Any], complaint: str, tmp_path: Path) -> None:
    result = nft_check(render(RULESET, overrides), tmp_path)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_only_our_table_is_replaced_and_nothing_flushes_the_ruleset() -> None:
    ruleset = render(RULESET, FULL)
    commands = [line for line in ruleset.splitlines() if line and not line.startswith(("#", "\t", "}"))]
    assert commands == [
        "table inet sovereign",
        "delete table inet sovereign",
        "table inet sovereign {",
    ]
    assert not [line for line in ruleset.splitlines() if "flush" in line and not line.startswith("#")]
    assert re.findall(r"^(?:delete )?table (\S+ \S+)", ruleset, re.M) == ["inet sovereign"] * 3


def test_base_chains_hook_before_iptables_nft_and_input_drops_by_default() -> None:
    ruleset = render(RULESET, {})
    hooks = re.findall(r"type filter hook (\w+) priority ([^;]+); policy (\w+);", ruleset)
    assert hooks == [
        ("input", "filter - 10", "drop"),
        ("output", "filter - 10", "accept"),
        ("forward", "filter - 10", "drop"),
    ]


def test_the_host_forwards_for_its_containers_only_and_counts_the_rest() -> None:
    """Issue 20: with forwarding on, LAN traffic was forwarded out of tailscale0 to a tailnet peer."""
    assert chain(render(RULESET, FULL), "forward") == [
        "ct state established,related accept",
        "ip saddr @container_v4 goto container_egress",
        "ip6 saddr @container_v6 goto container_egress",
        "ip daddr @container_v4 goto container_ingress",
        "ip6 daddr @container_v6 goto container_ingress",
        "goto drop_forward",
    ]


def test_nginx_account_recorded_by_the_tls_proxy_is_restricted_too() -> None:
    """The worker account comes from role tls_proxy's record on the host, never a copied literal."""
    www = ["x", "33", "33", "", "/var/www", "/usr/sbin/nologin"]
    recorded = {"sovereign_tls_proxy": {"worker_user": "www-data"}}
    rules = chain(render(RULESET, {"getent": {**GETENT, "www-data": www}, "local_facts": recorded}), "output")
    assert rules == ["oif lo accept", 'meta skuid 33 goto service_egress comment "www-data"']
    switched_off = {"getent": {**GETENT, "www-data": www}, "local_facts": recorded}
    switched_off["firewall_restrict_tls_proxy_user"] = False
    assert chain(render(RULESET, switched_off), "output") == ["oif lo accept"]
    assert chain(render(RULESET, {"getent": {**GETENT, "www-data": www}}), "output") == ["oif lo accept"]


def test_input_allows_loopback_state_icmp_tailnet_ports_and_admin_ssh_only() -> None:
    rules = chain(render(RULESET, FULL), "input")
    assert rules[:3] == [
        "iif lo accept",
        "ct state established,related accept",
        "ct state invalid goto drop_input",
    ]
    assert 'iifname "tailscale0" tcp dport { 443, 22 } accept' in rules
    assert 'iifname "tailscale0" udp dport { 5353 } accept' in rules
    assert "ip saddr @admin_v4 tcp dport 22 accept" in rules
    assert "ip6 saddr @admin_v6 tcp dport 22 accept" in rules
    assert 'iifname != "tailscale0" udp dport 41641 accept' in rules
    assert any("nd-neighbor-solicit" in rule and "hoplimit 255" in rule for rule in rules)
    assert any("packet-too-big" in rule for rule in rules)
    assert rules[-2:] == ["ip saddr 10.20.0.0/24 tcp dport 9100 accept", "goto drop_input"]
    accepts = [rule for rule in rules if rule.endswith("accept")]
    assert len(accepts) == 12


def test_without_tailnet_ports_no_tailnet_rule_is_written() -> None:
    rules = chain(render(RULESET, VARIABLE_SETS["ipv6_only"]), "input")
    assert not any("tailnet" in rule or "tailscale0" in rule for rule in rules)


def test_service_users_are_matched_by_uid_and_missing_users_are_left_out() -> None:
    rules = chain(render(RULESET, FULL), "output")
    assert rules == [
        "oif lo accept",
        'meta skuid 998 goto service_egress comment "sovereign-engine"',
        'meta skuid 997 goto service_egress comment "sovereign-qdrant"',
    ]
    assert chain(render(RULESET, {}), "output") == ["oif lo accept"]


LLM = ["x", "996", "996", "", "/var/lib/sovereign-engine", "/usr/sbin/nologin"]


def test_a_renamed_engine_account_stays_restricted_from_the_engine_roles_record() -> None:
    """Issue 23: the accounts come from the service roles' records, never from copied literals."""
    renamed = {
        "getent": {**GETENT, "sovereign-llm": LLM},
        "local_facts": {"sovereign_engine": {"service_user": "sovereign-llm", "ports": {"chat": 8001}}},
    }
    assert chain(render(RULESET, renamed), "output") == [
        "oif lo accept",
        'meta skuid 996 goto service_egress comment "sovereign-llm"',
    ]


def test_only_sovereign_records_with_an_account_add_users_and_extra_users_join_once() -> None:
    facts = {
        "sovereign_engine": {"service_user": "sovereign-llm", "ports": {"chat": 8001}},
        # Records without an account, a foreign fact, and a fact file Ansible could not parse.
        "sovereign_tailscale": {"interface": "tailscale0", "ports": {"wireguard": 41641}},
        "site_inventory": {"service_user": "sovereign-qdrant"},
        "sovereign_broken": "error loading facts as JSON or ini",
    }
    getent = {**GETENT, "sovereign-llm": LLM, **FULL["getent"]}
    extra = {
        "getent": getent,
        "local_facts": facts,
        "firewall_egress_restricted_users": ["sovereign-llm", "sovereign-engine"],
    }
    assert chain(render(RULESET, extra), "output") == [
        "oif lo accept",
        'meta skuid 996 goto service_egress comment "sovereign-llm"',
        'meta skuid 998 goto service_egress comment "sovereign-engine"',
    ]


def test_the_tailnet_interface_is_the_one_the_tailscale_role_recorded() -> None:
    recorded = {
        "local_facts": {"sovereign_tailscale": {"interface": "ts-lab", "ports": {"wireguard": 41641}}}
    }
    rules = chain(render(RULESET, recorded), "input")
    assert 'iifname "ts-lab" tcp dport { 443 } accept' in rules
    assert 'iifname != "ts-lab" udp dport 41641 accept' in rules
    assert 'iifname "tailscale0" tcp dport { 443 } accept' in chain(render(RULESET, {}), "input")


def test_the_wireguard_port_is_the_one_the_tailscale_role_recorded() -> None:
    """Issue 23: a tailscale_port changed in the inventory reaches the firewall through the record."""
    recorded = {
        "local_facts": {"sovereign_tailscale": {"interface": "tailscale0", "ports": {"wireguard": 41700}}}
    }
    rules = chain(render(RULESET, recorded), "input")
    assert 'iifname != "tailscale0" udp dport 41700 accept' in rules
    assert not any("41641" in rule for rule in rules)
    # Before the role ran: tailscaled's own default; an inventory's 0 still opens none.
    assert 'iifname != "tailscale0" udp dport 41641 accept' in chain(render(RULESET, {}), "input")
    closed = chain(render(RULESET, {**recorded, "firewall_tailscale_udp_port": 0}), "input")
    assert not any("udp dport 41" in rule for rule in closed)


def test_egress_allows_tailnet_mirror_and_dns_then_counts_and_drops() -> None:
    ruleset = render(RULESET, FULL)
    assert chain(ruleset, "allowed_egress") == [
        "ip daddr @tailnet_v4 accept",
        "ip6 daddr @tailnet_v6 accept",
        "ip daddr 10.20.0.5 tcp dport { 80, 3142 } accept",
        "ip6 daddr fd00:10::5 tcp dport { 443 } accept",
        "ip daddr 10.20.0.6 udp dport { 123 } accept",
        "ip daddr @dns_v4 meta l4proto { tcp, udp } th dport 53 accept",
        "ip6 daddr @dns_v6 meta l4proto { tcp, udp } th dport 53 accept",
    ]
    assert chain(ruleset, "service_egress") == [
        "ct state established,related accept",
        "jump allowed_egress",
        "goto drop_service_egress",
    ]
    assert chain(ruleset, "container_egress")[-2:] == ["jump allowed_egress", "goto drop_container_egress"]
    assert chain(ruleset, "container_ingress") == [
        'iifname "tailscale0" accept',
        "goto drop_container_ingress",
    ]


def test_sets_hold_each_family_apart() -> None:
    ruleset = render(RULESET, FULL)
    assert "elements = { 192.168.10.0/24, 10.20.0.7 }" in ruleset
    assert "elements = { fd00:10::/64 }" in ruleset
    assert "elements = { 172.30.0.0/16, 172.31.5.0/24 }" in ruleset
    assert "elements = { 100.64.0.0/10 }" in ruleset
    assert "elements = { fd7a:115c:a1e0::/48 }" in ruleset


@pytest.mark.parametrize(
    "name", ["input", "service_egress", "container_egress", "container_ingress", "forward"]
)
def test_every_drop_is_counted_and_logged_with_a_rate_limit(name: str) -> None:
    ruleset = render(RULESET, {"firewall_log_rate": "3/second", "firewall_log_burst": 7})
    words = name.replace("_", " ")
    assert f"counter {name}_dropped {{" in ruleset
    assert chain(ruleset, f"drop_{name}") == [
        f'counter name "{name}_dropped"',
        f'limit rate 3/second burst 7 packets log prefix "sovereign-fw {words} drop: " level info',
        "drop",
    ]


def test_every_drop_statement_is_in_a_counting_chain() -> None:
    ruleset = render(RULESET, FULL)
    chains = re.findall(r"\n\tchain (\w+) {", ruleset)
    for name in chains:
        for rule in chain(ruleset, name):
            if rule == "drop" or rule.endswith(" drop"):
                assert name.startswith("drop_"), (name, rule)


def test_the_boot_unit_loads_the_file_and_survives_nftables_service() -> None:
    unit = render(UNIT, {})
    assert "ExecStart=/usr/sbin/nft -f /etc/sovereign/firewall/sovereign.nft" in unit
    assert "After=local-fs.target nftables.service" in unit
    assert "Before=network-pre.target shutdown.target" in unit
    assert "ExecStop" not in unit
    assert "WantedBy=sysinit.target" in unit
