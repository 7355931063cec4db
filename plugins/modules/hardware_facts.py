#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Ansible module ``sovereign.stack.hardware_facts``: the host's hardware as one fact."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: hardware_facts
short_description: Detect CPU, memory, GPUs, unified memory and model disk as the C(sovereign_hardware) fact
version_added: 0.1.0
description:
  - Reads the hardware of a Linux or macOS host and returns it as C(ansible_facts.sovereign_hardware),
    in the shape described in the collection's C(docs/dev/contracts.md) (section 1) and C(docs/hardware.md).
  - On Linux it asks C(nvidia-smi) (GPUs, memory, compute capability, NVLink peers from
    C(nvidia-smi topo -m)),
    C(amd-smi) or else C(rocm-smi) (AMD GPUs, VRAM, GTT, gfx target, xGMI peers), C(lspci -nn -D) (GPUs that
    no vendor tool describes), C(/proc/cpuinfo), C(/proc/meminfo), C(/etc/os-release) and the amdgpu driver's
    sysfs counters.
  - On macOS it asks C(system_profiler), C(sysctl), C(vm_stat) and C(sw_vers).
  - Unified memory is reported for DGX Spark (GB10, whose memory C(nvidia-smi) reports as C([N/A])),
    AMD APUs such as Strix Halo (BIOS carve-out plus GTT) and Apple Silicon (C(iogpu.wired_limit_mb), or the
    macOS default when it is 0).
  - A missing, failing, slow or unreadable tool becomes a line in C(warnings); the module never fails for it.
    A host without GPUs is reported with C(gpus=[]).
  - The module only reads; it never changes the host.
author:
  - sovereign.stack contributors (@sovereign-stack)
options:
  model_dir:
    description:
      - Directory that holds (or will hold) model weights. The free space of its filesystem is reported.
      - When it does not exist yet, the nearest existing parent directory is measured.
    type: path
    default: /var/lib/sovereign/models
  tools_timeout:
    description:
      - Seconds each detection command may run before it is killed and reported in C(warnings).
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    details: The module only reads the host, so check mode runs it unchanged.
  diff_mode:
    support: none
    details: Nothing is changed, so there is no diff.
  facts:
    support: full
    details: Returns C(ansible_facts.sovereign_hardware).
  platform:
    details: Reads the vendor tools (C(nvidia-smi), C(amd-smi), C(rocm-smi), C(system_profiler)) where
      present; needs only Python's standard library.
extends_documentation_fragment:
  - sovereign.stack.platform
  - action_common_attributes
  - action_common_attributes.facts
notes:
  - GPU indexes count per vendor, like C(CUDA_VISIBLE_DEVICES) and C(HIP_VISIBLE_DEVICES).
  - C(pci_bus_id) is printed as the vendor tool prints it (C(nvidia-smi) uses an 8-digit domain).
  - The collection's C(docs/hardware.md) says what is detected on each platform, and the recorded fixtures.
"""

EXAMPLES = r"""
- name: Detect hardware
  sovereign.stack.hardware_facts:

- name: Measure free disk where models will be stored, waiting up to 60 s for slow tools
  sovereign.stack.hardware_facts:
    model_dir: /srv/models
    tools_timeout: 60

- name: Show GPU memory
  ansible.builtin.debug:
    msg: "{{ ansible_facts['sovereign_hardware']['gpus'] | map(attribute='memory_total_bytes') | list }}"
"""

RETURN = r"""
ansible_facts:
  description: Facts set on the host.
  returned: always
  type: dict
  contains:
    sovereign_hardware:
      description: The host's hardware. Sizes in bytes, null where unknown.
      returned: always
      type: dict
      contains:
        source:
          description: Always C(detected) from this module (C(declared) comes from the inventory).
          type: str
          returned: always
          sample: detected
        os:
          description: C(system), C(distribution), C(version), C(kernel) and C(arch).
          type: dict
          returned: always
          sample: {system: Linux, distribution: Debian, version: "12", kernel: 6.1.0-28-amd64, arch: x86_64}
        cpu:
          description: C(model), physical C(cores), hardware C(threads), C(arch) and C(features)
            (C(avx2), C(avx512), C(amx), C(neon)).
          type: dict
          returned: always
          sample: {model: AMD EPYC 9654 96-Core Processor, cores: 96, threads: 192, arch: x86_64,
                   features: {avx2: true, avx512: true, amx: false, neon: false}}
        memory:
          description: System memory, C(total_bytes) and C(available_bytes).
          type: dict
          returned: always
          sample: {total_bytes: 811749937152, available_bytes: 790273425408}
        gpus:
          description:
            - One entry per GPU with C(index), C(vendor) (nvidia, amd, apple, intel), C(name),
              C(pci_device_id), C(pci_bus_id), C(memory_total_bytes), C(memory_free_bytes),
              C(compute_capability) (NVIDIA), C(gfx_arch) (AMD), C(driver_version), C(unified_memory)
              and C(nvlink_peers).
            - Empty on a host without GPUs.
          type: list
          elements: dict
          returned: always
          sample:
            - {index: 0, vendor: nvidia, name: NVIDIA H100 80GB HBM3, pci_device_id: "0x2330",
               pci_bus_id: "00000000:1B:00.0", memory_total_bytes: 85520809984,
               memory_free_bytes: 84987740160,
               compute_capability: "9.0", gfx_arch: null, driver_version: 550.54.15, unified_memory: false,
               nvlink_peers: [1, 2, 3, 4, 5, 6, 7]}
        unified_memory:
          description:
            - Null on hosts with discrete GPUs only. Otherwise C(kind) (apple, nvidia_gb10, amd_apu),
              C(total_bytes), C(gpu_limit_bytes) (what the GPU may really use) and C(carveout_bytes)
              (AMD APU).
          type: dict
          returned: always
          sample: {kind: apple, total_bytes: 137438953472, gpu_limit_bytes: 103079215104,
                   carveout_bytes: null}
        disk:
          description: C(path) (the requested model_dir), C(total_bytes) and C(free_bytes) of its filesystem.
          type: dict
          returned: always
          sample: {path: /var/lib/sovereign/models, total_bytes: 1967317549056, free_bytes: 1210936528896}
        warnings:
          description: What could not be detected, and why.
          type: list
          elements: str
          returned: always
          sample: ["nvidia-smi not found: NVIDIA GPUs are named from lspci only, their memory is unknown"]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.collect import (
    DEFAULT_MODEL_DIR,
    collect,
)
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.module_host import ModuleHost


def main() -> None:
    """Detect, then return the fact; the host is never changed."""
    module = AnsibleModule(
        argument_spec={
            "model_dir": {"type": "path", "default": DEFAULT_MODEL_DIR},
            "tools_timeout": {"type": "int", "default": 30},
        },
        supports_check_mode=True,
    )
    timeout = module.params["tools_timeout"]
    if timeout < 1:
        module.fail_json(msg=f"tools_timeout must be a whole number of seconds >= 1, got {timeout}")
    fact = collect(ModuleHost(module, timeout), module.params["model_dir"])
    module.exit_json(changed=False, ansible_facts={"sovereign_hardware": fact})


if __name__ == "__main__":
    main()
