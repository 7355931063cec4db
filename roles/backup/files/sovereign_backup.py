# SPDX-License-Identifier: Apache-2.0
"""sovereign-backup: restic backups that prove themselves.

Subcommands (all read the JSON configuration the backup role renders):
  init     create the repository unless it exists
  backup   Qdrant snapshots, checksum manifest, restic backup, forget and prune
  check    restic check (optionally reading a subset of the data)
  restore  restore a snapshot into a directory
  drill    restore the latest snapshot to a scratch directory, verify every file against the
           manifest written at backup time, restore Qdrant snapshots into scratch collections and
           compare point counts
  status   print the status JSON with ages computed now

The same code runs under the systemd timers and in playbooks/restore_drill.yml. Only the standard
library is used: the hosts have Python and restic, nothing else. The repository password never
passes through this program; restic reads it from RESTIC_PASSWORD_FILE.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import fnmatch
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple

DEFAULT_CONFIG = "/etc/sovereign-backup/config.json"
TAG = "sovereign-backup"
MANIFEST_NAME = "manifest.json"
FILES_FROM_NAME = "files-from.txt"
QDRANT_DIR_NAME = "qdrant"
CHUNK = 1024 * 1024
# Problems listed in the status file; the count is always complete.
MAX_LISTED_PROBLEMS = 20
# Manifest hashes remembered, by snapshot id (more than any retention policy keeps).
MAX_LEDGER = 400


class BackupError(Exception):
    """A failure with a message an operator can act on."""


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def load_json(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def write_json_atomic(path: str, data: Any, mode: int = 0o600) -> None:
    directory = os.path.dirname(path) or "."
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def load_env_file(path: str) -> Dict[str, str]:
    """KEY=VALUE lines (the role writes them; no quoting, no expansion)."""
    env: Dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip().isidentifier():
                raise BackupError(f"{path} line {number}: expected KEY=VALUE")
            env[key.strip()] = value
    return env


def sha256_file(path: str, limit: Optional[int] = None) -> Tuple[str, int]:
    """sha256 and size of a file, or of its first `limit` bytes."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while limit is None or size < limit:
            want = CHUNK if limit is None else min(CHUNK, limit - size)
            block = handle.read(want)
            if not block:
                break
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def is_excluded(path: str, patterns: List[str]) -> bool:
    return any(fnmatch.fnmatch(path, pattern) for pattern in patterns)


def walk_files(paths: List[str], excludes: List[str]) -> Iterator[Tuple[str, os.stat_result]]:
    """Every regular file and symlink under `paths`, excluded ones left out, in a stable order."""
    for top in sorted(set(paths)):
        if is_excluded(top, excludes) or not os.path.lexists(top):
            continue
        info = os.lstat(top)
        if not stat.S_ISDIR(info.st_mode):
            yield top, info
            continue
        for root, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not is_excluded(os.path.join(root, d), excludes))
            for dirname in list(dirs):
                full = os.path.join(root, dirname)
                if os.path.islink(full):
                    yield full, os.lstat(full)
            for name in sorted(files):
                full = os.path.join(root, name)
                if not is_excluded(full, excludes):
                    yield full, os.lstat(full)


def build_manifest(paths: List[str], excludes: List[str]) -> Dict[str, Any]:
    """Checksums of everything the backup will contain, written into the backup itself."""
    files: Dict[str, Dict[str, Any]] = {}
    for path, info in walk_files(paths, excludes):
        if stat.S_ISLNK(info.st_mode):
            files[path] = {"link": os.readlink(path)}
        elif stat.S_ISREG(info.st_mode):
            digest, size = sha256_file(path)
            files[path] = {"sha256": digest, "size": size}
    return {
        "created": iso(utc_now()),
        "paths": sorted(set(paths)),
        "missing": sorted(p for p in set(paths) if not os.path.lexists(p)),
        "files": files,
    }


def under_any(path: str, prefixes: List[str]) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def verify_tree(manifest: Dict[str, Any], root: str, append_only: List[str]) -> Tuple[int, List[str]]:
    """Compare a restored tree with the manifest; returns (files verified, problems).

    Files under an append-only path (logs) may have grown between hashing and restic reading
    them: their first <size> bytes must still match.
    """
    problems: List[str] = []
    verified = 0
    for path, entry in sorted(manifest.get("files", {}).items()):
        restored = os.path.join(root, path.lstrip("/"))
        if not os.path.lexists(restored):
            problems.append(f"{path}: missing from the restored snapshot")
            continue
        if "link" in entry:
            if not os.path.islink(restored) or os.readlink(restored) != entry["link"]:
                problems.append(f"{path}: symlink does not point to {entry['link']}")
            else:
                verified += 1
            continue
        if not os.path.isfile(restored) or os.path.islink(restored):
            problems.append(f"{path}: restored as something other than a regular file")
            continue
        size = os.path.getsize(restored)
        grown = size > entry["size"] and under_any(path, append_only)
        if size != entry["size"] and not grown:
            problems.append(f"{path}: size {size} differs from {entry['size']} in the manifest")
            continue
        digest = sha256_file(restored, entry["size"] if grown else None)[0]
        if digest != entry["sha256"]:
            problems.append(f"{path}: sha256 {digest} differs from {entry['sha256']} in the manifest")
            continue
        verified += 1
    return verified, problems


class QdrantClient:
    """The few calls of Qdrant's REST API the backup needs (collection snapshots)."""

    def __init__(self, url: str, api_key: str = "", timeout: float = 300.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _request(
        self, method: str, path: str, body: Optional[bytes] = None, content_type: str = "application/json"
    ) -> urllib.request.Request:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        if self.api_key:
            request.add_header("api-key", self.api_key)
        if body is not None:
            request.add_header("Content-Type", content_type)
        return request

    def _call(
        self, method: str, path: str, body: Optional[bytes] = None, content_type: str = "application/json"
    ) -> Any:
        request = self._request(method, path, body, content_type)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")[:300]
            raise BackupError(f"Qdrant {method} {path} answered {error.code}: {detail}") from error
        except urllib.error.URLError as error:
            raise BackupError(
                f"Qdrant at {self.url} did not answer {method} {path}: {error.reason}"
            ) from error
        return json.loads(payload) if payload else {}

    @staticmethod
    def _quote(name: str) -> str:
        return urllib.parse.quote(name, safe="")

    def points_count(self, collection: str) -> int:
        result = self._call("GET", f"/collections/{self._quote(collection)}")["result"]
        return int(result.get("points_count") or 0)

    def create_snapshot(self, collection: str) -> Dict[str, Any]:
        result: Dict[str, Any] = self._call(
            "POST", f"/collections/{self._quote(collection)}/snapshots?wait=true"
        )["result"]
        return result

    def download_snapshot(self, collection: str, name: str, dest: str) -> str:
        path = f"/collections/{self._quote(collection)}/snapshots/{self._quote(name)}"
        request = self._request("GET", path)
        digest = hashlib.sha256()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response, open(dest, "wb") as out:
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    digest.update(block)
                    out.write(block)
        except urllib.error.HTTPError as error:
            raise BackupError(f"Qdrant GET {path} answered {error.code}") from error
        except urllib.error.URLError as error:
            raise BackupError(f"Qdrant at {self.url} did not answer GET {path}: {error.reason}") from error
        return digest.hexdigest()

    def delete_snapshot(self, collection: str, name: str) -> None:
        self._call(
            "DELETE", f"/collections/{self._quote(collection)}/snapshots/{self._quote(name)}?wait=true"
        )

    def upload_snapshot(self, collection: str, snapshot_file: str) -> None:
        """POST .../snapshots/upload?priority=snapshot: creates (or overwrites) the collection."""
        boundary = uuid.uuid4().hex
        with open(snapshot_file, "rb") as handle:
            content = handle.read()
        filename = os.path.basename(snapshot_file)
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="snapshot"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        self._call(
            "POST",
            f"/collections/{self._quote(collection)}/snapshots/upload?wait=true&priority=snapshot",
            body,
            f"multipart/form-data; boundary={boundary}",
        )

    def delete_collection(self, collection: str) -> None:
        self._call("DELETE", f"/collections/{self._quote(collection)}")


def qdrant_client(config: Dict[str, Any]) -> Optional[QdrantClient]:
    settings = config.get("qdrant") or {}
    if not settings.get("url"):
        return None
    api_key = ""
    if settings.get("api_key_file"):
        with open(settings["api_key_file"], encoding="utf-8") as handle:
            api_key = handle.read().strip()
    return QdrantClient(settings["url"], api_key, float(settings.get("timeout", 300)))


def snapshot_qdrant(client: QdrantClient, collections: List[str], dest_dir: str) -> Dict[str, Any]:
    """Take, download and delete one snapshot per collection; record each one's point count."""
    os.makedirs(dest_dir, mode=0o700, exist_ok=True)
    taken: Dict[str, Any] = {}
    for collection in collections:
        points = client.points_count(collection)
        snapshot = client.create_snapshot(collection)
        name = snapshot["name"]
        dest = os.path.join(dest_dir, f"{collection}.snapshot")
        try:
            digest = client.download_snapshot(collection, name, dest)
        finally:
            # The snapshot has been copied (or failed to be): it must not pile up on Qdrant's disk.
            client.delete_snapshot(collection, name)
        expected = snapshot.get("checksum")
        if expected and expected != digest:
            raise BackupError(
                f"Qdrant snapshot {name} of {collection}: downloaded sha256 {digest} != {expected}"
            )
        taken[collection] = {"file": dest, "snapshot": name, "sha256": digest, "points_count": points}
    return taken


class Backup:
    """The repository, the configuration and the status file of one host."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config
        self.state_dir: str = config["state_dir"]
        self.staging_dir = os.path.join(self.state_dir, "staging")
        self.status_file: str = config["status_file"]
        self.host: str = config["host"]
        self.env = dict(os.environ)
        if config.get("env_file"):
            self.env.update(load_env_file(config["env_file"]))
        self.env.setdefault("RESTIC_CACHE_DIR", os.path.join(self.state_dir, "cache"))
        for needed in ("RESTIC_REPOSITORY", "RESTIC_PASSWORD_FILE"):
            if not self.env.get(needed):
                raise BackupError(f"{needed} is not set (config env_file {config.get('env_file')!r})")

    # restic -------------------------------------------------------------------------------------
    def restic(self, *args: str, capture: bool = True) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
        command = [self.config.get("restic", "restic"), *self.config.get("restic_options", []), *args]
        result = subprocess.run(
            command,
            env=self.env,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE,
            check=False,
        )
        if result.returncode != 0:
            stderr = result.stderr.decode("utf-8", "replace").strip()
            raise BackupError(f"restic {args[0]} failed (exit {result.returncode}): {stderr[-2000:]}")
        return result

    def unlock(self) -> None:
        """Remove stale locks only (left by a crashed run); a live lock of another run stays."""
        self.restic("unlock")

    def snapshots(self) -> List[Dict[str, Any]]:
        output = self.restic("snapshots", "--json", "--tag", TAG, "--host", self.host).stdout
        found: List[Dict[str, Any]] = json.loads(output or b"[]") or []
        return sorted(found, key=lambda snap: str(snap["time"]))

    # status -------------------------------------------------------------------------------------
    def read_status(self) -> Dict[str, Any]:
        try:
            status: Dict[str, Any] = load_json(self.status_file)
        except FileNotFoundError:
            status = {}
        return status

    def write_status(self, section: str, record: Dict[str, Any]) -> Dict[str, Any]:
        status = self.read_status()
        status[section] = record
        status = summarise(status, self.config, utc_now())
        write_json_atomic(self.status_file, status, 0o644)
        return status

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One backup, check or drill at a time on this host (timer and playbook alike)."""
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        with open(os.path.join(self.state_dir, "lock"), "w", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                raise BackupError(f"another sovereign-backup run holds {self.state_dir}/lock") from error
            yield

    # subcommands --------------------------------------------------------------------------------
    def init(self) -> Dict[str, Any]:
        """Create the repository unless it exists; any other error (a wrong password) is raised."""
        try:
            self.restic("cat", "config")
            return {"result": "ok", "repository": "exists"}
        except BackupError as error:
            absent = ("does not exist", "Is there a repository at the following location?", "no such file")
            if not any(marker in str(error) for marker in absent):
                raise
        self.restic("init")
        return {"result": "ok", "repository": "created"}

    def backup(self) -> Dict[str, Any]:
        started = utc_now()
        if os.path.isdir(self.staging_dir):
            shutil.rmtree(self.staging_dir)
        os.makedirs(self.staging_dir, mode=0o700)
        qdrant: Dict[str, Any] = {}
        client = qdrant_client(self.config)
        if client is not None:
            qdrant = snapshot_qdrant(
                client,
                self.config["qdrant"].get("collections", []),
                os.path.join(self.staging_dir, QDRANT_DIR_NAME),
            )
        paths = list(self.config.get("paths", []))
        excludes = list(self.config.get("exclude", []))
        manifest = build_manifest([*paths, os.path.join(self.staging_dir, QDRANT_DIR_NAME)], excludes)
        manifest["host"] = self.host
        manifest["qdrant"] = qdrant
        manifest_path = os.path.join(self.staging_dir, MANIFEST_NAME)
        write_json_atomic(manifest_path, manifest)
        manifest_sha256 = sha256_file(manifest_path)[0]
        files_from = os.path.join(self.staging_dir, FILES_FROM_NAME)
        with open(files_from, "w", encoding="utf-8") as handle:
            for path in [*manifest["paths"], self.staging_dir]:
                if os.path.lexists(path):
                    handle.write(path + "\n")
        self.unlock()
        exclude_args = [arg for pattern in excludes for arg in ("--exclude", pattern)]
        output = self.restic(
            "backup", "--json", "--tag", TAG, "--host", self.host, "--files-from", files_from, *exclude_args
        ).stdout
        summary: Dict[str, Any] = next(
            (m for m in map(json.loads, output.decode().splitlines()) if m.get("message_type") == "summary"),
            {},
        )
        if not summary.get("snapshot_id"):
            raise BackupError("restic backup gave no summary with a snapshot id")
        retention = self.config.get("retention", {})
        keep_args = [
            arg
            for key, value in sorted(retention.items())
            for arg in (f"--{key.replace('_', '-')}", str(value))
        ]
        if keep_args:
            self.restic("forget", "--tag", TAG, "--host", self.host, *keep_args, "--prune")
        # The Qdrant snapshots are in the repository now; keep the manifest and file list only.
        shutil.rmtree(os.path.join(self.staging_dir, QDRANT_DIR_NAME), ignore_errors=True)
        record = {
            "result": "ok",
            "time": iso(started),
            "finished": iso(utc_now()),
            "snapshot_id": summary["snapshot_id"],
            "manifest_sha256": manifest_sha256,
            "files": len(manifest["files"]),
            "bytes": sum(entry.get("size", 0) for entry in manifest["files"].values()),
            "missing_paths": manifest["missing"],
            "qdrant_collections": sorted(qdrant),
        }
        ledger = self.read_status().get("manifests", {})
        ledger[summary["snapshot_id"]] = {"manifest_sha256": manifest_sha256, "time": iso(started)}
        newest = sorted(ledger.items(), key=lambda item: str(item[1]["time"]))[-MAX_LEDGER:]
        self.write_status("manifests", dict(newest))
        self.write_status("last_backup", record)
        return record

    def check(self, read_data_subset: str) -> Dict[str, Any]:
        started = utc_now()
        self.unlock()
        args = ["check"]
        if read_data_subset:
            args += [f"--read-data-subset={read_data_subset}"]
        self.restic(*args)
        record = {"result": "ok", "time": iso(started), "read_data_subset": read_data_subset}
        self.write_status("last_check", record)
        return record

    def resolve(self, snapshot: str) -> Dict[str, Any]:
        found = self.snapshots()
        if not found:
            raise BackupError(f"the repository holds no snapshot tagged {TAG} for host {self.host}")
        if snapshot == "latest":
            return found[-1]
        for candidate in found:
            if candidate["id"].startswith(snapshot) or candidate.get("short_id") == snapshot:
                return candidate
        raise BackupError(f"no snapshot {snapshot!r} for host {self.host}")

    def restore(self, snapshot: str, target: str, includes: List[str]) -> Dict[str, Any]:
        chosen = self.resolve(snapshot)
        self.unlock()
        include_args = [arg for path in includes for arg in ("--include", path)]
        self.restic("restore", chosen["id"], "--target", target, *include_args)
        return chosen

    def drill(self, keep: bool) -> Dict[str, Any]:
        started = utc_now()
        scratch = self.config["scratch_dir"]
        if os.path.isdir(scratch):
            shutil.rmtree(scratch)
        os.makedirs(scratch, mode=0o700)
        problems: List[str] = []
        verified = 0
        qdrant_checked: Dict[str, Any] = {}
        chosen: Dict[str, Any] = {}
        try:
            chosen = self.restore("latest", scratch, [])
            restored_manifest = os.path.join(scratch, self.staging_dir.lstrip("/"), MANIFEST_NAME)
            if not os.path.isfile(restored_manifest):
                raise BackupError(
                    f"snapshot {chosen['id'][:8]} holds no manifest at {self.staging_dir}/{MANIFEST_NAME}"
                )
            problems += self.check_manifest_provenance(chosen["id"], restored_manifest)
            manifest = load_json(restored_manifest)
            verified, file_problems = verify_tree(
                manifest, scratch, list(self.config.get("append_only_paths", []))
            )
            problems += file_problems
            qdrant_checked, qdrant_problems = self.drill_qdrant(manifest, scratch)
            problems += qdrant_problems
        except BackupError as error:
            problems.append(str(error))
        finally:
            if not keep:
                shutil.rmtree(scratch, ignore_errors=True)
        record = {
            "result": "failed" if problems else "ok",
            "time": iso(started),
            "finished": iso(utc_now()),
            "snapshot_id": chosen.get("id", ""),
            "snapshot_time": str(chosen.get("time", "")),
            "files_verified": verified,
            "qdrant": qdrant_checked,
            "problem_count": len(problems),
            "problems": problems[:MAX_LISTED_PROBLEMS],
        }
        self.write_status("last_drill", record)
        return record

    def check_manifest_provenance(self, snapshot_id: str, restored_manifest: str) -> List[str]:
        """The restored manifest must be the one this host wrote for that snapshot.

        A snapshot made with the repository key but not by this program (or a manifest altered
        afterwards) carries a manifest whose hash was never recorded. Without a ledger (a host
        rebuilt from the backup) there is nothing to compare with, so nothing is claimed.
        """
        ledger: Dict[str, Dict[str, str]] = self.read_status().get("manifests", {})
        if not ledger:
            return []
        # restic 0.14 reports the short id after a backup, `snapshots --json` the full one.
        recorded = next(
            (entry["manifest_sha256"] for short, entry in ledger.items() if snapshot_id.startswith(short)),
            None,
        )
        if recorded is None:
            unknown = f"snapshot {snapshot_id[:8]} was not made by sovereign-backup on this host"
            return [f"{unknown} (no manifest recorded)"]
        digest = sha256_file(restored_manifest)[0]
        if digest != recorded:
            return [f"manifest sha256 {digest} differs from {recorded} recorded at backup time"]
        return []

    def drill_qdrant(self, manifest: Dict[str, Any], scratch: str) -> Tuple[Dict[str, Any], List[str]]:
        taken = manifest.get("qdrant") or {}
        if not taken:
            return {}, []
        client = qdrant_client(self.config)
        if client is None:
            return {}, [
                f"the snapshot holds Qdrant collections {sorted(taken)} but no Qdrant URL is configured"
            ]
        checked: Dict[str, Any] = {}
        problems: List[str] = []
        suffix = self.config["qdrant"].get("scratch_suffix", "-restore-drill")
        for collection, entry in sorted(taken.items()):
            scratch_name = collection + suffix
            restored = os.path.join(scratch, entry["file"].lstrip("/"))
            try:
                client.upload_snapshot(scratch_name, restored)
                count = client.points_count(scratch_name)
            except (BackupError, OSError) as error:
                problems.append(f"Qdrant collection {collection}: {error}")
                continue
            finally:
                with contextlib.suppress(BackupError):
                    client.delete_collection(scratch_name)
            checked[collection] = {"expected_points": entry["points_count"], "restored_points": count}
            if count != entry["points_count"]:
                problems.append(
                    f"Qdrant collection {collection}: {count} points restored into {scratch_name},"
                    f" {entry['points_count']} at backup time"
                )
        return checked, problems


def age_seconds(record: Dict[str, Any], now: datetime.datetime) -> Optional[int]:
    if not record.get("time"):
        return None
    return int((now - parse_iso(record["time"])).total_seconds())


def summarise(status: Dict[str, Any], config: Dict[str, Any], now: datetime.datetime) -> Dict[str, Any]:
    """Ages and the overall result, computed from the last backup, check and drill records."""
    limits = config.get("max_age_hours", {})
    problems: List[str] = []
    status = dict(status)
    status["host"] = config["host"]
    status["updated"] = iso(now)
    for section, label in (
        ("last_backup", "backup"),
        ("last_check", "check"),
        ("last_drill", "restore drill"),
    ):
        record = status.get(section) or {}
        age = age_seconds(record, now)
        status[f"{label.replace('restore ', '')}_age_seconds"] = age
        limit = limits.get(label.replace("restore ", ""))
        if not record:
            if limit:
                problems.append(f"no {label} has run yet")
            continue
        if record.get("result") != "ok":
            problems.append(
                f"last {label} failed: {'; '.join(record.get('problems') or [record.get('error', '')])}"
            )
        elif limit and age is not None and age > int(limit) * 3600:
            problems.append(f"last successful {label} is {age // 3600} h old (limit {limit} h)")
    status["problems"] = problems
    status["result"] = "failing" if problems else "ok"
    return status


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="sovereign-backup", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=DEFAULT_CONFIG)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create the repository unless it exists")
    commands.add_parser("backup", help="snapshot Qdrant, write the manifest, back up, forget and prune")
    check = commands.add_parser("check", help="restic check")
    check.add_argument(
        "--read-data-subset", default=None, help="e.g. 10%% or 1/5; default from the configuration"
    )
    restore = commands.add_parser("restore", help="restore a snapshot into a directory")
    restore.add_argument("--snapshot", default="latest")
    restore.add_argument("--target", required=True)
    restore.add_argument("--include", action="append", default=[])
    drill = commands.add_parser("drill", help="restore the latest snapshot to scratch and verify it")
    drill.add_argument("--keep", action="store_true", help="leave the scratch restore in place")
    commands.add_parser("status", help="print the status with ages computed now")
    args = parser.parse_args(argv)

    try:
        config = load_json(args.config)
        if args.command == "status":
            status = summarise(Backup(config).read_status(), config, utc_now())
            print(json.dumps(status, indent=2, sort_keys=True))
            return 0 if status["result"] == "ok" else 1
        runner = Backup(config)
        with runner.locked():
            try:
                if args.command == "init":
                    record = runner.init()
                elif args.command == "backup":
                    record = runner.backup()
                elif args.command == "check":
                    subset = (
                        config.get("check_read_data_subset", "")
                        if args.read_data_subset is None
                        else args.read_data_subset
                    )
                    record = runner.check(subset)
                elif args.command == "restore":
                    record = runner.restore(args.snapshot, args.target, args.include)
                else:
                    record = runner.drill(args.keep)
            except BackupError as error:
                if args.command in ("backup", "check"):
                    runner.write_status(
                        f"last_{args.command}",
                        {"result": "failed", "time": iso(utc_now()), "error": str(error)},
                    )
                raise
    except (BackupError, OSError, ValueError, KeyError) as error:
        print(f"sovereign-backup {args.command}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(record, indent=2, sort_keys=True))
    return 0 if record.get("result", "ok") == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
