#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `zerohop apply` against real etcd: the records of examples/two-hosts.json
# land under /zerohop/v1/ exactly as docs/controller-api.md shows them; a
# re-apply writes nothing; a changed file writes only what changed; an
# invalid file lists every error and writes nothing; --delete removes the
# file's keys and nothing else; a file of 302 records goes in three
# transactions; authentication and an unreachable etcd.
#
# etcd runs in namespace "srv" on 127.0.0.1 (tests/e2e/etcd.sh); apply and
# etcdctl run there too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/etcd.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
[ -x "$ZH" ] || { tap_fail "zerohop binary $ZH is missing (run make)"; exit 1; }
etcd_require

EXAMPLE=$ZH_TOP/examples/two-hosts.json
mk_tmpdir T
ns_add srv || bail "namespace srv"
etcd_start srv solo 127.0.0.1 || bail "etcd starts"
EP=$(etcd_endpoints solo)

# apply ARGS...: zerohop apply inside srv, bounded in time.
apply() { nsexec srv timeout 60 "$ZH" apply "$@"; }
# dump: every key and value under /zerohop/v1/, "key value" per line.
dump() { etcd_ctl get --prefix /zerohop/v1/ | paste -d' ' - -; }
revision() { etcd_ctl endpoint status -w json | jq -r '.[0].Status.header.revision'; }

check "apply --help shows its usage" \
	bash -c "'$ZH' apply --help | grep -q '^Usage: zerohop apply -f FILE --etcd URL'"

# --- dry run: no etcd needed, every put listed
out=$(apply -f "$EXAMPLE" --dry-run 2>&1)
expect_eq "dry run exits 0" "$?" 0
expect_eq "dry run lists 7 puts" "$(grep -c '^put /zerohop/v1/' <<<"$out")" 7
expect_eq "dry run summary" "$(tail -n1 <<<"$out")" \
	"dry run: would apply 7 records (networks 1, endpoints 2, routes 0, hosts 2, ports 2); nothing written"
out=$(apply -f - --dry-run --delete <"$EXAMPLE" 2>&1)
expect_eq "dry run reads standard input (-f -) and lists deletes" \
	"$(grep -c '^delete /zerohop/v1/' <<<"$out")" 7
expect_eq "dry run wrote nothing" "$(dump)" ""

# --- apply: the documented keys and values
want_dump='/zerohop/v1/hosts/h1 {"underlay":"198.18.0.1","networks":["blue"]}
/zerohop/v1/hosts/h1/ports/p1 {"network":"blue","mac":"02:00:00:00:00:11","ip":"10.0.0.11"}
/zerohop/v1/hosts/h2 {"underlay":"198.18.0.2","networks":["blue"]}
/zerohop/v1/hosts/h2/ports/p2 {"network":"blue","mac":"02:00:00:00:00:12","ip":"10.0.0.12"}
/zerohop/v1/networks/blue {"vni":100,"cidrs":["10.0.0.0/24"]}
/zerohop/v1/networks/blue/endpoints/10.0.0.11 {"mac":"02:00:00:00:00:11","host":"h1","host_ip":"198.18.0.1"}
/zerohop/v1/networks/blue/endpoints/10.0.0.12 {"mac":"02:00:00:00:00:12","host":"h2","host_ip":"198.18.0.2"}'
out=$(apply -f "$EXAMPLE" --etcd "$EP" 2>&1)
expect_eq "apply exits 0" "$?" 0
rev=$(revision)
expect_eq "apply prints one summary line" "$out" \
	"applied 7 records (networks 1, endpoints 2, routes 0, hosts 2, ports 2) at revision $rev: 7 written, 0 unchanged"
expect_eq "etcd holds exactly the documented records" "$(dump)" "$want_dump"

# --- re-apply: same state, nothing written, revision unchanged
out=$(apply -f "$EXAMPLE" --etcd "$EP" 2>&1)
expect_eq "re-apply exits 0" "$?" 0
expect_eq "re-apply writes nothing" "$out" \
	"applied 7 records (networks 1, endpoints 2, routes 0, hosts 2, ports 2) at revision $rev: 0 written, 7 unchanged"
expect_eq "re-apply leaves the revision" "$(revision)" "$rev"
expect_eq "re-apply leaves the records" "$(dump)" "$want_dump"

# --- a changed MAC: the port and its endpoint record change, nothing else
sed 's/02:00:00:00:00:12/02:00:00:00:00:99/' "$EXAMPLE" >"$T/changed.json"
out=$(apply -f "$T/changed.json" --etcd "$EP" 2>&1)
expect_eq "a changed file writes only what changed" "${out##*: }" "2 written, 5 unchanged"
expect_eq "the endpoint has the new MAC" \
	"$(etcd_ctl get --print-value-only /zerohop/v1/networks/blue/endpoints/10.0.0.12)" \
	'{"mac":"02:00:00:00:00:99","host":"h2","host_ip":"198.18.0.2"}'
apply -f "$EXAMPLE" --etcd "$EP" >/dev/null 2>&1
expect_eq "applying the example again restores it" "$(dump)" "$want_dump"

# --- an invalid file: every error, one per line, nothing written
cat >"$T/bad.json" <<'EOF'
{"version": "v1",
 "networks": [{"name": "blue", "vni": 100, "cidrs": ["10.0.0.0/24"],
               "endpoints": [{"ip": "10.0.9.1", "mac": "02:00:00:00:00:31", "host": "h1"}]},
              {"name": "red", "vni": 100, "cidrs": ["10.1.0.0/24"]}],
 "hosts": [{"name": "h1", "underlay": "198.18.0.1", "networks": ["blue"],
            "ports": [{"ifname": "p1", "network": "blue", "mac": "02:00:00:00:00:11", "ip": "10.0.0.11"},
                      {"ifname": "p2", "network": "c", "mac": "02:00:00:00:00:12", "ip": "10.0.0.12"},
                      {"ifname": "p1", "network": "blue", "mac": "zz", "ip": "10.0.0.11"}]}]}
EOF
before=$(dump) before_rev=$(revision)
apply -f "$T/bad.json" --etcd "$EP" >"$T/out" 2>"$T/err"
expect_eq "an invalid file exits 1" "$?" 1
want_err="$T/bad.json: \$.networks[1].vni: VNI 100 is already used by network \"blue\" (at \$.networks[0])
$T/bad.json: \$.networks[0].endpoints[0].ip: 10.0.9.1 is outside the CIDRs of network \"blue\"
$T/bad.json: \$.hosts[0].ports[1].network: unknown network \"c\"
$T/bad.json: \$.hosts[0].ports[2].ifname: duplicate port \"p1\" on host \"h1\" (first at \$.hosts[0].ports[0])
$T/bad.json: \$.hosts[0].ports[2].mac: \"zz\" is not a MAC address (aa:bb:cc:dd:ee:ff)
$T/bad.json: \$.hosts[0].ports[2].ip: duplicate address 10.0.0.11 in network \"blue\" (first at \$.hosts[0].ports[0])
zerohop: $T/bad.json: 6 errors; nothing written"
expect_eq "every error is listed, then a count" "$(cat "$T/err")" "$want_err"
expect_eq "nothing on standard output" "$(cat "$T/out")" ""
expect_eq "etcd is unchanged after the invalid file" "$(dump)" "$before"
expect_eq "the revision did not move" "$(revision)" "$before_rev"
printf '{"version": "v1", "networks": [' >"$T/trunc.json"
apply -f "$T/trunc.json" --etcd "$EP" >/dev/null 2>"$T/err"
expect_eq "truncated JSON exits 1" "$?" 1
expect_eq "truncated JSON: where it ends" "$(head -n1 "$T/err")" \
	"$T/trunc.json: \$: invalid JSON: ends early (line 1, column 32)"
apply -f "$T/nonexistent.json" --etcd "$EP" >/dev/null 2>"$T/err"
expect_eq "a missing file exits 1" "$?" 1
expect_eq "a missing file: one line" "$(cat "$T/err")" \
	"$T/nonexistent.json: cannot read: No such file or directory"

# --- --delete: exactly the file's keys
etcd_ctl put /zerohop/v1/hosts/h3 '{"underlay":"198.18.0.3"}' >/dev/null
etcd_ctl put /zerohop/v1/networks/blue/peerings/red '{"future":true}' >/dev/null
out=$(apply -f "$EXAMPLE" --etcd "$EP" --delete 2>&1)
expect_eq "delete exits 0" "$?" 0
expect_eq "delete summary" "$out" \
	"deleted 7 records (networks 1, endpoints 2, routes 0, hosts 2, ports 2) at revision $(revision): 7 removed, 0 already absent"
expect_eq "only keys the file does not describe are left" "$(dump)" \
	'/zerohop/v1/hosts/h3 {"underlay":"198.18.0.3"}
/zerohop/v1/networks/blue/peerings/red {"future":true}'
out=$(apply -f "$EXAMPLE" --etcd "$EP" --delete 2>&1)
expect_eq "a second delete finds nothing to remove" "${out##*: }" "0 removed, 7 already absent"
etcd_ctl del --prefix /zerohop/v1/ >/dev/null

# --- more than one transaction: 300 endpoints + network + host = 302 records
{
	printf '{"version": "v1", "networks": [{"name": "big", "vni": 7, "cidrs": ["10.8.0.0/16"], "endpoints": ['
	for i in $(seq 1 300); do
		printf '%s{"ip": "10.8.%d.%d", "mac": "02:00:00:08:%02x:%02x", "host": "far"}' \
			"$([ "$i" = 1 ] || echo ,)" $((i / 200)) $((i % 200 + 1)) $((i / 256)) $((i % 256))
	done
	printf ']}], "hosts": [{"name": "far", "underlay": "198.18.0.9"}]}\n'
} >"$T/big.json"
rev0=$(revision)
out=$(apply -f "$T/big.json" --etcd "$EP" 2>&1)
expect_eq "302 records are applied" "$out" \
	"applied 302 records (networks 1, endpoints 300, routes 0, hosts 1, ports 0) at revision $(revision): 302 written, 0 unchanged"
# each etcd transaction is one revision: 128 + 128 + 46
expect_eq "in three transactions of at most 128" "$(( $(revision) - rev0 ))" 3
expect_eq "etcd holds all 302" "$(etcd_ctl get --prefix --keys-only /zerohop/v1/ | grep -c .)" 302
out=$(apply -f "$T/big.json" --etcd "$EP" --delete 2>&1)
expect_eq "and --delete removes all 302" "${out##*: }" "302 removed, 0 already absent"
expect_eq "nothing is left" "$(dump)" ""

# --- usage errors (exit 2)
for args in "--etcd $EP" "-f $EXAMPLE" "-f $EXAMPLE --etcd $EP --user root" \
	"-f $EXAMPLE --etcd $EP --password x" "-f $EXAMPLE --etcd $EP --cert c.pem" \
	"-f $EXAMPLE --etcd $EP extra"; do
	# shellcheck disable=SC2086
	apply $args >/dev/null 2>&1
	expect_eq "usage error exits 2: apply $args" "$?" 2
done

# --- unreachable etcd: one line naming the endpoint
port=$(_etcd_free_port srv 127.0.0.1) || bail "a free port"
apply -f "$EXAMPLE" --etcd "http://127.0.0.1:$port" >"$T/out" 2>"$T/err"
expect_eq "unreachable etcd exits 1" "$?" 1
expect_eq "unreachable etcd: one line on stderr" "$(wc -l <"$T/err")" 1
diag "$(cat "$T/err")"
if grep -q "http://127.0.0.1:$port" "$T/err" && grep -q "nothing written" "$T/err"; then
	tap_ok "unreachable etcd: the message names the endpoint and says nothing was written"
else
	tap_fail "unreachable etcd: the message names the endpoint and says nothing was written"
	diag "$(cat "$T/err")"
fi
expect_eq "unreachable etcd: nothing on standard output" "$(cat "$T/out")" ""

# --- authentication: a user with a password file
etcd_ctl user add root:rootpw >/dev/null 2>&1 && etcd_ctl auth enable >/dev/null 2>&1 ||
	bail "enable etcd authentication"
ETCD_USER=root:rootpw
printf 'rootpw\n' >"$T/pw"
out=$(apply -f "$EXAMPLE" --etcd "$EP" --user root --password-file "$T/pw" 2>&1)
expect_eq "apply with --user and --password-file" "${out##*: }" "7 written, 0 unchanged"
expect_eq "the records are there" "$(dump)" "$want_dump"
printf 'wrong\n' >"$T/pw"
apply -f "$EXAMPLE" --etcd "$EP" --user root --password-file "$T/pw" >/dev/null 2>"$T/err"
expect_eq "a wrong password exits 1" "$?" 1
expect_eq "a wrong password: one line" "$(wc -l <"$T/err")" 1
diag "$(cat "$T/err")"
apply -f "$EXAMPLE" --etcd "$EP" --user root --password-file "$T/none" >/dev/null 2>"$T/err"
expect_eq "a missing password file exits 1" "$?" 1
expect_eq "a missing password file: named" "$(cat "$T/err")" \
	"zerohop: cannot read --password-file '$T/none': No such file or directory"

finish
