#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: two namespace "hosts" h1, h2 joined by a veth underlay, VMs
# (namespaces) on ports of their hosts in three virtual networks:
#
#   VNI 100: vm1 (h1), vm2 (h2)        same network across hosts
#   VNI 200: vm3 (h2)                  peered with VNI 100 (proxyless)
#   VNI 300: vm4 (h1)                  isolated
#
# zerohop is programmed with `port add` and `endpoint add` (peer endpoints
# with --dest-vni), then pings show what reaches what and the counters and
# maps show why. Exits 0 when every ping that should work works and the
# isolated one does not, non-zero otherwise. Everything lives in namespaces
# this script creates; the EXIT trap removes them on every exit path.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ZH=$top/build/zerohop
P=zhdemo
PINS=${ZEROHOP_BPFFS:-/sys/fs/bpf}/zerohop

[ "$(id -u)" -eq 0 ] || { echo "make demo: must run as root (sudo make demo)" >&2; exit 1; }
[ -x "$ZH" ] || { echo "make demo: $ZH is missing; run make first" >&2; exit 1; }

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$P-$ns" "$@"; }
zh() { local ns=$1; shift; in_ns "$ns" "$ZH" "$@"; }
# run HOST ARGS...: show and run `zerohop ARGS` on HOST.
run() { local ns=$1; shift; echo "$ns\$ zerohop $*"; zh "$ns" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() { printf '\n\033[1;31mmake demo: FAILED: %s\033[0m\n' "$*" >&2; exit 1; }

NAMESPACES=(h1 h2 vm1 vm2 vm3 vm4)
cleanup() {
	for h in h1 h2; do zh "$h" detach --instance "$P-$h" >/dev/null 2>&1 || true; done
	for ns in "${NAMESPACES[@]}"; do ip netns del "$P-$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup

# VM table: name, host, VNI, address, MAC.
VMS=("vm1 h1 100 10.0.1.11 02:00:0a:00:01:0b"
	"vm2 h2 100 10.0.1.12 02:00:0a:00:01:0c"
	"vm3 h2 200 10.0.2.13 02:00:0a:00:02:0d"
	"vm4 h1 300 10.0.1.14 02:00:0a:00:01:0e")
declare -A UIP=([h1]=198.18.0.1 [h2]=198.18.0.2)

say "Topology (all in network namespaces)"
cat <<'PIC'
        vm1 10.0.1.11 (VNI 100)                 vm2 10.0.1.12 (VNI 100)
        vm4 10.0.1.14 (VNI 300)                 vm3 10.0.2.13 (VNI 200, peered with 100)
              |  ports                                |  ports
        h1 198.18.0.1 ========= underlay veth ========= h2 198.18.0.2
PIC
for ns in "${NAMESPACES[@]}"; do
	ip netns add "$P-$ns"
	ip -n "$P-$ns" link set lo up
	in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add uplink netns "$P-h1" type veth peer name uplink netns "$P-h2"
for h in h1 h2; do
	ip -n "$P-$h" addr add "${UIP[$h]}/24" dev uplink
	ip -n "$P-$h" link set uplink up
done
for row in "${VMS[@]}"; do
	read -r vm h vni ip mac <<<"$row"
	# The VM's NIC: a veth whose host side ("<vm>-port") becomes the port.
	ip link add "$vm-port" netns "$P-$h" type veth peer name eth0 netns "$P-$vm"
	ip -n "$P-$vm" link set dev eth0 address "$mac" mtu 1450
	ip -n "$P-$vm" addr add "$ip/24" dev eth0
	ip -n "$P-$h" link set "$vm-port" up
	ip -n "$P-$vm" link set eth0 up
	ip -n "$P-$vm" route add default via "${ip%.*}.1"
done

say "Attach zerohop on each host and add the VM ports"
for h in h1 h2; do
	run "$h" attach --instance "$P-$h" --uplink uplink --underlay-ip "${UIP[$h]}"
done
for row in "${VMS[@]}"; do
	read -r vm h vni ip mac <<<"$row"
	run "$h" port add --instance "$P-$h" "$vm-port" --vni "$vni" --mac "$mac" --ip "$ip"
done

say "Endpoints: remote VMs of the same network, and peer endpoints (--dest-vni)"
# h1, VNI 100: vm2 on h2; vm3 of the peered VNI 200 on h2, reached directly.
run h1 endpoint add --instance "$P-h1" --vni 100 --ip 10.0.1.12 --mac 02:00:0a:00:01:0c --host 198.18.0.2
run h1 endpoint add --instance "$P-h1" --vni 100 --ip 10.0.2.13 --mac 02:00:0a:00:02:0d --host 198.18.0.2 --dest-vni 200
# h2, VNI 100: vm1 on h1; VNI 200: vm1 of the peered VNI 100 on h1.
run h2 endpoint add --instance "$P-h2" --vni 100 --ip 10.0.1.11 --mac 02:00:0a:00:01:0b --host 198.18.0.1
run h2 endpoint add --instance "$P-h2" --vni 200 --ip 10.0.1.11 --mac 02:00:0a:00:01:0b --host 198.18.0.1 --dest-vni 100
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
	if out=$(in_ns "$1" ping -n -q -c 2 -i 0.2 -W 1 -w 2 "$2" 2>&1); then
		printf '%s\n' "$out" | sed 's/^/    /'
		die "$1 -> $2 ($3) should be blocked"
	fi
	grep -E 'packets transmitted' <<<"$out" | sed 's/^/    /'
	echo "    (no answer, as it should be)"
}
drops() { zh "$1" show stats --json --instance "$P-$1" | jq -r ".$2"; }

say "Traffic"
ping_ok vm1 10.0.1.12 "VNI 100 across hosts: VXLAN h1 -> h2"
ping_ok vm2 10.0.1.11 "and back"
ping_ok vm1 10.0.2.13 "VNI 100 -> peered VNI 200: sent with VNI 200 straight to h2"
ping_ok vm3 10.0.1.11 "VNI 200 -> peered VNI 100: sent with VNI 100 straight to h1"
before=$(drops h1 drop_no_route)
ping_blocked vm4 10.0.1.11 "VNI 300 is isolated: vm1 is not in it"
after=$(drops h1 drop_no_route)
echo "    h1 drop_no_route: $before -> $after"
[ "$after" -ge $((before + 2)) ] || die "h1 should count vm4's pings in drop_no_route"

say "Counters (non-zero rows of zerohop show stats)"
for h in h1 h2; do
	echo "$h\$ zerohop show stats --instance $P-$h"
	zh "$h" show stats --instance "$P-$h" | awk 'NR == 1 || $2 != 0' | sed 's/^/    /'
done

say "Maps are BTF-typed: bpftool map dump pinned $PINS/$P-h1/zh_endpoints | head -n 24"
# (read it all first: head closing the pipe early would kill bpftool)
dump=$(bpftool map dump pinned "$PINS/$P-h1/zh_endpoints")
head -n 24 <<<"$dump"

say "Detach (the EXIT trap removes the namespaces)"
for h in h1 h2; do run "$h" detach --instance "$P-$h"; done
say "Demo done: every expected path worked, the isolated one stayed closed"
