#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pins the CLI's form: --version, --help on every command, and verbosity:
# nothing from libbpf by default or at -v, libbpf's own lines at -vv.
. "$(dirname "$0")/lib.sh"
require_root

version=$("$ZH" --version)
if [[ "$version" =~ ^zerohop\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then tap_ok "--version prints 'zerohop X.Y.Z'"
else tap_fail "--version prints 'zerohop X.Y.Z' (got '$version')"; fi
check "--help exits 0 and lists the commands" bash -c "'$ZH' --help | grep -q '^  attach'"
for cmd in attach port status detach; do
	check "$cmd --help exits 0 and shows its usage" \
		bash -c "'$ZH' $cmd --help | grep -q '^Usage: zerohop $cmd'"
done

ns_add h1 && ns_add peer && veth_pair h1 u0 peer p0 || bail "set up namespaces"
INST=$ZH_PFX-cli
zh_track h1 "$INST"

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
