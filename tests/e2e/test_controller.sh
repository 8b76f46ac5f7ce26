#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# zerohop-controller with real etcd: two shards (one etcd each, auth
# enabled) on the overlay.sh fabric, one controller per shard.
#
#   shard 1 (s1, 198.18.0.201): networks a (VNI 100) and b (VNI 200)
#   shard 2 (s2, 198.18.0.202): networks c (VNI 300) and d (VNI 400)
#   peerings: a<->b (same shard), a<->c and a<->d (across shards, each side
#   with the credential the other side's controller creates), c->d and d->c
#   on shard 2, and b->c, b->d one-sided.
#
# Checked: one published view per export policy in use (b grants "web" to
# c and d: one view), exactly the endpoints and routes a policy allows,
# withdrawal of what leaves a policy's scope without rewriting the rest, a
# view deleted when no peering grants it; the effective routes of a (same
# prefix local, from two peers with different preferences, and from two
# with equal ones) and `zerohop show conflicts`; the peer credentials read
# their view and the peering record and nothing else (etcd refuses); the
# acl/ records (user and hash, never the password); a controller restart
# writes nothing (revision unchanged) and checks no password by logging in;
# a password file changed and a user deleted by hand while the controller
# was down; a killed peer shard leaves the last state in place (also
# across a restart) while local changes go on; removing a peering removes
# its routes, role, user and record, also while the controller is down.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
. "$(dirname "$0")/etcd.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
[ -x "$ZH" ] || { tap_fail "zerohop binary $ZH is missing (run make)"; exit 1; }
ZHCTL=${ZHCTL:-$(dirname "$ZH")/zerohop-controller}
[ -x "$ZHCTL" ] || { tap_fail "zerohop-controller binary $ZHCTL is missing (run make)"; exit 1; }
etcd_require
ov_require jq

mk_tmpdir T
ov_fabric && ov_host s1 201 && ov_host s2 202 || bail "fabric with two shard hosts"
etcd_start s1 e1 198.18.0.201 || bail "shard 1 etcd"
etcd_start s2 e2 198.18.0.202 || bail "shard 2 etcd"
EP1=$(etcd_url e1)
EP2=$(etcd_url e2)
R=/zerohop/v1

for u in root a-at-c a-at-d c-at-a d-at-a; do
	printf '%s\n' "pw-$u-$RANDOM" >"$T/$u.pw"
done
chmod 600 "$T"/*.pw
ROOT_PW=$(cat "$T/root.pw")

# sctl SHARD ARGS...: etcdctl on shard 1 or 2 (as root once auth is on).
sctl() {
	local s=$1 ep; shift
	[ "$s" = 1 ] && ep=$EP1 || ep=$EP2
	nsexec "s$s" timeout 30 "$ETCDCTL_BIN" --endpoints "$ep" --dial-timeout 2s \
		--command-timeout 10s ${SCTL_USER:+--user "$SCTL_USER"} "$@"
}
# as USER SHARD ARGS...: etcdctl with a peer credential.
as() {
	local u=$1 s=$2; shift 2
	SCTL_USER="$u:$(cat "$T/$u.pw")" sctl "$s" "$@"
}
revision() { sctl "$1" endpoint status -w json | jq -r '.[0].Status.header.revision'; }
modrev() { sctl "$1" get "$2" -w json | jq -r '.kvs[0].mod_revision // "none"'; }
value() { sctl "$1" get --print-value-only "$2"; }
keys() { sctl "$1" get --prefix --keys-only "$2" | sed '/^$/d'; }
count() { keys "$@" | wc -l; }
dump() { sctl "$1" get --prefix "$2" | paste -d' ' - -; }

# wait_for DESC CMD...: up to 30 s for CMD to succeed; a failure is reported.
wait_for() {
	local desc=$1 i; shift
	for i in $(seq 1 150); do
		"$@" >/dev/null 2>&1 && { tap_ok "$desc"; return 0; }
		sleep 0.2
	done
	tap_fail "$desc (not within 30 s)"
	return 1
}
# eventually DESC WANT CMD...: up to 30 s for CMD to print WANT, then
# compare (a failure shows the last output).
eventually() {
	local desc=$1 want=$2 got i; shift 2
	for i in $(seq 1 150); do
		got=$("$@" 2>&1)
		[ "$got" = "$want" ] && break
		sleep 0.2
	done
	expect_eq "$desc" "$got" "$want"
}

for s in 1 2; do
	sctl "$s" user add "root:$ROOT_PW" --interactive=false >/dev/null &&
		sctl "$s" auth enable >/dev/null 2>&1 || bail "auth on shard $s"
done
SCTL_USER="root:$ROOT_PW"

cat >"$T/s1.json" <<EOF
{"version": "v1",
 "networks": [
  {"name": "a", "vni": 100, "cidrs": ["10.1.0.0/16"],
   "routes": [{"prefix": "10.60.0.0/24", "host": "ha"}],
   "exports": [{"name": "to-peers"}],
   "peerings": [
    {"peer": "b", "grant": "to-peers", "preference": 100},
    {"peer": "c", "grant": "to-peers", "preference": 200, "peer_shard": ["$EP2"],
     "user": "a-at-c", "password_file": "$T/a-at-c.pw",
     "peer_user": "c-at-a", "peer_password_file": "$T/c-at-a.pw"},
    {"peer": "d", "grant": "to-peers", "preference": 200, "peer_shard": ["$EP2"],
     "user": "a-at-d", "password_file": "$T/a-at-d.pw",
     "peer_user": "d-at-a", "peer_password_file": "$T/d-at-a.pw"}]},
  {"name": "b", "vni": 200, "cidrs": ["10.2.0.0/16", "10.60.0.0/14"],
   "endpoints": [{"ip": "10.2.1.5", "mac": "02:00:00:00:02:05", "host": "hb"},
                 {"ip": "10.2.1.200", "mac": "02:00:00:00:02:c8", "host": "hb"},
                 {"ip": "10.2.2.6", "mac": "02:00:00:00:02:06", "host": "hb"}],
   "routes": [{"prefix": "10.60.0.0/24", "host": "hb"}, {"prefix": "10.61.0.0/24", "host": "hb"},
              {"prefix": "10.2.1.128/25", "host": "hb"}],
   "exports": [{"name": "all"}, {"name": "web", "prefixes": ["10.2.1.0/24"], "protocols": ["tcp"]}],
   "peerings": [{"peer": "a", "grant": "all"},
                {"peer": "c", "grant": "web", "peer_shard": ["$EP2"]},
                {"peer": "d", "grant": "web", "peer_shard": ["$EP2"]}]}],
 "hosts": [{"name": "ha", "underlay": "198.18.0.1"}, {"name": "hb", "underlay": "198.18.0.2"}]}
EOF
cat >"$T/s2.json" <<EOF
{"version": "v1",
 "networks": [
  {"name": "c", "vni": 300, "cidrs": ["10.3.0.0/16", "10.60.0.0/14"],
   "endpoints": [{"ip": "10.3.0.5", "mac": "02:00:00:00:03:05", "host": "hc"},
                 {"ip": "10.3.9.9", "mac": "02:00:00:00:03:09", "host": "hc"}],
   "routes": [{"prefix": "10.60.0.0/24", "host": "hc"}, {"prefix": "10.61.0.0/24", "host": "hc"},
              {"prefix": "10.62.0.0/24", "host": "hc"}],
   "exports": [{"name": "all"}, {"name": "private", "prefixes": ["10.3.9.0/24"]}],
   "peerings": [
    {"peer": "a", "grant": "all", "peer_shard": ["$EP1"],
     "user": "c-at-a", "password_file": "$T/c-at-a.pw",
     "peer_user": "a-at-c", "peer_password_file": "$T/a-at-c.pw"},
    {"peer": "d", "grant": "private"}]},
  {"name": "d", "vni": 400, "cidrs": ["10.4.0.0/16", "10.60.0.0/14"],
   "routes": [{"prefix": "10.62.0.0/24", "host": "hd"}, {"prefix": "10.63.0.0/24", "host": "hd"}],
   "exports": [{"name": "all"}],
   "peerings": [
    {"peer": "a", "grant": "all", "peer_shard": ["$EP1"],
     "user": "d-at-a", "password_file": "$T/d-at-a.pw",
     "peer_user": "a-at-d", "peer_password_file": "$T/a-at-d.pw"},
    {"peer": "c", "grant": "all"}]}],
 "hosts": [{"name": "hc", "underlay": "198.18.0.3"}, {"name": "hd", "underlay": "198.18.0.4"}]}
EOF
for s in 1 2; do
	[ "$s" = 1 ] && ep=$EP1 || ep=$EP2
	out=$(nsexec "s$s" timeout 60 "$ZH" apply -f "$T/s$s.json" --etcd "$ep" \
		--user root --password-file "$T/root.pw" 2>&1) || bail "apply shard $s: $out"
done

# start_ctl N: zerohop-controller of shard N in the background, log $T/ctlN.log.
CTL_PID=()
start_ctl() {
	local s=$1 ep nets
	[ "$s" = 1 ] && { ep=$EP1; nets=a,b; } || { ep=$EP2; nets=c,d; }
	: >"$T/ctl$s.log"
	bg_nsexec "CTL_PID[$s]" "s$s" timeout 600 "$ZHCTL" --etcd "$ep" --networks "$nets" \
		--user root --password-file "$T/root.pw" 2>>"$T/ctl$s.log"
}
stop_ctl() {
	kill -TERM "${CTL_PID[$1]}" 2>/dev/null
	wait "${CTL_PID[$1]}"
}
# logged N REGEX [MORE_THAN]: the controller of shard N logged a matching
# line (more than MORE_THAN of them).
logged() { [ "$(grep -Ec "$2" "$T/ctl$1.log")" -gt "${3:-0}" ]; }

start_ctl 1
start_ctl 2

# --- published views: one per export policy in use ---------------------------------

policies() { keys "$1" "$R/published/$2/" | cut -d/ -f6 | sort -u | tr '\n' ' '; }
eventually "b: views 'all' (for a) and 'web' (for c and d: shared)" "all web " policies 1 b
expect_eq "b publishes exactly two views for its three peerings" "$(policies 1 b)" "all web "
expect_eq "a publishes one view for its three peerings" "$(policies 1 a)" "to-peers "
expect_eq "d's view for a and c is one: 'all'" "$(policies 2 d)" "all "
expect_eq "c: 'all' for a, 'private' for d" "$(policies 2 c)" "all private "
expect_eq "b/web: the policy's meta" "$(value 1 $R/published/b/web/meta)" \
	'{"vni":200,"prefixes":["10.2.1.0/24"],"protocols":["tcp"]}'
expect_eq "b/web: only the endpoints and routes inside 10.2.1.0/24" \
	"$(keys 1 $R/published/b/web/ | sed "s|$R/published/b/web/||" | tr '\n' ' ')" \
	"endpoints/10.2.1.200 endpoints/10.2.1.5 meta routes/10.2.1.128/25 "
expect_eq "b/web: an endpoint as the network has it" \
	"$(value 1 $R/published/b/web/endpoints/10.2.1.5)" \
	'{"mac":"02:00:00:00:02:05","host":"hb","host_ip":"198.18.0.2"}'
expect_eq "b/all: every endpoint and route in b's CIDRs" "$(count 1 $R/published/b/all/)" 7

# --- effective routes of a: the conflict rules -----------------------------------------

eff() { value 1 "$R/effective/a/routes/$1"; }
loser_count() { eff "$1" | jq -r '.losers | length'; }
eventually "a learns d's routes from shard 2 (through its peer credential)" 1 loser_count 10.62.0.0/24
eventually "a's effective table has 5 prefixes" 5 count 1 $R/effective/a/routes/
summary() { eff "$1" | jq -r '[.network, .origin, .rule, ([.losers[]? | "\(.network):\(.rule)"] | join(","))] | join(" ")'; }
expect_eq "local beats both peers (10.60.0.0/24)" "$(summary 10.60.0.0/24)" "a local local c:local,b:local"
expect_eq "higher preference wins (10.61.0.0/24: c 200 over b 100)" "$(summary 10.61.0.0/24)" \
	"c peer preference b:preference"
expect_eq "equal preference: lower VNI wins (10.62.0.0/24: c 300 over d 400)" \
	"$(summary 10.62.0.0/24)" "c peer network-id d:network-id"
expect_eq "a prefix with one origin (10.63.0.0/24: d)" "$(summary 10.63.0.0/24)" "d peer only "
expect_eq "b's route inside its export (10.2.1.128/25)" "$(summary 10.2.1.128/25)" "b peer only "
expect_eq "the winner's record: peer c's route with its VNI, host and preference" \
	"$(eff 10.61.0.0/24 | jq -c '{vni, host, host_ip, preference}')" \
	'{"vni":300,"host":"hc","host_ip":"198.18.0.3","preference":200}'
expect_eq "b has only its own routes (c and d never peered back: one-sided)" \
	"$(value 1 $R/effective/b/routes/10.61.0.0/24)" \
	'{"origin":"local","network":"b","vni":200,"host":"hb","host_ip":"198.18.0.2","rule":"only"}'

show() { nsexec s1 timeout 30 "$ZH" show conflicts --etcd "$EP1" --user root --password-file "$T/root.pw" "$@"; }
expect_eq "zerohop show conflicts: prefix, winner, rule, losers" "$(show --network a)" \
"NETWORK          PREFIX             WINNER           ORIGIN RULE        LOSERS
a                10.60.0.0/24       a                local  local       c(local) b(local)
a                10.61.0.0/24       c                peer   preference  b(preference)
a                10.62.0.0/24       c                peer   network-id  d(network-id)"
expect_eq "show conflicts --json: three conflicts, losers with their data" \
	"$(show --json | jq -c '[.[] | [.prefix, .winner.network, .rule, (.losers | map(.network + "@" + .host_ip))]]')" \
	'[["10.60.0.0/24","a","local",["c@198.18.0.3","b@198.18.0.2"]],["10.61.0.0/24","c","preference",["b@198.18.0.2"]],["10.62.0.0/24","c","network-id",["d@198.18.0.4"]]]'
expect_eq "show conflicts --all --network b: every effective route" "$(show --all --network b | wc -l)" 4

# --- access control: a peer credential reads its view and its peering record only ---

denied() { local out; out=$("$@" 2>&1) && return 1; grep -q "permission denied" <<<"$out"; }
expect_eq "a-at-c (on shard 2) reads c's peering record for a" \
	"$(as a-at-c 2 get --print-value-only $R/networks/c/peerings/a | jq -r .grant)" all
out=$(as a-at-c 2 get --prefix --keys-only $R/published/c/all/ 2>&1)
expect_eq "a-at-c reads c's view granted to a (published/c/all/: 6 keys)" "$(sed '/^$/d' <<<"$out" | wc -l)" 6
check "a-at-c: c's endpoints are refused" denied as a-at-c 2 get --prefix $R/networks/c/endpoints/
check "a-at-c: another policy's view (published/c/private/) is refused" \
	denied as a-at-c 2 get --prefix $R/published/c/private/
check "a-at-c: all of published/c/ is refused" denied as a-at-c 2 get --prefix $R/published/c/
check "a-at-c: c's peering record for d is refused" denied as a-at-c 2 get $R/networks/c/peerings/d
check "a-at-c: d's view is refused" denied as a-at-c 2 get --prefix $R/published/d/all/
check "a-at-c: writing its own view is refused" denied as a-at-c 2 put $R/published/c/all/x 1
check "c-at-a (on shard 1) reads a's view for c" as c-at-a 1 get $R/published/a/to-peers/meta
check "c-at-a: b's network is refused" denied as c-at-a 1 get --prefix $R/networks/b/
expect_eq "the role holds exactly the two read permissions" \
	"$(sctl 2 role get zerohop-peer-c-a | sed 's/^\t*//' | tr '\n' ' ')" \
	"Role zerohop-peer-c-a KV Read: $R/networks/c/peerings/a [$R/published/c/all/, $R/published/c/all0) (prefix $R/published/c/all/) KV Write: "

# the acl/ record of a peering: its user and a salted hash, never the password
expect_eq "acl/a/c and acl/a/d: one record per peering with a peer_user" \
	"$(keys 1 $R/acl/ | tr '\n' ' ')" "$R/acl/a/c $R/acl/a/d "
expect_eq "acl/a/c: the user and a SHA-256-crypt hash" \
	"$(value 1 $R/acl/a/c | jq -r '[.user, (.password | test("^[$]5[$]rounds=1000[$][^$]+[$][^$]+$"))] | join(" ")')" \
	"c-at-a true"
check_fails "acl/a/c: the password itself is not stored" grep -qF "$(cat "$T/c-at-a.pw")" <(value 1 $R/acl/a/c)
check "first start: the passwords were set and checked" logged 1 "access: .* ready \([1-9][0-9]* passwords? checked by logging in, [1-9][0-9]* set\)"
check "a-at-c: its record is refused" denied as a-at-c 2 get $R/acl/c/a

# --- scope changes: withdrawn, added, nothing else rewritten --------------------------------

keep_meta=$(modrev 1 $R/published/b/all/meta)
keep_ep=$(modrev 1 $R/published/b/web/endpoints/10.2.1.5)
sctl 1 del $R/networks/b/endpoints/10.2.1.200 >/dev/null
eventually "a deleted endpoint is withdrawn from b/web" 0 count 1 $R/published/b/web/endpoints/10.2.1.200
expect_eq "... and from b/all" "$(count 1 $R/published/b/all/endpoints/10.2.1.200)" 0
sctl 1 put $R/networks/b/exports/web '{"prefixes":["10.2.1.0/25"],"protocols":["tcp","udp"]}' >/dev/null
eventually "narrowing web: the route 10.2.1.128/25 leaves b/web" 0 \
	count 1 $R/published/b/web/routes/10.2.1.128/25
expect_eq "b/web's meta follows the policy" "$(value 1 $R/published/b/web/meta)" \
	'{"vni":200,"prefixes":["10.2.1.0/25"],"protocols":["tcp","udp"]}'
expect_eq "the route stays in b/all" "$(count 1 $R/published/b/all/routes/10.2.1.128/25)" 1
expect_eq "an endpoint still inside is not rewritten" "$(modrev 1 $R/published/b/web/endpoints/10.2.1.5)" \
	"$keep_ep"
expect_eq "the other view's meta is not rewritten" "$(modrev 1 $R/published/b/all/meta)" "$keep_meta"
sctl 1 put $R/networks/b/routes/10.2.1.0/26 '{"host":"hb","host_ip":"198.18.0.2"}' >/dev/null
eventually "a new route inside the scope joins b/web" 1 count 1 $R/published/b/web/routes/10.2.1.0/26
eventually "a's effective table has b's new route" "b peer only " summary 10.2.1.0/26

# --- a view no peering uses is deleted ------------------------------------------------------

sctl 1 del $R/networks/b/peerings/c >/dev/null
sleep 1
expect_eq "with d still granted web, b/web stays" "$(policies 1 b)" "all web "
sctl 1 del $R/networks/b/peerings/d >/dev/null
eventually "no peering grants web: b/web is deleted" 0 count 1 $R/published/b/web/
expect_eq "b/all stays" "$(policies 1 b)" "all "

# --- restart: the same state, nothing written ------------------------------------------------

for i in $(seq 1 50); do logged 1 "network b: reconciled: .*peers 1/1 known" && break; sleep 0.2; done
sleep 1
before=$(dump 1 $R/published/; dump 1 $R/effective/)
rev=$(revision 1)
stop_ctl 1
check "SIGTERM: the controller says it stops" logged 1 "Terminated: stopping"
start_ctl 1
wait_for "restarted: every peer of a known again" logged 1 "network a: reconciled: .*peers 3/3 known"
wait_for "restarted: b reconciled" logged 1 "network b: reconciled: "
sleep 1
expect_eq "restart: no write on shard 1 (revision unchanged)" "$(revision 1)" "$rev"
expect_eq "restart: the same published and effective state" "$(dump 1 $R/published/; dump 1 $R/effective/)" "$before"
check "restart: the controller logged no write" bash -c "! grep -E 'reconciled: [1-9][0-9]* puts|[1-9][0-9]* deletes' '$T/ctl1.log'"
wait_for "restart: every peering's access is ready without a login (no bcrypt in etcd)" \
	logged 1 "access: [0-9]+ peerings ready \(0 passwords checked by logging in, 0 set\)"
check "restart: c-at-a still reads a's view" as c-at-a 1 get $R/published/a/to-peers/meta

# --- a password changed while the controller was down, a user deleted by hand ---------------

stop_ctl 1
printf '%s\n' "pw-c-at-a-new-$RANDOM" >"$T/c-at-a.pw.new"
old_pw=$(cat "$T/c-at-a.pw")
mv "$T/c-at-a.pw.new" "$T/c-at-a.pw"
sctl 1 user delete d-at-a >/dev/null
start_ctl 1
wait_for "new password file: checked by logging in and set; deleted user: made again" \
	logged 1 "access: [0-9]+ peerings ready \(1 password checked by logging in, 2 set\)"
check "the new password of c-at-a logs in" as c-at-a 1 get $R/published/a/to-peers/meta
with_user() { local SCTL_USER=$1; shift; sctl "$@"; }
check_fails "the old password of c-at-a is refused" with_user "c-at-a:$old_pw" 1 get $R/published/a/to-peers/meta
has_role() { sctl 1 user get "$1" | grep -q "$2"; }
check "the user deleted by hand is back, with its role" has_role d-at-a zerohop-peer-a-d
kill -HUP "${CTL_PID[2]}" # shard 2's controller logs in to shard 1 as c-at-a: it reads the new file

# --- SIGHUP: everything read again, nothing written ----------------------------------------------

rev=$(revision 1)
seen=$(grep -Ec "network a: reconciled: .*peers 3/3 known" "$T/ctl1.log")
kill -HUP "${CTL_PID[1]}"
wait_for "SIGHUP: the controller reads everything again" logged 1 "SIGHUP: reading everything again"
wait_for "SIGHUP: a reconciled again, every peer known" \
	logged 1 "network a: reconciled: .*peers 3/3 known" "$seen"
sleep 1
expect_eq "SIGHUP: nothing written (revision unchanged)" "$(revision 1)" "$rev"

# --- peer shard killed: its last state stays ------------------------------------------------------

etcd_kill e2 || bail "kill shard 2's etcd"
sctl 1 put $R/networks/a/routes/10.70.0.0/24 '{"host":"ha","host_ip":"198.18.0.1"}' >/dev/null
eventually "shard 2 down: a local change still reaches a's effective table" "a local only " \
	summary 10.70.0.0/24
expect_eq "shard 2 down: c's and d's routes stay (fail static)" \
	"$(summary 10.61.0.0/24); $(summary 10.62.0.0/24); $(summary 10.63.0.0/24)" \
	"c peer preference b:preference; c peer network-id d:network-id; d peer only "
before=$(dump 1 $R/published/; dump 1 $R/effective/)
rev=$(revision 1)
stop_ctl 1
start_ctl 1
wait_for "restart during the outage: a reconciled with b known, c and d not" \
	logged 1 "network a: reconciled: .*peers 1/3 known"
wait_for "restart during the outage: the peer shard is reported unreachable" \
	logged 1 "network a: peer c unreachable"
sleep 2
expect_eq "restart during the outage: nothing written" "$(revision 1)" "$rev"
expect_eq "restart during the outage: the last state stays" "$(dump 1 $R/published/; dump 1 $R/effective/)" \
	"$before"

# --- removing a peering: its routes, role and user go --------------------------------------------

check "before: d's user and role exist on shard 1" sctl 1 user get d-at-a
sctl 1 del $R/networks/a/peerings/d >/dev/null
eventually "removed peering: d's only route is withdrawn" 0 count 1 $R/effective/a/routes/10.63.0.0/24
expect_eq "removed peering: c alone has 10.62.0.0/24 now" "$(summary 10.62.0.0/24)" "c peer only "
user_gone() { ! sctl 1 user get d-at-a; }
wait_for "removed peering: user d-at-a is gone" user_gone
check_fails "removed peering: role zerohop-peer-a-d is gone" sctl 1 role get zerohop-peer-a-d
check "c's user on shard 1 stays" sctl 1 user get c-at-a
expect_eq "removed peering: its acl/ record is gone" "$(keys 1 $R/acl/ | tr '\n' ' ')" "$R/acl/a/c "

# --- peer_user taken off a peering that stays, then put back -------------------------------------

rec_ac=$(value 1 $R/networks/a/peerings/c)
sctl 1 put $R/networks/a/peerings/c "$(jq -c 'del(.peer_user, .peer_password_file)' <<<"$rec_ac")" >/dev/null
c_user_gone() { ! sctl 1 user get c-at-a; }
wait_for "no peer_user any more: user c-at-a is gone" c_user_gone
check_fails "no peer_user any more: role zerohop-peer-a-c is gone" sctl 1 role get zerohop-peer-a-c
expect_eq "no peer_user any more: no acl/ record is left" "$(count 1 $R/acl/)" 0
sctl 1 put $R/networks/a/peerings/c "$rec_ac" >/dev/null
wait_for "peer_user back: c-at-a has its role again" has_role c-at-a zerohop-peer-a-c
check "peer_user back: c-at-a reads a's view" as c-at-a 1 get $R/published/a/to-peers/meta
expect_eq "peer_user back: its acl/ record too" "$(keys 1 $R/acl/ | tr '\n' ' ')" "$R/acl/a/c "

# --- peer_user taken off while the controller was down, then a peering removed -----------------

stop_ctl 1
sctl 1 put $R/networks/a/peerings/c "$(jq -c 'del(.peer_user, .peer_password_file)' <<<"$rec_ac")" >/dev/null
start_ctl 1
wait_for "peer_user taken off while down: the role goes at start" \
	logged 1 "etcd role zerohop-peer-a-c removed"
wait_for "peer_user taken off while down: user c-at-a is gone" c_user_gone
wait_for "peer_user taken off while down: acl/a/c is gone" logged 1 "acl/a/c removed: its peering is gone"
sctl 1 put $R/networks/a/peerings/c "$rec_ac" >/dev/null
wait_for "peer_user back after the restart: c-at-a has its role again" has_role c-at-a zerohop-peer-a-c
stop_ctl 1
sctl 1 del $R/networks/a/peerings/c >/dev/null
start_ctl 1
wait_for "removed while down: the orphaned role is removed at start" \
	logged 1 "etcd role zerohop-peer-a-c removed"
wait_for "removed while down: user c-at-a is gone" c_user_gone
wait_for "removed while down: acl/a/c is gone" logged 1 "acl/a/c removed: its peering is gone"
expect_eq "removed while down: no acl/ record is left" "$(count 1 $R/acl/)" 0

stop_ctl 1
stop_ctl 2
if [ "$_tap_failed" != 0 ]; then
	for s in 1 2; do diag "controller $s:"; sed 's/^/#   /' "$T/ctl$s.log" | tail -n 40; done
fi
finish
