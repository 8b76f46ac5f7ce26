#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Proxyless peering between VNIs, with real traffic:
#  - a (VNI 100, h1) and b (VNI 200, h2): each host has a peer endpoint for
#    the other VM (--dest-vni) and both networks' export policies toward
#    each other (policy add); pings both ways work, encap_peer counts on
#    both hosts and h1's packets carry the peer's VNI (200) on the wire;
#  - export policies are enforced by the sending host (drop_policy there,
#    nothing on the wire) and again by the receiving host when the sender
#    lets a packet go that the receiver's policy excludes: per protocol
#    (ICMP, UDP, TCP) and per prefix;
#  - a peer endpoint on the same host (--host = own underlay address): a
#    (VNI 100) and d (VNI 200) both on h1 are routed locally (fwd_local),
#    nothing leaves through the uplink, and the policy is checked there too.
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

# pol HOST INSTANCE add|del OPTIONS...: zerohop policy on HOST.
pol() {
	local host=$1 inst=$2 sub=$3; shift 3
	zh "$host" policy "$sub" --instance "$inst" "$@" >/dev/null
}
# B_TO_A: B (VNI 200) exports 10.0.2.0/24 to A (VNI 100); A_TO_B the other way.
B_TO_A=(--vni 200 --peer-vni 100 --prefix 10.0.2.0/24)
A_TO_B=(--vni 100 --peer-vni 200 --prefix 10.0.1.0/24)

# 4a. Across hosts. Each host enforces both exports: B's toward A for a's
# packets (h1 sends, h2 receives) and A's toward B for b's.
check "h1: peer endpoint b (VNI 100 -> 200 on h2)" \
	ov_ep h1 "$I1" 100 10.0.2.20 $MB h2 --dest-vni 200
check "h2: peer endpoint a (VNI 200 -> 100 on h1)" \
	ov_ep h2 "$I2" 200 10.0.1.10 $MA h1 --dest-vni 100
for h in h1 h2; do
	inst=$I1; [ $h = h2 ] && inst=$I2
	check "$h: B exports 10.0.2.0/24 to A, any protocol" pol $h "$inst" add "${B_TO_A[@]}" --protocols any
	check "$h: A exports 10.0.1.0/24 to B, any protocol" pol $h "$inst" add "${A_TO_B[@]}" --protocols any
done
expect_eq "h1: show policies --json lists both exports" \
	"$(zh h1 show policies --json --instance "$I1" | jq -c 'sort_by(.vni) | map([.vni, .peer_vni, .prefix, (.protocols | join(","))])')" \
	'[[100,200,"10.0.1.0/24","tcp,udp,icmp,other"],[200,100,"10.0.2.0/24","tcp,udp,icmp,other"]]'

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
expect_still "[peer] no drop_policy on h1" h1 "$I1" drop_policy
expect_still "[peer] no drop_policy on h2" h2 "$I2" drop_policy

# 4c. The sending host enforces: h1 holds B's export to A as TCP only. ICMP
# and UDP from a to b are dropped on h1 and never reach the wire; TCP flows.
check "h1: B exports 10.0.2.0/24 to A for TCP only" pol h1 "$I1" add "${B_TO_A[@]}" --protocols tcp
b_udp=$(ov_snmp b Udp InDatagrams)
b_noports=$(ov_snmp b Udp NoPorts)
ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_capture cap h1 upl 20 6 udp port 4789 || bail "start tcpdump on h1 upl"
ov_noping "[policy sender] ICMP from a to b is refused" a 10.0.2.20
check "[policy sender] a sends 3 UDP datagrams to b" ov_udp a 10.0.2.20 7777 one two three
sleep 0.5
ov_capture_wait
expect_grows "[policy sender] drop_policy counts them on h1" h1 "$I1" drop_policy 4
expect_still "[policy sender] h1 encapsulates nothing toward B" h1 "$I1" encap_peer
expect_eq "[policy sender] nothing on h1's uplink" "$(grep -c 'VXLAN' "$cap")" 0
expect_still "[policy sender] h2 drops nothing by policy" h2 "$I2" drop_policy
expect_eq "[policy sender] b received no UDP" \
	"$(( $(ov_snmp b Udp InDatagrams) + $(ov_snmp b Udp NoPorts) - b_udp - b_noports ))" 0
ov_mark h1 "$I1"
ov_iperf "[policy sender] TCP from a to b still flows" a b 10.0.2.20 1M
expect_still "[policy sender] no drop_policy for TCP on h1" h1 "$I1" drop_policy

# 4d. The receiving host enforces whatever the sender does: h1 lets
# everything go, h2 holds B's export to A as TCP only.
check "h1: B exports 10.0.2.0/24 to A, any protocol again" pol h1 "$I1" add "${B_TO_A[@]}" --protocols any
check "h2: B exports 10.0.2.0/24 to A for TCP only" pol h2 "$I2" add "${B_TO_A[@]}" --protocols tcp
b_echo=$(ov_snmp b Icmp InEchos)
b_udp=$(ov_snmp b Udp InDatagrams)
b_noports=$(ov_snmp b Udp NoPorts)
ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_capture cap h1 upl 20 6 udp port 4789 || bail "start tcpdump on h1 upl"
ov_noping "[policy receiver] ICMP from a to b is refused" a 10.0.2.20
check "[policy receiver] a sends 3 UDP datagrams to b" ov_udp a 10.0.2.20 7777 one two three
sleep 0.5
ov_capture_wait
expect_grows "[policy receiver] h1 sent them (encap_peer)" h1 "$I1" encap_peer 4
expect_ge "[policy receiver] they are on the wire with vni 200" \
	"$(grep -c 'IP 198\.18\.0\.1\.[0-9]* > 198\.18\.0\.2\.4789: VXLAN.*vni 200$' "$cap")" 4
expect_grows "[policy receiver] drop_policy counts them on h2" h2 "$I2" drop_policy 4
expect_eq "[policy receiver] h2 decapsulated none of them" \
	"$(ov_delta_sum h2 "$I2" decap_xdp decap_tc)" 0
expect_eq "[policy receiver] b received no echo request" "$(( $(ov_snmp b Icmp InEchos) - b_echo ))" 0
expect_eq "[policy receiver] b received no UDP" \
	"$(( $(ov_snmp b Udp InDatagrams) + $(ov_snmp b Udp NoPorts) - b_udp - b_noports ))" 0
ov_mark h2 "$I2"
ov_iperf "[policy receiver] TCP from a to b still flows" a b 10.0.2.20 1M
expect_still "[policy receiver] no drop_policy for TCP on h2" h2 "$I2" drop_policy
check "h2: B exports 10.0.2.0/24 to A, any protocol again" pol h2 "$I2" add "${B_TO_A[@]}" --protocols any

# 4e. Prefix scope: b (10.0.2.20) outside what B exports, first on the
# sending host, then on the receiving one.
check "h1: B exports only 10.0.2.128/25 to A" \
	pol h1 "$I1" del "${B_TO_A[@]}" && pol h1 "$I1" add --vni 200 --peer-vni 100 --prefix 10.0.2.128/25
ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_noping "[policy prefix] h1: b is outside B's export, a's pings are refused" a 10.0.2.20
expect_grows "[policy prefix] drop_policy counts them on h1" h1 "$I1" drop_policy 2
expect_still "[policy prefix] h1 encapsulates nothing toward B" h1 "$I1" encap_peer
check "h1: B exports 10.0.2.0/24 to A again; h2 only 10.0.2.128/25" \
	pol h1 "$I1" add "${B_TO_A[@]}" --protocols any && pol h2 "$I2" del "${B_TO_A[@]}" &&
	pol h2 "$I2" add --vni 200 --peer-vni 100 --prefix 10.0.2.128/25
ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_noping "[policy prefix] h2: b is outside B's export, a's pings are refused" a 10.0.2.20
expect_grows "[policy prefix] h1 sent them" h1 "$I1" encap_peer 2
expect_grows "[policy prefix] drop_policy counts them on h2" h2 "$I2" drop_policy 2
check "h2: B exports 10.0.2.0/24 to A again" pol h2 "$I2" add "${B_TO_A[@]}" --protocols any
ov_ping "[policy prefix] with the /24 back, a reaches b" a 10.0.2.20

# 4b. Same host: a (VNI 100) <-> d (VNI 200), both on h1. h1's exports
# (10.0.2.0/24 of B to A, 10.0.1.0/24 of A to B) cover d and a.
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
expect_still "[peer local] no drop_policy" h1 "$I1" drop_policy

# The policy is checked on the same host too: B exports d to A for TCP only.
check "h1: B exports 10.0.2.30/32 to A for TCP only" \
	pol h1 "$I1" add --vni 200 --peer-vni 100 --prefix 10.0.2.30/32 --protocols tcp
ov_mark h1 "$I1"
ov_noping "[policy local] a's pings to d are refused" a 10.0.2.30
expect_grows "[policy local] drop_policy counts them on h1" h1 "$I1" drop_policy 2
ov_iperf "[policy local] TCP from a to d still flows" a d 10.0.2.30 1M
check "h1: remove the /32; the /24 (any) decides again" \
	pol h1 "$I1" del --vni 200 --peer-vni 100 --prefix 10.0.2.30/32
ov_ping "[policy local] a pings d again" a 10.0.2.30

# Without the peer endpoint, VNI 100 does not reach VNI 200.
check "h1: remove the peer endpoint for d" \
	zh h1 endpoint del --instance "$I1" --vni 100 --ip 10.0.2.30
ov_mark h1 "$I1"
ov_noping "[peer local] after endpoint del, a no longer reaches d" a 10.0.2.30
expect_grows "[peer local] drop_no_route counts it" h1 "$I1" drop_no_route 2

finish
