#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The etcd client library (controller/etcd.c) against real etcd, through
# tests/tools/zh_etcd_tool: blocking list/get/txn, subscriptions that
# resume after an outage, re-list after compaction, fail over in a
# 3-member cluster, and authenticate.
#
# Topology: namespace "srv" runs etcd on 198.18.0.1 (one member "solo")
# and 198.18.0.11-13 (cluster e1 e2 e3); namespace "cli" (198.18.0.2) runs
# the client. An outage as the client sees it is a "prohibit" route in cli:
# connections fail at once while etcd itself keeps taking writes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
etcd_require
TOOL=${BUILD:-$ZH_TOP/build}/tests/tools/zh_etcd_tool
[ -x "$TOOL" ] || { tap_fail "$TOOL is missing (make tests)"; exit 1; }

mk_tmpdir T
ns_add srv && ns_add cli && veth_pair srv s0 cli c0 &&
	addr srv s0 198.18.0.1/24 && addr cli c0 198.18.0.2/24 ||
	bail "namespaces srv and cli"
for i in 11 12 13; do addr srv s0 198.18.0.$i/24 || bail "address 198.18.0.$i"; done

etcd_start srv solo 198.18.0.1 || bail "etcd member solo starts"
EP=$(etcd_endpoints solo)

# tool ARGS...: the client tool inside cli against $EP.
tool() { nsexec cli timeout 60 "$TOOL" --endpoints "$EP" "$@"; }

# watch_bg VAR OUT ARGS...: `zh_etcd_tool [WATCH_OPTS] watch ARGS` in cli
# in the background, output to OUT, pid in VAR.
WATCH_OPTS=()
watch_bg() {
	local var=$1 out=$2; shift 2
	bg_nsexec "$var" cli "$TOOL" --endpoints "$EP" "${WATCH_OPTS[@]}" watch "$@" >"$out" 2>&1
}

# wait_line FILE REGEX [COUNT] [SECONDS]: wait until FILE has COUNT
# (default 1) lines matching REGEX, at most SECONDS (default 30).
wait_line() {
	local i want=${3:-1} t=${4:-30}
	for i in $(seq 1 $((t * 10))); do
		[ "$(grep -cE -- "$2" "$1" 2>/dev/null)" -ge "$want" ] && return 0
		sleep 0.1
	done
	echo "no $want line(s) matching '$2' in $1 after ${t}s:" >&2
	tail -n 20 "$1" >&2
	return 1
}

# wait_exit PID [SECONDS]: wait for a background tool to end; its status.
wait_exit() {
	local i t=${2:-60}
	for i in $(seq 1 $((t * 10))); do
		kill -0 "$1" 2>/dev/null || { wait "$1"; return $?; }
		sleep 0.1
	done
	kill "$1" 2>/dev/null
	wait "$1"
	return 124
}

# outage / restore: the client loses / regains its route to solo.
outage()  { ip -n "$ZH_PFX-cli" route add prohibit 198.18.0.1/32; }
restore() { ip -n "$ZH_PFX-cli" route del prohibit 198.18.0.1/32; }

# put_retry KEY VALUE: etcdctl put, again (up to 5 times) while an
# election settles ("request timed out", "no leader").
put_retry() {
	local i
	for i in 1 2 3 4 5; do
		etcd_ctl put "$1" "$2" >/dev/null 2>&1 && return 0
		sleep 1
	done
	etcd_ctl put "$1" "$2"
}

# final_state OUT: the "final" lines of a watch as KEY=VALUE, sorted.
final_state() { sed -n 's/^final //p' "$1" | LC_ALL=C sort; }
# etcd_state PREFIX: etcd's own view as KEY=VALUE, sorted.
etcd_state() { etcd_ctl get --prefix "$1" | paste -d= - - | LC_ALL=C sort; }

# revisions_ordered OUT: the live put/delete lines after each resync_end
# never go back in revision (a transaction's events share one).
revisions_ordered() {
	awk '/^resync_end/ { live = 1; last = $2; next }
	     live && /^(put|delete) / { if ($NF < last) bad = 1; last = $NF }
	     END { exit bad }' "$1"
}

# --- blocking calls -----------------------------------------------------------

# 2500 keys in one call: 20 transactions of <= 128 ops.
args=()
for i in $(seq 0 2499); do args+=("/t/list/k$(printf %04d "$i")=v$i"); done
rev0=$(etcd_ctl endpoint status -w json | jq -r '.[0].Status.header.revision')
out=$(tool txn-put "${args[@]}")
expect_eq "txn-put of 2500 keys applies all" "${out% revision*}" "applied 2500"
rev1=${out##* }
expect_eq "2500 puts take ceil(2500/128) = 20 transactions" "$((rev1 - rev0))" 20

tool list /t/list/ --page 1000 >"$T/list" 2>"$T/list.err"
expect_eq "list with pages of 1000 sees 2500 keys" "$(wc -l <"$T/list")" 2500
expect_eq "every key once, in key order" "$(cut -d= -f1 "$T/list" | LC_ALL=C sort -u | wc -l)" 2500
expect_eq "keys come in order" "$(cut -d= -f1 "$T/list")" "$(cut -d= -f1 "$T/list" | LC_ALL=C sort)"
expect_eq "list is the store's state" "$(cat "$T/list")" "$(printf '%s\n' "${args[@]}")"
expect_eq "list reports the revision of its first page" "$(cat "$T/list.err")" "revision $rev1 count 2500"
tool list /t/list/ --page 7 >"$T/list7" 2>/dev/null
expect_eq "list with pages of 7 gives the same" "$(md5sum <"$T/list7")" "$(md5sum <"$T/list")"

expect_eq "get one key" "$(tool get /t/list/k0042)" "v42"
out=$(tool get /t/list/nope 2>&1); rc=$?
expect_eq "get of a missing key exits 2" "$rc" 2
check "get of a missing key names it" grep -q "/t/list/nope: not found" <<<"$out"
expect_eq "list of an empty prefix is empty" "$(tool list /t/none/ 2>/dev/null | wc -l)" 0

# txn with 300 mixed ops, a key touched twice goes to the next txn.
ops=()
for i in $(seq 1 300); do ops+=("put:/t/txn/k$i=v$i"); done
ops+=("del:/t/txn/k1" "put:/t/txn/k1=again" "delp:/t/txn/k2")
out=$(tool txn "${ops[@]}")
expect_eq "txn of 303 ops applies all" "${out% revision*}" "applied 303"
expect_eq "after the txn: k1 put again, k2* deleted" \
	"$(etcd_ctl get --prefix /t/txn/ --keys-only | grep -c .)" \
	"$((300 - 1 - 10 - 100))"
expect_eq "k1 holds the last value" "$(tool get /t/txn/k1)" "again"

tool txn-put /t/listx=keep >/dev/null
tool del-prefix /t/list/ >/dev/null
expect_eq "del-prefix removes the prefix" "$(etcd_ctl get --prefix /t/list/ --keys-only | grep -c .)" 0
expect_eq "del-prefix keeps a sibling that only shares the string" "$(tool get /t/listx)" "keep"

out=$(nsexec cli timeout 60 "$TOOL" --endpoints "http://198.18.0.1:1" list /t/ 2>&1); rc=$?
expect_eq "an unreachable endpoint fails" "$rc" 1
check "the error names the endpoint and the cause" grep -q "http://198.18.0.1:1: list /t/: connection refused" <<<"$out"
out=$(nsexec cli timeout 60 "$TOOL" --endpoints "http://198.18.0.1:1,$EP" get /t/listx 2>&1)
expect_eq "a dead first endpoint fails over to the next" "$out" "keep"

# --- watch ------------------------------------------------------------------

tool txn-put /t/w/old=0 >/dev/null
watch_bg pid "$T/w1" /t/w/ --events 4 --timeout 60 --dump
wait_line "$T/w1" '^resync_end' || bail "watch lists /t/w/"
etcd_ctl put /t/w/a 1 >/dev/null
etcd_ctl put /t/wx/outside 1 >/dev/null
etcd_ctl put /t/w/b 2 >/dev/null
etcd_ctl del /t/w/a >/dev/null
etcd_ctl put /t/w/c 3 >/dev/null
wait_exit "$pid"; rc=$?
expect_eq "watch ends after 4 events" "$rc" 0
expect_eq "watch lists then sees puts and deletes" \
	"$(grep -E '^(resync|put|delete)' "$T/w1" | sed 's/ [0-9]*$//')" \
	"$(printf '%s\n' resync_begin "put /t/w/old=0" resync_end "put /t/w/a=1" "put /t/w/b=2" \
		"delete /t/w/a" "put /t/w/c=3")"
check "watch events carry ordered revisions" revisions_ordered "$T/w1"
expect_eq "the watcher's state is the store's" "$(final_state "$T/w1")" "$(etcd_state /t/w/)"
check "state up names the endpoint" grep -q "^state up $EP: " "$T/w1"
check "zh_etcd_poll reports a ready extra fd" grep -qx "extra ready" "$T/w1"

# Resume: etcd restarts; while the client cannot reach it, writes go on.
tool txn-put /t/r/k1=1 >/dev/null
watch_bg pid "$T/w2" /t/r/ --until /t/r/end --timeout 120 --dump
wait_line "$T/w2" '^resync_end' || bail "watch lists /t/r/"
etcd_ctl put /t/r/before 1 >/dev/null
wait_line "$T/w2" '^put /t/r/before=1' || tap_fail "watch sees a put before the outage"
etcd_kill solo
wait_line "$T/w2" '^state down' || tap_fail "watch reports the lost stream"
outage
etcd_restart solo || bail "etcd member solo restarts"
for i in 1 2 3 4 5; do etcd_ctl put /t/r/during$i $i >/dev/null; done
etcd_ctl del /t/r/k1 >/dev/null
sleep 1   # the watcher is retrying into the prohibit route meanwhile
restore
etcd_ctl put /t/r/end 1 >/dev/null
wait_exit "$pid" 120; rc=$?
expect_eq "watch ends at /t/r/end after the outage" "$rc" 0
expect_eq "the watch resumed instead of listing again" "$(grep -c '^resync_begin' "$T/w2")" 1
expect_eq "it saw every write made while it was away, in order" \
	"$(sed -n '/^state down/,$p' "$T/w2" | grep -E '^(put|delete) ' | cut -d' ' -f1,2)" \
	"$(printf '%s\n' "put /t/r/during1=1" "put /t/r/during2=2" "put /t/r/during3=3" \
		"put /t/r/during4=4" "put /t/r/during5=5" "delete /t/r/k1" "put /t/r/end=1")"
check "revisions stay ordered across the outage" revisions_ordered "$T/w2"
check "state down names the endpoint" grep -q "^state down $EP: " "$T/w2"
expect_eq "the watcher's state is the store's" "$(final_state "$T/w2")" "$(etcd_state /t/r/)"

# Compaction while the client is away: it must list again (resync).
tool txn-put /t/c/k1=1 /t/c/k2=2 /t/c/k3=3 >/dev/null
watch_bg pid "$T/w3" /t/c/ --until /t/c/end --timeout 120 --dump
wait_line "$T/w3" '^resync_end' || bail "watch lists /t/c/"
outage
etcd_kill solo
wait_line "$T/w3" '^state down' || tap_fail "watch reports the lost stream"
etcd_restart solo || bail "etcd member solo restarts"
etcd_ctl put /t/c/k2 new >/dev/null
etcd_ctl del /t/c/k1 >/dev/null
etcd_ctl put /t/c/k4 4 >/dev/null
rev=$(etcd_ctl endpoint status -w json | jq -r '.[0].Status.header.revision')
etcd_ctl compact "$rev" >/dev/null || tap_fail "compact to $rev"
restore
wait_line "$T/w3" '^resync_end' 2 60 || tap_fail "watch lists again after compaction"
etcd_ctl put /t/c/end 1 >/dev/null
wait_exit "$pid" 120; rc=$?
expect_eq "watch ends at /t/c/end after the compaction" "$rc" 0
expect_eq "a compacted resume gives one new listing" "$(grep -c '^resync_begin' "$T/w3")" 2
expect_eq "the new listing is the state at revision $rev" \
	"$(awk '/^resync_begin/ { b = ""; in_list = 1; next }
		/^resync_end/ { in_list = 0; last = b; next }
		in_list && /^put / { b = b $2 "\n" }
		END { printf "%s", last }' "$T/w3")" \
	"$(printf '%s\n' /t/c/k2=new /t/c/k3=3 /t/c/k4=4)"
expect_eq "the listing ends at the compacted revision" "$(grep '^resync_end' "$T/w3" | tail -n1)" "resync_end $rev"
expect_eq "after the resync the watcher's state is the store's (k1 swept)" \
	"$(final_state "$T/w3")" "$(etcd_state /t/c/)"

# --- authentication ------------------------------------------------------------

etcd_ctl user add root:s3cret --interactive=false >/dev/null &&
	etcd_ctl auth enable >/dev/null 2>&1 || bail "enable auth"
ETCD_USER=root:s3cret
AUTH=(--user root --password s3cret)
out=$(tool "${AUTH[@]}" txn-put /t/a/k1=1)
expect_eq "put with user and password" "${out% revision*}" "applied 1"
expect_eq "get with user and password" "$(tool "${AUTH[@]}" get /t/a/k1)" "1"
out=$(tool list /t/a/ 2>&1); rc=$?
expect_eq "no credentials: refused" "$rc" 1
check "no credentials: the reason is given" grep -qi "user name is empty\|permission denied" <<<"$out"
out=$(tool --user root --password wrong list /t/a/ 2>&1); rc=$?
expect_eq "wrong password: refused" "$rc" 1
check "wrong password: a clear error" \
	grep -q "$EP: authenticate as root: etcdserver: authentication failed, invalid user ID or password" <<<"$out"

# Tokens do not survive a restart: the watch must authenticate again.
WATCH_OPTS=("${AUTH[@]}")
watch_bg pid "$T/w4" /t/a/ --until /t/a/end --timeout 120 --dump
WATCH_OPTS=()
wait_line "$T/w4" '^resync_end' || bail "watch lists /t/a/ with auth"
etcd_kill solo
etcd_restart solo || bail "etcd member solo restarts"
etcd_ctl put /t/a/k2 2 >/dev/null
etcd_ctl put /t/a/end 1 >/dev/null
wait_exit "$pid" 120; rc=$?
expect_eq "an authenticated watch survives a restart (new token)" "$rc" 0
expect_eq "it saw the writes after the restart" \
	"$(grep -E '^put /t/a/(k2|end)' "$T/w4" | cut -d' ' -f2)" "$(printf '%s\n' /t/a/k2=2 /t/a/end=1)"
ETCD_USER=""
etcd_kill solo

# --- 3-member cluster failover ------------------------------------------------

etcd_cluster srv 198.18.0.11 198.18.0.12 198.18.0.13 || bail "3-member cluster"
EP=$(etcd_endpoints e1 e2 e3)
tool txn-put /t/f/a=1 >/dev/null || tap_fail "put into the cluster"
watch_bg pid "$T/w5" /t/f/ --until /t/f/end --timeout 180 --dump
wait_line "$T/w5" '^resync_end' || bail "watch lists /t/f/ on the cluster"
wait_line "$T/w5" '^state up' || bail "watch is up"
watched=$(etcd_member_of "$(sed -n 's/^state up \(https\?:\/\/[^ ]*\): .*/\1/p' "$T/w5" | tail -n1)")
diag "watching member $watched"
etcd_kill "$watched"
wait_line "$T/w5" '^state down' || tap_fail "the watch notices its member died"
put_retry /t/f/b 2 || tap_fail "write with $watched down"
wait_line "$T/w5" '^put /t/f/b=2' 1 60 && tap_ok "the watch fails over when its member dies" ||
	tap_fail "the watch fails over when its member dies"
now=$(sed -n 's/^state up \(https\?:\/\/[^ ]*\): .*/\1/p' "$T/w5" | tail -n1)
check "it moved to another member" test "$now" != "$(etcd_url "$watched")"
out=$(tool --timeout-ms 15000 txn-put /t/f/blocking=1 2>&1)
expect_eq "a blocking txn with a member down succeeds" "${out% revision*}" "applied 1"

etcd_restart "$watched" || bail "member $watched restarts"
etcd_wait_healthy e1 e2 e3 --timeout 60 || bail "cluster healthy again"
leader=$(etcd_leader) || bail "find the leader"
diag "killing the leader $leader"
etcd_kill "$leader"
out=$(tool --timeout-ms 15000 txn-put /t/f/c=3 2>&1)
expect_eq "a blocking txn right after the leader died succeeds" "${out% revision*}" "applied 1"
wait_line "$T/w5" '^put /t/f/c=3' 1 60 && tap_ok "the watch goes on after the leader died" ||
	tap_fail "the watch goes on after the leader died"
etcd_restart "$leader" || bail "member $leader restarts"

# Quorum lost under the watched member: it has no leader, and the watch
# (which asks for one) must not sit on a silent stream.
etcd_wait_healthy e1 e2 e3 --timeout 60 || bail "cluster healthy again"
watched=$(etcd_member_of "$(sed -n 's/^state up \(https\?:\/\/[^ ]*\): .*/\1/p' "$T/w5" | tail -n1)")
others=()
for m in e1 e2 e3; do [ "$m" = "$watched" ] || others+=("$m"); done
downs=$(grep -c '^state down' "$T/w5")
etcd_kill "${others[0]}"; etcd_kill "${others[1]}"
wait_line "$T/w5" '^state down .*no leader' 1 60 &&
	tap_ok "a watch on a member that lost its leader reports 'no leader'" ||
	tap_fail "a watch on a member that lost its leader reports 'no leader'"
etcd_restart "${others[0]}" || bail "member ${others[0]} restarts"
etcd_restart "${others[1]}" || bail "member ${others[1]} restarts"
put_retry /t/f/d 4
wait_line "$T/w5" '^put /t/f/d=4' 1 60 && tap_ok "the watch goes on once the quorum is back" ||
	tap_fail "the watch goes on once the quorum is back"
expect_ge "it was down meanwhile" "$(grep -c '^state down' "$T/w5")" $((downs + 1))
put_retry /t/f/end 1
wait_exit "$pid" 120; rc=$?
expect_eq "cluster watch ends at /t/f/end" "$rc" 0
expect_eq "one listing through both failures" "$(grep -c '^resync_begin' "$T/w5")" 1
check "revisions stay ordered through the failovers" revisions_ordered "$T/w5"
expect_eq "the watcher's state is the cluster's" "$(final_state "$T/w5")" "$(etcd_state /t/f/)"
for m in e1 e2 e3; do etcd_kill "$m"; done

# --- TLS ------------------------------------------------------------------------

if command -v openssl >/dev/null; then
	tls_cert() { # NAME CN EXT: a P-256 key and a certificate signed by the test CA
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$2" \
			-keyout "$T/$1.key" -out "$T/$1.csr" 2>/dev/null &&
			openssl x509 -req -in "$T/$1.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
				-CAcreateserial -days 1 -out "$T/$1.crt" -extfile <(printf '%s\n' "$3") 2>/dev/null
	}
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=zerohop-test-ca -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null &&
		tls_cert srv 198.18.0.1 "subjectAltName=IP:198.18.0.1
extendedKeyUsage=serverAuth,clientAuth" &&
		tls_cert cli client "extendedKeyUsage=clientAuth" || bail "test certificates"
	ETCD_CTL_ARGS="--cacert $T/ca.crt --cert $T/cli.crt --key $T/cli.key"
	ETCD_SCHEME=https etcd_start srv tls 198.18.0.1 --cert-file "$T/srv.crt" --key-file "$T/srv.key" \
		--trusted-ca-file "$T/ca.crt" --client-cert-auth || bail "etcd member tls starts"
	EP=$(etcd_endpoints tls)
	TLS=(--cacert "$T/ca.crt" --cert "$T/cli.crt" --key "$T/cli.key")
	out=$(tool "${TLS[@]}" txn-put /t/tls/k=v)
	expect_eq "put over TLS with a client certificate" "${out% revision*}" "applied 1"
	expect_eq "get over TLS" "$(tool "${TLS[@]}" get /t/tls/k)" "v"
	out=$(tool --cert "$T/cli.crt" --key "$T/cli.key" get /t/tls/k 2>&1); rc=$?
	expect_eq "TLS without the CA: refused" "$rc" 1
	check "TLS without the CA: the error names the endpoint" grep -q "^zh_etcd_tool: get: $EP: get /t/tls/k: " <<<"$out"
	out=$(tool --cacert "$T/ca.crt" get /t/tls/k 2>&1); rc=$?
	expect_eq "TLS without a client certificate: refused" "$rc" 1
	WATCH_OPTS=("${TLS[@]}")
	watch_bg pid "$T/w6" /t/tls/ --events 1 --timeout 60
	WATCH_OPTS=()
	wait_line "$T/w6" '^resync_end' || tap_fail "watch lists over TLS"
	etcd_ctl put /t/tls/k2 v2 >/dev/null
	wait_exit "$pid"; rc=$?
	expect_eq "watch over TLS sees a put" "$rc:$(grep -c '^put /t/tls/k2=v2' "$T/w6")" "0:1"
else
	tap_skip "TLS: needs openssl to make test certificates"
fi

finish
