# SPDX-License-Identifier: GPL-2.0-only
# Helpers for the test_agent_etcd*.sh files: zerohop-agents in host
# namespaces of the overlay.sh fabric, fed by a real etcd that runs in a
# namespace of its own on the same fabric. Source it after lib.sh,
# overlay.sh and etcd.sh:
#
#   ae_require
#   ae_fabric h1 h2 || bail ...          # fab, h1, h2, namespace "etcd" (198.18.0.201)
#   etcd_start etcd solo 198.18.0.201    # or etcd_cluster etcd ...
#   ov_vm vm1 h1 p1 02:00:00:00:00:11 10.0.0.11/24 ...
#   ae_intent "$AE_T/t.json" h1:p1:11 h2:p2:12
#   ae_apply "$AE_T/t.json"
#   ae_config h1; ae_start h1            # agent of h1 with source etcd:<every member>
#
# Topology spec (ae_intent, ae_want_eps): PORTSPEC is HOST:IFNAME:N[:NET]
# for a VM port (MAC 02:00:00:00:NN:NN... see ae_mac, address .N of NET's
# /24), EPSPEC is ep:HOST:N[:NET] for an endpoint record that is no port.
# NET is blue (VNI 100, 10.0.0.0/24, the default) or red (VNI 200,
# 10.1.0.0/24). Every agent writes its log to $AE_T/HOST.log, answers on
# $AE_T/HOST.sock and serves /metrics on 127.0.0.1:9465 of its namespace.

AGENT=${ZH_AGENT:-$(dirname "$ZH")/zerohop-agent}
AE_T=""
declare -A AE_APID=()    # host -> pid of the agent's timeout wrapper
declare -A AE_VNI=([blue]=100 [red]=200) AE_NET=([blue]=10.0.0 [red]=10.1.0)

# ae_require: root, tools, etcd and a built agent, or skip/fail the file.
ae_require() {
	require_root
	ov_require jq bpftool ping curl iperf3
	etcd_require
	[ -x "$AGENT" ] || { tap_fail "zerohop-agent binary $AGENT is missing (run make)"; exit 1; }
	[ -n "$AE_T" ] || mk_tmpdir AE_T
}

# ae_fabric HOST...: the overlay fabric with HOSTs, plus namespace "etcd"
# (uplink 198.18.0.201/24, more addresses may be added) for etcd members,
# zerohop apply and etcdctl.
ae_fabric() { ov_underlay "$@" && ov_host etcd 201; }

# ae_mac N [NET]: the MAC of endpoint N (blue 02:00:00:00:00:N, red 02:00:00:00:01:N).
ae_mac() { [ "${2:-blue}" = red ] && echo "02:00:00:00:01:$1" || echo "02:00:00:00:00:$1"; }
# ae_ip N [NET]
ae_ip() { echo "${AE_NET[${2:-blue}]}.$1"; }

# ae_vm VM HOST PORT N [NET]: VM namespace on PORT of HOST with address N.
ae_vm() { ov_vm "$1" "$2" "$3" "$(ae_mac "$4" "${5:-blue}")" "$(ae_ip "$4" "${5:-blue}")/24"; }

# ae_intent FILE SPEC...: an intent file for hosts h1..h3 (each serving
# both networks) with the given ports and endpoints.
ae_intent() {
	local file=$1 spec h kind host ifn n net ports eps net2 hosts="" nets=""; shift
	for net in blue red; do
		eps=""
		for spec; do
			IFS=: read -r kind host n net2 <<<"$spec"
			[ "$kind" = ep ] && [ "${net2:-blue}" = "$net" ] || continue
			eps+="${eps:+,}{\"ip\":\"$(ae_ip "$n" "$net")\",\"mac\":\"$(ae_mac "$n" "$net")\",\"host\":\"$host\"}"
		done
		nets+="${nets:+,}{\"name\":\"$net\",\"vni\":${AE_VNI[$net]},\"cidrs\":[\"${AE_NET[$net]}.0/24\"],\"endpoints\":[$eps]}"
	done
	for h in h1 h2 h3; do
		ports=""
		for spec; do
			IFS=: read -r host ifn n net <<<"$spec"
			[ "$host" = "$h" ] || continue
			net=${net:-blue}
			ports+="${ports:+,}{\"ifname\":\"$ifn\",\"network\":\"$net\",\"mac\":\"$(ae_mac "$n" "$net")\",\"ip\":\"$(ae_ip "$n" "$net")\"}"
		done
		hosts+="${hosts:+,}{\"name\":\"$h\",\"underlay\":\"$(ov_uip $h)\",\"networks\":[\"blue\",\"red\"],\"ports\":[$ports]}"
	done
	printf '{"version":"v1","networks":[%s],"hosts":[%s]}\n' "$nets" "$hosts" >"$file"
}

# ae_want_eps HOST SPEC...: the zh_endpoints HOST should hold for SPECs, one
# "VNI IP MAC port IFNAME" or "VNI IP MAC host UNDERLAY" line each, sorted
# (a network is programmed on a host that has a port in it).
ae_want_eps() {
	local me=$1 spec a b n net; shift
	declare -A active=()
	for spec; do
		IFS=: read -r a b n net <<<"$spec"
		[ "$a" = "$me" ] && active[${net:-blue}]=1
	done
	for spec; do
		IFS=: read -r a b n net <<<"$spec"
		net=${net:-blue}
		[ -n "${active[$net]:-}" ] || continue
		if [ "$a" = "$me" ]; then
			echo "${AE_VNI[$net]} $(ae_ip "$n" "$net") $(ae_mac "$n" "$net") port $b"
		elif [ "$a" = ep ]; then
			[ "$b" = "$me" ] || echo "${AE_VNI[$net]} $(ae_ip "$n" "$net") $(ae_mac "$n" "$net") host $(ov_uip "$b")"
		else
			echo "${AE_VNI[$net]} $(ae_ip "$n" "$net") $(ae_mac "$n" "$net") host $(ov_uip "$a")"
		fi
	done | LC_ALL=C sort
}

# ae_eps HOST: HOST's zh_endpoints as ae_want_eps prints them, from
# `zerohop show endpoints --json`.
ae_eps() {
	zh "$1" show endpoints --json --instance "$ZH_PFX-$1" | jq -r '.[] |
		"\(.vni) \(.ip) \(.mac) " + (if .local then "port \(.port)" else "host \(.host)" end)' |
		LC_ALL=C sort
}

# ae_ep HOST IP [VNI]: where HOST's zh_endpoints puts IP (read with
# bpftool): "local", the remote host's address, or nothing.
ae_ep() {
	bpftool -j map dump pinned "$ZH_PINS/$ZH_PFX-$1/zh_endpoints" |
		jq -r --arg ip "$2" --argjson vni "${3:-100}" '.[].formatted |
		select(.key.vni == $vni and (.key[""].ip_octets | join(".")) == $ip) |
		if .value.ifindex != 0 then "local" else (.value[""].host_ip_octets | join(".")) end'
}
ae_ep_is() { [ "$(ae_ep "$1" "$2" "${4:-100}")" = "$3" ]; }
ae_ep_gone() { [ -z "$(ae_ep "$1" "$2" "${3:-100}")" ]; }

# ae_apply FILE [APPLY OPTIONS...]: zerohop apply in namespace etcd against
# every live member; prints apply's summary line.
ae_apply() {
	local f=$1 n live=(); shift
	for n in "${ETCD_MEMBERS[@]}"; do ! etcd_alive "$n" || live+=("$n"); done
	nsexec etcd timeout 60 "$ZH" apply -f "$f" --etcd "$(etcd_endpoints "${live[@]}")" "$@"
}

# ae_del_port HOST IFNAME N [NET]: etcdctl deletes the port record and its
# endpoint record (what `zerohop apply` wrote for the port).
ae_del_port() {
	local net=${4:-blue}
	etcd_ctl del "/zerohop/v1/hosts/$1/ports/$2" >/dev/null &&
		etcd_ctl del "/zerohop/v1/networks/$net/endpoints/$(ae_ip "$3" "$net")" >/dev/null
}

# ae_config HOST [SOURCE]: write HOST's agent config (default source: etcd
# with every member's URL) and detach its instance on exit.
ae_config() {
	local h=$1 src=${2:-etcd:$(etcd_endpoints)}
	cat >"$AE_T/$h.json" <<EOF
{"instance": "$ZH_PFX-$h", "host": "$h", "uplink": "upl", "underlay_ip": "$(ov_uip "$h")",
 "source": "$src", "metrics": "127.0.0.1:9465", "status_socket": "$AE_T/$h.sock"}
EOF
	zh_track "$h" "$ZH_PFX-$h"
}

# ae_start HOST: start HOST's agent (-v, at most 300 s), appending to its log.
ae_start() {
	local pid
	bg_nsexec pid "$1" timeout -s KILL 300 "$AGENT" --config "$AE_T/$1.json" -v 2>>"$AE_T/$1.log"
	AE_APID[$1]=$pid
}

# ae_pid HOST: the agent process (the child of its timeout wrapper).
ae_pid() { pgrep -P "${AE_APID[$1]}" 2>/dev/null | head -n 1; }

# ae_stop HOST [SIGNAL]: signal HOST's agent (default TERM) and reap it;
# the agent's exit status (137 for KILL).
ae_stop() {
	local pid i
	for i in $(seq 50); do pid=$(ae_pid "$1"); [ -z "$pid" ] || break; sleep 0.1; done
	[ -n "$pid" ] && kill -s "${2:-TERM}" "$pid"
	wait "${AE_APID[$1]}" 2>/dev/null
}

# ae_json HOST FILTER: jq -r over the agent's status document (from
# `zerohop status --json`).
ae_json() {
	zh "$1" status --json --instance "$ZH_PFX-$1" --agent-socket "$AE_T/$1.sock" |
		jq -r ".instances[0].agent$2"
}

# ae_synced HOST [PORTS]: HOST's agent is connected and has PORTS (default:
# all desired) ports attached.
ae_synced() {
	local s c d a
	s=$(ae_json "$1" ' | "\(.connected) \(.ports.desired) \(.ports.attached)"') || return 1
	read -r c d a <<<"$s"
	[ "$c" = true ] && [ "$a" = "${2:-$d}" ] && [ "$d" = "$a" ]
}

# ae_metrics HOST: the agent's /metrics.
ae_metrics() { nsexec "$1" curl -s -m 5 "http://127.0.0.1:9465/metrics"; }
# ae_metric HOST SAMPLE: the value of one sample line (name with labels).
ae_metric() { ae_metrics "$1" | awk -v s="$2" '$1 == s { print $2 }'; }

# wait_until DESC SECONDS CMD...: CMD succeeds within SECONDS (polled every
# 0.2 s); one TAP line either way.
wait_until() {
	local desc=$1 t=$2; shift 2
	for _ in $(seq $((t * 5))); do
		"$@" >/dev/null 2>&1 && { tap_ok "$desc"; return 0; }
		sleep 0.2
	done
	tap_fail "$desc (not within $t s)"
	return 1
}

# ae_stream VAR VM DST COUNT: a bounded ping stream (COUNT pings 10 ms apart)
# in the background, its output in $AE_T/stream.VM; pid in VAR.
ae_stream() {
	local deadline=$(($4 * 3 / 100 + 30))
	bg_nsexec "$1" "$2" ping -q -n -i 0.01 -c "$4" -W 1 -w "$deadline" "$3" >"$AE_T/stream.$2"
}

# ae_stream_check DESC PID VM COUNT: wait for the stream; every one of COUNT
# pings sent and answered.
ae_stream_check() {
	local desc=$1 tx rx
	wait "$2"
	tx=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$AE_T/stream.$3")
	rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$AE_T/stream.$3")
	expect_eq "$desc" "$tx sent, $rx received" "$4 sent, $4 received"
	[ "$rx" = "$4" ] || sed 's/^/# /' "$AE_T/stream.$3"
}

# ae_udp_start CLIENT_VM SERVER_VM SERVER_IP COUNT PPS: COUNT UDP datagrams
# of 200 bytes, PPS a second, through iperf3 in the background (at most
# 120 s). ae_udp_check DESC COUNT: wait for it; all COUNT sent and none
# lost (the server's count, which the client reports at the end).
ae_udp_start() {
	bg_nsexec AE_UDP_SRV "$2" timeout 120 iperf3 -s -1 -p 5202 >/dev/null 2>&1
	for _ in $(seq 50); do
		nsexec "$2" ss -Hltn 'sport = :5202' | grep -q . && break
		sleep 0.1
	done
	bg_nsexec AE_UDP_CLI "$1" timeout 120 iperf3 -c "$3" -p 5202 -u -l 200 -w 1M \
		-b $(($5 * 1600)) -n $(($4 * 200)) --json >"$AE_T/udp.json" 2>&1
}
ae_udp_check() {
	local desc=$1 got
	wait "$AE_UDP_CLI"
	wait "$AE_UDP_SRV" 2>/dev/null
	got=$(jq -r '.end.sum | "\(.packets) sent, \(.lost_packets) lost"' "$AE_T/udp.json" 2>/dev/null)
	expect_eq "$desc" "$got" "$2 sent, 0 lost"
	[ "$got" = "$2 sent, 0 lost" ] || tail -n 20 "$AE_T/udp.json" | sed 's/^/# /'
}

# ae_log_tail HOST: the last lines of HOST's agent log as TAP comments.
ae_log_tail() { tail -n "${2:-15}" "$AE_T/$1.log" | sed "s/^/# $1: /"; }

# ae_etcd_peers HOST: the etcd client URLs HOST's agent has TCP connections
# to (established, read with ss), one per line. (The agent's "connected to"
# log line is not used: it names the client's current endpoint, which is
# not always the one a subscription uses.)
ae_etcd_peers() {
	local n peer
	declare -A url_of=()
	for n in "${ETCD_MEMBERS[@]}"; do url_of[${ETCD_ADDR[$n]}:${ETCD_CPORT[$n]}]=$(etcd_url "$n"); done
	nsexec "$1" ss -Htn state established | awk '{ print $4 }' | sort -u |
		while read -r peer; do [ -z "${url_of[$peer]:-}" ] || echo "${url_of[$peer]}"; done
}
