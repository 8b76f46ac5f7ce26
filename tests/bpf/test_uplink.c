// SPDX-License-Identifier: GPL-2.0-only
/* xdp_uplink and tc_uplink through BPF_PROG_TEST_RUN: fabric ingress, one
 * table row per path (see harness.h for what a row checks). Rows whose
 * outcome is the same for both programs (P_UPLINKS) run against both; the
 * decapsulation rows differ (devmap redirect vs. skb redirect, and the
 * xdp_to_tc hand-off) and name their program.
 *
 * Not expressible with test_run: GRO/GSO tunnel packets on tc_uplink (the
 * runner sets no gso_type), and where a redirect goes (which helper, and
 * to where: the e2e tests see that).
 */
#include "harness.h"

/* vm1 and vm3 can take XDP redirects (in zh_devmap), vm2 cannot. 10.0.0.5
 * lives behind HOST2, 10.0.0.6 behind HOST3, 10.8.0.0/16 is routed to
 * HOST2. In VNI B (served here by vm3, and by vmx as 10.1.5.5), 10.0.0.5
 * is a peer endpoint: A's VM behind HOST2; 10.20.0.0/16 is a peer route:
 * C's prefix behind HOST3. B exports VM3 to A for UDP and TCP and to C for
 * ICMP; nothing exports 10.1.5.5 to A.
 */
static void scene_uplink(struct fixture *f)
{
	maps_reset(f);
	add_port(f, DEV_VM1, VNI_A, VM1_IP, VM1_MAC);
	add_port(f, DEV_VM2, VNI_A, VM2_IP, VM2_MAC);
	add_port(f, DEV_VM3, VNI_B, VM3_IP, VM3_MAC);
	add_devmap(f, DEV_VM1);
	add_devmap(f, DEV_VM3);

	add_endpoint(f, VNI_A, "10.0.0.5", HOST2, 0, ZH_ENCAP_DEFAULT, REMOTE_MAC);
	add_endpoint(f, VNI_A, "10.0.0.6", HOST3, 0, ZH_ENCAP_DEFAULT, REMOTE_MAC);
	add_route(f, VNI_A, "10.8.0.0", 16, ZH_ROUTE_REMOTE, HOST2, 0, ZH_ENCAP_DEFAULT);
	add_route(f, VNI_A, "10.66.0.0", 16, ZH_ROUTE_DROP, NULL, 0, ZH_ENCAP_DEFAULT);
	add_endpoint(f, VNI_B, "10.0.0.5", HOST2, VNI_A, ZH_ENCAP_DEFAULT, REMOTE_MAC);

	add_port(f, DEV_VMX, VNI_B, "10.1.5.5", OTHER_MAC);
	add_devmap(f, DEV_VMX);
	add_route(f, VNI_B, "10.20.0.0", 16, ZH_ROUTE_REMOTE, HOST3, VNI_C, ZH_ENCAP_DEFAULT);
	add_endpoint(f, VNI_B, "10.1.9.9", HOST2, 0, ZH_ENCAP_DEFAULT, REMOTE_MAC);
	/* A peer entry of B pointing at A's VM1 on this very host. */
	add_endpoint(f, VNI_B, VM1_IP, UNDERLAY, VNI_A, ZH_ENCAP_DEFAULT, VM1_MAC);
	add_policy(f, VNI_B, VNI_A, "10.1.0.0", 24, ZH_PROTO_UDP | ZH_PROTO_TCP);
	add_policy(f, VNI_B, VNI_C, VM3_IP, 32, ZH_PROTO_ICMP);
	/* Neither of these lets A reach 10.1.5.5: another peer, the other
	 * direction.
	 */
	add_policy(f, VNI_B, VNI_C, "10.1.5.0", 24, ZH_PROTO_ANY);
	add_policy(f, VNI_A, VNI_B, "10.1.5.0", 24, ZH_PROTO_ANY);
	/* A exports VM1 to B: it still must not arrive through VNI B. */
	add_policy(f, VNI_A, VNI_B, VM1_IP, 32, ZH_PROTO_ANY);
}

#define VXLAN_IN(host, v, ...)                                                             \
	{.kind = PK_TUNNEL, .tun = {.type = PKT_VXLAN, .src = (host), .vni = (v)},          \
	 .ip = {__VA_ARGS__}}
#define GENEVE_IN(host, v, ...)                                                            \
	{.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = (host), .vni = (v)},         \
	 .ip = {__VA_ARGS__}}
#define PASS_STACK {.verdict = V_PASS, .counters = C(PASS_STACK), .out = OUT_SAME}
#define DROP(counter) {.verdict = V_DROP, .counters = C(counter)}

static const struct row not_ours_rows[] = {
	{"ARP frame", P_UPLINKS,
	 .in = {.kind = PK_ARP, .smac = FABRIC_MAC, .arp = {.spa = HOST2, .tpa = UNDERLAY}},
	 .want = PASS_STACK},
	{"IPv6 frame", P_UPLINKS,
	 .in = {.kind = PK_ETH, .smac = FABRIC_MAC, .dmac = UPL_MAC, .eth_proto = ETH_P_IPV6},
	 .want = PASS_STACK},
	{"UDP to the underlay address, port 53", P_UPLINKS,
	 .in = {.kind = PK_IP, .smac = FABRIC_MAC, .dmac = UPL_MAC,
		.ip = {.src = HOST2, .dst = UNDERLAY, .dport = 53, .payload = 40}},
	 .want = PASS_STACK},
	{"TCP to the underlay address, port 4789", P_UPLINKS,
	 .in = {.kind = PK_IP, .smac = FABRIC_MAC, .dmac = UPL_MAC,
		.ip = {.src = HOST2, .dst = UNDERLAY, .proto = IPPROTO_TCP, .dport = 4789}},
	 .want = PASS_STACK},
	{"VXLAN to another address than the underlay's", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_VXLAN, .src = HOST2, .dst = "198.18.0.99",
					   .vni = VNI_A},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = PASS_STACK},
	{"Geneve to another address than the underlay's", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .dst = "10.0.0.1",
					   .vni = VNI_A},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = PASS_STACK},
	{"VXLAN header on another UDP port", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_VXLAN, .src = HOST2, .dport = 8472,
					   .vni = VNI_A},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = PASS_STACK},
};

static const struct row drop_rows[] = {
	{"VXLAN without the I flag", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_VXLAN, .src = HOST2, .vni = VNI_A,
					   .vxlan_no_i = true},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = DROP(DROP_MALFORMED)},
	{"Geneve version 1", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
					   .geneve_ver = 1},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = DROP(DROP_MALFORMED)},
	{"Geneve with the O (control) flag", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
					   .geneve_oam = true},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = DROP(DROP_MALFORMED)},
	{"Geneve with the C flag (critical options we do not know)", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
					   .geneve_opt_words = 2, .geneve_critical = true},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = DROP(DROP_MALFORMED)},
	{"Geneve carrying IPv4 (proto 0x0800), not Ethernet", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
					   .geneve_proto = ETH_P_IP},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = DROP(DROP_MALFORMED)},
	{"Geneve options longer than the packet", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
					   .geneve_opt_words = 60},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}, .truncate = 50 + 100},
	 .want = DROP(DROP_MALFORMED)},
	{"VXLAN in an outer first fragment (MF)", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_VXLAN, .src = HOST2, .vni = VNI_A,
					   .frag_off = PKT_IP_MF},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = DROP(DROP_MALFORMED)},
	{"UDP 4789 in an outer later fragment (offset 185)", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_VXLAN, .src = HOST2, .vni = VNI_A,
					   .frag_off = 185},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = DROP(DROP_MALFORMED)},
	{"Geneve in an outer fragment", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
					   .frag_off = PKT_IP_MF | PKT_IP_DF},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = DROP(DROP_MALFORMED)},
	{"inner frame is IPv6", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_VXLAN, .src = HOST2, .vni = VNI_A},
		.inner_proto = ETH_P_IPV6, .ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = DROP(DROP_PROTO)},
	{"inner frame is ARP (Geneve)", P_UPLINKS,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A},
		.inner_proto = ETH_P_ARP, .ip = {.src = "10.0.0.5", .dst = VM1_IP}},
	 .want = DROP(DROP_PROTO)},
	{"inner source unknown in the VNI", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.99", .dst = VM1_IP),
	 .want = DROP(DROP_RPF)},
	{"inner source known, behind another host", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.6", .dst = VM1_IP),
	 .want = DROP(DROP_RPF)},
	{"inner source is a VM of this host", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = VM2_IP, .dst = VM1_IP),
	 .want = DROP(DROP_RPF)},
	{"inner source in a drop route", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.66.0.1", .dst = VM1_IP),
	 .want = DROP(DROP_RPF)},
	{"inner source routed to another host", P_UPLINKS,
	 .in = VXLAN_IN(HOST3, VNI_A, .src = "10.8.0.1", .dst = VM1_IP),
	 .want = DROP(DROP_RPF)},
	{"VNI this host does not know", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, 4242, .src = "10.0.0.5", .dst = VM1_IP),
	 .want = DROP(DROP_RPF)},
	{"a host injecting into VNI B with A's endpoint, from the wrong host", P_UPLINKS,
	 .in = VXLAN_IN(HOST3, VNI_B, .src = "10.0.0.5", .dst = VM3_IP),
	 .want = DROP(DROP_RPF)},
	{"VNI A's VM is not in VNI B (no peer entry for 10.0.0.6)", P_UPLINKS,
	 .in = VXLAN_IN(HOST3, VNI_B, .src = "10.0.0.6", .dst = VM3_IP),
	 .want = DROP(DROP_RPF)},
	{"inner destination unknown", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = "10.0.0.200"),
	 .want = DROP(DROP_NO_ROUTE)},
	{"inner destination a remote endpoint (no transit)", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = "10.0.0.6"),
	 .want = DROP(DROP_NO_ROUTE)},
	{"inner destination a local VM of another VNI", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM3_IP),
	 .want = DROP(DROP_NO_ROUTE)},
	{"inner source by LPM route passes RPF, destination unknown", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.8.7.7", .dst = "10.0.0.200"),
	 .want = DROP(DROP_NO_ROUTE)},
	{"peer traffic passes RPF, destination unknown", P_UPLINKS,
	 .in = GENEVE_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = "10.1.0.99"),
	 .want = DROP(DROP_NO_ROUTE)},
};

#define TC_DECAP(mac)                                                                      \
	{.verdict = V_REDIRECT, .counters = C(DECAP_TC), .out = OUT_DECAP, .eth_dst = mac}
#define XDP_DECAP(mac)                                                                     \
	{.verdict = V_REDIRECT, .counters = C(DECAP_XDP), .out = OUT_DECAP, .eth_dst = mac}
#define XDP_TO_TC {.verdict = V_PASS, .counters = C(XDP_TO_TC), .out = OUT_SAME}

static const struct row decap_rows[] = {
	{"VXLAN to a local VM", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP, .payload = 100),
	 .want = TC_DECAP(VM1_MAC)},
	{"VXLAN to a local VM in zh_devmap", P_XDP_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP, .payload = 100),
	 .want = XDP_DECAP(VM1_MAC)},
	{"VXLAN aggregate larger than an uplink frame (GSO/GRO): left to tc_uplink",
	 P_XDP_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP, .payload = 1600),
	 .want = XDP_TO_TC},
	{"VXLAN to a local VM not in zh_devmap: left to tc_uplink", P_XDP_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM2_IP, .payload = 100),
	 .want = XDP_TO_TC},
	{"VXLAN to a local VM not in zh_devmap", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM2_IP, .payload = 100),
	 .want = TC_DECAP(VM2_MAC)},
	{"VXLAN, TCP, 1400 bytes", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP, .proto = IPPROTO_TCP,
			.len = 1400),
	 .want = TC_DECAP(VM1_MAC)},
	{"VXLAN, TCP, 1400 bytes", P_XDP_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP, .proto = IPPROTO_TCP,
			.len = 1400),
	 .want = XDP_DECAP(VM1_MAC)},
	{"Geneve to a local VM", P_TC_UPLINK,
	 .in = GENEVE_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP),
	 .want = TC_DECAP(VM1_MAC)},
	{"Geneve to a local VM", P_XDP_UPLINK,
	 .in = GENEVE_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP),
	 .want = XDP_DECAP(VM1_MAC)},
	{"Geneve with 8 bytes of options", P_TC_UPLINK,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
					   .geneve_opt_words = 2},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP, .payload = 30}},
	 .want = TC_DECAP(VM1_MAC)},
	{"Geneve with 8 bytes of options", P_XDP_UPLINK,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
					   .geneve_opt_words = 2},
		.ip = {.src = "10.0.0.5", .dst = VM1_IP, .payload = 30}},
	 .want = XDP_DECAP(VM1_MAC)},
	{"Geneve with 8 bytes of options, port not in zh_devmap", P_XDP_UPLINK,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
					   .geneve_opt_words = 2},
		.ip = {.src = "10.0.0.5", .dst = VM2_IP}},
	 .want = XDP_TO_TC},
	{"Geneve with 8 bytes of options, port not in zh_devmap", P_TC_UPLINK,
	 .in = {.kind = PK_TUNNEL, .tun = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
					   .geneve_opt_words = 2},
		.ip = {.src = "10.0.0.5", .dst = VM2_IP}},
	 .want = TC_DECAP(VM2_MAC)},
	{"inner source by LPM route to the outer host", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.8.7.7", .dst = VM1_IP),
	 .want = TC_DECAP(VM1_MAC)},
	{"inner source by LPM route to the outer host", P_XDP_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.8.7.7", .dst = VM1_IP),
	 .want = XDP_DECAP(VM1_MAC)},
	{"peer traffic: VNI B, source a peer endpoint behind the outer host", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = VM3_IP),
	 .want = TC_DECAP(VM3_MAC)},
	{"peer traffic: VNI B, source a peer endpoint behind the outer host", P_XDP_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = VM3_IP),
	 .want = XDP_DECAP(VM3_MAC)},
	{"peer traffic over Geneve", P_TC_UPLINK,
	 .in = GENEVE_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = VM3_IP),
	 .want = TC_DECAP(VM3_MAC)},
	{"peer traffic over Geneve", P_XDP_UPLINK,
	 .in = GENEVE_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = VM3_IP),
	 .want = XDP_DECAP(VM3_MAC)},
	{"inner TTL 1 is delivered as is (the VM's hop)", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP, .ttl = 1),
	 .want = TC_DECAP(VM1_MAC)},
};

/* Export policies at the receiving host: a peer network's packet is
 * decapsulated only when the packet's network exports the destination to
 * the source's network (found by the reverse-path check) for its protocol,
 * whatever the sending host checked or did not.
 */
static const struct row policy_rows[] = {
	{"from A: TCP to the exported /24", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = VM3_IP, .proto = IPPROTO_TCP),
	 .want = TC_DECAP(VM3_MAC)},
	{"from A: TCP to the exported /24", P_XDP_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = VM3_IP, .proto = IPPROTO_TCP),
	 .want = XDP_DECAP(VM3_MAC)},
	{"from A: ICMP, not exported to A", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = VM3_IP, .proto = IPPROTO_ICMP,
			.payload = 8),
	 .want = DROP(DROP_POLICY)},
	{"from A: GRE (other), not exported to A", P_UPLINKS,
	 .in = GENEVE_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = VM3_IP, .proto = 47,
			 .payload = 8),
	 .want = DROP(DROP_POLICY)},
	{"from A: to a port of B outside what B exports to A", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = "10.1.5.5"),
	 .want = DROP(DROP_POLICY)},
	{"from C (peer route): ICMP exported to C", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST3, VNI_B, .src = "10.20.1.1", .dst = VM3_IP, .proto = IPPROTO_ICMP,
			.payload = 8),
	 .want = TC_DECAP(VM3_MAC)},
	{"from C (peer route): ICMP exported to C", P_XDP_UPLINK,
	 .in = VXLAN_IN(HOST3, VNI_B, .src = "10.20.1.1", .dst = VM3_IP, .proto = IPPROTO_ICMP,
			.payload = 8),
	 .want = XDP_DECAP(VM3_MAC)},
	{"from C (peer route): UDP, exported to A only", P_UPLINKS,
	 .in = VXLAN_IN(HOST3, VNI_B, .src = "10.20.1.1", .dst = VM3_IP),
	 .want = DROP(DROP_POLICY)},
	{"from B's own remote VM: never checked", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.1.9.9", .dst = "10.1.5.5", .proto = 47,
			.payload = 8),
	 .want = TC_DECAP(OTHER_MAC)},
	{"from B's own remote VM: never checked", P_XDP_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.1.9.9", .dst = "10.1.5.5", .proto = 47,
			.payload = 8),
	 .want = XDP_DECAP(OTHER_MAC)},
	{"VNI B to B's peer entry of A's VM1 here: no transit into A", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.1.9.9", .dst = VM1_IP),
	 .want = DROP(DROP_NO_ROUTE)},
	{"VNI B from A to B's peer entry of A's VM1 here: no transit", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = VM1_IP),
	 .want = DROP(DROP_NO_ROUTE)},
	{"from A: unknown destination is drop_no_route, not drop_policy", P_UPLINKS,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = "10.1.0.99", .proto = IPPROTO_ICMP),
	 .want = DROP(DROP_NO_ROUTE)},
};

static void test_uplink_enforces_export_policies(void **state)
{
	scene_uplink(*state);
	run_table(*state, policy_rows, ARRAY_SIZE(policy_rows));
}

static void test_uplink_passes_what_is_not_ours(void **state)
{
	scene_uplink(*state);
	run_table(*state, not_ours_rows, ARRAY_SIZE(not_ours_rows));
}

static void test_uplink_drops_bad_tunnel_packets(void **state)
{
	scene_uplink(*state);
	run_table(*state, drop_rows, ARRAY_SIZE(drop_rows));
}

static void test_uplink_decapsulates_to_local_ports(void **state)
{
	scene_uplink(*state);
	run_table(*state, decap_rows, ARRAY_SIZE(decap_rows));
}

/* VM1 and VM3 are flagged ZH_EP_F_PEER_NETNS (veths whose peer is in
 * another namespace): tc_uplink delivers to them with bpf_redirect_peer(),
 * to VM2 with bpf_redirect(); xdp_uplink keeps its devmap redirect. The
 * test runner returns TC_ACT_REDIRECT for both helpers and performs
 * neither, so these rows show that the flag changes nothing else (verdict,
 * counters, the packet); test_ports.sh tells the helpers apart on real
 * interfaces.
 */
static const struct row redirect_rows[] = {
	{"VXLAN to a flagged port (peer in another namespace)", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP, .payload = 100),
	 .want = TC_DECAP(VM1_MAC)},
	{"Geneve to a flagged port", P_TC_UPLINK,
	 .in = GENEVE_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP),
	 .want = TC_DECAP(VM1_MAC)},
	{"VXLAN, TCP, 1400 bytes, to a flagged port", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP, .proto = IPPROTO_TCP,
			.len = 1400),
	 .want = TC_DECAP(VM1_MAC)},
	{"peer network's VXLAN to a flagged port", P_TC_UPLINK,
	 .in = VXLAN_IN(HOST2, VNI_B, .src = "10.0.0.5", .dst = VM3_IP),
	 .want = TC_DECAP(VM3_MAC)},
	{"VXLAN to an unflagged port",
	 P_TC_UPLINK, .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM2_IP),
	 .want = TC_DECAP(VM2_MAC)},
	{"VXLAN to a flagged port in zh_devmap: XDP redirects through the devmap",
	 P_XDP_UPLINK, .in = VXLAN_IN(HOST2, VNI_A, .src = "10.0.0.5", .dst = VM1_IP),
	 .want = XDP_DECAP(VM1_MAC)},
};

static void test_uplink_decapsulates_to_peer_netns_ports(void **state)
{
	struct fixture *f = *state;

	scene_uplink(f);
	set_peer_netns(f, VNI_A, VM1_IP, true);
	set_peer_netns(f, VNI_B, VM3_IP, true);
	run_table(f, redirect_rows, ARRAY_SIZE(redirect_rows));
}

/* A valid tunnel packet cut at every length from the start of the outer
 * IPv4 header to the last byte of the inner IPv4 header. While the outer
 * IPv4 or UDP header is incomplete the packet cannot be recognised as a
 * tunnel packet and goes to the stack (pass_stack); from a complete UDP
 * header on it is ours and dropped (drop_malformed). Cuts inside the outer
 * IPv4 header run on xdp_uplink only: the skb test runner refuses an IPv4
 * ethertype without a whole IPv4 header.
 */
static void truncation_sweep(struct fixture *f, const struct pkt_tunnel *tun, const char *name)
{
	struct row row = {
		.prog = P_UPLINKS,
		.in = {.kind = PK_TUNNEL, .tun = *tun,
		       .ip = {.src = "10.0.0.5", .dst = VM1_IP, .payload = 16}},
	};
	const size_t udp_end = ETH_HLEN + 20 + 8;
	const size_t inner_ip_end = udp_end + pkt_tunnel_hlen(tun) + ETH_HLEN + 20;
	struct result *r = malloc(sizeof(*r));
	char desc[128];
	int bad = 0, runs = 0;
	size_t cut;

	assert_non_null(r);
	row.desc = desc;
	for (cut = ETH_HLEN; cut < inner_ip_end; cut++) {
		row.in.truncate = cut;
		if (cut < udp_end) {
			snprintf(desc, sizeof(desc), "%s cut at %zu bytes (outer IPv4/UDP incomplete)",
				 name, cut);
			row.want = (struct expect)PASS_STACK;
		} else {
			snprintf(desc, sizeof(desc), "%s cut at %zu bytes (of %zu with the inner "
				 "IPv4 header)", name, cut, inner_ip_end);
			row.want = (struct expect)DROP(DROP_MALFORMED);
		}
		if (cut >= ETH_HLEN + 20) {
			bad += run_row_on(f, &row, P_TC_UPLINK, r) != 0;
			runs++;
		}
		bad += run_row_on(f, &row, P_XDP_UPLINK, r) != 0;
		runs++;
	}
	/* The whole packet is fine: the sweep tested the cuts, not the packet. */
	row.in.truncate = 0;
	snprintf(desc, sizeof(desc), "%s, whole", name);
	row.prog = P_TC_UPLINK;
	row.want = (struct expect)TC_DECAP(VM1_MAC);
	bad += run_row_on(f, &row, P_TC_UPLINK, r) != 0;
	row.want = (struct expect)XDP_DECAP(VM1_MAC);
	bad += run_row_on(f, &row, P_XDP_UPLINK, r) != 0;
	runs += 2;
	free(r);
	if (bad)
		fail_msg("%s: %d of %d row runs failed (details above)", name, bad, runs);
}

static void test_uplink_truncated_vxlan(void **state)
{
	struct pkt_tunnel t = {.type = PKT_VXLAN, .src = HOST2, .vni = VNI_A};

	scene_uplink(*state);
	truncation_sweep(*state, &t, "VXLAN");
}

static void test_uplink_truncated_geneve_with_options(void **state)
{
	struct pkt_tunnel t = {.type = PKT_GENEVE, .src = HOST2, .vni = VNI_A,
			       .geneve_opt_words = 2};

	scene_uplink(*state);
	truncation_sweep(*state, &t, "Geneve+8 bytes of options");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uplink_passes_what_is_not_ours),
		cmocka_unit_test(test_uplink_drops_bad_tunnel_packets),
		cmocka_unit_test(test_uplink_decapsulates_to_local_ports),
		cmocka_unit_test(test_uplink_decapsulates_to_peer_netns_ports),
		cmocka_unit_test(test_uplink_enforces_export_policies),
		cmocka_unit_test(test_uplink_truncated_vxlan),
		cmocka_unit_test(test_uplink_truncated_geneve_with_options),
	};

	if (netns_enter()) {
		printf("1..1\nok 1 # SKIP BPF_PROG_TEST_RUN needs root and a private netns "
		       "(run: sudo make check)\n");
		return 0;
	}
	return cmocka_run_group_tests_name("bpf_uplink", tests, fixture_setup, fixture_teardown);
}
