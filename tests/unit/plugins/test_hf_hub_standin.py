# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The Hugging Face Hub stand-in (tests/standins/hf_hub_standin.py): the Hub semantics the weights
cache's tests rely on, checked with plain urllib."""

from __future__ import annotations

import hashlib
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "standins"))
from hf_hub_standin import HubStandin, StandinRepo, git_blob_id, repos_from_directory

WEIGHTS = bytes(range(256)) * 40


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Lets a test see the 302 itself."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.fixture
def hub() -> Iterator[HubStandin]:
    repos = {
        "o/m-GGUF": StandinRepo(files={"m-Q4_K_M.gguf": WEIGHTS, "README.md": b"hi\n"}),
        "o/gated": StandinRepo(files={"m.gguf": WEIGHTS}, gated_token="hf_right"),
    }
    server = HubStandin(repos)
    yield server
    server.close()


def status(request: urllib.request.Request, opener: urllib.request.OpenerDirector | None = None) -> int:
    """The HTTP status of ``request``."""
    try:
        with (opener or urllib.request.build_opener()).open(request) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_the_listing_has_sizes_blob_ids_and_lfs_hashes_only_with_blobs(hub: HubStandin) -> None:
    commit = hub.repos["o/m-GGUF"].commit
    with urllib.request.urlopen(f"{hub.base}/api/models/o/m-GGUF/revision/main?blobs=true") as response:
        document = json.load(response)
    assert document["sha"] == commit
    readme, weights = document["siblings"]
    assert readme == {
        "rfilename": "README.md",
        "size": 3,
        "blobId": "45b983be36b73c0788dc9cbcb76cbb80fc7bb057",
    }
    assert weights["lfs"]["sha256"] == hashlib.sha256(WEIGHTS).hexdigest()
    with urllib.request.urlopen(f"{hub.base}/api/models/o/m-GGUF/revision/{commit}") as response:
        assert json.load(response)["siblings"][0] == {"rfilename": "README.md"}
    assert status(urllib.request.Request(f"{hub.base}/api/models/o/m-GGUF/revision/nope")) == 404
    assert status(urllib.request.Request(f"{hub.base}/api/models/o/none/revision/main")) == 404


def test_lfs_files_redirect_to_the_cdn_with_the_hub_headers(hub: HubStandin) -> None:
    opener = urllib.request.build_opener(NoRedirect)
    url = f"{hub.base}/o/m-GGUF/resolve/main/m-Q4_K_M.gguf"
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(urllib.request.Request(url, method="HEAD"))
    headers = redirect.value.headers
    assert redirect.value.code == 302
    assert headers["Location"].startswith(f"/cdn/{hashlib.sha256(WEIGHTS).hexdigest()}")
    assert headers["X-Repo-Commit"] == hub.repos["o/m-GGUF"].commit
    assert headers["X-Linked-Size"] == str(len(WEIGHTS))
    with urllib.request.urlopen(url) as response:
        assert response.read() == WEIGHTS


def test_range_gives_206_and_past_the_end_416(hub: HubStandin) -> None:
    url = f"{hub.base}/o/m-GGUF/resolve/main/m-Q4_K_M.gguf"
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=10000-"})) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 10000-{len(WEIGHTS) - 1}/{len(WEIGHTS)}"
        assert response.read() == WEIGHTS[10000:]
    past = urllib.request.Request(url, headers={"Range": f"bytes={len(WEIGHTS)}-"})
    assert status(past) == 416


def test_a_gated_repository_answers_401_without_and_403_with_a_wrong_token(hub: HubStandin) -> None:
    url = f"{hub.base}/o/gated/resolve/main/m.gguf"
    assert status(urllib.request.Request(url)) == 401
    assert status(urllib.request.Request(url, headers={"Authorization": "Bearer hf_wrong"})) == 403
    assert status(urllib.request.Request(url, headers={"Authorization": "Bearer hf_right"})) == 200


def test_a_cut_response_stops_short_and_is_counted() -> None:
    hub = HubStandin({"o/m": StandinRepo(files={"m.gguf": WEIGHTS})}, cut_after=1000, cut_times=1)
    try:
        with urllib.request.urlopen(f"{hub.base}/o/m/resolve/main/m.gguf") as response:
            received = b""
            while chunk := response.read(4096):
                received += chunk
    except Exception:  # http.client may raise IncompleteRead: either way the body is short
        received = b"cut"
    finally:
        hub.close()
    assert len(received) < len(WEIGHTS)
    assert hub.bytes_served == 1000


def test_a_directory_of_repositories_is_served_as_is(tmp_path: Path) -> None:
    (tmp_path / "o" / "m").mkdir(parents=True)
    (tmp_path / "o" / "m" / "config.json").write_bytes(b"{}")
    repos = repos_from_directory(tmp_path)
    assert list(repos) == ["o/m"]
    assert repos["o/m"].files == {"config.json": b"{}"}
    assert git_blob_id(b"{}") == "9e26dfeeb6e641a33dae4961196235bdb965b21b"
