#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pins --instance: two "hosts" (namespaces h1, h2, joined by an underlay
# veth) each run their own instance at the same time; `status` lists both
# from either namespace; traffic moves each instance's own counters; an
# interface of one instance cannot be claimed by another instance in the
# same namespace; detaching one leaves the other attached and counting.
# Each host has two VMs in VNI 100 on ports of its own instance, so VM to
# VM traffic moves tc_port_rx and fwd_local of that instance only.
. "$(dirname "$0")/lib.sh"
require_root

A=$ZH_PFX-a
B=$ZH_PFX-b
C=$ZH_PFX-c

# h1:u0 <-> h2:u0 underlay; two VM namespaces per host on port veths; a
# spare veth h1:c0 (other end in namespace sp) for a third instance in h1.
VNI=100
# VM table: VM namespace, host namespace, port, address, MAC.
vms=("a1 h1 va1 10.0.0.11 02:00:0a:00:00:0b" "a2 h1 va2 10.0.0.12 02:00:0a:00:00:0c"
	"b1 h2 vb1 10.0.0.21 02:00:0a:00:00:15" "b2 h2 vb2 10.0.0.22 02:00:0a:00:00:16")
ns_add h1 && ns_add h2 && ns_add sp &&
	veth_pair h1 u0 h2 u0 && addr h1 u0 198.18.0.1/24 && addr h2 u0 198.18.0.2/24 &&
	veth_pair h1 c0 sp c1 || bail "set up namespaces"
for row in "${vms[@]}"; do
	read -r vm ns port ip mac <<<"$row"
	vm_add "$vm" "$ns" "$port" "$ip" "$mac" || bail "set up VM $vm on $ns:$port"
done
mk_tmpdir tmp || bail "make a temporary directory"

# Instance table: instance, host namespace, underlay address.
instances=("$A h1 198.18.0.1" "$B h2 198.18.0.2")
declare -A inst_of=([h1]=$A [h2]=$B)

for row in "${instances[@]}"; do
	read -r inst ns ip <<<"$row"
	zh_track "$ns" "$inst"
	# native: on a veth uplink auto means no XDP, and this test counts XDP too
	check "attach $inst in $ns exits 0" zh "$ns" attach --instance "$inst" --uplink u0 \
		--underlay-ip "$ip" --xdp-mode native
done
for row in "${vms[@]}"; do
	read -r vm ns port ip mac <<<"$row"
	check "port add $port to ${inst_of[$ns]} exits 0" \
		zh "$ns" port add --instance "${inst_of[$ns]}" "$port" --vni $VNI --mac "$mac" --ip "$ip"
done

# Both instances as status (no --instance) shows them from namespace $1:
# "name underlay ifaces netns" per instance, ours only. A clsact filter
# lives in its interface's namespace: status run elsewhere cannot read its
# program id (tcx links it can), so only the own instance must show one.
both() {
	zh "$1" status --json | jq -r --arg a "$A" --arg b "$B" --arg own "${inst_of[$1]}" '.instances[]
		| select(.instance == $a or .instance == $b)
		| .instance as $i
		| "\(.instance) \(.underlay_ip) \(.interfaces | map("\(.name)/\(.role)/\(.tc_prog_id > 0 or (.tc_mode == "clsact" and $i != $own))") | sort | join(","))"'
}
want="$A 198.18.0.1 u0/uplink/true,va1/port/true,va2/port/true
$B 198.18.0.2 u0/uplink/true,vb1/port/true,vb2/port/true"
for ns in h1 h2; do
	expect_eq "status run in $ns lists both instances with their interfaces" "$(both $ns)" "$want"
done
expect_ne_ino() {
	local a b
	a=$(zh_json h1 "$A" .netns_cookie) b=$(zh_json h2 "$B" .netns_cookie)
	[ -n "$a" ] && [ "$a" != "$b" ]
}
check "the instances record different network namespaces" expect_ne_ino

# counters: "A-counter B-counter" for one counter name, read from h1 (A) and h2 (B)
ctr() { echo "$(zh_counter h1 "$A" "$1") $(zh_counter h2 "$B" "$1")"; }
# moved DESC COUNTERS MIN_A MIN_B CMD...: run CMD, then each counter of
# COUNTERS (comma-separated) of A must have grown by at least MIN_A and B's
# by MIN_B; MIN "=0" means not at all.
moved() {
	local desc=$1 names=$2 ma=$3 mb=$4 name a0 b0 a1 b1 da db; shift 4
	local -A before=()
	for name in ${names//,/ }; do before[$name]=$(ctr "$name"); done
	check "$desc" "$@"
	for name in ${names//,/ }; do
		read -r a0 b0 <<<"${before[$name]}"
		read -r a1 b1 <<<"$(ctr "$name")"
		da=$((a1 - a0)) db=$((b1 - b0))
		if [ "$ma" = "=0" ]; then expect_eq "$desc: $A $name unchanged" "$da" 0
		else expect_ge "$desc: $A $name grows" "$da" "$ma"; fi
		if [ "$mb" = "=0" ]; then expect_eq "$desc: $B $name unchanged" "$db" 0
		else expect_ge "$desc: $B $name grows" "$db" "$mb"; fi
	done
}
ping5() { ping_from "$1" "$2" 5; }

moved "ping h1 -> h2 (tc)" tc_uplink_rx 5 5 ping5 h1 198.18.0.2
moved "ping h2 -> h1 (xdp)" xdp_uplink_rx 5 5 ping5 h2 198.18.0.1
# Requests and replies both cross tc_port: 10 packets per 5 pings.
moved "ping VM a1 -> a2 (ports of $A)" tc_port_rx,fwd_local 10 =0 ping5 a1 10.0.0.12
moved "ping VM b1 -> b2 (ports of $B)" tc_port_rx,fwd_local =0 10 ping5 b1 10.0.0.22

# Claims of another instance's interfaces fail with one line naming the
# owner, create no pins for C and change nothing.
state() {
	nsexec h1 bpftool net show; nsexec h2 bpftool net show
	zh h1 status --json --instance "$A" | jq -c '.instances[0].interfaces'
	zh h2 status --json --instance "$B" | jq -c '.instances[0].interfaces'
}
claim() {
	local desc=$1 owner=$2 before; shift 2
	before=$(state)
	if "$@" >/dev/null 2>"$tmp/err"; then tap_fail "$desc fails"; else tap_ok "$desc fails"; fi
	if [ "$(grep -c '' "$tmp/err")" -eq 1 ] && grep -qF "instance '$owner'" "$tmp/err"; then
		tap_ok "$desc: one line naming $owner"
	else
		tap_fail "$desc: one line naming $owner"; sed 's/^/# stderr: /' "$tmp/err"
	fi
	expect_eq "$desc changes nothing" "$(state)" "$before"
}
zh_track h1 "$C"
zh_track h2 "$C"
claim "attach $C to $A's uplink u0 in h1" "$A" zh h1 attach --instance "$C" --uplink u0 --underlay-ip 198.18.0.1
check "no pins for $C" test ! -e "$ZH_PINS/$C"
claim "attach $C to $B's uplink u0 in h2" "$B" zh h2 attach --instance "$C" --uplink u0 --underlay-ip 198.18.0.2
claim "attach $C to $A's port va1 in h1" "$A" zh h1 attach --instance "$C" --uplink va1 --underlay-ip 198.19.1.1
check "no pins for $C" test ! -e "$ZH_PINS/$C"
check "attach $C to the free c0 in h1 exits 0" zh h1 attach --instance "$C" --uplink c0 --underlay-ip 198.18.9.1
port_opts=(--vni $VNI --mac 02:00:0a:00:00:63 --ip 10.0.0.99)
claim "port add of $A's port va1 to $C" "$A" zh h1 port add --instance "$C" va1 "${port_opts[@]}"
claim "port add of $A's uplink u0 to $C" "$A" zh h1 port add --instance "$C" u0 "${port_opts[@]}"
check "detach $C exits 0" zh h1 detach --instance "$C"

# Detach A: B stays attached and keeps counting.
check "detach $A exits 0" zh h1 detach --instance "$A"
check "$A's pins are gone" test ! -e "$ZH_PINS/$A"
check "$B's pins stay" test -e "$ZH_PINS/$B/zh_stats"
for ns in h1 h2; do
	expect_eq "status run in $ns lists only $B" "$(both $ns)" \
		"$B 198.18.0.2 u0/uplink/true,vb1/port/true,vb2/port/true"
done
expect_eq "nothing of zerohop left in h1" \
	"$(nsexec h1 bpftool net show | grep -cE 'xdp_uplink|tc_uplink|tc_port|\([0-9]+\) (driver|generic)')" 0
b_after() {
	local desc=$1 name=$2 b0 b1; shift 2
	b0=$(zh_counter h2 "$B" "$name")
	check "$desc" "$@"
	b1=$(zh_counter h2 "$B" "$name")
	expect_ge "$desc: $B $name grows" "$((b1 - b0))" 5
}
b_after "after detaching $A: ping h1 -> h2 (tc)" tc_uplink_rx ping5 h1 198.18.0.2
b_after "after detaching $A: ping h1 -> h2 (xdp)" xdp_uplink_rx ping5 h1 198.18.0.2
b_after "after detaching $A: ping VM b1 -> b2 (tc_port)" tc_port_rx ping5 b1 10.0.0.22
b_after "after detaching $A: ping VM b2 -> b1 (fwd_local)" fwd_local ping5 b2 10.0.0.21
check "detach $B exits 0" zh h2 detach --instance "$B"
check "$B's pins are gone" test ! -e "$ZH_PINS/$B"

finish
