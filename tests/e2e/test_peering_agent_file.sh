#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Peering with the agent's file source: hosts h1 and h2 share one intent
# file, which holds both networks and both sides of their peering; each
# agent computes the peer's view itself (as zerohop-controller would):
#
#   a (VNI 100, 10.1.0.0/24): vm1 on h1
#   b (VNI 200, 10.2.0.0/24): vm2 on h2, vm3 on h1
#
# One-sided carries nothing; both sides: vm1 reaches vm2 across hosts
# (VNI 200 on the wire) and vm3 on its own host; b's export allows TCP and
# ICMP only, so UDP from vm1 is dropped by h1; removing b's side withdraws
# it again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"

require_root
ov_require jq ping iperf3 tcpdump
AGENT=${ZH_AGENT:-$(dirname "$ZH")/zerohop-agent}
[ -x "$AGENT" ] || { tap_fail "zerohop-agent binary $AGENT is missing (run make)"; exit 1; }

mk_tmpdir T
I1=$ZH_PFX-h1 I2=$ZH_PFX-h2
M1=02:00:00:00:01:11 M2=02:00:00:00:02:12 M3=02:00:00:00:02:13

ov_underlay h1 h2 || bail "fabric"
ov_vm vm1 h1 p1 $M1 10.1.0.11/24 && ov_vm vm2 h2 p2 $M2 10.2.0.12/24 &&
	ov_vm vm3 h1 p3 $M3 10.2.0.13/24 || bail "the VMs"

# intent B_PEERINGS: the shared file, b's peerings as given.
intent() {
	cat >"$T/intent.tmp" <<EOF
{"version": "v1",
 "networks": [
  {"name": "a", "vni": 100, "cidrs": ["10.1.0.0/24"],
   "exports": [{"name": "to-b"}],
   "peerings": [{"peer": "b", "grant": "to-b"}]},
  {"name": "b", "vni": 200, "cidrs": ["10.2.0.0/24"],
   "exports": [{"name": "web", "protocols": ["tcp", "icmp"]}],
   "peerings": [$1]}],
 "hosts": [
  {"name": "h1", "underlay": "198.18.0.1", "networks": ["a", "b"],
   "ports": [{"ifname": "p1", "network": "a", "mac": "$M1", "ip": "10.1.0.11"},
             {"ifname": "p3", "network": "b", "mac": "$M3", "ip": "10.2.0.13"}]},
  {"name": "h2", "underlay": "198.18.0.2", "networks": ["b"],
   "ports": [{"ifname": "p2", "network": "b", "mac": "$M2", "ip": "10.2.0.12"}]}]}
EOF
	mv "$T/intent.tmp" "$T/intent.json"
}
intent ""

declare -A APID=()
for h in h1 h2; do
	cat >"$T/$h.json" <<EOF
{"instance": "$ZH_PFX-$h", "host": "$h", "uplink": "upl", "underlay_ip": "$(ov_uip "$h")",
 "source": "file:$T/intent.json", "status_socket": "$T/$h.sock"}
EOF
	zh_track "$h" "$ZH_PFX-$h"
	bg_nsexec "APID[$h]" "$h" timeout -s KILL 300 "$AGENT" --config "$T/$h.json" -v 2>>"$T/$h.log"
done

agent() {
	zh "$1" status --json --instance "$ZH_PFX-$1" --agent-socket "$T/$1.sock" |
		jq -r ".instances[0].agent$2"
}
ep() {
	zh "$1" show endpoints --json --instance "$ZH_PFX-$1" |
		jq -r --argjson v "$2" --arg ip "$3" \
			'.[] | select(.vni == $v and .ip == $ip and (.local | not)) | "\(.host) \(.dest_vni)"'
}
pols() {
	zh "$1" show policies --json --instance "$ZH_PFX-$1" |
		jq -r '.[] | "\(.vni)>\(.peer_vni) \(.prefix) \(.protocols | join(","))"' |
		LC_ALL=C sort | paste -sd' '
}
eventually() {
	local desc=$1 want=$2 t=$3 got; shift 3
	for _ in $(seq $((t * 5))); do
		got=$("$@" 2>&1)
		[ "$got" = "$want" ] && break
		sleep 0.2
	done
	expect_eq "$desc" "$got" "$want"
}
attached() { agent "$1" .ports.attached; }

eventually "h1's agent attached both ports" 2 30 attached h1
eventually "h2's agent attached its port" 1 30 attached h2

# --- one-sided ----------------------------------------------------------------------
expect_eq "one-sided: h1 has no entry for vm2 in a" "$(ep h1 100 10.2.0.12)" ""
expect_eq "one-sided: h1 has no policy" "$(pols h1)" ""
expect_eq "one-sided: h1 calls the peering a -> b one-sided" \
	"$(agent h1 '.peers[] | select(.network == "a") | .state')" one-sided
ov_noping "one-sided: vm1 cannot reach vm3 on its own host" vm1 10.2.0.13

# --- both sides ---------------------------------------------------------------------
intent '{"peer": "a", "grant": "web"}'
eventually "both sides: h1 programs vm2 in a, behind h2, with b's VNI" "198.18.0.2 200" 30 \
	ep h1 100 10.2.0.12
eventually "both sides: h1 programs vm3 in a, on this host" "198.18.0.1 200" 30 ep h1 100 10.2.0.13
eventually "both sides: h2 programs vm1 in b with a's VNI" "198.18.0.1 100" 30 ep h2 200 10.1.0.11
expect_eq "both sides: h1's policies (b's web: tcp, icmp; a's to-b: all)" "$(pols h1)" \
	"100>200 10.1.0.0/24 tcp,udp,icmp,other 200>100 10.2.0.0/24 tcp,icmp"
expect_eq "both sides: h2's policies are the same" "$(pols h2)" "$(pols h1)"
ov_mark h1 "$I1"
ov_capture cap h1 upl 6 8 udp port 4789 || bail "tcpdump on h1's uplink"
ov_ping "both sides: vm1 (a, h1) pings vm2 (b, h2)" vm1 10.2.0.12
ov_capture_wait
check "on the wire: h1's packets carry b's VNI 200" \
	grep -q "IP 198\.18\.0\.1\.[0-9]* > 198\.18\.0\.2\.4789: VXLAN, flags \[I\] (0x08), vni 200$" "$cap"
ov_ping "both sides: vm1 pings vm3 on its own host" vm1 10.2.0.13
expect_grows "vm1 -> vm3 stays on h1 (fwd_local)" h1 "$I1" fwd_local 3
ov_iperf "both sides: TCP from vm2 to vm1" vm2 vm1 10.1.0.11 2M
ov_mark h1 "$I1"
check "b exports no UDP: vm1 sends 3 datagrams to vm2" ov_udp vm1 10.2.0.12 7777 one two three
sleep 0.5
expect_grows "b exports no UDP: h1 drops them (drop_policy)" h1 "$I1" drop_policy 3

# --- b removes its side ----------------------------------------------------------------
intent ""
eventually "removed: h1 withdraws vm2" "" 30 ep h1 100 10.2.0.12
eventually "removed: h2 withdraws vm1" "" 30 ep h2 200 10.1.0.11
expect_eq "removed: h1 has no policy" "$(pols h1)" ""
ov_noping "removed: vm1 cannot reach vm2" vm1 10.2.0.12

for h in h1 h2; do
	pid=$(pgrep -P "${APID[$h]}" | head -n1)
	[ -n "$pid" ] && kill -TERM "$pid"
	wait "${APID[$h]}" 2>/dev/null
done
if [ "$_tap_failed" != 0 ]; then
	for h in h1 h2; do diag "$h:"; tail -n 30 "$T/$h.log" | sed 's/^/#   /'; done
fi
finish
