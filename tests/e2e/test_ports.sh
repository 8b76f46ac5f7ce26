#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pins VM ports, for each TC method: `port add` attaches tc_port to the host
# side of a VM veth and records it (role "port", prog id) so tc_port_rx
# counts the VM's packets; adding it again replaces the program (one record,
# one program); `port del` removes program and record, also after the
# interface was deleted.
. "$(dirname "$0")/lib.sh"
require_root

ns_add h1 && ns_add fab && ns_add vm &&
	veth_pair h1 u0 fab f0 && addr h1 u0 198.18.0.1/24 && addr fab f0 198.18.0.2/24 ||
	bail "set up namespaces"

tcx=false
zh_feature tcx h1 u0 tcx || bail "probe kernel features through a clsact instance"
tc_methods=(clsact)
[ "$tcx" = true ] && tc_methods=(tcx clsact)
diag "kernel tcx: $tcx; tc methods: ${tc_methods[*]}"

# Port table: host-side veth, VM-side veth, host address, VM address.
ports=("v0 e0 198.19.0.1 198.19.0.2" "v1 e1 198.19.1.1 198.19.1.2")

# port_field INSTANCE IFACE FILTER: jq FILTER over IFACE's records in
# status ("" if none, one line per record).
port_field() {
	zh_json h1 "$1" ".interfaces[] | select(.name == \"$2\") | $3"
}
# Anything of tc_port on DEV: tcx programs and clsact filters.
tc_port_on() {
	echo "$(tc_ingress_id h1 "$1" tc_port tcx | wc -l) tcx, $(tc_ingress_id h1 "$1" tc_port clsact | wc -l) clsact"
}
ping_vm() { nsexec vm ping -q -c 5 -W 1 -i 0.2 "$1"; }
# counts DESC INSTANCE CMD...: CMD succeeds and tc_port_rx grows by >= 5.
counts() {
	local desc=$1 inst=$2 n0 n1; shift 2
	n0=$(zh_counter h1 "$inst" tc_port_rx)
	check "$desc" "$@"
	n1=$(zh_counter h1 "$inst" tc_port_rx)
	expect_ge "$desc: tc_port_rx counts it" "$((n1 - n0))" 5
}

for tc in "${tc_methods[@]}"; do
	c="[tc $tc]"
	INST=$ZH_PFX-p-$tc
	for row in "${ports[@]}"; do
		read -r hp vp ha va <<<"$row"
		ip -n "$ZH_PFX-h1" link del "$hp" 2>/dev/null
		veth_pair h1 "$hp" vm "$vp" && addr h1 "$hp" "$ha/24" && addr vm "$vp" "$va/24" ||
			bail "$c make the VM veth $hp"
	done
	zh_track h1 "$INST"
	check "$c attach exits 0" zh h1 attach --instance "$INST" --uplink u0 --underlay-ip 198.18.0.1 --tc-mode "$tc"

	for row in "${ports[@]}"; do
		read -r hp vp ha va <<<"$row"
		check "$c port add $hp exits 0" zh h1 port add --instance "$INST" "$hp"
		expect_eq "$c status: $hp has role port, tc mode $tc" \
			"$(port_field "$INST" "$hp" '"\(.role)/\(.tc_mode)/\(.xdp_mode)/\(.present)"')" "port/$tc/off/true"
		id=$(port_field "$INST" "$hp" .tc_prog_id)
		expect_ge "$c status: $hp has a tc prog id" "$id" 1
		expect_eq "$c $hp runs tc_port with the status prog id" "$(tc_ingress_id h1 "$hp" tc_port "$tc")" "$id"
		counts "$c ping from the VM on $hp" "$INST" ping_vm "$ha"
	done
	expect_eq "$c status: uplink and two ports" \
		"$(zh_json h1 "$INST" '.interfaces | map("\(.name)/\(.role)") | sort | join(",")')" \
		"u0/uplink,v0/port,v1/port"

	# port add again: a new program, still one record and one program.
	id0=$(port_field "$INST" v0 .tc_prog_id)
	check "$c port add v0 again exits 0" zh h1 port add --instance "$INST" v0
	id1=$(port_field "$INST" v0 .tc_prog_id)
	if [ "$id1" != "$id0" ] && [ "$id1" -gt 0 ] 2>/dev/null; then tap_ok "$c port add v0 again replaces the program"
	else tap_fail "$c port add v0 again replaces the program"; diag "prog id before '$id0', after '$id1'"; fi
	expect_eq "$c v0 has one record" "$(port_field "$INST" v0 .name | wc -l)" 1
	expect_eq "$c v0 runs only the new tc_port" "$(tc_ingress_id h1 v0 tc_port)" "$id1"
	counts "$c ping from the VM on v0 after the replace" "$INST" ping_vm 198.19.0.1

	# port del: program and record go.
	check "$c port del v0 exits 0" zh h1 port del --instance "$INST" v0
	expect_eq "$c port del v0 removes the record" "$(port_field "$INST" v0 .name)" ""
	expect_eq "$c port del v0 removes the program (bpftool net, tc filter)" "$(tc_port_on v0)" "0 tcx, 0 clsact"
	expect_eq "$c v1 is still a port" "$(port_field "$INST" v1 .role)" port

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

	check "$c detach exits 0" zh h1 detach --instance "$INST"
	ip -n "$ZH_PFX-h1" link del v0 2>/dev/null
done

finish
