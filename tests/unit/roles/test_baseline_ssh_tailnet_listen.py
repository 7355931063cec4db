# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""roles/baseline/files/usr/local/libexec/sovereign_ssh_tailnet_listen.py: the drop-in that makes
sshd listen on the tailnet address (issue 23: baseline ran twice so sshd could get it). Only an
IPv4 address in 100.64.0.0/10 ever becomes a ListenAddress line; the file is replaced only when
its text changes; an interface name the kernel could not have is refused."""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
from pathlib import Path
from types import ModuleType
from typing import Callable, Optional

import pytest
from hypothesis import given
from hypothesis import strategies as st

SCRIPT = (
    Path(__file__).resolve().parents[3]
    / "roles/baseline/files/usr/local/libexec/sovereign_ssh_tailnet_listen.py"
)
TAILNET = ipaddress.ip_network("100.64.0.0/10")


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sovereign_ssh_tailnet_listen", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LISTEN = _load()


def _reader(address: Optional[str]) -> Callable[[str], Optional[str]]:
    return lambda _interface: address


@pytest.mark.parametrize(
    ("address", "listens"),
    [("100.101.102.103", True), ("100.64.0.1", True), ("100.127.255.254", True),
     ("100.128.0.1", False), ("100.63.255.255", False), ("192.168.1.20", False), ("10.0.0.5", False),
     ("0.0.0.0", False), (None, False)],
)  # fmt: skip
def test_only_a_tailnet_address_becomes_a_listen_line(address: Optional[str], listens: bool) -> None:
    text = LISTEN.drop_in("tailscale0", read=_reader(address))
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == ([f"ListenAddress {address}"] if listens else [])


@given(st.ip_addresses(v=4))
def test_no_address_outside_the_tailnet_range_is_ever_written(address: ipaddress.IPv4Address) -> None:
    text = LISTEN.drop_in("tailscale0", read=_reader(str(address)))
    assert ("ListenAddress" in text) == (address in TAILNET)


def test_the_file_is_replaced_only_when_its_text_changes(tmp_path: Path) -> None:
    target = tmp_path / "tailnet-listen.conf"
    assert LISTEN.write_if_changed(str(target), "ListenAddress 100.64.0.9\n")
    first = target.stat().st_ino
    assert not LISTEN.write_if_changed(str(target), "ListenAddress 100.64.0.9\n")
    assert target.stat().st_ino == first
    assert LISTEN.write_if_changed(str(target), "# none\n")
    assert target.read_text() == "# none\n" and oct(target.stat().st_mode & 0o777) == "0o644"
    # Nothing but the file is left in the folder (sshd includes *.conf from it).
    assert os.listdir(tmp_path) == ["tailnet-listen.conf"]


@pytest.mark.parametrize("name", ["", "a/b", "eth 0", "tun\0", "x" * 16, "tailscale0\n"])
def test_an_interface_name_the_kernel_could_not_have_is_refused(name: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        LISTEN.valid_interface(name)


@given(st.text(max_size=20))
def test_interface_names_are_accepted_or_refused_never_crash(name: str) -> None:
    try:
        accepted = LISTEN.valid_interface(name)
    except argparse.ArgumentTypeError:
        return
    assert accepted == name and 0 < len(name.encode()) < 16 and "/" not in name


def test_the_loopback_interface_gives_no_listen_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real ioctl path: lo has 127.0.0.1, outside the tailnet range."""
    target = tmp_path / "tailnet-listen.conf"
    assert LISTEN.main(["--interface=lo", f"--output={target}"]) == 0
    assert "ListenAddress" not in target.read_text()
    assert "no tailnet address" in capsys.readouterr().out
    assert LISTEN.interface_ipv4("lo") == "127.0.0.1"
    assert LISTEN.interface_ipv4("no-such-if0") is None


def test_a_folder_it_cannot_write_is_exit_status_1(tmp_path: Path) -> None:
    assert LISTEN.main(["--interface=lo", f"--output={tmp_path}/missing/tailnet-listen.conf"]) == 1
