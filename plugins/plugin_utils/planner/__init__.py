# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The fleet planner: inputs, placement, memory proof, decode prediction, engine argv and the
plan's reports."""
