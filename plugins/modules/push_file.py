# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Documentation of the push_file action; the work is done by the action plugin and file_chunk."""

from __future__ import annotations

DOCUMENTATION = r"""
module: push_file
short_description: Send a large file to a host, resumable, with progress, verified by sha256
version_added: 0.1.0
description:
  - Makes O(dest) on the host a copy of the controller file O(src) whose sha256 is O(sha256).
  - When O(dest) already has that size and sha256 (hashed on the host), nothing is sent; only its
    mode, owner and group are corrected if they differ.
  - Otherwise O(src) is hashed on the controller first and the task fails, sending nothing, when it
    does not have O(sha256). It is then sent in chunks of O(chunk_size) bytes, each uploaded with the
    connection's own file transfer to the host's temporary directory and appended by module
    M(sovereign.stack.file_chunk) to C(<dest>.part). Missing parent directories are created with mode C(0755).
  - An interrupted transfer resumes. A C(<dest>.part) left on the host whose bytes are the first bytes
    of O(src) (same length, same sha256 as that prefix of O(src)) is continued from its end; any
    other partial file is overwritten from byte 0.
  - Once complete, C(<dest>.part) is flushed to disk and hashed on the host. It is renamed to O(dest)
    only when it has O(sha256); otherwise it is deleted and the task fails. O(dest) is never a partial file.
  - Progress is printed on the controller while bytes are sent, about every 10 % of the file (after
    every chunk when a chunk is more than a tenth of it), with the host name, bytes sent and the rate.
  - Uses only the connection's file upload and module runs, so it works over any connection plugin
    (C(ssh), C(community.docker.docker), C(local)).
options:
  src:
    description:
      - The file on the controller. A relative path is looked up in the role's C(files/) directory,
        as for M(ansible.builtin.copy).
    type: path
    required: true
  dest:
    description:
      - Absolute path of the file on the host.
    type: str
    required: true
  sha256:
    description:
      - The sha256 the file must have, as 64 hexadecimal characters. Checked on the controller before
        anything is sent and on the host before the file is put in place.
    type: str
    required: true
  mode:
    description:
      - Mode of O(dest), as for M(ansible.builtin.file) (quote octal modes, V("0644")).
      - Default is C(0666) minus the host's umask for a new file, and an existing file's mode kept.
    type: raw
  owner:
    description:
      - Owner of O(dest). Default is the user the task runs as on the host.
    type: str
  group:
    description:
      - Group of O(dest). Default is the primary group of that user.
    type: str
  chunk_size:
    description:
      - Bytes per chunk, at least 1 MiB. An interruption loses at most the chunk being sent; each chunk
        costs one upload and one module run, and needs its size free in the host's temporary directory.
    type: int
    default: 268435456
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: >-
      Hashes O(dest) and any partial file on the host and O(src) on the controller, reports
      whether the file would be sent and from which byte (RV(resumed_from)); sends and changes nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
notes:
  - The host needs free space for the file, plus one chunk in its temporary directory.
  - O(src) is read twice when it is sent (once to hash it, once to send it); when the host already holds
    the file, only the host reads it.
  - The sha256 checks give integrity, not secrecy; the bytes travel as the connection carries them
    (encrypted over SSH).
seealso:
  - module: ansible.builtin.copy
  - module: sovereign.stack.file_chunk
author:
  - sovereign.stack contributors (@sovereign-stack)
"""

EXAMPLES = r"""
- name: Push a GGUF model to the host
  sovereign.stack.push_file:
    src: /srv/models/Qwen--Qwen3-8B-Q4_K_M.gguf
    dest: /var/lib/sovereign/models/Qwen--Qwen3-8B/Qwen--Qwen3-8B-Q4_K_M.gguf
    sha256: 4f0b8ec9f0ff1ac7e3a3f4a0e0b7d3b4c4a8d8f2b9c6f0a1e2d3c4b5a6978899
    owner: root
    group: root
    mode: "0644"
  register: pushed

- name: Push with smaller chunks over a link that drops often
  sovereign.stack.push_file:
    src: /srv/models/big.safetensors
    dest: /var/lib/sovereign/models/big/model.safetensors
    sha256: "{{ big_model_sha256 }}"
    chunk_size: "{{ 16 * 1024 * 1024 }}"
"""

RETURN = r"""
dest:
  description: The destination path on the host.
  returned: always
  type: str
  sample: /var/lib/sovereign/models/Qwen--Qwen3-8B/Qwen--Qwen3-8B-Q4_K_M.gguf
sha256:
  description:
    - The sha256 of O(dest) as hashed on the host (equal to O(sha256), or the task fails).
    - Null in check mode when the file would be sent.
  returned: success
  type: str
  sample: 4f0b8ec9f0ff1ac7e3a3f4a0e0b7d3b4c4a8d8f2b9c6f0a1e2d3c4b5a6978899
bytes_sent:
  description: Bytes of O(src) sent to the host by this task; 0 when the host held the file and in check mode.
  returned: success
  type: int
  sample: 104857600
resumed_from:
  description:
    - Byte offset the transfer started from, the length of a matching C(<dest>.part) (0 when none
      matched or nothing had to be sent). In check mode, where it would start.
  returned: success
  type: int
  sample: 104857600
"""
