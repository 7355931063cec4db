# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The tailnet address wait of role tailscale (sovereign-tailnet-address.service): parsing of
`ip -j addr`, the bind test against real sockets on loopback, and the polling loop with an
injected address source and clock."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import shutil
import socket
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, List

import pytest

SCRIPT = (
    Path(__file__).resolve().parents[3]
    / "roles/tailscale/files/usr/local/libexec/sovereign_tailnet_address_wait.py"
)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sovereign_tailnet_address_wait", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wait_script = _load()


def _ip_json(*addresses: dict[str, Any], ifname: str = "tailscale0") -> str:
    """The shape of `ip -j addr show dev <ifname>` (iproute2 6.x)."""
    return json.dumps(
        [
            {
                "ifindex": 7,
                "ifname": ifname,
                "flags": ["POINTOPOINT", "MULTICAST", "NOARP", "UP", "LOWER_UP"],
                "mtu": 1280,
                "operstate": "UNKNOWN",
                "addr_info": list(addresses),
            }
        ]
    )


V4 = {"family": "inet", "local": "100.101.102.103", "prefixlen": 32, "scope": "global"}
V6 = {"family": "inet6", "local": "fd7a:115c:a1e0::1a2b", "prefixlen": 128, "scope": "global"}
LINK_LOCAL = {"family": "inet6", "local": "fe80::1234", "prefixlen": 64, "scope": "link"}


def _always(error: str | None) -> Callable[[Any], str | None]:
    return lambda _address: error


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: List[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _ipv6_loopback_works() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_only_tailnet_addresses_of_the_interface_count() -> None:
    other = {"family": "inet", "local": "192.168.1.5", "prefixlen": 24}
    outside_cgnat = {"family": "inet", "local": "100.128.0.1", "prefixlen": 32}
    found = wait_script.tailnet_addresses(_ip_json(V4, V6, LINK_LOCAL, other, outside_cgnat), "tailscale0")
    assert found == [ipaddress.ip_address("100.101.102.103"), ipaddress.ip_address("fd7a:115c:a1e0::1a2b")]
    assert wait_script.tailnet_addresses(_ip_json(V4, ifname="eth0"), "tailscale0") == []


@pytest.mark.parametrize("flag", ["tentative", "dadfailed"])
def test_ipv6_addresses_in_duplicate_address_detection_are_left_out(flag: str) -> None:
    assert wait_script.tailnet_addresses(_ip_json(dict(V6, **{flag: True})), "tailscale0") == []


@pytest.mark.parametrize("output", ["", "[]", "not json", "{}", '[{"ifname": "tailscale0"}]'])
def test_no_interface_or_unreadable_output_means_no_address(output: str) -> None:
    assert wait_script.tailnet_addresses(output, "tailscale0") == []


def test_binding_a_loopback_address_works_and_an_absent_address_does_not() -> None:
    assert wait_script.bind_error(ipaddress.ip_address("127.0.0.1")) is None
    # TEST-NET-3 is never assigned to this machine: the kernel refuses the bind.
    assert wait_script.bind_error(ipaddress.ip_address("203.0.113.7")) == "EADDRNOTAVAIL"


def test_an_address_listed_but_not_bindable_is_not_ready() -> None:
    """What the upstream race looks like: status and `ip addr` agree, the kernel does not yet."""
    addresses = [ipaddress.ip_address("100.101.102.103")]
    reasons = wait_script.missing(addresses, False, _always("EADDRNOTAVAIL"))
    assert reasons == [
        "no bindable IPv4 address in 100.64.0.0/10",
        "100.101.102.103 does not bind (EADDRNOTAVAIL)",
    ]
    assert wait_script.missing(addresses, False, _always(None)) == []


def test_ipv6_is_required_only_when_asked() -> None:
    addresses = [ipaddress.ip_address("100.101.102.103")]
    assert wait_script.missing(addresses, False, _always(None)) == []
    assert wait_script.missing(addresses, True, _always(None)) == [
        "no bindable IPv6 address in fd7a:115c:a1e0::/48"
    ]


def test_an_expected_address_must_be_on_the_interface() -> None:
    present = [ipaddress.ip_address("100.101.102.103")]
    expected = [ipaddress.ip_address("100.64.0.9")]
    assert wait_script.missing(present, False, _always(None), expected) == [
        "100.64.0.9 is not on the interface"
    ]
    assert wait_script.missing(present, False, _always(None), present) == []


def test_waits_until_the_address_appears_then_returns() -> None:
    outputs = iter(["[]", "[]", _ip_json(LINK_LOCAL), _ip_json(V4, LINK_LOCAL)])
    clock = FakeClock()
    addresses, reasons = wait_script.wait(
        lambda: next(outputs),
        interface="tailscale0",
        timeout=10,
        interval=0.5,
        binder=_always(None),
        clock=clock,
        sleep=clock.sleep,
    )
    assert reasons == []
    assert addresses == [ipaddress.ip_address("100.101.102.103")]
    assert clock.sleeps == [0.5, 0.5, 0.5]


def test_gives_up_after_the_timeout_saying_what_is_missing() -> None:
    clock = FakeClock()
    addresses, reasons = wait_script.wait(
        lambda: "[]",
        interface="tailscale0",
        timeout=3,
        interval=1,
        binder=_always(None),
        clock=clock,
        sleep=clock.sleep,
    )
    assert addresses == []
    assert reasons == ["no bindable IPv4 address in 100.64.0.0/10"]
    assert clock.now == 3


def test_main_exit_status_and_messages(capsys: pytest.CaptureFixture[str]) -> None:
    assert wait_script.main(["--timeout", "0"], source=lambda: _ip_json(V4)) == 1
    assert "100.101.102.103 does not bind (EADDRNOTAVAIL)" in capsys.readouterr().err
    assert wait_script.main(["--timeout", "0", "--interface", "eth9"], source=lambda: _ip_json(V4)) == 1
    assert "eth9: not ready after 0 s" in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad:
        wait_script.main(["--interval", "0"], source=lambda: "[]")
    assert bad.value.code == 2
    with pytest.raises(SystemExit) as not_an_address:
        wait_script.main(["--expect", "tailscale0"], source=lambda: "[]")
    assert not_an_address.value.code == 2


def test_main_succeeds_on_a_bindable_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Loopback stands in for the tailnet range so that the real bind() runs."""
    monkeypatch.setattr(wait_script, "TAILNET_IPV4", ipaddress.ip_network("127.0.0.0/8"))
    loopback = {"family": "inet", "local": "127.0.0.1", "prefixlen": 8}
    assert (
        wait_script.main(
            ["--timeout", "0", "--interface", "lo"], source=lambda: _ip_json(loopback, ifname="lo")
        )
        == 0
    )
    assert capsys.readouterr().out == "lo: ready, bindable: 127.0.0.1\n"
    expect_other = ["--timeout", "0", "--interface", "lo", "--expect", "127.0.0.2"]
    assert wait_script.main(expect_other, source=lambda: _ip_json(loopback, ifname="lo")) == 1
    assert "127.0.0.2 is not on the interface" in capsys.readouterr().err


@pytest.mark.skipif(not _ipv6_loopback_works(), reason="no IPv6 on this machine")
def test_ipv6_bind_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wait_script, "TAILNET_IPV6", ipaddress.ip_network("::1/128"))
    assert wait_script.bind_error(ipaddress.ip_address("::1")) is None
    assert wait_script.bind_error(ipaddress.ip_address("fd7a:115c:a1e0::1")) == "EADDRNOTAVAIL"


def test_the_real_ip_command_reports_loopback_addresses() -> None:
    """ip_json_source against this machine's `ip`: lo exists, a missing interface gives []."""
    if shutil.which("ip") is None:
        pytest.skip("no ip command")
    assert json.loads(wait_script.ip_json_source("lo")())[0]["ifname"] == "lo"
    assert wait_script.ip_json_source("sovereign-none0")() == "[]"
