#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# A controller outage: etcd is down for 30 s. Both agents say so
# (`zerohop status`, /metrics) and the data plane keeps its last state: a
# ping stream across the outage loses nothing. Right after etcd returns,
# a port and an endpoint are added and a port is deleted: the agent that
# reaches etcd converges within a bounded wait; the agent that is still
# cut off (a prohibit route in its host) keeps its last state, and when it
# gets through, its watch resumes from the last revision (no re-list) and
# brings the delete and the adds.
#
# Topology: fabric "fab"; hosts h1, h2; etcd (one member) in namespace
# "etcd" on 198.18.0.201; agents in h1 and h2 with source etcd:.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/agent_etcd.sh"
ae_require

ae_fabric h1 h2 || bail "set up the fabric"
etcd_start etcd solo 198.18.0.201 || bail "etcd starts in namespace etcd"
ae_vm vm1 h1 p1 11 && ae_vm vm3 h1 p3 13 && ae_vm vm2 h2 p2 12 && ae_vm vm4 h2 p4 14 &&
	ae_vm vm5 h2 p5 15 || bail "set up the VMs"
pings() { nsexec "$1" ping -q -n -c 1 -W 1 "$2"; }

SPECS=(h1:p1:11 h1:p3:13 h2:p2:12 h2:p4:14)
ae_intent "$AE_T/topo.json" "${SPECS[@]}"
ae_apply "$AE_T/topo.json" >/dev/null || bail "apply the topology"
for h in h1 h2; do ae_config "$h" && ae_start "$h"; done
for h in h1 h2; do
	wait_until "$h's agent syncs from etcd" 30 ae_synced "$h" 2 || ae_log_tail "$h"
done
wait_until "vm1 reaches vm2" 10 pings vm1 10.0.0.12 || finish
SRC="etcd:$(etcd_endpoints)"
CONNECTED="zerohop_agent_source_connected{source=\"$SRC\"}"
resyncs1=$(ae_json h1 .resyncs)

# --- etcd goes away for 30 s -------------------------------------------------
ae_stream STREAM vm1 10.0.0.12 5000
sleep 1
t0=$SECONDS
etcd_kill solo || bail "stop etcd"
disconnected() { [ "$(ae_json "$1" .connected)" = false ]; }
for h in h1 h2; do
	wait_until "$h's agent notices that etcd is gone" 15 disconnected "$h"
done
check "zerohop status on h1 says disconnected since" bash -c \
	"nsenter --net=/run/netns/$ZH_PFX-h1 '$ZH' status --instance $ZH_PFX-h1 --agent-socket '$AE_T/h1.sock' |
		grep -q '^  agent: source $SRC, disconnected since '"
expect_eq "metrics: h1's source is disconnected" "$(ae_metric h1 "$CONNECTED")" 0
expect_ge "metrics: h1 counts source errors" \
	"$(ae_metric h1 'zerohop_agent_errors_total{kind="source"}')" 1
check "h1's agent logs that it keeps the last state" grep -qF "keeping the last state" "$AE_T/h1.log"
# h1 stays cut off from etcd after it returns, until the route goes.
ip -n "$ZH_PFX-h1" route add prohibit 198.18.0.201/32 || tap_fail "prohibit route in h1"
ov_ping "during the outage vm3 (h1) reaches vm4 (h2)" vm3 10.0.0.14
for h in h1 h2; do
	expect_eq "$h keeps its endpoints during the outage" "$(ae_eps "$h")" \
		"$(ae_want_eps "$h" "${SPECS[@]}")"
done
while [ $((SECONDS - t0)) -lt 30 ]; do sleep 1; done
etcd_restart solo || bail "etcd comes back"

# --- changes right after etcd returns ---------------------------------------
NEW=(h1:p1:11 h1:p3:13 h2:p2:12 h2:p5:15 ep:h2:50)
ae_intent "$AE_T/topo.json" "${NEW[@]}"
out=$(ae_apply "$AE_T/topo.json" 2>&1)
expect_eq "apply after the outage adds vm5's port, its endpoint and 10.0.0.50" "${out##*: }" \
	"3 written, 11 unchanged"
ae_del_port h2 p4 14 || tap_fail "etcdctl del vm4's port"
connected() { [ "$(ae_json "$1" .connected)" = true ]; }
wait_until "h2's agent reconnects" 30 connected h2
h2_converged() { ae_synced h2 2 && [ "$(ae_eps h2)" = "$(ae_want_eps h2 "${NEW[@]}")" ]; }
wait_until "h2 converges: p5 attached, p4 gone, endpoints as wanted" 30 h2_converged ||
	diag "h2: $(ae_eps h2 | tr '\n' ';')"
sleep 2
expect_eq "h1, still cut off, keeps vm4's endpoint (fail static)" "$(ae_ep h1 10.0.0.14)" 198.18.0.2
expect_eq "h1, still cut off, has no entry for vm5 yet" "$(ae_ep h1 10.0.0.15)" ""
expect_eq "h1 is still disconnected" "$(ae_json h1 .connected)" false
ip -n "$ZH_PFX-h1" route del prohibit 198.18.0.201/32 || tap_fail "remove the prohibit route"
wait_until "h1's agent reconnects once etcd is reachable" 30 connected h1
h1_converged() { [ "$(ae_eps h1)" = "$(ae_want_eps h1 "${NEW[@]}")" ]; }
wait_until "h1 converges: vm4's endpoint deleted, vm5 and 10.0.0.50 added" 30 h1_converged ||
	diag "h1: $(ae_eps h1 | tr '\n' ';')"
expect_eq "h1's watch resumed from its revision (no new listing)" "$(ae_json h1 .resyncs)" "$resyncs1"
expect_eq "h1's revision is etcd's" "$(ae_json h1 .revision)" \
	"$(etcd_ctl endpoint status -w json | jq -r '.[0].Status.header.revision')"
expect_eq "metrics: h1's source is connected again" "$(ae_metric h1 "$CONNECTED")" 1
ov_ping "vm3 (h1) reaches vm5 (h2)" vm3 10.0.0.15
ov_ping "vm5 (h2) reaches vm1 (h1)" vm5 10.0.0.11
ov_noping "vm3 no longer reaches the deleted vm4" vm3 10.0.0.14
ae_stream_check "5000 pings vm1 -> vm2 across the outage and the changes: all answered" \
	"$STREAM" vm1 5000

finish
