#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# make demo: two namespace "hosts" joined by a veth underlay, each with one
# VM namespace on a port, a zerohop instance attached on each host, traffic
# across, and `zerohop status` showing the counters move. Everything lives
# in namespaces this script creates; the EXIT trap removes them.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ZH=$top/build/zerohop
P=zhdemo

[ "$(id -u)" -eq 0 ] || { echo "make demo: must run as root (sudo make demo)" >&2; exit 1; }
[ -x "$ZH" ] || { echo "make demo: $ZH is missing; run make first" >&2; exit 1; }

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$P-$ns" "$@"; }
zh() { local ns=$1; shift; in_ns "$ns" "$ZH" "$@"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

cleanup() {
	for h in h1 h2; do zh "$h" detach --instance "$P-$h" >/dev/null 2>&1 || true; done
	for ns in h1 h2 vm1 vm2; do ip netns del "$P-$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup

say "Topology (all in network namespaces)"
cat <<'PIC'
   vm1 (10.0.1.10) --port-- h1 (198.18.0.1) ==underlay veth== h2 (198.18.0.2) --port-- vm2 (10.0.2.10)
PIC
for ns in h1 h2 vm1 vm2; do
	ip netns add "$P-$ns"
	ip -n "$P-$ns" link set lo up
	in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add uplink netns "$P-h1" type veth peer name uplink netns "$P-h2"
ip -n "$P-h1" addr add 198.18.0.1/24 dev uplink
ip -n "$P-h2" addr add 198.18.0.2/24 dev uplink
for i in 1 2; do
	ip link add "vm$i-port" netns "$P-h$i" type veth peer name eth0 netns "$P-vm$i"
	ip -n "$P-h$i" addr add "10.0.$i.1/24" dev "vm$i-port"
	ip -n "$P-vm$i" addr add "10.0.$i.10/24" dev eth0
	ip -n "$P-h$i" link set "vm$i-port" up
	ip -n "$P-vm$i" link set eth0 up
	ip -n "$P-h$i" link set uplink up
done

say "Attach an instance on each host and add the VM ports"
for i in 1 2; do
	echo "+ zerohop attach --instance $P-h$i --uplink uplink --underlay-ip 198.18.0.$i"
	zh "h$i" attach --instance "$P-h$i" --uplink uplink --underlay-ip "198.18.0.$i"
	echo "+ zerohop port add --instance $P-h$i vm$i-port"
	zh "h$i" port add --instance "$P-h$i" "vm$i-port"
done
zh h1 status --instance "$P-h1"

say "Traffic: h1 -> h2 over the underlay, and each VM -> its host"
in_ns h1 ping -c 20 -i 0.05 -W 1 -q 198.18.0.2 | tail -n 2
for i in 1 2; do in_ns "vm$i" ping -c 10 -i 0.05 -W 1 -q "10.0.$i.1" | tail -n 1; done

say "Counters after the traffic"
for i in 1 2; do zh "h$i" status --instance "$P-h$i" | sed -n '/counters:/,$p' | sed "s/^/h$i /"; done

say "Maps are BTF-typed: bpftool map dump pinned /sys/fs/bpf/zerohop/$P-h1/zh_ifaces"
bpftool map dump pinned "/sys/fs/bpf/zerohop/$P-h1/zh_ifaces" | head -n 20

say "Detach (and clean up the namespaces)"
for i in 1 2; do zh "h$i" detach --instance "$P-h$i"; done
