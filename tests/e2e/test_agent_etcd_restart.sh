#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# zerohop-agent restarts with a real etcd: both agents restarted 5 times
# (kill -9 and SIGTERM in turn) under a bounded ping stream and a bounded
# UDP stream lose no packet (sent and received counted exactly), reload no
# program and write nothing; an agent that was down while an endpoint was
# deleted and a port added in etcd keeps the stale entry while down (fail
# static) and on restart sweeps it and adds the new ones, with no loss for
# the untouched flow.
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
ae_vm vm1 h1 p1 11 && ae_vm vm3 h1 p3 13 && ae_vm vm2 h2 p2 12 && ae_vm vm4 h2 p4 14 ||
	bail "set up the VMs"
pings() { nsexec "$1" ping -q -n -c 1 -W 1 "$2"; }

SPECS=(h1:p1:11 h1:p3:13 h2:p2:12 h2:p4:14)
ae_intent "$AE_T/topo.json" "${SPECS[@]}"
ae_apply "$AE_T/topo.json" >/dev/null || bail "apply the topology"
for h in h1 h2; do ae_config "$h" && ae_start "$h"; done
for h in h1 h2; do
	wait_until "$h's agent syncs from etcd" 30 ae_synced "$h" 2 || ae_log_tail "$h"
done
wait_until "vm1 reaches vm2" 10 pings vm1 10.0.0.12 || finish

# --- 5 restarts of both agents under traffic --------------------------------
prog_p1=$(tc_ingress_id h1 p1 tc_port)
prog_up=$(tc_ingress_id h1 upl tc_uplink)
ae_stream STREAM vm1 10.0.0.12 2500
ae_udp_start vm2 vm1 10.0.0.11 10000 500
codes=""
for i in 1 2 3 4 5; do
	sleep 1
	sig=KILL
	[ $((i % 2)) = 0 ] && sig=TERM
	for h in h1 h2; do
		ae_stop "$h" "$sig"
		codes+="${codes:+ }$sig:$?"
		ae_start "$h"
	done
	for h in h1 h2; do
		wait_until "restart $i ($sig): $h's agent syncs again" 20 ae_synced "$h" 2 ||
			ae_log_tail "$h"
	done
done
expect_eq "kill -9 ends an agent with SIGKILL, SIGTERM with exit 0" "$codes" \
	"KILL:137 KILL:137 TERM:0 TERM:0 KILL:137 KILL:137 TERM:0 TERM:0 KILL:137 KILL:137"
ae_stream_check "2500 pings vm1 -> vm2 over 5 restarts of both agents: all answered" \
	"$STREAM" vm1 2500
ae_udp_check "10000 UDP datagrams vm2 -> vm1 over the restarts: all arrived" 10000
expect_eq "restarts adopt: tc_port on p1 is the same program" \
	"$(tc_ingress_id h1 p1 tc_port)" "$prog_p1"
expect_eq "restarts adopt: tc_uplink on upl is the same program" \
	"$(tc_ingress_id h1 upl tc_uplink)" "$prog_up"
expect_eq "each restart of h1's agent wrote nothing (full reconcile: 0 map writes)" \
	"$(grep -c 'full reconcile: 0 map writes' "$AE_T/h1.log")" 5
expect_eq "h1's last agent wrote nothing since it started" "$(ae_json h1 .map_ops)" 0
for h in h1 h2; do
	expect_eq "$h: after the restarts, exactly the expected endpoints" \
		"$(ae_eps "$h")" "$(ae_want_eps "$h" "${SPECS[@]}")"
done

# --- changes while h1's agent is down: mark and sweep on its restart -------
ae_vm vm5 h2 p5 15 || bail "set up vm5"
ae_stream STREAM vm1 10.0.0.12 1500
ae_stop h1 KILL
ae_del_port h2 p4 14 || tap_fail "etcdctl del vm4's port"
SPECS=(h1:p1:11 h1:p3:13 h2:p2:12 h2:p5:15 ep:h2:50)
ae_intent "$AE_T/topo.json" "${SPECS[@]}"
out=$(ae_apply "$AE_T/topo.json" 2>&1)
expect_eq "apply adds vm5's port and endpoint and endpoint 10.0.0.50" "${out##*: }" \
	"3 written, 11 unchanged"
wait_until "h2's agent has the new port" 20 ae_synced h2 2
expect_eq "h1 without its agent keeps vm4's stale endpoint (fail static)" "$(ae_ep h1 10.0.0.14)" \
	198.18.0.2
expect_eq "h1 without its agent has no entry for vm5" "$(ae_ep h1 10.0.0.15)" ""
ae_start h1
wait_until "h1's restarted agent syncs" 20 ae_synced h1 2 || ae_log_tail h1
wait_until "the sweep removes vm4's endpoint from h1" 10 ae_ep_gone h1 10.0.0.14
expect_eq "h1 has vm5 at h2" "$(ae_ep h1 10.0.0.15)" 198.18.0.2
expect_eq "h1 has 10.0.0.50 at h2" "$(ae_ep h1 10.0.0.50)" 198.18.0.2
expect_eq "the restart's full reconcile wrote 2 entries and deleted 1" \
	"$(grep 'full reconcile:' "$AE_T/h1.log" | tail -n 1)" "zerohop-agent: full reconcile: 3 map writes"
ov_ping "vm3 (h1) reaches the new vm5 (h2)" vm3 10.0.0.15
ae_stream_check "1500 pings vm1 -> vm2 across the kill, the changes and the restart: all answered" \
	"$STREAM" vm1 1500
for h in h1 h2; do
	expect_eq "$h: exactly the expected endpoints" "$(ae_eps "$h")" "$(ae_want_eps "$h" "${SPECS[@]}")"
done

finish
