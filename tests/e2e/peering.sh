# SPDX-License-Identifier: GPL-2.0-only
# Helpers for the test_peering_*.sh files (issue 7's end-to-end tests):
# controller shards and zerohop-agents on the overlay.sh fabric, VMs in
# several networks, reachability probes (ICMP, TCP, UDP) and the matrix
# they must match. Source it after lib.sh, overlay.sh and etcd.sh:
#
#   pe_require
#   pe_fabric 2 h1 h2 h3 || bail ...     # fab, hosts, shards s1 s2 (etcd, auth on)
#   pe_vm a1 h1 a 10.1.0.11              # VM a1 of network a on h1 (port pa1)
#   pe_apply 1 FILE                      # zerohop apply on shard 1 (as root)
#   pe_ctl_start 1 a,b                   # zerohop-controller of shard 1
#   pe_agent_start h1 1                  # agent of h1, source shard 1
#   pe_matrix_check "matrix" a1 b1 ...   # every ordered pair, 3 protocols
#
# Shard S is namespace sS on the fabric at 198.18.0.20S with one etcd
# member eS (auth on: user root, and user "agent" whose role may only read
# /zerohop/v1/: the hosts' own credential). Passwords are files
# $PE_T/USER.pw (pe_pw). Controllers log to $PE_T/ctlS.log, agents to
# $PE_T/HOST.log (-v); every background process is bounded in time and
# stopped by lib.sh's EXIT trap.

PE_AGENT=${ZH_AGENT:-$(dirname "$ZH")/zerohop-agent}
PE_CTL=${ZHCTL:-$(dirname "$ZH")/zerohop-controller}
PE_R=/zerohop/v1
PE_T=""
PE_SHARDS=()
declare -A PE_EP=()                  # shard -> client URL
declare -A PE_CTL_PID=() PE_CTL_NETS=()
declare -A PE_APID=() PE_ASHARD=()   # host -> agent wrapper pid, shard
declare -A PE_VNI=()                 # network -> VNI
VMS=()                               # VM names in creation order
declare -A VM_NET=() VM_IP=() VM_HOST=() VM_MAC=()

# pe_require: root, tools, etcd, built binaries, or skip/fail the file.
pe_require() {
	require_root
	ov_require jq ping iperf3 tcpdump curl timeout
	etcd_require
	[ -x "$PE_AGENT" ] || { tap_fail "zerohop-agent binary $PE_AGENT is missing (run make)"; exit 1; }
	[ -x "$PE_CTL" ] || { tap_fail "zerohop-controller binary $PE_CTL is missing (run make)"; exit 1; }
	[ -n "$PE_T" ] || mk_tmpdir PE_T
}

# pe_pw USER...: a password file $PE_T/USER.pw for each USER.
pe_pw() {
	local u
	for u; do printf 'pw-%s-%s%s\n' "$u" "$RANDOM" "$RANDOM" >"$PE_T/$u.pw"; done
	chmod 600 "$PE_T"/*.pw
}

# pe_sctl SHARD ARGS...: etcdctl on a shard, as root once auth is on.
pe_sctl() {
	local s=$1; shift
	nsexec "s$s" timeout 30 "$ETCDCTL_BIN" --endpoints "${PE_EP[$s]}" --dial-timeout 2s \
		--command-timeout 10s ${PE_ROOT:+--user "$PE_ROOT"} "$@"
}

# pe_fabric NSHARDS HOST...: the fabric, the hosts (h1 -> 198.18.0.1) and
# NSHARDS shards, each with its etcd member and auth enabled.
pe_fabric() {
	local n=$1 s; shift
	ov_underlay "$@" || return 1
	pe_pw root agent
	PE_ROOT=""
	for s in $(seq 1 "$n"); do
		ov_host "s$s" "20$s" && etcd_start "s$s" "e$s" "198.18.0.20$s" || return 1
		PE_EP[$s]=$(etcd_url "e$s")
		PE_SHARDS+=("$s")
		pe_sctl "$s" user add "root:$(cat "$PE_T/root.pw")" --interactive=false >/dev/null &&
			pe_sctl "$s" role add agent-read >/dev/null &&
			pe_sctl "$s" role grant-permission agent-read --prefix=true read "$PE_R/" >/dev/null &&
			pe_sctl "$s" user add "agent:$(cat "$PE_T/agent.pw")" --interactive=false >/dev/null &&
			pe_sctl "$s" user grant-role agent agent-read >/dev/null &&
			pe_sctl "$s" auth enable >/dev/null 2>&1 || { echo "auth on shard $s" >&2; return 1; }
	done
	PE_ROOT="root:$(cat "$PE_T/root.pw")"
	ETCD_USER=$PE_ROOT   # etcd.sh's health checks (etcd_restart) authenticate
}

# pe_apply SHARD FILE: zerohop apply on the shard, as root; prints apply's line.
pe_apply() {
	nsexec "s$1" timeout 60 "$ZH" apply -f "$2" --etcd "${PE_EP[$1]}" --user root \
		--password-file "$PE_T/root.pw"
}

# pe_ctl_start SHARD NETS: the shard's zerohop-controller (at most 600 s).
pe_ctl_start() {
	PE_CTL_NETS[$1]=${2:-${PE_CTL_NETS[$1]}}
	bg_nsexec "PE_CTL_PID[$1]" "s$1" timeout 600 "$PE_CTL" --etcd "${PE_EP[$1]}" \
		--networks "${PE_CTL_NETS[$1]}" --user root --password-file "$PE_T/root.pw" \
		2>>"$PE_T/ctl$1.log"
}
# pe_ctl_stop SHARD [SIGNAL]: signal the controller (default TERM) and reap it.
pe_ctl_stop() {
	local pid
	pid=$(pgrep -P "${PE_CTL_PID[$1]}" | head -n 1)
	[ -n "$pid" ] && kill -s "${2:-TERM}" "$pid"
	wait "${PE_CTL_PID[$1]}" 2>/dev/null
}

# pe_agent_start HOST [SHARD]: HOST's agent (-v, at most 600 s) with source
# the shard's etcd and the "agent" credential; its instance is detached on exit.
pe_agent_start() {
	local h=$1 pid
	PE_ASHARD[$h]=${2:-${PE_ASHARD[$h]}}
	cat >"$PE_T/$h.json" <<EOF
{"instance": "$ZH_PFX-$h", "host": "$h", "uplink": "upl", "underlay_ip": "$(ov_uip "$h")",
 "source": "etcd:${PE_EP[${PE_ASHARD[$h]}]}", "etcd": {"user": "agent", "password_file": "$PE_T/agent.pw"},
 "metrics": "127.0.0.1:9465", "status_socket": "$PE_T/$h.sock"}
EOF
	zh_track "$h" "$ZH_PFX-$h"
	bg_nsexec pid "$h" timeout -s KILL 600 "$PE_AGENT" --config "$PE_T/$h.json" -v 2>>"$PE_T/$h.log"
	PE_APID[$h]=$pid
}
# pe_agent_pid HOST: the agent process (the child of its timeout wrapper).
pe_agent_pid() { pgrep -P "${PE_APID[$1]}" 2>/dev/null | head -n 1; }
# pe_agent_stop HOST [SIGNAL]: signal the agent (default TERM) and reap it.
pe_agent_stop() {
	local pid
	for _ in $(seq 50); do pid=$(pe_agent_pid "$1"); [ -z "$pid" ] || break; sleep 0.1; done
	[ -n "$pid" ] && kill -s "${2:-TERM}" "$pid"
	wait "${PE_APID[$1]}" 2>/dev/null
}

# pe_agent HOST FILTER: jq -r over the agent's status document.
pe_agent() {
	zh "$1" status --json --instance "$ZH_PFX-$1" --agent-socket "$PE_T/$1.sock" |
		jq -r ".instances[0].agent$2"
}
# pe_peer HOST NET PEER FIELD: a field of the agent's peering NET -> PEER.
pe_peer() { pe_agent "$1" " | .peers[]? | select(.network == \"$2\" and .peer == \"$3\") | .$4"; }
# pe_synced HOST: the agent is connected and has attached every port.
pe_synced() {
	[ "$(pe_agent "$1" ' | "\(.connected) \(.ports.attached == .ports.desired)"')" = "true true" ]
}

# pe_eps HOST: HOST's peer entries in zh_endpoints ("VNI IP HOST DEST_VNI",
# sorted, one line): entries that lead into another VNI.
pe_eps() {
	zh "$1" show endpoints --json --instance "$ZH_PFX-$1" |
		jq -r '.[] | select((.local | not) and .dest_vni != .vni) |
			"\(.vni) \(.ip) \(.host) \(.dest_vni)"' | LC_ALL=C sort | paste -sd' '
}
# pe_pols HOST: HOST's zh_policy ("VNI>PEER_VNI PREFIX PROTOCOLS", sorted, one line).
pe_pols() {
	zh "$1" show policies --json --instance "$ZH_PFX-$1" |
		jq -r '.[] | "\(.vni)>\(.peer_vni) \(.prefix) \(.protocols | join(","))"' |
		LC_ALL=C sort | paste -sd' '
}
# pe_rts HOST: HOST's zh_routes ("VNI PREFIX HOST DEST_VNI" or "VNI PREFIX drop").
pe_rts() {
	zh "$1" show routes --json --instance "$ZH_PFX-$1" |
		jq -r '.[] | "\(.vni) \(.prefix) " + (if .action == "drop" then "drop" else "\(.host) \(.dest_vni)" end)' |
		LC_ALL=C sort | paste -sd' '
}

# eventually DESC WANT SECONDS CMD...: CMD prints WANT within SECONDS
# (polled every 0.2 s); one TAP line, the last output on failure.
eventually() {
	local desc=$1 want=$2 t=$3 got; shift 3
	for _ in $(seq $((t * 5))); do
		got=$("$@" 2>&1)
		[ "$got" = "$want" ] && break
		sleep 0.2
	done
	expect_eq "$desc" "$got" "$want"
}
# wait_for DESC SECONDS CMD...: CMD succeeds within SECONDS; one TAP line.
wait_for() {
	local desc=$1 t=$2; shift 2
	for _ in $(seq $((t * 5))); do
		"$@" >/dev/null 2>&1 && { tap_ok "$desc"; return 0; }
		sleep 0.2
	done
	tap_fail "$desc (not within $t s)"
	return 1
}

# --- VMs -----------------------------------------------------------------------------

# pe_vm VM HOST NET IP: VM namespace VM on port "p"VM of HOST, in network
# NET (its VNI in PE_VNI), MAC 02:00:<VNI/100>:00:<IP's last two bytes>.
pe_vm() {
	local vm=$1 host=$2 net=$3 ip=$4 mac
	mac=$(printf '02:00:%02x:00:%02x:%02x' $((PE_VNI[$net] / 100 % 256)) \
		"$(cut -d. -f3 <<<"$ip")" "$(cut -d. -f4 <<<"$ip")")
	ov_vm "$vm" "$host" "p$vm" "$mac" "$ip/24" || return 1
	VMS+=("$vm")
	VM_NET[$vm]=$net VM_IP[$vm]=$ip VM_HOST[$vm]=$host VM_MAC[$vm]=$mac
}

# pe_ports_json HOST: the "ports" array of HOST's intent, from its VMs.
pe_ports_json() {
	local vm out=""
	for vm in "${VMS[@]}"; do
		[ "${VM_HOST[$vm]}" = "$1" ] || continue
		out+="${out:+, }{\"ifname\": \"p$vm\", \"network\": \"${VM_NET[$vm]}\", \"mac\": \"${VM_MAC[$vm]}\", \"ip\": \"${VM_IP[$vm]}\"}"
	done
	echo "[$out]"
}

# pe_listen VM...: a TCP listener (iperf3 -s, port 5201, at most 600 s) in
# each VM, waited until it listens.
pe_listen() {
	local vm pid
	for vm; do bg_nsexec pid "$vm" timeout 600 iperf3 -s -p 5201 >/dev/null 2>&1; done
	for vm; do
		for _ in $(seq 50); do
			nsexec "$vm" ss -Hltn 'sport = :5201' | grep -q . && break
			sleep 0.1
		done
	done
}

# --- probes ------------------------------------------------------------------------------

# pe_probe SRC DST: ICMP, TCP and UDP from VM SRC to VM DST; prints
# "ICMP TCP UDP_SENT": ICMP "yes" when both of 2 pings are answered, "no"
# when none is, else "partial"; TCP "yes" when a connection to DST's
# listener is set up within 3 s, else "no"; UDP_SENT "sent" once 2
# datagrams to DST:40123 went out (pe_udp_seen says whether they arrived).
pe_probe() {
	local src=$1 dst=${VM_IP[$2]} out rx icmp tcp
	out=$(nsexec "$src" ping -n -q -c 2 -i 0.3 -W 2 -w 3 "$dst" 2>&1)
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
	case "$rx" in 2) icmp=yes ;; 0) icmp=no ;; *) icmp=partial ;; esac
	if nsexec "$src" timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/5201"' _ "$dst" 2>/dev/null; then
		tcp=yes
	else
		tcp=no
	fi
	# Two sockets: after the first datagram an ICMP port unreachable may
	# come back, and a second write on the same socket would fail.
	nsexec "$src" bash -c 'printf 1 >"/dev/udp/$1/40123"; sleep 0.1; printf 2 >"/dev/udp/$1/40123"' \
		_ "$dst" 2>/dev/null
	echo "$icmp $tcp sent"
}

# pe_udp_capture VM...: tcpdump on each VM's eth0 for UDP to port 40123 (at
# most 60 s), output in $PE_T/udp.VM; returns once all listen.
pe_udp_capture() {
	local vm f
	for vm; do
		f=$PE_T/udp.$vm
		: >"$f"
		bg_nsexec "PE_UDP_PID[$vm]" "$vm" timeout 60 tcpdump -nn -q -l -i eth0 'udp and dst port 40123' >"$f" 2>&1
	done
	for vm; do
		for _ in $(seq 50); do grep -q "listening on" "$PE_T/udp.$vm" && break; sleep 0.1; done
	done
}
declare -A PE_UDP_PID=()
pe_udp_capture_stop() {
	local vm
	sleep 0.5
	for vm in "${!PE_UDP_PID[@]}"; do kill "${PE_UDP_PID[$vm]}" 2>/dev/null; wait "${PE_UDP_PID[$vm]}" 2>/dev/null; done
	PE_UDP_PID=()
}
# pe_udp_seen SRC DST: "yes" when DST's capture has both datagrams from
# SRC, "no" when none, else "partial".
pe_udp_seen() {
	local n
	n=$(grep -c "IP ${VM_IP[$1]}\.[0-9]* > ${VM_IP[$2]}\.40123: UDP" "$PE_T/udp.$2")
	case "$n" in 2) echo yes ;; 0) echo no ;; *) echo partial ;; esac
}

# --- what the policies allow ----------------------------------------------------------------

# PE_PEERED: "x:y" for each pair of networks whose peering is active (both
# records). PE_GRANT["x>y"]: what x grants y: "PREFIX,... PROTO,..." (the
# resolved prefixes; protocols "any" for every protocol).
PE_PEERED=""
declare -A PE_GRANT=()

_pe_ip2n() { local a b c d; IFS=. read -r a b c d <<<"$1"; echo $(((a << 24) | (b << 16) | (c << 8) | d)); }
# _pe_in_prefixes IP PREFIX,...: IP lies in one of the prefixes.
_pe_in_prefixes() {
	local ip p len net mask
	ip=$(_pe_ip2n "$1")
	for p in ${2//,/ }; do
		len=${p#*/} net=$(_pe_ip2n "${p%/*}")
		mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
		[ $((ip & mask)) = $((net & mask)) ] && return 0
	done
	return 1
}
_pe_peered() { [[ " $PE_PEERED " == *" $1:$2 "* || " $PE_PEERED " == *" $2:$1 "* ]]; }

# pe_allowed SRC DST PROTO: the policies let PROTO from VM SRC reach VM
# DST: same network, or an active peering where DST's network grants
# SRC's network DST's address for PROTO (the sender's check and the
# receiver's), and SRC's network grants DST's network SRC's address (the
# receiving host's reverse-path check needs that entry).
pe_allowed() {
	local x=${VM_NET[$1]} y=${VM_NET[$2]} g pfx protos
	[ "$x" = "$y" ] && return 0
	_pe_peered "$x" "$y" || return 1
	g=${PE_GRANT[$y>$x]}
	pfx=${g% *} protos=${g#* }
	_pe_in_prefixes "${VM_IP[$2]}" "$pfx" || return 1
	[ "$protos" = any ] || [[ ",$protos," == *",$3,"* ]] || return 1
	_pe_in_prefixes "${VM_IP[$1]}" "${PE_GRANT[$x>$y]% *}"
}
_pe_yn() { if "$@"; then echo yes; else echo no; fi; }
# pe_expect SRC DST: "ICMP TCP UDP" expected: ICMP and TCP need both
# directions (echo and reply, SYN and SYN-ACK), UDP one.
pe_expect() {
	local icmp=no tcp=no
	pe_allowed "$1" "$2" icmp && pe_allowed "$2" "$1" icmp && icmp=yes
	pe_allowed "$1" "$2" tcp && pe_allowed "$2" "$1" tcp && tcp=yes
	echo "$icmp $tcp $(_pe_yn pe_allowed "$1" "$2" udp)"
}

# pe_matrix_check DESC VM...: ICMP, TCP and UDP between every ordered pair
# of the VMs (probes run in parallel), the whole matrix (expected > got) in
# the diagnostics, then one TAP line per pair comparing with pe_expect.
pe_matrix_check() {
	local desc=$1 src dst pids=() want got line cell icmp tcp ok=0 results=(); shift
	local vms=("$@")
	pe_udp_capture "${vms[@]}"
	for src in "${vms[@]}"; do
		for dst in "${vms[@]}"; do
			[ "$src" != "$dst" ] || continue
			pe_probe "$src" "$dst" >"$PE_T/probe.$src.$dst" &
			pids+=("$!")
		done
	done
	wait "${pids[@]}"
	pe_udp_capture_stop
	diag "$desc: ICMP/TCP/UDP from the row's VM to the column's, expected > got (x: they differ)"
	line=$(printf '%-6s' "")
	for dst in "${vms[@]}"; do line+=$(printf ' %-13s' "$dst"); done
	diag "$line"
	for src in "${vms[@]}"; do
		line=$(printf '%-6s' "$src")
		for dst in "${vms[@]}"; do
			if [ "$src" = "$dst" ]; then line+=$(printf ' %-13s' "."); continue; fi
			want=$(pe_expect "$src" "$dst")
			read -r icmp tcp _ <"$PE_T/probe.$src.$dst"
			got="$icmp $tcp $(pe_udp_seen "$src" "$dst")"
			cell="$(_pe_cell "$want")>$(_pe_cell "$got")"
			[ "$want" = "$got" ] && ok=$((ok + 1)) || cell+=" x"
			line+=$(printf ' %-13s' "$cell")
			results+=("$src|$dst|$want|$got")
		done
		diag "$line"
	done
	diag "$desc: $ok of ${#results[@]} pairs as expected"
	for line in "${results[@]}"; do
		IFS='|' read -r src dst want got <<<"$line"
		cell="$desc: $src (${VM_NET[$src]} ${VM_IP[$src]}) -> $dst (${VM_NET[$dst]} ${VM_IP[$dst]}): $(_pe_words "$want")"
		if [ "$want" = "$got" ]; then tap_ok "$cell"
		else tap_fail "$cell"; diag "got $(_pe_words "$got")"; fi
	done
}
# _pe_cell "yes no yes" -> "I-U"; partial -> "?".
_pe_cell() {
	local a b c
	read -r a b c <<<"$1"
	printf '%s%s%s' "$(_pe_c "$a" I)" "$(_pe_c "$b" T)" "$(_pe_c "$c" U)"
}
_pe_c() { case "$1" in yes) echo "$2" ;; no) echo - ;; *) echo '?' ;; esac; }
# _pe_words "yes no yes" -> "icmp yes, tcp no, udp yes"
_pe_words() { local a b c; read -r a b c <<<"$1"; echo "icmp $a, tcp $b, udp $c"; }

# --- streams counted exactly ---------------------------------------------------------------------

# pe_ping_stream NAME VM DST COUNT: COUNT pings 10 ms apart in the background
# (output $PE_T/ping.NAME). pe_ping_check DESC NAME COUNT: all answered.
declare -A PE_STREAM=()
pe_ping_stream() {
	bg_nsexec "PE_STREAM[$1]" "$2" ping -q -n -i 0.01 -c "$4" -W 1 -w $(($4 * 3 / 100 + 30)) \
		"${VM_IP[$3]}" >"$PE_T/ping.$1"
}
pe_ping_check() {
	local tx rx
	wait "${PE_STREAM[$2]}"
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$PE_T/ping.$2")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$PE_T/ping.$2")
	expect_eq "$1" "$tx sent, $rx received" "$3 sent, $3 received"
	[ "$rx" = "$3" ] || { sed 's/^/# /' "$PE_T/ping.$2"; pe_drops; }
}

# pe_udp_stream NAME CLIENT SERVER PORT COUNT PPS: COUNT UDP datagrams of 200
# bytes, PPS a second, with iperf3 in the background (at most 150 s).
# pe_udp_check DESC NAME COUNT: all sent, none lost (the server's count).
declare -A PE_USRV=() PE_UCLI=()
pe_udp_stream() {
	bg_nsexec "PE_USRV[$1]" "$3" timeout 150 iperf3 -s -1 -p "$4" >/dev/null 2>&1
	for _ in $(seq 50); do
		nsexec "$3" ss -Hltn "sport = :$4" | grep -q . && break
		sleep 0.1
	done
	bg_nsexec "PE_UCLI[$1]" "$2" timeout 150 iperf3 -c "${VM_IP[$3]}" -p "$4" -u -l 200 -w 1M \
		-b $(($6 * 1600)) -n $(($5 * 200)) --json >"$PE_T/udp-stream.$1" 2>&1
}
pe_udp_check() {
	local got
	wait "${PE_UCLI[$2]}"
	wait "${PE_USRV[$2]}" 2>/dev/null
	got=$(jq -r '.end.sum | "\(.packets) sent, \(.lost_packets) lost"' "$PE_T/udp-stream.$2" 2>/dev/null)
	expect_eq "$1" "$got" "$3 sent, 0 lost"
	[ "$got" = "$3 sent, 0 lost" ] || { tail -n 20 "$PE_T/udp-stream.$2" | sed 's/^/# /'; pe_drops; }
}

# pe_drops: the drop counters that are not 0 on every host with an agent.
pe_drops() {
	local h
	for h in "${!PE_APID[@]}"; do
		diag "$h: $(zh "$h" show stats --json --instance "$ZH_PFX-$h" |
			jq -r 'to_entries | map(select((.key | startswith("drop_")) and .value > 0) | "\(.key)=\(.value)") | join(" ")')"
	done
}

# bail (lib.sh's, plus the logs): a failed setup step ends the file.
bail() { tap_fail "$*"; [ -z "$PE_T" ] || pe_logs; finish; }

# pe_logs: the logs of every controller and agent as TAP comments (after a failure).
pe_logs() {
	local f
	for f in "$PE_T"/ctl*.log "$PE_T"/h*.log; do
		[ -f "$f" ] || continue
		diag "${f##*/}:"
		tail -n "${1:-40}" "$f" | sed 's/^/#   /'
	done
}
