#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Overlay security with real traffic:
#  - isolation: VNI 300 shares the address space of VNI 100 but reaches
#    none of its VMs (drop_no_route), and VMs cannot reach the underlay;
#  - anti-spoofing: a VM using another source address or MAC delivers
#    nothing (drop_spoof);
#  - injection: a host that is not the VM's host ("evil", a Linux vxlan
#    device on the fabric) cannot get packets into VNI 100 (drop_rpf);
#  - malformed tunnel headers are dropped (drop_malformed) while other
#    traffic to the host (ping, UDP) still reaches its stack (pass_stack).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
require_root
ov_require jq ping

I1=$ZH_PFX-h1 I2=$ZH_PFX-h2
MA=02:00:00:00:01:0a MT=02:00:00:00:01:0b MB=02:00:00:00:01:14
MC=02:00:00:00:03:1e ME=02:00:00:00:03:0a

ov_underlay h1 h2 && ov_host evil 66 || bail "set up the underlay"
# VNI 100: a, t on h1, b on h2. VNI 300 (same /24): c on h1, e on h2 with
# a's address.
ov_vm a h1 p1 $MA 10.0.1.10/24 && ov_vm t h1 p2 $MT 10.0.1.11/24 &&
	ov_vm b h2 p1 $MB 10.0.1.20/24 &&
	ov_vm c h1 p3 $MC 10.0.1.30/24 && ov_vm e h2 p3 $ME 10.0.1.10/24 ||
	bail "set up the VMs"
ov_attach h1 "$I1" >/dev/null && ov_attach h2 "$I2" >/dev/null || bail "attach h1 and h2"
ov_port h1 "$I1" p1 100 $MA 10.0.1.10 >/dev/null &&
	ov_port h1 "$I1" p2 100 $MT 10.0.1.11 >/dev/null &&
	ov_port h2 "$I2" p1 100 $MB 10.0.1.20 >/dev/null &&
	ov_port h1 "$I1" p3 300 $MC 10.0.1.30 >/dev/null &&
	ov_port h2 "$I2" p3 300 $ME 10.0.1.10 >/dev/null || bail "add the ports"
ov_ep h1 "$I1" 100 10.0.1.20 $MB h2 >/dev/null &&
	ov_ep h2 "$I2" 100 10.0.1.10 $MA h1 >/dev/null &&
	ov_ep h2 "$I2" 100 10.0.1.11 $MT h1 >/dev/null &&
	ov_ep h1 "$I1" 300 10.0.1.10 $ME h2 >/dev/null &&
	ov_ep h2 "$I2" 300 10.0.1.30 $MC h1 >/dev/null || bail "add the endpoints"
ov_ping "a pings b (baseline)" a 10.0.1.20

# 5. Isolation.
ov_mark h1 "$I1"
rx_a=$(ov_rx_packets a eth0) rx_t=$(ov_rx_packets t eth0) rx_b=$(ov_rx_packets b eth0)
ov_noping "[isolation] c (VNI 300) cannot reach t (VNI 100, same host)" c 10.0.1.11
ov_noping "[isolation] c (VNI 300) cannot reach b (VNI 100, other host)" c 10.0.1.20
expect_grows "[isolation] drop_no_route counts on h1" h1 "$I1" drop_no_route 4
ov_ping "[isolation] c's 10.0.1.10 is e in VNI 300, on h2" c 10.0.1.10
expect_eq "[isolation] a (10.0.1.10 in VNI 100) received nothing" "$(ov_rx_packets a eth0)" "$rx_a"
expect_eq "[isolation] t received nothing" "$(ov_rx_packets t eth0)" "$rx_t"
expect_eq "[isolation] b received nothing" "$(ov_rx_packets b eth0)" "$rx_b"
ov_mark h1 "$I1"
in1=$(ov_snmp h1 Icmp InEchos)
ov_noping "[isolation] a cannot reach its host's underlay address" a 198.18.0.1
ov_noping "[isolation] a cannot reach the other host's underlay address" a 198.18.0.2
expect_grows "[isolation] drop_no_route counts them" h1 "$I1" drop_no_route 4
expect_eq "[isolation] h1's stack got no echo request" "$(ov_snmp h1 Icmp InEchos)" "$in1"

# 6. Spoofed source address and MAC.
ov_mark h1 "$I1"
rx_b=$(ov_rx_packets b eth0) rx_t=$(ov_rx_packets t eth0)
addr a eth0 10.0.1.99/24 || bail "add a second address to a"
check_fails "[spoof] a pings b from 10.0.1.99: no answer" \
	nsexec a ping -q -n -c 2 -i 0.2 -W 1 -w 1 -I 10.0.1.99 10.0.1.20
check_fails "[spoof] a pings t from 10.0.1.99: no answer" \
	nsexec a ping -q -n -c 2 -i 0.2 -W 1 -w 1 -I 10.0.1.99 10.0.1.11
expect_grows "[spoof] drop_spoof counts the address spoofing" h1 "$I1" drop_spoof 4
expect_eq "[spoof] b received nothing" "$(ov_rx_packets b eth0)" "$rx_b"
expect_eq "[spoof] t received nothing" "$(ov_rx_packets t eth0)" "$rx_t"
ip -n "$ZH_PFX-a" addr del 10.0.1.99/24 dev eth0

ov_mark h1 "$I1"
# A new MAC flushes a's neighbours: its ARP requests come from the new MAC
# too; a static entry for b makes it send IPv4 as well.
ip -n "$ZH_PFX-a" link set eth0 address 02:00:00:00:01:ff || bail "change a's MAC"
ov_noping "[spoof] a with another MAC cannot reach t (ARP)" a 10.0.1.11
expect_grows "[spoof] drop_spoof counts the ARP from the other MAC" h1 "$I1" drop_spoof 1
ov_mark h1 "$I1"
ip -n "$ZH_PFX-a" neigh replace 10.0.1.20 lladdr "$(ov_router_mac h1 "$I1")" dev eth0 nud permanent
ov_noping "[spoof] a with another MAC cannot reach b (IPv4)" a 10.0.1.20
expect_grows "[spoof] drop_spoof counts the IPv4 from the other MAC" h1 "$I1" drop_spoof 2
expect_eq "[spoof] t received nothing" "$(ov_rx_packets t eth0)" "$rx_t"
expect_eq "[spoof] b received nothing" "$(ov_rx_packets b eth0)" "$rx_b"
ip -n "$ZH_PFX-a" link set eth0 address $MA || bail "restore a's MAC"
ip -n "$ZH_PFX-a" neigh del 10.0.1.20 dev eth0 2>/dev/null
ov_ping "[spoof] a with its own MAC again reaches b" a 10.0.1.20
# A veth with tc_port but no port record (drop_no_port) cannot be made with
# the CLI: `port add` always writes the record (--vni is required).

# 7. Injection from a host that is not in the overlay: evil's vxlan device
# sends VNI 100 to h1 with b's address (a VM of h2), then with a's.
ip -n "$ZH_PFX-evil" link add vx100 type vxlan id 100 remote 198.18.0.1 local 198.18.0.66 \
	dstport 4789 nolearning dev upl &&
	ip -n "$ZH_PFX-evil" link set vx100 address 02:00:00:00:66:01 up &&
	addr evil vx100 10.0.1.20/24 &&
	ip -n "$ZH_PFX-evil" neigh add 10.0.1.10 lladdr $MA dev vx100 nud permanent &&
	ip -n "$ZH_PFX-evil" neigh add 10.0.1.11 lladdr $MT dev vx100 nud permanent ||
	bail "set up evil's vxlan device"
ov_mark h1 "$I1"
rx_a=$(ov_rx_packets a eth0) rx_t=$(ov_rx_packets t eth0)
ov_noping "[inject] evil as b (10.0.1.20) gets no answer from a" evil 10.0.1.10
expect_grows "[inject] drop_rpf counts on h1" h1 "$I1" drop_rpf 2
expect_eq "[inject] a received nothing" "$(ov_rx_packets a eth0)" "$rx_a"
addr evil vx100 10.0.1.10/24 || bail "give evil a's address"
ov_mark h1 "$I1"
check_fails "[inject] evil as a (10.0.1.10) gets no answer from t" \
	nsexec evil ping -q -n -c 2 -i 0.2 -W 1 -w 1 -I 10.0.1.10 10.0.1.11
expect_grows "[inject] drop_rpf counts on h1" h1 "$I1" drop_rpf 2
expect_eq "[inject] t received nothing" "$(ov_rx_packets t eth0)" "$rx_t"
expect_still "[inject] nothing was decapsulated by XDP" h1 "$I1" decap_xdp
expect_still "[inject] nothing was decapsulated by TC" h1 "$I1" decap_tc

# 8. Malformed tunnel headers from evil, then ordinary traffic to h1.
ov_mark h1 "$I1"
inner='\x02\x00\x00\x00\x01\x0a\x02\x00\x00\x00\x01\x14\x08\x00\x45\x00\x00\x1c\x00\x00\x40\x00\x40\x01\x00\x00\x0a\x00\x01\x14\x0a\x00\x01\x0a\x08\x00\xf7\xff\x00\x00\x00\x00'
ov_raw_udp evil 198.18.0.1 4789 "\x00\x00\x00\x00\x00\x00\x64\x00$inner"   # VXLAN without I
ov_raw_udp evil 198.18.0.1 4789 '\x08\x00\x00'                             # truncated VXLAN
ov_raw_udp evil 198.18.0.1 4789 '\x08\x00\x00\x00\x00\x00\x64\x00\x02\x00' # truncated inner Ethernet
ov_raw_udp evil 198.18.0.1 6081 "\x40\x00\x65\x58\x00\x00\x64\x00$inner"   # Geneve version 1
ov_raw_udp evil 198.18.0.1 6081 "\x00\x80\x65\x58\x00\x00\x64\x00$inner"   # Geneve O (control)
ov_raw_udp evil 198.18.0.1 6081 "\x00\x40\x65\x58\x00\x00\x64\x00$inner"   # Geneve C (critical options)
ov_raw_udp evil 198.18.0.1 6081 '\x00\x00\x65'                             # truncated Geneve
sleep 0.2
expect_grows "[malformed] drop_malformed counts the 7 bad headers" h1 "$I1" drop_malformed 7
expect_still "[malformed] nothing was decapsulated by XDP" h1 "$I1" decap_xdp
expect_still "[malformed] nothing was decapsulated by TC" h1 "$I1" decap_tc

ov_mark h1 "$I1"
in1=$(ov_snmp h1 Icmp InEchos) np1=$(ov_snmp h1 Udp NoPorts)
ov_ping "[host] evil pings h1's underlay address" evil 198.18.0.1
ov_raw_udp evil 198.18.0.1 9999 'hello'
sleep 0.2
expect_ge "[host] h1's stack answered the echo requests" "$(( $(ov_snmp h1 Icmp InEchos) - in1 ))" 3
expect_eq "[host] h1's stack got the UDP packet to port 9999" "$(( $(ov_snmp h1 Udp NoPorts) - np1 ))" 1
expect_grows "[host] pass_stack counts them" h1 "$I1" pass_stack 4
expect_still "[host] no drop_malformed" h1 "$I1" drop_malformed

finish
