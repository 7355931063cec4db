# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""How llama.cpp stores a GGUF file type: the ggml type each tensor gets and what that type costs.

``llama-quantize`` does not store every tensor of a file type in one ggml type. Its recipe
(``llama_tensor_get_type`` in src/llama-quant.cpp) keeps the output tensor at Q6_K, gives the
value projections and part of the FFN down projections more bits, falls back to a type with
32-element blocks where a row is not a multiple of 256, and leaves norms, biases and MoE routers in
F32. This module applies that recipe to a tensor list (``gguf_tensors``) and sums the bytes, so a
file's size follows the model's real shapes instead of one bits-per-weight figure per label.

Sources: ggml-org/llama.cpp at commit 7f8ef50c (release b7108): src/llama-quant.cpp lines 178-477
(``llama_tensor_get_type``), 533-575 (file type -> default type), 844-933 (which tensors are
quantized); ggml/src/ggml-common.h (block layouts); the same recipe at the later commit 007dbbf3
(``llama_tensor_get_type_impl``, ``tensor_type_fallback``, ``llama_ftype_get_default_type``), whose
only size-relevant change is the Q2_K/Q3_K shape fallback (Q4_0 instead of IQ4_NL, both 18 bytes per
32 weights). The rules are transcribed, with line numbers, in tests/fixtures/planner/gguf_tensor_types.yml.
Written here rather than taken from the ``gguf`` package: that package describes files that exist
(types, block sizes, tensor names) but does not hold the quantizer's choice of types, and the
planner runs on controllers without it; the unit tests check the block sizes against it.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.gguf_tensors import ModelShape, Tensor

# GGUF pads every tensor's data to this many bytes (GGUF_DEFAULT_ALIGNMENT, ggml/include/gguf.h).
GGUF_ALIGNMENT = 32


@dataclass(frozen=True)
class GgmlType:
    """A ggml storage type: ``block_elements`` consecutive values of a row take ``block_bytes`` bytes."""

    name: str
    block_elements: int
    block_bytes: int

    @property
    def bits_per_weight(self) -> float:
        """Bits one weight takes, the block's scales included."""
        return self.block_bytes * 8 / self.block_elements


def _types(*rows: tuple[str, int, int]) -> Mapping[str, GgmlType]:
    return MappingProxyType({name: GgmlType(name, elements, size) for name, elements, size in rows})


# Block sizes from the static_assert next to each block struct in ggml/src/ggml-common.h
# (QK_K = 256 at line 89; e.g. block_q4_K lines 295-306: 2 x f16 + 12 scale bytes + 128 nibble bytes).
GGML_TYPES: Mapping[str, GgmlType] = _types(
    ("F32", 1, 4),
    ("F16", 1, 2),
    ("BF16", 1, 2),
    ("Q4_0", 32, 18),
    ("Q4_1", 32, 20),
    ("Q5_0", 32, 22),
    ("Q5_1", 32, 24),
    ("Q8_0", 32, 34),
    ("MXFP4", 32, 17),
    ("IQ4_NL", 32, 18),
    ("Q2_K", 256, 84),
    ("Q3_K", 256, 110),
    ("Q4_K", 256, 144),
    ("Q5_K", 256, 176),
    ("Q6_K", 256, 210),
    ("IQ1_S", 256, 50),
    ("IQ1_M", 256, 56),
    ("IQ2_XXS", 256, 66),
    ("IQ2_XS", 256, 74),
    ("IQ2_S", 256, 82),
    ("IQ3_XXS", 256, 98),
    ("IQ3_S", 256, 110),
    ("IQ4_XS", 256, 136),
    ("TQ1_0", 256, 54),
    ("TQ2_0", 256, 66),
)

# llama-quantize file types (include/llama.h enum llama_ftype, LLAMA_FTYPE_MOSTLY_<name>) and the
# default ggml type each starts from (src/llama-quant.cpp lines 537-573).
FTYPE_DEFAULT_TYPE: Mapping[str, str] = MappingProxyType(
    {
        "F32": "F32",
        "F16": "F16",
        "BF16": "BF16",
        "Q4_0": "Q4_0",
        "Q4_1": "Q4_1",
        "Q5_0": "Q5_0",
        "Q5_1": "Q5_1",
        "Q8_0": "Q8_0",
        "Q2_K": "Q2_K",
        "Q2_K_S": "Q2_K",
        "Q3_K_S": "Q3_K",
        "Q3_K_M": "Q3_K",
        "Q3_K_L": "Q3_K",
        "Q4_K_S": "Q4_K",
        "Q4_K_M": "Q4_K",
        "Q5_K_S": "Q5_K",
        "Q5_K_M": "Q5_K",
        "Q6_K": "Q6_K",
        "IQ1_S": "IQ1_S",
        "IQ1_M": "IQ1_M",
        "IQ2_XXS": "IQ2_XXS",
        "IQ2_XS": "IQ2_XS",
        "IQ2_S": "IQ2_XS",
        "IQ2_M": "IQ2_S",
        "IQ3_XXS": "IQ3_XXS",
        "IQ3_XS": "IQ3_S",
        "IQ3_S": "IQ3_S",
        "IQ3_M": "IQ3_S",
        "IQ4_NL": "IQ4_NL",
        "IQ4_XS": "IQ4_XS",
        "TQ1_0": "TQ1_0",
        "TQ2_0": "TQ2_0",
        "MXFP4_MOE": "MXFP4",
    }
)
LLAMA_FTYPES = tuple(FTYPE_DEFAULT_TYPE)

# The ftype groups the recipe branches on (names as in llama_tensor_get_type).
_VERY_LOW_BIT = frozenset({"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"})
_OUTPUT_Q5_K = _VERY_LOW_BIT | {"IQ3_XXS"}
_ATTN_OUTPUT_Q5_K_WITH_8_EXPERTS = frozenset(
    {
        "Q2_K",
        "IQ3_XS",
        "IQ3_XXS",
        "Q3_K_S",
        "Q3_K_M",
        "IQ4_NL",
        "Q4_K_S",
        "Q4_K_M",
        "IQ3_S",
        "IQ3_M",
        "IQ4_XS",
    }
)
# Shape fallback for a row that is not a multiple of the chosen type's block (lines 436-474).
_FALLBACK = MappingProxyType(
    {
        **dict.fromkeys(
            ("IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ3_XXS", "IQ3_S", "IQ4_XS"), "IQ4_NL"
        ),
        **dict.fromkeys(("Q2_K", "Q3_K"), "IQ4_NL"),
        **dict.fromkeys(("TQ1_0", "TQ2_0"), "Q4_0"),
        "Q4_K": "Q5_0",
        "Q5_K": "Q5_1",
        "Q6_K": "Q8_0",
    }
)


def tensor_bytes(type_name: str, shape: tuple[int, ...]) -> int:
    """Bytes of one tensor stored as ``type_name``: rows x blocks per row x block bytes (ggml_nbytes)."""
    ggml_type = GGML_TYPES[type_name]
    rows = 1
    for extent in shape[1:]:
        rows *= extent
    return rows * (shape[0] // ggml_type.block_elements) * ggml_type.block_bytes


def _use_more_bits(index: int, count: int) -> bool:
    """The layers k-quant mixes give more bits: the first and last eighth and every third between."""
    return index < count // 8 or index >= 7 * count // 8 or (index - count // 8) % 3 == 2


def _quantized(tensor: Tensor) -> bool:
    """Whether llama-quantize re-types the tensor at all (lines 844-896); the rest keep their type."""
    return (
        len(tensor.shape) >= 2
        and tensor.name.endswith("weight")
        and "_norm.weight" not in tensor.name
        and "ffn_gate_inp.weight" not in tensor.name
    )


@dataclass
class _Counters:
    """llama-quantize's running counts (quantize_state_impl): they pick which layers get more bits."""

    attention_wv: int = 0
    ffn_down: int = 0


@dataclass(frozen=True)
class _Layout:
    """What the recipe needs of a tensor list besides the tensors: computed once per model shape."""

    ordered: tuple[Tensor, ...]
    quantized: tuple[bool, ...]
    tied: bool
    n_attention_wv: int
    # The tensors the quantizer re-types, each with its recipe category, and the padded bytes of the
    # ones it leaves alone (norms, biases, routers: F32).
    retyped: tuple[tuple[Tensor, str], ...]
    kept_bytes: int


def _category(name: str) -> str:
    """The recipe's tensor category (tensor_get_category at llama.cpp 007dbbf3; substrings at b7108)."""
    if name == "output.weight":
        return "output"
    if name == "token_embd.weight":
        return "token_embd"
    for category in ("attn_v", "attn_k", "attn_q", "attn_output"):
        if f"{category}.weight" in name:
            return category
    if "ffn_down" in name:
        return "ffn_down"
    if "ffn_gate" in name or "ffn_up" in name:
        return "ffn_gate_up"
    return "other"


def _quantizer_order(tensors: Iterable[Tensor]) -> list[Tensor]:
    """The order llama-quantize visits tensors: its weights_map sorts by layer, then by name."""
    return sorted(tensors, key=lambda t: (-1 if t.layer is None else t.layer, t.name))


@functools.lru_cache(maxsize=256)
def _layout(shape: ModelShape) -> _Layout:
    tensors = shape.tensors()
    ordered = tuple(_quantizer_order(tensors))
    quantized = tuple(_quantized(t) for t in ordered)
    return _Layout(
        ordered=ordered,
        quantized=quantized,
        tied=not any(t.name == "output.weight" for t in tensors),
        n_attention_wv=sum(1 for t in tensors if "attn_v.weight" in t.name),
        retyped=tuple((t, _category(t.name)) for t, q in zip(ordered, quantized, strict=True) if q),
        kept_bytes=sum(
            _padded(tensor_bytes(t.source_type, t.shape))
            for t, q in zip(ordered, quantized, strict=True)
            if not q
        ),
    )


def _padded(size: int) -> int:
    return -(-size // GGUF_ALIGNMENT) * GGUF_ALIGNMENT


class _Recipe:
    """``llama_tensor_get_type`` for one file type and one model (no user overrides, not Falcon)."""

    def __init__(self, ftype: str, shape: ModelShape, layout: _Layout, *, imatrix: bool) -> None:
        self.ftype = ftype
        self.default = FTYPE_DEFAULT_TYPE[ftype]
        self.shape = shape
        self.imatrix = imatrix
        self.tied = layout.tied
        self.n_attention_wv = layout.n_attention_wv
        self.counters = _Counters()

    def type_of(self, tensor: Tensor, category: str | None) -> str:
        """The stored type of ``tensor``; ``category`` None: the quantizer leaves it as it is."""
        if category is None:
            return tensor.source_type
        if self.default in ("F32", "F16", "BF16"):
            return self.default
        chosen = self._choose(tensor, category)
        return self._fallback(chosen, tensor.shape[0])

    def types(self, layout: _Layout) -> list[str]:
        """The type of every tensor of ``layout``, in the quantizer's order (the counters need it)."""
        return [
            self.type_of(t, _category(t.name) if q else None)
            for t, q in zip(layout.ordered, layout.quantized, strict=True)
        ]

    @staticmethod
    def _fallback(type_name: str, row: int) -> str:
        if row % GGML_TYPES[type_name].block_elements == 0:
            return type_name
        substitute = _FALLBACK[type_name]
        return substitute if row % GGML_TYPES[substitute].block_elements == 0 else "F16"

    def _choose(self, tensor: Tensor, category: str) -> str:
        """The branches of llama_tensor_get_type, tried in the recipe's order."""
        ftype = self.ftype
        if category == "output" or (self.tied and category == "token_embd"):
            chosen = self._output_type(tensor)
        elif ftype == "MXFP4_MOE":
            chosen = "MXFP4" if len(tensor.shape) == 3 and tensor.shape[2] > 1 else "Q8_0"
        elif category == "token_embd":
            chosen = self._token_embd_type()
        elif ftype in _VERY_LOW_BIT:
            chosen = self._very_low_bit_type(category)
        elif category == "attn_v":
            chosen = self._attn_v_type()
        elif category in ("attn_k", "attn_q"):
            chosen = self._attn_qk_type(key=category == "attn_k")
        elif category == "ffn_down":
            chosen = self._ffn_down_type(tensor)
        elif category == "attn_output":
            chosen = self._attn_output_type()
        elif category == "ffn_gate_up" and ftype == "IQ3_XS":
            # Lines 408-423: the middle three quarters of the layers drop to IQ3_XXS.
            layer, n = tensor.layer or 0, self.shape.layers
            chosen = "IQ3_XXS" if n // 8 <= layer < 7 * n // 8 else self.default
        else:
            chosen = self.default
        return chosen

    def _output_type(self, tensor: Tensor) -> str:
        """Lines 207-228: Q6_K unless the row does not fit the default block or the ftype is very low."""
        if self.ftype == "MXFP4_MOE":
            return "Q8_0"
        if tensor.shape[0] % GGML_TYPES[self.default].block_elements:
            return "Q8_0"
        if self.ftype in _OUTPUT_Q5_K:
            return "Q5_K"
        return "Q6_K" if self.default != "Q8_0" else "Q8_0"

    def _token_embd_type(self) -> str:
        """Lines 237-255."""
        if self.ftype in ("IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"):
            return "Q2_K"
        if self.ftype in ("IQ2_S", "IQ2_M", "IQ3_XXS"):
            return "IQ3_S"
        if self.ftype in ("TQ1_0", "TQ2_0"):
            return "Q4_K"
        return self.default

    def _very_low_bit_type(self, category: str) -> str:
        """Lines 256-278: IQ1/IQ2 files keep attn_v, early ffn_down and attn_output wider."""
        wide = "IQ3_S" if self.ftype in ("IQ2_S", "IQ2_M") else "Q2_K"
        experts = self.shape.experts
        chosen = self.default
        if category == "attn_v":
            self.counters.attention_wv += 1
            chosen = "Q4_K" if self.shape.gqa_ratio >= 4 or experts >= 4 else wide
        elif category == "attn_k" and experts == 8:
            chosen = "Q4_K"
        elif category == "ffn_down":
            if self.counters.ffn_down < self.shape.layers // 8:
                chosen = wide
            self.counters.ffn_down += 1
        elif category == "attn_output":
            if experts == 8:
                chosen = "Q5_K"
            elif self.ftype in ("IQ1_S", "IQ1_M"):
                chosen = "IQ2_XXS"
            elif self.ftype in ("IQ2_S", "IQ2_M"):
                chosen = "IQ3_S"
        return chosen

    def _attn_v_type(self) -> str:
        """Lines 279-316."""
        ftype, gqa4 = self.ftype, self.shape.gqa_ratio >= 4
        index = self.counters.attention_wv
        self.counters.attention_wv += 1
        chosen = self.default
        if ftype == "Q2_K":
            chosen = "Q4_K" if gqa4 else "Q3_K"
        elif ftype == "Q2_K_S" and gqa4:
            chosen = "Q4_K"
        elif ftype == "IQ3_XXS":
            chosen = "Q4_K" if gqa4 else ("IQ3_XXS" if self.imatrix else "IQ3_S")
        elif (ftype in ("IQ3_XS", "IQ3_S") and gqa4) or ftype == "IQ3_M":
            chosen = "Q4_K"
        elif ftype == "Q3_K_M":
            chosen = "Q5_K" if index < 2 else "Q4_K"
        elif ftype == "Q3_K_L" or (ftype in ("IQ4_NL", "IQ4_XS") and gqa4):
            chosen = "Q5_K"
        elif ftype in ("Q4_K_M", "Q5_K_M") and _use_more_bits(index, self.n_attention_wv):
            chosen = "Q6_K"
        elif ftype == "Q4_K_S" and index < 4:
            chosen = "Q5_K"
        if self.shape.llama_70b and chosen in ("Q3_K", "Q4_K"):
            chosen = "Q5_K"
        if self.shape.experts == 8:
            chosen = "Q8_0"
        return chosen

    def _attn_qk_type(self, *, key: bool) -> str:
        """Lines 317-335."""
        if key and self.shape.experts == 8:
            return "Q8_0"
        if self.ftype == "IQ3_XS":
            return "IQ3_XXS"
        if self.ftype == "IQ3_XXS":
            return "IQ2_S"
        return self.default

    def _ffn_down_type(self, tensor: Tensor) -> str:
        """Lines 336-380; ``i`` is the layer (MoE: parsed from the name, dense: the running count)."""
        ftype, n, experts = self.ftype, self.shape.layers, self.shape.experts
        index = tensor.layer if experts > 1 and tensor.layer is not None else self.counters.ffn_down
        self.counters.ffn_down += 1
        early = index < n // 8
        chosen = self.default
        if ftype == "Q2_K":
            chosen = "Q3_K"
        elif ftype == "Q2_K_S":
            chosen = "Q4_K" if early else self.default
        elif ftype == "IQ3_XXS" and not self.imatrix:
            chosen = "Q4_K" if early else "Q3_K"
        elif ftype == "Q3_K_M":
            chosen = "Q5_K" if index < n // 16 else "Q4_K"
        elif ftype == "IQ3_M" and (early or (experts == 8 and _use_more_bits(index, n))):
            chosen = "Q4_K"
        elif ftype == "Q3_K_L":
            chosen = "Q5_K"
        elif ftype == "Q4_K_M":
            chosen = "Q6_K" if _use_more_bits(index, n) else self.default
        elif early and ftype in ("IQ4_NL", "IQ4_XS") and not self.imatrix:
            chosen = "Q5_K"
        elif ftype == "Q5_K_M" and _use_more_bits(index, n):
            chosen = "Q6_K"
        elif ftype == "Q4_K_S" and early:
            chosen = "Q5_K"
        elif ftype in ("Q4_0", "Q5_0") and self.imatrix and early:
            chosen = "Q4_1" if ftype == "Q4_0" else "Q5_1"
        return chosen

    def _attn_output_type(self) -> str:
        """Lines 381-400."""
        ftype = self.ftype
        if self.shape.experts == 8:
            return "Q5_K" if ftype in _ATTN_OUTPUT_Q5_K_WITH_8_EXPERTS else self.default
        return {"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K", "IQ3_M": "Q4_K"}.get(
            ftype, self.default
        )


def _check_ftype(ftype: str) -> None:
    if ftype not in FTYPE_DEFAULT_TYPE:
        raise KeyError(f"unknown llama.cpp file type {ftype!r}; known: {', '.join(LLAMA_FTYPES)}")


def tensor_types(
    shape: ModelShape, tensors: Iterable[Tensor], ftype: str, *, imatrix: bool = True
) -> list[str]:
    """The ggml type of each tensor (in the given order) in a ``ftype`` file made by llama-quantize.

    ``imatrix``: whether the file was made with an importance matrix (the common case for the
    published low-bit files: bartowski, unsloth and mradermacher i1 quants all use one); it only
    changes the first eighth of ffn_down in Q4_0/Q5_0/IQ4 files and the IQ3_XXS mixture.
    """
    _check_ftype(ftype)
    layout = _layout(shape)
    chosen = dict(
        zip(layout.ordered, _Recipe(ftype, shape, layout, imatrix=imatrix).types(layout), strict=True)
    )
    return [chosen[tensor] for tensor in tensors]


# The planner asks for the same model and file type for every host it tries; a model's list has up
# to a few thousand tensors, so each (shape, file type) is summed once per process.
@functools.lru_cache(maxsize=4096)
def gguf_tensor_bytes(shape: ModelShape, ftype: str, *, imatrix: bool = True) -> int:
    """Bytes of all tensor data of a ``ftype`` GGUF of the model, padding included (no metadata)."""
    _check_ftype(ftype)
    layout = _layout(shape)
    recipe = _Recipe(ftype, shape, layout, imatrix=imatrix)
    total = layout.kept_bytes
    for tensor, category in layout.retyped:
        total += _padded(tensor_bytes(recipe.type_of(tensor, category), tensor.shape))
    return total


def type_counts(shape: ModelShape, ftype: str, *, imatrix: bool = True) -> Counter[str]:
    """How many tensors of each ggml type the file holds (llama.cpp prints this when it loads one)."""
    _check_ftype(ftype)
    layout = _layout(shape)
    return Counter(_Recipe(ftype, shape, layout, imatrix=imatrix).types(layout))
