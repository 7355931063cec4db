# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Documentation of the model_weights action; the work is done on the controller by the action plugin."""

from __future__ import annotations

DOCUMENTATION = r"""
module: model_weights
short_description: Fetch the planned model weights from Hugging Face into the controller's artifact cache
version_added: 0.1.0
description:
  - Makes the weights of every planned deployment present in the controller's artifact cache, so
    that hosts never download them. Runs entirely on the controller; use it once per play
    (C(run_once)). Role C(sovereign.stack.engine) calls it and merges the result under C(engine_models).
  - Each deployment's source is looked up in O(sources) by the model id, then by the deployment's
    quant, then by its format. A safetensors deployment without an entry comes from the model id's
    own repository at C(main); a GGUF or MLX deployment without an entry is an error naming the
    model, the quant and the variable to set.
  - "Only the planned quantization's files are fetched: for GGUF the one file whose name ends in
    C(<quant>.gguf) (case-insensitive, after C(-), C(.) or C(_)); for safetensors and MLX the
    C(*.safetensors), C(*.json), C(tokenizer.model), C(*.tiktoken), C(*.txt) and C(*.jinja) files,
    never C(original/), C(onnx/), C(*.gguf) or C(*.onnx), and C(*.bin)/C(*.pt)/C(*.pth) only when the
    repository has no safetensors. A source's C(files) globs replace this selection."
  - Split GGUF files (C(-00001-of-0000N.gguf)) are refused with the list of parts, because the plan gives
    llama.cpp a single model file.
  - Files land in C(<cache_dir>/models/<repo>/<commit>/<file>), downloaded to C(<file>.part) and
    resumed with an HTTP C(Range) request after an interruption (within the run, up to O(retries)
    times, and on the next run); each is verified against the Hub's LFS sha256 or, for small files,
    its git blob id before it is renamed into place. A hash mismatch deletes the download and fails.
  - C(<cache_dir>/models/<repo>/<commit>.manifest.json) records the repository, the revision asked,
    the commit, the endpoint host, the listing and, per file, size, sha256 and fetch time. A file
    already recorded with the right size and a re-verified sha256 is not downloaded again.
  - The token is sent only to the endpoint, never to the CDN a download is redirected to, and never
    appears in the result, the manifest or messages.
options:
  deployments:
    description:
      - Plan deployments (plan.json C(hosts.<host>.deployments) entries); each needs C(model),
        C(quant), C(format) and C(model_path).
      - Default is every play host's slice of C(sovereign_plan) (registered by playbooks/plan.yml),
        less the model paths that host's C(engine_models) already gives a source for.
    type: list
    elements: dict
  sources:
    description:
      - Model id to sources, each keyed by format (V(gguf), V(safetensors), V(mlx)) or by quant
        (V(Q4_K_M), V(AWQ)); a source is C({repo, revision, files}). C(revision) is a branch, tag or
        commit sha (default V(main)); C(files) is an optional list of globs matched against the
        repository's file paths.
      - Default is the variable C(sovereign_model_sources), else none.
    type: dict
  cache_dir:
    description:
      - The artifact cache directory on the controller; weights go under its C(models/) folder.
      - Default is the variable C(sovereign_artifact_cache_dir), else C(~/.cache/sovereign-stack/artifacts).
    type: path
  endpoint:
    description:
      - Base URL of the Hugging Face Hub, or of an internal mirror with the same layout
        (C(/api/models/<repo>/revision/<revision>?blobs=true) and C(/<repo>/resolve/<commit>/<file>)).
      - Default is the variable C(sovereign_hf_endpoint), else V(https://huggingface.co).
    type: str
  token:
    description:
      - Hugging Face token for gated or private repositories, sent as C(Authorization) C(Bearer).
      - Default is the variable C(sovereign_hf_token), else C(HF_TOKEN) in the controller's
        environment, else the file C($HF_HOME/token) (C(~/.cache/huggingface/token) without C(HF_HOME)).
    type: str
  offline:
    description:
      - Make no request; fail listing every file (and every listing) the cache lacks.
      - A branch revision is then resolved through C(<cache_dir>/models/<repo>/refs.json).
      - Default is the variable C(sovereign_artifact_offline), else V(false).
    type: bool
  retries:
    description:
      - How many times an interrupted download is resumed within one run before the task fails
        (keeping the partial file for the next run).
    type: int
    default: 3
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Lists the repositories and reports what would be downloaded; writes and downloads nothing.
  diff_mode:
    support: none
  platform:
    platforms: posix
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
notes:
  - Sources, the cache layout, mirrors and offline mode are described in the collection's
    docs/model-weights.md.
seealso:
  - module: sovereign.stack.artifact_cache
author:
  - sovereign.stack contributors (@sovereign-stack)
"""

EXAMPLES = r"""
- name: Fetch the weights of every planned deployment into the controller cache
  sovereign.stack.model_weights:
  run_once: true
  register: weights

- name: Fetch two deployments' weights from an internal mirror
  sovereign.stack.model_weights:
    endpoint: https://hf-mirror.lan
    deployments:
      - {model: Qwen/Qwen3-8B, quant: Q4_K_M, format: gguf, model_path: /var/lib/sovereign/models/q.gguf}
      - {model: Qwen/Qwen3-8B, quant: BF16, format: safetensors, model_path: /var/lib/sovereign/models/q}
    sources:
      Qwen/Qwen3-8B:
        gguf: {repo: Qwen/Qwen3-8B-GGUF, revision: main}
  run_once: true
"""

RETURN = r"""
cache_dir:
  description: The weights' cache directory (C(<cache_dir>/models)).
  returned: success
  type: str
  sample: /home/ops/.cache/sovereign-stack/artifacts/models
models:
  description:
    - "Per planned C(model_path), an C(engine_models) entry: C({src, sha256}) for a GGUF file or
      C({src: <directory>, files: {<relative path>: <sha256>}}) for a directory."
    - In check mode, a sha256 not yet known (a small file not yet downloaded) is null.
  returned: success
  type: dict
  sample:
    /var/lib/sovereign/models/Qwen--Qwen3-8B/Qwen--Qwen3-8B-Q4_K_M.gguf:
      src: /home/ops/.cache/sovereign-stack/artifacts/models/Qwen/Qwen3-8B-GGUF/a1b2.../Qwen3-8B-Q4_K_M.gguf
      sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
files:
  description: Every file dealt with.
  returned: success
  type: list
  elements: dict
  contains:
    repo:
      description: Repository id.
      type: str
    commit:
      description: Commit sha the revision resolved to.
      type: str
    file:
      description: Path inside the repository.
      type: str
    size:
      description: Size in bytes.
      type: int
    sha256:
      description: Verified sha256 (null in check mode when not yet known).
      type: str
    path:
      description: Path in the controller cache.
      type: str
    state:
      description: One of V(downloaded), V(cached), V(adopted) (found verified but unrecorded),
        V(would_download) or V(would_adopt) (check mode).
      type: str
"""
