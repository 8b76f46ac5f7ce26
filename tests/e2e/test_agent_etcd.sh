#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# zerohop-agent with a real etcd: `zerohop apply` of a two-network topology
# makes VMs on two hosts reach each other (ping, TCP) while the networks
# stay isolated, and each host's zh_endpoints holds exactly the expected
# entries; ports and endpoints added and removed in etcd while a ping
# stream between two other VMs runs (no ping lost, the new VM reachable,
# a removed endpoint gone from the map and its traffic dropped as
# drop_no_route); bad records in etcd (malformed JSON, an invalid address,
# a field of the wrong type, a bad key) are skipped, logged with key and
# reason, counted as bad_record, and the agents keep running and
# forwarding with the last good value.
#
# Topology: fabric "fab"; hosts h1, h2 (198.18.0.1-2); etcd (one member)
# in namespace "etcd" on 198.18.0.201; agents in h1 and h2 with
# source etcd:; apply and etcdctl run in "etcd".
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/agent_etcd.sh"
ae_require

ae_fabric h1 h2 || bail "set up the fabric"
etcd_start etcd solo 198.18.0.201 || bail "etcd starts in namespace etcd"
ae_vm vm1 h1 p1 11 && ae_vm vm3 h1 p3 13 && ae_vm r1 h1 q1 21 red &&
	ae_vm vm2 h2 p2 12 && ae_vm vm4 h2 p4 14 && ae_vm r2 h2 q2 22 red ||
	bail "set up the VMs"
I1=$ZH_PFX-h1
pings() { nsexec "$1" ping -q -n -c 1 -W 1 "$2"; }

# --- apply a topology: the agents program it --------------------------------
SPECS=(h1:p1:11 h1:p3:13 h1:q1:21:red h2:p2:12 h2:p4:14 h2:q2:22:red)
ae_intent "$AE_T/topo.json" "${SPECS[@]}"
out=$(ae_apply "$AE_T/topo.json" 2>&1)
expect_eq "apply writes the topology" "${out##*: }" "17 written, 0 unchanged"
for h in h1 h2; do ae_config "$h" && ae_start "$h"; done
for h in h1 h2; do
	wait_until "$h's agent is connected to etcd and has its 3 ports attached" 30 ae_synced "$h" 3 ||
		ae_log_tail "$h"
done
wait_until "vm1 (h1) reaches vm2 (h2)" 10 pings vm1 10.0.0.12
ov_ping "vm2 reaches vm1" vm2 10.0.0.11
ov_ping "vm4 (h2) reaches vm3 (h1)" vm4 10.0.0.13
ov_ping "r1 (h1) reaches r2 (h2) in network red" r1 10.1.0.22
ov_noping "r1 (red) does not reach vm2 (blue)" r1 10.0.0.12
ov_iperf "a 5 MB TCP transfer vm3 -> vm4 completes" vm3 vm4 10.0.0.14 5M
for h in h1 h2; do
	want=$(ae_want_eps "$h" "${SPECS[@]}")
	got=$(ae_eps "$h")
	expect_eq "$h: show endpoints holds exactly the 6 expected entries" "$got" "$want"
	[ "$got" = "$want" ] || diag "want: $(tr '\n' ';' <<<"$want")"
	expect_eq "$h: bpftool sees 6 entries in zh_endpoints" \
		"$(bpftool -j map dump pinned "$ZH_PINS/$ZH_PFX-$h/zh_endpoints" | jq length)" 6
done
expect_eq "bpftool: h1 sends 10.0.0.12 to h2" "$(ae_ep h1 10.0.0.12)" 198.18.0.2
expect_eq "bpftool: h2 sends 10.1.0.21 (red) to h1" "$(ae_ep h2 10.1.0.21 200)" 198.18.0.1
expect_eq "metrics: h1's agent says it is connected" \
	"$(ae_metric h1 "zerohop_agent_source_connected{source=\"etcd:$(etcd_endpoints)\"}")" 1

# --- changes while vm1 -> vm2 traffic runs ----------------------------------
ae_stream STREAM vm1 10.0.0.12 2000
# A new VM on h2 and an endpoint record that is not a port (10.0.0.50 at h2).
ae_vm vm5 h2 p5 15 || bail "set up vm5"
SPECS+=(h2:p5:15 ep:h2:50)
ae_intent "$AE_T/topo.json" "${SPECS[@]}"
out=$(ae_apply "$AE_T/topo.json" 2>&1)
expect_eq "apply writes only the new port, its endpoint and the extra endpoint" \
	"${out##*: }" "3 written, 17 unchanged"
wait_until "the new vm5 (h2) is reachable from vm3 (h1)" 20 pings vm3 10.0.0.15
wait_until "h1 gets the endpoint 10.0.0.50 at h2" 10 ae_ep_is h1 10.0.0.50 198.18.0.2
# vm4's port and the extra endpoint go.
ae_del_port h2 p4 14 && etcd_ctl del /zerohop/v1/networks/blue/endpoints/10.0.0.50 >/dev/null ||
	tap_fail "etcdctl del"
wait_until "vm4's endpoint leaves h1's zh_endpoints" 10 ae_ep_gone h1 10.0.0.14
wait_until "10.0.0.50 leaves h1's zh_endpoints" 10 ae_ep_gone h1 10.0.0.50
no_tc_port() { [ -z "$(tc_ingress_id "$1" "$2" tc_port)" ]; }
wait_until "h2 takes tc_port off p4" 10 no_tc_port h2 p4
before=$(zh_stats h1 "$I1")
ov_noping "vm3 no longer reaches vm4" vm3 10.0.0.14
expect_moved "h1 drops vm3's pings to the removed endpoint" "$before" "$(zh_stats h1 "$I1")" \
	"drop_no_route>=2"
ae_stream_check "2000 pings vm1 -> vm2 while ports and endpoints came and went: none lost" \
	"$STREAM" vm1 2000
SPECS=(h1:p1:11 h1:p3:13 h1:q1:21:red h2:p2:12 h2:p5:15 h2:q2:22:red)
for h in h1 h2; do
	expect_eq "$h: after the changes, exactly the expected endpoints" \
		"$(ae_eps "$h")" "$(ae_want_eps "$h" "${SPECS[@]}")"
done

# --- bad data in etcd: skipped, logged, counted; forwarding goes on --------
BAD='zerohop_agent_errors_total{kind="bad_record"}'
declare -A bad0=() pid0=()
for h in h1 h2; do bad0[$h]=$(ae_metric "$h" "$BAD"); pid0[$h]=$(ae_pid "$h"); done
E=/zerohop/v1/networks/blue/endpoints
etcd_ctl put "$E/10.0.0.60" '{"mac":"02:00:00:00:00:60","host":"h2",' >/dev/null &&
	etcd_ctl put "$E/10.0.0.61" '{"mac":"02:00:00:00:00:61","host":"h2","host_ip":"198.18.0.999"}' >/dev/null &&
	etcd_ctl put "$E/10.0.0.12" '{"mac":"02:00:00:00:00:12","host":"h2","host_ip":"198.18.0.2","encap":7}' >/dev/null &&
	etcd_ctl put "$E/10.0.0.300" '{"mac":"02:00:00:00:00:62","host":"h2","host_ip":"198.18.0.2"}' >/dev/null ||
	tap_fail "etcdctl put of the bad records"
bad_counted() { [ "$(ae_metric "$1" "$BAD")" = "$((${bad0[$1]} + 4))" ]; }
for h in h1 h2; do
	wait_until "$h counts the 4 bad records in zerohop_agent_errors_total{kind=\"bad_record\"}" 10 \
		bad_counted "$h" || diag "got $(ae_metric "$h" "$BAD"), was ${bad0[$h]}"
done
logged() { grep -F "skipped record networks/blue/endpoints/$1: " "$AE_T/h1.log" | grep -qF -- "$2"; }
check "h1 logs the malformed JSON with its key and reason" logged 10.0.0.60 "invalid JSON"
check "h1 logs the invalid address with its key and reason" logged 10.0.0.61 "198.18.0.999"
check "h1 logs the wrong field type with its key and reason" logged 10.0.0.12 "encap"
check "h1 logs the bad key" grep -qF "skipped record networks/blue/endpoints/10.0.0.300: " "$AE_T/h1.log"
expect_eq "h1 programmed neither bad endpoint" "$(ae_ep h1 10.0.0.60)$(ae_ep h1 10.0.0.61)" ""
expect_eq "h1 keeps the last good value of 10.0.0.12" "$(ae_ep h1 10.0.0.12)" 198.18.0.2
ov_ping "vm1 still reaches vm2 (its record is bad now, its entry is not)" vm1 10.0.0.12
for h in h1 h2; do
	expect_eq "$h's agent is the same process, still running" "$(ae_pid "$h")" "${pid0[$h]}"
	expect_eq "$h's agent stays connected" "$(ae_json "$h" .connected)" true
done
expect_eq "status: h1's last error names a bad record" \
	"$(ae_json h1 .last_error | grep -c 'networks/blue/endpoints/10.0.0')" 1
# A good value again: applied.
etcd_ctl del "$E/10.0.0.60" "$E/10.0.0.61" >/dev/null
etcd_ctl del "$E/10.0.0.300" >/dev/null
ae_intent "$AE_T/topo.json" "${SPECS[@]}"
out=$(ae_apply "$AE_T/topo.json" 2>&1)
expect_eq "re-apply writes the one damaged record back" "${out##*: }" "1 written, 16 unchanged"
ov_ping "vm2 reaches vm1 after the repair" vm2 10.0.0.11
for h in h1 h2; do
	expect_eq "$h: in the end, exactly the expected endpoints" \
		"$(ae_eps "$h")" "$(ae_want_eps "$h" "${SPECS[@]}")"
done

finish
