#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Keeps the documentation honest about what the binary does: every counter
# that `zerohop show stats --json` prints is explained in docs/datapath.md,
# every command of `zerohop --help` has a section in docs/cli.md, every map
# an instance pins is described in docs/datapath.md, and `bpftool map dump`
# of every pinned map prints field names (BTF), as the docs promise.
. "$(dirname "$0")/lib.sh"
require_root

DOCS=$ZH_TOP/docs
command -v jq >/dev/null || bail "jq is needed (apt-get install jq)"
for f in datapath.md cli.md; do
	[ -f "$DOCS/$f" ] || bail "docs/$f exists"
done

# --- commands: each one in `zerohop --help` has a section in docs/cli.md
mapfile -t cmds < <("$ZH" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
expect_ge "zerohop --help lists commands" "${#cmds[@]}" 1
for c in "${cmds[@]}"; do
	if grep -Eq "^##+ (.*[ ,\`])?$c([ ,\`]|\$)" "$DOCS/cli.md"; then
		tap_ok "docs/cli.md has a section for '$c'"
	else
		tap_fail "docs/cli.md has a section for '$c' (a '## $c ...' heading)"
	fi
done

# --- an instance with an entry in every map: generic XDP, so the veth port
# takes XDP redirects and zh_devmap has an entry too.
INST=$ZH_PFX-docs
ns_add docs || bail "create namespace"
veth_pair docs up0 docs fab0 || bail "create the uplink veth"
veth_pair docs p0 docs vm0 || bail "create the port veth"
zh_track docs "$INST"
check "attach (generic XDP)" zh docs attach --instance "$INST" --uplink up0 \
	--underlay-ip 198.18.0.1 --xdp-mode generic
check "port add" zh docs port add --instance "$INST" p0 --vni 100 \
	--mac 02:00:00:00:01:11 --ip 10.0.1.11
check "endpoint add (remote)" zh docs endpoint add --instance "$INST" --vni 100 \
	--ip 10.0.1.12 --mac 02:00:00:00:01:12 --host 198.18.0.2
check "endpoint add (peer)" zh docs endpoint add --instance "$INST" --vni 100 \
	--ip 10.0.2.21 --mac 02:00:00:00:02:21 --host 198.18.0.2 --dest-vni 200
check "route add" zh docs route add --instance "$INST" --vni 100 \
	--prefix 10.0.8.0/24 --host 198.18.0.3 --encap geneve
check "policy add" zh docs policy add --instance "$INST" --vni 200 --peer-vni 100 \
	--prefix 10.0.2.0/24 --protocols tcp,icmp

# --- counters: each name `show stats --json` prints is in docs/datapath.md
stats=$(zh docs show stats --json --instance "$INST") || bail "show stats --json"
mapfile -t counters < <(jq -r 'keys_unsorted[]' <<<"$stats")
expect_ge "show stats --json prints counters" "${#counters[@]}" 1
for c in "${counters[@]}"; do
	if grep -qF "\`$c\`" "$DOCS/datapath.md"; then
		tap_ok "docs/datapath.md explains counter $c"
	else
		tap_fail "docs/datapath.md explains counter $c (as \`$c\`)"
	fi
done

# --- maps: documented, and dumped with field names
pins=$ZH_PINS/$INST
maps=()
for m in "$pins"/*; do [ -f "$m" ] && maps+=("$(basename "$m")"); done
expect_ge "the instance pins maps" "${#maps[@]}" 1
for m in "${maps[@]}"; do
	if grep -qF "\`$m\`" "$DOCS/datapath.md"; then tap_ok "docs/datapath.md describes map $m"
	else tap_fail "docs/datapath.md describes map $m"; fi
done

if ! command -v bpftool >/dev/null; then
	tap_skip "bpftool map dump of every map (bpftool is not installed)"
	finish
fi
for m in "${maps[@]}"; do
	out=$(bpftool map dump pinned "$pins/$m" 2>&1)
	case "$m" in
	zh_devmap)
		# The kernel takes no BTF for devmaps: the value is a plain
		# __u32 ifindex, printed as a number (JSON) or as hex bytes.
		if grep -Eq '"value": [0-9]+|value: [0-9a-f]{2}( [0-9a-f]{2}){3}' <<<"$out"; then
			tap_ok "bpftool dumps $m: an ifindex per port"
		else
			tap_fail "bpftool dumps $m: an ifindex per port"
			printf '%s\n' "$out" | head -n 10 | sed 's/^/# /'
		fi ;;
	*)
		if grep -qF '"value": {' <<<"$out"; then
			tap_ok "bpftool dumps $m with field names"
		else
			tap_fail "bpftool dumps $m with field names"
			printf '%s\n' "$out" | head -n 10 | sed 's/^/# /'
		fi ;;
	esac
done

# IPv4 fields are ZH_IPV4 unions: bpftool shows NAME_octets as in the docs.
ep=$(bpftool map dump pinned "$pins/zh_endpoints" 2>&1)
if grep -Eq '"ip_octets": \[10,0,2,21' <<<"$ep" && grep -Eq '"host_ip_octets": \[198,18,0,2' <<<"$ep"; then
	tap_ok "zh_endpoints shows ip_octets and host_ip_octets"
else
	tap_fail "zh_endpoints shows ip_octets and host_ip_octets"
	printf '%s\n' "$ep" | head -n 20 | sed 's/^/# /'
fi
# zh_policy names its protocol bits (the allow bit-fields).
pol=$(bpftool map dump pinned "$pins/zh_policy" 2>&1)
if grep -Eq '"addr_octets": \[10,0,2,0' <<<"$pol" &&
	tr -d ' \n' <<<"$pol" | grep -qF '"allow":{"tcp":0x1,"udp":0x0,"icmp":0x1,"other":0x0'; then
	tap_ok "zh_policy shows addr_octets and the allow bits"
else
	tap_fail "zh_policy shows addr_octets and the allow bits"
	printf '%s\n' "$pol" | head -n 30 | sed 's/^/# /'
fi
if grep -qF 'ip_octets' "$DOCS/datapath.md"; then
	tap_ok "docs/datapath.md explains the NAME_octets fields"
else
	tap_fail "docs/datapath.md explains the NAME_octets fields"
fi

finish
