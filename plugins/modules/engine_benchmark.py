#!/usr/bin/python
# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Ansible module ``sovereign.stack.engine_benchmark``: measure one running deployment through its API."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: engine_benchmark
short_description: Measure a running model deployment through its OpenAI-compatible API on the host
version_added: 0.1.0
description:
  - Sends streamed C(/v1/completions) requests with fixed prompts to the deployment's engine on
    C(127.0.0.1:<port>) and measures, per depth (tokens already in the context when decoding starts),
    the time to the first token, decode tokens/s and prefill tokens/s; each depth O(repeats) times,
    reporting the median.
  - The depths are those the plan predicts (the keys of C(predicted_decode_tps_by_depth)) up to
    O(max_depth) and below the deployment's context, and always 0. A first short request reads how many
    characters the engine's tokenizer puts in a token, so each prompt holds about as many tokens as its
    depth; the number the engine reports is returned as C(prompt_tokens).
  - Every prompt starts with a line unique to this run, so no engine answers from a prompt cache.
  - Decode and prefill speed are the engine's own figures where it reports them (llama.cpp's
    C(timings)), else timed here from the arrival of the streamed chunks (C(decode_source),
    C(prefill_source)).
  - Memory, where something reports it - C(engine_bytes) and C(engine_vram_bytes) from Ollama's
    C(/api/ps), and C(service_bytes), the systemd service's C(MemoryCurrent).
  - An engine that is down, refuses a request or answers without tokens is reported in RV(measurement.error)
    (or per depth), never as a task failure, so one broken deployment does not stop the others.
  - Needs only Python's standard library on the host.
author:
  - sovereign.stack contributors (@sovereign-stack)
options:
  deployment:
    description:
      - The deployment's entry of the plan (C(sovereign_plan.plan.hosts[inventory_hostname].deployments[])).
        Read are C(name), C(replica), C(engine), C(port), C(context), C(model_path) and
        C(predicted_decode_tps_by_depth).
    type: dict
    required: true
  max_depth:
    description: The deepest context to measure at, in tokens.
    type: int
    default: 4096
  repeats:
    description: Requests per depth; the figures are their median.
    type: int
    default: 3
  decode_tokens:
    description: Tokens to generate per request (fewer where the context leaves less room).
    type: int
    default: 128
  timeout:
    description:
      - Seconds the engine may stay silent within one request (to connect, before the first token,
        between two chunks) before the request counts as failed.
    type: int
    default: 600
  service:
    description:
      - The systemd service whose memory is read. Defaults to the engine role's name for the deployment,
        C(sovereign-engine-<name>[-<replica>].service).
    type: str
attributes:
  check_mode:
    support: full
    details: Measures in check mode too; nothing on the host is changed, only requests are sent.
  diff_mode:
    support: none
    details: Nothing is changed.
  platform:
    details: Needs only Python's standard library; the service's memory is read on hosts with systemd.
extends_documentation_fragment:
  - sovereign.stack.platform
  - action_common_attributes
notes:
  - The collection's C(docs/benchmark.md) says what is measured and how it is compared with the plan.
"""

EXAMPLES = r"""
- name: Measure each deployment of the host
  sovereign.stack.engine_benchmark:
    deployment: "{{ item }}"
    max_depth: 4096
  loop: "{{ sovereign_plan.plan.hosts[inventory_hostname].deployments }}"
  loop_control:
    label: "{{ item.name }}#{{ item.replica }}"
  register: sovereign_benchmark_measured
"""

RETURN = r"""
measurement:
  description: What was measured.
  returned: always
  type: dict
  contains:
    name:
      description: The deployment's name.
      type: str
    replica:
      description: The replica number.
      type: int
    engine:
      description: The engine id.
      type: str
    port:
      description: The loopback port asked.
      type: int
    model_id:
      description: The model id the engine serves the deployment under, null when none could be read.
      type: str
    measured_at:
      description: When measuring started, UTC, ISO 8601.
      type: str
    tokenizer_chars_per_token:
      description: Characters per token the first request found, used to size the prompts.
      type: float
    depths:
      description:
        - Per depth, C(depth) (asked), C(runs), C(prompt_tokens) (the engine's count), C(completion_tokens),
          C(ttft_s), C(decode_tps), C(decode_source) (engine or client), C(prefill_tps), C(prefill_source),
          and C(errors) from requests that failed; or C(depth) and C(error) when every request failed.
      type: list
      elements: dict
    memory:
      description: C(engine_bytes), C(engine_vram_bytes) and C(service_bytes) where read; empty otherwise.
      type: dict
    error:
      description: Why nothing could be measured (engine down, wrong model, every request failed), else null.
      type: str
  sample:
    name: chat
    replica: 0
    engine: llama.cpp
    port: 8080
    model_id: chat
    measured_at: "2026-12-06T21:50:00Z"
    tokenizer_chars_per_token: 4.1
    depths:
      - {depth: 0, runs: 3, prompt_tokens: 31, completion_tokens: 128, ttft_s: 0.05, decode_tps: 41.7,
         decode_source: engine, prefill_tps: 620.0, prefill_source: engine}
    memory: {service_bytes: 5368709120}
    error: null
"""

import datetime
import json
import secrets
import time
import urllib.error
from typing import Any, Callable, Dict, Generator, List, Optional, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.sovereign.stack.plugins.module_utils.engine_stream import (
    Figures,
    Reading,
    StreamError,
    figures,
    median_figures,
    read_stream,
)

ARGUMENT_SPEC: Dict[str, Any] = {
    "deployment": {"type": "dict", "required": True},
    "max_depth": {"type": "int", "default": 4096},
    "repeats": {"type": "int", "default": 3},
    # A count of generated tokens, not a secret.
    "decode_tokens": {"type": "int", "default": 128, "no_log": False},
    "timeout": {"type": "int", "default": 600},
    "service": {"type": "str"},
}
# Request fields beyond OpenAI's that each engine accepts: generate the tokens asked for even past an
# end-of-sequence token (random or terse models stop early), and for llama.cpp no prompt cache.
EXTRA_FIELDS: Dict[str, Dict[str, Any]] = {
    "llama.cpp": {"ignore_eos": True, "cache_prompt": False},
    "vllm": {"ignore_eos": True},
    "sglang": {"ignore_eos": True},
}
# Fixed text the prompts are cut from: plain English sentences, so tokenizers split it as they split
# ordinary text.
FILLER = (
    "The river runs past the old mill, where the miller keeps a ledger of every sack of grain. "
    "In spring the water rises and the wheel turns faster; in summer it slows, and the village waits. "
    "Travellers stop at the inn to trade news of roads, bridges, markets and the weather in the hills. "
    "A clock in the square strikes each hour, and the baker opens his shutters before the first bell. "
    "Children walk to the school by the chapel, reading the notices pinned to the board by the gate. "
)
PROBE_CHARS = 600
# Tokens kept free of the context besides prompt and answer (special tokens, templates, rounding).
MARGIN_TOKENS = 16
# Prompts are sized a little under the token count asked, so an uneven tokenizer cannot overflow.
PROMPT_FILL = 0.95


class EngineError(Exception):
    """The engine could not be asked or refused; the message says what happened."""


class Engine:
    """HTTP to one engine on the loopback address."""

    def __init__(self, port: int, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.timeout = timeout
        self.clock = clock

    def _open(self, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        try:
            # Loopback only, so never through a proxy the environment may name.
            return open_url(
                self.base + path,
                data=data,
                headers={"Content-Type": "application/json"},
                method="GET" if data is None else "POST",
                timeout=self.timeout,
                use_proxy=False,
            )
        except urllib.error.HTTPError as error:
            detail = error.read(400).decode("utf-8", "replace").strip()
            raise EngineError(f"{self.base}{path} answered HTTP {error.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise EngineError(f"engine down: {self.base}{path} cannot be reached ({reason})") from None

    def get_json(self, path: str) -> Any:
        """The JSON answer to GET ``path``."""
        with self._open(path) as response:
            try:
                return json.loads(response.read())
            except ValueError:
                raise EngineError(f"{self.base}{path} answered something that is not JSON") from None

    def stream(self, body: Dict[str, Any]) -> Tuple[float, Generator[Tuple[float, str], None, None]]:
        """Send a streamed completion; the time it was sent and its lines with their arrival times."""
        sent_at = self.clock()
        response = self._open("/v1/completions", body)

        def lines() -> Generator[Tuple[float, str], None, None]:
            with response:
                try:
                    for raw in response:
                        yield self.clock(), raw.decode("utf-8", "replace")
                except OSError as error:
                    raise EngineError(f"the stream from {self.base} broke off: {error}") from None

        return sent_at, lines()


def served_model(engine: Engine, deployment: Dict[str, Any]) -> str:
    """The id the engine serves the deployment under: its name (Ollama: name:latest; mlx-lm: the path)."""
    answer = engine.get_json("/v1/models")
    data = answer.get("data") if isinstance(answer, dict) else None
    ids = [str(item.get("id")) for item in data or [] if isinstance(item, dict)]
    name = str(deployment["name"])
    for candidate in (name, f"{name}:latest", str(deployment.get("model_path") or "")):
        if candidate in ids:
            return candidate
    raise EngineError(
        f"the engine on port {deployment['port']} serves {ids or 'no model'}, not deployment {name!r}: "
        "the plan differs from what runs (apply it with site.yml)"
    )


def depths_to_measure(deployment: Dict[str, Any], max_depth: int) -> List[int]:
    """0, and the depths the plan predicts, up to ``max_depth`` and below the context."""
    context = int(deployment["context"])
    predicted = deployment.get("predicted_decode_tps_by_depth") or {}
    asked = {int(depth) for depth in predicted if str(depth).isdigit()}
    return sorted({0} | {depth for depth in asked if depth <= max_depth and depth < context})


def prompt(lead: str, chars: int) -> str:
    """``lead`` followed by ``chars`` characters of the filler text."""
    body = FILLER * (chars // len(FILLER) + 1)
    return lead + body[: max(chars, 0)]


class Measurer:
    """Measures one deployment; every failure is kept as text, never raised."""

    def __init__(self, engine: Engine, deployment: Dict[str, Any], params: Dict[str, Any]) -> None:
        self.engine = engine
        self.deployment = deployment
        self.params = params
        self.run_id = secrets.token_hex(4)
        self.context = int(deployment["context"])
        self.body: Dict[str, Any] = {
            "temperature": 0,
            "stream": True,
            "stream_options": {"include_usage": True},
            **EXTRA_FIELDS.get(str(deployment["engine"]), {}),
        }

    def lead(self, label: str) -> str:
        return f"Run {self.run_id} {label}. Continue the story.\n"

    def answer(self, model_id: str, text: str, max_tokens: int) -> Tuple[float, Reading]:
        """When the request was sent, and its whole answer (the connection closed however it ends)."""
        sent_at, lines = self.engine.stream(
            {**self.body, "model": model_id, "prompt": text, "max_tokens": max_tokens}
        )
        try:
            return sent_at, read_stream(lines)
        finally:
            lines.close()

    def chars_per_token(self, model_id: str) -> float:
        """Characters per prompt token, from a first request that also wakes the engine."""
        # At most one character per token: the probe fits any context, whatever the tokenizer.
        lead = self.lead("probe")
        text = prompt(lead, min(PROBE_CHARS, self.context // 2 - len(lead)))
        _sent_at, reading = self.answer(model_id, text, 2)
        tokens = reading.prompt_tokens or int(reading.timings.get("prompt_n", 0))
        # Without a count (an engine that reports no usage) assume English's usual 4.
        return len(text) / tokens if tokens else 4.0

    def depth(self, model_id: str, depth: int, chars_per_token: float) -> Dict[str, Any]:
        """The median figures at ``depth``, or its error."""
        room = self.context - MARGIN_TOKENS
        lead = self.lead(f"depth {depth}")
        lead_tokens = int(len(lead) / chars_per_token) + 1
        prompt_tokens = max(min(depth, room - self.params["decode_tokens"]), lead_tokens)
        max_tokens = min(self.params["decode_tokens"], room - prompt_tokens)
        if max_tokens < 2:
            return {"depth": depth, "error": f"the context ({self.context} tokens) leaves no room to decode"}
        chars = int((prompt_tokens - lead_tokens) * chars_per_token * PROMPT_FILL)
        runs: List[Figures] = []
        errors: List[str] = []
        for repeat in range(self.params["repeats"]):
            text = prompt(self.lead(f"depth {depth} repeat {repeat}"), chars)
            try:
                sent_at, reading = self.answer(model_id, text, max_tokens)
                runs.append(figures(reading, sent_at))
            except (EngineError, StreamError) as error:
                errors.append(str(error))
        if not runs:
            return {"depth": depth, "error": errors[0], "errors": errors}
        result = {"depth": depth, **median_figures(runs)}
        if errors:
            result["errors"] = errors
        return result

    def measure(self) -> Dict[str, Any]:
        deployment = self.deployment
        result: Dict[str, Any] = {
            "name": deployment["name"],
            "replica": int(deployment.get("replica") or 0),
            "engine": deployment["engine"],
            "port": int(deployment["port"]),
            "model_id": None,
            "measured_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tokenizer_chars_per_token": None,
            "depths": [],
            "memory": {},
            "error": None,
        }
        try:
            model_id = served_model(self.engine, deployment)
            result["model_id"] = model_id
            per_token = self.chars_per_token(model_id)
        except (EngineError, StreamError) as error:
            result["error"] = str(error)
            return result
        result["tokenizer_chars_per_token"] = round(per_token, 3)
        for depth in depths_to_measure(deployment, self.params["max_depth"]):
            result["depths"].append(self.depth(model_id, depth, per_token))
        failed = [entry["error"] for entry in result["depths"] if "error" in entry]
        if len(failed) == len(result["depths"]):
            result["error"] = f"every request failed: {failed[0]}"
        return result


def ollama_memory(engine: Engine, model_id: str) -> Dict[str, int]:
    """Ollama's own account of the loaded model (``/api/ps``): total and GPU bytes."""
    answer = engine.get_json("/api/ps")
    for entry in answer.get("models") or [] if isinstance(answer, dict) else []:
        if isinstance(entry, dict) and model_id in (entry.get("name"), entry.get("model")):
            found = {"engine_bytes": entry.get("size"), "engine_vram_bytes": entry.get("size_vram")}
            return {key: value for key, value in found.items() if isinstance(value, int)}
    return {}


def service_memory(module: AnsibleModule, service: str) -> Dict[str, int]:
    """The service's memory as systemd counts it (its cgroup), where systemd runs it."""
    systemctl = module.get_bin_path("systemctl")
    if systemctl is None:
        return {}
    code, out, _err = module.run_command([systemctl, "show", "--property=MemoryCurrent", "--value", service])
    value = out.strip()
    return {"service_bytes": int(value)} if code == 0 and value.isdigit() else {}


def check_params(params: Dict[str, Any]) -> List[str]:
    """Problems with the options and the deployment entry, one line each."""
    problems = [
        f"{name} must be at least {least}, got {params[name]}"
        for name, least in (("max_depth", 0), ("repeats", 1), ("decode_tokens", 2), ("timeout", 1))
        if params[name] < least
    ]
    deployment = params["deployment"]
    for key, kind in (("name", str), ("engine", str), ("port", int), ("context", int)):
        if not isinstance(deployment.get(key), kind) or isinstance(deployment.get(key), bool):
            problems.append(
                f"deployment.{key}: {deployment.get(key)!r} is not valid; expected a plan entry's {key}"
            )
    return problems


def main() -> None:
    """Measure, then return the figures; the host is never changed."""
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    params = module.params
    problems = check_params(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    deployment = params["deployment"]
    engine = Engine(deployment["port"], params["timeout"])
    measurement = Measurer(engine, deployment, params).measure()
    memory: Dict[str, int] = {}
    if measurement["model_id"] and deployment["engine"] == "ollama":
        try:
            memory.update(ollama_memory(engine, measurement["model_id"]))
        except EngineError as error:
            module.warn(f"{deployment['name']}: Ollama's memory could not be read: {error}")
    replica = int(deployment.get("replica") or 0)
    stem = deployment["name"] if replica == 0 else f"{deployment['name']}-{replica}"
    memory.update(service_memory(module, params["service"] or f"sovereign-engine-{stem}.service"))
    measurement["memory"] = memory
    module.exit_json(changed=False, measurement=measurement)


if __name__ == "__main__":
    main()
