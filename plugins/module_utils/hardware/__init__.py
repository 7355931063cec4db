# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Parsers that turn hardware tools' output into the ``sovereign_hardware`` fact, and the collector."""
