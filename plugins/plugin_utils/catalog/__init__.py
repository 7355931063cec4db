# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The model, engine, quantization, device and artifact catalogs: their one reader, their schema
and the weight arithmetic of GGUF files."""
