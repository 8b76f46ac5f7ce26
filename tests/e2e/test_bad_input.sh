#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Pins how zerohop refuses bad input: every case exits non-zero with exactly
# one line on stderr that names the offending value or option, and leaves
# nothing attached (no pins, no XDP/tcx program, no clsact filter). Also:
# detach of an instance that is not attached is not an error; an unknown
# command or option is a usage error (exit 2), and so is a bad or missing
# option value of `port` (exit 2, still one line, still nothing changed).
# "Nothing changed" covers the port, endpoint, route and policy tables of the
# attached instance, which has one VM port (vp0) the cases must not touch.
. "$(dirname "$0")/lib.sh"
require_root

OK=$ZH_PFX-ok     # attached on u1, for the port cases
BAD=$ZH_PFX-bad   # never attached
LONG=$(printf 'x%.0s' {1..40})

# u0: the interface bad attaches aim at (must stay clean); u1: OK's uplink;
# w0: a free interface that is no port; vp0: OK's VM port (VNI 100,
# 10.0.0.2).
VNI=100
ns_add h1 && ns_add peer &&
	veth_pair h1 u0 peer p0 && addr h1 u0 198.18.0.1/24 && addr peer p0 198.18.0.2/24 &&
	veth_pair h1 u1 peer p1 && veth_pair h1 w0 peer w1 && veth_pair h1 vp0 peer vp1 ||
	bail "set up namespaces"
mk_tmpdir tmp && mkdir "$tmp/ro" || bail "make a temporary directory"
zh_track h1 "$OK"
zh_track h1 "$BAD"
zh h1 attach --instance "$OK" --uplink u1 --underlay-ip 198.18.1.1 >/dev/null || bail "attach $OK on u1"
zh h1 port add --instance "$OK" vp0 --vni $VNI --mac 02:00:0a:00:00:02 --ip 10.0.0.2 >/dev/null ||
	bail "port add vp0 to $OK"

# The binary as nobody sees it: copy it where nobody can run it if the
# build tree is not readable to nobody.
as_nobody() { nsexec h1 setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
ZH_NOBODY=$ZH
if ! as_nobody "$ZH" --version >/dev/null 2>&1; then
	cp "$ZH" "$tmp/zerohop" && chmod 755 "$tmp/zerohop" && ZH_NOBODY=$tmp/zerohop
	as_nobody "$ZH_NOBODY" --version >/dev/null 2>&1 || bail "run zerohop as nobody"
	diag "running a copy of zerohop as nobody: $ZH_NOBODY"
fi

# Runners: zerohop ARGS inside h1 in different conditions.
in_h1()     { zh h1 "$@"; }
nonroot()   { as_nobody "$ZH_NOBODY" "$@"; }
no_btf()    { nsexec h1 env ZEROHOP_KERNEL_BTF=/nonexistent "$ZH" "$@"; }
# bpffs root under a read-only tmpfs, in a private mount namespace.
ro_bpffs() {
	nsexec h1 unshare --mount sh -c '
		mount -t tmpfs -o ro zh-ro "$1/ro" || exit 99
		bpffs=$1/ro/bpf zh=$2; shift 2
		ZEROHOP_BPFFS=$bpffs exec "$zh" "$@"' sh "$tmp" "$ZH" "$@"
}

# What is attached in h1: must look the same after every case.
state() {
	nsexec h1 bpftool net show
	nsexec h1 tc filter show dev u0 ingress
	zh h1 status --json --instance "$OK" | jq -c '.instances[0] | {interfaces, maps: [.maps[] | {name, id}]}'
	for t in ports endpoints routes policies; do zh h1 show "$t" --json --instance "$OK" | jq -c .; done
}
baseline=$(state)
expect_eq "before the cases: nothing on u0, w0 and lo" \
	"$(nsexec h1 bpftool net show | grep -cE '^(u0|w0|lo)\(')" 0
expect_eq "before the cases: $OK has the port vp0" \
	"$(zh h1 show ports --json --instance "$OK" | jq -r 'map(.ifname) | join(",")')" vp0

# bad DESCRIPTION NEEDLE RUNNER ARGS...: exits non-zero (exactly
# $want_rc when that is set), one line naming NEEDLE, nothing changed.
want_rc=
bad() {
	local desc=$1 needle=$2 runner=$3 rc inst=default now i j; shift 3
	for ((i = 1; i <= $#; i++)); do
		[ "${!i}" = --instance ] && { j=$((i + 1)); inst=${!j}; }
	done
	"$runner" "$@" >/dev/null 2>"$tmp/err"
	rc=$?
	if [ -n "$want_rc" ]; then expect_eq "$desc: exits $want_rc" "$rc" "$want_rc"
	elif [ $rc -ne 0 ]; then tap_ok "$desc: exits non-zero ($rc)"
	else tap_fail "$desc: exits non-zero"; fi
	if [ "$(grep -c '' "$tmp/err")" -eq 1 ] && grep -qF -- "$needle" "$tmp/err"; then
		tap_ok "$desc: one line on stderr naming $needle"
	else
		tap_fail "$desc: one line on stderr naming $needle"
		sed 's/^/# stderr: /' "$tmp/err"
	fi
	now=$(state)
	if [ "$now" = "$baseline" ] &&
		{ [ -z "$inst" ] || [ "$inst" = "$OK" ] || [ ! -e "$ZH_PINS/${inst%%/*}" ]; }; then
		tap_ok "$desc: nothing attached"
	else
		tap_fail "$desc: nothing attached"
		[ -z "$inst" ] || [ "$inst" = "$OK" ] || [ ! -e "$ZH_PINS/${inst%%/*}" ] ||
			diag "$ZH_PINS/${inst%%/*} exists"
		diff <(echo "$baseline") <(echo "$now") | sed 's/^/# /'
		# Undo what a failed case did, so later cases start clean and
		# fail only for themselves.
		if [ "$inst" = "$OK" ]; then
			zh h1 port del --instance "$OK" w0 >/dev/null 2>&1
			zh h1 show ports --json --instance "$OK" | jq -e 'any(.ifname == "vp0")' >/dev/null ||
				zh h1 port add --instance "$OK" vp0 --vni $VNI --mac 02:00:0a:00:00:02 --ip 10.0.0.2 >/dev/null
			baseline=$(state)
		else
			zh h1 detach --instance "$inst" >/dev/null 2>&1
		fi
	fi
}

up=(--uplink u0 --underlay-ip 198.18.0.1)
A=(attach --instance "$BAD")
#   description                      needle in stderr                 runner  args
bad "uplink does not exist"          nope0                            in_h1 "${A[@]}" --uplink nope0 --underlay-ip 198.18.0.1
for ip in 198.18.0 300.1.1.1 ''; do
	bad "underlay ip '$ip'"          "--underlay-ip '$ip'"            in_h1 "${A[@]}" --uplink u0 --underlay-ip "$ip"
done
for name in a/b '' "$LONG" -x; do
	bad "instance name '$name'"      "instance name '$name'"          in_h1 attach --instance "$name" "${up[@]}"
done
for m in fast NATIVE ''; do
	bad "--xdp-mode '$m'"            "--xdp-mode '$m'"                in_h1 "${A[@]}" "${up[@]}" --xdp-mode "$m"
done
for m in tc ingress ''; do
	bad "--tc-mode '$m'"             "--tc-mode '$m'"                 in_h1 "${A[@]}" "${up[@]}" --tc-mode "$m"
done
for mac in 01:00:5e:00:00:01 ff:ff:ff:ff:ff:ff zz 02:00:00:00:01 00:00:00:00:00:00; do
	bad "--router-mac $mac"          "--router-mac '$mac'"            in_h1 "${A[@]}" "${up[@]}" --router-mac "$mac"
done
for mtu in 10 abc; do
	bad "--mtu $mtu"                 "--mtu '$mtu'"                   in_h1 "${A[@]}" "${up[@]}" --mtu "$mtu"
done
bad "missing --uplink"               --uplink                         in_h1 "${A[@]}" --underlay-ip 198.18.0.1
bad "missing --underlay-ip"          --underlay-ip                    in_h1 "${A[@]}" --uplink u0
bad "stray argument"                 stray                            in_h1 "${A[@]}" "${up[@]}" stray
bad "not root"                       root                             nonroot "${A[@]}" "${up[@]}"
bad "kernel without BTF"             /nonexistent                     no_btf "${A[@]}" "${up[@]}"
bad "bpffs not mountable"            "$tmp/ro/bpf"                    ro_bpffs "${A[@]}" "${up[@]}"
bad "native XDP on lo"               "Couldn't attach xdp_uplink to lo (native)" \
                                                                      in_h1 "${A[@]}" --uplink lo --underlay-ip 198.18.0.1 --xdp-mode native
# Port cases: w0 with otherwise good options, unless the case is about them.
P=(--vni $VNI --mac 02:00:0a:00:00:03 --ip 10.0.0.3)
bad "port add, instance not attached" "$BAD"                          in_h1 port add --instance "$BAD" w0 "${P[@]}"
bad "port add of a missing interface" nope0                           in_h1 port add --instance "$OK" nope0 "${P[@]}"
bad "port del of a non-port"         w0                               in_h1 port del --instance "$OK" w0
bad "port del of the uplink"         u1                               in_h1 port del --instance "$OK" u1
bad "port add of the uplink"         u1                               in_h1 port add --instance "$OK" u1 "${P[@]}"
bad "port add, address of another port in the VNI" 10.0.0.2          in_h1 port add --instance "$OK" w0 \
	--vni $VNI --mac 02:00:0a:00:00:03 --ip 10.0.0.2
bad "port, unknown subcommand"       frob                             in_h1 port --instance "$OK" frob w0
# A VM's address is a unicast host address, as its MAC is a unicast MAC.
for ip in 0.0.0.0 255.255.255.255 224.0.0.1; do
	bad "port add --ip $ip (not unicast)" "$ip"                      in_h1 port add --instance "$OK" w0 \
		--vni $VNI --mac 02:00:0a:00:00:03 --ip "$ip"
done
# Bad or missing option values are usage errors: exit 2.
want_rc=2
PA=(port add --instance "$OK" w0)
for vni in 0 16777216 abc -1 ''; do
	bad "port add --vni '$vni'"      "--vni '$vni'"                   in_h1 "${PA[@]}" --vni "$vni" --mac 02:00:0a:00:00:03 --ip 10.0.0.3
done
for mac in 01:00:5e:00:00:01 ff:ff:ff:ff:ff:ff zz 02:00:00:00:01 00:00:00:00:00:00 ''; do
	bad "port add --mac '$mac'"      "--mac '$mac'"                   in_h1 "${PA[@]}" --vni $VNI --mac "$mac" --ip 10.0.0.3
done
for ip in 10.0.0 300.1.1.1 10.0.0.3/24 abc ''; do
	bad "port add --ip '$ip'"        "--ip '$ip'"                     in_h1 "${PA[@]}" --vni $VNI --mac 02:00:0a:00:00:03 --ip "$ip"
done
bad "port add without --vni"         --vni                            in_h1 "${PA[@]}" --mac 02:00:0a:00:00:03 --ip 10.0.0.3
bad "port add without --mac"         --mac                            in_h1 "${PA[@]}" --vni $VNI --ip 10.0.0.3
bad "port add without --ip"          --ip                             in_h1 "${PA[@]}" --vni $VNI --mac 02:00:0a:00:00:03
bad "port add without any option"    --vni                            in_h1 "${PA[@]}"
bad "port add without an interface"  "needs an interface"             in_h1 port add --instance "$OK" "${P[@]}"
bad "port add with a stray argument" stray                            in_h1 "${PA[@]}" "${P[@]}" stray
bad "port del with --vni"            "port del takes only"            in_h1 port del --instance "$OK" vp0 --vni $VNI
bad "port del with --mac"            "port del takes only"            in_h1 port del --instance "$OK" vp0 --mac 02:00:0a:00:00:02
bad "port del with --ip"             "port del takes only"            in_h1 port del --instance "$OK" vp0 --ip 10.0.0.2
# endpoint and route: bad values are usage errors too.
E=(endpoint add --instance "$OK")
EP=(--vni $VNI --ip 10.0.0.9 --mac 02:00:0a:00:00:09 --host 198.18.0.2)
for vni in 0 16777216 x; do
	bad "endpoint add --vni '$vni'"  "--vni '$vni'"                   in_h1 "${E[@]}" --vni "$vni" --ip 10.0.0.9 --mac 02:00:0a:00:00:09 --host 198.18.0.2
	bad "endpoint add --dest-vni '$vni'" "--dest-vni '$vni'"          in_h1 "${E[@]}" "${EP[@]}" --dest-vni "$vni"
	bad "route add --vni '$vni'"     "--vni '$vni'"                   in_h1 route add --instance "$OK" --vni "$vni" --prefix 10.1.0.0/16 --drop
done
for ip in 10.0.0 0.0.0.0 224.0.0.5 ''; do
	bad "endpoint add --ip '$ip'"    "--ip '$ip'"                     in_h1 "${E[@]}" --vni $VNI --ip "$ip" --mac 02:00:0a:00:00:09 --host 198.18.0.2
	bad "endpoint add --host '$ip'"  "--host '$ip'"                   in_h1 "${E[@]}" --vni $VNI --ip 10.0.0.9 --mac 02:00:0a:00:00:09 --host "$ip"
done
bad "endpoint add --mac zz"          "--mac 'zz'"                     in_h1 "${E[@]}" --vni $VNI --ip 10.0.0.9 --mac zz --host 198.18.0.2
bad "endpoint add --encap udp"       "--encap 'udp'"                  in_h1 "${E[@]}" "${EP[@]}" --encap udp
bad "endpoint add without --host"    --host                           in_h1 "${E[@]}" --vni $VNI --ip 10.0.0.9 --mac 02:00:0a:00:00:09
bad "endpoint add without --mac"     --mac                            in_h1 "${E[@]}" --vni $VNI --ip 10.0.0.9 --host 198.18.0.2
bad "endpoint del with --host"       "endpoint del takes only"        in_h1 endpoint del --instance "$OK" --vni $VNI --ip 10.0.0.9 --host 198.18.0.2
for pfx in 10.1.0.1/16 10.1.0.0/33 10.1.0.0 10.1.0.0/x 300.0.0.0/8; do
	bad "route add --prefix '$pfx'"  "--prefix '$pfx'"               in_h1 route add --instance "$OK" --vni $VNI --prefix "$pfx" --drop
done
bad "route add --drop with --host"   "--drop takes no"                in_h1 route add --instance "$OK" --vni $VNI --prefix 10.1.0.0/16 --drop --host 198.18.0.2
bad "route add without --host or --drop" "--host UNDERLAY_ADDR or --drop" in_h1 route add --instance "$OK" --vni $VNI --prefix 10.1.0.0/16
bad "route del with --drop"          "route del takes only"           in_h1 route del --instance "$OK" --vni $VNI --prefix 10.1.0.0/16 --drop
PO=(policy add --instance "$OK")
for vni in 0 16777216 x; do
	bad "policy add --vni '$vni'"    "--vni '$vni'"                   in_h1 "${PO[@]}" --vni "$vni" --peer-vni 200 --prefix 10.1.0.0/16
	bad "policy add --peer-vni '$vni'" "--peer-vni '$vni'"            in_h1 "${PO[@]}" --vni 200 --peer-vni "$vni" --prefix 10.1.0.0/16
done
for pfx in 10.1.0.1/16 10.1.0.0/33 10.1.0.0 ''; do
	bad "policy add --prefix '$pfx'" "--prefix '$pfx'"               in_h1 "${PO[@]}" --vni 200 --peer-vni $VNI --prefix "$pfx"
done
for p in sctp tcp, '' tcp,,udp; do
	bad "policy add --protocols '$p'" "--protocols '$p'"             in_h1 "${PO[@]}" --vni 200 --peer-vni $VNI --prefix 10.1.0.0/16 --protocols "$p"
done
bad "policy add without --peer-vni"  --peer-vni                       in_h1 "${PO[@]}" --vni 200 --prefix 10.1.0.0/16
bad "policy add without --prefix"    --prefix                         in_h1 "${PO[@]}" --vni 200 --peer-vni $VNI
bad "policy add toward itself"       "toward itself"                  in_h1 "${PO[@]}" --vni $VNI --peer-vni $VNI --prefix 10.1.0.0/16
bad "policy del with --protocols"    "policy del takes no --protocols" in_h1 policy del --instance "$OK" --vni 200 --peer-vni $VNI --prefix 10.1.0.0/16 --protocols tcp
bad "policy, unknown subcommand"     frob                             in_h1 policy frob --instance "$OK" --vni 200 --peer-vni $VNI --prefix 10.1.0.0/16
want_rc=
# Valid syntax that the instance's state refuses: exit 1.
bad "endpoint add over a VM port"    "is a VM port on this host"      in_h1 "${E[@]}" --vni $VNI --ip 10.0.0.2 --mac 02:00:0a:00:00:02 --host 198.18.0.2
bad "endpoint del of a VM port"      "use zerohop port del"           in_h1 endpoint del --instance "$OK" --vni $VNI --ip 10.0.0.2
bad "endpoint del of a missing one"  "no endpoint 10.0.0.99 in VNI $VNI" in_h1 endpoint del --instance "$OK" --vni $VNI --ip 10.0.0.99
bad "route del of a missing one"     "no route 10.9.0.0/16 in VNI $VNI" in_h1 route del --instance "$OK" --vni $VNI --prefix 10.9.0.0/16
bad "endpoint add, instance not attached" "$BAD"                      in_h1 endpoint add --instance "$BAD" "${EP[@]}"
bad "route add, instance not attached" "$BAD"                         in_h1 route add --instance "$BAD" --vni $VNI --prefix 10.1.0.0/16 --drop
bad "show, instance not attached"    "$BAD"                           in_h1 show endpoints --instance "$BAD"
bad "policy del of a missing one"    "no policy 10.1.0.0/16 of VNI 200 for VNI $VNI" in_h1 policy del --instance "$OK" --vni 200 --peer-vni $VNI --prefix 10.1.0.0/16
bad "policy add, instance not attached" "$BAD"                        in_h1 policy add --instance "$BAD" --vni 200 --peer-vni $VNI --prefix 10.1.0.0/16

# Not errors, or usage errors with their own exit status.
out=$(zh h1 detach --instance "$BAD" 2>&1)
rc=$?
expect_eq "detach of an instance that is not attached exits 0" "$rc" 0
check "detach of an instance that is not attached says so" grep -qF "'$BAD' is not attached" <<<"$out"
# usage_err DESCRIPTION NEEDLE ARGS...: exit 2, one line on stderr naming NEEDLE.
usage_err() {
	local desc=$1 needle=$2 rc; shift 2
	zh h1 "$@" >/dev/null 2>"$tmp/err"
	rc=$?
	expect_eq "$desc exits 2" "$rc" 2
	if [ "$(grep -c '' "$tmp/err")" -eq 1 ] && grep -qF -- "$needle" "$tmp/err"; then
		tap_ok "$desc: one line on stderr naming $needle"
	else
		tap_fail "$desc: one line on stderr naming $needle"
		sed 's/^/# stderr: /' "$tmp/err"
	fi
}
usage_err "unknown command"           frobnicate   frobnicate
usage_err "unknown global option"     --frobnicate --frobnicate status
usage_err "unknown attach option"     --frobnicate "${A[@]}" "${up[@]}" --frobnicate
usage_err "unknown status option"     --frobnicate status --frobnicate
usage_err "option without its value"  --xdp-mode   "${A[@]}" "${up[@]}" --xdp-mode
expect_eq "after all cases: still nothing attached" "$(state)" "$baseline"

finish
