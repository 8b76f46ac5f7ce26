#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pins static programming beyond single endpoints: prefix routes carry
# traffic between hosts (longest prefix wins, an exact endpoint beats any
# route, a --drop route blocks), show/del round-trip, and map capacity: a
# full map refuses the next entry with one line naming the map and changes
# nothing, and an instance's map sizes cannot change under it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
require_root

A=$ZH_PFX-rt1 B=$ZH_PFX-rt2
ov_underlay h1 h2 || bail "set up the underlay"
ov_vm a h1 pa 02:00:00:00:0a:01 10.0.1.10/24 && ov_vm b h2 pb 02:00:00:00:0b:01 10.0.2.20/24 ||
	bail "set up the VMs"
ov_attach h1 "$A" >/dev/null && ov_attach h2 "$B" >/dev/null || bail "attach"
ov_port h1 "$A" pa 100 02:00:00:00:0a:01 10.0.1.10 >/dev/null &&
	ov_port h2 "$B" pb 100 02:00:00:00:0b:01 10.0.2.20 >/dev/null || bail "add ports"

# Routes both ways: each host reaches the other's /24 in VNI 100.
check "route add 10.0.2.0/24 via h2 on h1" \
	zh h1 route add --instance "$A" --vni 100 --prefix 10.0.2.0/24 --host 198.18.0.2
check "route add 10.0.1.0/16 via h1 on h2" \
	zh h2 route add --instance "$B" --vni 100 --prefix 10.0.0.0/16 --host 198.18.0.1
expect_eq "show routes --json lists the route" \
	"$(zh h1 show routes --json --instance "$A" | jq -c '[.[] | [.vni, .prefix, .action, .host]]')" \
	'[[100,"10.0.2.0/24","remote","198.18.0.2"]]'
ov_mark h1 "$A"
ov_mark h2 "$B"
ov_ping "a reaches b through prefix routes" a 10.0.2.20
expect_grows "h1 encapsulates for the route" h1 "$A" encap_vxlan 3
expect_grows "h2's reverse-path check passes through its route" h2 "$B" decap_tc 3
expect_still "no drop_rpf on h2" h2 "$B" drop_rpf

# A more specific --drop route blocks one address; longest prefix wins.
check "route add 10.0.2.20/32 --drop" \
	zh h1 route add --instance "$A" --vni 100 --prefix 10.0.2.20/32 --drop
ov_mark h1 "$A"
ov_noping "the /32 drop route blocks b" a 10.0.2.20
expect_grows "drop_no_route counts the blocked packets" h1 "$A" drop_no_route 2
# An exact endpoint beats every route.
check "endpoint add for b beats the drop route" \
	zh h1 endpoint add --instance "$A" --vni 100 --ip 10.0.2.20 --mac 02:00:00:00:0b:01 --host 198.18.0.2
ov_ping "a reaches b through the endpoint" a 10.0.2.20
check "endpoint del" zh h1 endpoint del --instance "$A" --vni 100 --ip 10.0.2.20
ov_noping "without the endpoint the drop route applies again" a 10.0.2.20
check "route del of the /32" zh h1 route del --instance "$A" --vni 100 --prefix 10.0.2.20/32
# Deleting a prefix that is not there fails, even when a shorter one covers it.
check_fails "route del of a /28 inside the /24 fails" \
	zh h1 route del --instance "$A" --vni 100 --prefix 10.0.2.16/28
ov_ping "after route del the /24 applies again" a 10.0.2.20
check "route del of the /24" zh h1 route del --instance "$A" --vni 100 --prefix 10.0.2.0/24
expect_eq "show routes is empty" "$(zh h1 show routes --json --instance "$A" | jq length)" 0
ov_noping "without routes b is unreachable" a 10.0.2.20

# Capacity: a small instance in h1 on its own uplink.
ip link add u9 netns "$ZH_PFX-h1" type veth peer name u9p netns "$ZH_PFX-h1" &&
	ip -n "$ZH_PFX-h1" link set u9 up || bail "make u9"
S=$ZH_PFX-small
zh_track h1 "$S"
check "attach with --max-endpoints 2 --max-routes 1" \
	zh h1 attach --instance "$S" --uplink u9 --underlay-ip 198.18.9.1 --max-endpoints 2 --max-routes 1
expect_eq "status shows zh_endpoints sized 2" \
	"$(zh_json h1 "$S" '.maps[] | select(.name == "zh_endpoints") | .max_entries')" 2
for i in 1 2; do
	check "endpoint $i of 2" zh h1 endpoint add --instance "$S" --vni 7 --ip 10.7.0.$i \
		--mac 02:00:00:00:07:0$i --host 198.18.9.2
done
# full DESC MAP CMD...: exit 1, one line "map MAP is full (N entries)", no change.
full() {
	local desc=$1 map=$2 before after err rc; shift 2
	before=$(zh h1 show endpoints --json --instance "$S"; zh h1 show routes --json --instance "$S")
	err=$(zh h1 "$@" 2>&1 >/dev/null); rc=$?
	after=$(zh h1 show endpoints --json --instance "$S"; zh h1 show routes --json --instance "$S")
	expect_eq "$desc: exits 1" "$rc" 1
	expect_eq "$desc: one line naming the full map" "$(grep -c '' <<<"$err")/$(grep -c "map $map is full" <<<"$err")" 1/1
	[ "$(grep -c '' <<<"$err")" = 1 ] || diag "stderr: $err"
	expect_eq "$desc: nothing changed" "$after" "$before"
}
full "a third endpoint" zh_endpoints \
	endpoint add --instance "$S" --vni 7 --ip 10.7.0.3 --mac 02:00:00:00:07:03 --host 198.18.9.2
check "one route of 1" zh h1 route add --instance "$S" --vni 7 --prefix 10.8.0.0/16 --drop
full "a second route" zh_routes route add --instance "$S" --vni 7 --prefix 10.9.0.0/16 --drop
ip link add v9 netns "$ZH_PFX-h1" type veth peer name v9p netns "$ZH_PFX-h1" || bail "make v9"
full "a port whose endpoint does not fit" zh_endpoints \
	port add --instance "$S" v9 --vni 7 --mac 02:00:00:00:07:09 --ip 10.7.0.9
expect_eq "the refused port has no program" "$(tc_ingress_id h1 v9 tc_port | wc -l)" 0
expect_eq "the refused port has no record" \
	"$(zh_json h1 "$S" '.interfaces | map(select(.name == "v9")) | length')" 0
check_fails "re-attach with another --max-endpoints is refused" \
	zh h1 attach --instance "$S" --uplink u9 --underlay-ip 198.18.9.1 --max-endpoints 4
check "re-attach with the same size is fine" \
	zh h1 attach --instance "$S" --uplink u9 --underlay-ip 198.18.9.1 --max-endpoints 2
expect_eq "the endpoints survived the re-attach" \
	"$(zh h1 show endpoints --json --instance "$S" | jq length)" 2

finish
