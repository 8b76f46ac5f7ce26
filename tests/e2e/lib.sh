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
zh_track() { ZH_INSTANCES+=("$1:$2"); }

# veth_pair NS1 IF1 NS2 IF2: a veth created straight inside two test
# namespaces (it never exists in the root namespace), both ends up.
veth_pair() {
	ip link add "$2" netns "$ZH_PFX-$1" type veth peer name "$4" netns "$ZH_PFX-$3" || return 1
	ip -n "$ZH_PFX-$1" link set "$2" up && ip -n "$ZH_PFX-$3" link set "$4" up
}

# addr NS IF CIDR: an address inside a test namespace.
addr() { ip -n "$ZH_PFX-$1" addr add "$3" dev "$2"; }

# jq over `zerohop status --json` of one instance: zh_json NS INSTANCE FILTER
zh_json() { zh "$1" status --json --instance "$2" | jq -r ".instances[0]$3"; }

zh_cleanup() {
	local pair
	for pair in "${ZH_INSTANCES[@]}"; do
		zh "${pair%%:*}" detach --instance "${pair#*:}" >/dev/null 2>&1 || true
	done
	for ns in "${ZH_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap 'zh_cleanup' EXIT
trap 'exit 130' INT TERM

# Call at the end: exit status follows the TAP results.
finish() { exit $_tap_failed; }
