#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 7: three networks on two controller shards, the full reachability
# matrix with real traffic.
#
#   shard 1 (s1, 198.18.0.201): a (VNI 100, 10.1.0.0/24), b (VNI 200, 10.2.0.0/24)
#   shard 2 (s2, 198.18.0.202): c (VNI 300, 10.3.0.0/24)
#   one etcd member per shard (auth on), one zerohop-controller per shard,
#   a zerohop-agent on h1, h2 (shard 1) and h3 (shard 2)
#
#   VM  host net  address      inside the exports?
#   a1  h1   a    10.1.0.11    a's "web" (10.1.0.0/25, tcp)
#   a2  h2   a    10.1.0.140   outside web
#   b1  h1   b    10.2.0.21    b's "web" (10.2.0.0/25, tcp)
#   b2  h2   b    10.2.0.22    inside web
#   b3  h2   b    10.2.0.150   outside web
#   c1  h3   c    10.3.0.31    c's "half" (10.3.0.0/25, udp)
#   c2  h3   c    10.3.0.200   outside half
#
# a <-> b: each grants the other its "web" policy (one subnet, TCP only);
# a <-> c: each grants the other everything; b and c are not peered.
# The matrix (ping, a TCP connect to a listener, two UDP datagrams seen
# arriving by a capture in the VM) between every ordered pair of VMs must
# match what the policies allow exactly; it is printed, expected > got.
# Then b <-> c: c's side alone (one-sided) carries nothing; b's side added
# makes it work (b grants c everything, c grants b "half"); b's side
# removed withdraws every entry of it from the maps of all three hosts
# within 15 s, and its traffic stops.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/peering.sh"
pe_require

PE_VNI=([a]=100 [b]=200 [c]=300)
pe_fabric 2 h1 h2 h3 || bail "fabric, hosts and two shards with auth"
pe_vm a1 h1 a 10.1.0.11 && pe_vm a2 h2 a 10.1.0.140 &&
	pe_vm b1 h1 b 10.2.0.21 && pe_vm b2 h2 b 10.2.0.22 && pe_vm b3 h2 b 10.2.0.150 &&
	pe_vm c1 h3 c 10.3.0.31 && pe_vm c2 h3 c 10.3.0.200 || bail "the VMs"
pe_pw a-at-c c-at-a b-at-c c-at-b
T=$PE_T EP1=${PE_EP[1]} EP2=${PE_EP[2]} R=$PE_R

cat >"$T/s1.json" <<EOF
{"version": "v1",
 "networks": [
  {"name": "a", "vni": 100, "cidrs": ["10.1.0.0/24"],
   "exports": [{"name": "web", "prefixes": ["10.1.0.0/25"], "protocols": ["tcp"]}, {"name": "all"}],
   "peerings": [{"peer": "b", "grant": "web"},
                {"peer": "c", "grant": "all", "peer_shard": ["$EP2"],
                 "user": "a-at-c", "password_file": "$T/a-at-c.pw",
                 "peer_user": "c-at-a", "peer_password_file": "$T/c-at-a.pw"}]},
  {"name": "b", "vni": 200, "cidrs": ["10.2.0.0/24"],
   "exports": [{"name": "web", "prefixes": ["10.2.0.0/25"], "protocols": ["tcp"]}, {"name": "all"}],
   "peerings": [{"peer": "a", "grant": "web"}]}],
 "hosts": [{"name": "h1", "underlay": "198.18.0.1", "networks": ["a", "b"], "ports": $(pe_ports_json h1)},
           {"name": "h2", "underlay": "198.18.0.2", "networks": ["a", "b"], "ports": $(pe_ports_json h2)}]}
EOF
cat >"$T/s2.json" <<EOF
{"version": "v1",
 "networks": [
  {"name": "c", "vni": 300, "cidrs": ["10.3.0.0/24"],
   "exports": [{"name": "all"}, {"name": "half", "prefixes": ["10.3.0.0/25"], "protocols": ["udp"]}],
   "peerings": [{"peer": "a", "grant": "all", "peer_shard": ["$EP1"],
                 "user": "c-at-a", "password_file": "$T/c-at-a.pw",
                 "peer_user": "a-at-c", "peer_password_file": "$T/a-at-c.pw"}]}],
 "hosts": [{"name": "h3", "underlay": "198.18.0.3", "networks": ["c"], "ports": $(pe_ports_json h3)}]}
EOF
out=$(pe_apply 1 "$T/s1.json" 2>&1) || bail "apply shard 1: $out"
out=$(pe_apply 2 "$T/s2.json" 2>&1) || bail "apply shard 2: $out"
pe_ctl_start 1 a,b
pe_ctl_start 2 c
pe_agent_start h1 1
pe_agent_start h2 1
pe_agent_start h3 2
pe_listen "${VMS[@]}"

PE_PEERED="a:b a:c"
PE_GRANT=(["a>b"]="10.1.0.0/25 tcp" ["b>a"]="10.2.0.0/25 tcp"
	["a>c"]="10.1.0.0/24 any" ["c>a"]="10.3.0.0/24 any"
	["b>c"]="10.2.0.0/24 any" ["c>b"]="10.3.0.0/25 udp")

# The peer entries and policies each host must hold (pe_eps, pe_pols).
ANY=tcp,udp,icmp,other
EPS_AB="100 10.2.0.21 198.18.0.1 200 100 10.2.0.22 198.18.0.2 200"
EPS_AC="100 10.3.0.200 198.18.0.3 300 100 10.3.0.31 198.18.0.3 300"
EPS_BA="200 10.1.0.11 198.18.0.1 100"
EPS_BC="200 10.3.0.31 198.18.0.3 300"
EPS_CA="300 10.1.0.11 198.18.0.1 100 300 10.1.0.140 198.18.0.2 100"
EPS_CB="300 10.2.0.150 198.18.0.2 200 300 10.2.0.21 198.18.0.1 200 300 10.2.0.22 198.18.0.2 200"
POL_AB="100>200 10.1.0.0/25 tcp"
POL_AC="100>300 10.1.0.0/24 $ANY"
POL_BA="200>100 10.2.0.0/25 tcp"
POL_BC="200>300 10.2.0.0/24 $ANY"
POL_CA="300>100 10.3.0.0/24 $ANY"
POL_CB="300>200 10.3.0.0/25 udp"

for h in h1 h2 h3; do wait_for "$h: the agent is connected and attached its ports" 30 pe_synced "$h"; done
for h in h1 h2; do
	eventually "$h: peer entries of a (b's web view, c's whole view) and b (a's web view)" \
		"$EPS_AB $EPS_AC $EPS_BA" 60 pe_eps "$h"
	eventually "$h: the policies of a<->b and a<->c, both directions" \
		"$POL_AB $POL_AC $POL_BA $POL_CA" 30 pe_pols "$h"
done
eventually "h3: peer entries of c (a's whole view)" "$EPS_CA" 60 pe_eps h3
eventually "h3: the policies of a<->c" "$POL_AC $POL_CA" 30 pe_pols h3
expect_eq "h1's status: a's peerings active, b's with a too" \
	"$(pe_peer h1 a b state) $(pe_peer h1 a c state) $(pe_peer h1 b a state)" "active active active"

pe_matrix_check "a<->b web/tcp, a<->c all" "${VMS[@]}"

# --- b <-> c: one side, both sides, one side again ------------------------------------------

pe_sctl 2 put "$R/networks/c/peerings/b" "{\"peer_shard\":[\"$EP1\"],\"grant\":\"half\",\"user\":\"c-at-b\",\"password_file\":\"$T/c-at-b.pw\",\"peer_user\":\"b-at-c\",\"peer_password_file\":\"$T/b-at-c.pw\"}" >/dev/null ||
	bail "put c's peering with b"
eventually "one-sided (c only): h3's agent knows c's peering with b" b 30 pe_peer h3 c b peer
wait_for "one-sided: c's controller keeps the user b's hosts would use" 30 pe_sctl 2 user get b-at-c
sleep 3
diag "one-sided: h3 says the peering c -> b is '$(pe_peer h3 c b state)' ($(pe_peer h3 c b error))"
check "one-sided: the peering c -> b is not active on h3" test "$(pe_peer h3 c b state)" != active
expect_eq "one-sided: h3's peer entries are a's only" "$(pe_eps h3)" "$EPS_CA"
expect_eq "one-sided: h3's policies are a<->c's only" "$(pe_pols h3)" "$POL_AC $POL_CA"
for h in h1 h2; do
	expect_eq "one-sided: $h's peer entries unchanged" "$(pe_eps $h)" "$EPS_AB $EPS_AC $EPS_BA"
	expect_eq "one-sided: $h's policies unchanged" "$(pe_pols $h)" "$POL_AB $POL_AC $POL_BA $POL_CA"
done
pe_matrix_check "one-sided c->b" b1 b2 b3 c1 c2

pe_sctl 1 put "$R/networks/b/peerings/c" "{\"peer_shard\":[\"$EP2\"],\"grant\":\"all\",\"user\":\"b-at-c\",\"password_file\":\"$T/b-at-c.pw\",\"peer_user\":\"c-at-b\",\"peer_password_file\":\"$T/c-at-b.pw\"}" >/dev/null ||
	bail "put b's peering with c"
PE_PEERED="a:b a:c b:c"
for h in h1 h2; do
	eventually "both sides: $h adds c's half view to b" "$EPS_AB $EPS_AC $EPS_BA $EPS_BC" 60 pe_eps "$h"
	eventually "both sides: $h adds the policies of b<->c" \
		"$POL_AB $POL_AC $POL_BA $POL_BC $POL_CA $POL_CB" 30 pe_pols "$h"
done
eventually "both sides: h3 adds b's whole view to c" "$EPS_CA $EPS_CB" 60 pe_eps h3
eventually "both sides: h3 adds the policies of b<->c" "$POL_AC $POL_BC $POL_CA $POL_CB" 30 pe_pols h3
pe_matrix_check "b<->c added (b grants all, c grants half/udp)" "${VMS[@]}"

pe_sctl 1 del "$R/networks/b/peerings/c" >/dev/null || bail "delete b's peering with c"
PE_PEERED="a:b a:c"
for h in h1 h2; do
	eventually "b's side removed: $h withdraws c's entries from b" "$EPS_AB $EPS_AC $EPS_BA" 15 pe_eps "$h"
	eventually "b's side removed: $h withdraws the policies of b<->c" \
		"$POL_AB $POL_AC $POL_BA $POL_CA" 15 pe_pols "$h"
done
eventually "b's side removed: h3 withdraws b's entries from c" "$EPS_CA" 15 pe_eps h3
eventually "b's side removed: h3 withdraws the policies of b<->c" "$POL_AC $POL_CA" 15 pe_pols h3
diag "b's side removed: h3 says the peering c -> b is '$(pe_peer h3 c b state)'"
pe_matrix_check "b's side removed" b1 b2 b3 c1 c2

for h in h1 h2 h3; do pe_agent_stop "$h"; done
for s in 1 2; do pe_ctl_stop "$s"; done
[ "$_tap_failed" = 0 ] || pe_logs
finish
