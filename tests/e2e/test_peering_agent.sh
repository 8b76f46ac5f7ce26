#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# zerohop-agent's peering pulls, with two real shards (one etcd each, auth
# on, a zerohop-controller each) on the overlay.sh fabric:
#
#   shard 1 (s1, 198.18.0.201): network a (VNI 100, 10.1.0.0/24), vm1 on h1;
#                               network c (VNI 300, 10.3.0.0/24), vm3 on h1
#   shard 2 (s2, 198.18.0.202): network b (VNI 200, 10.2.0.0/24), vm2 on h2,
#                               and b's route 10.2.0.128/25 behind h2
#
# Each agent reads its own shard (as a read-only user) and, for a peering
# across shards, the peer's shard with the peering's credential (the user
# the peer's controller keeps); a <-> c is a peering on one shard (read
# with the host's own credential) and on one host. Checked:
#  - one-sided (a peers with b, b not): nothing of b is programmed on h1,
#    no traffic;
#  - b configures its side: h1 gets b's VM with dest_vni 200, b's route,
#    and both export policies; h2 the reverse entries; ping and TCP both
#    ways; on the wire h1's packets carry VNI 200 and h2's VNI 100;
#    status socket and /metrics show the peering active;
#  - b's export allows TCP only: h1 refuses ICMP to vm2 (drop_policy on
#    the sender, nothing on the wire) while TCP flows;
#  - b removes its side: h1's and h2's entries of the peering are
#    withdrawn, traffic stops; adding it back restores it;
#  - SIGHUP: everything listed again, nothing changes in the maps;
#  - a <-> c on one shard and one host: delivered on h1 itself;
#  - shard 2's etcd killed: a<->b keeps forwarding (fail static), also
#    through a restart of h1's agent during the outage.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
. "$(dirname "$0")/etcd.sh"

require_root
ov_require jq ping iperf3 tcpdump curl
etcd_require
AGENT=${ZH_AGENT:-$(dirname "$ZH")/zerohop-agent}
ZHCTL=${ZHCTL:-$(dirname "$ZH")/zerohop-controller}
[ -x "$AGENT" ] || { tap_fail "zerohop-agent binary $AGENT is missing (run make)"; exit 1; }
[ -x "$ZHCTL" ] || { tap_fail "zerohop-controller binary $ZHCTL is missing (run make)"; exit 1; }

mk_tmpdir T
I1=$ZH_PFX-h1 I2=$ZH_PFX-h2
M1=02:00:00:00:01:11 M2=02:00:00:00:02:12 M3=02:00:00:00:03:13
R=/zerohop/v1

ov_underlay h1 h2 && ov_host s1 201 && ov_host s2 202 || bail "fabric with two hosts and two shards"
ov_vm vm1 h1 p1 $M1 10.1.0.11/24 && ov_vm vm2 h2 p2 $M2 10.2.0.12/24 &&
	ov_vm vm3 h1 p3 $M3 10.3.0.13/24 || bail "the VMs"
etcd_start s1 e1 198.18.0.201 || bail "shard 1's etcd"
etcd_start s2 e2 198.18.0.202 || bail "shard 2's etcd"
EP1=$(etcd_url e1) EP2=$(etcd_url e2)

for u in root agent a-at-b b-at-a; do printf 'pw-%s-%s\n' "$u" "$RANDOM$RANDOM" >"$T/$u.pw"; done
chmod 600 "$T"/*.pw

# sctl SHARD ARGS...: etcdctl on shard 1 or 2 (as root once auth is on).
sctl() {
	local s=$1 ep; shift
	[ "$s" = 1 ] && ep=$EP1 || ep=$EP2
	nsexec "s$s" timeout 30 "$ETCDCTL_BIN" --endpoints "$ep" --dial-timeout 2s \
		--command-timeout 10s ${SCTL_USER:+--user "$SCTL_USER"} "$@"
}
# Auth on both shards: root, and "agent" that may read /zerohop/v1/ (the
# hosts' own credential).
for s in 1 2; do
	sctl $s user add "root:$(cat "$T/root.pw")" --interactive=false >/dev/null &&
		sctl $s role add agent-read >/dev/null &&
		sctl $s role grant-permission agent-read --prefix=true read $R >/dev/null &&
		sctl $s user add "agent:$(cat "$T/agent.pw")" --interactive=false >/dev/null &&
		sctl $s user grant-role agent agent-read >/dev/null &&
		sctl $s auth enable >/dev/null 2>&1 || bail "auth on shard $s"
done
SCTL_USER="root:$(cat "$T/root.pw")"

# The intents of the two shards; b's peering with a only in s2-peered.json.
cat >"$T/s1.json" <<EOF
{"version": "v1",
 "networks": [{"name": "a", "vni": 100, "cidrs": ["10.1.0.0/24"],
   "exports": [{"name": "to-b"}],
   "peerings": [{"peer": "b", "grant": "to-b", "peer_shard": ["$EP2"],
                 "user": "a-at-b", "password_file": "$T/a-at-b.pw",
                 "peer_user": "b-at-a", "peer_password_file": "$T/b-at-a.pw"},
                {"peer": "c", "grant": "to-b"}]},
  {"name": "c", "vni": 300, "cidrs": ["10.3.0.0/24"],
   "exports": [{"name": "to-a", "protocols": ["icmp", "tcp"]}],
   "peerings": [{"peer": "a", "grant": "to-a"}]}],
 "hosts": [{"name": "h1", "underlay": "198.18.0.1", "networks": ["a", "c"],
            "ports": [{"ifname": "p1", "network": "a", "mac": "$M1", "ip": "10.1.0.11"},
                      {"ifname": "p3", "network": "c", "mac": "$M3", "ip": "10.3.0.13"}]}]}
EOF
b_net() {
	cat <<EOF
{"version": "v1",
 "networks": [{"name": "b", "vni": 200, "cidrs": ["10.2.0.0/24"],
   "routes": [{"prefix": "10.2.0.128/25", "host": "h2"}],
   "exports": [{"name": "to-a"}]$1}],
 "hosts": [{"name": "h2", "underlay": "198.18.0.2", "networks": ["b"],
            "ports": [{"ifname": "p2", "network": "b", "mac": "$M2", "ip": "10.2.0.12"}]}]}
EOF
}
b_net "" >"$T/s2.json"
b_net ",
   \"peerings\": [{\"peer\": \"a\", \"grant\": \"to-a\", \"peer_shard\": [\"$EP1\"],
                 \"user\": \"b-at-a\", \"password_file\": \"$T/b-at-a.pw\",
                 \"peer_user\": \"a-at-b\", \"peer_password_file\": \"$T/a-at-b.pw\"}]" >"$T/s2-peered.json"

# apply SHARD FILE
apply() {
	local ep=$EP1
	[ "$1" = 2 ] && ep=$EP2
	nsexec "s$1" timeout 60 "$ZH" apply -f "$2" --etcd "$ep" --user root \
		--password-file "$T/root.pw" >/dev/null
}
apply 1 "$T/s1.json" && apply 2 "$T/s2.json" || bail "apply the intents"

CTL_PID=()
start_ctl() {
	local s=$1 ep=$EP1 net=a,c
	[ "$s" = 2 ] && { ep=$EP2; net=b; }
	bg_nsexec "CTL_PID[$s]" "s$s" timeout 600 "$ZHCTL" --etcd "$ep" --networks $net \
		--user root --password-file "$T/root.pw" 2>>"$T/ctl$s.log"
}
start_ctl 1
start_ctl 2

# --- the agents ----------------------------------------------------------------------

declare -A APID=()
agent_config() {
	local h=$1 ep=$2
	cat >"$T/$h.json" <<EOF
{"instance": "$ZH_PFX-$h", "host": "$h", "uplink": "upl", "underlay_ip": "$(ov_uip "$h")",
 "source": "etcd:$ep", "etcd": {"user": "agent", "password_file": "$T/agent.pw"},
 "metrics": "127.0.0.1:9465", "status_socket": "$T/$h.sock"}
EOF
	zh_track "$h" "$ZH_PFX-$h"
}
agent_start() {
	local pid
	bg_nsexec pid "$1" timeout -s KILL 300 "$AGENT" --config "$T/$1.json" -v 2>>"$T/$1.log"
	APID[$1]=$pid
}
agent_stop() {
	local pid i
	for i in $(seq 50); do pid=$(pgrep -P "${APID[$1]}" | head -n1); [ -z "$pid" ] || break; sleep 0.1; done
	[ -n "$pid" ] && kill -TERM "$pid"
	wait "${APID[$1]}" 2>/dev/null
}
agent_config h1 "$EP1"
agent_config h2 "$EP2"
agent_start h1
agent_start h2

# agent HOST FILTER: jq -r over the agent's status document.
agent() {
	zh "$1" status --json --instance "$ZH_PFX-$1" --agent-socket "$T/$1.sock" |
		jq -r ".instances[0].agent$2"
}
# peer HOST NET PEER FIELD: a field of the agent's peering NET -> PEER.
peer() { agent "$1" " | .peers[]? | select(.network == \"$2\" and .peer == \"$3\") | .$4"; }
# ep HOST VNI IP: "HOST_IP DEST_VNI" of zh_endpoints[(VNI, IP)], or nothing.
ep() {
	zh "$1" show endpoints --json --instance "$ZH_PFX-$1" |
		jq -r --argjson v "$2" --arg ip "$3" \
			'.[] | select(.vni == $v and .ip == $ip and (.local | not)) | "\(.host) \(.dest_vni)"'
}
# rt HOST VNI PREFIX: "HOST DEST_VNI" of zh_routes[(VNI, PREFIX)], or nothing.
rt() {
	zh "$1" show routes --json --instance "$ZH_PFX-$1" |
		jq -r --argjson v "$2" --arg p "$3" \
			'.[] | select(.vni == $v and .prefix == $p) | "\(.host) \(.dest_vni)"'
}
# pols HOST [VNI VNI]: zh_policy, "VNI>PEER_VNI PREFIX PROTOCOLS" sorted,
# on one line; the entries between the two VNIs (default a's and b's).
pols() {
	zh "$1" show policies --json --instance "$ZH_PFX-$1" |
		jq -r --argjson x "${2:-100}" --argjson y "${3:-200}" '.[] |
			select((.vni == $x and .peer_vni == $y) or (.vni == $y and .peer_vni == $x)) |
			"\(.vni)>\(.peer_vni) \(.prefix) \(.protocols | join(","))"' |
		LC_ALL=C sort | paste -sd' '
}
# eventually DESC WANT SECONDS CMD...: CMD prints WANT within SECONDS.
eventually() {
	local desc=$1 want=$2 t=$3 got; shift 3
	for _ in $(seq $((t * 5))); do
		got=$("$@" 2>&1)
		[ "$got" = "$want" ] && break
		sleep 0.2
	done
	expect_eq "$desc" "$got" "$want"
}
metric() { nsexec "$1" curl -s -m 5 http://127.0.0.1:9465/metrics | awk -v s="$2" '$1 == s { print $2 }'; }
synced() {
	[ "$(agent "$1" .connected)" = true ] &&
		[ "$(agent "$1" .ports.attached)" = "$(agent "$1" .ports.desired)" ]
}

for h in h1 h2; do
	for _ in $(seq 150); do synced $h && break; sleep 0.2; done
	check "$h: the agent is connected and attached its port" synced $h
done

# --- one-sided: a peers with b, b does not ---------------------------------------------

eventually "one-sided: h1 knows the peering a -> b" "b" 30 peer h1 a b peer
sleep 2
expect_eq "one-sided: h1 has no entry for vm2" "$(ep h1 100 10.2.0.12)" ""
expect_eq "one-sided: h1 has no policy" "$(pols h1)" ""
st=$(peer h1 a b state)
check "one-sided: the peering is not active on h1 (state $st)" test "$st" != active
expect_eq "one-sided: h2 has no peering (b has no record for a)" "$(agent h2 '.peers | length')" 0
ov_noping "one-sided: vm1 cannot reach vm2" vm1 10.2.0.12

# --- both sides ------------------------------------------------------------------------------

apply 2 "$T/s2-peered.json" || bail "apply b's peering with a"
eventually "both sides: h1 programs vm2 behind h2 with b's VNI" "198.18.0.2 200" 60 ep h1 100 10.2.0.12
eventually "both sides: h2 programs vm1 behind h1 with a's VNI (the reverse entry)" \
	"198.18.0.1 100" 60 ep h2 200 10.1.0.11
eventually "both sides: h1 routes b's 10.2.0.128/25 to h2 with b's VNI" "198.18.0.2 200" 30 \
	rt h1 100 10.2.0.128/25
eventually "both sides: h1 holds both export policies" \
	"100>200 10.1.0.0/24 tcp,udp,icmp,other 200>100 10.2.0.0/24 tcp,udp,icmp,other" 30 pols h1
eventually "both sides: h2 holds both export policies" \
	"100>200 10.1.0.0/24 tcp,udp,icmp,other 200>100 10.2.0.0/24 tcp,udp,icmp,other" 30 pols h2
expect_eq "h1's status: the peering with b is active, b's VNI 200, grants to-a" \
	"$(peer h1 a b state) $(peer h1 a b vni) $(peer h1 a b their_grant) $(peer h1 a b connected)" \
	"active 200 to-a true"
expect_eq "h1's status: 1 endpoint, 1 route, 2 policies of b" \
	"$(peer h1 a b endpoints) $(peer h1 a b routes) $(peer h1 a b policies)" "1 1 2"
status_text=$(zh h1 status --instance "$ZH_PFX-h1" --agent-socket "$T/h1.sock")
expect_eq "h1's zerohop status prints the peering" \
	"$(grep -o 'peer a->b: active, connected, VNI 200, grants [a-z-]* / gets to-a, 1 endpoints, 1 routes, 2 policies' <<<"$status_text" | wc -l)" 1
expect_eq "h1's /metrics: peer b of a active" "$(metric h1 'zerohop_agent_peer_active{network="a",peer="b"}')" 1
expect_eq "h1's /metrics: peer b's endpoints" \
	"$(metric h1 'zerohop_agent_peer_entries{network="a",peer="b",kind="endpoints"}')" 1

ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_capture cap h1 upl 6 8 udp port 4789 || bail "tcpdump on h1's uplink"
ov_ping "both sides: vm1 (a, h1) pings vm2 (b, h2)" vm1 10.2.0.12
ov_capture_wait
check "on the wire: h1's packets to h2 carry b's VNI 200" \
	grep -q "IP 198\.18\.0\.1\.[0-9]* > 198\.18\.0\.2\.4789: VXLAN, flags \[I\] (0x08), vni 200$" "$cap"
check "on the wire: h2's replies to h1 carry a's VNI 100" \
	grep -q "IP 198\.18\.0\.2\.[0-9]* > 198\.18\.0\.1\.4789: VXLAN, flags \[I\] (0x08), vni 100$" "$cap"
expect_grows "h1 counts encap_peer" h1 "$I1" encap_peer 3
expect_still "no drop_rpf on h2" h2 "$I2" drop_rpf
ov_ping "both sides: vm2 pings vm1" vm2 10.1.0.11
ov_iperf "both sides: TCP from vm1 to vm2 (iperf3, 5 MB)" vm1 vm2 10.2.0.12 5M
ov_iperf "both sides: TCP from vm2 to vm1 (iperf3, 5 MB)" vm2 vm1 10.1.0.11 5M

# --- SIGHUP: listed again, the maps stay as they are ----------------------------------

before=$(zh h1 show endpoints --json --instance "$I1"; zh h1 show routes --json --instance "$I1"; pols h1)
ops=$(agent h1 .map_ops)
kill -HUP "$(pgrep -P "${APID[h1]}" | head -n1)"
for _ in $(seq 50); do grep -q "peerings: connecting and listing everything again" "$T/h1.log" && break; sleep 0.2; done
check "SIGHUP: h1's agent connects and lists its peerings again" \
	grep -q "peerings: connecting and listing everything again" "$T/h1.log"
state_connected() { echo "$(peer h1 a b state) $(peer h1 a b connected)"; }
eventually "SIGHUP: the peering with b is active and connected again" "active true" 30 \
	state_connected
sleep 1
expect_eq "SIGHUP: h1's maps are unchanged" \
	"$(zh h1 show endpoints --json --instance "$I1"; zh h1 show routes --json --instance "$I1"; pols h1)" "$before"
expect_eq "SIGHUP: no map writes" "$(agent h1 .map_ops)" "$ops"

# --- a <-> c: one shard, one host ----------------------------------------------------------

eventually "same shard: h1 programs vm3 in a, on this host, with c's VNI" "198.18.0.1 300" 30 \
	ep h1 100 10.3.0.13
eventually "same shard: h1 programs vm1 in c with a's VNI" "198.18.0.1 100" 30 ep h1 300 10.1.0.11
eventually "same shard: both export policies (c's: icmp and tcp)" \
	"100>300 10.1.0.0/24 tcp,udp,icmp,other 300>100 10.3.0.0/24 tcp,icmp" 30 pols h1 100 300
expect_eq "same shard: the peering a -> c has no shard of its own" \
	"$(peer h1 a c state) $(peer h1 a c shard) $(peer h1 a c connected)" "active null true"
ov_mark h1 "$I1"
ov_ping "same host: vm1 (a) pings vm3 (c)" vm1 10.3.0.13
expect_grows "same host: delivered on h1 (fwd_local)" h1 "$I1" fwd_local 6
ov_iperf "same host: TCP from vm3 to vm1" vm3 vm1 10.1.0.11 1M

# --- b's export allows TCP only -------------------------------------------------------------

sctl 2 put $R/networks/b/exports/to-a '{"protocols":["tcp"]}' >/dev/null
eventually "tcp only: h1's sender entry follows b's published view" \
	"100>200 10.1.0.0/24 tcp,udp,icmp,other 200>100 10.2.0.0/24 tcp" 30 pols h1
eventually "tcp only: h2's receiver entry follows b's own export" \
	"100>200 10.1.0.0/24 tcp,udp,icmp,other 200>100 10.2.0.0/24 tcp" 30 pols h2
ov_mark h1 "$I1"; ov_mark h2 "$I2"
ov_capture cap h1 upl 20 5 udp port 4789 || bail "tcpdump on h1's uplink"
ov_noping "tcp only: vm1's ICMP to vm2 is refused" vm1 10.2.0.12
ov_capture_wait
expect_grows "tcp only: h1 (the sender) counts drop_policy" h1 "$I1" drop_policy 2
expect_eq "tcp only: nothing went on the wire" "$(grep -c VXLAN "$cap")" 0
ov_iperf "tcp only: TCP from vm1 to vm2 still flows" vm1 vm2 10.2.0.12 1M
sctl 2 put $R/networks/b/exports/to-a '{}' >/dev/null
eventually "every protocol again on h1" \
	"100>200 10.1.0.0/24 tcp,udp,icmp,other 200>100 10.2.0.0/24 tcp,udp,icmp,other" 30 pols h1

# --- b removes its side ------------------------------------------------------------------------

sctl 2 del $R/networks/b/peerings/a >/dev/null
eventually "b's side removed: h1 withdraws vm2" "" 30 ep h1 100 10.2.0.12
eventually "b's side removed: h1 withdraws b's route" "" 30 rt h1 100 10.2.0.128/25
eventually "b's side removed: h1 withdraws both policies" "" 30 pols h1
eventually "b's side removed: h2 withdraws vm1" "" 30 ep h2 200 10.1.0.11
eventually "b's side removed: h2 withdraws both policies" "" 30 pols h2
expect_eq "b's side removed: h1 calls the peering one-sided" "$(peer h1 a b state)" one-sided
ov_noping "b's side removed: vm1 cannot reach vm2" vm1 10.2.0.12
apply 2 "$T/s2-peered.json" || bail "apply b's peering again"
eventually "b's side back: h1 programs vm2 again" "198.18.0.2 200" 60 ep h1 100 10.2.0.12
eventually "b's side back: h2 programs vm1 again" "198.18.0.1 100" 60 ep h2 200 10.1.0.11
eventually "b's side back: h1's policies" \
	"100>200 10.1.0.0/24 tcp,udp,icmp,other 200>100 10.2.0.0/24 tcp,udp,icmp,other" 30 pols h1
ov_ping "b's side back: vm1 pings vm2" vm1 10.2.0.12

# --- shard 2 goes down: fail static ------------------------------------------------------------

# 1500 pings 10 ms apart (15 s), through the outage and a restart of
# h1's agent; every one must be answered.
bg_nsexec STREAM vm1 ping -q -n -i 0.01 -c 1500 -W 1 -w 75 10.2.0.12 >"$T/stream"
sleep 1
etcd_kill e2 || bail "kill shard 2's etcd"
eventually "shard 2 down: h1 sees peer b disconnected" false 30 peer h1 a b connected
expect_eq "shard 2 down: h1 keeps vm2 (fail static)" "$(ep h1 100 10.2.0.12)" "198.18.0.2 200"
agent_stop h1
agent_start h1
for _ in $(seq 150); do synced h1 && break; sleep 0.2; done
check "shard 2 down: h1's agent restarted and synced its own shard" synced h1
eventually "shard 2 down: after the restart h1 still knows peer b is unreachable" false 30 \
	peer h1 a b connected
for _ in $(seq 50); do grep -q "kept until every peer is known" "$T/h1.log" && break; sleep 0.2; done
check "shard 2 down: the restarted agent kept b's entries (its log says so)" \
	grep -q "kept until every peer is known" "$T/h1.log"
expect_eq "shard 2 down: after the restart h1 still has vm2" "$(ep h1 100 10.2.0.12)" "198.18.0.2 200"
expect_eq "shard 2 down: after the restart h1 still has both policies" "$(pols h1)" \
	"100>200 10.1.0.0/24 tcp,udp,icmp,other 200>100 10.2.0.0/24 tcp,udp,icmp,other"
wait "$STREAM"
tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$T/stream")
rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T/stream")
expect_eq "shard 2 down: vm1 -> vm2 kept forwarding through the outage and the restart" \
	"$tx sent, $rx received" "1500 sent, 1500 received"
ov_ping "shard 2 down: vm2 still pings vm1" vm2 10.1.0.11

for h in h1 h2; do agent_stop $h; done
for s in 1 2; do kill -TERM "${CTL_PID[$s]}" 2>/dev/null; wait "${CTL_PID[$s]}" 2>/dev/null; done
if [ "$_tap_failed" != 0 ]; then
	for f in h1 h2 ctl1 ctl2; do diag "$f:"; tail -n 40 "$T/$f.log" | sed 's/^/#   /'; done
fi
finish
