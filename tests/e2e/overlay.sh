# SPDX-License-Identifier: GPL-2.0-only
# Overlay topology helpers for the test_overlay_*.sh files. Source it right
# after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/overlay.sh"
#
# Underlay: namespace "fab" holds bridge br0; every host is a namespace
# whose uplink "upl" (198.18.0.N/24) is a veth into br0 ("f<host>" there).
# VMs are namespaces whose "eth0" (explicit MAC, x.y.z.N/24, default route
# via x.y.z.1, IPv6 off) is a veth whose other end is a port on a host.
# Everything lives in the test's own namespaces (lib.sh's ns_add/veth_pair)
# and goes away with them; background commands are bounded in time and
# stopped by lib.sh's EXIT trap (ZH_PIDS).

OV_TMP=""               # scratch directory (captures, outputs)
declare -A OV_MARK=()   # "host:instance" -> counters JSON at ov_mark time

# ov_require TOOL...: skip the whole file when a tool is missing.
ov_require() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || skip_all "needs $t"
	done
}

ov_tmp() {
	[ -n "$OV_TMP" ] || mk_tmpdir OV_TMP
}

# ov_fabric: namespace fab with bridge br0 (up).
ov_fabric() {
	ns_add fab &&
		ip -n "$ZH_PFX-fab" link add br0 type bridge &&
		ip -n "$ZH_PFX-fab" link set br0 up
}

# ov_host NAME N: host namespace NAME with uplink "upl" 198.18.0.N/24 on br0.
ov_host() {
	ns_add "$1" &&
		veth_pair "$1" upl fab "f$1" &&
		ip -n "$ZH_PFX-fab" link set "f$1" master br0 &&
		addr "$1" upl "198.18.0.$2/24"
}

# ov_underlay HOST...: fab plus hosts h1, h2, ... (address from the digits
# of the name: h1 -> 198.18.0.1).
ov_underlay() {
	local h
	ov_fabric || return 1
	for h in "$@"; do ov_host "$h" "${h//[!0-9]/}" || return 1; done
}

# ov_vm VM HOST PORT MAC ADDR/24 [MTU]: VM namespace whose eth0 is the peer
# of PORT on HOST, default route via the .1 of its /24.
ov_vm() {
	local vm=$1 host=$2 port=$3 mac=$4 cidr=$5 mtu=${6:-1500} ip
	ip=${cidr%/*}
	ns_add "$vm" &&
		veth_pair "$host" "$port" "$vm" eth0 &&
		ip -n "$ZH_PFX-$vm" link set eth0 address "$mac" mtu "$mtu" &&
		addr "$vm" eth0 "$cidr" &&
		ip -n "$ZH_PFX-$vm" route add default via "${ip%.*}.1" dev eth0
}

# ov_uip HOST: underlay address of HOST (h1 -> 198.18.0.1).
ov_uip() { echo "198.18.0.${1//[!0-9]/}"; }

# ov_attach HOST INSTANCE [ATTACH OPTIONS...]: attach INSTANCE on HOST's upl
# with HOST's underlay address; detached on exit.
ov_attach() {
	local host=$1 inst=$2; shift 2
	zh_track "$host" "$inst"
	zh "$host" attach --instance "$inst" --uplink upl --underlay-ip "$(ov_uip "$host")" "$@"
}

# ov_port HOST INSTANCE PORT VNI MAC IP: PORT becomes a VM port.
ov_port() {
	zh "$1" port add --instance "$2" "$3" --vni "$4" --mac "$5" --ip "$6"
}

# ov_ep HOST INSTANCE VNI IP MAC REMOTE_HOST [OPTIONS...]: endpoint add.
ov_ep() {
	local host=$1 inst=$2 vni=$3 ip=$4 mac=$5 rhost=$6; shift 6
	zh "$host" endpoint add --instance "$inst" --vni "$vni" --ip "$ip" --mac "$mac" \
		--host "$(ov_uip "$rhost")" "$@"
}

# ov_router_mac HOST INSTANCE
ov_router_mac() { zh "$1" status --json --instance "$2" | jq -r '.instances[0].router_mac'; }

# ov_stats HOST INSTANCE: `show stats --json` ({"name": packets, ...}).
ov_stats() { zh "$1" show stats --json --instance "$2"; }

# ov_mark HOST INSTANCE...: remember the counters of each instance now.
ov_mark() {
	local host=$1 inst; shift
	for inst in "$@"; do OV_MARK[$host:$inst]=$(ov_stats "$host" "$inst"); done
}

# ov_delta HOST INSTANCE NAME: growth of counter NAME since ov_mark.
ov_delta() {
	local now before
	now=$(ov_stats "$1" "$2" | jq -r ".$3 // \"missing\"")
	before=$(jq -r ".$3 // 0" <<<"${OV_MARK[$1:$2]:-{\}}")
	if [[ "$now" =~ ^[0-9]+$ ]]; then echo $((now - before)); else echo "$now"; fi
}

# expect_grows DESC HOST INSTANCE NAME [MIN]: NAME grew by >= MIN (1).
expect_grows() {
	expect_ge "$1" "$(ov_delta "$2" "$3" "$4")" "${5:-1}"
}

# expect_still DESC HOST INSTANCE NAME: NAME did not change.
expect_still() {
	expect_eq "$1" "$(ov_delta "$2" "$3" "$4")" 0
}

# ov_ping DESC VM DST [PING OPTIONS...]: 3 pings from VM to DST all answered.
ov_ping() {
	local desc=$1 vm=$2 dst=$3; shift 3
	check "$desc" nsexec "$vm" ping -q -n -c 3 -i 0.2 -W 1 -w 5 "$@" "$dst"
}

# ov_noping DESC VM DST: no ping from VM to DST is answered.
ov_noping() {
	check_fails "$1" nsexec "$2" ping -q -n -c 2 -i 0.2 -W 1 -w 1 "$3"
}

# ov_rx_packets NS IFACE: received packets of IFACE inside NS.
ov_rx_packets() { nsexec "$1" ip -s -j link show dev "$2" | jq -r '.[0].stats64.rx.packets'; }

# ov_capture VAR HOST IFACE COUNT SECONDS FILTER...: start tcpdump -nn (at
# most COUNT packets, SECONDS seconds) on IFACE in HOST, writing its decode
# to a file whose name goes to VAR; returns once tcpdump listens. Wait for
# all captures with ov_capture_wait.
OV_CAP_PIDS=()
ov_capture() {
	local var=$1 host=$2 ifc=$3 n=$4 secs=$5 f pid i; shift 5
	ov_tmp || return 1
	f=$(mktemp "$OV_TMP/cap.XXXXXX")
	bg_nsexec pid "$host" timeout "$secs" tcpdump -nn -l -c "$n" -i "$ifc" "$@" >"$f" 2>&1
	OV_CAP_PIDS+=("$pid")
	printf -v "$var" '%s' "$f"
	for i in $(seq 50); do
		grep -q "listening on" "$f" && return 0
		sleep 0.1
	done
	return 1
}
# ov_capture_wait: give running captures up to a second to reach their
# count, then stop them (their output so far is in the files).
ov_capture_wait() {
	local pid i
	for pid in "${OV_CAP_PIDS[@]}"; do
		for i in $(seq 10); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	OV_CAP_PIDS=()
	true
}

# ov_udp VM DST PORT TEXT...: one UDP datagram per TEXT from VM to DST:PORT,
# all from one socket (one source port).
ov_udp() {
	local vm=$1 dst=$2 port=$3; shift 3
	nsexec "$vm" bash -c 'exec 3>"/dev/udp/$1/$2" || exit 1; shift 2
		for t; do printf "%s" "$t" >&3; done' _ "$dst" "$port" "$@"
}

# ov_iperf DESC VM_CLIENT VM_SERVER SERVER_IP BYTES [IPERF OPTIONS...]:
# a bounded iperf3 transfer of BYTES (e.g. 20M, within 10 s) that must complete.
ov_iperf() {
	local desc=$1 cl=$2 sv=$3 ip=$4 bytes=$5 pid out i; shift 5
	bg_nsexec pid "$sv" timeout 15 iperf3 -s -1 -p 5201 >/dev/null 2>&1
	for i in $(seq 50); do
		nsexec "$sv" ss -Hltn 'sport = :5201' | grep -q . && break
		sleep 0.1
	done
	if out=$(nsexec "$cl" timeout 10 iperf3 -c "$ip" -p 5201 -n "$bytes" "$@" 2>&1); then
		tap_ok "$desc"
	else
		tap_fail "$desc"; printf '%s\n' "$out" | tail -n 5 | sed 's/^/# /'
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	true
}

# ov_delta_sum HOST INSTANCE NAME...: summed growth of counters NAME...
ov_delta_sum() {
	local host=$1 inst=$2 n sum=0 d; shift 2
	for n in "$@"; do
		d=$(ov_delta "$host" "$inst" "$n")
		[[ "$d" =~ ^-?[0-9]+$ ]] || { echo "$d"; return; }
		sum=$((sum + d))
	done
	echo "$sum"
}

# ov_flows FILE: one line per captured tunnel packet: outer source address,
# outer UDP source port, then the inner "SRC > DST" (tcpdump -nn decode).
ov_flows() {
	awk '
		/ IP [0-9.]+ > [0-9.]+: (VXLAN|Geneve)/ {
			n = split($3, a, "."); sport = a[n]; src = a[1] "." a[2] "." a[3] "." a[4]
			want = 1; next
		}
		want && $1 == "IP" { print src, sport, $2, $3, $4; want = 0 }
	' "$1"
}

# ov_snmp NS PROTO FIELD: a counter of /proc/net/snmp inside NS (e.g. Udp
# NoPorts, Icmp InEchos).
ov_snmp() {
	nsexec "$1" awk -v p="$2:" -v f="$3" '
		$1 == p && !hdr { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1; next }
		$1 == p && hdr { print $(col[f]); exit }' /proc/net/snmp
}

# ov_raw_udp NS DST PORT BYTES: one UDP datagram whose payload is BYTES
# (printf escapes such as \x08) from NS to DST:PORT.
ov_raw_udp() {
	nsexec "$1" bash -c 'printf "$3" >"/dev/udp/$1/$2"' _ "$2" "$3" "$4"
}
