#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# zerohop-agent with a file: source on two hosts: both agents read the same
# intent file and program their instances, so VMs on the two hosts reach
# each other. Edits converge (rename-replace and in-place writes); an
# invalid file is logged and the last state keeps forwarding; a port whose
# interface appears after the agent started gets tc_port, and gets it again
# when its VM comes back; kill -9 and restart under a ping stream loses no
# packet and reloads no program; a detached instance is attached again;
# SIGTERM leaves the data plane forwarding; a config that changes the
# router MAC re-attaches in place; a bad config is one line naming the field.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
require_root
ov_require jq bpftool ping

AGENT=${ZH_AGENT:-$(dirname "$ZH")/zerohop-agent}
[ -x "$AGENT" ] || { tap_fail "zerohop-agent binary $AGENT is missing (run make)"; exit 1; }

I1=$ZH_PFX-h1 I2=$ZH_PFX-h2
ov_underlay h1 h2 || bail "set up the underlay"
ov_vm vm1 h1 p1 02:00:00:00:00:11 10.0.0.11/24 &&
	ov_vm vm2 h2 p2 02:00:00:00:00:12 10.0.0.12/24 || bail "set up the VMs"
mk_tmpdir T || bail "tmpdir"
INTENT=$T/intent.json

# intent PORT... : write the intent (rename-replace, as editors do) with
# network blue and the listed ports, each HOST:IFNAME:LAST_OCTET.
intent_json() {
	local spec h ifn n hosts=""
	for h in h1 h2; do
		local ports=""
		for spec; do
			IFS=: read -r sh ifn n <<<"$spec"
			[ "$sh" = "$h" ] || continue
			ports+="${ports:+,}{\"ifname\":\"$ifn\",\"network\":\"blue\",\"mac\":\"02:00:00:00:00:$n\",\"ip\":\"10.0.0.$n\"}"
		done
		hosts+="${hosts:+,}{\"name\":\"$h\",\"underlay\":\"$(ov_uip $h)\",\"networks\":[\"blue\"],\"ports\":[$ports]}"
	done
	printf '{"version":"v1","networks":[{"name":"blue","vni":100,"cidrs":["10.0.0.0/24"]}],"hosts":[%s]}\n' "$hosts"
}
intent() { intent_json "$@" >"$INTENT.tmp" && mv "$INTENT.tmp" "$INTENT"; }

for h in h1 h2; do
	cat >"$T/$h.json" <<EOF
{"instance": "$ZH_PFX-$h", "host": "$h", "uplink": "upl", "underlay_ip": "$(ov_uip $h)",
 "source": "file:$INTENT", "status_socket": "$T/$h.sock"}
EOF
	zh_track "$h" "$ZH_PFX-$h"
done

declare -A APID=() # host -> pid of the agent's timeout wrapper
# agent_start HOST: run the agent in HOST (at most 300 s), logging to $T/HOST.log.
agent_start() {
	local pid
	bg_nsexec pid "$1" timeout -s KILL 300 "$AGENT" --config "$T/$1.json" -v 2>>"$T/$1.log"
	APID[$1]=$pid
}
# agent_pid HOST: the agent process itself (the child of its timeout).
agent_pid() { pgrep -P "${APID[$1]}" 2>/dev/null | head -n 1; }

# wait_until DESC CMD...: CMD succeeds within 10 s (polled every 0.1 s).
wait_until() {
	local desc=$1 i; shift
	for i in $(seq 100); do
		"$@" >/dev/null 2>&1 && { tap_ok "$desc"; return 0; }
		sleep 0.1
	done
	tap_fail "$desc (not within 10 s)"
	return 1
}

pings() { nsexec "$1" ping -q -n -c 1 -W 1 "$2"; }

# ep HOST_INSTANCE IP: zh_endpoints[VNI 100, IP] from bpftool: "local" for a
# port on this host, else the host's underlay address; empty when absent.
ep() {
	bpftool -j map dump pinned "$ZH_PINS/$1/zh_endpoints" | jq -r --arg ip "$2" '
		.[].formatted | select(.key.vni == 100 and (.key[""].ip_octets | join(".")) == $ip) |
		if .value.ifindex != 0 then "local" else (.value[""].host_ip_octets | join(".")) end'
}
ep_is() { [ "$(ep "$1" "$2")" = "$3" ]; }
ep_gone() { [ -z "$(ep "$1" "$2")" ]; }
log_has() { grep -qF -- "$2" "$T/$1.log"; }
tc_port_on() { [ -n "$(tc_ingress_id "$1" "$2" tc_port)" ]; }
no_tc_port() { ! tc_port_on "$1" "$2"; }
# not_port INSTANCE IFNAME: the instance records no interface IFNAME.
not_port() { ! bpftool map dump pinned "$ZH_PINS/$1/zh_ifaces" | grep -qF "\"$2\""; }

# --- start: both agents attach their instances and program them -----------
intent h1:p1:11 h2:p2:12
agent_start h1
agent_start h2
wait_until "vm1 reaches vm2 once both agents ran" pings vm1 10.0.0.12
ov_ping "vm2 reaches vm1" vm2 10.0.0.11
expect_eq "h1's zh_endpoints: vm2 is on h2 (bpftool)" "$(ep "$I1" 10.0.0.12)" 198.18.0.2
expect_eq "h1's zh_endpoints: vm1 is a local port" "$(ep "$I1" 10.0.0.11)" local
expect_eq "h2's zh_endpoints: vm1 is on h1" "$(ep "$I2" 10.0.0.11)" 198.18.0.1
check "tc_port is on p1" tc_port_on h1 p1
expect_eq "zh_ports of h1 holds p1's ifindex" \
	"$(bpftool -j map dump pinned "$ZH_PINS/$I1/zh_ports" | jq -r '.[].formatted.key')" \
	"$(nsexec h1 ip -j link show dev p1 | jq -r '.[0].ifindex')"

# --- an edit adds a port on h2: h2 attaches it, h1 learns the endpoint -----
ov_vm vm3 h2 p3 02:00:00:00:00:13 10.0.0.13/24 || bail "vm3"
intent h1:p1:11 h2:p2:12 h2:p3:13
wait_until "after an edit, vm1 reaches vm3 (a new port on h2)" pings vm1 10.0.0.13
expect_eq "h1 has vm3's endpoint" "$(ep "$I1" 10.0.0.13)" 198.18.0.2

# --- an invalid file: logged, the last state stays --------------------------
printf '{"version":"v1","networks":[{"name":"blue","vni":"x"}]}\n' >"$INTENT.tmp" &&
	mv "$INTENT.tmp" "$INTENT"
wait_until "h1 logs that the invalid file was not loaded" log_has h1 "$INTENT: not loaded"
check "the log names the invalid field" grep -qF '$.networks[0].vni' "$T/h1.log"
ov_ping "with the invalid file, vm1 still reaches vm2" vm1 10.0.0.12
ov_ping "with the invalid file, vm1 still reaches vm3" vm1 10.0.0.13
expect_eq "h1 kept vm3's endpoint" "$(ep "$I1" 10.0.0.13)" 198.18.0.2

# --- a port whose interface comes after the agent started ------------------
intent h1:p1:11 h2:p2:12 h2:p3:13 h1:p4:14
wait_until "h2 learns the endpoint of p4 before its VM exists" ep_is "$I2" 10.0.0.14 198.18.0.1
ov_vm vm4 h1 p4 02:00:00:00:00:14 10.0.0.14/24 || bail "vm4"
wait_until "tc_port is attached to p4 once it appears" tc_port_on h1 p4
wait_until "vm4 reaches vm2" pings vm4 10.0.0.12
# The VM goes away and comes back: the port is attached again.
ip netns del "$ZH_PFX-vm4"
wait_until "p4's records go with its interface" not_port "$I1" p4
ov_vm vm4 h1 p4 02:00:00:00:00:14 10.0.0.14/24 || bail "vm4 again"
wait_until "tc_port is attached to the new p4" tc_port_on h1 p4
wait_until "the new vm4 reaches vm2" pings vm4 10.0.0.12

# --- an in-place edit removes a port: only its entries go -------------------
intent_json h1:p1:11 h2:p2:12 h1:p4:14 >"$INTENT"
wait_until "vm3's endpoint leaves h1" ep_gone "$I1" 10.0.0.13
wait_until "tc_port leaves p3 on h2" no_tc_port h2 p3
wait_until "p3 is no port of h2 any more" not_port "$I2" p3
ov_noping "vm1 no longer reaches vm3" vm1 10.0.0.13
expect_eq "h1 keeps vm2's endpoint" "$(ep "$I1" 10.0.0.12)" 198.18.0.2

# --- the instance detached under the agent: attached and programmed again --
zh h2 detach --instance "$I2" >/dev/null
wait_until "after zerohop detach on h2, its agent attaches it again" pings vm1 10.0.0.12
check "h2's agent logs the re-attach" grep -qF "instance '$I2' was detached" "$T/h2.log"

# --- kill -9 and restart under traffic: no loss, no reload ------------------
prog_before=$(tc_ingress_id h1 p1 tc_port)
up_before=$(tc_ingress_id h1 upl tc_uplink)
bg_nsexec PING_PID vm1 ping -q -n -i 0.01 -c 1000 -W 1 -w 40 10.0.0.12 >"$T/ping.out"
for i in 1 2 3 4 5; do
	sleep 1
	for h in h1 h2; do
		pid=$(agent_pid "$h")
		[ -n "$pid" ] && kill -9 "$pid"
		wait "${APID[$h]}" 2>/dev/null
		agent_start "$h"
	done
done
wait "$PING_PID"
rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T/ping.out")
expect_eq "1000 pings over 5 kill -9 restarts of both agents: none lost" "$rx" 1000
[ "$rx" = 1000 ] || sed 's/^/# /' "$T/ping.out"
expect_eq "restarts adopt: tc_port on p1 is the same program" "$(tc_ingress_id h1 p1 tc_port)" \
	"$prog_before"
expect_eq "restarts adopt: tc_uplink on upl is the same program" \
	"$(tc_ingress_id h1 upl tc_uplink)" "$up_before"
expect_ge "each restart adopted the maps as they were (0 map writes)" \
	"$(grep -c 'full reconcile: 0 map writes' "$T/h1.log")" 5
# agent_json HOST FILTER: jq over the agent part of `zerohop status --json`.
agent_json() {
	zh "$1" status --json --instance "$ZH_PFX-$1" --agent-socket "$T/$1.sock" |
		jq -r ".instances[0].agent$2"
}
agent_loaded() { [ "$(agent_json h1 .connected)" = true ]; }
wait_until "the restarted agent answers on its status socket" agent_loaded
expect_eq "status: h1's agent has 2 ports desired, 2 attached" \
	"$(agent_json h1 '.ports | "\(.desired) \(.attached)"')" "2 2"
expect_eq "after the restarts h1 still has vm2's endpoint" "$(ep "$I1" 10.0.0.12)" 198.18.0.2

# --- SIGTERM: a clean exit, the data plane stays ----------------------------
kill -TERM "$(agent_pid h1)"
wait "${APID[h1]}"
rc=$?
expect_eq "SIGTERM: the agent exits 0" "$rc" 0
ov_ping "with h1's agent stopped, vm1 still reaches vm2" vm1 10.0.0.12
check "the instance stays attached" test -e "$ZH_PINS/$I1/zh_config"

# --- a config that changes how the instance runs: re-attached in place -----
sed 's/"uplink": "upl"/"uplink": "upl", "attach": {"router_mac": "02:7a:00:00:aa:01"}/' \
	"$T/h1.json" >"$T/h1-mac.json" && mv "$T/h1-mac.json" "$T/h1.json"
agent_start h1
router_mac_is() { [ "$(ov_router_mac h1 "$I1")" = 02:7a:00:00:aa:01 ]; }
wait_until "a new router MAC in the config: the agent re-attaches the instance" router_mac_is
check "the agent says why it re-attached" grep -qF "runs with another router MAC" "$T/h1.log"
wait_until "after the re-attach vm1 reaches vm2" pings vm1 10.0.0.12

# --- a bad config: one line naming the field, exit 1 ------------------------
sed 's/"uplink": "upl"/"uplink": "upl", "etcd": {"user": "u"}/' "$T/h1.json" >"$T/bad.json"
out=$(nsexec h1 "$AGENT" --config "$T/bad.json" 2>&1)
rc=$?
expect_eq "a bad config exits 1" "$rc" 1
expect_eq "a bad config is one line naming the field" "$out" \
	"zerohop-agent: $T/bad.json: etcd.password: missing (a user needs password or password_file)"

finish
