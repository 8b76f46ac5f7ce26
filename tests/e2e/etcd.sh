# SPDX-License-Identifier: GPL-2.0-only
# Real etcd (Debian's /usr/bin/etcd) for end-to-end tests: single members
# and clusters, inside a test namespace or on the test's own addresses.
# Source it after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/etcd.sh"
#   etcd_require                                  # skip the file without etcd
#   ns_add srv
#   etcd_start srv solo 127.0.0.1                 # one member on 127.0.0.1 in srv
#   nsexec srv my_client --endpoints "$(etcd_endpoints solo)"
#
# A cluster on the overlay.sh fabric, reachable from every host namespace:
#
#   ov_underlay h1 h2
#   ov_host etcd 201 && addr etcd upl 198.18.0.202/24 && addr etcd upl 198.18.0.203/24
#   etcd_cluster etcd 198.18.0.201 198.18.0.202 198.18.0.203   # members e1 e2 e3
#   zh h1 ... --etcd "$(etcd_endpoints)"
#
# NS is a lib.sh namespace name (as for nsexec), or "-" for the root
# namespace (then ADDR must be 127.0.0.1: nothing else may be added there).
# Every member gets a client and a peer port that are free on its address
# (never 2379/2380), a data directory and a log under one mk_tmpdir
# directory, and runs under `timeout $ETCD_MAX_SECONDS` (default 900) with
# its pid in ZH_PIDS: lib.sh's EXIT trap stops it and removes the data.
#
# Set ETCD_USER=user:password once auth is enabled so etcd_ctl,
# etcd_leader and etcd_wait_healthy authenticate. TLS: ETCD_SCHEME=https
# while calling etcd_start, etcd's TLS flags (--cert-file ...) as its
# ETCD_ARGs, and ETCD_CTL_ARGS="--cacert F [--cert F --key F]" for etcdctl
# (see test_etcd_client.sh).

ETCD_BIN=${ETCD_BIN:-etcd}
ETCDCTL_BIN=${ETCDCTL_BIN:-etcdctl}
ETCD_MAX_SECONDS=${ETCD_MAX_SECONDS:-900}
ETCD_SCHEME=${ETCD_SCHEME:-http}
ETCD_USER=${ETCD_USER:-}
ETCD_CTL_ARGS=${ETCD_CTL_ARGS:-}
ETCD_DIR=""
ETCD_MEMBERS=()            # member names in start order
declare -A ETCD_NS=() ETCD_ADDR=() ETCD_CPORT=() ETCD_PPORT=() ETCD_PID=() ETCD_CMD=() ETCD_SCHEMES=()
declare -A ETCD_USED_PORTS=()

# etcd_require: skip the whole file when etcd or etcdctl is missing.
etcd_require() {
	command -v "$ETCD_BIN" >/dev/null || skip_all "needs $ETCD_BIN (apt-get install etcd-server)"
	command -v "$ETCDCTL_BIN" >/dev/null || skip_all "needs $ETCDCTL_BIN (apt-get install etcd-client)"
}

# _etcd_in NS CMD...: run CMD in namespace NS ("-": the root namespace).
_etcd_in() {
	local ns=$1; shift
	if [ "$ns" = - ]; then "$@"; else nsexec "$ns" "$@"; fi
}

# _etcd_free_port NS ADDR: print a TCP port nobody listens on at ADDR in NS
# (and that this file has not handed out yet).
_etcd_free_port() {
	local ns=$1 addr=$2 p i
	for i in $(seq 1 100); do
		p=$((20000 + RANDOM % 40000))
		[ -z "${ETCD_USED_PORTS[$addr:$p]:-}" ] || continue
		if ! _etcd_in "$ns" ss -Htan "( sport = :$p )" | grep -q .; then
			ETCD_USED_PORTS[$addr:$p]=1
			echo "$p"
			return 0
		fi
	done
	return 1
}

# etcd_url NAME: the client URL of member NAME.
etcd_url() { echo "${ETCD_SCHEMES[$1]}://${ETCD_ADDR[$1]}:${ETCD_CPORT[$1]}"; }

# etcd_endpoints [NAME...]: comma-separated client URLs of NAMEs (default:
# every member, in start order).
etcd_endpoints() {
	local names=("$@") n out=""
	[ ${#names[@]} -gt 0 ] || names=("${ETCD_MEMBERS[@]}")
	for n in "${names[@]}"; do out+="${out:+,}$(etcd_url "$n")"; done
	echo "$out"
}

# etcd_alive NAME: true while member NAME's process runs.
etcd_alive() { [ -n "${ETCD_PID[$1]:-}" ] && kill -0 "${ETCD_PID[$1]}" 2>/dev/null; }

# etcd_log NAME: path of member NAME's log.
etcd_log() { echo "$ETCD_DIR/$1.log"; }

# _etcd_prepare NS NAME ADDR: record a new member with free ports.
_etcd_prepare() {
	local ns=$1 name=$2 addr=$3 cport pport
	[ -n "$ETCD_DIR" ] || mk_tmpdir ETCD_DIR || return 1
	[ -z "${ETCD_ADDR[$name]:-}" ] || { echo "etcd member $name exists" >&2; return 1; }
	if [ "$ns" = - ] && [ "$addr" != 127.0.0.1 ]; then
		echo "etcd member $name: only 127.0.0.1 in the root namespace" >&2
		return 1
	fi
	cport=$(_etcd_free_port "$ns" "$addr") && pport=$(_etcd_free_port "$ns" "$addr") || {
		echo "etcd member $name: no free port on $addr" >&2; return 1; }
	ETCD_NS[$name]=$ns ETCD_ADDR[$name]=$addr ETCD_CPORT[$name]=$cport ETCD_PPORT[$name]=$pport
	ETCD_SCHEMES[$name]=$ETCD_SCHEME
	ETCD_MEMBERS+=("$name")
}

# _etcd_peer_url NAME
_etcd_peer_url() { echo "http://${ETCD_ADDR[$1]}:${ETCD_PPORT[$1]}"; }

# _etcd_launch NAME ARG...: start member NAME's etcd with its recorded
# command plus ARGs (later flags win) in the background.
_etcd_launch() {
	local name=$1 ns=${ETCD_NS[$1]} pid child i; shift
	# shellcheck disable=SC2086
	if [ "$ns" = - ]; then
		timeout "$ETCD_MAX_SECONDS" $ETCD_BIN ${ETCD_CMD[$name]} "$@" >>"$(etcd_log "$name")" 2>&1 &
	else
		nsenter --net="/run/netns/$ZH_PFX-$ns" \
			timeout "$ETCD_MAX_SECONDS" $ETCD_BIN ${ETCD_CMD[$name]} "$@" >>"$(etcd_log "$name")" 2>&1 &
	fi
	pid=$!
	ZH_PIDS+=("$pid")
	disown "$pid"   # no "Killed" job notice when etcd_kill ends it
	# timeout's child is etcd itself: that is what etcd_kill signals.
	for i in $(seq 1 50); do
		child=$(pgrep -P "$pid" 2>/dev/null | head -n1)
		[ -z "$child" ] || break
		sleep 0.1
	done
	[ -n "$child" ] || { echo "etcd member $name did not start (see $(etcd_log "$name"))" >&2; return 1; }
	ETCD_PID[$name]=$child
}

# etcd_ctl ARGS...: etcdctl against every live member, run inside the first
# member's namespace (as ETCD_USER when set).
etcd_ctl() {
	local n live=()
	for n in "${ETCD_MEMBERS[@]}"; do ! etcd_alive "$n" || live+=("$n"); done
	[ ${#live[@]} -gt 0 ] || live=("${ETCD_MEMBERS[@]}")
	# shellcheck disable=SC2086
	_etcd_in "${ETCD_NS[${ETCD_MEMBERS[0]}]}" timeout 30 "$ETCDCTL_BIN" \
		--endpoints "$(etcd_endpoints "${live[@]}")" --dial-timeout 2s --command-timeout 10s \
		${ETCD_USER:+--user "$ETCD_USER"} $ETCD_CTL_ARGS "$@"
}

# etcd_wait_healthy NAME... [--timeout S]: wait (default 30 s) until every
# NAME answers `endpoint health`; fails with the log's tail otherwise.
etcd_wait_healthy() {
	local names=() n t=30 i ok
	while [ $# -gt 0 ]; do
		if [ "$1" = --timeout ]; then t=$2; shift 2; else names+=("$1"); shift; fi
	done
	for i in $(seq 1 $((t * 5))); do
		ok=1
		for n in "${names[@]}"; do
			# shellcheck disable=SC2086
			_etcd_in "${ETCD_NS[$n]}" timeout 5 "$ETCDCTL_BIN" --endpoints "$(etcd_url "$n")" \
				--dial-timeout 1s --command-timeout 2s ${ETCD_USER:+--user "$ETCD_USER"} \
				$ETCD_CTL_ARGS endpoint health >/dev/null 2>&1 || { ok=0; break; }
		done
		[ $ok = 0 ] || return 0
		for n in "${names[@]}"; do
			etcd_alive "$n" || { echo "etcd member $n exited:" >&2; tail -n 15 "$(etcd_log "$n")" >&2; return 1; }
		done
		sleep 0.2
	done
	for n in "${names[@]}"; do echo "etcd member $n: not healthy after ${t}s" >&2; tail -n 15 "$(etcd_log "$n")" >&2; done
	return 1
}

# etcd_start NS NAME ADDR [ETCD_ARG...]: a single-member cluster NAME on
# ADDR in NS, waited until healthy. ETCD_ARGs go to etcd as they are.
etcd_start() {
	local ns=$1 name=$2 addr=$3; shift 3
	_etcd_prepare "$ns" "$name" "$addr" || return 1
	ETCD_CMD[$name]="--name $name --data-dir $ETCD_DIR/$name.data
		--listen-client-urls $(etcd_url "$name") --advertise-client-urls $(etcd_url "$name")
		--listen-peer-urls $(_etcd_peer_url "$name") --initial-advertise-peer-urls $(_etcd_peer_url "$name")
		--initial-cluster $name=$(_etcd_peer_url "$name") --initial-cluster-token $ZH_PFX-$name
		--initial-cluster-state new $*"
	_etcd_launch "$name" && etcd_wait_healthy "$name"
}

# etcd_cluster NS ADDR...: one cluster of members e1, e2, ... (one per
# ADDR, the same ADDR may repeat), waited until every member is healthy.
etcd_cluster() {
	local ns=$1 addr name i=0 initial="" names=(); shift
	for addr in "$@"; do
		i=$((i + 1)); name=e$i
		_etcd_prepare "$ns" "$name" "$addr" || return 1
		names+=("$name")
		initial+="${initial:+,}$name=$(_etcd_peer_url "$name")"
	done
	for name in "${names[@]}"; do
		ETCD_CMD[$name]="--name $name --data-dir $ETCD_DIR/$name.data
			--listen-client-urls $(etcd_url "$name") --advertise-client-urls $(etcd_url "$name")
			--listen-peer-urls $(_etcd_peer_url "$name") --initial-advertise-peer-urls $(_etcd_peer_url "$name")
			--initial-cluster $initial --initial-cluster-token $ZH_PFX-cluster
			--initial-cluster-state new"
		_etcd_launch "$name" || return 1
	done
	etcd_wait_healthy "${names[@]}" --timeout 60
}

# etcd_kill NAME [SIGNAL]: signal member NAME (default KILL) and wait (10 s
# at most) until it is gone.
etcd_kill() {
	local name=$1 sig=${2:-KILL} i
	etcd_alive "$name" || return 0
	kill -s "$sig" "${ETCD_PID[$name]}" 2>/dev/null
	for i in $(seq 1 100); do
		etcd_alive "$name" || { ETCD_PID[$name]=""; return 0; }
		sleep 0.1
	done
	echo "etcd member $name: still running 10 s after SIG$sig" >&2
	return 1
}

# etcd_stop NAME: a clean shutdown (SIGTERM).
etcd_stop() { etcd_kill "$1" TERM; }

# etcd_restart NAME [ETCD_ARG...]: start a stopped member again on the same
# ports and data; ETCD_ARGs are appended (they override). Waits until healthy.
etcd_restart() {
	local name=$1; shift
	etcd_alive "$name" && { echo "etcd member $name is running" >&2; return 1; }
	_etcd_launch "$name" "$@" && etcd_wait_healthy "$name" --timeout 60
}

# etcd_leader: the name of the current leader among the live members;
# waits up to 10 s for an election to settle (non-zero status when none).
etcd_leader() {
	local url n i
	for i in $(seq 1 50); do
		url=$(etcd_ctl endpoint status -w json 2>/dev/null |
			jq -r '.[] | select(.Status.leader == .Status.header.member_id) | .Endpoint' |
			head -n1)
		for n in "${ETCD_MEMBERS[@]}"; do
			[ -z "$url" ] || [ "$(etcd_url "$n")" != "$url" ] || { echo "$n"; return 0; }
		done
		sleep 0.2
	done
	return 1
}

# etcd_member_of URL: the member name whose client URL is URL.
etcd_member_of() {
	local n
	for n in "${ETCD_MEMBERS[@]}"; do
		[ "$(etcd_url "$n")" != "$1" ] || { echo "$n"; return 0; }
	done
	return 1
}
