# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/cache/artifacts.py: catalog, platforms, mirror, checksums, cache,
seeding."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import IO, Any

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache import artifacts
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.artifacts import (
    ArtifactCache,
    ArtifactError,
    ArtifactFile,
    Feedback,
    load_catalog,
    merge_overrides,
    parse_checksum_file,
    platform_key,
    select,
    with_mirror,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "artifacts"
BASE = "https://downloads.example/standin"
STANDIN = b"stand-in release file\n" * 100
STANDIN_SHA = hashlib.sha256(STANDIN).hexdigest()
OTHER = b"a different file with the same name\n"
OTHER_SHA = hashlib.sha256(OTHER).hexdigest()


class FakeUpstream:
    """An opener serving fixed bytes per URL and recording what was requested."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requested: list[str] = []

    def __call__(self, url: str) -> tuple[IO[bytes], int | None]:
        self.requested.append(url)
        if url not in self.files:
            raise OSError(f"HTTP Error 404: Not Found ({url})")
        return io.BytesIO(self.files[url]), len(self.files[url])


def standin_overrides(**entries: dict[str, Any]) -> dict[str, Any]:
    """``sovereign_artifacts`` entries for stand-in files on one platform."""
    return {
        name: {
            "version": "0.0.1-standin",
            "source": "unit test stand-in",
            "variants": {
                "linux-x86_64": {"url": f"{BASE}/standin-{name}.bin", "filename": f"standin-{name}.bin", **v}
            },
        }
        for name, v in entries.items()
    }


def standin_file(name: str, **variant: Any) -> ArtifactFile:
    """The linux-x86_64 file of a stand-in artifact."""
    catalog = load_catalog(standin_overrides(**{name: variant}))
    return catalog[name].resolve("linux-x86_64", "a test")


def files_under(root: Path) -> list[str]:
    """Every file under ``root``, relative, sorted (temp files included)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


# --------------------------------------------------------------------------- platforms


@pytest.mark.parametrize(
    ("system", "architecture", "expected"),
    [
        ("Linux", "x86_64", "linux-x86_64"),
        ("Linux", "amd64", "linux-x86_64"),
        ("Linux", "aarch64", "linux-aarch64"),
        ("Linux", "arm64", "linux-aarch64"),
        ("Darwin", "arm64", "darwin-arm64"),
        ("Darwin", "aarch64", "darwin-arm64"),
        ("Darwin", "x86_64", "darwin-x86_64"),
    ],
)
def test_platform_key_maps_fact_spellings(system: str, architecture: str, expected: str) -> None:
    assert platform_key(system, architecture) == expected


def test_platform_key_rejects_unknown_architecture_naming_the_known_ones() -> None:
    with pytest.raises(ArtifactError, match=r"architecture='ppc64le'.*aarch64, amd64, arm64, x86_64"):
        platform_key("Linux", "ppc64le")


# --------------------------------------------------------------------------- shipped catalog


def test_shipped_catalog_has_the_real_upstream_entries() -> None:
    catalog = load_catalog()
    assert {"qdrant", "tailscale", "ollama", "opa"} <= set(catalog)
    qdrant = catalog["qdrant"].resolve("linux-x86_64", "a test")
    assert qdrant.version == "1.19.1"
    assert qdrant.variant.url == (
        "https://github.com/qdrant/qdrant/releases/download/v1.19.1/qdrant-x86_64-unknown-linux-gnu.tar.gz"
    )
    assert qdrant.variant.sha256 == "eef986e769d4d3e806dd2d546e1b4ecdd416211e54d34b4ed764fac7c58e1085"
    opa = catalog["opa"].resolve("linux-x86_64", "a test")
    assert opa.variant.sha256 is None
    assert opa.variant.checksum_url == opa.variant.url + ".sha256"
    assert opa.variant.mode == "0755"
    assert catalog["ollama"].resolve("darwin-arm64", "a test").variant.filename == "ollama-darwin.tgz"


def test_shipped_catalog_urls_are_https_and_name_their_file() -> None:
    for spec in load_catalog().values():
        assert spec.source
        for variant in spec.variants.values():
            assert variant.url.startswith("https://"), variant.url
            assert variant.url.rsplit("/", 1)[1] == variant.filename
            assert variant.url.count(spec.version) >= 1, f"{spec.name}: url does not carry {spec.version}"
            assert (variant.sha256 is None) != (variant.checksum_url is None)


def test_missing_variant_names_the_platform_the_host_and_the_available_ones() -> None:
    tailscale = load_catalog()["tailscale"]
    with pytest.raises(ArtifactError) as error:
        tailscale.resolve("darwin-arm64", "host mac-1")
    message = str(error.value)
    assert "'tailscale' 1.90.6 has no variant for platform 'darwin-arm64'" in message
    assert "(needed by host mac-1); available: linux-aarch64, linux-x86_64" in message
    assert "sovereign_artifacts.tailscale.variants.darwin-arm64" in message


def test_select_rejects_unknown_names_listing_the_catalog() -> None:
    catalog = load_catalog()
    assert [spec.name for spec in select(catalog, ["opa", "qdrant", "opa"])] == ["opa", "qdrant"]
    with pytest.raises(
        ArtifactError,
        # The gateway's wheels (pywheel-*) sort between opa and qdrant.
        match=r"unknown artifact\(s\) 'qdrnat'; the catalog has: .*ollama, opa, (pywheel-\S+, )*qdrant",
    ):
        select(catalog, ["qdrnat"])


# --------------------------------------------------------------------------- inventory overrides


def test_override_replaces_version_and_variants_as_a_whole() -> None:
    catalog = load_catalog(standin_overrides(qdrant={"sha256": STANDIN_SHA}))
    qdrant = catalog["qdrant"]
    assert qdrant.version == "0.0.1-standin"
    assert list(qdrant.variants) == ["linux-x86_64"]
    assert qdrant.variants["linux-x86_64"].sha256 == STANDIN_SHA
    assert catalog["opa"].version == "1.4.2"


def test_override_of_one_key_keeps_the_catalog_variants() -> None:
    catalog = load_catalog({"ollama": {"source": "our own review, 2026-11"}})
    assert catalog["ollama"].source == "our own review, 2026-11"
    assert set(catalog["ollama"].variants) == {"linux-x86_64", "linux-aarch64", "darwin-arm64"}


def test_override_adds_a_new_artifact() -> None:
    catalog = load_catalog(standin_overrides(vllm_wheel={"checksum_url": f"{BASE}/SHA256SUMS"}))
    assert catalog["vllm_wheel"].variants["linux-x86_64"].checksum_url == f"{BASE}/SHA256SUMS"


def test_override_changing_version_without_variants_is_refused() -> None:
    with pytest.raises(
        ArtifactError, match=r"sovereign_artifacts.qdrant.version changes qdrant from 1.19.1 to 1.20.0"
    ):
        merge_overrides(
            {"qdrant": {"version": "1.19.1", "variants": {}}},
            {"qdrant": {"version": "1.20.0"}},
        )


@pytest.mark.parametrize(
    ("variant", "message"),
    [
        ({"sha256": STANDIN_SHA, "checksum_url": f"{BASE}/x.sha256"}, "give exactly one of sha256"),
        ({}, "give exactly one of sha256"),
        ({"sha256": "abc123"}, r"sovereign_artifacts.opa.variants.linux-x86_64.sha256: 'abc123' is not 64"),
        ({"sha256": STANDIN_SHA, "mode": "755"}, r"mode: '755' is not a quoted octal mode"),
        ({"sha256": STANDIN_SHA, "filename": "../etc/passwd"}, "must be a plain file name"),
    ],
)
def test_invalid_override_names_the_inventory_path(variant: dict[str, Any], message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        load_catalog(standin_overrides(opa=variant))


def test_override_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ArtifactError, match=r"sovereign_artifacts.qdrant must be a mapping"):
        load_catalog({"qdrant": "1.20.0"})


def test_pinned_hash_is_normalised_to_lower_case() -> None:
    assert standin_file("qdrant", sha256=STANDIN_SHA.upper()).variant.sha256 == STANDIN_SHA


# --------------------------------------------------------------------------- mirror


def test_mirror_rewrites_to_name_version_filename_and_keeps_the_pin() -> None:
    qdrant = load_catalog()["qdrant"].resolve("linux-aarch64", "a test")
    mirrored = with_mirror(qdrant, "https://mirror.lan/artifacts/")
    assert (
        mirrored.variant.url
        == "https://mirror.lan/artifacts/qdrant/1.19.1/qdrant-aarch64-unknown-linux-musl.tar.gz"
    )
    assert mirrored.variant.sha256 == "0e607c11705fab22f7d667f4749bc0b6b60a8fa9e91de71880a6ebafbbda1b26"
    assert mirrored.variant.checksum_url is None


def test_mirror_serves_checksum_records_beside_checksum_url_files() -> None:
    opa = load_catalog()["opa"].resolve("darwin-arm64", "a test")
    mirrored = with_mirror(opa, "http://10.0.0.5:8080")
    assert mirrored.variant.url == "http://10.0.0.5:8080/opa/1.4.2/opa_darwin_arm64_static"
    assert mirrored.variant.checksum_url == "http://10.0.0.5:8080/opa/1.4.2/opa_darwin_arm64_static.sha256"


def test_no_mirror_leaves_upstream_urls() -> None:
    opa = load_catalog()["opa"].resolve("linux-x86_64", "a test")
    assert with_mirror(opa, None) == opa
    assert with_mirror(opa, "") == opa


def test_mirror_that_is_not_a_url_is_refused() -> None:
    opa = load_catalog()["opa"].resolve("linux-x86_64", "a test")
    with pytest.raises(ArtifactError, match=r"sovereign_artifact_mirror 'mirror.lan' is not a URL"):
        with_mirror(opa, "mirror.lan")


# --------------------------------------------------------------------------- checksum files


@pytest.mark.parametrize(
    ("fixture", "filename", "expected"),
    [
        (
            "sha256sum.txt",
            "ollama-linux-amd64.tgz",
            "4997753db0c578d24f8fc95d1538741609d72529ab6e913ecbf910ae919b0232",
        ),
        (
            "sha256sum.txt",
            "ollama-darwin.tgz",
            "fd035fdf2a26c549674844d981cc15ab41c85bad8387a413de53e27c0721a956",
        ),
        (
            "single-hash.sha256",
            "tailscale_1.90.6_amd64.tgz",
            "cc51b5b6fe86a25e66b2ef037334e799a61d06dc64fabcadfe6e2a7588a2b2c7",
        ),
        (
            "hash-and-name.sha256",
            "qdrant-x86_64-unknown-linux-gnu.tar.gz",
            "eef986e769d4d3e806dd2d546e1b4ecdd416211e54d34b4ed764fac7c58e1085",
        ),
        (
            "bsd.sha256",
            "qdrant-aarch64-apple-darwin.tar.gz",
            "e060209dfefc9d977ddcec48521349f505f8fd1ce21f2a3db444140870522fe4",
        ),
    ],
)
def test_checksum_file_layouts(fixture: str, filename: str, expected: str) -> None:
    text = (FIXTURES / fixture).read_text()
    assert parse_checksum_file(text, filename, fixture) == expected


def test_checksum_file_binary_mode_marker() -> None:
    assert parse_checksum_file(f"{STANDIN_SHA} *dist/standin.bin\n", "standin.bin", "x") == STANDIN_SHA


def test_checksum_file_without_the_file_lists_what_it_has() -> None:
    text = (FIXTURES / "sha256sum.txt").read_text()
    with pytest.raises(ArtifactError) as error:
        parse_checksum_file(text, "ollama-windows-amd64.zip", "https://example/sha256sum.txt")
    assert str(error.value) == (
        "checksum file https://example/sha256sum.txt has no sha256 for 'ollama-windows-amd64.zip' "
        "(it lists: ollama-darwin.tgz, ollama-linux-amd64.tgz, ollama-linux-arm64.tgz)"
    )


def test_checksum_file_naming_another_file_is_not_trusted() -> None:
    text = (FIXTURES / "hash-and-name.sha256").read_text()
    with pytest.raises(
        ArtifactError, match=r"has no sha256 for 'qdrant-aarch64-unknown-linux-musl\.tar\.gz'"
    ):
        parse_checksum_file(text, "qdrant-aarch64-unknown-linux-musl.tar.gz", "x")


def test_checksum_file_with_no_hash_at_all() -> None:
    with pytest.raises(ArtifactError, match=r"it lists: no sha256 lines"):
        parse_checksum_file("<html>Not Found</html>\n", "standin.bin", "x")


# --------------------------------------------------------------------------- download and cache


def test_download_verifies_renames_and_records(tmp_path: Path) -> None:
    artifact = standin_file("qdrant", sha256=STANDIN_SHA)
    upstream = FakeUpstream({artifact.variant.url: STANDIN})
    said: list[str] = []
    cache = ArtifactCache(tmp_path, opener=upstream, feedback=Feedback(say=said.append))

    report = cache.ensure([artifact])

    assert report.downloaded == [artifact]
    assert report.hashes == {artifact: STANDIN_SHA}
    assert files_under(tmp_path) == [
        "qdrant/0.0.1-standin/standin-qdrant.bin",
        "qdrant/0.0.1-standin/standin-qdrant.bin.sha256",
    ]
    assert (tmp_path / "qdrant/0.0.1-standin/standin-qdrant.bin").read_bytes() == STANDIN
    assert (tmp_path / "qdrant/0.0.1-standin/standin-qdrant.bin.sha256").read_text() == (
        f"{STANDIN_SHA}  standin-qdrant.bin\n"
    )
    assert said == [f"artifact qdrant 0.0.1-standin (linux-x86_64): downloading {BASE}/standin-qdrant.bin"]


def test_cache_hit_downloads_nothing(tmp_path: Path) -> None:
    artifact = standin_file("qdrant", sha256=STANDIN_SHA)
    upstream = FakeUpstream({artifact.variant.url: STANDIN})
    ArtifactCache(tmp_path, opener=upstream).ensure([artifact])

    report = ArtifactCache(tmp_path, opener=upstream).ensure([artifact])

    assert upstream.requested == [artifact.variant.url]
    assert report.cached == [artifact]
    assert report.downloaded == []


def test_checksum_url_entry_is_verified_against_the_published_file_and_recorded(tmp_path: Path) -> None:
    artifact = standin_file("opa", checksum_url=f"{BASE}/SHA256SUMS")
    upstream = FakeUpstream(
        {
            f"{BASE}/SHA256SUMS": f"{OTHER_SHA}  standin-other.bin\n{STANDIN_SHA}  standin-opa.bin\n".encode(
                "ascii"
            ),
            artifact.variant.url: STANDIN,
        }
    )
    ArtifactCache(tmp_path, opener=upstream).ensure([artifact])
    again = ArtifactCache(tmp_path, opener=upstream).ensure([artifact])

    assert upstream.requested == [f"{BASE}/SHA256SUMS", artifact.variant.url]
    assert again.cached == [artifact]
    assert again.hashes[artifact] == STANDIN_SHA


def test_mismatch_names_artifact_hashes_and_url_and_deletes_the_download(tmp_path: Path) -> None:
    artifact = standin_file("qdrant", sha256=STANDIN_SHA)
    cache = ArtifactCache(tmp_path, opener=FakeUpstream({artifact.variant.url: OTHER}))

    with pytest.raises(ArtifactError) as error:
        cache.ensure([artifact])

    assert str(error.value).startswith(
        f"sha256 mismatch for artifact qdrant 0.0.1-standin (linux-x86_64) downloaded from "
        f"{BASE}/standin-qdrant.bin: expected {STANDIN_SHA}, got {OTHER_SHA}. "
        "The download was deleted and nothing was installed."
    )
    assert files_under(tmp_path) == []


def test_corrupt_cached_copy_is_downloaded_again(tmp_path: Path) -> None:
    artifact = standin_file("qdrant", sha256=STANDIN_SHA)
    cached = tmp_path / "qdrant/0.0.1-standin/standin-qdrant.bin"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(OTHER)
    upstream = FakeUpstream({artifact.variant.url: STANDIN})

    report = ArtifactCache(tmp_path, opener=upstream).ensure([artifact])

    assert report.downloaded == [artifact]
    assert cached.read_bytes() == STANDIN


def test_download_failure_says_how_to_work_offline(tmp_path: Path) -> None:
    artifact = standin_file("qdrant", sha256=STANDIN_SHA)
    with pytest.raises(ArtifactError) as error:
        ArtifactCache(tmp_path, opener=FakeUpstream({})).ensure([artifact])
    message = str(error.value)
    assert message.startswith(
        f"could not download qdrant 0.0.1-standin (linux-x86_64) from {BASE}/standin-qdrant.bin"
    )
    assert "sovereign_artifact_mirror" in message
    assert "sovereign_artifact_offline: true" in message
    assert "sovereign.stack.artifacts_seed" in message
    assert files_under(tmp_path) == []


def test_mirror_is_used_for_file_and_checksum(tmp_path: Path) -> None:
    artifact = standin_file("opa", checksum_url=f"{BASE}/SHA256SUMS")
    mirror = "http://mirror.lan/a"
    upstream = FakeUpstream(
        {
            f"{mirror}/opa/0.0.1-standin/standin-opa.bin.sha256": f"{STANDIN_SHA}\n".encode(),
            f"{mirror}/opa/0.0.1-standin/standin-opa.bin": STANDIN,
        }
    )
    ArtifactCache(tmp_path, opener=upstream).ensure([artifact], mirror=mirror)
    assert upstream.requested == [
        f"{mirror}/opa/0.0.1-standin/standin-opa.bin.sha256",
        f"{mirror}/opa/0.0.1-standin/standin-opa.bin",
    ]


def test_check_mode_reports_and_downloads_nothing(tmp_path: Path) -> None:
    artifact = standin_file("qdrant", sha256=STANDIN_SHA)
    upstream = FakeUpstream({artifact.variant.url: STANDIN})

    report = ArtifactCache(tmp_path, opener=upstream).ensure([artifact], check_mode=True)

    assert report.would_download == [artifact]
    assert upstream.requested == []
    assert files_under(tmp_path) == []


def test_offline_mode_lists_every_missing_file_once(tmp_path: Path) -> None:
    catalog = load_catalog(
        standin_overrides(qdrant={"sha256": STANDIN_SHA}, opa={"checksum_url": f"{BASE}/SHA256SUMS"})
    )
    qdrant = catalog["qdrant"].resolve("linux-x86_64", "a test")
    opa = catalog["opa"].resolve("linux-x86_64", "a test")
    corrupt = tmp_path / "qdrant/0.0.1-standin/standin-qdrant.bin"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_bytes(OTHER)
    upstream = FakeUpstream({})

    with pytest.raises(ArtifactError) as error:
        ArtifactCache(tmp_path, opener=upstream).ensure([qdrant, opa], offline=True)

    assert str(error.value) == (
        f"sovereign_artifact_offline is true and 2 artifact file(s) are not in the cache {tmp_path}:\n"
        f"  - qdrant 0.0.1-standin (linux-x86_64): standin-qdrant.bin\n"
        f"      expected at: {corrupt}\n"
        f"      cached copy has sha256 {OTHER_SHA}, expected {STANDIN_SHA}\n"
        f"      get it from: {BASE}/standin-qdrant.bin (sha256 {STANDIN_SHA})\n"
        f"  - opa 0.0.1-standin (linux-x86_64): standin-opa.bin\n"
        f"      expected at: {tmp_path / 'opa/0.0.1-standin/standin-opa.bin'}\n"
        f"      get it from: {BASE}/standin-opa.bin (sha256 from {BASE}/SHA256SUMS)\n"
        "Copy these files (and, for checksum_url entries, their checksum files) into one directory "
        "on this controller and run:\n"
        "  ansible-playbook -i <your inventory> sovereign.stack.artifacts_seed -e artifacts_seed_dir=<dir>"
    )
    assert upstream.requested == []
    assert corrupt.read_bytes() == OTHER


def test_offline_mode_with_everything_cached_succeeds(tmp_path: Path) -> None:
    artifact = standin_file("qdrant", sha256=STANDIN_SHA)
    ArtifactCache(tmp_path, opener=FakeUpstream({artifact.variant.url: STANDIN})).ensure([artifact])
    report = ArtifactCache(tmp_path, opener=FakeUpstream({})).ensure([artifact], offline=True)
    assert report.cached == [artifact]


def test_big_downloads_report_percent_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "_CHUNK", 100)
    monkeypatch.setattr(artifacts, "_PROGRESS_MIN_BYTES", 1000)
    data = bytes(range(250)) * 8  # 2000 bytes, 20 chunks
    artifact = standin_file("ollama", sha256=hashlib.sha256(data).hexdigest())
    details: list[str] = []
    cache = ArtifactCache(
        tmp_path, opener=FakeUpstream({artifact.variant.url: data}), feedback=Feedback(detail=details.append)
    )

    cache.ensure([artifact])

    assert details == [
        f"artifact ollama 0.0.1-standin (linux-x86_64): {p}% of 0 MiB" for p in range(10, 101, 10)
    ]


def test_small_downloads_report_no_percentages(tmp_path: Path) -> None:
    artifact = standin_file("qdrant", sha256=STANDIN_SHA)
    details: list[str] = []
    cache = ArtifactCache(
        tmp_path,
        opener=FakeUpstream({artifact.variant.url: STANDIN}),
        feedback=Feedback(detail=details.append),
    )
    cache.ensure([artifact])
    assert details == []


# --------------------------------------------------------------------------- seeding


def test_seed_verifies_copies_and_reports_tampered_files(tmp_path: Path) -> None:
    catalog = load_catalog(
        standin_overrides(
            qdrant={"sha256": STANDIN_SHA},
            opa={"checksum_url": f"{BASE}/SHA256SUMS"},
            tailscale={"sha256": STANDIN_SHA},
        )
    )
    usb = tmp_path / "usb"
    (usb / "opa").mkdir(parents=True)
    (usb / "standin-qdrant.bin").write_bytes(STANDIN)
    (usb / "opa" / "standin-opa.bin").write_bytes(STANDIN)
    (usb / "opa" / "SHA256SUMS").write_text(f"{STANDIN_SHA}  standin-opa.bin\n")
    (usb / "standin-tailscale.bin").write_bytes(OTHER)
    (usb / "unrelated.txt").write_text("not an artifact")
    cache = ArtifactCache(tmp_path / "cache", opener=FakeUpstream({}))

    report = cache.seed(catalog, usb)

    assert report.seeded == ["qdrant 0.0.1-standin (linux-x86_64)", "opa 0.0.1-standin (linux-x86_64)"]
    assert report.rejected == [
        f"{usb / 'standin-tailscale.bin'}: sha256 {OTHER_SHA} does not match "
        f"tailscale 0.0.1-standin (linux-x86_64), expected {STANDIN_SHA}"
    ]
    assert files_under(tmp_path / "cache") == [
        "opa/0.0.1-standin/standin-opa.bin",
        "opa/0.0.1-standin/standin-opa.bin.sha256",
        "qdrant/0.0.1-standin/standin-qdrant.bin",
        "qdrant/0.0.1-standin/standin-qdrant.bin.sha256",
    ]
    again = cache.seed(catalog, usb)
    assert again.seeded == []
    assert again.already_cached == ["qdrant 0.0.1-standin (linux-x86_64)", "opa 0.0.1-standin (linux-x86_64)"]


def test_seed_from_another_cache_uses_its_records(tmp_path: Path) -> None:
    catalog = load_catalog(standin_overrides(opa={"checksum_url": f"{BASE}/SHA256SUMS"}))
    opa = catalog["opa"].resolve("linux-x86_64", "a test")
    upstream = FakeUpstream(
        {f"{BASE}/SHA256SUMS": f"{STANDIN_SHA}  standin-opa.bin\n".encode(), opa.variant.url: STANDIN}
    )
    ArtifactCache(tmp_path / "online", opener=upstream).ensure([opa])

    report = ArtifactCache(tmp_path / "airgapped", opener=FakeUpstream({})).seed(catalog, tmp_path / "online")

    assert report.seeded == ["opa 0.0.1-standin (linux-x86_64)"]
    assert (tmp_path / "airgapped/opa/0.0.1-standin/standin-opa.bin").read_bytes() == STANDIN


def test_seed_cannot_verify_a_checksum_url_file_without_its_checksum_file(tmp_path: Path) -> None:
    catalog = load_catalog(standin_overrides(opa={"checksum_url": f"{BASE}/SHA256SUMS"}))
    (tmp_path / "usb").mkdir()
    (tmp_path / "usb" / "standin-opa.bin").write_bytes(STANDIN)

    report = ArtifactCache(tmp_path / "cache").seed(catalog, tmp_path / "usb")

    assert report.seeded == []
    assert report.rejected == [
        f"{tmp_path / 'usb' / 'standin-opa.bin'}: cannot verify opa 0.0.1-standin (linux-x86_64): "
        "its catalog entry has no pinned sha256, and no SHA256SUMS or standin-opa.bin.sha256 "
        f"with its hash was found in the seed directory (download it from {BASE}/SHA256SUMS)"
    ]
    assert files_under(tmp_path / "cache") == []


def test_seed_directory_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match=r"artifacts_seed_dir '.*/nowhere' is not a directory"):
        ArtifactCache(tmp_path).seed(load_catalog(), tmp_path / "nowhere")
