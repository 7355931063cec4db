# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The GPU driver rules: which NVIDIA and AMD packages and kernel modules a host's GPUs need."""
