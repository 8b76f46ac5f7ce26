#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 7: route conflicts between peers and the network's own route, with
# real traffic. One prefix, 10.60.0.0/24, is published to network a by two
# peers and later by a itself:
#
#   shard 1 (s1): a (VNI 100), b (VNI 300, route 10.60.0.0/24 behind h2)
#   shard 2 (s2): c (VNI 200, route 10.60.0.0/24 behind h3)
#   a peers with b and c (each side grants everything); b and c do not peer
#
#   VM  host net  address
#   a1  h1   a    10.1.0.11     the client
#   xa  h2   a    10.60.0.5     behind a's own route (when it exists)
#   xb  h2   b    10.60.0.5     behind b's route
#   xc  h3   c    10.60.0.5     behind c's route
#
# xa, xb and xc have port records but no endpoint records: like appliances
# behind a prefix, they are reached through the routes only, so the route
# that wins decides which of the three answers a1's pings.
#
# The phases: b's preference 200 over c's 100 (b wins: preference); equal
# preferences (c wins: network-id, its VNI 200 is lower than b's 300 while
# its name is not first); a's own route added (a wins: local), removed (c
# again); c's route withdrawn (b, the only one). Each time the effective
# record and `zerohop show conflicts` say so, h1's zh_routes follows, and a
# ping from a1 is answered by the winner's VM only (its Icmp InEchos), the
# request leaving h1 for the winner's host with the winner's VNI (tcpdump
# on h1's uplink).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/peering.sh"
pe_require

PE_VNI=([a]=100 [b]=300 [c]=200)
pe_fabric 2 h1 h2 h3 || bail "fabric, hosts and two shards with auth"
pe_vm a1 h1 a 10.1.0.11 && pe_vm xa h2 a 10.60.0.5 && pe_vm xb h2 b 10.60.0.5 &&
	pe_vm xc h3 c 10.60.0.5 || bail "the VMs"
pe_pw a-at-c c-at-a
T=$PE_T EP1=${PE_EP[1]} EP2=${PE_EP[2]} R=$PE_R

cat >"$T/s1.json" <<EOF
{"version": "v1",
 "networks": [
  {"name": "a", "vni": 100, "cidrs": ["10.1.0.0/24", "10.60.0.0/24"],
   "exports": [{"name": "all"}],
   "peerings": [{"peer": "b", "grant": "all", "preference": 200},
                {"peer": "c", "grant": "all", "preference": 100, "peer_shard": ["$EP2"],
                 "user": "a-at-c", "password_file": "$T/a-at-c.pw",
                 "peer_user": "c-at-a", "peer_password_file": "$T/c-at-a.pw"}]},
  {"name": "b", "vni": 300, "cidrs": ["10.2.0.0/24", "10.60.0.0/24"],
   "routes": [{"prefix": "10.60.0.0/24", "host": "h2"}],
   "exports": [{"name": "all"}],
   "peerings": [{"peer": "a", "grant": "all"}]}],
 "hosts": [{"name": "h1", "underlay": "198.18.0.1", "networks": ["a"], "ports": $(pe_ports_json h1)},
           {"name": "h2", "underlay": "198.18.0.2", "networks": ["a", "b"]}]}
EOF
cat >"$T/s2.json" <<EOF
{"version": "v1",
 "networks": [
  {"name": "c", "vni": 200, "cidrs": ["10.3.0.0/24", "10.60.0.0/24"],
   "routes": [{"prefix": "10.60.0.0/24", "host": "h3"}],
   "exports": [{"name": "all"}],
   "peerings": [{"peer": "a", "grant": "all", "peer_shard": ["$EP1"],
                 "user": "c-at-a", "password_file": "$T/c-at-a.pw",
                 "peer_user": "a-at-c", "peer_password_file": "$T/a-at-c.pw"}]}],
 "hosts": [{"name": "h3", "underlay": "198.18.0.3", "networks": ["c"]}]}
EOF
out=$(pe_apply 1 "$T/s1.json" 2>&1) || bail "apply shard 1: $out"
out=$(pe_apply 2 "$T/s2.json" 2>&1) || bail "apply shard 2: $out"
# The VMs behind the routes: port records only.
for vm in xa xb xc; do
	s=1
	[ "${VM_HOST[$vm]}" = h3 ] && s=2
	pe_sctl $s put "$R/hosts/${VM_HOST[$vm]}/ports/p$vm" \
		"{\"network\":\"${VM_NET[$vm]}\",\"mac\":\"${VM_MAC[$vm]}\",\"ip\":\"${VM_IP[$vm]}\"}" >/dev/null ||
		bail "port record of $vm"
done
pe_ctl_start 1 a,b
pe_ctl_start 2 c
pe_agent_start h1 1
pe_agent_start h2 1
pe_agent_start h3 2
for h in h1 h2 h3; do wait_for "$h: the agent is connected and attached its ports" 30 pe_synced "$h"; done

P=10.60.0.0/24
# eff: network, origin, rule and losers ("net:rule") of a's effective route.
eff() {
	pe_sctl 1 get --print-value-only "$R/effective/a/routes/$P" |
		jq -r '[.network, .origin, .rule, ([.losers[]? | "\(.network):\(.rule)"] | join(","))] | join(" ")'
}
conflicts() {
	nsexec s1 timeout 30 "$ZH" show conflicts --etcd "$EP1" --user root \
		--password-file "$T/root.pw" --network a | sed 1d
}
# h1_route: h1's zh_routes entry for the prefix in a ("HOST DEST_VNI").
h1_route() {
	zh h1 show routes --json --instance "$ZH_PFX-h1" |
		jq -r --arg p "$P" '.[] | select(.vni == 100 and .prefix == $p) | "\(.host) \(.dest_vni)"'
}
echos() { ov_snmp "$1" Icmp InEchos; }

# traffic DESC WINNER_VM HOST_IP VNI: 3 pings from a1 to 10.60.0.5 are
# answered, by WINNER_VM only, and left h1 for HOST_IP with VNI.
traffic() {
	local desc=$1 win=$2 ip=$3 vni=$4 vm got want="" cap
	declare -A e0=()
	for vm in xa xb xc; do
		e0[$vm]=$(echos "$vm")
		want+="$vm +$([ "$vm" = "$win" ] && echo 3 || echo 0) "
	done
	ov_capture cap h1 upl 10 8 udp port 4789 and src host 198.18.0.1 || bail "tcpdump on h1"
	ov_ping "$desc: a1's pings to 10.60.0.5 are answered" a1 10.60.0.5
	ov_capture_wait
	got=""
	for vm in xa xb xc; do got+="$vm +$(($(echos "$vm") - ${e0[$vm]})) "; done
	expect_eq "$desc: the echo requests reach $win only" "$got" "$want"
	got=$(sed -n 's/.* 198\.18\.0\.1\.[0-9]* > \([0-9.]*\)\.4789: VXLAN.* vni \([0-9]*\)$/\1 vni \2/p' "$cap" |
		sort | uniq -c | sed 's/^ *//')
	expect_eq "$desc: on h1's uplink they leave for $ip with VNI $vni" "$got" "3 $ip vni $vni"
}

# --- b and c publish the prefix, b with the higher preference -------------------------------

eventually "preference: a's effective route is b's (200 over c's 100)" "b peer preference c:preference" 60 eff
expect_eq "preference: zerohop show conflicts" "$(conflicts)" \
	"a                10.60.0.0/24       b                peer   preference  c(preference)"
eventually "preference: h1 routes the prefix to h2 with b's VNI" "198.18.0.2 300" 30 h1_route
traffic "preference" xb 198.18.0.2 300

# --- equal preferences: the lower VNI -----------------------------------------------------

pe_sctl 1 put "$R/networks/a/peerings/b" '{"grant":"all","preference":100}' >/dev/null ||
	bail "set a's preference for b to 100"
eventually "equal preferences: c wins by its lower VNI (200 < 300)" "c peer network-id b:network-id" 30 eff
expect_eq "equal preferences: zerohop show conflicts" "$(conflicts)" \
	"a                10.60.0.0/24       c                peer   network-id  b(network-id)"
eventually "equal preferences: h1 routes the prefix to h3 with c's VNI" "198.18.0.3 200" 30 h1_route
traffic "network-id" xc 198.18.0.3 200

# --- a's own route: local wins --------------------------------------------------------------

pe_sctl 1 put "$R/networks/a/routes/$P" '{"host":"h2","host_ip":"198.18.0.2"}' >/dev/null ||
	bail "put a's route"
eventually "local: a's own route beats both peers" "a local local c:local,b:local" 30 eff
expect_eq "local: zerohop show conflicts" "$(conflicts)" \
	"a                10.60.0.0/24       a                local  local       c(local) b(local)"
eventually "local: h1 routes the prefix to h2 in a's own VNI" "198.18.0.2 100" 30 h1_route
traffic "local" xa 198.18.0.2 100

pe_sctl 1 del "$R/networks/a/routes/$P" >/dev/null || bail "delete a's route"
eventually "local route removed: c wins again" "c peer network-id b:network-id" 30 eff
eventually "local route removed: h1 routes to h3 with c's VNI again" "198.18.0.3 200" 30 h1_route
traffic "local route removed" xc 198.18.0.3 200

# --- the winner withdraws its route: the only one left ---------------------------------------

pe_sctl 2 del "$R/networks/c/routes/$P" >/dev/null || bail "delete c's route"
eventually "c's route withdrawn: b's is the only one" "b peer only " 30 eff
expect_eq "c's route withdrawn: no conflict left" "$(nsexec s1 timeout 30 "$ZH" show conflicts \
	--etcd "$EP1" --user root --password-file "$T/root.pw" --network a)" "no route conflicts in network a"
eventually "c's route withdrawn: h1 routes to h2 with b's VNI" "198.18.0.2 300" 30 h1_route
traffic "only b" xb 198.18.0.2 300

for h in h1 h2 h3; do pe_agent_stop "$h"; done
for s in 1 2; do pe_ctl_stop "$s"; done
[ "$_tap_failed" = 0 ] || pe_logs
finish
