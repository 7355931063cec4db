#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
#
# The data plane of the scenario's tailnet, in a fleet host (started by prepare.yml as a transient
# unit). The Tailscale stand-in makes tailscale0 one end of a veth pair whose other end,
# tsstandin0, goes nowhere; real tailscaled would carry the packets over WireGuard and route
# 100.64.0.0/10 to tailscale0. Here tsstandin0 joins the bridge sitetn0 that holds the host's
# interface on the scenario's tailnet network (prepare.yml builds the bridge), and the route is
# put back whenever tailscale0 has its address. The stand-in deletes and recreates the pair when
# tailscaled restarts, so this keeps watching.
set -u
while :; do
  if ip link show tsstandin0 >/dev/null 2>&1 && ! ip link show tsstandin0 | grep -q ' master sitetn0 '; then
    ip link set tsstandin0 master sitetn0 up
  fi
  if ip -4 -o addr show dev tailscale0 2>/dev/null | grep -q ' inet 100\.' \
    && ! ip route show 100.64.0.0/10 dev tailscale0 2>/dev/null | grep -q .; then
    ip route replace 100.64.0.0/10 dev tailscale0
  fi
  sleep 0.2
done
