#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pins the attach modes: every XDP mode (native, generic, off) x every TC
# method the kernel offers (tcx when probed, clsact always) is really in use
# on the link, shows in `status --json`, counts ping traffic, and `detach`
# removes all of it (pins, XDP, tcx link, clsact filter). Maps are BTF-typed.
. "$(dirname "$0")/lib.sh"
require_root

ns_add h1 && ns_add peer && veth_pair h1 u0 peer p0 &&
	addr h1 u0 198.18.0.1/24 && addr peer p0 198.18.0.2/24 || bail "set up namespaces"

INST=$ZH_PFX-m
PIN=$ZH_PINS/$INST

tcx=false
zh_feature tcx h1 u0 tcx || bail "probe kernel features through a clsact instance"
tc_methods=(clsact)
[ "$tcx" = true ] && tc_methods=(tcx clsact)
diag "kernel tcx: $tcx; tc methods: ${tc_methods[*]}"

# How ip -d link shows each XDP mode.
declare -A want_link=([native]=xdp [generic]=xdpgeneric [off]="")

btf_checked=
for xdp in native generic off; do
	for tc in "${tc_methods[@]}"; do
		c="[xdp $xdp, tc $tc]"
		zh_track h1 "$INST"
		check "$c attach exits 0" zh h1 attach --instance "$INST" --uplink u0 \
			--underlay-ip 198.18.0.1 --xdp-mode "$xdp" --tc-mode "$tc"

		st=$(zh h1 status --json --instance "$INST")
		j() { jq -r ".instances[0]$1" <<<"$st"; }
		expect_eq "$c status: one interface, u0 as uplink" \
			"$(j '.interfaces | map("\(.name)/\(.role)") | join(",")')" "u0/uplink"
		expect_eq "$c status: xdp_mode" "$(j '.interfaces[0].xdp_mode')" "$xdp"
		expect_eq "$c status: tc_mode (interface and instance)" \
			"$(j '.interfaces[0].tc_mode')/$(j '.tc_mode')" "$tc/$tc"
		xid=$(j '.interfaces[0].xdp_prog_id')
		tid=$(j '.interfaces[0].tc_prog_id')
		if [ "$xdp" = off ]; then
			expect_eq "$c status: no xdp program id" "$xid" 0
		else
			expect_ge "$c status: xdp program id" "$xid" 1
		fi
		expect_ge "$c status: tc program id" "$tid" 1

		if [ "$xdp" = off ]; then
			expect_eq "$c ip link shows no xdp" "$(xdp_on h1 u0)" ""
		else
			expect_eq "$c ip link shows ${want_link[$xdp]} with the status prog id" \
				"$(xdp_on h1 u0)" "${want_link[$xdp]} $xid"
		fi
		if [ "$tc" = tcx ]; then
			expect_eq "$c bpftool lists tcx/ingress tc_uplink with the status prog id" \
				"$(tc_ingress_id h1 u0 tc_uplink tcx)" "$tid"
			expect_eq "$c no clsact filter" "$(tc_ingress_id h1 u0 tc_uplink clsact)" ""
		else
			expect_eq "$c tc filter shows tc_uplink with the status prog id" \
				"$(tc_ingress_id h1 u0 tc_uplink clsact)" "$tid"
			expect_eq "$c no tcx program" "$(tc_ingress_id h1 u0 tc_uplink tcx)" ""
		fi

		if [ -z "$btf_checked" ]; then
			btf_checked=1
			check "zh_ifaces dump has BTF field names (role)" \
				sh -c 'bpftool map dump pinned "$1" | grep -q "\"role\""' sh "$PIN/zh_ifaces"
		fi

		x0=$(j '.counters.xdp_uplink_rx.packets')
		t0=$(j '.counters.tc_uplink_rx.packets')
		check "$c ping peer -> h1" nsexec peer ping -q -c 5 -W 1 -i 0.2 198.18.0.1
		x1=$(zh_counter h1 "$INST" xdp_uplink_rx)
		t1=$(zh_counter h1 "$INST" tc_uplink_rx)
		expect_ge "$c tc_uplink_rx counts the pings" "$((t1 - t0))" 5
		if [ "$xdp" = off ]; then
			expect_eq "$c xdp_uplink_rx stays put with xdp off" "$((x1 - x0))" 0
		else
			expect_ge "$c xdp_uplink_rx counts the pings" "$((x1 - x0))" 5
		fi

		check "$c detach exits 0" zh h1 detach --instance "$INST"
		check "$c detach removes the pin dir" test ! -e "$PIN"
		expect_eq "$c detach removes xdp from the link" "$(xdp_on h1 u0)" ""
		expect_eq "$c detach removes the tcx program" "$(tc_ingress_id h1 u0 tc_uplink tcx)" ""
		expect_eq "$c detach removes the clsact filter" "$(tc_ingress_id h1 u0 tc_uplink clsact)" ""
		expect_eq "$c bpftool net show lists nothing on u0" \
			"$(nsexec h1 bpftool net show dev u0 | grep -c 'u0(')" 0
	done
done

finish
