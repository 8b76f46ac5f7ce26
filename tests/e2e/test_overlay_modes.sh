#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Fabric ingress in each uplink mode, with real traffic between a (h1) and
# b (h2), switching modes by re-attaching both instances:
#  - native XDP: veth ports cannot take XDP redirects, so xdp_uplink leaves
#    tunnel packets to tc_uplink (xdp_to_tc, decap_tc);
#  - generic XDP: xdp_uplink decapsulates and redirects (decap_xdp);
#  - XDP off: tc_uplink alone (decap_tc, xdp_uplink sees nothing).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
require_root
ov_require jq ping iperf3

I1=$ZH_PFX-h1 I2=$ZH_PFX-h2
MA=02:00:00:00:01:0a MB=02:00:00:00:01:14

ov_underlay h1 h2 || bail "set up the underlay"
ov_vm a h1 p1 $MA 10.0.1.10/24 && ov_vm b h2 p1 $MB 10.0.1.20/24 || bail "set up the VMs"

uplink_xdp() { zh_json "$1" "$2" '.interfaces[] | select(.role == "uplink") | .xdp_mode'; }
devmap_entries() { zh_json "$1" "$2" '.maps[] | select(.name == "zh_devmap") | .entries'; }

zh_track h1 "$I1"; zh_track h2 "$I2"   # check runs ov_attach in a subshell
first=1
for mode in native generic off; do
	m="[xdp $mode]"
	check "$m attach h1" ov_attach h1 "$I1" --xdp-mode $mode
	check "$m attach h2" ov_attach h2 "$I2" --xdp-mode $mode
	if [ $first = 1 ]; then
		first=0
		ov_port h1 "$I1" p1 100 $MA 10.0.1.10 >/dev/null &&
			ov_port h2 "$I2" p1 100 $MB 10.0.1.20 >/dev/null &&
			ov_ep h1 "$I1" 100 10.0.1.20 $MB h2 >/dev/null &&
			ov_ep h2 "$I2" 100 10.0.1.10 $MA h1 >/dev/null || bail "add ports and endpoints"
	fi
	expect_eq "$m status: uplink XDP mode on h2" "$(uplink_xdp h2 "$I2")" $mode
	got=$(xdp_on h2 upl); got=${got%% *}
	case $mode in
	native) expect_eq "$m ip link shows native XDP on h2's upl" "$got" xdp ;;
	generic) expect_eq "$m ip link shows generic XDP on h2's upl" "$got" xdpgeneric ;;
	off) expect_eq "$m ip link shows no XDP on h2's upl" "$got" "" ;;
	esac
	if [ $mode = generic ]; then
		expect_eq "$m the veth port takes XDP redirects (devmap)" "$(devmap_entries h2 "$I2")" 1
	else
		expect_eq "$m the veth port is not in the devmap" "$(devmap_entries h2 "$I2")" 0
	fi

	ov_mark h1 "$I1"; ov_mark h2 "$I2"
	ov_ping "$m a on h1 pings b on h2" a 10.0.1.20
	for h in h1 h2; do
		I=$ZH_PFX-$h
		case $mode in
		native)
			expect_grows "$m $h: xdp_uplink_rx counts" $h "$I" xdp_uplink_rx 3
			expect_grows "$m $h: xdp_to_tc counts" $h "$I" xdp_to_tc 3
			expect_grows "$m $h: decap_tc counts" $h "$I" decap_tc 3
			expect_still "$m $h: no decap_xdp" $h "$I" decap_xdp ;;
		generic)
			expect_grows "$m $h: decap_xdp counts" $h "$I" decap_xdp 3
			expect_still "$m $h: no xdp_to_tc" $h "$I" xdp_to_tc
			expect_still "$m $h: no decap_tc" $h "$I" decap_tc ;;
		off)
			expect_grows "$m $h: decap_tc counts" $h "$I" decap_tc 3
			expect_still "$m $h: xdp_uplink_rx does not count" $h "$I" xdp_uplink_rx
			expect_still "$m $h: no decap_xdp" $h "$I" decap_xdp ;;
		esac
	done
	ov_iperf "$m TCP: 10 MB from a to b (iperf3)" a b 10.0.1.20 10M
	ov_iperf "$m TCP: 10 MB from b to a (iperf3)" b a 10.0.1.10 10M
	for h in h1 h2; do
		expect_still "$m $h: no drop_error" $h "$ZH_PFX-$h" drop_error
	done
done

finish
