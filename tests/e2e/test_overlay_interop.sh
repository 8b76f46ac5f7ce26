#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Interoperability with the Linux kernel's own VXLAN device: host h3 has
# vx100 (VNI 100, 10.0.1.30, no learning, static neighbour and FDB entries
# for VM a behind h1's router MAC); h1 runs zerohop with an endpoint for
# 10.0.1.30 on h3. Ping and TCP work both ways, counted by zerohop.
# (The kernel has no geneve module here, so only VXLAN is checked.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
require_root
ov_require jq ping iperf3 tcpdump bridge

I1=$ZH_PFX-h1
MA=02:00:00:00:01:0a MX=02:00:00:00:03:1e

ov_underlay h1 h3 || bail "set up the underlay"
ov_vm a h1 p1 $MA 10.0.1.10/24 || bail "set up VM a"
ov_attach h1 "$I1" >/dev/null || bail "attach h1"
ov_port h1 "$I1" p1 100 $MA 10.0.1.10 >/dev/null || bail "add a's port"
RMAC=$(ov_router_mac h1 "$I1")
[[ "$RMAC" =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || bail "h1's router MAC from status ('$RMAC')"

check "h3: Linux vxlan device vx100 (VNI 100, port 4789, no learning)" \
	ip -n "$ZH_PFX-h3" link add vx100 type vxlan id 100 dstport 4789 local 198.18.0.3 nolearning dev upl
ip -n "$ZH_PFX-h3" link set vx100 address $MX up && addr h3 vx100 10.0.1.30/24 &&
	ip -n "$ZH_PFX-h3" neigh add 10.0.1.10 lladdr "$RMAC" dev vx100 nud permanent &&
	nsexec h3 bridge fdb append "$RMAC" dev vx100 dst 198.18.0.1 || bail "set up vx100 on h3"
check "h1: endpoint 10.0.1.30 on h3" ov_ep h1 "$I1" 100 10.0.1.30 $MX h3

ov_mark h1 "$I1"
ov_capture cap h3 upl 6 8 udp port 4789 || bail "start tcpdump on h3 upl"
ov_ping "[interop] a pings h3's vx100 address" a 10.0.1.30
ov_capture_wait
expect_grows "[interop] encap_vxlan counts on h1" h1 "$I1" encap_vxlan 3
expect_ge "[interop] h1 decapsulated the Linux vxlan replies" \
	"$(ov_delta_sum h1 "$I1" decap_xdp decap_tc)" 3
expect_still "[interop] no drop_rpf on h1" h1 "$I1" drop_rpf
check "[interop] h3 sees VXLAN vni 100 from h1" \
	grep -q "IP 198\.18\.0\.1\.[0-9]* > 198\.18\.0\.3\.4789: VXLAN, flags \[I\] (0x08), vni 100$" "$cap"
check "[interop] and answers with VXLAN vni 100 from h3" \
	grep -q "IP 198\.18\.0\.3\.[0-9]* > 198\.18\.0\.1\.4789: VXLAN, flags \[I\] (0x08), vni 100$" "$cap"

ov_mark h1 "$I1"
ov_ping "[interop] h3 pings a through vx100" h3 10.0.1.10
expect_ge "[interop] h1 decapsulated h3's requests" "$(ov_delta_sum h1 "$I1" decap_xdp decap_tc)" 3
expect_grows "[interop] encap_vxlan counts the replies" h1 "$I1" encap_vxlan 3

ov_mark h1 "$I1"
ov_iperf "[interop] TCP: 10 MB from a to h3 (iperf3)" a h3 10.0.1.30 10M
ov_iperf "[interop] TCP: 10 MB from h3 to a (iperf3)" h3 a 10.0.1.10 10M
expect_grows "[interop] the transfers were encapsulated on h1" h1 "$I1" encap_vxlan 100
expect_ge "[interop] ... and decapsulated on h1" "$(ov_delta_sum h1 "$I1" decap_xdp decap_tc)" 100
expect_still "[interop] no drop_error on h1" h1 "$I1" drop_error
expect_still "[interop] no drop_malformed on h1" h1 "$I1" drop_malformed

finish
