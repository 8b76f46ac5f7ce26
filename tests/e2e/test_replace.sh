#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pins live replacement: re-running `attach` on an attached instance (XDP
# native, each TC method) under ping traffic (VM to VM through two ports of
# the host, and host to host on the underlay) exits 0 every time, loses no
# packet, swaps every program (uplink and ports) and keeps the pinned maps
# and their counters. Re-running it with another --uplink or another
# --tc-mode fails with a clear message and changes nothing.
. "$(dirname "$0")/lib.sh"
require_root

# Two VMs in VNI 100 on ports v0, v1 of h1; u0 (to peer) is the uplink,
# u1 a spare interface.
VNI=100
vms=("vm1 v0 10.0.0.11 02:00:0a:00:00:0b" "vm2 v1 10.0.0.12 02:00:0a:00:00:0c")
ns_add h1 && ns_add peer &&
	veth_pair h1 u0 peer p0 && addr h1 u0 198.18.0.1/24 && addr peer p0 198.18.0.2/24 &&
	veth_pair h1 u1 peer p1 || bail "set up namespaces"
for row in "${vms[@]}"; do
	read -r vm port ip mac <<<"$row"
	vm_add "$vm" h1 "$port" "$ip" "$mac" || bail "set up VM $vm on $port"
done
mk_tmpdir tmp || bail "make a temporary directory"

tcx=false
zh_feature tcx h1 u0 tcx || bail "probe kernel features through a clsact instance"
tc_methods=(clsact)
[ "$tcx" = true ] && tc_methods=(tcx clsact)
diag "kernel tcx: $tcx; tc methods: ${tc_methods[*]}"

expect_ne() {
	if [ "$2" != "$3" ]; then tap_ok "$1"
	else tap_fail "$1"; diag "both are '$2'"; fi
}

# iff JSON IFACE FIELD: a field of one interface in a status --json output.
iff() { jq -r --arg n "$2" ".instances[0].interfaces[] | select(.name == \$n) | .$3" <<<"$1"; }

# Everything zerohop has in h1, for "changes nothing": interface records,
# program and map ids, and what the kernel has attached.
state() {
	local st
	# A failed read must never compare equal to another one.
	st=$(zh h1 status --json --instance "$1") || { echo "status failed $RANDOM"; return; }
	jq -c '.instances[0] | {interfaces, maps: [.maps[] | {name, id}], tc_mode}' <<<"$st"
	nsexec h1 bpftool net show
	xdp_on h1 u0
}

for tc in "${tc_methods[@]}"; do
	c="[tc $tc]"
	INST=$ZH_PFX-r-$tc
	attach=(attach --instance "$INST" --uplink u0 --underlay-ip 198.18.0.1 --xdp-mode native --tc-mode "$tc")
	zh_track h1 "$INST"
	check "$c attach exits 0" zh h1 "${attach[@]}"
	for row in "${vms[@]}"; do
		read -r vm port ip mac <<<"$row"
		check "$c port add $port exits 0" zh h1 port add --instance "$INST" "$port" \
			--vni $VNI --mac "$mac" --ip "$ip"
	done
	# Warm up (ARP in both VMs) and show the path works before the test.
	check "$c ping vm1 -> vm2 before the re-attaches" ping_from vm1 10.0.0.12 2
	check "$c ping vm2 -> vm1 before the re-attaches" ping_from vm2 10.0.0.11 2

	st0=$(zh h1 status --json --instance "$INST")
	j0() { jq -r ".instances[0]$1" <<<"$st0"; }

	# 300 pings each, 10 ms apart: VM to VM through tc_port (same host)
	# and host to host on the underlay (tc_uplink/xdp_uplink pass them).
	bg_nsexec vm_pid vm1 ping -q -n -c 300 -i 0.01 -W 1 -w 30 10.0.0.12 >"$tmp/ping.vm" 2>&1
	bg_nsexec ul_pid peer ping -q -n -c 300 -i 0.01 -W 1 -w 30 198.18.0.1 >"$tmp/ping.ul" 2>&1
	failed=
	for i in 1 2 3 4 5; do
		sleep 0.3
		zh h1 "${attach[@]}" >/dev/null 2>"$tmp/err.$i" || failed+=" run $i: $(cat "$tmp/err.$i")"
	done
	kill -0 "$vm_pid" 2>/dev/null || diag "$c VM ping ended before the last re-attach"
	kill -0 "$ul_pid" 2>/dev/null || diag "$c underlay ping ended before the last re-attach"
	expect_eq "$c 5 re-runs of attach under traffic all exit 0" "$failed" ""
	for p in "vm:VM to VM (vm1 -> vm2):$vm_pid" "ul:underlay (peer -> h1):$ul_pid"; do
		IFS=: read -r f what pid <<<"$p"
		wait "$pid"
		rc=$?
		expect_eq "$c ping $what through the re-attaches: exit status and packet loss" \
			"$rc/$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$tmp/ping.$f")" "0/0"
	done

	st1=$(zh h1 status --json --instance "$INST")
	j1() { jq -r ".instances[0]$1" <<<"$st1"; }
	for f in xdp_prog_id tc_prog_id; do
		expect_ne "$c uplink $f changed" "$(iff "$st0" u0 $f)" "$(iff "$st1" u0 $f)"
	done
	for port in v0 v1; do
		expect_ne "$c port $port tc_prog_id changed" \
			"$(iff "$st0" $port tc_prog_id)" "$(iff "$st1" $port tc_prog_id)"
		expect_ge "$c new port $port tc prog id is real" "$(iff "$st1" $port tc_prog_id)" 1
	done
	expect_ge "$c new uplink xdp prog id is real" "$(iff "$st1" u0 xdp_prog_id)" 1
	expect_ge "$c new uplink tc prog id is real" "$(iff "$st1" u0 tc_prog_id)" 1
	ifaces='.interfaces | map("\(.name)/\(.role)/\(.xdp_mode)/\(.tc_mode)") | join(",")'
	expect_eq "$c interfaces and modes unchanged" "$(j1 "$ifaces")" "$(j0 "$ifaces")"
	maps='.maps | map("\(.name)=\(.id)") | join(",")'
	expect_eq "$c map ids unchanged" "$(j1 "$maps")" "$(j0 "$maps")"
	# Echo requests and replies both cross tc_port: 600 packets.
	for row in "tc_uplink_rx 300" "xdp_uplink_rx 300" "tc_port_rx 600" "fwd_local 600"; do
		read -r ctr n <<<"$row"
		expect_ge "$c $ctr kept counting (before + $n)" \
			"$(j1 ".counters.$ctr.packets")" "$(( $(j0 ".counters.$ctr.packets") + n ))"
	done
	expect_eq "$c no drops on the ports (drop_no_port, drop_spoof, drop_no_route)" \
		"$(j1 '.counters | "\(.drop_no_port.packets) \(.drop_spoof.packets) \(.drop_no_route.packets)"')" "0 0 0"
	expect_eq "$c u0 runs the new xdp program, native" "$(xdp_on h1 u0)" "xdp $(iff "$st1" u0 xdp_prog_id)"
	expect_eq "$c u0 runs (only) the new tc_uplink" "$(tc_ingress_id h1 u0 tc_uplink "$tc")" \
		"$(iff "$st1" u0 tc_prog_id)"
	for port in v0 v1; do
		expect_eq "$c $port runs (only) the new tc_port" "$(tc_ingress_id h1 $port tc_port "$tc")" \
			"$(iff "$st1" $port tc_prog_id)"
	done

	# Re-running attach with another uplink or TC method must change nothing.
	other_tc=
	for t in "${tc_methods[@]}"; do [ "$t" = "$tc" ] || other_tc=$t; done
	bad_runs=("--uplink u1|attached to uplink 'u0'|attach --instance $INST --uplink u1 --underlay-ip 198.18.0.1 --xdp-mode native --tc-mode $tc")
	[ -z "$other_tc" ] ||
		bad_runs+=("--tc-mode $other_tc|uses tc mode $tc|attach --instance $INST --uplink u0 --underlay-ip 198.18.0.1 --xdp-mode native --tc-mode $other_tc")
	for row in "${bad_runs[@]}"; do
		IFS='|' read -r what needle cmd <<<"$row"
		before=$(state "$INST")
		# shellcheck disable=SC2086 # cmd is a plain word list
		if zh h1 $cmd >/dev/null 2>"$tmp/err"; then
			tap_fail "$c re-attach with $what fails"
		else
			tap_ok "$c re-attach with $what fails"
		fi
		if [ "$(grep -c '' "$tmp/err")" -eq 1 ] && grep -qF -- "$needle" "$tmp/err"; then
			tap_ok "$c re-attach with $what: one clear line ($needle)"
		else
			tap_fail "$c re-attach with $what: one clear line ($needle)"
			sed 's/^/# stderr: /' "$tmp/err"
		fi
		expect_eq "$c re-attach with $what changes nothing" "$(state "$INST")" "$before"
	done
	expect_eq "$c u1 has no program" "$(nsexec h1 bpftool net show dev u1 | grep -c 'u1(')" 0

	check "$c detach exits 0" zh h1 detach --instance "$INST"
	expect_eq "$c detach leaves nothing attached in h1" \
		"$(nsexec h1 bpftool net show | grep -cE 'xdp_uplink|tc_uplink|tc_port|\(([0-9]+)\) (driver|generic)')" 0
done

finish
