#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 7: restarts and a shard outage under peering traffic.
#
#   shard 1 (s1): a (VNI 100, 10.1.0.0/24), b (VNI 200, 10.2.0.0/24)
#   shard 2 (s2): c (VNI 300, 10.3.0.0/24)
#   a <-> b and a <-> c peered, each side granting everything
#   a1 10.1.0.11 on h1, b1 10.2.0.21 on h2, c1 10.3.0.31 on h3 (shard 2);
#   later a2 10.1.0.12 on h1 and c2 10.3.0.32 on h3
#
# 1. Under three streams counted exactly (pings a1 -> c1 and b1 -> a1, UDP
#    c1 -> a1 with iperf3): both controllers restart (SIGTERM, then kill
#    -9) and every agent restarts (SIGTERM or kill -9): no packet is lost,
#    the controllers' restarts write nothing to either shard (revisions
#    unchanged), the agents' restarts change nothing in the maps (peer
#    entries, policies, routes).
# 2. Shard 2's etcd is killed under a ping and a UDP stream a1 <-> c1: h1
#    and h3 keep forwarding (fail static), also through a kill -9 and
#    restart of h1's agent; a VM added to a meanwhile (shard 1 is up)
#    reaches h3, and c1 reaches it. Shard 2's etcd comes back: changes
#    made on it then (a new VM of c, c's export narrowed to TCP) reach h1
#    and h3, and the traffic follows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/peering.sh"
pe_require

PE_VNI=([a]=100 [b]=200 [c]=300)
pe_fabric 2 h1 h2 h3 || bail "fabric, hosts and two shards with auth"
pe_vm a1 h1 a 10.1.0.11 && pe_vm b1 h2 b 10.2.0.21 && pe_vm c1 h3 c 10.3.0.31 || bail "the VMs"
pe_pw a-at-c c-at-a
T=$PE_T EP1=${PE_EP[1]} EP2=${PE_EP[2]} R=$PE_R

s1_intent() {
	cat <<EOF
{"version": "v1",
 "networks": [
  {"name": "a", "vni": 100, "cidrs": ["10.1.0.0/24"], "exports": [{"name": "all"}],
   "peerings": [{"peer": "b", "grant": "all"},
                {"peer": "c", "grant": "all", "peer_shard": ["$EP2"],
                 "user": "a-at-c", "password_file": "$T/a-at-c.pw",
                 "peer_user": "c-at-a", "peer_password_file": "$T/c-at-a.pw"}]},
  {"name": "b", "vni": 200, "cidrs": ["10.2.0.0/24"], "exports": [{"name": "all"}],
   "peerings": [{"peer": "a", "grant": "all"}]}],
 "hosts": [{"name": "h1", "underlay": "198.18.0.1", "networks": ["a", "b"], "ports": $(pe_ports_json h1)},
           {"name": "h2", "underlay": "198.18.0.2", "networks": ["a", "b"], "ports": $(pe_ports_json h2)}]}
EOF
}
s2_intent() {
	cat <<EOF
{"version": "v1",
 "networks": [
  {"name": "c", "vni": 300, "cidrs": ["10.3.0.0/24"], "exports": [{"name": "all"}],
   "peerings": [{"peer": "a", "grant": "all", "peer_shard": ["$EP1"],
                 "user": "c-at-a", "password_file": "$T/c-at-a.pw",
                 "peer_user": "a-at-c", "peer_password_file": "$T/a-at-c.pw"}]}],
 "hosts": [{"name": "h3", "underlay": "198.18.0.3", "networks": ["c"], "ports": $(pe_ports_json h3)}]}
EOF
}
s1_intent >"$T/s1.json" && s2_intent >"$T/s2.json"
out=$(pe_apply 1 "$T/s1.json" 2>&1) || bail "apply shard 1: $out"
out=$(pe_apply 2 "$T/s2.json" 2>&1) || bail "apply shard 2: $out"
pe_ctl_start 1 a,b
pe_ctl_start 2 c
for h in h1 h2; do pe_agent_start $h 1; done
pe_agent_start h3 2

ANY=tcp,udp,icmp,other
# h1 programs a (a1), h2 b (b1), h3 c (c1).
EPS_1="100 10.2.0.21 198.18.0.2 200 100 10.3.0.31 198.18.0.3 300"
POL_1="100>200 10.1.0.0/24 $ANY 100>300 10.1.0.0/24 $ANY 200>100 10.2.0.0/24 $ANY 300>100 10.3.0.0/24 $ANY"
EPS_2="200 10.1.0.11 198.18.0.1 100"
POL_2="100>200 10.1.0.0/24 $ANY 200>100 10.2.0.0/24 $ANY"
EPS_3="300 10.1.0.11 198.18.0.1 100"
POL_3="100>300 10.1.0.0/24 $ANY 300>100 10.3.0.0/24 $ANY"
for h in h1 h2 h3; do wait_for "$h: the agent is connected and attached its ports" 30 pe_synced "$h"; done
eventually "h1: the peer entries of a (b's and c's views)" "$EPS_1" 60 pe_eps h1
eventually "h1: the policies of a<->b and a<->c" "$POL_1" 30 pe_pols h1
eventually "h2: the peer entries of b (a's view)" "$EPS_2" 60 pe_eps h2
eventually "h2: the policies of a<->b" "$POL_2" 30 pe_pols h2
eventually "h3: the peer entries of c" "$EPS_3" 60 pe_eps h3
eventually "h3: the policies of a<->c" "$POL_3" 30 pe_pols h3
ov_ping "a1 pings c1 (across shards)" a1 10.3.0.31
ov_ping "b1 pings a1 (one shard, across hosts)" b1 10.1.0.11

# all_active HOST: every peering of HOST's agent active and connected.
all_active() {
	pe_agent "$1" ' | .peers | length > 0 and all(.state == "active" and .connected)' | grep -qx true
}
rev() { pe_sctl "$1" endpoint status -w json | jq -r '.[0].Status.header.revision'; }
# ep_of HOST VNI IP: "HOST_IP DEST_VNI" of a remote entry in zh_endpoints.
ep_of() {
	zh "$1" show endpoints --json --instance "$ZH_PFX-$1" | jq -r --argjson v "$2" --arg ip "$3" \
		'.[] | select(.vni == $v and .ip == $ip and (.local | not)) | "\(.host) \(.dest_vni)"'
}
# pols_of HOST VNI: HOST's zh_policy entries that VNI exports.
pols_of() { pe_pols "$1" | tr -s ' ' '\n' | paste -d' ' - - - | grep "^$2>" | paste -sd' '; }
maps() { local h; for h in h1 h2 h3; do echo "$h: $(pe_eps $h) | $(pe_pols $h)"; done; }
# ctl_logged N REGEX COUNT: the controller of shard N logged REGEX more
# than COUNT times.
ctl_logged() { [ "$(grep -Ec "$2" "$T/ctl$1.log")" -gt "$3" ]; }

# --- 1. restarts under traffic ------------------------------------------------------------------

maps0=$(maps)
rev1=$(rev 1) rev2=$(rev 2)
pe_ping_stream ac a1 c1 3000
pe_ping_stream ba b1 a1 3000
pe_udp_stream ca c1 a1 5210 3000 100
sleep 1
for s in 1 2; do
	sig=TERM
	[ "$s" = 2 ] && sig=KILL
	known="reconciled: .*peers ([0-9]+)/\\1 known"
	n=$(grep -Ec "$known" "$T/ctl$s.log")
	pe_ctl_stop $s $sig
	pe_ctl_start $s
	wait_for "controller $s: restarted after SIG$sig, reconciled with every peer known" 30 \
		ctl_logged $s "$known" "$n"
done
sleep 1
expect_eq "the controllers' restarts wrote nothing on shard 1 (revision)" "$(rev 1)" "$rev1"
expect_eq "... nor on shard 2" "$(rev 2)" "$rev2"
for h in h1 h2 h3; do
	sig=TERM
	[ "$h" = h2 ] && sig=KILL
	before=$(pe_eps $h; pe_pols $h; pe_rts $h)
	pe_agent_stop $h $sig
	pe_agent_start $h
	wait_for "$h: the agent restarted after SIG$sig, every peering active again" 30 all_active $h
	sleep 1
	expect_eq "$h: the restarted agent changed nothing in the maps" "$(pe_eps $h; pe_pols $h; pe_rts $h)" "$before"
	expect_eq "$h: ... and wrote nothing (status map_ops)" "$(pe_agent $h .map_ops)" 0
done
expect_eq "after the restarts: the same peer entries and policies on every host" "$(maps)" "$maps0"
pe_ping_check "3000 pings a1 -> c1 through the restarts: none lost" ac 3000
pe_ping_check "3000 pings b1 -> a1 through the restarts: none lost" ba 3000
pe_udp_check "3000 UDP datagrams c1 -> a1 through the restarts: none lost" ca 3000

# --- 2. shard 2's etcd down: fail static; back: changes converge --------------------------------

pe_ping_stream ac a1 c1 2000
pe_udp_stream ca c1 a1 5211 2000 100
sleep 1
etcd_kill e2 || bail "kill shard 2's etcd"
eventually "shard 2 down: h1 sees peer c disconnected" false 30 pe_peer h1 a c connected
eventually "shard 2 down: h3's agent sees its shard disconnected" false 30 pe_agent h3 .connected
pe_agent_stop h1 KILL
pe_agent_start h1
wait_for "shard 2 down: h1's agent restarted (kill -9) and synced with shard 1" 30 pe_synced h1
sleep 2
expect_eq "shard 2 down: h1 still has c1 and both policies after its restart" \
	"$(pe_eps h1) | $(pe_pols h1)" "$EPS_1 | $POL_1"
expect_eq "shard 2 down: h3 still has a's entries and policies" "$(pe_eps h3) | $(pe_pols h3)" "$EPS_3 | $POL_3"

# a2 joins a on h1 while shard 2 is down: h3 reads a's view on shard 1.
pe_vm a2 h1 a 10.1.0.12 || bail "VM a2"
s1_intent >"$T/s1.json"
out=$(pe_apply 1 "$T/s1.json" 2>&1) || tap_fail "apply a2 on shard 1: $out"
eventually "shard 2 down: h3 gets a's new VM a2 from shard 1" \
	"300 10.1.0.11 198.18.0.1 100 300 10.1.0.12 198.18.0.1 100" 30 pe_eps h3
wait_for "shard 2 down: c1 reaches a2" 20 nsexec c1 ping -c 1 -W 1 10.1.0.12
pe_ping_check "2000 pings a1 -> c1 through shard 2's outage and h1's restart: none lost" ac 2000
pe_udp_check "2000 UDP datagrams c1 -> a1 through the outage: none lost" ca 2000

etcd_restart e2 || bail "restart shard 2's etcd"
eventually "shard 2 back: h1 reconnects to peer c" "active true" 60 \
	pe_agent h1 ' | .peers[] | select(.peer == "c") | "\(.state) \(.connected)"'
wait_for "shard 2 back: h3's agent reconnects to its shard" 60 pe_synced h3
pe_vm c2 h3 c 10.3.0.32 || bail "VM c2"
s2_intent >"$T/s2.json"
out=$(pe_apply 2 "$T/s2.json" 2>&1) || tap_fail "apply c2 on shard 2: $out"
eventually "shard 2 back: h1 programs c's new VM c2" "198.18.0.3 300" 30 ep_of h1 100 10.3.0.32
ov_ping "shard 2 back: a1 pings c2" a1 10.3.0.32
ov_ping "shard 2 back: a2 pings c2" a2 10.3.0.32
pe_sctl 2 put "$R/networks/c/exports/all" '{"protocols":["tcp"]}' >/dev/null || tap_fail "narrow c's export"
eventually "shard 2 back: h1's sender entry follows c's export (TCP only)" "300>100 10.3.0.0/24 tcp" 30 \
	pols_of h1 300
eventually "shard 2 back: h3's receiver entry too" "300>100 10.3.0.0/24 tcp" 30 pols_of h3 300
pe_listen c1
ov_noping "shard 2 back: a1's ICMP to c1 is refused now" a1 10.3.0.31
check "shard 2 back: a1 still connects to c1 over TCP" nsexec a1 timeout 5 bash -c 'exec 3<>/dev/tcp/10.3.0.31/5201'

for h in h1 h2 h3; do pe_agent_stop "$h"; done
for s in 1 2; do pe_ctl_stop "$s"; done
[ "$_tap_failed" = 0 ] || pe_logs
finish
