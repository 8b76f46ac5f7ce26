// SPDX-License-Identifier: GPL-2.0-only
/* tc_port through BPF_PROG_TEST_RUN: every path of a frame from a VM, one
 * table row each (see harness.h for what a row checks).
 *
 * Not expressible with test_run and left to the e2e tests: where a
 * redirect goes (bpf_redirect() only records the ifindex), and what the
 * kernel does after bpf_redirect_neigh().
 */
#include "harness.h"

/* The programming every group starts from: three VM ports, remote and
 * peer endpoints, prefix routes, and the export policies of the peer
 * networks toward A. All in VNI A unless named otherwise.
 */
static void scene_port(struct fixture *f)
{
	maps_reset(f);
	add_port(f, DEV_VM1, VNI_A, VM1_IP, VM1_MAC);
	add_port(f, DEV_VM2, VNI_A, VM2_IP, VM2_MAC);
	add_port(f, DEV_VM3, VNI_B, VM3_IP, VM3_MAC);

	add_endpoint(f, VNI_A, "10.0.0.5", HOST2, 0, ZH_ENCAP_VXLAN, REMOTE_MAC);
	add_endpoint(f, VNI_A, "10.0.0.6", HOST2, 0, ZH_ENCAP_GENEVE, REMOTE_MAC);
	add_endpoint(f, VNI_A, "10.0.0.7", HOST3, 0, ZH_ENCAP_DEFAULT, REMOTE_MAC);
	add_endpoint(f, VNI_A, "10.0.0.8", HOST_NONEIGH, 0, ZH_ENCAP_DEFAULT, REMOTE_MAC);
	add_endpoint(f, VNI_A, "10.0.0.9", HOST_NOROUTE, 0, ZH_ENCAP_DEFAULT, REMOTE_MAC);
	/* Peering: 10.2.0.8 lives in VNI C behind HOST2; VM3 lives in VNI B
	 * on this very host; 10.1.0.4 claims to be in B here but has no port.
	 */
	add_endpoint(f, VNI_A, "10.2.0.8", HOST2, VNI_C, ZH_ENCAP_DEFAULT, OTHER_MAC);
	add_endpoint(f, VNI_A, VM3_IP, UNDERLAY, VNI_B, ZH_ENCAP_DEFAULT, VM3_MAC);
	add_endpoint(f, VNI_A, "10.1.0.4", UNDERLAY, VNI_B, ZH_ENCAP_DEFAULT, OTHER_MAC);

	add_route(f, VNI_A, "10.9.0.0", 16, ZH_ROUTE_REMOTE, HOST2, 0, ZH_ENCAP_DEFAULT);
	add_route(f, VNI_A, "10.9.1.0", 24, ZH_ROUTE_REMOTE, HOST3, 0, ZH_ENCAP_DEFAULT);
	add_endpoint(f, VNI_A, "10.9.1.50", HOST2, 0, ZH_ENCAP_DEFAULT, REMOTE_MAC);
	add_route(f, VNI_A, "10.66.0.0", 16, ZH_ROUTE_DROP, NULL, 0, ZH_ENCAP_DEFAULT);
	add_route(f, VNI_A, "10.3.0.0", 16, ZH_ROUTE_REMOTE, HOST3, VNI_C, ZH_ENCAP_GENEVE);
	/* Only in VNI B: invisible from A. */
	add_route(f, VNI_B, "10.77.0.0", 16, ZH_ROUTE_REMOTE, HOST2, 0, ZH_ENCAP_DEFAULT);
	add_endpoint(f, VNI_B, "10.0.0.5", HOST3, 0, ZH_ENCAP_DEFAULT, REMOTE_MAC);

	/* More of C behind HOST2, for the policy rows: 10.2.0.9 inside
	 * C's TCP-only /24, 10.2.1.9 outside everything C exports to A.
	 */
	add_endpoint(f, VNI_A, "10.2.0.9", HOST2, VNI_C, ZH_ENCAP_DEFAULT, OTHER_MAC);
	add_endpoint(f, VNI_A, "10.2.1.9", HOST2, VNI_C, ZH_ENCAP_DEFAULT, OTHER_MAC);
	/* B's VM3 reaching A's VM1 on this host (the other direction). */
	add_endpoint(f, VNI_B, VM1_IP, UNDERLAY, VNI_A, ZH_ENCAP_DEFAULT, VM1_MAC);

	/* Export policies toward A: C gives 10.2.0.8 whole, the rest of
	 * 10.2.0.0/24 for TCP only, and its routed 10.3.0.0/16; B gives VM3
	 * for UDP and ICMP. The entries that must not count for A: C's
	 * 10.2.1.0/24 is exported to B only, and A's own export of that
	 * prefix to C is the other direction. A exports nothing to B.
	 */
	add_policy(f, VNI_C, VNI_A, "10.2.0.8", 32, ZH_PROTO_ANY);
	add_policy(f, VNI_C, VNI_A, "10.2.0.0", 24, ZH_PROTO_TCP);
	add_policy(f, VNI_C, VNI_A, "10.3.0.0", 16, ZH_PROTO_ANY);
	add_policy(f, VNI_B, VNI_A, VM3_IP, 32, ZH_PROTO_UDP | ZH_PROTO_ICMP);
	add_policy(f, VNI_C, VNI_B, "10.2.1.0", 24, ZH_PROTO_ANY);
	add_policy(f, VNI_A, VNI_C, "10.2.1.0", 24, ZH_PROTO_ANY);
}

#define FROM_VM1(...) {.kind = PK_IP, .ip = {.src = VM1_IP, __VA_ARGS__}}
#define DROP(counter) {.verdict = V_DROP, .counters = C(counter)}

static const struct row admission_rows[] = {
	{"no port record: IPv4", P_TC_PORT, .dev = DEV_VMX, .in = FROM_VM1(.dst = VM2_IP),
	 .want = DROP(DROP_NO_PORT)},
	{"no port record: ARP", P_TC_PORT, .dev = DEV_VMX,
	 .in = {.kind = PK_ARP, .arp = {.spa = VM1_IP, .tpa = "10.0.0.254"}},
	 .want = DROP(DROP_NO_PORT)},
	{"source MAC not the port's", P_TC_PORT,
	 .in = {.kind = PK_IP, .smac = OTHER_MAC, .ip = {.src = VM1_IP, .dst = VM2_IP}},
	 .want = DROP(DROP_SPOOF)},
	{"source IPv4 not the port's", P_TC_PORT,
	 .in = {.kind = PK_IP, .ip = {.src = "10.0.0.99", .dst = VM2_IP}},
	 .want = DROP(DROP_SPOOF)},
	{"source IPv4 of another local VM", P_TC_PORT,
	 .in = {.kind = PK_IP, .ip = {.src = VM2_IP, .dst = "10.0.0.5"}},
	 .want = DROP(DROP_SPOOF)},
	{"IPv6 frame", P_TC_PORT, .in = {.kind = PK_ETH, .eth_proto = ETH_P_IPV6},
	 .want = DROP(DROP_PROTO)},
	{"unknown ethertype", P_TC_PORT, .in = {.kind = PK_ETH, .eth_proto = 0x88b5},
	 .want = DROP(DROP_PROTO)},
	/* A frame cut inside the first 20 bytes of IPv4 (say 14 + 10) cannot
	 * be run: the skb test runner refuses an IPv4 ethertype without a
	 * whole IPv4 header (-EINVAL). A header whose IHL reaches past the
	 * frame takes the same parser path.
	 */
	{"IPv4 header (IHL 15: 60 bytes) cut at 24 bytes", P_TC_PORT,
	 .in = {.kind = PK_IP, .truncate = 14 + 24,
		.ip = {.src = VM1_IP, .dst = VM2_IP, .ihl = 15}},
	 .want = DROP(DROP_MALFORMED)},
	{"IPv4 IHL 4", P_TC_PORT, .in = FROM_VM1(.dst = VM2_IP, .ihl = 4),
	 .want = DROP(DROP_MALFORMED)},
	{"IPv4 ethertype, version 6", P_TC_PORT, .in = FROM_VM1(.dst = VM2_IP, .version = 6),
	 .want = DROP(DROP_MALFORMED)},
	{"TTL 1", P_TC_PORT, .in = FROM_VM1(.dst = VM2_IP, .ttl = 1), .want = DROP(DROP_TTL)},
	{"TTL 1 toward a remote endpoint", P_TC_PORT, .in = FROM_VM1(.dst = "10.0.0.5", .ttl = 1),
	 .want = DROP(DROP_TTL)},
	{"unknown destination", P_TC_PORT, .in = FROM_VM1(.dst = "10.0.0.200"),
	 .want = DROP(DROP_NO_ROUTE)},
	{"destination routed only in another VNI", P_TC_PORT, .in = FROM_VM1(.dst = "10.77.0.1"),
	 .want = DROP(DROP_NO_ROUTE)},
	{"route --drop", P_TC_PORT, .in = FROM_VM1(.dst = "10.66.1.1"),
	 .want = DROP(DROP_NO_ROUTE)},
	{"peer VNI on this host without a port there", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.1.0.4"), .want = DROP(DROP_NO_ROUTE)},
};

static const struct row arp_rows[] = {
	{"ARP request for the gateway", P_TC_PORT,
	 .in = {.kind = PK_ARP, .arp = {.spa = VM1_IP, .tpa = "10.0.0.254"}},
	 .want = {.verdict = V_REDIRECT, .counters = C(ARP_REPLY), .out = OUT_ARP_REPLY}},
	{"ARP request for another VM", P_TC_PORT,
	 .in = {.kind = PK_ARP, .arp = {.spa = VM1_IP, .tpa = VM2_IP}},
	 .want = {.verdict = V_REDIRECT, .counters = C(ARP_REPLY), .out = OUT_ARP_REPLY}},
	{"ARP request for an unknown address", P_TC_PORT,
	 .in = {.kind = PK_ARP, .arp = {.spa = VM1_IP, .tpa = "192.0.2.1"}},
	 .want = {.verdict = V_REDIRECT, .counters = C(ARP_REPLY), .out = OUT_ARP_REPLY}},
	{"ARP request from the third port", P_TC_PORT, .dev = DEV_VM3,
	 .in = {.kind = PK_ARP, .smac = VM3_MAC, .arp = {.spa = VM3_IP, .tpa = "10.1.0.1"}},
	 .want = {.verdict = V_REDIRECT, .counters = C(ARP_REPLY), .out = OUT_ARP_REPLY}},
	{"ARP request for its own address", P_TC_PORT,
	 .in = {.kind = PK_ARP, .arp = {.spa = VM1_IP, .tpa = VM1_IP}},
	 .want = DROP(DROP_ARP)},
	{"ARP probe (sender 0.0.0.0)", P_TC_PORT,
	 .in = {.kind = PK_ARP, .arp = {.spa = "0.0.0.0", .tpa = VM1_IP}},
	 .want = DROP(DROP_ARP)},
	{"ARP reply from the VM", P_TC_PORT,
	 .in = {.kind = PK_ARP, .arp = {.op = 2, .spa = VM1_IP, .tpa = "10.0.0.254"}},
	 .want = DROP(DROP_ARP)},
	{"ARP with another sender IPv4", P_TC_PORT,
	 .in = {.kind = PK_ARP, .arp = {.spa = "10.0.0.99", .tpa = "10.0.0.254"}},
	 .want = DROP(DROP_SPOOF)},
	{"ARP with another sender MAC", P_TC_PORT,
	 .in = {.kind = PK_ARP, .arp = {.sha = OTHER_MAC, .spa = VM1_IP, .tpa = "10.0.0.254"}},
	 .want = DROP(DROP_SPOOF)},
	{"ARP from another source MAC", P_TC_PORT,
	 .in = {.kind = PK_ARP, .smac = OTHER_MAC, .arp = {.spa = VM1_IP, .tpa = "10.0.0.254"}},
	 .want = DROP(DROP_SPOOF)},
	{"ARP cut at 20 bytes", P_TC_PORT,
	 .in = {.kind = PK_ARP, .truncate = 14 + 20, .arp = {.spa = VM1_IP, .tpa = "10.0.0.254"}},
	 .want = DROP(DROP_MALFORMED)},
	{"ARP cut at 27 bytes", P_TC_PORT,
	 .in = {.kind = PK_ARP, .truncate = 14 + 27, .arp = {.spa = VM1_IP, .tpa = "10.0.0.254"}},
	 .want = DROP(DROP_MALFORMED)},
	{"ARP for another hardware type", P_TC_PORT,
	 .in = {.kind = PK_ARP, .arp = {.htype = 6, .spa = VM1_IP, .tpa = "10.0.0.254"}},
	 .want = DROP(DROP_MALFORMED)},
};

#define LOCAL(mac)                                                                         \
	{.verdict = V_REDIRECT, .counters = C(FWD_LOCAL), .out = OUT_LOCAL, .eth_dst = mac}

static const struct row local_rows[] = {
	{"UDP to a VM on this host", P_TC_PORT, .in = FROM_VM1(.dst = VM2_IP, .payload = 64),
	 .want = LOCAL(VM2_MAC)},
	{"TCP to a VM on this host", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM2_IP, .proto = IPPROTO_TCP, .payload = 100),
	 .want = LOCAL(VM2_MAC)},
	{"TTL 2 to a VM on this host leaves with TTL 1", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM2_IP, .ttl = 2), .want = LOCAL(VM2_MAC)},
	{"TTL 255 (checksum carry)", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM2_IP, .ttl = 255, .tos = 0xff), .want = LOCAL(VM2_MAC)},
	{"to itself", P_TC_PORT, .in = FROM_VM1(.dst = VM1_IP), .want = LOCAL(VM1_MAC)},
	{"same-host delivery has no tunnel overhead: 1500-byte DF packet", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM2_IP, .frag_off = PKT_IP_DF, .len = 1500),
	 .want = LOCAL(VM2_MAC)},
	{"peer VNI served on this host: local delivery in VNI B", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM3_IP), .want = LOCAL(VM3_MAC)},
	{"peer VNI served on this host, from the Geneve-default program", P_TC_PORT_GENEVE,
	 .in = FROM_VM1(.dst = VM3_IP), .want = LOCAL(VM3_MAC)},
};

#define ENCAP(cnt, h, mac, v, e, nh)                                                       \
	{.verdict = V_REDIRECT, .counters = (cnt), .out = OUT_ENCAP, .host = (h),          \
	 .eth_dst = (mac), .vni = (v), .encap = (e), .nh_mac = (nh)}
#define VXLAN_TO(h, mac, v, nh) ENCAP(C(ENCAP_VXLAN), h, mac, v, ZH_ENCAP_VXLAN, nh)
#define GENEVE_TO(h, mac, v, nh) ENCAP(C(ENCAP_GENEVE), h, mac, v, ZH_ENCAP_GENEVE, nh)

static const struct row encap_rows[] = {
	{"remote endpoint, VXLAN", P_TC_PORT, .in = FROM_VM1(.dst = "10.0.0.5", .payload = 64),
	 .want = VXLAN_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"remote endpoint, VXLAN, TCP", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.5", .proto = IPPROTO_TCP, .payload = 10),
	 .want = VXLAN_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"remote endpoint, VXLAN, TOS copied to the outer header", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.5", .tos = 0xb8),
	 .want = VXLAN_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"remote endpoint, VXLAN, inner fragment", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.5", .frag_off = PKT_IP_MF, .payload = 100),
	 .want = VXLAN_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"remote endpoint, Geneve", P_TC_PORT, .in = FROM_VM1(.dst = "10.0.0.6"),
	 .want = GENEVE_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"remote endpoint, default encap, instance VXLAN", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.7"),
	 .want = VXLAN_TO(HOST3, REMOTE_MAC, VNI_A, HOST3_MAC)},
	{"remote endpoint, default encap, instance Geneve", P_TC_PORT_GENEVE,
	 .in = FROM_VM1(.dst = "10.0.0.7"),
	 .want = GENEVE_TO(HOST3, REMOTE_MAC, VNI_A, HOST3_MAC)},
	{"remote endpoint, explicit VXLAN, instance Geneve", P_TC_PORT_GENEVE,
	 .in = FROM_VM1(.dst = "10.0.0.5"),
	 .want = VXLAN_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"peer endpoint: VNI on the wire is the peer's", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.2.0.8"),
	 .want = ENCAP(C(ENCAP_VXLAN) | C(ENCAP_PEER), HOST2, OTHER_MAC, VNI_C, ZH_ENCAP_VXLAN,
		       HOST2_MAC)},
	{"peer endpoint, instance Geneve", P_TC_PORT_GENEVE, .in = FROM_VM1(.dst = "10.2.0.8"),
	 .want = ENCAP(C(ENCAP_GENEVE) | C(ENCAP_PEER), HOST2, OTHER_MAC, VNI_C,
		       ZH_ENCAP_GENEVE, HOST2_MAC)},
	{"LPM: the /24 wins over the /16", P_TC_PORT, .in = FROM_VM1(.dst = "10.9.1.7"),
	 .want = VXLAN_TO(HOST3, ROUTER_MAC, VNI_A, HOST3_MAC)},
	{"LPM: outside the /24, the /16", P_TC_PORT, .in = FROM_VM1(.dst = "10.9.2.7"),
	 .want = VXLAN_TO(HOST2, ROUTER_MAC, VNI_A, HOST2_MAC)},
	{"LPM: last address of the /16", P_TC_PORT, .in = FROM_VM1(.dst = "10.9.255.255"),
	 .want = VXLAN_TO(HOST2, ROUTER_MAC, VNI_A, HOST2_MAC)},
	{"an exact endpoint wins over the routes", P_TC_PORT, .in = FROM_VM1(.dst = "10.9.1.50"),
	 .want = VXLAN_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"peer route (dest VNI C, Geneve)", P_TC_PORT, .in = FROM_VM1(.dst = "10.3.4.5"),
	 .want = ENCAP(C(ENCAP_GENEVE) | C(ENCAP_PEER), HOST3, ROUTER_MAC, VNI_C,
		       ZH_ENCAP_GENEVE, HOST3_MAC)},
};

/* How the outer Ethernet header is addressed: from the FIB when the uplink
 * forwards, by bpf_redirect_neigh() otherwise or when the neighbour is not
 * resolved yet.
 */
static const struct row nexthop_rows[] = {
	{"forwarding on: outer MACs from the FIB", P_TC_PORT, .in = FROM_VM1(.dst = "10.0.0.5"),
	 .want = VXLAN_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"forwarding off: bpf_redirect_neigh, VXLAN", P_TC_PORT, .fwd_off = true,
	 .in = FROM_VM1(.dst = "10.0.0.5"),
	 .want = VXLAN_TO(HOST2, REMOTE_MAC, VNI_A, NULL)},
	{"forwarding off: bpf_redirect_neigh, Geneve", P_TC_PORT, .fwd_off = true,
	 .in = FROM_VM1(.dst = "10.0.0.6"),
	 .want = GENEVE_TO(HOST2, REMOTE_MAC, VNI_A, NULL)},
	{"forwarding off: peer endpoint", P_TC_PORT, .fwd_off = true,
	 .in = FROM_VM1(.dst = "10.2.0.8"),
	 .want = ENCAP(C(ENCAP_VXLAN) | C(ENCAP_PEER), HOST2, OTHER_MAC, VNI_C, ZH_ENCAP_VXLAN,
		       NULL)},
	{"neighbour not resolved: bpf_redirect_neigh", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.8"),
	 .want = VXLAN_TO(HOST_NONEIGH, REMOTE_MAC, VNI_A, NULL)},
	{"no underlay route to the host", P_TC_PORT, .in = FROM_VM1(.dst = "10.0.0.9"),
	 .want = {.verdict = V_DROP, .counters = C(ENCAP_VXLAN) | C(DROP_FIB)}},
	/* Without forwarding the FIB is not consulted; the kernel drops it
	 * after bpf_redirect_neigh(), which test_run does not execute.
	 */
	{"no underlay route, forwarding off: left to bpf_redirect_neigh", P_TC_PORT,
	 .fwd_off = true, .in = FROM_VM1(.dst = "10.0.0.9"),
	 .want = VXLAN_TO(HOST_NOROUTE, REMOTE_MAC, VNI_A, NULL)},
};

/* Uplink MTU 1500, so an inner IPv4 packet may have 1500 - 50 = 1450 bytes. */
static const struct row mtu_rows[] = {
	{"1450-byte DF packet fits", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.5", .frag_off = PKT_IP_DF, .len = 1450),
	 .want = VXLAN_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"1450-byte packet fits, Geneve", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.6", .frag_off = PKT_IP_DF, .len = 1450),
	 .want = GENEVE_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"1451-byte DF packet: ICMP fragmentation needed", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.5", .frag_off = PKT_IP_DF, .len = 1451),
	 .want = {.verdict = V_REDIRECT, .counters = C(ICMP_FRAG_NEEDED), .out = OUT_ICMP_FRAG,
		  .mtu = 1450}},
	{"1460-byte DF UDP packet: ICMP fragmentation needed", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.5", .frag_off = PKT_IP_DF, .len = 1460),
	 .want = {.verdict = V_REDIRECT, .counters = C(ICMP_FRAG_NEEDED), .out = OUT_ICMP_FRAG,
		  .mtu = 1450}},
	{"1500-byte DF TCP packet by route: ICMP fragmentation needed", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.9.1.7", .proto = IPPROTO_TCP, .frag_off = PKT_IP_DF,
			.len = 1500),
	 .want = {.verdict = V_REDIRECT, .counters = C(ICMP_FRAG_NEEDED), .out = OUT_ICMP_FRAG,
		  .mtu = 1450}},
	{"1460-byte packet without DF: dropped", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.5", .len = 1460), .want = DROP(DROP_TOO_BIG)},
	{"1460-byte fragment without DF: dropped", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.5", .frag_off = PKT_IP_MF, .len = 1460),
	 .want = DROP(DROP_TOO_BIG)},
	/* GSO: what counts is one segment (IP + TCP headers + gso_size). The
	 * skb test runner takes gso_size from the context but sets no
	 * gso_type, and bpf_skb_adjust_room() refuses to grow a GSO skb that
	 * is not SKB_GSO_TCP*, so only the size decision that ends in an ICMP
	 * error can run here; encapsulating a GSO packet is left to the e2e
	 * tests.
	 */
	{"GSO TCP, 1448-byte segments: ICMP fragmentation needed", P_TC_PORT, .gso_size = 1448,
	 .in = FROM_VM1(.dst = "10.0.0.5", .proto = IPPROTO_TCP, .frag_off = PKT_IP_DF,
			.len = 2936),
	 .want = {.verdict = V_REDIRECT, .counters = C(ICMP_FRAG_NEEDED), .out = OUT_ICMP_FRAG,
		  .mtu = 1450}},
};

static void test_port_admission_and_drops(void **state)
{
	scene_port(*state);
	run_table(*state, admission_rows, ARRAY_SIZE(admission_rows));
}

static void test_port_answers_arp_with_router_mac(void **state)
{
	scene_port(*state);
	run_table(*state, arp_rows, ARRAY_SIZE(arp_rows));
}

static void test_port_delivers_same_host(void **state)
{
	scene_port(*state);
	run_table(*state, local_rows, ARRAY_SIZE(local_rows));
}

/* Ports flagged ZH_EP_F_PEER_NETNS (VM2, VM3: veths whose peer is in
 * another namespace) take bpf_redirect_peer(), VM1 (a tap, or a veth whose
 * peer is in this namespace) bpf_redirect(). test_run returns
 * TC_ACT_REDIRECT for both and performs neither, so these rows show that
 * the flag changes nothing else (verdict, counters, the packet);
 * test_ports.sh tells the helpers apart on real interfaces.
 */
static const struct row redirect_rows[] = {
	{"to a flagged port (peer in another namespace)", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM2_IP), .want = LOCAL(VM2_MAC)},
	{"TCP to a flagged port", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM2_IP, .proto = IPPROTO_TCP, .payload = 100),
	 .want = LOCAL(VM2_MAC)},
	{"peer VNI served here, flagged port", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM3_IP), .want = LOCAL(VM3_MAC)},
	{"from a flagged port to an unflagged one", P_TC_PORT,
	 .dev = DEV_VM2, .in = {.kind = PK_IP, .smac = VM2_MAC,
				.ip = {.src = VM2_IP, .dst = VM1_IP}},
	 .want = LOCAL(VM1_MAC)},
	{"to itself, unflagged", P_TC_PORT, .in = FROM_VM1(.dst = VM1_IP),
	 .want = LOCAL(VM1_MAC)},
	{"from an unflagged port, encapsulated", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.5"),
	 .want = {.verdict = V_REDIRECT, .counters = C(ENCAP_VXLAN), .out = OUT_ENCAP,
		  .host = HOST2, .eth_dst = REMOTE_MAC, .vni = VNI_A, .encap = ZH_ENCAP_VXLAN,
		  .nh_mac = HOST2_MAC}},
};

static void test_port_delivers_to_peer_netns_ports(void **state)
{
	struct fixture *f = *state;

	scene_port(f);
	set_peer_netns(f, VNI_A, VM2_IP, true);
	set_peer_netns(f, VNI_B, VM3_IP, true);
	run_table(f, redirect_rows, ARRAY_SIZE(redirect_rows));
}

static void test_port_encapsulates_to_remote_hosts(void **state)
{
	scene_port(*state);
	run_table(*state, encap_rows, ARRAY_SIZE(encap_rows));
}

static void test_port_underlay_next_hop(void **state)
{
	scene_port(*state);
	run_table(*state, nexthop_rows, ARRAY_SIZE(nexthop_rows));
}

#define PEER_VXLAN_TO(h, mac, v) ENCAP(C(ENCAP_VXLAN) | C(ENCAP_PEER), h, mac, v, ZH_ENCAP_VXLAN, \
				       HOST2_MAC)

/* Export policies at the sending host: a packet to another network leaves
 * (or is delivered to a peer network on this host) only when that network
 * exports the destination to the sender's for the packet's protocol.
 */
static const struct row policy_rows[] = {
	{"exported /32 with any protocol: UDP", P_TC_PORT, .in = FROM_VM1(.dst = "10.2.0.8"),
	 .want = PEER_VXLAN_TO(HOST2, OTHER_MAC, VNI_C)},
	{"exported /32 with any protocol: TCP", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.2.0.8", .proto = IPPROTO_TCP),
	 .want = PEER_VXLAN_TO(HOST2, OTHER_MAC, VNI_C)},
	{"exported /32 with any protocol: ICMP", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.2.0.8", .proto = IPPROTO_ICMP, .payload = 8),
	 .want = PEER_VXLAN_TO(HOST2, OTHER_MAC, VNI_C)},
	{"exported /32 with any protocol: GRE (other)", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.2.0.8", .proto = 47, .payload = 8),
	 .want = PEER_VXLAN_TO(HOST2, OTHER_MAC, VNI_C)},
	{"TCP-only /24: TCP leaves", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.2.0.9", .proto = IPPROTO_TCP, .payload = 20),
	 .want = PEER_VXLAN_TO(HOST2, OTHER_MAC, VNI_C)},
	{"TCP-only /24: UDP", P_TC_PORT, .in = FROM_VM1(.dst = "10.2.0.9"),
	 .want = DROP(DROP_POLICY)},
	{"TCP-only /24: ICMP", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.2.0.9", .proto = IPPROTO_ICMP, .payload = 8),
	 .want = DROP(DROP_POLICY)},
	{"TCP-only /24: GRE (other)", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.2.0.9", .proto = 47, .payload = 8),
	 .want = DROP(DROP_POLICY)},
	{"TCP-only /24: an inner fragment of a UDP datagram", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.2.0.9", .frag_off = PKT_IP_MF, .payload = 64),
	 .want = DROP(DROP_POLICY)},
	{"outside every prefix C exports to A (exported to B, and by A to C)", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.2.1.9", .proto = IPPROTO_TCP),
	 .want = DROP(DROP_POLICY)},
	{"peer route, exported /16", P_TC_PORT, .in = FROM_VM1(.dst = "10.3.200.1"),
	 .want = ENCAP(C(ENCAP_GENEVE) | C(ENCAP_PEER), HOST3, ROUTER_MAC, VNI_C,
		       ZH_ENCAP_GENEVE, HOST3_MAC)},
	{"policy before the MTU check: a 1460-byte DF packet gets no ICMP", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.2.0.9", .frag_off = PKT_IP_DF, .len = 1460),
	 .want = DROP(DROP_POLICY)},
	{"same host, peer VNI B: UDP delivered", P_TC_PORT, .in = FROM_VM1(.dst = VM3_IP),
	 .want = LOCAL(VM3_MAC)},
	{"same host, peer VNI B: ICMP delivered", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM3_IP, .proto = IPPROTO_ICMP, .payload = 8),
	 .want = LOCAL(VM3_MAC)},
	{"same host, peer VNI B: TCP not exported", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM3_IP, .proto = IPPROTO_TCP), .want = DROP(DROP_POLICY)},
	{"same host, B to A: A exports nothing to B", P_TC_PORT, .dev = DEV_VM3,
	 .in = {.kind = PK_IP, .smac = VM3_MAC, .ip = {.src = VM3_IP, .dst = VM1_IP}},
	 .want = DROP(DROP_POLICY)},
	{"within VNI A nothing is checked: TCP to a remote VM", P_TC_PORT,
	 .in = FROM_VM1(.dst = "10.0.0.5", .proto = IPPROTO_TCP),
	 .want = VXLAN_TO(HOST2, REMOTE_MAC, VNI_A, HOST2_MAC)},
	{"within VNI A nothing is checked: GRE to a VM on this host", P_TC_PORT,
	 .in = FROM_VM1(.dst = VM2_IP, .proto = 47, .payload = 8), .want = LOCAL(VM2_MAC)},
};

static void test_port_enforces_export_policies(void **state)
{
	scene_port(*state);
	run_table(*state, policy_rows, ARRAY_SIZE(policy_rows));
}

/* The same-host peering direction B -> A works once A exports VM1 to B,
 * and a policy removed stops the next packet (no state is kept).
 */
static void test_port_policy_changes_apply_at_once(void **state)
{
	static const struct row b_to_a_allowed[] = {
		{"same host, B to A after A exports VM1 to B", P_TC_PORT, .dev = DEV_VM3,
		 .in = {.kind = PK_IP, .smac = VM3_MAC, .ip = {.src = VM3_IP, .dst = VM1_IP}},
		 .want = LOCAL(VM1_MAC)},
	};
	static const struct row b_to_a_denied[] = {
		{"same host, B to A after the policy is removed", P_TC_PORT, .dev = DEV_VM3,
		 .in = {.kind = PK_IP, .smac = VM3_MAC, .ip = {.src = VM3_IP, .dst = VM1_IP}},
		 .want = DROP(DROP_POLICY)},
	};
	struct fixture *f = *state;
	struct zh_policy_key key = {.prefixlen = 64 + 32, .vni = VNI_A, .peer_vni = VNI_B,
				    .addr = pkt_addr(VM1_IP)};

	scene_port(f);
	add_policy(f, VNI_A, VNI_B, VM1_IP, 32, ZH_PROTO_ANY);
	run_table(f, b_to_a_allowed, ARRAY_SIZE(b_to_a_allowed));
	assert_int_equal(bpf_map_delete_elem(f->policy_fd, &key), 0);
	run_table(f, b_to_a_denied, ARRAY_SIZE(b_to_a_denied));
}

static void test_port_mtu_and_icmp_frag_needed(void **state)
{
	scene_port(*state);
	run_table(*state, mtu_rows, ARRAY_SIZE(mtu_rows));
}

/* The outer UDP source port of one encapsulated packet from vm1. */
static uint16_t outer_sport(struct fixture *f, struct result *r, uint8_t proto, uint16_t sport,
			    const char *dst)
{
	struct pkt_ip ip = {.src = VM1_IP, .dst = dst, .proto = proto, .sport = sport,
			    .dport = 443, .payload = 32};
	uint8_t in[256];
	size_t len = pkt_ip_frame(in, ROUTER_MAC, VM1_MAC, &ip);
	uint16_t port;
	int err;

	err = prog_run(f, P_TC_PORT, f->ifindex[DEV_VM1], 0, in, len, r);
	if (err)
		fail_msg("flow %u -> %s: BPF_PROG_TEST_RUN failed: %s", sport, dst,
			 strerror(-err));
	if (r->retval != TC_ACT_REDIRECT || r->out_len != len + ZH_ENCAP_OVERHEAD)
		fail_msg("flow %u -> %s: verdict %d, %u bytes; want an encapsulated packet",
			 sport, dst, r->retval, r->out_len);
	memcpy(&port, r->out + ETH_HLEN + sizeof(struct iphdr), 2);
	port = ntohs(port);
	if (port < 49152)
		fail_msg("flow %u -> %s: outer UDP source port %u is outside 49152-65535", sport,
			 dst, port);
	return port;
}

/* The outer UDP source port is a flow hash: stable for a flow, spread
 * over flows, always in 49152-65535.
 */
static void test_port_source_port_is_a_flow_hash(void **state)
{
	static const uint8_t protos[] = {IPPROTO_UDP, IPPROTO_TCP};
	struct fixture *f = *state;
	struct result *r = malloc(sizeof(*r));
	size_t p;

	assert_non_null(r);
	scene_port(f);
	assert_int_equal(set_uplink_forwarding(true), 0);
	for (p = 0; p < ARRAY_SIZE(protos); p++) {
		const char *name = protos[p] == IPPROTO_TCP ? "TCP" : "UDP";
		uint16_t first = outer_sport(f, r, protos[p], 40000, "10.0.0.5");
		uint16_t again = outer_sport(f, r, protos[p], 40000, "10.0.0.5");
		uint16_t ports[16];
		int i, j, distinct = 0;

		if (first != again)
			fail_msg("%s: the same flow got source ports %u and %u", name, first, again);
		for (i = 0; i < 16; i++) {
			ports[i] = outer_sport(f, r, protos[p], (uint16_t)(40000 + i), "10.0.0.5");
			for (j = 0; j < i && ports[j] != ports[i]; j++)
				;
			distinct += j == i;
		}
		if (distinct < 2)
			fail_msg("%s: 16 flows (source ports 40000-40015) share one outer source "
				 "port %u", name, ports[0]);
		/* The destination is part of the flow too. */
		for (i = 0, distinct = 0; i < 16; i++) {
			char dst[16];

			snprintf(dst, sizeof(dst), "10.9.2.%d", i + 1);
			ports[i] = outer_sport(f, r, protos[p], 40000, dst);
			for (j = 0; j < i && ports[j] != ports[i]; j++)
				;
			distinct += j == i;
		}
		if (distinct < 2)
			fail_msg("%s: 16 destinations share one outer source port %u", name,
				 ports[0]);
	}
	free(r);
}

/* One 64-byte UDP frame from vm1 to 10.0.0.5 (behind HOST2) through
 * tc_port; returns the verdict, the output in r.
 */
static int encap_once(struct fixture *f, struct result *r)
{
	struct pkt_ip ip = {.src = VM1_IP, .dst = "10.0.0.5", .sport = 4321, .dport = 9,
			    .payload = 22};
	uint8_t in[256];
	size_t len = pkt_ip_frame(in, ROUTER_MAC, VM1_MAC, &ip);

	if (prog_run(f, P_TC_PORT, f->ifindex[DEV_VM1], 0, in, len, r))
		fail_msg("BPF_PROG_TEST_RUN failed: %s", strerror(errno));
	return r->retval;
}

/* The entry for HOST2 (DSCP 0) on every CPU; returns how many CPUs hold it
 * (the test runs pinned to one CPU, so 0 or 1) and copies one out.
 */
static int nexthop_entries(struct fixture *f, struct zh_nexthop_entry *out)
{
	struct zh_nexthop_entry vals[f->ncpu];
	__u32 slot = zh_nexthop_slot(pkt_addr(HOST2), 0);
	int c, n = 0;

	if (bpf_map_lookup_elem(f->nexthops_fd, &slot, vals))
		fail_msg("zh_nexthops lookup: %s", strerror(errno));
	for (c = 0; c < f->ncpu; c++)
		if (vals[c].host_ip == pkt_addr(HOST2)) {
			*out = vals[c];
			n++;
		}
	return n;
}

/* Change HOST2's entry on every CPU that holds it. */
static void nexthop_patch(struct fixture *f, uint64_t expires, uint16_t mtu)
{
	struct zh_nexthop_entry vals[f->ncpu];
	__u32 slot = zh_nexthop_slot(pkt_addr(HOST2), 0);
	int c;

	if (bpf_map_lookup_elem(f->nexthops_fd, &slot, vals))
		fail_msg("zh_nexthops lookup: %s", strerror(errno));
	for (c = 0; c < f->ncpu; c++)
		if (vals[c].host_ip == pkt_addr(HOST2)) {
			vals[c].expires = expires;
			vals[c].mtu = mtu;
		}
	if (bpf_map_update_elem(f->nexthops_fd, &slot, vals, BPF_ANY))
		fail_msg("zh_nexthops update: %s", strerror(errno));
}

static void want_outer_macs(struct result *r, const char *what, const uint8_t *dst,
			    const uint8_t *src)
{
	if (memcmp(r->out, dst, 6) || memcmp(r->out + 6, src, 6))
		fail_msg("%s: outer MACs %02x:..:%02x > %02x:..:%02x, want ..:%02x > ..:%02x",
			 what, r->out[6], r->out[11], r->out[0], r->out[5], src[5], dst[5]);
}

/* A successful FIB lookup is remembered per CPU in zh_nexthops for
 * ZH_NH_TTL_MS: later packets to the same host take the outer MACs and the
 * egress from there (even when the FIB would now answer otherwise), an
 * expired entry is looked up again, and a cached egress MTU is enforced as
 * the FIB does (drop_fib).
 */
static void test_port_next_hop_cache(void **state)
{
	struct fixture *f = *state;
	struct result *r = malloc(sizeof(*r));
	struct zh_nexthop_entry e;
	cpu_set_t old, one;
	int cpu = sched_getcpu();

	assert_non_null(r);
	assert_true(cpu >= 0);
	/* Per-CPU entries: stay on one CPU for the whole test. */
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	scene_port(f);

	assert_int_equal(set_uplink_forwarding(true), 0);
	assert_int_equal(nexthop_entries(f, &e), 0);
	assert_int_equal(encap_once(f, r), TC_ACT_REDIRECT);
	want_outer_macs(r, "first packet (FIB)", HOST2_MAC, UPL_MAC);
	assert_int_equal(nexthop_entries(f, &e), 1);
	assert_memory_equal(e.dmac, HOST2_MAC, 6);
	assert_memory_equal(e.smac, UPL_MAC, 6);
	assert_int_equal(e.ifindex, f->ifindex[DEV_UPL]);
	assert_int_equal(e.mtu, 1500);
	assert_int_equal(e.dscp, 0);
	assert_true(e.expires > 0);

	/* Forwarding off: the FIB would answer FWD_DISABLED, but the entry
	 * is fresh, so the packet still gets the cached MACs.
	 */
	assert_int_equal(set_uplink_forwarding(false), 0);
	assert_int_equal(encap_once(f, r), TC_ACT_REDIRECT);
	want_outer_macs(r, "fresh entry, forwarding off", HOST2_MAC, UPL_MAC);

	/* Expired: the FIB again, which now leaves the MACs to
	 * bpf_redirect_neigh() (the input's MACs stay).
	 */
	nexthop_patch(f, 1, 1500);
	assert_int_equal(encap_once(f, r), TC_ACT_REDIRECT);
	want_outer_macs(r, "expired entry, forwarding off", ROUTER_MAC, VM1_MAC);

	/* A cached egress MTU too small for the frame: drop_fib, as the FIB's
	 * own check would.
	 */
	assert_int_equal(set_uplink_forwarding(true), 0);
	nexthops_clear(f);
	assert_int_equal(encap_once(f, r), TC_ACT_REDIRECT);
	nexthop_patch(f, UINT64_MAX, 60);
	assert_int_equal(encap_once(f, r), TC_ACT_SHOT);
	assert_int_equal(r->delta[ZH_CNT_ENCAP_VXLAN], 1);
	assert_int_equal(r->delta[ZH_CNT_DROP_FIB], 1);

	nexthops_clear(f);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);
	free(r);
}

/* All program objects must share one zh_stats through the pins. */
static void test_objects_share_pinned_maps(void **state)
{
	struct fixture *f = *state;
	struct bpf_map_info info;
	__u32 len = sizeof(info), stats_id;
	int p;

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_map_get_info_by_fd(f->stats_fd, &info, &len), 0);
	stats_id = info.id;
	for (p = 0; p < P_MAX; p++) {
		struct bpf_prog_info pinfo;
		__u32 ids[16], plen = sizeof(pinfo), i;
		bool found = false;

		memset(&pinfo, 0, sizeof(pinfo));
		pinfo.nr_map_ids = ARRAY_SIZE(ids);
		pinfo.map_ids = (uintptr_t)ids;
		assert_int_equal(bpf_prog_get_info_by_fd(f->progs[p].prog_fd, &pinfo, &plen), 0);
		for (i = 0; i < pinfo.nr_map_ids && i < ARRAY_SIZE(ids); i++)
			found |= ids[i] == stats_id;
		if (!found)
			fail_msg("%s does not use the pinned zh_stats (id %u)", prog_names[p],
				 stats_id);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_admission_and_drops),
		cmocka_unit_test(test_port_answers_arp_with_router_mac),
		cmocka_unit_test(test_port_delivers_same_host),
		cmocka_unit_test(test_port_delivers_to_peer_netns_ports),
		cmocka_unit_test(test_port_encapsulates_to_remote_hosts),
		cmocka_unit_test(test_port_underlay_next_hop),
		cmocka_unit_test(test_port_next_hop_cache),
		cmocka_unit_test(test_port_mtu_and_icmp_frag_needed),
		cmocka_unit_test(test_port_enforces_export_policies),
		cmocka_unit_test(test_port_policy_changes_apply_at_once),
		cmocka_unit_test(test_port_source_port_is_a_flow_hash),
		cmocka_unit_test(test_objects_share_pinned_maps),
	};

	if (netns_enter()) {
		printf("1..1\nok 1 # SKIP BPF_PROG_TEST_RUN needs root and a private netns "
		       "(run: sudo make check)\n");
		return 0;
	}
	return cmocka_run_group_tests_name("bpf_port", tests, fixture_setup, fixture_teardown);
}
