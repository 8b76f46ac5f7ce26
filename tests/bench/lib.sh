# SPDX-License-Identifier: GPL-2.0-only
# Topology and measurement helpers for tests/bench/run. Source it after
# tests/e2e/lib.sh, whose namespace helpers (ns_add, nsexec, veth_pair, zh,
# zh_track, bg_nsexec, mk_tmpdir) and EXIT trap (stop background commands,
# detach instances, delete namespaces, remove temporary directories) it
# reuses.
#
# Copies of one topology are built side by side, one per variant, keyed by
# a letter: "l" (the Linux vxlan device with IP routing), "z" (zerohop,
# default attach) and "n", "g", "x" (zerohop with --xdp-mode native, generic,
# off), each
#
#   VM a (eth0 10.0.1.10/24) -- p1 [host h1] upl 198.18.0.1 ==veth==
#       198.18.0.2 upl [host h2] p1 -- (eth0 10.0.1.20/24) VM b
#
# with the same MTUs (uplink 1500, VM eth0 1450), the same VNI (100), the
# same host sysctls (IPv4 forwarding on, rp_filter off, IPv6 off) and
# permanent underlay neighbours. Only the data plane in h1/h2 differs.
# Network safety: every namespace is the bench's own ($ZH_PFX-...), nothing
# is added to the root namespace, every traffic command is bounded in time,
# and lib.sh's EXIT trap removes it all.

BT_VNI=100
BT_MA=02:00:00:00:01:0a      # VM a
BT_MB=02:00:00:00:01:14      # VM b
BT_IPA=10.0.1.10
BT_IPB=10.0.1.20
BT_VM_MTU=1450
declare -A BT_GW=()          # copy -> the MAC VM a sends to (router / proxy ARP)

# bt_topo K: namespaces Kh1, Kh2, Ka, Kb and their links.
bt_topo() {
	local k=$1 h
	for h in h1 h2 a b; do ns_add "$k$h" || return 1; done
	for h in h1 h2; do
		nsexec "$k$h" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 || return 1
	done
	veth_pair "${k}h1" upl "${k}h2" upl &&
		addr "${k}h1" upl 198.18.0.1/24 && addr "${k}h2" upl 198.18.0.2/24 || return 1
	local m1 m2
	m1=$(bt_mac "${k}h1" upl) m2=$(bt_mac "${k}h2" upl)
	ip -n "$ZH_PFX-${k}h1" neigh add 198.18.0.2 lladdr "$m2" dev upl nud permanent &&
		ip -n "$ZH_PFX-${k}h2" neigh add 198.18.0.1 lladdr "$m1" dev upl nud permanent ||
		return 1
	bt_vm "$k" a h1 $BT_MA $BT_IPA && bt_vm "$k" b h2 $BT_MB $BT_IPB
}

# bt_wire K: the reference with no host at all: VM a's eth0 and VM b's
# eth0 are the two ends of one veth (same addresses, MACs and MTU). What a
# VM pair costs by itself: an upper bound for any data plane in between.
bt_wire() {
	local k=$1
	ns_add "${k}a" && ns_add "${k}b" && veth_pair "${k}a" eth0 "${k}b" eth0 &&
		ip -n "$ZH_PFX-${k}a" link set eth0 address $BT_MA mtu $BT_VM_MTU &&
		ip -n "$ZH_PFX-${k}b" link set eth0 address $BT_MB mtu $BT_VM_MTU &&
		addr "${k}a" eth0 $BT_IPA/24 && addr "${k}b" eth0 $BT_IPB/24
}

# bt_vm K VM HOST MAC IP: VM's eth0 is the peer of HOST's p1.
bt_vm() {
	local k=$1 vm=$1$2 host=$1$3 mac=$4 ip=$5
	veth_pair "$host" p1 "$vm" eth0 &&
		ip -n "$ZH_PFX-$vm" link set eth0 address "$mac" mtu $BT_VM_MTU &&
		addr "$vm" eth0 "$ip/24" &&
		ip -n "$ZH_PFX-$vm" route add default via "${ip%.*}.1" dev eth0
}

# bt_zerohop K [ATTACH OPTIONS...]: zerohop on both hosts (attach modes:
# auto unless options say otherwise), one port each, the other VM as a
# remote endpoint.
bt_zerohop() {
	local k=$1 n; shift
	for n in 1 2; do
		zh_track "${k}h$n" "$ZH_PFX-$k$n"
		zh "${k}h$n" attach --instance "$ZH_PFX-$k$n" --uplink upl \
			--underlay-ip 198.18.0.$n "$@" >/dev/null || return 1
	done
	zh "${k}h1" port add --instance "$ZH_PFX-${k}1" p1 --vni $BT_VNI --mac $BT_MA \
		--ip $BT_IPA >/dev/null &&
		zh "${k}h2" port add --instance "$ZH_PFX-${k}2" p1 --vni $BT_VNI --mac $BT_MB \
			--ip $BT_IPB >/dev/null &&
		zh "${k}h1" endpoint add --instance "$ZH_PFX-${k}1" --vni $BT_VNI --ip $BT_IPB \
			--mac $BT_MB --host 198.18.0.2 >/dev/null &&
		zh "${k}h2" endpoint add --instance "$ZH_PFX-${k}2" --vni $BT_VNI --ip $BT_IPA \
			--mac $BT_MA --host 198.18.0.1 >/dev/null
}

# bt_linux K: the baseline. In each host a vxlan device (VNI 100, port
# 4789, local underlay address, no learning) with a static FDB entry and a
# permanent neighbour for the remote VM behind the other host's vxlan MAC,
# a /32 route to the remote VM over it, a /32 route to the local VM on p1,
# and proxy ARP on p1 (so VMs reach the other /24 address through the host,
# as with zerohop's ARP answers).
bt_linux() {
	local k=$1 n o vx1=02:00:00:00:0a:01 vx2=02:00:00:00:0a:02
	local -A vxmac=([1]=$vx1 [2]=$vx2) vmip=([1]=$BT_IPA [2]=$BT_IPB) vmmac=([1]=$BT_MA [2]=$BT_MB)
	for n in 1 2; do
		o=$((3 - n))
		local ns="$ZH_PFX-${k}h$n"
		ip -n "$ns" link add vx100 type vxlan id $BT_VNI dstport 4789 local 198.18.0.$n \
			dev upl nolearning &&
			ip -n "$ns" link set vx100 address "${vxmac[$n]}" up &&
			nsexec "${k}h$n" bridge fdb append "${vxmac[$o]}" dev vx100 dst 198.18.0.$o &&
			ip -n "$ns" route add "${vmip[$o]}/32" dev vx100 &&
			ip -n "$ns" neigh add "${vmip[$o]}" lladdr "${vxmac[$o]}" dev vx100 nud permanent &&
			ip -n "$ns" route add "${vmip[$n]}/32" dev p1 &&
			ip -n "$ns" neigh add "${vmip[$n]}" lladdr "${vmmac[$n]}" dev p1 nud permanent &&
			nsexec "${k}h$n" sysctl -qw net.ipv4.conf.p1.proxy_arp=1 || return 1
	done
}

# bt_warm K: a few pings both ways (ARP, neighbours), then the VMs'
# neighbour entries for each other are pinned to what ARP answered (no
# re-probing during a measurement). Sets BT_GW[K].
bt_warm() {
	local k=$1 i mac
	for i in $(seq 20); do
		nsexec "${k}a" ping -q -n -c 1 -W 1 $BT_IPB >/dev/null 2>&1 && break
	done
	nsexec "${k}a" ping -q -n -c 3 -i 0.05 -W 1 $BT_IPB >/dev/null 2>&1 &&
		nsexec "${k}b" ping -q -n -c 3 -i 0.05 -W 1 $BT_IPA >/dev/null 2>&1 || return 1
	mac=$(nsexec "${k}a" ip -j neigh show $BT_IPB dev eth0 | jq -r '.[0].lladdr')
	[[ "$mac" =~ ^([0-9a-f]{2}:){5}[0-9a-f]{2}$ ]] || return 1
	BT_GW[$k]=$mac
	nsexec "${k}a" ip neigh replace $BT_IPB lladdr "$mac" dev eth0 nud permanent &&
		nsexec "${k}b" ip neigh replace $BT_IPA lladdr \
			"$(nsexec "${k}b" ip -j neigh show $BT_IPA dev eth0 | jq -r '.[0].lladdr')" \
			dev eth0 nud permanent
}

# (nsenter --net keeps the root namespace's /sys: read devices with ip.)
# bt_mac NS IF: IF's MAC address.
bt_mac() { ip -n "$ZH_PFX-$1" -j link show dev "$2" | jq -r '.[0].address'; }
# bt_rx NS IF / bt_tx NS IF: packets received / sent by IF.
bt_rx() { ip -n "$ZH_PFX-$1" -s -j link show dev "$2" | jq -r '.[0].stats64.rx.packets'; }
bt_tx() { ip -n "$ZH_PFX-$1" -s -j link show dev "$2" | jq -r '.[0].stats64.tx.packets'; }

# --- measurements ---------------------------------------------------------
# All traffic runs on one CPU, $BT_CPU: trafgen pins its single worker to
# CPU 0 by itself, so that is the default; iperf3's client and server and
# the UDP echo pair are pinned there too, and so is the whole data path
# (softirq work runs on the CPU that sent the packet). The bench script and
# its helpers keep to $BT_CPU2. Every traffic command is bounded by
# timeout(1) or its own count.

BT_CPU=0
BT_CPU2=1
BT_TMP=""               # scratch: trafgen configs, iperf3 output
BT_ECHO=""              # build/bench/udp_echo

# bt_trafgen_cfg K: trafgen config of VM a's 64-byte UDP frames to VM b
# (port 9, the sink), to the MAC VM a's ARP resolved for b (BT_GW[K]).
bt_trafgen_cfg() {
	local k=$1
	cat >"$BT_TMP/tg_$k.cfg" <<-EOT
	{
	  eth(da=${BT_GW[$k]}, sa=$BT_MA, type=0x0800),
	  ipv4(saddr=$BT_IPA, daddr=$BT_IPB, ttl=64, df),
	  udp(sp=4321, dp=9),
	  fill(0x00, 22)
	}
	EOT
}

# bt_pps K SECONDS: trafgen in VM a, one worker, as fast as it goes; VM b
# holds a UDP socket on port 9 that it never reads (drops at the socket, no
# ICMP). After 0.5 s of ramp, b's eth0 rx counter (and a's tx) over
# SECONDS. Prints {"rx_pps":..,"tx_pps":..}.
bt_pps() {
	local k=$1 secs=$2 sink gen r0 r1 x0 x1 t0 t1
	bg_nsexec sink "${k}b" "$BT_ECHO" sink 9 $((secs + 5))
	sleep 0.2
	bg_nsexec gen "${k}a" timeout -s INT $((secs + 2)) trafgen -o eth0 -i "$BT_TMP/tg_$k.cfg" \
		-P 1 --no-sock-mem --notouch-irq --no-cpu-stats >/dev/null 2>&1
	sleep 0.5
	r0=$(bt_rx "${k}b" eth0) x0=$(bt_tx "${k}a" eth0) t0=$(date +%s.%N)
	sleep "$secs"
	r1=$(bt_rx "${k}b" eth0) x1=$(bt_tx "${k}a" eth0) t1=$(date +%s.%N)
	wait "$gen" 2>/dev/null
	kill "$sink" 2>/dev/null; wait "$sink" 2>/dev/null
	awk -v r="$((r1 - r0))" -v x="$((x1 - x0))" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "{\"rx_pps\": %.0f, \"tx_pps\": %.0f}\n", r / (t1 - t0), x / (t1 - t0) }'
}

# bt_tcp K SECONDS: one iperf3 TCP stream a -> b for SECONDS (after 1 s
# omitted for slow start), client and server both on BT_CPU (with the server
# on another CPU, cross-CPU reordering brings thousands of retransmits and
# +-25% run-to-run noise on this machine). Prints {"gbps":..,"retransmits":..}.
bt_tcp() {
	local k=$1 secs=$2 srv i f="$BT_TMP/iperf_$1.json"
	bg_nsexec srv "${k}b" timeout $((secs + 15)) iperf3 -s -1 -p 5201 -A "$BT_CPU" >/dev/null 2>&1
	for _ in $(seq 50); do
		nsexec "${k}b" ss -Hltn 'sport = :5201' | grep -q . && break
		sleep 0.1
	done
	nsexec "${k}a" timeout $((secs + 10)) iperf3 -c $BT_IPB -p 5201 -t "$secs" -O 1 \
		-A "$BT_CPU" -J >"$f" 2>&1
	wait "$srv" 2>/dev/null
	jq -c '{gbps: ((.end.sum_received.bits_per_second // 0) / 1e9),
		retransmits: (.end.sum_sent.retransmits // null)}' "$f" 2>/dev/null ||
		echo '{"gbps": 0, "retransmits": null}'
}

# Latency: UDP round trips a -> b -> a, one at a time, client and echo
# server both on BT_CPU. A round is several short chunks per variant,
# alternating between variants (bt_lat_chunk), so bursts of noise from the
# machine (a virtual CPU descheduled for a few hundred microseconds) hit
# every variant alike; the RTTs of a variant's chunks are pooled (bt_pct).
declare -A BT_LAT_SRV=()

# bt_lat_start K / bt_lat_stop K: the echo server in VM b (at most 120 s).
bt_lat_start() {
	local pid
	bg_nsexec pid "$1b" taskset -c "$BT_CPU" "$BT_ECHO" server 7000 120
	BT_LAT_SRV[$1]=$pid
}
bt_lat_stop() {
	kill "${BT_LAT_SRV[$1]}" 2>/dev/null; wait "${BT_LAT_SRV[$1]}" 2>/dev/null
}

# bt_lat_chunk K COUNT INTERVAL_US RAW: COUNT round trips, the next one
# INTERVAL_US after the previous came back (0: at once, a request/response
# ping-pong; with a gap the CPU idles in between and the wake-up from idle,
# slow and erratic on a virtual machine, lands in the RTTs), each RTT (ns)
# appended to RAW.
bt_lat_chunk() {
	nsexec "$1a" timeout 60 taskset -c "$BT_CPU" "$BT_ECHO" client $BT_IPB 7000 "$2" "$3" 200 \
		"$4" >/dev/null
}

# bt_pct RAW: {"count", "p50_us", "p90_us", "p99_us", "max_us"} of the pooled
# RTTs in RAW (nearest rank).
bt_pct() {
	sort -n "$1" | awk '{ v[NR] = $1 }
		function p(q,  k) { k = int(q / 100 * NR + 0.999999); if (k < 1) k = 1; return v[k] / 1000 }
		END { if (NR == 0) { print "{\"count\": 0}"; exit }
			printf "{\"count\": %d, \"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, \"max_us\": %.2f}\n",
				NR, p(50), p(90), p(99), v[NR] / 1000 }'
}

# bt_modes K: the attach modes zerohop uses on K's hosts (status --json).
bt_modes() {
	local k=$1 n
	for n in 1 2; do
		zh "${k}h$n" status --json --instance "$ZH_PFX-$k$n" |
			jq -c --arg host "h$n" '.instances[0] | {host: $host, tc_mode, encap, mtu,
				interfaces: [.interfaces[] | {name, role, xdp_mode, tc_mode}],
				devmap_entries: ([.maps[] | select(.name == "zh_devmap") | .entries][0])}'
	done | jq -s -c .
}
