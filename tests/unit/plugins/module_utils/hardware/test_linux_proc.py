# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""/proc/cpuinfo, /proc/meminfo and /etc/os-release."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.linux_proc import (
    MemInfo,
    parse_cpuinfo,
    parse_meminfo,
    parse_os_release,
)
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import ParseError

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "hardware"


def test_sapphire_rapids_has_avx512_and_amx() -> None:
    cpu = parse_cpuinfo((FIXTURES / "h100-sxm" / "proc" / "cpuinfo").read_text())
    assert (cpu.model, cpu.cores, cpu.threads) == ("Intel(R) Xeon(R) Platinum 8480+", 13, 26)
    assert cpu.features == {"avx2": True, "avx512": True, "amx": True, "neon": False}


def test_grace_cores_are_named_from_their_part_numbers() -> None:
    cpu = parse_cpuinfo((FIXTURES / "dgx-spark-gb10" / "proc" / "cpuinfo").read_text())
    assert (cpu.model, cpu.cores, cpu.threads) == ("Arm Cortex-A725 + Cortex-X925", 20, 20)
    assert cpu.features["neon"] is True and cpu.features["avx2"] is False


def test_unknown_arm_part_is_shown_by_number() -> None:
    cpu = parse_cpuinfo("processor\t: 0\nFeatures\t: fp asimd\nCPU implementer\t: 0x61\nCPU part\t: 0x022\n")
    assert cpu.model == "implementer 0x61 part 0x022"


def test_two_sockets_count_cores_per_package() -> None:
    blocks = []
    for n, (package, core) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1), (0, 0), (0, 1), (1, 0), (1, 1)]):
        blocks.append(
            f"processor\t: {n}\nmodel name\t: X\nphysical id\t: {package}\n"
            f"core id\t\t: {core}\nflags\t\t: sse2"
        )
    cpu = parse_cpuinfo("\n\n".join(blocks))
    assert (cpu.cores, cpu.threads) == (4, 8)


def test_cpuinfo_without_processors_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no 'processor' entries"):
        parse_cpuinfo("")


def test_meminfo_in_bytes() -> None:
    assert parse_meminfo(
        "MemTotal:       131600304 kB\nMemFree: 1 kB\nMemAvailable:   126771004 kB\n"
    ) == MemInfo(131600304 * 1024, 126771004 * 1024)


def test_old_kernel_without_memavailable() -> None:
    assert parse_meminfo("MemTotal: 1024 kB\n") == MemInfo(1048576, None)


def test_meminfo_without_memtotal_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no MemTotal"):
        parse_meminfo("MemFree: 1 kB\n")


def test_os_release_names() -> None:
    assert parse_os_release((FIXTURES / "cpu-only-epyc" / "etc" / "os-release").read_text()) == (
        "Debian",
        "12",
    )
    assert parse_os_release((FIXTURES / "strix-halo" / "etc" / "os-release").read_text()) == (
        "Fedora Linux",
        "42",
    )
    assert parse_os_release("# comment\nID=arch\n") == (None, None)
