#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Path MTU across the overlay: VMs and uplinks have MTU 1500, so a VM's
# packets to another host fit in 1450 bytes (VXLAN adds 50). A DF packet
# that is too big gets ICMP "fragmentation needed" (mtu 1450) from the data
# plane (icmp_frag_needed), a 1450-byte one passes, and TCP with the VMs'
# default MSS completes through path MTU discovery.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
require_root
ov_require jq ping iperf3

I1=$ZH_PFX-h1 I2=$ZH_PFX-h2
MA=02:00:00:00:01:0a MB=02:00:00:00:01:14 MC=02:00:00:00:01:0b

ov_underlay h1 h2 || bail "set up the underlay"
ov_vm a h1 p1 $MA 10.0.1.10/24 1500 && ov_vm b h2 p1 $MB 10.0.1.20/24 1500 &&
	ov_vm c h1 p2 $MC 10.0.1.11/24 1500 || bail "set up the VMs"
ov_attach h1 "$I1" >/dev/null && ov_attach h2 "$I2" >/dev/null || bail "attach h1 and h2"
ov_port h1 "$I1" p1 100 $MA 10.0.1.10 >/dev/null &&
	ov_port h1 "$I1" p2 100 $MC 10.0.1.11 >/dev/null &&
	ov_port h2 "$I2" p1 100 $MB 10.0.1.20 >/dev/null || bail "add the ports"
ov_ep h1 "$I1" 100 10.0.1.20 $MB h2 >/dev/null &&
	ov_ep h2 "$I2" 100 10.0.1.10 $MA h1 >/dev/null &&
	ov_ep h2 "$I2" 100 10.0.1.11 $MC h1 >/dev/null || bail "add the endpoints"
expect_eq "instance MTU is the uplink's" "$(zh_json h1 "$I1" .mtu)" 1500
ov_ping "a pings b (small packets)" a 10.0.1.20

ov_mark h1 "$I1"; ov_mark h2 "$I2"
out=$(nsexec a ping -n -c 2 -i 0.2 -W 1 -w 2 -M do -s 1472 10.0.1.20 2>&1)
if grep -Eq "Frag needed and DF set \(mtu = 1450\)|message too long, mtu=1450" <<<"$out"; then
	tap_ok "[pmtu] ping -s 1472 -M do: fragmentation needed, mtu 1450"
else
	tap_fail "[pmtu] ping -s 1472 -M do: fragmentation needed, mtu 1450"
	printf '%s\n' "$out" | sed 's/^/# /'
fi
expect_grows "[pmtu] icmp_frag_needed counts on h1" h1 "$I1" icmp_frag_needed 1
expect_still "[pmtu] nothing was encapsulated" h1 "$I1" encap_vxlan
expect_still "[pmtu] b's host got nothing" h2 "$I2" decap_tc
expect_eq "[pmtu] a's route cache learnt mtu 1450 for b" \
	"$(nsexec a ip route get 10.0.1.20 | grep -o 'mtu [0-9]*')" "mtu 1450"

ov_mark h1 "$I1"
ov_ping "[pmtu] ping -s 1422 -M do (1450 bytes) works" a 10.0.1.20 -M do -s 1422
expect_grows "[pmtu] ... encapsulated" h1 "$I1" encap_vxlan 3
expect_still "[pmtu] ... no icmp_frag_needed" h1 "$I1" icmp_frag_needed

# The same host needs no encapsulation: full 1500-byte packets pass.
ov_ping "[pmtu] ping -s 1472 -M do to c on the same host works" a 10.0.1.11 -M do -s 1472

# Not DF: too big packets are dropped (drop_too_big), not fragmented (c
# has no cached path MTU for b).
ov_mark h1 "$I1"
check_fails "[pmtu] ping -s 1472 -M dont from c gets no answer" \
	nsexec c ping -q -n -c 2 -i 0.2 -W 1 -w 1 -M dont -s 1472 10.0.1.20
expect_grows "[pmtu] drop_too_big counts it" h1 "$I1" drop_too_big 1
expect_still "[pmtu] ... and sends no icmp_frag_needed" h1 "$I1" icmp_frag_needed

# TCP from c (no cached path MTU; b advertises MSS 1460): c discovers 1450.
ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_iperf "[pmtu] TCP: 10 MB from c to b (iperf3)" c b 10.0.1.20 10M
expect_grows "[pmtu] icmp_frag_needed counts on h1" h1 "$I1" icmp_frag_needed 1
expect_eq "[pmtu] c's route cache learnt mtu 1450 for b" \
	"$(nsexec c ip route get 10.0.1.20 | grep -o 'mtu [0-9]*')" "mtu 1450"
expect_grows "[pmtu] the transfer was encapsulated" h1 "$I1" encap_vxlan 100
for h in h1 h2; do
	I=$ZH_PFX-$h
	expect_still "[pmtu] no drop_too_big on $h" $h "$I" drop_too_big
	expect_still "[pmtu] no drop_error on $h" $h "$I" drop_error
done
ov_iperf "[pmtu] TCP: 10 MB from b to a (iperf3)" b a 10.0.1.10 10M

finish
