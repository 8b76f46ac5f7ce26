#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Proxyless peering between VNIs, with real traffic:
#  - a (VNI 100, h1) and b (VNI 200, h2): each host has a peer endpoint for
#    the other VM (--dest-vni); pings both ways work, encap_peer counts on
#    both hosts and h1's packets carry the peer's VNI (200) on the wire;
#  - a peer endpoint on the same host (--host = own underlay address): a
#    (VNI 100) and d (VNI 200) both on h1 are routed locally (fwd_local),
#    nothing leaves through the uplink.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
require_root
ov_require jq ping iperf3 tcpdump

I1=$ZH_PFX-h1 I2=$ZH_PFX-h2
MA=02:00:00:00:01:0a MB=02:00:00:00:02:14 MD=02:00:00:00:02:1e

ov_underlay h1 h2 || bail "set up the underlay"
ov_vm a h1 p1 $MA 10.0.1.10/24 && ov_vm b h2 p1 $MB 10.0.2.20/24 &&
	ov_vm d h1 p2 $MD 10.0.2.30/24 || bail "set up the VMs"
ov_attach h1 "$I1" >/dev/null && ov_attach h2 "$I2" >/dev/null || bail "attach h1 and h2"
ov_port h1 "$I1" p1 100 $MA 10.0.1.10 >/dev/null &&
	ov_port h2 "$I2" p1 200 $MB 10.0.2.20 >/dev/null &&
	ov_port h1 "$I1" p2 200 $MD 10.0.2.30 >/dev/null || bail "add the ports"

# 4a. Across hosts.
check "h1: peer endpoint b (VNI 100 -> 200 on h2)" \
	ov_ep h1 "$I1" 100 10.0.2.20 $MB h2 --dest-vni 200
check "h2: peer endpoint a (VNI 200 -> 100 on h1)" \
	ov_ep h2 "$I2" 200 10.0.1.10 $MA h1 --dest-vni 100

ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_capture cap h1 upl 6 8 udp port 4789 || bail "start tcpdump on h1 upl"
ov_ping "[peer] a (VNI 100, h1) pings b (VNI 200, h2)" a 10.0.2.20
ov_capture_wait
expect_grows "[peer] encap_peer counts on h1" h1 "$I1" encap_peer 3
expect_grows "[peer] encap_peer counts on h2" h2 "$I2" encap_peer 3
expect_ge "[peer] h2 decapsulated a's packets" "$(ov_delta_sum h2 "$I2" decap_xdp decap_tc)" 3
expect_ge "[peer] h1 decapsulated b's replies" "$(ov_delta_sum h1 "$I1" decap_xdp decap_tc)" 3
expect_still "[peer] no drop_rpf on h1" h1 "$I1" drop_rpf
expect_still "[peer] no drop_rpf on h2" h2 "$I2" drop_rpf
flows=$(ov_flows "$cap")
expect_ge "[peer] h1's packets to b were captured" \
	"$(grep -c '^198\.18\.0\.1 .* 10\.0\.1\.10 > 10\.0\.2\.20:' <<<"$flows")" 1
check "[peer] h1's packets to b carry vni 200" \
	grep -q "IP 198\.18\.0\.1\.[0-9]* > 198\.18\.0\.2\.4789: VXLAN, flags \[I\] (0x08), vni 200$" "$cap"
check "[peer] h2's packets to a carry vni 100" \
	grep -q "IP 198\.18\.0\.2\.[0-9]* > 198\.18\.0\.1\.4789: VXLAN, flags \[I\] (0x08), vni 100$" "$cap"
check_fails "[peer] nothing from h1 carries vni 100" \
	grep -q "IP 198\.18\.0\.1\.[0-9]* > .*vni 100$" "$cap"

ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_ping "[peer] b (VNI 200, h2) pings a (VNI 100, h1)" b 10.0.1.10
expect_grows "[peer] encap_peer counts on h2 (requests)" h2 "$I2" encap_peer 3
expect_grows "[peer] encap_peer counts on h1 (replies)" h1 "$I1" encap_peer 3
ov_iperf "[peer] TCP: 10 MB from a to b (iperf3)" a b 10.0.2.20 10M

# 4b. Same host: a (VNI 100) <-> d (VNI 200), both on h1.
check "h1: peer endpoint d on h1 itself (VNI 100 -> 200)" \
	ov_ep h1 "$I1" 100 10.0.2.30 $MD h1 --dest-vni 200
check "h1: peer endpoint a on h1 itself (VNI 200 -> 100)" \
	ov_ep h1 "$I1" 200 10.0.1.10 $MA h1 --dest-vni 100
ov_mark h1 "$I1"
ov_ping "[peer local] a (VNI 100) pings d (VNI 200) on the same host" a 10.0.2.30
ov_ping "[peer local] d (VNI 200) pings a (VNI 100) on the same host" d 10.0.1.10
expect_grows "[peer local] fwd_local counts both directions" h1 "$I1" fwd_local 12
expect_still "[peer local] nothing is encapsulated" h1 "$I1" encap_vxlan
expect_still "[peer local] no drop_no_route" h1 "$I1" drop_no_route

# Without the peer endpoint, VNI 100 does not reach VNI 200.
check "h1: remove the peer endpoint for d" \
	zh h1 endpoint del --instance "$I1" --vni 100 --ip 10.0.2.30
ov_mark h1 "$I1"
ov_noping "[peer local] after endpoint del, a no longer reaches d" a 10.0.2.30
expect_grows "[peer local] drop_no_route counts it" h1 "$I1" drop_no_route 2

finish
