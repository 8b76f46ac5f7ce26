#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The observability of a real zerohop-agent (file source, one host in a
# namespace with one VM): its status socket through `zerohop status` (text
# and --json), /metrics over HTTP on the namespace's loopback (parsed by
# the Prometheus client library's parser when present, every family in
# docs/metrics.md, data-plane counters that move with traffic), the last
# error after a bad intent file, and the socket's life cycle: removed on
# SIGTERM, left stale by SIGKILL and replaced by the next agent.
. "$(dirname "$0")/lib.sh"
require_root
BUILD=${BUILD:-$(dirname "$ZH")}
AGENT=$BUILD/zerohop-agent
[ -x "$AGENT" ] || skip_all "zerohop-agent is not built in $BUILD"
command -v jq >/dev/null || bail "jq is needed (apt-get install jq)"
command -v curl >/dev/null || bail "curl is needed (apt-get install curl)"

INST=$ZH_PFX-obs
PORT=9465
mk_tmpdir D || bail "temporary directory"
SOCK=$D/agent.sock
ns_add h1 || bail "create namespace h1"
veth_pair h1 upl h1 upx || bail "create the uplink veth"
vm_add vm1 h1 p1 10.0.0.11 02:00:00:00:00:11 || bail "create VM vm1 on port p1"
zh_track h1 "$INST"

cat >"$D/intent.json" <<'EOF'
{"version": "v1",
 "networks": [{"name": "blue", "vni": 100, "cidrs": ["10.0.0.0/24"]}],
 "hosts": [
  {"name": "h1", "underlay": "198.18.0.1", "networks": ["blue"],
   "ports": [{"ifname": "p1", "network": "blue", "mac": "02:00:00:00:00:11", "ip": "10.0.0.11"}]},
  {"name": "h2", "underlay": "198.18.0.2", "networks": ["blue"],
   "ports": [{"ifname": "p2", "network": "blue", "mac": "02:00:00:00:00:12", "ip": "10.0.0.12"}]}]}
EOF
cat >"$D/agent.json" <<EOF
{"instance": "$INST", "host": "h1", "uplink": "upl", "underlay_ip": "198.18.0.1",
 "source": "file:$D/intent.json", "attach": {"xdp_mode": "off"},
 "metrics": "127.0.0.1:$PORT", "status_socket": "$SOCK"}
EOF

# start_agent: in h1, bounded in time, output in $D/agent.log.
start_agent() {
	bg_nsexec AGENT_WRAPPER h1 timeout 120 "$AGENT" --config "$D/agent.json" -v \
		>>"$D/agent.log" 2>&1
}
# status_json FILTER: the agent member of `zerohop status --json`.
agent_json() {
	zh h1 status --json --instance "$INST" --agent-socket "$SOCK" | jq -r ".instances[0].agent$1"
}
# wait_for DESC CMD...: up to 10 s for CMD to succeed.
wait_for() {
	local desc=$1 i; shift
	for i in $(seq 100); do "$@" >/dev/null 2>&1 && { tap_ok "$desc"; return 0; }; sleep 0.1; done
	tap_fail "$desc (waited 10 s)"
	sed 's/^/# agent: /' "$D/agent.log" | tail -n 20
	return 1
}
synced() { [ "$(agent_json '.ports.attached')" = 1 ] && [ "$(agent_json '.connected')" = true ]; }
metrics() { nsexec h1 curl -s -m 5 "http://127.0.0.1:$PORT/metrics"; }

start_agent
wait_for "agent programs the port and says so on its status socket" synced || finish

# --- zerohop status: text and JSON
out=$(zh h1 status --instance "$INST" --agent-socket "$SOCK")
line=$(grep '^  agent: ' <<<"$out")
re="^  agent: source file:$D/intent.json, connected since [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \\([0-9]+s ago\\), revision [0-9]+, last error: none\$"
if [[ "$line" =~ $re ]]; then tap_ok "status text: the agent line"
else tap_fail "status text: the agent line"; diag "got '$line'"; fi
expect_eq "status text: counts line" \
	"$(grep -c '^         events [0-9]*, resyncs [0-9]*, reconciles [0-9]*, map ops [0-9]*, errors 0, ports 1/1 attached, pid [0-9]*, up [0-9]*s$' <<<"$out")" 1
expect_eq "status json: instance" "$(agent_json '.instance')" "$INST"
expect_eq "status json: host" "$(agent_json '.host')" h1
expect_eq "status json: socket" "$(agent_json '.socket')" "$SOCK"
expect_eq "status json: last_error null" "$(agent_json '.last_error')" null
expect_ge "status json: resyncs" "$(agent_json '.resyncs')" 1
expect_ge "status json: events" "$(agent_json '.events')" 1
expect_eq "status json: errors by kind, all 0" "$(agent_json '.errors | [.[]] | add')" 0
expect_eq "status json: ports desired" "$(agent_json '.ports.desired')" 1
AGENT_PID=$(agent_json '.pid')
expect_eq "status json: pid is the agent's" "$(cat "/proc/$AGENT_PID/comm" 2>/dev/null)" zerohop-agent
expect_eq "socket is 0660" "$(stat -c %a "$SOCK")" 660

# --- /metrics
m=$(metrics) || tap_fail "GET /metrics"
for want in \
	"zerohop_datapath_attached 1" \
	"zerohop_agent_source_connected{source=\"file:$D/intent.json\"} 1" \
	"zerohop_agent_ports{state=\"attached\"} 1" \
	"zerohop_agent_ports{state=\"desired\"} 1" \
	"zerohop_map_entries{map=\"zh_ports\"} 1" \
	"zerohop_agent_errors_total{kind=\"port_attach\"} 0"; do
	expect_eq "metrics: $want" "$(grep -cxF "$want" <<<"$m")" 1
done
expect_eq "metrics: one sample per counter (packets)" \
	"$(grep -c '^zerohop_datapath_packets_total{counter="[a-z_]*"} [0-9]*$' <<<"$m")" \
	"$(zh h1 show stats --json --instance "$INST" | jq length)"
expect_eq "GET /nothing is 404" \
	"$(nsexec h1 curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nothing")" 404
if /usr/bin/python3 -c 'import prometheus_client' 2>/dev/null; then
	n=$(/usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
print(sum(1 for f in text_string_to_metric_families(sys.stdin.read()) for s in f.samples))' <<<"$m")
	expect_eq "metrics parse with prometheus_client (every sample line)" "$n" \
		"$(grep -vc '^#' <<<"$m")"
else
	tap_skip "python3-prometheus-client is not installed: format not checked by its parser"
fi
missing=$(grep '^# TYPE ' <<<"$m" | awk '{print $3}' | while read -r f; do
	grep -qF "\`$f\`" "$ZH_TOP/docs/metrics.md" || echo "$f"; done)
expect_eq "every metric family is in docs/metrics.md" "$missing" ""

# Data-plane counters are read live: the VM's traffic moves tc_port_rx.
rx() { metrics | sed -n 's/^zerohop_datapath_packets_total{counter="tc_port_rx"} //p'; }
before=$(rx)
nsexec vm1 ping -q -c 3 -i 0.2 -W 1 -w 3 10.0.0.12 >/dev/null 2>&1
after=$(rx)
expect_ge "metrics: tc_port_rx grows with the VM's packets" "$((after - before))" 3

# --- a bad intent file: kept out (fail static), reported as the last error
cp "$D/intent.json" "$D/intent.good"
echo '{"version": "v1", "networks": [' >"$D/intent.json.new" && mv "$D/intent.json.new" "$D/intent.json"
has_error() { [ "$(agent_json '.last_error')" != null ]; }
wait_for "a bad intent file becomes the agent's last error" has_error
out=$(zh h1 status --instance "$INST" --agent-socket "$SOCK" | grep '^  agent: ')
re='last error: .+ \([0-9T:-]+Z, [0-9]+s ago\)$'
if [[ "$out" =~ $re ]]; then tap_ok "status text: last error with its time"
else tap_fail "status text: last error with its time"; diag "got '$out'"; fi
le=$(metrics | sed -n 's/^zerohop_agent_last_error_time_seconds //p')
expect_ge "metrics: last error time set" "${le:-0}" 1
expect_eq "the port stays programmed (fail static)" "$(agent_json '.ports.attached')" 1
mv "$D/intent.good" "$D/intent.json"

# --- life cycle of the socket
kill -TERM "$AGENT_PID"
gone() { [ ! -e "$SOCK" ]; }
wait_for "SIGTERM: the agent removes its socket" gone
expect_eq "status: agent not running" \
	"$(zh h1 status --instance "$INST" --agent-socket "$SOCK" | grep '^  agent: ')" "  agent: not running"
expect_ge "the data plane stays attached without the agent" \
	"$(zh_json h1 "$INST" '.interfaces | length')" 2

start_agent
wait_for "a new agent answers again" synced
AGENT_PID=$(agent_json '.pid')
kill -KILL "$AGENT_PID"
dead() { ! kill -0 "$AGENT_PID"; }
wait_for "SIGKILL stops the agent" dead
expect_eq "status: a killed agent's socket is not answering" \
	"$(zh h1 status --instance "$INST" --agent-socket "$SOCK" | grep '^  agent: ')" \
	"  agent: not answering ($SOCK: connect: Connection refused)"
start_agent
wait_for "the next agent replaces the stale socket" synced
kill -TERM "$(agent_json '.pid')"
wait_for "and removes it on SIGTERM" gone

finish
