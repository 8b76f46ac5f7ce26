#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Overlay forwarding with real traffic between VM namespaces:
#  - same host, same VNI: routed locally (fwd_local);
#  - across hosts over VXLAN: ping and a TCP transfer, encap_vxlan on the
#    sender, decap on the receiver; the wire shows VXLAN with VNI 100 and
#    outer UDP source ports per inner flow in 49152-65535;
#  - across hosts over Geneve (endpoints with --encap geneve, then attach
#    --encap geneve): encap_geneve, the wire shows Geneve with VNI 100.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
require_root
ov_require jq ping iperf3 tcpdump

I1=$ZH_PFX-h1 I2=$ZH_PFX-h2
MA=02:00:00:00:01:0a MC=02:00:00:00:01:0b MB=02:00:00:00:01:14
MD=02:00:00:00:01:0c ME=02:00:00:00:01:16

ov_underlay h1 h2 || bail "set up the underlay"
# VNI 100: a and c on h1, b on h2; d (h1) and e (h2) talk Geneve.
ov_vm a h1 p1 $MA 10.0.1.10/24 && ov_vm c h1 p2 $MC 10.0.1.11/24 &&
	ov_vm b h2 p1 $MB 10.0.1.20/24 &&
	ov_vm d h1 p3 $MD 10.0.1.12/24 && ov_vm e h2 p3 $ME 10.0.1.22/24 ||
	bail "set up the VMs"
ov_attach h1 "$I1" >/dev/null && ov_attach h2 "$I2" >/dev/null || bail "attach h1 and h2"
ov_port h1 "$I1" p1 100 $MA 10.0.1.10 >/dev/null &&
	ov_port h1 "$I1" p2 100 $MC 10.0.1.11 >/dev/null &&
	ov_port h1 "$I1" p3 100 $MD 10.0.1.12 >/dev/null &&
	ov_port h2 "$I2" p1 100 $MB 10.0.1.20 >/dev/null &&
	ov_port h2 "$I2" p3 100 $ME 10.0.1.22 >/dev/null || bail "add the ports"
ov_ep h1 "$I1" 100 10.0.1.20 $MB h2 >/dev/null &&
	ov_ep h2 "$I2" 100 10.0.1.10 $MA h1 >/dev/null &&
	ov_ep h1 "$I1" 100 10.0.1.22 $ME h2 --encap geneve >/dev/null &&
	ov_ep h2 "$I2" 100 10.0.1.12 $MD h1 --encap geneve >/dev/null || bail "add the endpoints"

# 1. Same host, same VNI.
stats=$(ov_stats h1 "$I1")
check "show stats --json is a JSON object with fwd_local" jq -e '.fwd_local | numbers' <<<"$stats"
ov_mark h1 "$I1"
ov_ping "[local] a pings c on the same host" a 10.0.1.11
expect_grows "[local] fwd_local counts both directions" h1 "$I1" fwd_local 6
expect_grows "[local] arp_reply answers the VMs' ARP" h1 "$I1" arp_reply 1
expect_still "[local] nothing is encapsulated" h1 "$I1" encap_vxlan
RMAC1=$(ov_router_mac h1 "$I1") RMAC2=$(ov_router_mac h2 "$I2")
# a ARPed for c (same /24): the answer is h1's router MAC.
expect_eq "[local] a's ARP for c was answered with h1's router MAC" \
	"$(nsexec a ip -j neigh show 10.0.1.11 dev eth0 | jq -r '.[0].lladdr')" "$RMAC1"

# 2. Across hosts over VXLAN, with a capture of h1's uplink meanwhile.
ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_capture cap h1 upl 20 8 udp port 4789 || bail "start tcpdump on h1 upl"
ov_capture capb b eth0 1 8 -e icmp || bail "start tcpdump on b's eth0"
ov_ping "[vxlan] a on h1 pings b on h2" a 10.0.1.20 -c 5
# Four UDP flows (one datagram each) that differ only in the destination port.
for port in 5001 5002 5003 5004; do ov_udp a 10.0.1.20 $port x 2>/dev/null; done
ov_capture_wait
expect_eq "[vxlan] b receives a's ping from h2's router MAC" \
	"$(sed -n 's/^[0-9:.]* \([0-9a-f:]*\) > \([0-9a-f:]*\), ethertype IPv4.*: 10\.0\.1\.10 > 10\.0\.1\.20: ICMP echo request.*/\1 > \2/p' "$capb")" \
	"$RMAC2 > $MB"
expect_grows "[vxlan] encap_vxlan counts on h1" h1 "$I1" encap_vxlan 9
expect_grows "[vxlan] encap_vxlan counts on h2 (replies)" h2 "$I2" encap_vxlan 5
d=$(ov_delta_sum h2 "$I2" decap_xdp decap_tc)
expect_ge "[vxlan] decap_xdp + decap_tc count on h2" "$d" 9
expect_ge "[vxlan] decap_xdp + decap_tc count on h1 (replies)" \
	"$(ov_delta_sum h1 "$I1" decap_xdp decap_tc)" 5
expect_still "[vxlan] no drop_rpf on h2" h2 "$I2" drop_rpf
check "[vxlan] tcpdump decodes VXLAN with vni 100" grep -q "VXLAN, flags \[I\] (0x08), vni 100$" "$cap"
flows=$(ov_flows "$cap")
icmp_ports=$(awk '$1 == "198.18.0.1" && $5 == "10.0.1.20:" && $3 == "10.0.1.10" { print $2 }' <<<"$flows" | sort -u)
expect_eq "[vxlan] one inner flow (the ping) keeps one outer source port" "$(grep -c . <<<"$icmp_ports")" 1
udp_ports=$(awk '$1 == "198.18.0.1" && $5 ~ /^10\.0\.1\.20\.500[1-4]:$/ { print $2 }' <<<"$flows")
expect_eq "[vxlan] the four UDP flows were captured" "$(grep -c . <<<"$udp_ports")" 4
expect_ge "[vxlan] different inner flows get different outer source ports" \
	"$(printf '%s\n' "$udp_ports" $icmp_ports | sort -u | wc -l)" 3
bad=$(printf '%s\n' $udp_ports $icmp_ports | awk '$1 < 49152 || $1 > 65535')
expect_eq "[vxlan] outer source ports are within 49152-65535" "$bad" ""
[ -z "$bad" ] && [ -n "$udp_ports" ] || sed 's/^/# /' "$cap"

ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_iperf "[vxlan] TCP: 20 MB from a to b (iperf3)" a b 10.0.1.20 20M
ov_iperf "[vxlan] TCP: 20 MB from b to a (iperf3)" b a 10.0.1.10 20M
expect_grows "[vxlan] the TCP transfers were encapsulated on h1" h1 "$I1" encap_vxlan 100
expect_grows "[vxlan] ... and on h2" h2 "$I2" encap_vxlan 100
expect_ge "[vxlan] h2 decapsulated them" "$(ov_delta_sum h2 "$I2" decap_xdp decap_tc)" 100
expect_ge "[vxlan] h1 decapsulated them" "$(ov_delta_sum h1 "$I1" decap_xdp decap_tc)" 100
for c in drop_error drop_fib drop_malformed drop_too_big; do
	expect_still "[vxlan] no $c on h1" h1 "$I1" $c
	expect_still "[vxlan] no $c on h2" h2 "$I2" $c
done

# 3. Geneve endpoints: d (h1) <-> e (h2).
ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_capture cap h1 upl 4 8 udp port 6081 || bail "start tcpdump on h1 upl (Geneve)"
ov_ping "[geneve] d on h1 pings e on h2" d 10.0.1.22
ov_capture_wait
expect_grows "[geneve] encap_geneve counts on h1" h1 "$I1" encap_geneve 3
expect_grows "[geneve] encap_geneve counts on h2" h2 "$I2" encap_geneve 3
expect_still "[geneve] no encap_vxlan on h1" h1 "$I1" encap_vxlan
expect_ge "[geneve] h2 decapsulated them" "$(ov_delta_sum h2 "$I2" decap_xdp decap_tc)" 3
check "[geneve] tcpdump decodes Geneve with vni 0x64 (100)" grep -q "Geneve, .*vni 0x64" "$cap"
grep -q "Geneve, .*vni 0x64" "$cap" || sed 's/^/# /' "$cap"
ov_iperf "[geneve] TCP: 10 MB from d to e (iperf3)" d e 10.0.1.22 10M

# Geneve as the instances' default: a <-> b (endpoints without --encap).
ov_attach h1 "$I1" --encap geneve >/dev/null && ov_attach h2 "$I2" --encap geneve >/dev/null ||
	bail "re-attach h1 and h2 with --encap geneve"
ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_ping "[geneve default] a pings b" a 10.0.1.20
expect_grows "[geneve default] encap_geneve counts on h1" h1 "$I1" encap_geneve 3
expect_grows "[geneve default] encap_geneve counts on h2" h2 "$I2" encap_geneve 3
expect_still "[geneve default] no encap_vxlan on h1" h1 "$I1" encap_vxlan

finish
