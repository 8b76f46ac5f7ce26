#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 7, "limited information": what a host of network a pulls from the
# shard of its peer b is b's view for a, nothing more, however large b is.
#
#   shard 1 (s1): a (VNI 100, 10.1.0.0/24), VM a1 on h1
#   shard 2 (s2): b (VNI 200, 10.2.0.0/16) with 2000 endpoints: VM b1
#                 (10.2.0.5) on h2, 9 more endpoint records in 10.2.0.0/28
#                 and 1990 outside it (on a host "hx" that runs nothing), 1
#                 route inside the /28 and 20 outside
#   b grants a "ten" (10.2.0.0/28: 10 endpoints, 1 route); a grants b all
#
# The agent has no per-peer byte or key counters, so the test measures on
# the wire: tcpdump on h1's uplink records every TCP segment between h1 and
# shard 2's etcd from before h1's agent starts until it has programmed b's
# view, and the HTTP responses (etcd's JSON gateway, which the agent
# speaks) are reassembled and decoded: every key they carry is listed.
# Checked: the keys are exactly b's peering record for a and the view
# published/b/ten/ (meta, 10 endpoints, 1 route), each read once; the bytes
# received are a small fraction of what b's records weigh; h1 programs the
# 10 endpoints and nothing else of b; a1 reaches b1 and not an endpoint
# outside the view.
#
# The same on one shard: network c (VNI 300, 10.3.0.0/16) joins a on shard
# 1 with 2000 endpoints and grants a "few" (10.3.0.0/28: 10 endpoints).
# h1's agent, restarted under a capture of its traffic with shard 1, reads
# a's and h1's own records, c's peering record for a and the view
# published/c/few/, and no other key of c: the etcd source lists only the
# networks the host serves, not all of networks/. Then h1's host record
# lists c too (h1 subscribes and reads all of c) and no longer (h1 drops
# c), and b's and c's views stay programmed throughout.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/overlay.sh"
. "$(dirname "$0")/etcd.sh"
. "$(dirname "$0")/peering.sh"
pe_require
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "needs $PY (decodes the capture)"

PE_VNI=([a]=100 [b]=200)
pe_fabric 2 h1 h2 || bail "fabric, hosts and two shards with auth"
pe_vm a1 h1 a 10.1.0.11 && pe_vm b1 h2 b 10.2.0.5 || bail "the VMs"
pe_pw a-at-b b-at-a
T=$PE_T EP1=${PE_EP[1]} EP2=${PE_EP[2]} R=$PE_R

# b's endpoints: 10.2.0.1-10 (b1 is .5) inside the export, 1990 outside.
eps="" n=0
for i in $(seq 1 10); do
	[ "$i" = 5 ] && continue
	eps+="{\"ip\": \"10.2.0.$i\", \"mac\": \"$(printf '02:00:02:00:00:%02x' "$i")\", \"host\": \"hx\"},"
done
for i in $(seq 0 1989); do
	eps+="{\"ip\": \"10.2.$((1 + i / 250)).$((1 + i % 250))\", \"mac\": \"$(printf '02:00:02:01:%02x:%02x' $((i / 256)) $((i % 256)))\", \"host\": \"hx\"},"
done
routes="{\"prefix\": \"10.2.0.12/30\", \"host\": \"h2\"}"
for i in $(seq 1 20); do routes+=", {\"prefix\": \"10.2.$((100 + i)).0/24\", \"host\": \"hx\"}"; done
cat >"$T/s1.json" <<EOF
{"version": "v1",
 "networks": [{"name": "a", "vni": 100, "cidrs": ["10.1.0.0/24"], "exports": [{"name": "all"}],
   "peerings": [{"peer": "b", "grant": "all", "peer_shard": ["$EP2"],
                 "user": "a-at-b", "password_file": "$T/a-at-b.pw",
                 "peer_user": "b-at-a", "peer_password_file": "$T/b-at-a.pw"}]}],
 "hosts": [{"name": "h1", "underlay": "198.18.0.1", "networks": ["a"], "ports": $(pe_ports_json h1)}]}
EOF
cat >"$T/s2.json" <<EOF
{"version": "v1",
 "networks": [{"name": "b", "vni": 200, "cidrs": ["10.2.0.0/16"],
   "endpoints": [${eps%,}], "routes": [$routes],
   "exports": [{"name": "ten", "prefixes": ["10.2.0.0/28"]}, {"name": "all"}],
   "peerings": [{"peer": "a", "grant": "ten", "peer_shard": ["$EP1"],
                 "user": "b-at-a", "password_file": "$T/b-at-a.pw",
                 "peer_user": "a-at-b", "peer_password_file": "$T/a-at-b.pw"}]}],
 "hosts": [{"name": "h2", "underlay": "198.18.0.2", "networks": ["b"], "ports": $(pe_ports_json h2)},
           {"name": "hx", "underlay": "198.18.0.9"}]}
EOF
out=$(pe_apply 1 "$T/s1.json" 2>&1) || bail "apply shard 1: $out"
out=$(pe_apply 2 "$T/s2.json" 2>&1) || bail "apply shard 2: $out"
diag "shard 2: $out"
expect_eq "b has 2000 endpoints on shard 2" \
	"$(pe_sctl 2 get --prefix --keys-only "$R/networks/b/endpoints/" | sed '/^$/d' | wc -l)" 2000
pe_ctl_start 1 a
pe_ctl_start 2 b
pe_agent_start h2 2

# What the view should be, before h1's agent starts: then h1 reads it once.
view() { pe_sctl 2 get --prefix --keys-only "$R/published/b/ten/" | sed '/^$/d' | LC_ALL=C sort; }
WANT_VIEW=$(printf '%s\n' "$R/published/b/ten/meta" "$R/published/b/ten/routes/10.2.0.12/30" \
	$(for i in 1 10 2 3 4 5 6 7 8 9; do echo "$R/published/b/ten/endpoints/10.2.0.$i"; done) | LC_ALL=C sort)
eventually "b's controller publishes the view 'ten': meta, 10 endpoints, 1 route" "$WANT_VIEW" 60 view
wait_for "b's controller keeps the user a's hosts read b's shard as" 30 pe_sctl 2 user get a-at-b
effkeys() { pe_sctl 1 get --prefix --keys-only "$R/effective/a/routes/" | sed '/^$/d'; }
eventually "a's effective routes hold b's route inside the view only" "$R/effective/a/routes/10.2.0.12/30" 30 effkeys

# --- h1's agent starts under a capture of everything between h1 and shard 2 --------------------

PORT2=${EP2##*:}
bg_nsexec CAP h1 timeout 120 tcpdump -U -nn -i upl -s 0 -w "$T/h1-s2.pcap" \
	"tcp and host 198.18.0.202 and port $PORT2" 2>"$T/tcpdump.log"
for _ in $(seq 50); do grep -q "listening on" "$T/tcpdump.log" && break; sleep 0.1; done
pe_agent_start h1 1
wait_for "h1: the agent is connected and attached its port" 30 pe_synced h1
eventually "h1: peer b active with the view's 10 endpoints" "active 10" 60 \
	pe_agent h1 ' | .peers[] | select(.peer == "b") | "\(.state) \(.endpoints)"'
sleep 2
kill "$CAP"; wait "$CAP" 2>/dev/null

# decode PCAP SERVER_IP SERVER_PORT: reassemble the server's side of every
# TCP connection, parse the HTTP/1.1 responses (Content-Length or chunked;
# an open watch stream ends the capture mid-response), and print
# "bytes N" (TCP payload received from the server), "responses N", then
# every key of every "key" field of the JSON bodies, base64-decoded.
decode() {
	"$PY" - "$@" <<'EOF'
import base64, re, struct, sys
path, sip, sport = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()
magic = struct.unpack("<I", data[:4])[0]
endian = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
off, streams = 24, {}
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
    pkt, off = data[off + 16:off + 16 + incl], off + 16 + incl
    if len(pkt) < 34 or pkt[12:14] != b"\x08\x00" or pkt[23] != 6:
        continue
    ihl, tot = (pkt[14] & 15) * 4, struct.unpack(">H", pkt[16:18])[0]
    src, dst = ".".join(map(str, pkt[26:30])), ".".join(map(str, pkt[30:34]))
    tcp = pkt[14 + ihl:14 + tot]
    sp, dp, seq = struct.unpack(">HHI", tcp[:8])
    flags, payload = tcp[13], tcp[(tcp[12] >> 4) * 4:]
    if src != sip or sp != sport:
        continue
    s = streams.setdefault(dp, {"isn": None, "segs": {}})
    if flags & 0x02:
        s["isn"] = seq + 1
    if payload:
        s["segs"][seq] = payload
total, responses, keys = 0, 0, []
for s in streams.values():
    if s["isn"] is None:
        continue
    buf, nxt = b"", s["isn"]
    for seq in sorted(s["segs"], key=lambda q: (q - s["isn"]) % 2**32):
        p = s["segs"][seq]
        rel = (seq - nxt) % 2**32
        if rel > 2**31:                  # overlaps what we have (retransmission)
            p = p[(nxt - seq) % 2**32:]
        elif rel:                        # a hole: stop at it
            break
        buf, nxt = buf + p, (nxt + len(p)) % 2**32
    total += len(buf)
    while buf:
        head, sep, rest = buf.partition(b"\r\n\r\n")
        if not sep:
            break
        responses += 1
        hdrs = head.decode("latin-1").lower()
        body = b""
        m = re.search(r"content-length: *(\d+)", hdrs)
        if m:
            n = int(m.group(1))
            body, buf = rest[:n], rest[n:]
        elif "chunked" in hdrs:
            buf = b""
            while True:
                line, sep, rest = rest.partition(b"\r\n")
                if not sep or not line.strip():
                    break
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    buf = rest[2:]
                    break
                body, rest = body + rest[:n], rest[n + 2:]
        else:
            body, buf = rest, b""
        for k in re.findall(rb'"key":"([A-Za-z0-9+/=]*)"', body):
            keys.append(base64.b64decode(k).decode())
print("bytes", total)
print("responses", responses)
for k in keys:
    print(k)
EOF
}
out=$(decode "$T/h1-s2.pcap" 198.18.0.202 "$PORT2" 2>&1)
check "the capture decodes" grep -q "^bytes [0-9]" <<<"$out"
bytes=$(sed -n 's/^bytes //p' <<<"$out")
keys=$(grep "^/" <<<"$out")
WANT_KEYS=$(printf '%s\n' "$R/networks/b/peerings/a" "$WANT_VIEW" | LC_ALL=C sort)
diag "h1 received $bytes bytes in $(sed -n 's/^responses //p' <<<"$out") HTTP responses from shard 2, carrying $(wc -l <<<"$keys") keys"
expect_eq "the keys h1 read from shard 2: b's peering record for a and the view, nothing else" \
	"$(LC_ALL=C sort -u <<<"$keys")" "$WANT_KEYS"
expect_eq "each of them once: 13 keys read" "$(wc -l <<<"$keys")" 13
full=$(pe_sctl 2 get --prefix "$R/networks/b/" -w json | wc -c)
diag "b's records on shard 2 (etcdctl get --prefix networks/b/ -w json, base64 as the gateway sends): $full bytes"
check "h1 received less than a twentieth of b's records ($bytes of $full bytes)" test $((bytes * 20)) -lt "$full"
check "h1 received less than 32 KB from shard 2 ($bytes bytes)" test "$bytes" -lt 32768

# --- what h1 programs of b, and the traffic --------------------------------------------------

expect_eq "h1's zh_endpoints holds b's 10 exported endpoints with b's VNI, nothing else of b" \
	"$(zh h1 show endpoints --json --instance "$ZH_PFX-h1" |
		jq -r '[.[] | select(.dest_vni == 200) | .ip] | sort | join(" ")')" \
	"$(jq -rn '[range(1; 11) | "10.2.0.\(.)"] | sort | join(" ")')"
expect_eq "h1's zh_routes holds b's route inside the view only" "$(pe_rts h1)" "100 10.2.0.12/30 198.18.0.2 200"
pe_listen b1
reverse() {
	zh h2 show endpoints --json --instance "$ZH_PFX-h2" |
		jq -r '.[] | select(.vni == 200 and .ip == "10.1.0.11") | "\(.host) \(.dest_vni)"'
}
eventually "h2 has the reverse entry of a1 (a's view for b)" "198.18.0.1 100" 30 reverse
ov_ping "a1 reaches b1 (inside the view)" a1 10.2.0.5
check "a1 connects to b1 over TCP" nsexec a1 timeout 5 bash -c 'exec 3<>/dev/tcp/10.2.0.5/5201'
ov_mark h1 "$ZH_PFX-h1"
ov_noping "a1 does not reach 10.2.1.7 (an endpoint of b outside the view)" a1 10.2.1.7
expect_grows "h1 has no route for it (drop_no_route)" h1 "$ZH_PFX-h1" drop_no_route 2

# --- the same shard: a's peer c lives on shard 1 too -----------------------------------------

PE_VNI[c]=300
ceps=""
for i in $(seq 1 10); do
	ceps+="{\"ip\": \"10.3.0.$i\", \"mac\": \"$(printf '02:00:03:00:00:%02x' "$i")\", \"host\": \"hx\"},"
done
for i in $(seq 0 1989); do
	ceps+="{\"ip\": \"10.3.$((1 + i / 250)).$((1 + i % 250))\", \"mac\": \"$(printf '02:00:03:01:%02x:%02x' $((i / 256)) $((i % 256)))\", \"host\": \"hx\"},"
done
cat >"$T/s1c.json" <<EOF
{"version": "v1",
 "networks": [{"name": "a", "vni": 100, "cidrs": ["10.1.0.0/24"], "exports": [{"name": "all"}],
   "peerings": [{"peer": "b", "grant": "all", "peer_shard": ["$EP2"],
                 "user": "a-at-b", "password_file": "$T/a-at-b.pw",
                 "peer_user": "b-at-a", "peer_password_file": "$T/b-at-a.pw"},
                {"peer": "c", "grant": "all"}]},
  {"name": "c", "vni": 300, "cidrs": ["10.3.0.0/16"], "endpoints": [${ceps%,}],
   "exports": [{"name": "few", "prefixes": ["10.3.0.0/28"]}, {"name": "all"}],
   "peerings": [{"peer": "a", "grant": "few"}]}],
 "hosts": [{"name": "h1", "underlay": "198.18.0.1", "networks": ["a"], "ports": $(pe_ports_json h1)},
           {"name": "hx", "underlay": "198.18.0.9"}]}
EOF
pe_agent_stop h1
pe_ctl_stop 1
out=$(pe_apply 1 "$T/s1c.json" 2>&1) || bail "apply shard 1 with c: $out"
diag "shard 1: $out"
expect_eq "c has 2000 endpoints on shard 1, a's shard" \
	"$(pe_sctl 1 get --prefix --keys-only "$R/networks/c/endpoints/" | sed '/^$/d' | wc -l)" 2000
pe_ctl_start 1 a,c
cview() { pe_sctl 1 get --prefix --keys-only "$R/published/c/few/" | sed '/^$/d' | LC_ALL=C sort; }
WANT_CVIEW=$(printf '%s\n' "$R/published/c/few/meta" \
	$(for i in $(seq 1 10); do echo "$R/published/c/few/endpoints/10.3.0.$i"; done) | LC_ALL=C sort)
eventually "shard 1's controller publishes c's view 'few': meta, 10 endpoints" "$WANT_CVIEW" 60 cview

PORT1=${EP1##*:}
bg_nsexec CAP h1 timeout 120 tcpdump -U -nn -i upl -s 0 -w "$T/h1-s1.pcap" \
	"tcp and host 198.18.0.201 and port $PORT1" 2>"$T/tcpdump1.log"
for _ in $(seq 50); do grep -q "listening on" "$T/tcpdump1.log" && break; sleep 0.1; done
pe_agent_start h1 1
wait_for "h1: the agent restarted, connected and attached its port" 30 pe_synced h1
eventually "h1: peer c (same shard) active with the view's 10 endpoints" "active 10" 60 \
	pe_agent h1 ' | .peers[] | select(.peer == "c") | "\(.state) \(.endpoints)"'
eventually "h1: peer b active with its view's 10 endpoints" "active 10" 60 \
	pe_agent h1 ' | .peers[] | select(.peer == "b") | "\(.state) \(.endpoints)"'
sleep 2
kill "$CAP"; wait "$CAP" 2>/dev/null

out=$(decode "$T/h1-s1.pcap" 198.18.0.201 "$PORT1" 2>&1)
check "the capture of shard 1 decodes" grep -q "^bytes [0-9]" <<<"$out"
bytes=$(sed -n 's/^bytes //p' <<<"$out")
keys=$(grep "^/" <<<"$out")
diag "h1 received $bytes bytes in $(sed -n 's/^responses //p' <<<"$out") HTTP responses from shard 1, carrying $(wc -l <<<"$keys") keys"
check "h1 read its network's record from shard 1" grep -qx "$R/networks/a" <<<"$keys"
check "h1 read its port from shard 1" grep -q "^$R/hosts/h1/ports/" <<<"$keys"
expect_eq "the keys of c h1 read: c's peering record for a and c's view 'few', nothing else" \
	"$(grep -E "^$R/(networks|published|effective)/c(/|\$)" <<<"$keys" | LC_ALL=C sort -u)" \
	"$(printf '%s\n' "$R/networks/c/peerings/a" "$WANT_CVIEW" | LC_ALL=C sort)"
expect_eq "h1 read none of c's 2000 endpoint records" \
	"$(grep -c "^$R/networks/c/endpoints/" <<<"$keys")" 0
expect_eq "every key h1 read from shard 1 is a's, h1's, or c's record for a and view" \
	"$(grep -vE "^$R/(networks/a|networks/a/.*|effective/a/.*|hosts/h1|hosts/h1/.*|networks/c/peerings/a|published/c/few/.*)\$" <<<"$keys")" ""
cfull=$(pe_sctl 1 get --prefix "$R/networks/c/" -w json | wc -c)
diag "c's records on shard 1 (etcdctl get --prefix networks/c/ -w json): $cfull bytes"
check "h1 received less than a tenth of c's records from shard 1 ($bytes of $cfull bytes)" \
	test $((bytes * 10)) -lt "$cfull"
expect_eq "h1's zh_endpoints holds c's 10 exported endpoints with c's VNI, nothing else of c" \
	"$(zh h1 show endpoints --json --instance "$ZH_PFX-h1" |
		jq -r '[.[] | select(.dest_vni == 300) | .ip] | sort | join(" ")')" \
	"$(jq -rn '[range(1; 11) | "10.3.0.\(.)"] | sort | join(" ")')"
check "h1's log: it serves a" grep -q "network a: served here" "$T/h1.log"
check "h1's log: it never served c" bash -c "! grep -q 'network c: served here' '$T/h1.log'"

# The host record decides: h1 serving c too reads c (all of it), and
# reads it no more once c is taken off again; b and c's views stay.
events0=$(pe_agent h1 .events)
pe_sctl 1 put "$R/hosts/h1" '{"underlay":"198.18.0.1","networks":["a","c"]}' >/dev/null ||
	tap_fail "etcdctl put hosts/h1"
wait_for "h1 subscribes c once its host record lists c" 30 grep -q "network c: served here" "$T/h1.log"
events_reach() { [ "$(pe_agent h1 .events)" -ge "$1" ] && echo yes; }
eventually "h1 read c's 2000 endpoint records" yes 30 events_reach $((events0 + 2000))
pe_sctl 1 put "$R/hosts/h1" '{"underlay":"198.18.0.1","networks":["a"]}' >/dev/null ||
	tap_fail "etcdctl put hosts/h1"
wait_for "h1 drops c once its host record no longer lists it" 30 \
	grep -q "network c: no longer served here; its records are dropped" "$T/h1.log"
eventually "h1: peers b and c still active with 10 endpoints each" "active 10 active 10" 30 \
	pe_agent h1 ' | [.peers[] | "\(.state) \(.endpoints)"] | join(" ")'

for h in h1 h2; do pe_agent_stop "$h"; done
for s in 1 2; do pe_ctl_stop "$s"; done
[ "$_tap_failed" = 0 ] || pe_logs
finish
