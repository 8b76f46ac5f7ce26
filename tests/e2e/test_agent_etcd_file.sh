#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The file source and the etcd source give the same data plane for the same
# intent: for each of two hosts, one agent reads the intent from etcd
# (written by `zerohop apply`) and one reads the file itself; their
# instances hold the same endpoints, routes and ports (`zerohop show ...
# --json`, compared with jq) and have the same layout (configuration,
# interfaces and attach modes, maps with entries and capacity). The intent
# uses every field: two networks, endpoint records that are not ports, a
# remote and a drop route, a host with Geneve. After an edit (an endpoint
# and a route removed, a route added) they are still the same. The etcd
# hosts forward: VMs reach each other across them.
#
# Topology: fabric "fab" with hosts h1, h2 (etcd sources) and etcd in
# namespace "etcd" (198.18.0.201). Hosts f1, f2 (file sources) have the
# same names in the intent (h1, h2) and the same underlay addresses, on
# uplinks into a namespace "sink" of their own, apart from the fabric.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/agent_etcd.sh"
ae_require

ae_fabric h1 h2 || bail "set up the fabric"
etcd_start etcd solo 198.18.0.201 || bail "etcd starts in namespace etcd"
ns_add sink && ns_add f1 && ns_add f2 &&
	veth_pair f1 upl sink u1 && addr f1 upl 198.18.0.1/24 &&
	veth_pair f2 upl sink u2 && addr f2 upl 198.18.0.2/24 || bail "set up f1 and f2"
ov_vm vm1 h1 p1 02:00:00:00:00:11 10.0.0.11/24 && ov_vm r1 h1 r1 02:00:00:00:01:11 10.2.0.11/24 &&
	ov_vm vm2 h2 p2 02:00:00:00:00:12 10.0.0.12/24 && ov_vm r2 h2 r2 02:00:00:00:01:12 10.1.0.12/24 &&
	veth_pair f1 p1 f1 v1 && veth_pair f1 r1 f1 w1 &&
	veth_pair f2 p2 f2 v2 && veth_pair f2 r2 f2 w2 || bail "set up the VM ports"

INTENT=$AE_T/intent.json
# intent [EDITED]: the intent; EDITED drops endpoint 10.0.0.51 and route
# 10.9.0.0/16 and adds route 10.8.0.0/16 via h1 in network blue.
intent() {
	local ep51='{"ip": "10.0.0.51", "mac": "02:00:00:00:00:51", "host": "h2", "encap": "vxlan"},'
	local rt='{"prefix": "10.9.0.0/16", "host": "h2"}'
	[ -z "${1:-}" ] || { ep51="" rt='{"prefix": "10.8.0.0/16", "host": "h1"}'; }
	cat <<EOF
{"version": "v1",
 "networks": [
  {"name": "blue", "vni": 100, "cidrs": ["10.0.0.0/24"],
   "endpoints": [$ep51
     {"ip": "10.0.0.50", "mac": "02:00:00:00:00:50", "host": "h2"},
     {"ip": "10.0.0.52", "mac": "02:00:00:00:00:52", "host": "h1"}],
   "routes": [$rt, {"prefix": "0.0.0.0/0", "drop": true}]},
  {"name": "red", "vni": 200, "cidrs": ["10.1.0.0/24", "10.2.0.0/24"],
   "routes": [{"prefix": "10.3.0.0/16", "host": "h1"}]}],
 "hosts": [
  {"name": "h1", "underlay": "198.18.0.1", "networks": ["blue", "red"],
   "ports": [{"ifname": "p1", "network": "blue", "mac": "02:00:00:00:00:11", "ip": "10.0.0.11"},
             {"ifname": "r1", "network": "red", "mac": "02:00:00:00:01:11", "ip": "10.2.0.11"}]},
  {"name": "h2", "underlay": "198.18.0.2", "networks": ["blue", "red"], "encap": "geneve",
   "ports": [{"ifname": "p2", "network": "blue", "mac": "02:00:00:00:00:12", "ip": "10.0.0.12"},
             {"ifname": "r2", "network": "red", "mac": "02:00:00:00:01:12", "ip": "10.1.0.12"}]}]}
EOF
}
intent >"$INTENT"
out=$(ae_apply "$INTENT" 2>&1)
expect_eq "apply writes the intent's 18 records" "${out%% at *}: ${out##*: }" \
	"applied 18 records (networks 2, endpoints 7, routes 3, hosts 2, ports 4): 18 written, 0 unchanged"

# f1, f2: the same host names and addresses, the file as source.
for h in h1 h2; do
	ae_config "$h" && ae_start "$h"
	f=f${h#h}
	sed -e "s/\"instance\": \"$ZH_PFX-$h\"/\"instance\": \"$ZH_PFX-$f\"/" \
		-e "s|\"source\": \"[^\"]*\"|\"source\": \"file:$INTENT\"|" \
		-e "s|$AE_T/$h.sock|$AE_T/$f.sock|" "$AE_T/$h.json" >"$AE_T/$f.json"
	zh_track "$f" "$ZH_PFX-$f"
	ae_start "$f"
done
for h in h1 h2 f1 f2; do
	wait_until "$h's agent has its 2 ports attached" 30 ae_synced "$h" 2 || ae_log_tail "$h"
done

# view HOST WHAT: a source-independent view of HOST's instance.
view() {
	local inst=$ZH_PFX-$1
	case $2 in
	endpoints) zh "$1" show endpoints --json --instance "$inst" | jq -cS 'sort_by(.vni, .ip)[]' ;;
	routes) zh "$1" show routes --json --instance "$inst" | jq -cS 'sort_by(.vni, .prefix)[]' ;;
	ports) zh "$1" show ports --json --instance "$inst" | jq -cS 'map(del(.ifindex)) | sort_by(.ifname)[]' ;;
	layout) zh "$1" status --json --instance "$inst" | jq -cS '.instances[0] |
		{underlay_ip, router_mac, mtu, encap, tc_mode,
		 interfaces: ([.interfaces[] | {name, role, xdp_mode, tc_mode, present}] | sort_by(.name)),
		 maps: [.maps[] | {name, type, entries, max_entries}]}' ;;
	agent) ae_json "$1" ' | {ports, errors}' | jq -cS . ;;
	esac
}
# same STAGE: each etcd host and its file twin show the same views.
same() {
	local h f what a b
	for h in h1 h2; do
		f=f${h#h}
		for what in endpoints routes ports layout agent; do
			a=$(view "$h" "$what") b=$(view "$f" "$what")
			if [ -n "$a" ] && [ "$a" = "$b" ]; then
				tap_ok "$1: $h from etcd and from the file: same $what"
			else
				tap_fail "$1: $h from etcd and from the file: same $what"
				diff <(echo "$a") <(echo "$b") | sed 's/^/# /'
			fi
		done
	done
}
# has HOST WHAT JQ_CONDITION: one entry of view WHAT satisfies the condition.
has() { view "$1" "$2" | jq -s -e "any(.[]; $3)" >/dev/null; }

same "as applied"
check "h1 routes 10.9.0.0/16 of blue to h2 in Geneve" \
	has h1 routes '.vni == 100 and .prefix == "10.9.0.0/16" and .host == "198.18.0.2" and .encap == "geneve"'
check "h1 drops blue's default route" has h1 routes '.prefix == "0.0.0.0/0" and .action == "drop"'
check "h2 routes red's 10.3.0.0/16 to h1" has h2 routes '.vni == 200 and .prefix == "10.3.0.0/16" and .host == "198.18.0.1"'
check "h1 has endpoint 10.0.0.51 at h2 with its own vxlan" \
	has h1 endpoints '.ip == "10.0.0.51" and .host == "198.18.0.2" and .encap == "vxlan"'
check "h1 has endpoint 10.0.0.50 at h2 in Geneve (the host's encap)" \
	has h1 endpoints '.ip == "10.0.0.50" and .encap == "geneve"'
check_fails "h1 has no entry for 10.0.0.52 (an endpoint record naming h1 itself)" \
	has h1 endpoints '.ip == "10.0.0.52"'
check "h2 has port r2 in VNI 200" has h2 ports '.ifname == "r2" and .vni == 200 and .ip == "10.1.0.12"'
ov_ping "vm1 (h1) reaches vm2 (h2)" vm1 10.0.0.12
ov_ping "r2 (h2) reaches r1 (h1) in red" r2 10.2.0.11

# --- an edit: etcd gets the changes (apply, and etcdctl del for what goes),
# the file is rewritten --------------------------------------------------------
intent edited >"$INTENT.new"
out=$(ae_apply "$INTENT.new" 2>&1)
expect_eq "apply writes the new route" "${out##*: }" "1 written, 16 unchanged"
etcd_ctl del /zerohop/v1/networks/blue/endpoints/10.0.0.51 >/dev/null &&
	etcd_ctl del /zerohop/v1/networks/blue/routes/10.9.0.0/16 >/dev/null || tap_fail "etcdctl del"
mv "$INTENT.new" "$INTENT"
edited() {
	! has "$1" routes '.prefix == "10.9.0.0/16"' && ! has "$1" endpoints '.ip == "10.0.0.51"' &&
		{ [ "$1" = h1 ] || [ "$1" = f1 ] || has "$1" routes '.prefix == "10.8.0.0/16"'; }
}
for h in h1 f1 h2 f2; do wait_until "$h has the edit" 20 edited "$h"; done
same "after an edit"

finish
