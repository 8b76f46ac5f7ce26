#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pins VM ports, for each TC method: `port add IFNAME --vni --mac --ip`
# attaches tc_port to the host side of a VM veth and records it (role
# "port", prog id; `show ports` and `show endpoints` list it) so two VMs on
# ports of one host in one VNI reach each other (tc_port_rx, fwd_local),
# while a VM address without a port and the host's own addresses are
# unreachable (drop_no_route), frames
# with another source MAC or address are dropped (drop_spoof) and so is
# everything from an interface without a port record (drop_no_port);
# adding it again replaces the program (one record, one program); `port
# del` removes program, record and endpoint, also after the interface was
# deleted. A port whose veth peer is in another namespace (the VMs') is
# flagged peer_netns and gets its packets by bpf_redirect_peer(), straight
# into the VM (the host end transmits nothing); a port whose peer stays in
# the host's namespace is not flagged and is delivered to as before.
. "$(dirname "$0")/lib.sh"
require_root

VNI=100
ns_add h1 && ns_add fab &&
	veth_pair h1 u0 fab f0 && addr h1 u0 198.18.0.1/24 && addr fab f0 198.18.0.2/24 ||
	bail "set up namespaces"

tcx=false
zh_feature tcx h1 u0 tcx || bail "probe kernel features through a clsact instance"
tc_methods=(clsact)
[ "$tcx" = true ] && tc_methods=(tcx clsact)
diag "kernel tcx: $tcx; tc methods: ${tc_methods[*]}"

# Port table: host-side veth, VM namespace (prefix), VM address, VM MAC.
ports=("v0 vm0 10.0.0.10 02:00:0a:00:00:0a" "v1 vm1 10.0.0.11 02:00:0a:00:00:0b")

# port_field INSTANCE IFACE FILTER: jq FILTER over IFACE's records in
# status ("" if none, one line per record).
port_field() {
	zh_json h1 "$1" ".interfaces[] | select(.name == \"$2\") | $3"
}
# show_rows INSTANCE ports|endpoints: the table as sorted one-line rows.
show_rows() {
	case $2 in
	ports) zh h1 show ports --json --instance "$1" | jq -r '.[] | "\(.ifname) \(.vni) \(.mac) \(.ip)"' ;;
	endpoints) zh h1 show endpoints --json --instance "$1" |
		jq -r '.[] | "\(.vni) \(.ip) \(.mac) \(if .local then "port " + .port else "host " + .host end)"' ;;
	esac | sort
}
# Anything of tc_port on DEV: tcx programs and clsact filters.
tc_port_on() {
	echo "$(tc_ingress_id h1 "$1" tc_port tcx | wc -l) tcx, $(tc_ingress_id h1 "$1" tc_port clsact | wc -l) clsact"
}
# ep_flags INSTANCE IP: the flags of endpoint (VNI, IP), from bpftool.
ep_flags() {
	bpftool -j map dump pinned "$ZH_PINS/$1/zh_endpoints" | jq -r --arg ip "$2" --argjson vni $VNI \
		'.[].formatted | select(.key.vni == $vni and (.key[""].ip_octets | map(tostring) | join(".")) == $ip) | .value.flags'
}
# link_count NS IFACE rx|tx: packets IFACE received or sent.
link_count() { nsexec "$1" ip -s -j link show dev "$2" | jq -r ".[0].stats64.$3.packets"; }
# expect_fewer DESC GOT LIMIT: GOT < LIMIT.
expect_fewer() {
	if [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -lt "$3" ]; then tap_ok "$1"
	else tap_fail "$1"; diag "got '$2', want fewer than $3"; fi
}

# traffic DESC ok|fails INSTANCE "SPEC..." CMD...: CMD succeeds (ok) or
# fails, and the counters of INSTANCE move as SPEC says (expect_moved).
traffic() {
	local desc=$1 want=$2 inst=$3 spec=$4 s0 s1; shift 4
	s0=$(zh_stats h1 "$inst")
	if [ "$want" = ok ]; then check "$desc" "$@"; else check_fails "$desc fails" "$@"; fi
	s1=$(zh_stats h1 "$inst")
	# shellcheck disable=SC2086 # spec is a word list
	expect_moved "$desc" "$s0" "$s1" $spec
}

for tc in "${tc_methods[@]}"; do
	c="[tc $tc]"
	INST=$ZH_PFX-p-$tc
	# Fresh VMs (and host-side veths) for each method: names end in the method.
	for row in "${ports[@]}"; do
		read -r hp vm ip mac <<<"$row"
		ip -n "$ZH_PFX-h1" link del "$hp" 2>/dev/null
		vm_add "$vm$tc" h1 "$hp" "$ip" "$mac" || bail "$c make the VM $vm$tc on $hp"
	done
	read -r _ vm0 ip0 mac0 <<<"${ports[0]}"
	read -r _ vm1 ip1 mac1 <<<"${ports[1]}"
	vm0+=$tc vm1+=$tc
	zh_track h1 "$INST"
	check "$c attach exits 0" zh h1 attach --instance "$INST" --uplink u0 --underlay-ip 198.18.0.1 --tc-mode "$tc"

	for row in "${ports[@]}"; do
		read -r hp vm ip mac <<<"$row"
		check "$c port add $hp exits 0" zh h1 port add --instance "$INST" "$hp" --vni $VNI --mac "$mac" --ip "$ip"
		expect_eq "$c status: $hp has role port, tc mode $tc" \
			"$(port_field "$INST" "$hp" '"\(.role)/\(.tc_mode)/\(.xdp_mode)/\(.present)"')" "port/$tc/off/true"
		id=$(port_field "$INST" "$hp" .tc_prog_id)
		expect_ge "$c status: $hp has a tc prog id" "$id" 1
		expect_eq "$c $hp runs tc_port with the status prog id" "$(tc_ingress_id h1 "$hp" tc_port "$tc")" "$id"
		if [ "$hp" = v0 ]; then
			# v1's VM has no port yet: its address is unknown in the VNI.
			traffic "$c ping from the VM on v0 to an address without a port" fails "$INST" \
				"tc_port_rx>=2 drop_no_route>=2 arp_reply>=1 fwd_local=0" ping_from "$vm0" "$ip1" 2
		fi
	done
	expect_eq "$c status: uplink and two ports" \
		"$(zh_json h1 "$INST" '.interfaces | map("\(.name)/\(.role)") | sort | join(",")')" \
		"u0/uplink,v0/port,v1/port"
	expect_eq "$c show ports: both ports with VNI, MAC and address" "$(show_rows "$INST" ports)" \
		"v0 $VNI $mac0 $ip0
v1 $VNI $mac1 $ip1"
	expect_eq "$c show endpoints: both VMs as local endpoints" "$(show_rows "$INST" endpoints)" \
		"$VNI $ip0 $mac0 port v0
$VNI $ip1 $mac1 port v1"

	for dir in "$vm0 $ip1" "$vm1 $ip0"; do
		read -r from to <<<"$dir"
		traffic "$c ping VM to VM, $from -> $to" ok "$INST" \
			"tc_port_rx>=10 fwd_local>=10 drop_no_route=0 drop_spoof=0" ping_from "$from" "$to"
	done

	# The VMs' ends are in their own namespaces: both endpoints are
	# flagged, and a same-host packet reaches the VM's eth0 without the
	# host end transmitting it (bpf_redirect() would send it out of v1;
	# v1 sends only tc_port's ARP answers).
	expect_eq "$c VMs in their own namespaces: endpoints flagged peer_netns (1)" \
		"$(ep_flags "$INST" "$ip0") $(ep_flags "$INST" "$ip1")" "1 1"
	tx0=$(link_count h1 v1 tx) rx0=$(link_count "$vm1" eth0 rx)
	check "$c 10 pings $vm0 -> $ip1" ping_from "$vm0" "$ip1" 10
	tx1=$(link_count h1 v1 tx) rx1=$(link_count "$vm1" eth0 rx)
	expect_ge "$c bpf_redirect_peer: $vm1's eth0 received the 10 requests" $((rx1 - rx0)) 10
	expect_fewer "$c bpf_redirect_peer: the host end v1 did not transmit them" $((tx1 - tx0)) 10

	# A port whose peer stays in the host's namespace (the host itself
	# answers on s0p): not flagged, bpf_redirect() to s0 delivers.
	ip -n "$ZH_PFX-h1" link add s0 type veth peer name s0p &&
		ip -n "$ZH_PFX-h1" link set s0p address 02:00:0a:00:00:0c &&
		addr h1 s0p 10.0.0.12/24 && ip -n "$ZH_PFX-h1" link set s0 up &&
		ip -n "$ZH_PFX-h1" link set s0p up ||
		bail "$c make the same-namespace port s0"
	check "$c port add s0 (peer s0p in the host's namespace) exits 0" \
		zh h1 port add --instance "$INST" s0 --vni $VNI --mac 02:00:0a:00:00:0c --ip 10.0.0.12
	expect_eq "$c s0's endpoint is not flagged (0)" "$(ep_flags "$INST" 10.0.0.12)" 0
	tx0=$(link_count h1 s0 tx)
	traffic "$c ping from the VM on v0 to the host end s0p" ok "$INST" \
		"fwd_local>=20 drop_no_route=0" ping_from "$vm0" 10.0.0.12 10
	expect_ge "$c bpf_redirect: s0 transmitted the 10 requests" $(($(link_count h1 s0 tx) - tx0)) 10
	check "$c port del s0 exits 0" zh h1 port del --instance "$INST" s0
	ip -n "$ZH_PFX-h1" link del s0

	# The host itself is no endpoint: its addresses are not reachable.
	traffic "$c ping from the VM on v0 to the host's underlay address" fails "$INST" \
		"drop_no_route>=2 fwd_local=0" ping_from "$vm0" 198.18.0.1 2

	# Anti-spoofing: another source address, then another source MAC.
	nsexec "$vm0" ip addr add 10.0.0.99/24 dev eth0
	traffic "$c ping from the VM on v0 with another source address" fails "$INST" \
		"drop_spoof>=2 fwd_local=0" nsexec "$vm0" ping -q -n -c 2 -i 0.2 -W 1 -w 3 -I 10.0.0.99 "$ip1"
	nsexec "$vm0" ip addr del 10.0.0.99/24 dev eth0
	nsexec "$vm0" ip link set dev eth0 address 02:00:0a:00:00:99
	traffic "$c ping from the VM on v0 with another source MAC" fails "$INST" \
		"drop_spoof>=2 fwd_local=0" ping_from "$vm0" "$ip1" 2
	nsexec "$vm0" ip link set dev eth0 address "$mac0"
	traffic "$c ping from the VM on v0 with its own MAC and address again" ok "$INST" \
		"fwd_local>=10 drop_spoof=0" ping_from "$vm0" "$ip1"

	# tc_port on an interface without a port record (as if the record had
	# been removed behind zerohop's back) forwards nothing.
	v0_idx=$(port_field "$INST" v0 .ifindex)
	check "$c remove v0's port record with bpftool" bpftool map delete pinned "$ZH_PINS/$INST/zh_ports" \
		key $((v0_idx & 255)) $((v0_idx >> 8 & 255)) $((v0_idx >> 16 & 255)) $((v0_idx >> 24))
	traffic "$c ping from the VM on v0 without a port record" fails "$INST" \
		"drop_no_port>=2 fwd_local=0" ping_from "$vm0" "$ip1" 2

	# port add again: a new program, still one record and one program
	# (and the port record is back).
	id0=$(port_field "$INST" v0 .tc_prog_id)
	check "$c port add v0 again exits 0" zh h1 port add --instance "$INST" v0 --vni $VNI --mac "$mac0" --ip "$ip0"
	id1=$(port_field "$INST" v0 .tc_prog_id)
	if [ "$id1" != "$id0" ] && [ "$id1" -gt 0 ] 2>/dev/null; then tap_ok "$c port add v0 again replaces the program"
	else tap_fail "$c port add v0 again replaces the program"; diag "prog id before '$id0', after '$id1'"; fi
	expect_eq "$c v0 has one record" "$(port_field "$INST" v0 .name | wc -l)" 1
	expect_eq "$c v0 runs only the new tc_port" "$(tc_ingress_id h1 v0 tc_port)" "$id1"
	expect_eq "$c show ports: still one v0 row" "$(show_rows "$INST" ports | grep -c '^v0 ')" 1
	traffic "$c ping VM to VM after the replace" ok "$INST" \
		"tc_port_rx>=10 fwd_local>=10" ping_from "$vm0" "$ip1"

	# port del: program, record and endpoint go; the VM behind it is
	# unreachable from the other port.
	check "$c port del v0 exits 0" zh h1 port del --instance "$INST" v0
	expect_eq "$c port del v0 removes the record" "$(port_field "$INST" v0 .name)" ""
	expect_eq "$c port del v0 removes the program (bpftool net, tc filter)" "$(tc_port_on v0)" "0 tcx, 0 clsact"
	expect_eq "$c show ports: only v1" "$(show_rows "$INST" ports)" "v1 $VNI $mac1 $ip1"
	expect_eq "$c show endpoints: only v1's VM" "$(show_rows "$INST" endpoints)" "$VNI $ip1 $mac1 port v1"
	expect_eq "$c v1 is still a port" "$(port_field "$INST" v1 .role)" port
	traffic "$c ping from the VM on v1 to the deleted port's VM" fails "$INST" \
		"drop_no_route>=2 fwd_local=0" ping_from "$vm1" "$ip0" 2

	# port del after the interface went away.
	v1_idx=$(port_field "$INST" v1 .ifindex)
	check "$c delete v1" ip -n "$ZH_PFX-h1" link del v1
	expect_eq "$c status: v1 shows as gone" "$(port_field "$INST" v1 .present)" false
	check "$c re-attach with a deleted port exits 0" \
		zh h1 attach --instance "$INST" --uplink u0 --underlay-ip 198.18.0.1 --tc-mode "$tc"
	expect_eq "$c status: v1 still shows as gone after the re-attach" \
		"$(port_field "$INST" v1 .present)" false
	check "$c port del of the deleted v1 exits 0" zh h1 port del --instance "$INST" v1
	expect_eq "$c port del removes the deleted v1's record" "$(port_field "$INST" v1 .name)" ""
	expect_eq "$c no link pins left for v1 (ifindex $v1_idx)" \
		"$(find "$ZH_PINS/$INST/links" -name "$v1_idx-*" | wc -l)" 0
	expect_eq "$c status: only the uplink is left" \
		"$(zh_json h1 "$INST" '.interfaces | map("\(.name)/\(.role)") | join(",")')" "u0/uplink"
	expect_eq "$c show ports and endpoints: empty" \
		"$(show_rows "$INST" ports)/$(show_rows "$INST" endpoints)" "/"

	check "$c detach exits 0" zh h1 detach --instance "$INST"
	ip -n "$ZH_PFX-h1" link del v0 2>/dev/null
done

finish
