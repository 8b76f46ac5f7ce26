#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: a small cloud in network namespaces, programmed through the
# control plane. A fabric bridge joins three hosts h1, h2, h3 and two
# controller shards: "ctl" (etcd and a zerohop-controller for blue and
# green) and "ctl2" (etcd and a zerohop-controller for red). A
# zerohop-agent on each host pulls its state from its shard's etcd, and
# `zerohop apply -f` writes the intents:
#
#   shard 1, VNI 100 (blue):  vm1 (h1), vm2 (h2)   same network across hosts
#   shard 1, VNI 300 (green): vm4 (h1)             isolated (same addresses as blue)
#   later, live:              vm6 (h2) joins blue  apply -> maps -> traffic
#   shard 2, VNI 200 (red):   vm3, vm5 (h3)        peered with blue
#
# Proxyless peering: blue and red each name the other in a peering record
# and grant it an export policy; red's grants only 10.0.2.0/28, so vm3
# (10.0.2.13) is published to blue and vm5 (10.0.2.25) is not. Each
# controller publishes its network's view on its own shard, and the agents
# of h1 and h2 read red's view straight from shard 2 (h3's read blue's
# from shard 1): the agent configs name nothing per peer, the peering
# records name the peer's shard. Auth is left off on the shards (with it,
# the peering records name the etcd users, see docs/controller-api.md).
# Deleting red's side of the peering withdraws it on every host.
#
# Exits 0 when every ping that should work works and the isolated and
# unexported ones do not, non-zero otherwise. Everything lives in
# namespaces this script creates; the EXIT trap stops the agents, the
# controllers and both etcds, detaches the instances and removes the
# namespaces and files on every exit path.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
ZH=$BUILD/zerohop
AGENT=$BUILD/zerohop-agent
CTL=$BUILD/zerohop-controller
P=zhdemo
PINS=${ZEROHOP_BPFFS:-/sys/fs/bpf}/zerohop
# The two shards, inside the demo's namespaces only.
ETCD_URL=http://198.18.0.100:12379    # shard 1, namespace ctl
ETCD2_URL=http://198.18.0.200:12379   # shard 2, namespace ctl2
R=/zerohop/v1

[ "$(id -u)" -eq 0 ] || { echo "make demo: must run as root (sudo make demo)" >&2; exit 1; }
for f in "$ZH" "$AGENT" "$CTL"; do
	[ -x "$f" ] || { echo "make demo: $f is missing; run make first" >&2; exit 1; }
done
for t in etcd etcdctl jq curl bpftool; do
	command -v "$t" >/dev/null || { echo "make demo: needs $t (make deps installs it)" >&2; exit 1; }
done

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$P-$ns" "$@"; }
zh() { local ns=$1; shift; in_ns "$ns" "$ZH" "$@"; }
# run HOST ARGS...: show and run `zerohop ARGS` on HOST.
run() { local ns=$1; shift; echo "$ns\$ zerohop $*"; zh "$ns" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '\033[2m%s\033[0m\n' "$@"; }
die() { printf '\n\033[1;31mmake demo: FAILED: %s\033[0m\n' "$*" >&2; exit 1; }

HOSTS=(h1 h2 h3)
NAMESPACES=(fab ctl ctl2 h1 h2 h3 vm1 vm2 vm3 vm4 vm5 vm6)
declare -A AGENT_PID=() CTL_PID=() ETCD_PID=()
TMP=""
# agent_of INSTANCE: the pid its agent reports on its status socket, if any.
agent_of() {
	"$ZH" status --json --instance "$1" 2>/dev/null | jq -r '.instances[0].agent.pid // empty' 2>/dev/null || true
}
# stop PID: SIGTERM, up to 5 s to exit, then SIGKILL.
stop() {
	local i
	kill -TERM "$1" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
	local h ns pid
	# Agents first: an agent attaches its instance again after a detach.
	for h in "${HOSTS[@]}"; do
		pid=${AGENT_PID[$h]:-$(agent_of "$P-$h")}
		[ -z "$pid" ] || stop "$pid"
	done
	# Then the controllers, before their etcds.
	for pid in "${CTL_PID[@]}"; do stop "$pid"; done
	for pid in "${ETCD_PID[@]}"; do stop "$pid"; done
	# Whatever is still running in the demo's namespaces (left by a run
	# that was killed): its agents, controllers and etcds.
	for ns in "${NAMESPACES[@]}"; do
		[ -e "/run/netns/$P-$ns" ] || continue
		for pid in $(ip netns pids "$P-$ns" 2>/dev/null); do stop "$pid"; done
	done
	for h in "${HOSTS[@]}"; do
		zh "$h" detach --instance "$P-$h" >/dev/null 2>&1 || true
		[ ! -S "/run/zerohop/agent-$P-$h.sock" ] || rm -f "/run/zerohop/agent-$P-$h.sock"
	done
	for ns in "${NAMESPACES[@]}"; do ip netns del "$P-$ns" 2>/dev/null || true; done
	[ -z "$TMP" ] || rm -rf -- "$TMP"
	AGENT_PID=() CTL_PID=() ETCD_PID=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup
TMP=$(mktemp -d /tmp/zhdemo.XXXXXX)

# VM table: name, host, VNI, address, MAC (vm6 comes later, live).
VMS=("vm1 h1 100 10.0.1.11 02:00:0a:00:01:0b"
	"vm2 h2 100 10.0.1.12 02:00:0a:00:01:0c"
	"vm4 h1 300 10.0.1.14 02:00:0a:00:01:0e"
	"vm3 h3 200 10.0.2.13 02:00:0a:00:02:0d"
	"vm5 h3 200 10.0.2.25 02:00:0a:00:02:19")
declare -A UIP=([h1]=198.18.0.1 [h2]=198.18.0.2 [h3]=198.18.0.3)
declare -A SHARD_URL=([h1]=$ETCD_URL [h2]=$ETCD_URL [h3]=$ETCD2_URL)

say "Topology (all in network namespaces)"
cat <<'PIC'
   ctl 198.18.0.100: etcd, zerohop-controller     ctl2 198.18.0.200: etcd, zerohop-controller
     shard 1: networks blue, green                  shard 2: network red
         |                                              |
   ======+=== fabric bridge br0 ========+===============+==============+=============
         |                              |                              |
   h1 198.18.0.1  agent           h2 198.18.0.2  agent           h3 198.18.0.3  agent
     (reads shard 1)                (reads shard 1)                (reads shard 2)
     vm1 10.0.1.11 (VNI 100 blue)   vm2 10.0.1.12 (VNI 100 blue)   vm3 10.0.2.13 (VNI 200 red)
     vm4 10.0.1.14 (VNI 300 green,  vm6 10.0.1.16 (VNI 100 blue,   vm5 10.0.2.25 (VNI 200 red,
                    isolated)                      added live)                    not exported)
   underlay 198.18.0.0/24; blue <--peered--> red: the hosts of each read the other's
   published view straight from its shard
PIC
for ns in "${NAMESPACES[@]}"; do
	ip netns add "$P-$ns"
	ip -n "$P-$ns" link set lo up
	in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$P-fab" link add br0 type bridge
ip -n "$P-fab" link set br0 up
# link NS IFNAME CIDR: a veth from NS into the fabric bridge.
link() {
	ip link add "$2" netns "$P-$1" type veth peer name "$1-$2" netns "$P-fab"
	ip -n "$P-fab" link set "$1-$2" master br0 up
	ip -n "$P-$1" addr add "$3" dev "$2"
	ip -n "$P-$1" link set "$2" up
}
link ctl uplink 198.18.0.100/24
link ctl2 uplink 198.18.0.200/24
for h in "${HOSTS[@]}"; do link "$h" uplink "${UIP[$h]}/24"; done
# vm NAME HOST ADDR MAC: the VM's NIC, a veth whose host side "<vm>-port"
# is the port.
vm() {
	ip link add "$1-port" netns "$P-$2" type veth peer name eth0 netns "$P-$1"
	ip -n "$P-$1" link set dev eth0 address "$4" mtu 1450
	ip -n "$P-$1" addr add "$3/24" dev eth0
	ip -n "$P-$2" link set "$1-port" up
	ip -n "$P-$1" link set eth0 up
	ip -n "$P-$1" route add default via "${3%.*}.1"
}
for row in "${VMS[@]}"; do
	read -r name h _ ip mac <<<"$row"
	vm "$name" "$h" "$ip" "$mac"
done

say "The controller shards: etcd and a zerohop-controller in namespaces ctl and ctl2"
# etcd_start NS ADDR: etcd on ADDR:12379 (client) and :12380 (peer) in
# namespace NS, data in $TMP/NS.etcd.
etcd_start() {
	echo "$1\$ etcd --listen-client-urls http://$2:12379 ... (data in $TMP/$1.etcd)"
	# (nsenter, not in_ns: $! must be timeout's pid, not a subshell's)
	nsenter --net="/run/netns/$P-$1" timeout 300 etcd --name "$1" --data-dir "$TMP/$1.etcd" \
		--listen-client-urls "http://$2:12379" --advertise-client-urls "http://$2:12379" \
		--listen-peer-urls "http://$2:12380" --initial-advertise-peer-urls "http://$2:12380" \
		--initial-cluster "$1=http://$2:12380" >"$TMP/$1.etcd.log" 2>&1 &
	ETCD_PID[$1]=$!
}
etcd_start ctl 198.18.0.100
etcd_start ctl2 198.18.0.200
for row in "ctl $ETCD_URL" "ctl2 $ETCD2_URL"; do
	read -r ns url <<<"$row"
	for i in $(seq 100); do
		in_ns "$ns" curl -s -m 1 "$url/health" 2>/dev/null | grep -q '"health":"true"' && break
		[ "$i" -lt 100 ] || { tail -n 5 "$TMP/$ns.etcd.log"; die "$ns's etcd did not start"; }
		sleep 0.2
	done
done
echo "    both are healthy"
# ctl_start NS URL NETWORKS: the shard's zerohop-controller, log $TMP/NS.ctl.log.
ctl_start() {
	echo "$1\$ zerohop-controller --etcd $2 --networks $3 &"
	nsenter --net="/run/netns/$P-$1" timeout 300 "$CTL" --etcd "$2" --networks "$3" \
		>"$TMP/$1.ctl.log" 2>&1 &
	CTL_PID[$1]=$!   # timeout's pid: a TERM reaches the controller through it
}
ctl_start ctl "$ETCD_URL" blue,green
ctl_start ctl2 "$ETCD2_URL" red

# intent [LIVE] [PEERED]: shard 1's intent file; LIVE adds vm6's port on
# h2, PEERED blue's export policy and its peering with red.
intent() {
	local vm6="" peer=""
	[ "${1:-}" != live ] ||
		vm6=',
        {"ifname": "vm6-port", "network": "blue", "mac": "02:00:0a:00:01:10", "ip": "10.0.1.16"}'
	[ "${2:-}" != peered ] ||
		peer=',
      "exports": [{"name": "to-red"}],
      "peerings": [{"peer": "red", "grant": "to-red", "peer_shard": ["'"$ETCD2_URL"'"]}]'
	cat <<EOF
{
  "version": "v1",
  "networks": [
    {"name": "blue", "vni": 100, "cidrs": ["10.0.1.0/24"]$peer},
    {"name": "green", "vni": 300, "cidrs": ["10.0.1.0/24"]}
  ],
  "hosts": [
    {"name": "h1", "underlay": "198.18.0.1", "networks": ["blue", "green"],
      "ports": [
        {"ifname": "vm1-port", "network": "blue", "mac": "02:00:0a:00:01:0b", "ip": "10.0.1.11"},
        {"ifname": "vm4-port", "network": "green", "mac": "02:00:0a:00:01:0e", "ip": "10.0.1.14"}
      ]},
    {"name": "h2", "underlay": "198.18.0.2", "networks": ["blue"],
      "ports": [
        {"ifname": "vm2-port", "network": "blue", "mac": "02:00:0a:00:01:0c", "ip": "10.0.1.12"}$vm6
      ]}
  ]
}
EOF
}
# intent2 [PEERED]: shard 2's intent file; PEERED adds red's export policy
# (only 10.0.2.0/28: vm3, not vm5) and its peering with blue.
intent2() {
	local peer=""
	[ "${1:-}" != peered ] ||
		peer=',
      "exports": [{"name": "to-blue", "prefixes": ["10.0.2.0/28"]}],
      "peerings": [{"peer": "blue", "grant": "to-blue", "peer_shard": ["'"$ETCD_URL"'"]}]'
	cat <<EOF
{
  "version": "v1",
  "networks": [
    {"name": "red", "vni": 200, "cidrs": ["10.0.2.0/24"]$peer}
  ],
  "hosts": [
    {"name": "h3", "underlay": "198.18.0.3", "networks": ["red"],
      "ports": [
        {"ifname": "vm3-port", "network": "red", "mac": "02:00:0a:00:02:0d", "ip": "10.0.2.13"},
        {"ifname": "vm5-port", "network": "red", "mac": "02:00:0a:00:02:19", "ip": "10.0.2.25"}
      ]}
  ]
}
EOF
}
# apply NS URL FILE: show and run `zerohop apply` on a shard.
apply() {
	local out
	echo "$1\$ zerohop apply -f ${3##*/} --etcd $2"
	out=$(zh "$1" apply -f "$3" --etcd "$2" 2>&1) || { echo "$out"; die "zerohop apply -f ${3##*/} on $1"; }
	sed 's/^/    /' <<<"$out"
}
say "The intents: networks, hosts and VM ports ($TMP/intent.json, intent2.json)"
intent >"$TMP/intent.json"
intent2 >"$TMP/intent2.json"
cat "$TMP/intent.json"
apply ctl "$ETCD_URL" "$TMP/intent.json"
echo "shard 2's intent2.json: network red, host h3"
cat "$TMP/intent2.json"
apply ctl2 "$ETCD2_URL" "$TMP/intent2.json"

say "A zerohop-agent on each host, source its shard's etcd"
for h in "${HOSTS[@]}"; do
	cat >"$TMP/$h.json" <<EOF
{"instance": "$P-$h", "host": "$h", "uplink": "uplink", "underlay_ip": "${UIP[$h]}",
 "source": "etcd:${SHARD_URL[$h]}", "metrics": "127.0.0.1:9465"}
EOF
done
echo "h1's agent.json (h2's is alike, h3's names shard 2):"
sed 's/^/    /' "$TMP/h1.json"
for h in "${HOSTS[@]}"; do
	echo "$h\$ zerohop-agent --config agent.json -v &"
	nsenter --net="/run/netns/$P-$h" timeout 300 "$AGENT" --config "$TMP/$h.json" -v \
		>"$TMP/$h.log" 2>&1 &
	AGENT_PID[$h]=$!   # timeout's pid: a TERM reaches the agent through it
done
# synced HOST N: HOST's agent is connected and has N ports attached.
synced() {
	[ "$(zh "$1" status --json --instance "$P-$1" 2>/dev/null |
		jq -r '.instances[0].agent | "\(.connected) \(.ports.attached)"' 2>/dev/null)" = "true $2" ]
}
declare -A NPORTS=([h1]=2 [h2]=1 [h3]=2)
for h in "${HOSTS[@]}"; do
	for i in $(seq 100); do
		synced "$h" "${NPORTS[$h]}" && break
		[ "$i" -lt 100 ] || { tail -n 10 "$TMP/$h.log"; die "$h's agent did not sync within 20 s"; }
		sleep 0.2
	done
done
echo "h1's agent log:"
sed 's/^/    /' "$TMP/h1.log"

say "What the agent reports: zerohop status (the agent's lines at the end)"
echo "h1\$ zerohop status --instance $P-h1"
zh h1 status --instance "$P-h1" | awk '/^  counters:/ { skip = 1; print "  counters: ..."; next }
	/^  agent:/ { skip = 0 } !skip' | sed 's/^/    /'
for h in h1 h2; do
	echo
	run "$h" show endpoints --instance "$P-$h"
done

# ping_ok FROM TO WHAT: 3 bounded pings that must all be answered.
ping_ok() {
	local out
	echo "$1\$ ping -c 3 $2    # $3"
	if out=$(in_ns "$1" ping -n -q -c 3 -i 0.2 -W 1 -w 5 "$2" 2>&1); then
		grep -E 'packets transmitted|rtt' <<<"$out" | sed 's/^/    /'
	else
		printf '%s\n' "$out" | sed 's/^/    /'
		die "$1 -> $2 ($3) should work"
	fi
}
# ping_blocked FROM TO WHAT: 2 bounded pings that must all go unanswered.
ping_blocked() {
	local out
	echo "$1\$ ping -c 2 $2    # $3"
	if out=$(in_ns "$1" ping -n -q -c 2 -i 0.2 -W 1 "$2" 2>&1); then
		printf '%s\n' "$out" | sed 's/^/    /'
		die "$1 -> $2 ($3) should be blocked"
	fi
	grep -E 'packets transmitted' <<<"$out" | sed 's/^/    /'
	echo "    (no answer, as it should be)"
}
counter() { zh "$1" show stats --json --instance "$2" | jq -r ".$3"; }

say "Traffic on the agents' state"
ping_ok vm1 10.0.1.12 "VNI 100 across hosts: VXLAN h1 -> h2"
ping_ok vm2 10.0.1.11 "and back"
before=$(counter h1 "$P-h1" drop_no_route)
ping_blocked vm4 10.0.1.11 "VNI 300 is isolated: there is no 10.0.1.11 in it"
after=$(counter h1 "$P-h1" drop_no_route)
echo "    h1 drop_no_route: $before -> $after"
[ "$after" -ge $((before + 2)) ] || die "h1 should count vm4's pings in drop_no_route"

say "A change, live: vm6 joins blue on h2"
intent live >"$TMP/intent.json"
echo "(intent.json gets vm6's port on h2)"
apply ctl "$ETCD_URL" "$TMP/intent.json"
t0=$(date +%s%N)
has_vm6() {
	zh h1 show endpoints --json --instance "$P-h1" | jq -e 'any(.[]; .ip == "10.0.1.16")' >/dev/null
}
for i in $(seq 200); do
	has_vm6 && break
	[ "$i" -lt 200 ] || die "h1's map did not get vm6's endpoint within 10 s"
	sleep 0.05
done
echo "    h1's zh_endpoints has 10.0.1.16 $((($(date +%s%N) - t0) / 1000000)) ms after apply returned"
echo "    (h2's agent waits for the interface vm6-port; the VM starts now)"
vm vm6 h2 10.0.1.16 02:00:0a:00:01:10
for i in $(seq 100); do
	synced h2 2 && break
	[ "$i" -lt 100 ] || { tail -n 5 "$TMP/h2.log"; die "h2's agent did not attach vm6-port"; }
	sleep 0.1
done
grep -F "port vm6-port attached" "$TMP/h2.log" | sed 's/^/    h2: /'
ping_ok vm1 10.0.1.16 "the new VM, across hosts"
run h1 show endpoints --instance "$P-h1"

say "The agent's /metrics (a few lines of h1's)"
echo "h1\$ curl -s http://127.0.0.1:9465/metrics | grep ..."
in_ns h1 curl -s -m 5 http://127.0.0.1:9465/metrics | grep -E \
	'^zerohop_agent_(source_connected|revision|events_total|reconciles_total|map_ops_total)|^zerohop_agent_errors_total\{kind="bad_record"\}|^zerohop_agent_reconcile_latency_seconds_(count|sum)|^zerohop_map_entries\{map="zh_endpoints"\}|^zerohop_datapath_packets_total\{counter="(encap_vxlan|drop_no_route)"\}' |
	sed 's/^/    /'

say "Proxyless peering through the control plane: blue (shard 1) <-> red (shard 2)"
note "Each side names the other in a peering record (with the peer's shard) and" \
	"grants it an export policy: blue grants red all of blue, red grants blue only" \
	"10.0.2.0/28 (vm3, not vm5). The agent configs stay as they are."
intent live peered >"$TMP/intent.json"
intent2 peered >"$TMP/intent2.json"
echo "intent.json, blue gets:"
jq -c '.networks[] | select(.name == "blue") | {exports, peerings}' "$TMP/intent.json" | sed 's/^/    /'
echo "intent2.json, red gets:"
jq -c '.networks[] | select(.name == "red") | {exports, peerings}' "$TMP/intent2.json" | sed 's/^/    /'
apply ctl "$ETCD_URL" "$TMP/intent.json"
apply ctl2 "$ETCD2_URL" "$TMP/intent2.json"
t0=$(date +%s%N)
# peer_ep HOST VNI IP: "HOST_IP DEST_VNI" of HOST's zh_endpoints[(VNI, IP)]
# when it leads into another VNI, or nothing.
peer_ep() {
	zh "$1" show endpoints --json --instance "$P-$1" 2>/dev/null |
		jq -r --argjson v "$2" --arg ip "$3" \
			'.[] | select(.vni == $v and .ip == $ip and (.local | not) and .dest_vni != .vni) |
				"\(.host) \(.dest_vni)"'
}
# wait_ep HOST VNI IP WANT: HOST's peer entry becomes WANT within 30 s.
wait_ep() {
	for i in $(seq 150); do
		[ "$(peer_ep "$1" "$2" "$3")" != "$4" ] || return 0
		sleep 0.2
	done
	tail -n 10 "$TMP/$1.log"
	die "$1: zh_endpoints[VNI $2, $3] is not \"$4\" within 30 s"
}
wait_ep h1 100 10.0.2.13 "198.18.0.3 200"
wait_ep h2 100 10.0.2.13 "198.18.0.3 200"
wait_ep h3 200 10.0.1.11 "198.18.0.1 100"
echo "    h1, h2 and h3 hold each other's peer VMs $((($(date +%s%N) - t0) / 1000000)) ms after the applies returned"
echo "ctl2's controller log:"
sed 's/^/    /' "$TMP/ctl2.ctl.log"
echo
echo "ctl2\$ etcdctl --endpoints $ETCD2_URL get --prefix --keys-only $R/published/"
note "(red's view for blue on shard 2, written by its controller: vm5 is not in it)"
# etcdctl2 ARGS...: etcdctl on shard 2, from namespace ctl2.
etcdctl2() { in_ns ctl2 timeout 10 etcdctl --endpoints "$ETCD2_URL" "$@"; }
out=$(etcdctl2 get --prefix --keys-only "$R/published/") || die "etcdctl get on shard 2"
grep . <<<"$out" | sed 's/^/    /'
echo "ctl2\$ etcdctl --endpoints $ETCD2_URL get --print-value-only $R/published/red/to-blue/meta"
out=$(etcdctl2 get --print-value-only "$R/published/red/to-blue/meta") || die "etcdctl get on shard 2"
sed 's/^/    /' <<<"$out"
# peer_lines HOST: show the peering lines of HOST's zerohop status.
peer_lines() {
	local st
	echo "$1\$ zerohop status --instance $P-$1 | grep peer"
	st=$(zh "$1" status --instance "$P-$1") || die "zerohop status on $1"
	grep -E '^ *peer ' <<<"$st" | sed 's/^ */    /' || die "$1's zerohop status has no peering"
}
peer_lines h1
peer_lines h3
run h1 show endpoints --instance "$P-h1"
run h1 show policies --instance "$P-h1"

ping_ok vm1 10.0.2.13 "blue -> red: h1 sends it with red's VNI 200 straight to h3"
ping_ok vm3 10.0.1.11 "red -> blue: h3 sends it with blue's VNI 100 straight to h1"
ping_ok vm3 10.0.1.12 "red -> blue on h2"
before=$(counter h1 "$P-h1" drop_no_route)
ping_blocked vm1 10.0.2.25 "vm5: red does not export it to blue, h1 has no entry"
after=$(counter h1 "$P-h1" drop_no_route)
echo "    h1 drop_no_route: $before -> $after"
[ "$after" -ge $((before + 2)) ] || die "h1 should count the pings to vm5 in drop_no_route"
for h in h1 h3; do
	n=$(counter "$h" "$P-$h" encap_peer)
	echo "    $h encap_peer: $n"
	[ "$n" -gt 0 ] || die "$h should count its packets to the peer in encap_peer"
done

echo
echo "Red withdraws: its side of the peering goes (the peering needs both)"
echo "ctl2\$ etcdctl --endpoints $ETCD2_URL del $R/networks/red/peerings/blue"
out=$(etcdctl2 del "$R/networks/red/peerings/blue") || die "etcdctl del on shard 2"
sed 's/^/    /' <<<"$out"
t0=$(date +%s%N)
wait_ep h1 100 10.0.2.13 ""
wait_ep h2 100 10.0.2.13 ""
wait_ep h3 200 10.0.1.11 ""
echo "    h1, h2 and h3 withdrew the peer entries $((($(date +%s%N) - t0) / 1000000)) ms after the delete"
peer_lines h1
ping_blocked vm1 10.0.2.13 "the peering is withdrawn"

say "Counters of h1's agent instance (non-zero rows of zerohop show stats)"
echo "h1\$ zerohop show stats --instance $P-h1"
zh h1 show stats --instance "$P-h1" | awk 'NR == 1 || $2 != 0' | sed 's/^/    /'

say "Maps are BTF-typed: bpftool map dump pinned $PINS/$P-h1/zh_endpoints | head -n 24"
# (read it all first: head closing the pipe early would kill bpftool)
dump=$(bpftool map dump pinned "$PINS/$P-h1/zh_endpoints")
head -n 24 <<<"$dump"

say "Clean up: agents stopped (SIGTERM), instances detached, controllers and etcds stopped, namespaces removed"
cleanup
trap - EXIT
say "Demo done: every expected path worked, the isolated and unexported ones stayed closed"
