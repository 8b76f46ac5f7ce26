# SPDX-License-Identifier: GPL-2.0-only
# Shared helpers for end-to-end tests. Source it first thing:
#
#   . "$(dirname "$0")/lib.sh"
#
# Network safety: every namespace, veth and instance a test makes is named
# with $ZH_PFX (unique per test run) and removed by the EXIT trap on every
# exit path. Nothing is added to the root namespace; traffic stays between
# the test's own namespaces, and every traffic command is bounded in count
# and time. Hosts are entered with nsenter --net (not ip netns exec, which
# remounts /sys and would hide /sys/fs/bpf).
set -u

ZH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ZH=${ZH:-$ZH_TOP/build/zerohop}
ZH_PFX="zt$$"            # short: interface names are at most 15 characters
ZH_NS=()                 # namespaces to delete
ZH_INSTANCES=()          # "ns:instance" pairs to detach
ZH_PIDS=()               # background commands to stop
ZH_TMPDIRS=()            # temporary directories to remove
ZH_PINS=${ZEROHOP_BPFFS:-/sys/fs/bpf}/zerohop   # where instances are pinned
_tap_n=0
_tap_failed=0

tap_ok()   { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
tap_fail() { _tap_n=$((_tap_n + 1)); _tap_failed=1; echo "not ok $_tap_n - $*"; }
tap_skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }
diag()     { echo "# $*"; }

# check DESCRIPTION CMD...: pass if CMD succeeds; on failure show its output.
check() {
	local desc=$1 out; shift
	if out=$("$@" 2>&1); then tap_ok "$desc"
	else tap_fail "$desc"; [ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'; fi
}

# check_fails DESCRIPTION CMD...: pass if CMD fails (non-zero exit).
check_fails() {
	local desc=$1 out; shift
	if out=$("$@" 2>&1); then tap_fail "$desc (expected failure, got success)"
		[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/# /'
	else tap_ok "$desc"; fi
}

# expect_eq DESCRIPTION GOT WANT: pass if the two strings are equal.
expect_eq() {
	if [ "$2" = "$3" ]; then tap_ok "$1"
	else tap_fail "$1"; diag "got '$2', want '$3'"; fi
}

# expect_ge DESCRIPTION GOT MIN: pass if the integer GOT is at least MIN.
expect_ge() {
	if [[ "$2" =~ ^[0-9]+$ ]] && [ "$2" -ge "$3" ]; then tap_ok "$1"
	else tap_fail "$1"; diag "got '$2', want at least $3"; fi
}

# Report a failed setup step and stop the file (cleanup still runs).
bail() { tap_fail "$*"; finish; }

# Skip the whole test file (with a reason) and exit 0.
skip_all() { tap_skip "$*"; exit 0; }

require_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root (BPF, netns); run: sudo make check"
	[ -x "$ZH" ] || { tap_fail "zerohop binary $ZH is missing (run make)"; exit 1; }
}

# ns_add NAME: a fresh namespace with lo up and IPv6 autoconf off (so
# counters only see the test's own traffic).
ns_add() {
	local ns="$ZH_PFX-$1"
	ip netns add "$ns" || return 1
	ZH_NS+=("$ns")
	ip -n "$ns" link set lo up
	nsexec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# nsexec NAME CMD...: run in the test namespace NAME (network only).
nsexec() { local ns="$ZH_PFX-$1"; shift; nsenter --net="/run/netns/$ns" "$@"; }

# zh NAME ARGS...: run zerohop inside namespace NAME.
zh() { local ns=$1; shift; nsexec "$ns" "$ZH" "$@"; }

# zh_track NAME INSTANCE: detach INSTANCE (inside NAME) on exit.
zh_track() {
	local pair
	for pair in "${ZH_INSTANCES[@]}"; do [ "$pair" != "$1:$2" ] || return 0; done
	ZH_INSTANCES+=("$1:$2")
}

# veth_pair NS1 IF1 NS2 IF2: a veth created straight inside two test
# namespaces (it never exists in the root namespace), both ends up.
veth_pair() {
	ip link add "$2" netns "$ZH_PFX-$1" type veth peer name "$4" netns "$ZH_PFX-$3" || return 1
	ip -n "$ZH_PFX-$1" link set "$2" up && ip -n "$ZH_PFX-$3" link set "$4" up
}

# addr NS IF CIDR: an address inside a test namespace.
addr() { ip -n "$ZH_PFX-$1" addr add "$3" dev "$2"; }

# vm_add NS HOSTNS PORT IP MAC: a VM namespace NS (lo up, IPv6 off) whose
# eth0 (MAC, IP/24, default route via the first address of the /24) is a
# veth whose other end is PORT in HOSTNS, both ends up. PORT gets no
# address: it is meant to become a zerohop port (`port add ... --vni N
# --mac MAC --ip IP`).
vm_add() {
	local vm="$ZH_PFX-$1" host="$ZH_PFX-$2" port=$3 ip=$4 mac=$5
	ns_add "$1" &&
		ip link add "$port" netns "$host" type veth peer name eth0 netns "$vm" &&
		ip -n "$vm" link set dev eth0 address "$mac" &&
		ip -n "$vm" addr add "$ip/24" dev eth0 &&
		ip -n "$host" link set "$port" up && ip -n "$vm" link set eth0 up &&
		ip -n "$vm" route add default via "${ip%.*}.1"
}

# ping_from NS DST [COUNT]: COUNT (default 5) pings from NS to DST, 0.2 s
# apart, quiet; bounded by -W 1 per reply and a deadline of COUNT/5 + 3 s.
# Succeeds when every ping is answered.
ping_from() {
	local n=${3:-5}
	nsexec "$1" ping -q -n -c "$n" -i 0.2 -W 1 -w $((n / 5 + 3)) "$2"
}

# jq over `zerohop status --json` of one instance: zh_json NS INSTANCE FILTER
zh_json() { zh "$1" status --json --instance "$2" | jq -r ".instances[0]$3"; }

# zh_counter NS INSTANCE NAME: packets of counter NAME.
zh_counter() { zh_json "$1" "$2" ".counters.$3.packets"; }

# zh_stats NS INSTANCE: every counter as "name=packets" lines, from
# `zerohop show stats --json` (for expect_moved).
zh_stats() {
	zh "$1" show stats --json --instance "$2" | jq -r 'to_entries[] | "\(.key)=\(.value)"'
}

# expect_moved DESC BEFORE AFTER SPEC...: compare two zh_stats snapshots.
# SPEC is NAME>=N (the counter grew by at least N) or NAME=N (by exactly N;
# NAME=0: it did not move).
expect_moved() {
	local desc=$1 before=$2 after=$3 spec name want b a; shift 3
	for spec; do
		name=${spec%%[>=]*} want=${spec##*=}
		b=$(sed -n "s/^$name=//p" <<<"$before") a=$(sed -n "s/^$name=//p" <<<"$after")
		if ! [[ "$b" =~ ^[0-9]+$ && "$a" =~ ^[0-9]+$ ]]; then
			tap_fail "$desc: $name ($spec)"; diag "no counter '$name' (before '$b', after '$a')"
		elif [[ "$spec" == *'>='* ]]; then
			expect_ge "$desc: $name grows by $want or more" "$((a - b))" "$want"
		else
			expect_eq "$desc: $name grows by $want" "$((a - b))" "$want"
		fi
	done
}

# zh_feature VAR NS UPLINK NAME: set VAR to features.NAME (true/false) as
# zerohop probes it, through a short-lived instance (XDP off, clsact) on
# UPLINK inside NS.
zh_feature() {
	local inst="$ZH_PFX-probe"
	zh_track "$2" "$inst"
	zh "$2" attach --instance "$inst" --uplink "$3" --underlay-ip 198.18.255.254 \
		--xdp-mode off --tc-mode clsact >/dev/null || return 1
	printf -v "$1" '%s' "$(zh_json "$2" "$inst" ".features.$4")"
	zh "$2" detach --instance "$inst" >/dev/null
}

# tc_ingress_id NS DEV PROG [tcx|clsact]: id of program PROG on DEV's TC
# ingress as a tcx program (bpftool) and/or a zerohop clsact filter (tc);
# empty when absent, one id per line if there are several.
tc_ingress_id() {
	{
		[ "${4:-}" = clsact ] || nsexec "$1" bpftool net show dev "$2" |
			sed -n "s/.*tcx\/ingress $3 prog_id \([0-9]*\).*/\1/p"
		[ "${4:-}" = tcx ] || nsexec "$1" tc filter show dev "$2" ingress |
			sed -n "s/.* handle 0x7a68 $3:.* id \([0-9]*\) name.*/\1/p"
	} 2>/dev/null
}

# xdp_on NS DEV: "MODE ID" of the XDP program on DEV as ip -d link shows it
# (MODE xdp = native, xdpgeneric, ...); empty when there is none.
xdp_on() {
	nsexec "$1" ip -d link show dev "$2" | awk '
		NR == 1 { for (i = 1; i < NF; i++) if ($i == "mtu" && $(i + 2) ~ /^xdp/) mode = $(i + 2) }
		/prog\/xdp id/ { for (i = 1; i < NF; i++) if ($i == "prog/xdp") id = $(i + 2) }
		END { if (mode != "") print mode, id }'
}

# mk_tmpdir VAR: a new directory (removed on exit) in VAR.
mk_tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/$ZH_PFX.XXXXXX") || return 1
	chmod 755 "$d"
	ZH_TMPDIRS+=("$d")
	printf -v "$1" '%s' "$d"
}

# bg_nsexec VAR NAME CMD...: start CMD in the background inside namespace
# NAME and put its pid in VAR (for wait); stopped on exit if it is still
# running (it must be bounded in time anyway).
bg_nsexec() {
	local var=$1 ns="$ZH_PFX-$2"; shift 2
	nsenter --net="/run/netns/$ns" "$@" &
	ZH_PIDS+=("$!")
	printf -v "$var" '%s' "$!"
}

zh_cleanup() {
	local pair pid d
	for pid in "${ZH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pair in "${ZH_INSTANCES[@]}"; do
		zh "${pair%%:*}" detach --instance "${pair#*:}" >/dev/null 2>&1 || true
	done
	for ns in "${ZH_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	for d in "${ZH_TMPDIRS[@]}"; do rm -rf -- "$d"; done
}
trap 'zh_cleanup' EXIT
trap 'exit 130' INT TERM

# Call at the end: exit status follows the TAP results.
finish() { exit $_tap_failed; }
