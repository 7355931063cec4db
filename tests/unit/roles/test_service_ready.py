# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Role sovereign.stack.service_ready: the one readiness check of the roles that start a service.

One ``ansible-playbook`` run on localhost against a small HTTP server on loopback: each case is an
inventory host of its own, so a ready service passes and a service that never becomes ready stops
with a message naming the unit, the URL and the last lines of its log files.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import local_playbook
import pytest

PLAYBOOK = """
- name: Wait as the roles do
  hosts: all
  gather_facts: false
  tasks:
    - name: Include the readiness check
      ansible.builtin.include_role:
        name: sovereign.stack.service_ready
"""


class _Handler(http.server.BaseHTTPRequestHandler):
    """/ok answers 200, /models lists the model ``tiny``, anything else 503 (loading)."""

    def do_GET(self) -> None:
        if self.path == "/ok":
            self._answer(200, {"status": "ok"})
        elif self.path == "/models":
            self._answer(200, {"object": "list", "data": [{"id": "tiny"}]})
        else:
            self._answer(503, {"error": "Loading model"})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def outcomes(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Host -> "" when it was ready, else the message that stopped it."""
    root = tmp_path_factory.mktemp("service_ready")
    log = root / "service.log"
    log.write_text('{"msg":"Decision Log","decision_id":"1"}\nerror: policy does not compile\n')
    common = {
        "service_ready_timeout": 2,
        # No systemd in a test container: the failure quotes a log file instead of a journal.
        "service_ready_journal": False,
    }
    cases: dict[str, dict[str, Any]] = {
        "ready": {"service_ready_url": f"{base_url}/ok"},
        "model_listed": {"service_ready_url": f"{base_url}/models", "service_ready_model": "tiny"},
        "model_missing": {
            "service_ready_unit": "sovereign-engine-other",
            "service_ready_url": f"{base_url}/models",
            "service_ready_model": "other",
        },
        "loading": {
            "service_ready_unit": "sovereign-opa",
            "service_ready_url": f"{base_url}/health",
            "service_ready_log_files": [str(log)],
            "service_ready_log_reject": '"msg":"Decision Log"',
        },
        "no_url": {"service_ready_name": "Qdrant"},
    }
    hosts = {name: {**common, **overrides} for name, overrides in cases.items()}
    return local_playbook.failure_messages(local_playbook.run(root, PLAYBOOK, hosts), hosts)


def test_a_service_answering_200_is_ready(outcomes: dict[str, str]) -> None:
    assert outcomes["ready"] == ""


def test_an_api_listing_the_model_is_ready(outcomes: dict[str, str]) -> None:
    assert outcomes["model_listed"] == ""


def test_an_api_without_the_model_stops_the_play_naming_unit_model_and_url(
    outcomes: dict[str, str], base_url: str
) -> None:
    assert (
        f"sovereign-engine-other did not list model 'other' on {base_url}/models within 2 s"
        in outcomes["model_missing"]
    )


def test_a_loading_service_stops_the_play_with_its_log_lines_less_the_rejected(
    outcomes: dict[str, str], base_url: str
) -> None:
    message = outcomes["loading"]
    assert f"sovereign-opa did not answer {base_url}/health within 2 s" in message
    assert "Loading model" in message  # the last answer
    assert "error: policy does not compile" in message
    assert "Decision Log" not in message.replace('without lines matching "msg":"Decision Log"', "")


def test_a_missing_url_is_refused_naming_the_variable(outcomes: dict[str, str]) -> None:
    assert "service_ready_url is empty for Qdrant" in outcomes["no_url"]
