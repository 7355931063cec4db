# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""A loopback stand-in of an OpenAI-compatible engine, for the fleet router's tests and benchmark.

Test-only, standard library only. It answers ``GET /health``, ``GET /v1/models`` and ``POST`` to
``/v1/chat/completions``, ``/v1/completions`` and ``/v1/embeddings`` over HTTP/1.1 with kept-alive
connections. A completion has ``--chunks`` tokens; streamed, each is an SSE event sent
``--chunk-delay`` seconds after the previous one (a non-streamed answer comes ``--answer-delay``
seconds after the request), so a test can tell a relayed chunk from a buffered whole;
``--refuse-with 503`` answers every completion with that status, as an engine still loading.
``usage`` counts the prompt's whitespace-separated words and the chunks, and the last streamed event
carries it too, so accounting can be checked against what the backend said. Written on raw asyncio
streams so that its own cost stays small beside a router's.

    python fake_openai_backend.py --port 18001 --model small [--chunks 8] [--chunk-delay 0.02]
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

MAX_HEAD_BYTES = 64 * 1024


def _prompt_words(request: dict[str, Any]) -> int:
    if isinstance(request.get("messages"), list):
        text = " ".join(
            str(message.get("content", "")) for message in request["messages"] if isinstance(message, dict)
        )
    else:
        text = str(request.get("prompt", request.get("input", "")))
    return len(text.split())


class Backend:
    """One fake engine serving ``model``."""

    def __init__(
        self, model: str, chunks: int, chunk_delay: float, answer_delay: float = 0.0, refuse_with: int = 0
    ) -> None:
        self.model = model
        self.refuse_with = refuse_with
        self.chunks = chunks
        self.chunk_delay = chunk_delay
        self.answer_delay = answer_delay

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve requests on one connection until the client closes it."""
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                words = request_line.split(" ")
                if len(words) != 3:
                    return  # not HTTP/1.1 (a router's probe of another protocol): hang up
                method, target, _version = words
                headers = {}
                for line in header_lines:
                    if line:
                        name, _colon, value = line.partition(":")
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                await self._answer(method, target, body, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()

    async def _answer(self, method: str, target: str, body: bytes, writer: asyncio.StreamWriter) -> None:
        if method == "GET" and target == "/health":
            return await _send_json(writer, 200, {"status": "ok"})
        if method == "GET" and target == "/v1/models":
            return await _send_json(
                writer, 200, {"object": "list", "data": [{"id": self.model, "object": "model"}]}
            )
        if method != "POST" or target not in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings"):
            return await _send_json(writer, 404, {"error": {"message": f"no route {target}", "code": 404}})
        if self.refuse_with:
            return await _send_json(
                writer, self.refuse_with, {"error": {"message": "loading model", "code": 503}}
            )
        try:
            request = json.loads(body)
        except ValueError:
            return await _send_json(writer, 400, {"error": {"message": "bad json", "code": 400}})
        return await self._complete(target, request, writer)

    async def _complete(self, target: str, request: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        usage = {"prompt_tokens": _prompt_words(request), "completion_tokens": self.chunks}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if target == "/v1/embeddings":
            usage.update(completion_tokens=0, total_tokens=usage["prompt_tokens"])
            data = [{"object": "embedding", "index": 0, "embedding": [0.0] * 8}]
            answer = {"object": "list", "model": self.model, "data": data, "usage": usage}
            return await _send_json(writer, 200, answer)
        chat = target == "/v1/chat/completions"
        if request.get("stream"):
            return await self._stream(writer, chat, usage)
        # A non-streamed answer comes whole after the generation, as an engine's does.
        await asyncio.sleep(self.answer_delay)
        text = " ".join(f"t{index}" for index in range(self.chunks))
        choice: dict[str, Any] = {"index": 0, "finish_reason": "length"}
        choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
        answer = {
            "id": "fake",
            "object": "chat.completion" if chat else "text_completion",
            "model": self.model,
        }
        return await _send_json(writer, 200, {**answer, "choices": [choice], "usage": usage})

    async def _stream(self, writer: asyncio.StreamWriter, chat: bool, usage: dict[str, int]) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for index in range(self.chunks):
            if index:
                await asyncio.sleep(self.chunk_delay)
            delta: dict[str, Any] = {"delta": {"content": f"t{index} "}} if chat else {"text": f"t{index} "}
            event: dict[str, Any] = {"id": "fake", "model": self.model, "choices": [{"index": 0, **delta}]}
            if index == self.chunks - 1:
                event["usage"] = usage
            _write_chunk(writer, b"data: " + json.dumps(event).encode() + b"\n\n")
            await writer.drain()
        _write_chunk(writer, b"data: [DONE]\n\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def _write_chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")


async def _send_json(writer: asyncio.StreamWriter, status: int, payload: dict[str, Any]) -> None:
    body = json.dumps(payload).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()


async def serve(host: str, port: int, backend: Backend) -> None:
    """Listen until cancelled."""
    server = await asyncio.start_server(backend.handle, host, port, limit=MAX_HEAD_BYTES)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Parse the command line and serve until killed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--chunk-delay", type=float, default=0.02)
    parser.add_argument(
        "--answer-delay", type=float, default=0.0, help="seconds before a non-streamed answer"
    )
    parser.add_argument("--refuse-with", type=int, default=0, help="answer every completion with this status")
    options = parser.parse_args()
    backend = Backend(
        options.model, options.chunks, options.chunk_delay, options.answer_delay, options.refuse_with
    )
    asyncio.run(serve(options.host, options.port, backend))


if __name__ == "__main__":
    main()
