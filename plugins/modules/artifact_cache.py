# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Documentation of the artifact_cache action; the work is done on the controller by the action plugin."""

from __future__ import annotations

DOCUMENTATION = r"""
module: artifact_cache
short_description: Download, verify and seed release files in the controller's artifact cache
version_added: 0.1.0
description:
  - Makes the release files that roles install on hosts (C(catalogs/artifacts.yml)) present in a
    cache on the controller, each verified against its sha256, so that hosts never download anything.
  - Runs entirely on the controller. Use it once per play (C(run_once)); the result says, per host,
    which cached file that host needs. Role C(sovereign.stack.artifacts) then copies the files.
  - Each file is downloaded once, streamed to a temporary file, verified, and renamed into
    C(<cache_dir>/<name>/<version>/<filename>) with its hash recorded in C(<filename>.sha256).
    A file already cached with the right hash is not downloaded again.
  - A hash mismatch fails the task naming the artifact, the expected and the actual hash and the
    URL, and deletes the download.
  - In offline mode nothing is downloaded; if any file is missing, the task fails once listing every
    missing file, where it belongs in the cache and where to get it, and the seed command.
  - With O(seed_dir), files from a directory (a USB stick, another controller's cache) are verified
    against the catalog and copied into the cache instead; files that do not verify are reported and skipped.
options:
  names:
    description:
      - Artifacts (catalog names) to make available.
      - Default is every artifact in the catalog.
    type: list
    elements: str
  platforms:
    description:
      - Platform keys (V(linux-x86_64), V(linux-aarch64), V(darwin-arm64)) to fetch for.
      - Default is the platform of every host in the play, read from C(ansible_facts.system) and
        C(ansible_facts.architecture) (gathered by role C(sovereign.stack.artifacts)).
      - An artifact without a variant for a requested platform is an error that lists the available ones.
    type: list
    elements: str
  all_variants:
    description:
      - Fetch every variant of each artifact, whatever the platforms (for carrying a full cache to
        an air-gapped site).
    type: bool
    default: false
  dest_dir:
    description:
      - Directory on the hosts under which files will be placed as C(<name>/<version>/<filename>).
      - When given, the result's RV(hosts) and RV(paths) carry each host's destination paths.
    type: str
  seed_dir:
    description:
      - Seed the cache from this controller directory (searched recursively) instead of downloading.
      - A file is recognised by a variant's C(filename) and verified against the pinned C(sha256) or,
        for C(checksum_url) entries, against the upstream checksum file (same base name as the
        checksum URL) or a C(<filename>.sha256) record found in the same directory.
    type: path
  cache_dir:
    description:
      - The cache directory on the controller.
      - Default is the variable C(sovereign_artifact_cache_dir), else C(~/.cache/sovereign-stack/artifacts).
    type: path
  mirror:
    description:
      - Base URL of an internal mirror laid out as C(<mirror>/<name>/<version>/<filename>)
        (the cache's own layout, so a served cache directory is a mirror).
      - Entries with C(checksum_url) are then verified against C(<mirror>/<name>/<version>/<filename>.sha256);
        pinned hashes stay pinned.
      - Default is the variable C(sovereign_artifact_mirror), else the upstream URLs.
    type: str
  offline:
    description:
      - Never download; fail listing every missing file instead.
      - Default is the variable C(sovereign_artifact_offline), else V(false).
    type: bool
  overrides:
    description:
      - Catalog overrides, same keys as C(catalogs/artifacts.yml), merged per artifact; C(variants)
        given for an artifact replace the catalog's variants of that artifact.
      - Default is the variable C(sovereign_artifacts), else none.
    type: dict
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Reports what would be downloaded and downloads nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
notes:
  - Catalog entries, the mirror layout, offline mode and seeding are described in the
    collection's docs/artifact-cache.md.
seealso:
  - module: ansible.builtin.get_url
author:
  - sovereign.stack contributors (@sovereign-stack)
"""

EXAMPLES = r"""
- name: Have Qdrant and OPA in the controller cache for every host of the play
  sovereign.stack.artifact_cache:
    names: [qdrant, opa]
    dest_dir: /var/cache/sovereign/artifacts
  run_once: true
  register: fetched

- name: Fill a cache to carry to an air-gapped site (every platform)
  sovereign.stack.artifact_cache:
    all_variants: true

- name: Seed the cache from a USB stick
  sovereign.stack.artifact_cache:
    seed_dir: /media/usb
"""

RETURN = r"""
cache_dir:
  description: The cache directory used.
  returned: always
  type: str
  sample: /home/ops/.cache/sovereign-stack/artifacts
artifacts:
  description: Every file this task dealt with (not in seed mode).
  returned: success and not seed mode
  type: list
  elements: dict
  contains:
    name:
      description: Artifact name.
      type: str
      sample: qdrant
    version:
      description: Artifact version.
      type: str
      sample: 1.19.1
    platform:
      description: Platform key.
      type: str
      sample: linux-x86_64
    filename:
      description: File name.
      type: str
      sample: qdrant-x86_64-unknown-linux-gnu.tar.gz
    path:
      description: Path in the controller cache.
      type: str
    url:
      description: Where it is downloaded from (mirror applied).
      type: str
    sha256:
      description: Verified hash; null in check mode for a file not yet downloaded.
      type: str
    state:
      description: One of V(downloaded), V(cached) or V(would_download).
      type: str
hosts:
  description:
    - Per host of the play, per artifact name, what that host needs.
    - C(src) is the cached file on the controller, C(dest) the path on the host (with O(dest_dir)),
      C(mode) the catalog's file mode, C(in_cache) false only in check mode for a file not yet downloaded.
  returned: success, when platforms come from the play's hosts
  type: dict
  sample:
    db-1:
      qdrant:
        src: /home/ops/.cache/sovereign-stack/artifacts/qdrant/1.19.1/qdrant-x86_64-unknown-linux-gnu.tar.gz
        dest: /var/cache/sovereign/artifacts/qdrant/1.19.1/qdrant-x86_64-unknown-linux-gnu.tar.gz
        mode: "0644"
        sha256: eef986e769d4d3e806dd2d546e1b4ecdd416211e54d34b4ed764fac7c58e1085
        version: 1.19.1
        platform: linux-x86_64
        in_cache: true
paths:
  description: Per host, artifact name to destination path on that host.
  returned: success, with O(dest_dir) and platforms from the play's hosts
  type: dict
  sample:
    db-1:
      qdrant: /var/cache/sovereign/artifacts/qdrant/1.19.1/qdrant-x86_64-unknown-linux-gnu.tar.gz
seeded:
  description: Files copied into the cache from O(seed_dir).
  returned: seed mode
  type: list
  elements: str
  sample: ["qdrant 1.19.1 (linux-x86_64)"]
already_cached:
  description: Files found in O(seed_dir) that the cache already held, verified.
  returned: seed mode
  type: list
  elements: str
rejected:
  description:
    - Files in O(seed_dir) named like a catalog file that did not verify, with the reason; they were skipped.
  returned: seed mode
  type: list
  elements: str
"""
