# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/cache/weights_sources.py: sources, file selection and their errors.

The listings are shaped like real repositories (file names of Qwen/Qwen3-8B-GGUF,
unsloth's split GGUFs, meta-llama/Llama-3.1-8B-Instruct and mistralai/Mistral-7B-Instruct-v0.3).
"""

from __future__ import annotations

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_sources import (
    ModelSource,
    RemoteFile,
    WantedModel,
    WeightsError,
    parse_source,
    resolve_source,
    select_files,
    wanted_models,
)

GGUF = WantedModel("Qwen/Qwen3-8B", "Q4_K_M", "gguf", "/m/Qwen--Qwen3-8B/Qwen--Qwen3-8B-Q4_K_M.gguf")
DENSE = WantedModel("meta-llama/Llama-3.1-8B-Instruct", "BF16", "safetensors", "/m/llama/BF16")
GGUF_SOURCE = ModelSource(
    "Qwen/Qwen3-8B-GGUF", "main", None, "sovereign_model_sources['Qwen/Qwen3-8B']['gguf']"
)
QWEN_GGUF_FILES = [
    ".gitattributes",
    "LICENSE",
    "README.md",
    "Qwen3-8B-Q4_K_M.gguf",
    "Qwen3-8B-Q5_0.gguf",
    "Qwen3-8B-Q5_K_M.gguf",
    "Qwen3-8B-Q6_K.gguf",
    "Qwen3-8B-Q8_0.gguf",
    "params",
]
LLAMA_FILES = [
    ".gitattributes",
    "LICENSE",
    "README.md",
    "USE_POLICY.md",
    "config.json",
    "generation_config.json",
    "model-00001-of-00004.safetensors",
    "model-00002-of-00004.safetensors",
    "model-00003-of-00004.safetensors",
    "model-00004-of-00004.safetensors",
    "model.safetensors.index.json",
    "original/consolidated.00.pth",
    "original/params.json",
    "original/tokenizer.model",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
]


def listing(names: list[str]) -> list[RemoteFile]:
    """Remote files with made-up sizes and ids; selection only reads names."""
    return [RemoteFile(name, 1, "0" * 40, None) for name in names]


# ------------------------------------------------------------------------------- sources


def test_a_quant_entry_wins_over_the_format_entry() -> None:
    sources = {
        "Qwen/Qwen3-8B": {
            "gguf": {"repo": "Qwen/Qwen3-8B-GGUF", "revision": "main"},
            "Q4_K_M": {"repo": "unsloth/Qwen3-8B-GGUF", "revision": "a" * 40},
        }
    }
    source = resolve_source(sources, GGUF)
    assert (source.repo, source.revision) == ("unsloth/Qwen3-8B-GGUF", "a" * 40)
    other = WantedModel("Qwen/Qwen3-8B", "Q8_0", "gguf", "/m/q8.gguf")
    assert resolve_source(sources, other).repo == "Qwen/Qwen3-8B-GGUF"


def test_safetensors_without_an_entry_come_from_the_model_id_at_main() -> None:
    source = resolve_source({}, DENSE)
    assert (source.repo, source.revision, source.files) == ("meta-llama/Llama-3.1-8B-Instruct", "main", None)


def test_the_format_entry_of_the_design_example_applies_to_safetensors() -> None:
    sources = {"Qwen/Qwen3-8B": {"safetensors": {"repo": "Qwen/Qwen3-8B"}}}
    wanted = WantedModel("Qwen/Qwen3-8B", "FP8", "safetensors", "/m/q/FP8")
    assert resolve_source(sources, wanted).key == ("Qwen/Qwen3-8B", "main")


@pytest.mark.parametrize("wanted", [GGUF, WantedModel("Qwen/Qwen3-8B", "mlx-4bit", "mlx", "/m/q/mlx-4bit")])
def test_gguf_and_mlx_without_an_entry_name_the_model_quant_and_variable(wanted: WantedModel) -> None:
    with pytest.raises(WeightsError) as error:
        resolve_source({"Qwen/Qwen3-8B": {"safetensors": {"repo": "Qwen/Qwen3-8B"}}}, wanted)
    message = str(error.value)
    assert "Qwen/Qwen3-8B" in message
    assert wanted.quant in message
    assert f"sovereign_model_sources['Qwen/Qwen3-8B'].{wanted.format}" in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Qwen/Qwen3-8B-GGUF", "must be a mapping"),
        ({"repo": "Qwen/Qwen3-8B-GGUF", "branch": "main"}, "unknown key(s) branch"),
        ({"revision": "main"}, "is not a Hugging Face repository id"),
        ({"repo": "../etc/passwd"}, "is not a Hugging Face repository id"),
        ({"repo": "Qwen/Qwen3-8B-GGUF", "revision": ""}, "is not a branch, tag or commit sha"),
        ({"repo": "Qwen/Qwen3-8B-GGUF", "files": "*.gguf"}, "must be a non-empty list of glob patterns"),
        ({"repo": "Qwen/Qwen3-8B-GGUF", "files": []}, "must be a non-empty list of glob patterns"),
    ],
)
def test_bad_source_entries_are_refused_naming_where(raw: object, expected: str) -> None:
    with pytest.raises(WeightsError, match=r"^here") as error:
        parse_source(raw, "here")
    assert expected in str(error.value)


def test_a_model_entry_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(WeightsError, match=r"sovereign_model_sources\['Qwen/Qwen3-8B'\] must be a mapping"):
        resolve_source({"Qwen/Qwen3-8B": ["Qwen/Qwen3-8B-GGUF"]}, GGUF)


def test_wanted_models_are_one_per_model_path_and_conflicts_are_refused() -> None:
    item = {
        "name": "chat",
        "model": GGUF.model,
        "quant": "Q4_K_M",
        "format": "gguf",
        "model_path": "/m/a.gguf",
    }
    assert len(wanted_models([item, dict(item, name="chat-2")])) == 1
    with pytest.raises(WeightsError, match=r"/m/a.gguf is planned for both .*Q4_K_M.*Q8_0"):
        wanted_models([item, dict(item, quant="Q8_0")])
    with pytest.raises(WeightsError, match="has no quant, model_path"):
        wanted_models([{"name": "x", "model": "m", "format": "gguf"}])
    with pytest.raises(WeightsError, match="format 'onnx' is not one of gguf, safetensors, mlx"):
        wanted_models([dict(item, format="onnx")])


# ------------------------------------------------------------------------------- GGUF


def test_the_one_gguf_of_the_planned_quant_is_chosen() -> None:
    assert select_files(GGUF, GGUF_SOURCE, listing(QWEN_GGUF_FILES)) == ["Qwen3-8B-Q4_K_M.gguf"]


@pytest.mark.parametrize(
    "name", ["model.q4_k_m.gguf", "model_Q4_K_M.gguf", "sub/dir/Model-Q4_K_M.GGUF", "Q4_K_M.gguf"]
)
def test_gguf_names_match_case_insensitively_after_a_separator(name: str) -> None:
    assert select_files(GGUF, GGUF_SOURCE, listing([name, "model-Q5_K_M.gguf"])) == [name]


def test_a_longer_quant_name_is_not_taken_for_a_shorter_one() -> None:
    f16 = WantedModel("m/m", "F16", "gguf", "/m/f16.gguf")
    assert select_files(f16, GGUF_SOURCE, listing(["m-BF16.gguf", "m-F16.gguf"])) == ["m-F16.gguf"]
    with pytest.raises(WeightsError, match=r"no GGUF file ending in F16\.gguf"):
        select_files(f16, GGUF_SOURCE, listing(["m-BF16.gguf"]))


def test_a_split_gguf_is_refused_naming_its_parts() -> None:
    names = [
        "Q4_K_M/Qwen3-235B-A22B-Q4_K_M-00001-of-00003.gguf",
        "Q4_K_M/Qwen3-235B-A22B-Q4_K_M-00002-of-00003.gguf",
    ]
    names += ["Q4_K_M/Qwen3-235B-A22B-Q4_K_M-00003-of-00003.gguf", "Qwen3-235B-A22B-Q8_0.gguf"]
    with pytest.raises(WeightsError) as error:
        select_files(GGUF, GGUF_SOURCE, listing(names))
    message = str(error.value)
    assert all(name in message for name in names[:3])
    assert "split GGUFs are not supported yet" in message


def test_no_gguf_for_the_quant_lists_the_repository_ggufs() -> None:
    with pytest.raises(WeightsError) as error:
        select_files(GGUF, GGUF_SOURCE, listing(["Qwen3-8B-Q8_0.gguf", "README.md"]))
    assert "Qwen3-8B-Q8_0.gguf" in str(error.value)
    assert "README.md" not in str(error.value)


def test_two_ggufs_of_the_quant_ask_for_a_files_glob() -> None:
    names = ["Qwen3-8B-Q4_K_M.gguf", "mmproj-Qwen3-8B-Q4_K_M.gguf"]
    with pytest.raises(WeightsError, match=r"2 GGUF files for quant Q4_K_M.*\.gguf\.files"):
        select_files(GGUF, GGUF_SOURCE, listing(names))


def test_user_globs_replace_the_gguf_rule_but_must_pick_one_gguf() -> None:
    pinned = ModelSource("Qwen/Qwen3-8B-GGUF", "main", ("Qwen3-8B-Q5_K_M.gguf",), "src")
    assert select_files(GGUF, pinned, listing(QWEN_GGUF_FILES)) == ["Qwen3-8B-Q5_K_M.gguf"]
    broad = ModelSource("Qwen/Qwen3-8B-GGUF", "main", ("*.gguf",), "src")
    with pytest.raises(WeightsError, match=r"must select exactly one \.gguf file"):
        select_files(GGUF, broad, listing(QWEN_GGUF_FILES))
    nothing = ModelSource("Qwen/Qwen3-8B-GGUF", "main", ("*.safetensors",), "src")
    with pytest.raises(WeightsError, match=r"src.files \['\*.safetensors'\] match no file"):
        select_files(GGUF, nothing, listing(QWEN_GGUF_FILES))


# ------------------------------------------------------------------------------- safetensors


def test_a_safetensors_directory_takes_weights_config_and_tokenizer_only() -> None:
    own = resolve_source({}, DENSE)
    chosen = select_files(
        DENSE, own, listing([*LLAMA_FILES, "onnx/model.onnx", "onnx/config.json", "x.gguf"])
    )
    assert chosen == [
        "config.json",
        "generation_config.json",
        "model-00001-of-00004.safetensors",
        "model-00002-of-00004.safetensors",
        "model-00003-of-00004.safetensors",
        "model-00004-of-00004.safetensors",
        "model.safetensors.index.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]


def test_pickled_and_duplicate_weights_are_left_out_when_safetensors_exist() -> None:
    mistral = [
        "config.json",
        "consolidated.safetensors",
        "model-00001-of-00003.safetensors",
        "params.json",
        "pytorch_model.bin",
        "tokenizer.model",
        "tokenizer.model.v3",
        "chat_template.jinja",
        "merges.txt",
        "vocab.tiktoken",
    ]
    chosen = select_files(DENSE, resolve_source({}, DENSE), listing(mistral))
    assert chosen == [
        "chat_template.jinja",
        "config.json",
        "merges.txt",
        "model-00001-of-00003.safetensors",
        "params.json",
        "tokenizer.model",
        "vocab.tiktoken",
    ]


def test_a_repository_with_only_pickled_weights_gives_them() -> None:
    chosen = select_files(DENSE, resolve_source({}, DENSE), listing(["config.json", "pytorch_model.bin"]))
    assert chosen == ["config.json", "pytorch_model.bin"]


def test_a_repository_without_weights_is_refused() -> None:
    with pytest.raises(WeightsError, match=r"has no \*.safetensors .*README.md"):
        select_files(DENSE, resolve_source({}, DENSE), listing(["README.md", "config.json"]))


def test_user_globs_replace_the_directory_rule() -> None:
    source = ModelSource(DENSE.model, "main", ("original/*",), "src")
    assert select_files(DENSE, source, listing(LLAMA_FILES)) == [
        "original/consolidated.00.pth",
        "original/params.json",
        "original/tokenizer.model",
    ]
