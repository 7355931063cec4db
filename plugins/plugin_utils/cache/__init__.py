# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The artifact and weights cache on the controller: fetching, hashing, resumable pushes to hosts."""
