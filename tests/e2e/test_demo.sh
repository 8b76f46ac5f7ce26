#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo` is one of the README's two commands: run scripts/demo.sh (the
# build is already there) and check it finishes, shows what it says it
# shows, and leaves nothing behind. The demo builds and removes its own
# namespaces (zhdemo-*), two etcd shards, their zerohop-controllers, the
# agents and pins. Its peering part goes through the control plane: blue
# (shard 1) and red (shard 2) peered by their intents, red's export
# limited to 10.0.2.0/28, then red's side deleted.
. "$(dirname "$0")/lib.sh"
require_root
command -v etcd >/dev/null || skip_all "needs etcd (make deps installs etcd-server)"
command -v etcdctl >/dev/null || skip_all "needs etcdctl (make deps installs etcd-client)"
mk_tmpdir T || bail "no temporary directory"

build=$(dirname "$ZH")
if BUILD=$build timeout 300 "$ZH_TOP/scripts/demo.sh" >"$T/demo.log" 2>&1; then
	tap_ok "scripts/demo.sh exits 0"
else
	tap_fail "scripts/demo.sh exits 0"
	tail -n 30 "$T/demo.log" | sed 's/^/# /'
fi
L=$T/demo.log
# received PING: how many replies the demo's ping PING got ("vm1$ ping -c
# 3 10.0.2.13": the line after the first line starting so, "N packets
# transmitted, M received, ...").
received() {
	awk -v h="$1 " 'found { print; exit } index($0, h) == 1 { found = 1 }' "$L" |
		sed -n 's/.* \([0-9]*\) received.*/\1/p'
}
check "the demo applies the intent with zerohop apply" grep -q '^ctl\$ zerohop apply -f' "$L"
check "the demo applies shard 2's intent with zerohop apply" grep -q '^ctl2\$ zerohop apply -f intent2.json' "$L"
check "the demo runs a zerohop-controller on each shard" \
	bash -c "grep -q '^ctl\\\$ zerohop-controller --etcd http://198.18.0.100:12379 --networks blue,green' '$L' &&
		grep -q '^ctl2\\\$ zerohop-controller --etcd http://198.18.0.200:12379 --networks red' '$L'"
check "the demo shows the agent in zerohop status" grep -q 'agent: source etcd:' "$L"
check "the demo's pings that should work work (no FAILED line)" bash -c "! grep -q FAILED '$L'"
check "no hand-made peering is left in the demo (endpoint add, policy add)" \
	bash -c "! grep -Eq '\\\$ zerohop (endpoint|policy) add' '$L'"
check "shard 2's controller publishes red's view for blue: vm3's endpoint" \
	grep -qx '    /zerohop/v1/published/red/to-blue/endpoints/10.0.2.13' "$L"
check "red's view has its meta" grep -qx '    /zerohop/v1/published/red/to-blue/meta' "$L"
check "red's view does not have vm5 (10.0.2.25, outside the export)" \
	bash -c "! grep -q 'published/red/to-blue/endpoints/10.0.2.25' '$L'"
check "h1's zerohop status shows the peering blue->red active with red's VNI 200" \
	grep -q '^    peer blue->red: active, connected, VNI 200, grants to-red / gets to-blue, 1 endpoints' "$L"
check "h3's zerohop status shows the peering red->blue active with blue's VNI 100" \
	grep -q '^    peer red->blue: active, connected, VNI 100, grants to-blue / gets to-red' "$L"
check "h1's zh_endpoints has vm3 behind h3 with dest VNI 200" \
	grep -Eq '^100 +10\.0\.2\.13 +02:00:0a:00:02:0d +host 198\.18\.0\.3 +200 ' "$L"
expect_eq "blue vm1 -> red vm3: all pings answered" \
	"$(received 'vm1$ ping -c 3 10.0.2.13')" 3
expect_eq "red vm3 -> blue vm1: all pings answered" \
	"$(received 'vm3$ ping -c 3 10.0.1.11')" 3
expect_eq "blue vm1 -> red vm5 (not exported): no ping answered" \
	"$(received 'vm1$ ping -c 2 10.0.2.25')" 0
expect_ge "h1 counts encap_peer" "$(sed -n 's/^    h1 encap_peer: \([0-9]*\)$/\1/p' "$L")" 1
expect_ge "h3 counts encap_peer" "$(sed -n 's/^    h3 encap_peer: \([0-9]*\)$/\1/p' "$L")" 1
check "red's side deleted: h1, h2 and h3 withdraw the peer entries" grep -q '^    h1, h2 and h3 withdrew the peer entries' "$L"
check "red's side deleted: h1's peering is one-sided" grep -q '^    peer blue->red: one-sided' "$L"
expect_eq "red's side deleted: blue vm1 -> red vm3 is no longer answered" \
	"$(received 'vm1$ ping -c 2 10.0.2.13')" 0
check "the demo ends with its done line" grep -q 'Demo done' "$L"
expect_eq "no demo namespace is left" "$(ip netns list | grep -c '^zhdemo')" 0
expect_eq "no demo instance is left" "$(ls "$ZH_PINS" 2>/dev/null | grep -c '^zhdemo')" 0
expect_eq "no demo process is left" "$(pgrep -fc 'zhdemo' || true)" 0
# (the controllers' command lines name only their shard's URL: ports 12379
# are the demo's, the other tests pick theirs from 20000 up)
expect_eq "no demo controller is left" \
	"$(pgrep -fc 'zerohop-controller --etcd http://198\.18\.0\.[0-9]*:12379( |$)' || true)" 0
finish
