#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# zerohop-agents on a 3-member etcd cluster: both agents are connected to
# the leader (first in their URL lists); the leader is killed, the agents
# fail over to another member, and changes applied after the kill (a port
# and an endpoint added, a port deleted) reach both hosts' maps. The killed
# member comes back, the member the agents use now is made the leader
# (etcdctl move-leader) and killed too, and a further change still
# converges. A ping stream between two untouched VMs loses nothing
# throughout.
#
# Topology: fabric "fab"; hosts h1, h2; etcd members e1..e3 in namespace
# "etcd" on 198.18.0.201-203; agents in h1 and h2 with source etcd:.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/agent_etcd.sh"
ae_require

ae_fabric h1 h2 && addr etcd upl 198.18.0.202/24 && addr etcd upl 198.18.0.203/24 ||
	bail "set up the fabric"
etcd_cluster etcd 198.18.0.201 198.18.0.202 198.18.0.203 || bail "a 3-member etcd cluster starts"
ae_vm vm1 h1 p1 11 && ae_vm vm3 h1 p3 13 && ae_vm vm2 h2 p2 12 && ae_vm vm4 h2 p4 14 &&
	ae_vm vm5 h2 p5 15 && ae_vm vm6 h1 p6 16 || bail "set up the VMs"
pings() { nsexec "$1" ping -q -n -c 1 -W 1 "$2"; }

# leader: etcd_leader, waiting up to 30 s for an election on a loaded
# machine; the members' status on stderr when there is none.
leader() {
	for _ in 1 2 3; do etcd_leader && return 0; done
	etcd_ctl endpoint status -w table >&2
	return 1
}
# leader_first: every member's URL, the leader's first.
leader_first() {
	local l n out
	l=$(leader) || return 1
	out=$(etcd_url "$l")
	for n in "${ETCD_MEMBERS[@]}"; do [ "$n" = "$l" ] || out+=",$(etcd_url "$n")"; done
	echo "$out"
}
# apply_retry FILE: zerohop apply, tried up to 5 times a second apart (an
# election may still be settling); prints the last summary.
apply_retry() {
	local i out
	for i in 1 2 3 4 5; do
		out=$(ae_apply "$1" 2>&1) && { echo "$out"; return 0; }
		diag "apply, try $i: $out"
		sleep 1
	done
	echo "$out"
	return 1
}

# live_only HOST DEAD: HOST's agent has etcd connections (ss), none to member DEAD.
live_only() {
	local peers
	peers=$(ae_etcd_peers "$1")
	echo "connected to: ${peers//$'\n'/ }"
	[ -n "$peers" ] && ! grep -qF "$(etcd_url "$2")" <<<"$peers"
}

LEADER=$(leader) || bail "the cluster has a leader"
URLS=$(leader_first) || bail "the cluster has a leader"
SPECS=(h1:p1:11 h1:p3:13 h2:p2:12 h2:p4:14)
ae_intent "$AE_T/topo.json" "${SPECS[@]}"
ae_apply "$AE_T/topo.json" >/dev/null || bail "apply the topology"
for h in h1 h2; do ae_config "$h" "etcd:$URLS" && ae_start "$h"; done
for h in h1 h2; do
	wait_until "$h's agent syncs from the cluster" 30 ae_synced "$h" 2 || ae_log_tail "$h"
	expect_eq "$h's agent is connected to the leader $LEADER (ss)" "$(ae_etcd_peers "$h")" \
		"$(etcd_url "$LEADER")"
done
wait_until "vm1 reaches vm2" 10 pings vm1 10.0.0.12 || finish
ae_stream STREAM vm1 10.0.0.12 3000

# --- the leader dies; changes after that reach both hosts -------------------
etcd_kill "$LEADER" || bail "kill the leader $LEADER"
NEW_LEADER=$(leader)
check "the two others elect a new leader" test -n "$NEW_LEADER"
SPECS=(h1:p1:11 h1:p3:13 h2:p2:12 h2:p4:14 h2:p5:15 ep:h2:50)
ae_intent "$AE_T/topo.json" "${SPECS[@]}"
out=$(apply_retry "$AE_T/topo.json")
expect_eq "apply after the kill adds vm5's port, its endpoint and 10.0.0.50" "${out##*: }" \
	"3 written, 13 unchanged"
ae_del_port h2 p4 14 || tap_fail "etcdctl del vm4's port"
SPECS=(h1:p1:11 h1:p3:13 h2:p2:12 h2:p5:15 ep:h2:50)
converged() { ae_synced "$1" && [ "$(ae_eps "$1")" = "$(ae_want_eps "$1" "${SPECS[@]}")" ]; }
for h in h1 h2; do
	wait_until "$h converges after the leader's death" 30 converged "$h" ||
		{ diag "$h: $(ae_eps "$h" | tr '\n' ';')"; ae_log_tail "$h"; }
	check "$h's agent is connected to live members only" live_only "$h" "$LEADER"
done
ov_ping "vm3 (h1) reaches the new vm5 (h2)" vm3 10.0.0.15
ov_noping "vm3 no longer reaches the deleted vm4" vm3 10.0.0.14

# --- the old leader returns; the member h1's agent uses now becomes the
# leader (etcdctl move-leader) and dies: still converging --------------------
etcd_restart "$LEADER" || bail "$LEADER comes back"
SECOND=$(etcd_member_of "$(ae_etcd_peers h1 | head -n 1)") || bail "h1's agent uses a member"
# (member IDs in hex from the table: jq would round the 64-bit numbers)
id=$(etcd_ctl member list | awk -F', ' -v n="$SECOND" '$3 == n { print $1 }')
[ "$(leader)" = "$SECOND" ] || etcd_ctl move-leader "$id" >/dev/null
expect_eq "$SECOND, the member h1's agent uses, is the leader" "$(leader)" "$SECOND"
etcd_kill "$SECOND" || bail "kill the leader $SECOND"
check "after killing $SECOND the cluster elects a leader" leader
SPECS+=(h1:p6:16)
ae_intent "$AE_T/topo.json" "${SPECS[@]}"
out=$(apply_retry "$AE_T/topo.json")
expect_eq "apply after the second kill adds vm6's port and endpoint" "${out##*: }" \
	"2 written, 14 unchanged"
for h in h1 h2; do
	wait_until "$h converges after the second leader's death" 30 converged "$h" ||
		{ diag "$h: $(ae_eps "$h" | tr '\n' ';')"; ae_log_tail "$h"; }
	check "$h's agent is connected to live members only" live_only "$h" "$SECOND"
done
ov_ping "vm5 (h2) reaches the new vm6 (h1)" vm5 10.0.0.16
ae_stream_check "3000 pings vm1 -> vm2 across both leader kills: all answered" "$STREAM" vm1 3000

finish
