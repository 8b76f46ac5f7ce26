#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: a small cloud in network namespaces, programmed through the
# control plane. A fabric bridge joins two hosts h1, h2 and a controller
# namespace "ctl" that runs etcd; a zerohop-agent on each host pulls its
# state from etcd, and `zerohop apply -f` writes the intent:
#
#   VNI 100 (blue):  vm1 (h1), vm2 (h2)      same network across hosts
#   VNI 300 (green): vm4 (h1)                isolated (same addresses as blue)
#   later, live:     vm6 (h2) joins blue     apply -> maps -> traffic
#
# Proxyless peering (VNI 200 peered with VNI 100) is programmed by hand with
# `endpoint add --dest-vni` on separate instances: an agent owns its
# instance's maps and sweeps entries that are not in etcd, and peering
# through the control plane is a later step.
#
# Exits 0 when every ping that should work works and the isolated one does
# not, non-zero otherwise. Everything lives in namespaces this script
# creates; the EXIT trap stops the agents and etcd, detaches the instances
# and removes the namespaces and files on every exit path.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$top/build}
ZH=$BUILD/zerohop
AGENT=$BUILD/zerohop-agent
P=zhdemo
PINS=${ZEROHOP_BPFFS:-/sys/fs/bpf}/zerohop
ETCD_URL=http://198.18.0.100:12379   # inside the demo's namespaces only

[ "$(id -u)" -eq 0 ] || { echo "make demo: must run as root (sudo make demo)" >&2; exit 1; }
for f in "$ZH" "$AGENT"; do
	[ -x "$f" ] || { echo "make demo: $f is missing; run make first" >&2; exit 1; }
done
for t in etcd jq curl bpftool; do
	command -v "$t" >/dev/null || { echo "make demo: needs $t (make deps installs it)" >&2; exit 1; }
done

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$P-$ns" "$@"; }
zh() { local ns=$1; shift; in_ns "$ns" "$ZH" "$@"; }
# run HOST ARGS...: show and run `zerohop ARGS` on HOST.
run() { local ns=$1; shift; echo "$ns\$ zerohop $*"; zh "$ns" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '\033[2m%s\033[0m\n' "$@"; }
die() { printf '\n\033[1;31mmake demo: FAILED: %s\033[0m\n' "$*" >&2; exit 1; }

NAMESPACES=(fab ctl h1 h2 vm1 vm2 vm3 vm4 vm5 vm6)
INSTANCES=("h1 $P-h1" "h2 $P-h2" "h1 $P-p1" "h2 $P-p2")
declare -A AGENT_PID=()
ETCD_PID=""
TMP=""
# agent_of INSTANCE: the pid its agent reports on its status socket, if any.
agent_of() {
	"$ZH" status --json --instance "$1" 2>/dev/null | jq -r '.instances[0].agent.pid // empty' 2>/dev/null || true
}
cleanup() {
	local h row pid i
	# Agents first: an agent attaches its instance again after a detach.
	for h in h1 h2; do
		pid=${AGENT_PID[$h]:-$(agent_of "$P-$h")}
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null || continue
		for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	done
	for row in "${INSTANCES[@]}"; do
		zh "${row% *}" detach --instance "${row#* }" >/dev/null 2>&1 || true
	done
	for h in h1 h2; do
		[ ! -S "/run/zerohop/agent-$P-$h.sock" ] || rm -f "/run/zerohop/agent-$P-$h.sock"
	done
	if [ -n "$ETCD_PID" ] && kill "$ETCD_PID" 2>/dev/null; then
		for i in $(seq 50); do kill -0 "$ETCD_PID" 2>/dev/null || break; sleep 0.1; done
	fi
	for ns in "${NAMESPACES[@]}"; do ip netns del "$P-$ns" 2>/dev/null || true; done
	[ -z "$TMP" ] || rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup
TMP=$(mktemp -d /tmp/zhdemo.XXXXXX)

# VM table: name, host, VNI, address, MAC. vm1, vm2, vm4 (and later vm6)
# are the agents'; vm3 and vm5 sit on the hand-programmed peering instances.
VMS=("vm1 h1 100 10.0.1.11 02:00:0a:00:01:0b"
	"vm2 h2 100 10.0.1.12 02:00:0a:00:01:0c"
	"vm4 h1 300 10.0.1.14 02:00:0a:00:01:0e"
	"vm5 h1 100 10.0.1.15 02:00:0a:00:01:0f"
	"vm3 h2 200 10.0.2.13 02:00:0a:00:02:0d")
declare -A UIP=([h1]=198.18.0.1 [h2]=198.18.0.2) PIP=([h1]=198.18.1.1 [h2]=198.18.1.2)

say "Topology (all in network namespaces)"
cat <<'PIC'
   ctl 198.18.0.100: etcd                 (controller store)
         |
   ======+============ fabric bridge br0, underlay 198.18.0.0/24 ============
         |                                          |
   h1 198.18.0.1  zerohop-agent                h2 198.18.0.2  zerohop-agent
     vm1 10.0.1.11 (VNI 100)                     vm2 10.0.1.12 (VNI 100)
     vm4 10.0.1.14 (VNI 300, isolated)           vm6 10.0.1.16 (VNI 100, added live)
   peering instances on bridge br1, 198.18.1.0/24, programmed by hand:
     vm5 10.0.1.15 (VNI 100)      <--peered-->    vm3 10.0.2.13 (VNI 200)
PIC
for ns in "${NAMESPACES[@]}"; do
	ip netns add "$P-$ns"
	ip -n "$P-$ns" link set lo up
	in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
for br in br0 br1; do
	ip -n "$P-fab" link add "$br" type bridge
	ip -n "$P-fab" link set "$br" up
done
# link NS IFNAME BRIDGE CIDR: a veth from NS into a fabric bridge.
link() {
	ip link add "$2" netns "$P-$1" type veth peer name "$1-$2" netns "$P-fab"
	ip -n "$P-fab" link set "$1-$2" master "$3" up
	ip -n "$P-$1" addr add "$4" dev "$2"
	ip -n "$P-$1" link set "$2" up
}
link ctl uplink br0 198.18.0.100/24
for h in h1 h2; do
	link "$h" uplink br0 "${UIP[$h]}/24"
	link "$h" uplink2 br1 "${PIP[$h]}/24"
done
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

say "The controller store: etcd in namespace ctl"
echo "ctl\$ etcd --listen-client-urls $ETCD_URL ... (data in $TMP/etcd)"
# (nsenter, not in_ns: $! must be timeout's pid, not a subshell's)
nsenter --net="/run/netns/$P-ctl" timeout 300 etcd --name ctl --data-dir "$TMP/etcd" \
	--listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
	--listen-peer-urls http://198.18.0.100:12380 --initial-advertise-peer-urls http://198.18.0.100:12380 \
	--initial-cluster ctl=http://198.18.0.100:12380 >"$TMP/etcd.log" 2>&1 &
ETCD_PID=$!
for i in $(seq 100); do
	in_ns ctl curl -s -m 1 "$ETCD_URL/health" 2>/dev/null | grep -q '"health":"true"' && break
	[ "$i" -lt 100 ] || { tail -n 5 "$TMP/etcd.log"; die "etcd did not start"; }
	sleep 0.2
done
echo "    etcd is healthy"

# intent [LIVE]: the intent file; LIVE adds vm6's port on h2.
intent() {
	local vm6=""
	[ -z "${1:-}" ] ||
		vm6=',
        {"ifname": "vm6-port", "network": "blue", "mac": "02:00:0a:00:01:10", "ip": "10.0.1.16"}'
	cat <<EOF
{
  "version": "v1",
  "networks": [
    {"name": "blue", "vni": 100, "cidrs": ["10.0.1.0/24"]},
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
say "The intent: networks, hosts and VM ports ($TMP/intent.json)"
intent >"$TMP/intent.json"
cat "$TMP/intent.json"
echo "ctl\$ zerohop apply -f intent.json --etcd $ETCD_URL"
zh ctl apply -f "$TMP/intent.json" --etcd "$ETCD_URL" || die "zerohop apply"

say "A zerohop-agent on each host, source etcd"
for h in h1 h2; do
	cat >"$TMP/$h.json" <<EOF
{"instance": "$P-$h", "host": "$h", "uplink": "uplink", "underlay_ip": "${UIP[$h]}",
 "source": "etcd:$ETCD_URL", "metrics": "127.0.0.1:9465"}
EOF
done
echo "h1's agent.json:"
sed 's/^/    /' "$TMP/h1.json"
for h in h1 h2; do
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
for h in h1 h2; do
	for i in $(seq 100); do
		synced "$h" "$([ "$h" = h1 ] && echo 2 || echo 1)" && break
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
echo "ctl\$ zerohop apply -f intent.json --etcd $ETCD_URL"
zh ctl apply -f "$TMP/intent.json" --etcd "$ETCD_URL" || die "zerohop apply"
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

say "Proxyless peering (VNI 100 <-> VNI 200), programmed by hand"
note "An agent owns its instance's maps: at every resync (start, SIGHUP, a re-list)" \
	"it deletes remote endpoints that are not in etcd, so hand-made peer endpoints" \
	"would not last there. Until peering comes through the control plane, this part" \
	"runs on separate instances ($P-p1, $P-p2) with uplinks on bridge br1."
for h in h1 h2; do
	run "$h" attach --instance "$P-p${h#h}" --uplink uplink2 --underlay-ip "${PIP[$h]}"
done
run h1 port add --instance "$P-p1" vm5-port --vni 100 --mac 02:00:0a:00:01:0f --ip 10.0.1.15
run h2 port add --instance "$P-p2" vm3-port --vni 200 --mac 02:00:0a:00:02:0d --ip 10.0.2.13
# h1, VNI 100: vm3 of the peered VNI 200 on h2, reached directly.
run h1 endpoint add --instance "$P-p1" --vni 100 --ip 10.0.2.13 --mac 02:00:0a:00:02:0d --host 198.18.1.2 --dest-vni 200
# h2, VNI 200: vm5 of the peered VNI 100 on h1.
run h2 endpoint add --instance "$P-p2" --vni 200 --ip 10.0.1.15 --mac 02:00:0a:00:01:0f --host 198.18.1.1 --dest-vni 100
# Export policies: what each network lets the other reach (checked by the
# sender and again by the receiver; key = the network owning the address).
for h in h1 h2; do
	run "$h" policy add --instance "$P-p${h#h}" --vni 200 --peer-vni 100 --prefix 10.0.2.13/32 --protocols any
	run "$h" policy add --instance "$P-p${h#h}" --vni 100 --peer-vni 200 --prefix 10.0.1.15/32 --protocols any
done
run h1 show endpoints --instance "$P-p1"
ping_ok vm5 10.0.2.13 "VNI 100 -> peered VNI 200: sent with VNI 200 straight to h2"
ping_ok vm3 10.0.1.15 "VNI 200 -> peered VNI 100: sent with VNI 100 straight to h1"
echo "    h1 ($P-p1) encap_peer: $(counter h1 "$P-p1" encap_peer)"

say "Counters of h1's agent instance (non-zero rows of zerohop show stats)"
echo "h1\$ zerohop show stats --instance $P-h1"
zh h1 show stats --instance "$P-h1" | awk 'NR == 1 || $2 != 0' | sed 's/^/    /'

say "Maps are BTF-typed: bpftool map dump pinned $PINS/$P-h1/zh_endpoints | head -n 24"
# (read it all first: head closing the pipe early would kill bpftool)
dump=$(bpftool map dump pinned "$PINS/$P-h1/zh_endpoints")
head -n 24 <<<"$dump"

say "Clean up: agents stopped (SIGTERM), instances detached, etcd stopped, namespaces removed"
cleanup
trap - EXIT
say "Demo done: every expected path worked, the isolated one stayed closed"
