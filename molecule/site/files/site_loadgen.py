# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Load generator of the site scenario's rolling restart, run on the tailnet peer.

Starts one chat completion every 100 ms, on the clock, to URL through the TLS proxy (trusting CA,
with the bearer token read from TOKEN_FILE) until STOP_FILE exists; each request runs in its own
thread, so a slow answer never delays the next request. Then it waits for the requests still
open and writes a JSON summary to OUT: requests sent, answered (200 with tokens), failed, the
first failures, the slowest answer, the answers slower than a second, the most requests open at
once and the largest gap between two starts. A request gets TIMEOUT seconds: llama-server holds
requests it accepts after SIGTERM until it exits, when the proxy hands them to a peer, so a
shorter client timeout would count as failed a request the fleet did answer. Standard library
only: the peer is a plain Debian host.

Usage: python3 site_loadgen.py URL CA TOKEN_FILE OUT STOP_FILE
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

INTERVAL = 0.1
TIMEOUT = 60
SLOW = 1.0
BODY = json.dumps(
    {
        "model": "tiny-chat",
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 4,
        "ignore_eos": True,
        "temperature": 0,
    }
).encode()


def one_request(url: str, context: ssl.SSLContext, token: str) -> str:
    """An empty string when the request was answered with tokens, else what went wrong."""
    request = urllib.request.Request(
        url,
        data=BODY,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        return repr(error)
    if answer.get("usage", {}).get("completion_tokens", 0) > 0:
        return ""
    return f"no tokens: {answer!r}"[:200]


class Tally:
    """What the request threads report, under one lock."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.lock = threading.Lock()
        self.answered = 0
        self.failures: list[str] = []
        self.slow: list[str] = []
        self.slowest = 0.0
        self.open = 0
        self.most_open = 0

    def begin(self) -> None:
        with self.lock:
            self.open += 1
            self.most_open = max(self.most_open, self.open)

    def end(self, sent_at: float, took: float, problem: str) -> None:
        with self.lock:
            self.open -= 1
            self.slowest = max(self.slowest, took)
            if took > SLOW:
                self.slow.append(f"{sent_at - self.started:.1f}s took {took:.1f}s")
            if problem:
                self.failures.append(f"{sent_at - self.started:.1f}s {problem}")
            else:
                self.answered += 1


def timed_request(url: str, context: ssl.SSLContext, token: str, tally: Tally) -> None:
    sent_at = time.monotonic()
    problem = one_request(url, context, token)
    tally.end(sent_at, time.monotonic() - sent_at, problem)


def main() -> None:
    url, ca, token_file, out, stop = sys.argv[1:6]
    context = ssl.create_default_context(cafile=ca)
    token = Path(token_file).read_text(encoding="utf-8").strip()
    started = time.monotonic()
    tally = Tally(started)
    threads: list[threading.Thread] = []
    largest_gap = 0.0
    last_start = started
    due = started
    while not Path(stop).exists():
        now = time.monotonic()
        if threads:
            largest_gap = max(largest_gap, now - last_start)
        last_start = now
        tally.begin()
        thread = threading.Thread(target=timed_request, args=(url, context, token, tally), daemon=True)
        thread.start()
        threads.append(thread)
        due = max(due + INTERVAL, time.monotonic())
        time.sleep(max(0.0, due - time.monotonic()))
    seconds = time.monotonic() - started
    for thread in threads:
        thread.join(TIMEOUT + 5)
    summary = {
        "sent": len(threads),
        "answered": tally.answered,
        "failed": len(tally.failures) + sum(thread.is_alive() for thread in threads),
        "seconds": round(seconds, 1),
        "first_failures": tally.failures[:20],
        "slowest_s": round(tally.slowest, 3),
        "slower_than_1s": tally.slow[:20],
        "most_open": tally.most_open,
        "largest_gap_s": round(largest_gap, 3),
    }
    Path(out).write_text(json.dumps(summary) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
