# SPDX-License-Identifier: Apache-2.0
"""roles/backup/files/sovereign_backup.py: manifest, verification, Qdrant snapshots, status, restic."""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, Iterator, List, Set, Tuple

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles/backup/files/sovereign_backup.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sovereign_backup", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sb = _load()
RESTIC = shutil.which("restic")
needs_restic = pytest.mark.skipif(
    RESTIC is None, reason="restic is not installed (tests/harness/ensure-host-tools.sh)"
)


def _tree(root: Path) -> Path:
    (root / "etc/app").mkdir(parents=True)
    (root / "etc/app/config.yml").write_text("a: 1\n")
    (root / "etc/app/ca.key").write_bytes(os.urandom(64))
    (root / "log").mkdir()
    (root / "log/audit.log").write_text("line 1\n")
    (root / "etc/app/current").symlink_to("config.yml")
    (root / "etc/app/skip.tmp").write_text("not backed up\n")
    return root


def _restore_copy(src: Path, dest_root: Path) -> Path:
    target = dest_root / str(src).lstrip("/")
    shutil.copytree(src, target, symlinks=True)
    return dest_root


# Manifest and verification -------------------------------------------------------------------


def test_manifest_lists_files_with_checksums_and_leaves_exclusions_out(tmp_path: Path) -> None:
    data = _tree(tmp_path / "data")
    manifest = sb.build_manifest([str(data), str(tmp_path / "absent")], ["*.tmp"])
    files = manifest["files"]
    assert files[str(data / "etc/app/config.yml")]["size"] == 5
    assert (
        files[str(data / "etc/app/config.yml")]["sha256"]
        == sb.sha256_file(str(data / "etc/app/config.yml"))[0]
    )
    assert files[str(data / "etc/app/current")] == {"link": "config.yml"}
    assert str(data / "etc/app/skip.tmp") not in files
    assert manifest["missing"] == [str(tmp_path / "absent")]


def test_an_identical_restore_verifies(tmp_path: Path) -> None:
    data = _tree(tmp_path / "data")
    manifest = sb.build_manifest([str(data)], ["*.tmp"])
    restored = _restore_copy(data, tmp_path / "restored")
    verified, problems = sb.verify_tree(manifest, str(restored), [])
    assert problems == []
    assert verified == len(manifest["files"]) == 4


def test_a_tampered_missing_or_replaced_file_is_reported(tmp_path: Path) -> None:
    data = _tree(tmp_path / "data")
    manifest = sb.build_manifest([str(data)], ["*.tmp"])
    restored = _restore_copy(data, tmp_path / "restored")
    base = restored / str(data).lstrip("/")
    (base / "etc/app/config.yml").write_text("a: 2\n")  # same size, other bytes
    (base / "etc/app/ca.key").unlink()
    (base / "etc/app/current").unlink()
    (base / "etc/app/current").symlink_to("ca.key")
    verified, problems = sb.verify_tree(manifest, str(restored), [])
    assert verified == 1
    assert any("config.yml: sha256" in p for p in problems)
    assert any("ca.key: missing" in p for p in problems)
    assert any("current: symlink" in p for p in problems)


def test_a_grown_log_passes_only_under_an_append_only_path(tmp_path: Path) -> None:
    data = _tree(tmp_path / "data")
    manifest = sb.build_manifest([str(data)], ["*.tmp"])
    restored = _restore_copy(data, tmp_path / "restored")
    log = restored / str(data).lstrip("/") / "log/audit.log"
    log.write_text("line 1\nline 2\n")
    assert sb.verify_tree(manifest, str(restored), [str(data / "log")])[1] == []
    assert "size 14 differs from 7" in sb.verify_tree(manifest, str(restored), [])[1][0]
    log.write_text("LINE 1\nline 2\n")
    assert "sha256" in sb.verify_tree(manifest, str(restored), [str(data / "log")])[1][0]


def test_env_file_lines_are_parsed_and_bad_lines_named(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.write_text("# comment\nRESTIC_REPOSITORY=/srv/repo\n\nRESTIC_PASSWORD_FILE=/etc/pw\n")
    assert sb.load_env_file(str(env)) == {"RESTIC_REPOSITORY": "/srv/repo", "RESTIC_PASSWORD_FILE": "/etc/pw"}
    env.write_text("RESTIC_REPOSITORY /srv/repo\n")
    with pytest.raises(sb.BackupError, match="line 1: expected KEY=VALUE"):
        sb.load_env_file(str(env))


# Status ---------------------------------------------------------------------------------------

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.timezone.utc)
CONFIG = {"host": "h1", "max_age_hours": {"backup": 36, "drill": 192}}


def _at(hours_ago: float) -> str:
    return str(sb.iso(NOW - datetime.timedelta(hours=hours_ago)))


def test_status_is_ok_with_recent_successes_and_reports_ages() -> None:
    status = sb.summarise(
        {"last_backup": {"result": "ok", "time": _at(2)}, "last_drill": {"result": "ok", "time": _at(30)}},
        CONFIG,
        NOW,
    )
    assert status["result"] == "ok"
    assert status["backup_age_seconds"] == 7200
    assert status["drill_age_seconds"] == 108000
    assert status["check_age_seconds"] is None
    assert status["problems"] == []


def test_status_fails_on_a_failed_drill_an_old_backup_or_no_drill() -> None:
    failed = sb.summarise(
        {
            "last_backup": {"result": "ok", "time": _at(40)},
            "last_drill": {
                "result": "failed",
                "time": _at(1),
                "problems": ["/etc/x: sha256 a differs from b"],
            },
        },
        CONFIG,
        NOW,
    )
    assert failed["result"] == "failing"
    assert "last successful backup is 40 h old (limit 36 h)" in failed["problems"]
    assert "last restore drill failed: /etc/x: sha256 a differs from b" in failed["problems"]
    never = sb.summarise({"last_backup": {"result": "ok", "time": _at(1)}}, CONFIG, NOW)
    assert never["problems"] == ["no restore drill has run yet"]


# Qdrant against a fake server -----------------------------------------------------------------


class FakeQdrant:
    """Qdrant's collection snapshot endpoints, in memory, requiring an api-key."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.collections: Dict[str, Dict[str, Any]] = {"docs": {"points": 42, "data": b"points-of-docs"}}
        self.snapshots: Dict[Tuple[str, str], bytes] = {}
        self.calls: List[str] = []
        self.corrupt_download = False
        self.fail_download = False


def _handler(fake: FakeQdrant) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _reply(self, code: int, payload: Any = None, raw: bytes = b"") -> None:
            body = raw or json.dumps(payload if payload is not None else {"result": True}).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _route(self) -> None:
            fake.calls.append(f"{self.command} {self.path}")
            if self.headers.get("api-key") != fake.api_key:
                self._reply(401, {"status": {"error": "Unauthorized"}})
                return
            path = self.path.split("?")[0]
            parts = [p for p in path.split("/") if p]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if parts[0] != "collections":
                self._reply(404)
            elif len(parts) == 2 and self.command == "GET":
                if parts[1] not in fake.collections:
                    self._reply(404, {"status": {"error": "Not found"}})
                else:
                    self._reply(200, {"result": {"points_count": fake.collections[parts[1]]["points"]}})
            elif len(parts) == 2 and self.command == "DELETE":
                fake.collections.pop(parts[1], None)
                self._reply(200)
            elif parts[2:] == ["snapshots"] and self.command == "POST":
                data = (
                    b"SNAP:"
                    + fake.collections[parts[1]]["data"]
                    + b":"
                    + str(fake.collections[parts[1]]["points"]).encode()
                )
                name = f"{parts[1]}-2026-12-01.snapshot"
                fake.snapshots[(parts[1], name)] = data
                digest = __import__("hashlib").sha256(data).hexdigest()
                self._reply(200, {"result": {"name": name, "size": len(data), "checksum": digest}})
            elif parts[2:3] == ["snapshots"] and parts[3:] == ["upload"] and self.command == "POST":
                assert "priority=snapshot" in self.path
                match = re.search(rb"\r\n\r\n(.*)\r\n--", body, re.S)
                assert match and b'name="snapshot"' in body
                snapshot = match.group(1)
                points = int(snapshot.rsplit(b":", 1)[1])
                fake.collections[parts[1]] = {"points": points, "data": snapshot}
                self._reply(200)
            elif len(parts) == 4 and parts[2] == "snapshots" and self.command == "GET":
                if fake.fail_download:
                    self._reply(500, {"status": {"error": "disk"}})
                    return
                data = fake.snapshots[(parts[1], parts[3])]
                self._reply(200, raw=data + (b"x" if fake.corrupt_download else b""))
            elif len(parts) == 4 and parts[2] == "snapshots" and self.command == "DELETE":
                fake.snapshots.pop((parts[1], parts[3]), None)
                self._reply(200)
            else:
                self._reply(404)

        do_GET = do_POST = do_DELETE = do_PUT = _route

    return Handler


@pytest.fixture
def qdrant() -> Iterator[Tuple[FakeQdrant, str]]:
    fake = FakeQdrant("k3y-" + os.urandom(4).hex())
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_snapshot_is_taken_downloaded_and_removed_from_the_server(
    qdrant: Tuple[FakeQdrant, str], tmp_path: Path
) -> None:
    fake, url = qdrant
    taken = sb.snapshot_qdrant(sb.QdrantClient(url, fake.api_key), ["docs"], str(tmp_path / "q"))
    entry = taken["docs"]
    assert entry["points_count"] == 42
    assert Path(entry["file"]).read_bytes() == b"SNAP:points-of-docs:42"
    assert entry["sha256"] == sb.sha256_file(entry["file"])[0]
    assert fake.snapshots == {}
    assert [c.split("?")[0] for c in fake.calls] == [
        "GET /collections/docs",
        "POST /collections/docs/snapshots",
        "GET /collections/docs/snapshots/docs-2026-12-01.snapshot",
        "DELETE /collections/docs/snapshots/docs-2026-12-01.snapshot",
    ]


def test_a_failed_download_still_removes_the_snapshot(qdrant: Tuple[FakeQdrant, str], tmp_path: Path) -> None:
    fake, url = qdrant
    fake.fail_download = True
    with pytest.raises(sb.BackupError, match="answered 500"):
        sb.snapshot_qdrant(sb.QdrantClient(url, fake.api_key), ["docs"], str(tmp_path / "q"))
    assert fake.snapshots == {}


def test_a_download_that_does_not_match_qdrants_checksum_fails(
    qdrant: Tuple[FakeQdrant, str], tmp_path: Path
) -> None:
    fake, url = qdrant
    fake.corrupt_download = True
    with pytest.raises(sb.BackupError, match="downloaded sha256"):
        sb.snapshot_qdrant(sb.QdrantClient(url, fake.api_key), ["docs"], str(tmp_path / "q"))


def test_a_wrong_api_key_and_an_unknown_collection_are_named(
    qdrant: Tuple[FakeQdrant, str], tmp_path: Path
) -> None:
    fake, url = qdrant
    with pytest.raises(sb.BackupError, match="answered 401"):
        sb.QdrantClient(url, "wrong").points_count("docs")
    with pytest.raises(sb.BackupError, match="GET /collections/nope answered 404"):
        sb.QdrantClient(url, fake.api_key).points_count("nope")


def test_an_uploaded_snapshot_becomes_a_collection(qdrant: Tuple[FakeQdrant, str], tmp_path: Path) -> None:
    fake, url = qdrant
    client = sb.QdrantClient(url, fake.api_key)
    taken = sb.snapshot_qdrant(client, ["docs"], str(tmp_path / "q"))
    client.upload_snapshot("docs-restore-drill", taken["docs"]["file"])
    assert client.points_count("docs-restore-drill") == 42


# Real restic ----------------------------------------------------------------------------------


@pytest.fixture
def repo_config(tmp_path: Path, qdrant: Tuple[FakeQdrant, str]) -> Dict[str, Any]:
    fake, url = qdrant
    data = _tree(tmp_path / "data")
    (tmp_path / "pw").write_text("correct horse battery staple\n")
    (tmp_path / "qkey").write_text(fake.api_key + "\n")
    (tmp_path / "env").write_text(
        f"RESTIC_REPOSITORY={tmp_path / 'repo'}\nRESTIC_PASSWORD_FILE={tmp_path / 'pw'}\n"
    )
    config: Dict[str, Any] = {
        "host": "h1",
        "restic": RESTIC or "restic",
        "env_file": str(tmp_path / "env"),
        "state_dir": str(tmp_path / "state"),
        "status_file": str(tmp_path / "state/status.json"),
        "scratch_dir": str(tmp_path / "scratch"),
        "paths": [str(data)],
        "exclude": ["*.tmp"],
        "append_only_paths": [str(data / "log")],
        "retention": {"keep_last": 2},
        "check_read_data_subset": "100%",
        "max_age_hours": {"backup": 36, "drill": 192},
        "qdrant": {"url": url, "api_key_file": str(tmp_path / "qkey"), "collections": ["docs"]},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert _main(config, "init") == 0
    return config


def _main(config: Dict[str, Any], *args: str) -> int:
    return int(sb.main(["--config", str(Path(config["env_file"]).parent / "config.json"), *args]))


@needs_restic
def test_backup_then_drill_passes_and_writes_the_status(
    repo_config: Dict[str, Any], qdrant: Tuple[FakeQdrant, str]
) -> None:
    fake = qdrant[0]
    assert _main(repo_config, "backup") == 0
    assert _main(repo_config, "drill") == 0
    status = json.loads(Path(repo_config["status_file"]).read_text())
    assert status["result"] == "ok"
    assert status["last_drill"]["files_verified"] == 5  # 4 files + the Qdrant snapshot
    assert status["last_drill"]["qdrant"] == {"docs": {"expected_points": 42, "restored_points": 42}}
    assert status["last_drill"]["snapshot_id"].startswith(status["last_backup"]["snapshot_id"])
    assert "docs-restore-drill" not in fake.collections
    assert not Path(repo_config["scratch_dir"]).exists()


@needs_restic
def test_restore_brings_back_identical_bytes(repo_config: Dict[str, Any], tmp_path: Path) -> None:
    data = Path(repo_config["paths"][0])
    before = sb.build_manifest([str(data)], ["*.tmp"])["files"]
    assert _main(repo_config, "backup") == 0
    shutil.rmtree(data)
    assert _main(repo_config, "restore", "--target", "/", "--include", str(data)) == 0
    assert sb.build_manifest([str(data)], ["*.tmp"])["files"] == before


@needs_restic
def test_a_snapshot_whose_file_differs_from_the_manifest_fails_the_drill(repo_config: Dict[str, Any]) -> None:
    assert _main(repo_config, "backup") == 0
    data = Path(repo_config["paths"][0])
    (data / "etc/app/config.yml").write_text("a: 9\n")
    # A forged snapshot: the changed file with the manifest of the real backup.
    env = dict(os.environ, **sb.load_env_file(repo_config["env_file"]))
    files_from = Path(repo_config["state_dir"]) / "staging/files-from.txt"
    subprocess.run(
        [repo_config["restic"], "backup", "--tag", sb.TAG, "--host", "h1", "--files-from", str(files_from)],
        env=env,
        check=True,
        capture_output=True,
    )
    assert _main(repo_config, "drill") == 1
    status = json.loads(Path(repo_config["status_file"]).read_text())
    assert status["result"] == "failing"
    assert status["last_drill"]["result"] == "failed"
    assert any("etc/app/config.yml: sha256" in p for p in status["last_drill"]["problems"])


@needs_restic
def test_a_corrupted_repository_is_caught_by_check(repo_config: Dict[str, Any]) -> None:
    assert _main(repo_config, "backup") == 0
    assert _main(repo_config, "check") == 0
    repo = Path(sb.load_env_file(repo_config["env_file"])["RESTIC_REPOSITORY"])
    pack = max((p for p in (repo / "data").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    blob = bytearray(pack.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    pack.chmod(0o600)
    pack.write_bytes(bytes(blob))
    assert _main(repo_config, "check") == 1
    status = json.loads(Path(repo_config["status_file"]).read_text())
    assert status["last_check"]["result"] == "failed"
    assert status["result"] == "failing"


def _locks(folder: Path) -> Set[Path]:
    """The lock files in ``folder``, without the temporary files restic renames into locks."""
    return {path for path in folder.iterdir() if "-tmp-" not in path.name}


@needs_restic
def test_a_stale_lock_does_not_stop_the_backup(repo_config: Dict[str, Any]) -> None:
    env = dict(os.environ, **sb.load_env_file(repo_config["env_file"]))
    locks = Path(env["RESTIC_REPOSITORY"]) / "locks"
    # restic backup --stdin holds its lock while it waits for input; killed, it leaves the lock,
    # which then belongs to a process that no longer exists on this host: a stale lock.
    holder = subprocess.Popen(
        [repo_config["restic"], "backup", "--stdin", "--host", "h1"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # restic writes a lock as a "-tmp-" file and then renames it: killed before the rename, it
    # leaves a temporary file that is no lock (unlock leaves it), so wait for the renamed one.
    for _attempt in range(1500):
        if _locks(locks):
            break
        threading.Event().wait(0.02)
    holder.kill()
    holder.wait()
    stale = _locks(locks)
    assert stale, "restic left no lock to test with"
    # forget --prune needs an exclusive lock: it gets one only once the stale lock is gone.
    assert _main(repo_config, "backup") == 0
    assert not stale & set(locks.iterdir())


@needs_restic
def test_init_creates_once_and_refuses_a_wrong_password(
    repo_config: Dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert _main(repo_config, "init") == 0
    assert '"repository": "exists"' in capsys.readouterr().out
    Path(sb.load_env_file(repo_config["env_file"])["RESTIC_PASSWORD_FILE"]).write_text("wrong\n")
    assert _main(repo_config, "init") == 1
    assert "wrong password" in capsys.readouterr().err


@needs_restic
def test_a_snapshot_not_made_by_the_backup_fails_the_drill(repo_config: Dict[str, Any]) -> None:
    assert _main(repo_config, "backup") == 0
    staging = Path(repo_config["state_dir"]) / "staging"
    manifest = json.loads((staging / "manifest.json").read_text())
    (Path(repo_config["paths"][0]) / "etc/app/config.yml").write_text("a: 9\n")
    manifest["files"][str(Path(repo_config["paths"][0]) / "etc/app/config.yml")] = sb.build_manifest(
        [str(Path(repo_config["paths"][0]) / "etc/app/config.yml")], []
    )["files"][str(Path(repo_config["paths"][0]) / "etc/app/config.yml")]
    (staging / "manifest.json").write_text(json.dumps(manifest))
    env = dict(os.environ, **sb.load_env_file(repo_config["env_file"]))
    subprocess.run(
        [
            repo_config["restic"],
            "backup",
            "--tag",
            sb.TAG,
            "--host",
            "h1",
            "--files-from",
            str(staging / "files-from.txt"),
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    assert _main(repo_config, "drill") == 1
    problems = json.loads(Path(repo_config["status_file"]).read_text())["last_drill"]["problems"]
    assert any(
        p.endswith("was not made by sovereign-backup on this host (no manifest recorded)") for p in problems
    )


def test_a_manifest_other_than_the_recorded_one_is_reported(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}")
    digest = sb.sha256_file(str(manifest))[0]
    (tmp_path / "env").write_text("RESTIC_REPOSITORY=/r\nRESTIC_PASSWORD_FILE=/p\n")
    status = tmp_path / "status.json"
    runner = sb.Backup(
        {
            "host": "h1",
            "state_dir": str(tmp_path),
            "status_file": str(status),
            "env_file": str(tmp_path / "env"),
        }
    )
    assert runner.check_manifest_provenance("abcd1234ef", str(manifest)) == []  # no ledger yet
    status.write_text(json.dumps({"manifests": {"abcd1234": {"manifest_sha256": digest, "time": "t"}}}))
    assert runner.check_manifest_provenance("abcd1234ef", str(manifest)) == []
    manifest.write_text('{"files": {}}')
    assert "recorded at backup time" in runner.check_manifest_provenance("abcd1234ef", str(manifest))[0]
    assert "no manifest recorded" in runner.check_manifest_provenance("99999999ef", str(manifest))[0]


def test_missing_restic_settings_are_named(tmp_path: Path) -> None:
    (tmp_path / "env").write_text("RESTIC_REPOSITORY=/r\n")
    with pytest.raises(sb.BackupError, match="RESTIC_PASSWORD_FILE is not set"):
        sb.Backup({"host": "h", "state_dir": "/x", "status_file": "/x/s", "env_file": str(tmp_path / "env")})
