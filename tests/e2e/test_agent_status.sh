#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `zerohop status` and the agent's status socket: "not running" without a
# socket (text and --json null), "not answering" with a stale socket at the
# default path and with a listener that never answers (--agent-socket),
# and --agent-socket needing --instance. The answered case (the agent's
# real server and this client) is in tests/unit/test_metrics.c; with a
# built zerohop-agent, test_agent_*.sh cover it end to end.
. "$(dirname "$0")/lib.sh"
require_root
command -v jq >/dev/null || bail "jq is needed (apt-get install jq)"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "needs $PY to make test sockets"

INST=$ZH_PFX-st
ns_add h1 || bail "create namespace"
veth_pair h1 u0 h1 u1 || bail "create the uplink veth"
zh_track h1 "$INST"
check "attach" zh h1 attach --instance "$INST" --uplink u0 --underlay-ip 198.18.0.1 \
	--xdp-mode off
mk_tmpdir D || bail "temporary directory"

# --- no socket
out=$(zh h1 status --instance "$INST") || tap_fail "status"
expect_eq "text: agent not running" "$(grep -c '^  agent: not running$' <<<"$out")" 1
expect_eq "json: agent is null" "$(zh_json h1 "$INST" '.agent')" null
expect_eq "json: agent key present" "$(zh_json h1 "$INST" ' | has("agent")')" true

# --- a stale socket at the default path (what a killed agent leaves)
sock=/run/zerohop/agent-$INST.sock
if [ -e "$sock" ]; then
	bail "$sock exists already"
fi
mkdir -p /run/zerohop
ZH_TMPDIRS+=("$sock")
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock" ||
	bail "make a stale socket"
out=$(zh h1 status --instance "$INST")
expect_eq "text: stale default socket is not answering" \
	"$(grep '^  agent: ' <<<"$out")" "  agent: not answering ($sock: connect: Connection refused)"
expect_eq "json: agent.error" "$(zh_json h1 "$INST" '.agent.error')" "connect: Connection refused"
expect_eq "json: agent.socket" "$(zh_json h1 "$INST" '.agent.socket')" "$sock"
rm -f "$sock"

# --- a listener that accepts nothing: the client's 1 s timeout
mute=$D/mute.sock
"$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4)
time.sleep(20)' "$mute" &
ZH_PIDS+=("$!")
for _ in $(seq 50); do [ -S "$mute" ] && break; sleep 0.1; done
out=$(zh h1 status --instance "$INST" --agent-socket "$mute")
expect_eq "text: --agent-socket listener that never answers" \
	"$(grep '^  agent: ' <<<"$out")" "  agent: not answering ($mute: no answer within 1000 ms)"
expect_eq "json: --agent-socket error" \
	"$(zh h1 status --json --instance "$INST" --agent-socket "$mute" | jq -r '.instances[0].agent.error')" \
	"no answer within 1000 ms"

# --- usage
zh h1 status --agent-socket "$mute" >/dev/null 2>&1
expect_eq "--agent-socket without --instance is a usage error (exit 2)" "$?" 2

finish
