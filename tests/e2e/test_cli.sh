#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pins the CLI's form: --version, --help on every command, `port add`'s
# required options in its usage, the form of `show` (stats --json is one
# {"counter": packets} object with every counter of status; empty tables
# are [] and "no ..."), and verbosity: nothing from libbpf by default or at
# -v, libbpf's own lines at -vv.
. "$(dirname "$0")/lib.sh"
require_root

version=$("$ZH" --version)
if [[ "$version" =~ ^zerohop\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then tap_ok "--version prints 'zerohop X.Y.Z'"
else tap_fail "--version prints 'zerohop X.Y.Z' (got '$version')"; fi
check "--help exits 0 and lists the commands" bash -c "'$ZH' --help | grep -q '^  attach'"
for cmd in attach port endpoint route policy show status detach; do
	check "$cmd --help exits 0 and shows its usage" \
		bash -c "'$ZH' $cmd --help | grep -q '^Usage: zerohop $cmd'"
done

check "port --help shows add with --vni, --mac and --ip" \
	bash -c "'$ZH' port --help | grep -qE '^Usage: zerohop port add .*IFNAME --vni N --mac MAC --ip ADDR'"

ns_add h1 && ns_add peer && veth_pair h1 u0 peer p0 || bail "set up namespaces"
INST=$ZH_PFX-cli
zh_track h1 "$INST"

# show on a fresh instance.
check "attach for show exits 0" zh h1 attach --instance "$INST" --uplink u0 --underlay-ip 198.18.0.1
stats=$(zh h1 show stats --json --instance "$INST")
expect_eq "show stats --json: one object of counter -> packets (numbers)" \
	"$(jq -r 'type == "object" and length > 0 and all(.[]; type == "number")' <<<"$stats")" true
expect_eq "show stats --json: the same counters as status --json" \
	"$(jq -r 'keys | join(",")' <<<"$stats")" \
	"$(zh_json h1 "$INST" '.counters | keys | join(",")')"
for c in tc_port_rx fwd_local drop_spoof drop_no_port drop_no_route; do
	expect_eq "show stats --json has $c" "$(jq -r "has(\"$c\")" <<<"$stats")" true
done
expect_eq "show stats (text): a header and a row per counter" \
	"$(zh h1 show stats --instance "$INST" | grep -c '')" "$(( $(jq length <<<"$stats") + 1 ))"
for t in ports endpoints routes policies; do
	expect_eq "show $t --json on a fresh instance is []" \
		"$(zh h1 show "$t" --json --instance "$INST" | jq -c .)" "[]"
	expect_eq "show $t on a fresh instance says 'no $t'" "$(zh h1 show "$t" --instance "$INST")" "no $t"
done
out=$(zh h1 show frob --instance "$INST" 2>&1 >/dev/null)
rc=$?
expect_eq "show frob: exit 2, one line naming frob" "$rc/$(grep -c '' <<<"$out")/$(grep -c frob <<<"$out")" "2/1/1"
zh h1 detach --instance "$INST" >/dev/null 2>&1
out=$(zh h1 show stats --instance "$INST" 2>&1 >/dev/null)
rc=$?
expect_eq "show of an instance that is not attached: exit 1, one line naming it" \
	"$rc/$(grep -c '' <<<"$out")/$(grep -c "'$INST'" <<<"$out")" "1/1/1"

# verbosity FLAG: stderr of an attach with FLAG, then detach.
attach_stderr() {
	zh h1 attach --instance "$INST" --uplink u0 --underlay-ip 198.18.0.1 "$@" 2>&1 >/dev/null
	zh h1 detach --instance "$INST" >/dev/null 2>&1
}
quiet=$(attach_stderr)
expect_eq "attach without -v prints nothing on stderr" "$quiet" ""
v1=$(attach_stderr -v)
expect_eq "attach -v shows no libbpf lines" "$(grep -c '^libbpf: ' <<<"$v1")" 0
v2=$(attach_stderr -vv)
expect_ge "attach -vv shows libbpf's own lines" "$(grep -c '^libbpf: ' <<<"$v2")" 1
v2g=$(zh h1 -vv attach --instance "$INST" --uplink u0 --underlay-ip 198.18.0.1 2>&1 >/dev/null)
zh h1 detach --instance "$INST" >/dev/null 2>&1
expect_ge "-vv before the command works too" "$(grep -c '^libbpf: ' <<<"$v2g")" 1

finish
