# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Pack the Tailscale stand-in into an archive shaped like upstream's static release.

    python build_tailscale_standin.py OUT_DIR [--version 1.90.6-standin] [--arch amd64]

writes OUT_DIR/tailscale_<version>_<arch>.tgz holding tailscale_<version>_<arch>/tailscale,
tailscaled (both tailscale_standin.py behind a python3 shebang; it looks at its own name) and
systemd/tailscaled.service, systemd/tailscaled.defaults (upstream's, which the role does not use),
and prints
`<path> <sha256>`. Members carry fixed times and owners, so the same inputs give the same hash.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import platform
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARCHES = {"x86_64": "amd64", "aarch64": "arm64"}
UPSTREAM_UNIT = """[Unit]
Description=Tailscale node agent
Documentation=https://tailscale.com/kb/
Wants=network-pre.target
After=network-pre.target NetworkManager.service systemd-resolved.service

[Service]
EnvironmentFile=/etc/default/tailscaled
ExecStart=/usr/sbin/tailscaled --state=/var/lib/tailscale/tailscaled.state \\
  --socket=/run/tailscale/tailscaled.sock --port=${PORT} $FLAGS
ExecStopPost=/usr/sbin/tailscaled --cleanup

Restart=on-failure

RuntimeDirectory=tailscale
RuntimeDirectoryMode=0755
StateDirectory=tailscale
StateDirectoryMode=0700
CacheDirectory=tailscale
CacheDirectoryMode=0750
Type=notify

[Install]
WantedBy=multi-user.target
"""
UPSTREAM_DEFAULTS = 'PORT="41641"\n\nFLAGS=""\n'


def build(out_dir: Path, version: str, arch: str) -> tuple[Path, str]:
    root = f"tailscale_{version}_{arch}"
    # The shebang is added here: in the repository the file is a plain module (ansible-test sanity
    # allows only `#!/usr/bin/env python`, and Debian hosts have python3 only).
    program = b"#!/usr/bin/python3\n" + (HERE / "tailscale_standin.py").read_bytes()
    members = [
        (f"{root}/tailscale", program, 0o755),
        (f"{root}/tailscaled", program, 0o755),
        (f"{root}/systemd/tailscaled.service", UPSTREAM_UNIT.encode(), 0o644),
        (f"{root}/systemd/tailscaled.defaults", UPSTREAM_DEFAULTS.encode(), 0o644),
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for directory in (root, f"{root}/systemd"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
            archive.addfile(info)
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 0
            archive.addfile(info, io.BytesIO(data))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{root}.tgz"
    path.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--version", default="1.90.6-standin")
    parser.add_argument("--arch", default=ARCHES.get(platform.machine(), platform.machine()))
    args = parser.parse_args()
    path, digest = build(args.out_dir, args.version, args.arch)
    print(path, digest)


if __name__ == "__main__":
    main()
