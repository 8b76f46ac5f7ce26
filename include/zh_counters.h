/* SPDX-License-Identifier: GPL-2.0-only */
/* Counter ids shared by the BPF programs and user space.
 *
 * One X-macro list keeps the enum (used by BPF), the names printed by
 * `zerohop status` and their help text in one place.
 * Append new counters at the end: the id is the index into the pinned
 * zh_stats map, so reordering would mislabel counters of a running instance.
 */
#ifndef ZH_COUNTERS_H
#define ZH_COUNTERS_H

#define ZH_COUNTERS(X)                                                                     \
	X(XDP_UPLINK_RX, "xdp_uplink_rx", "frames seen by xdp_uplink on the uplink")      \
	X(TC_UPLINK_RX, "tc_uplink_rx", "packets seen by tc_uplink (TC ingress, uplink)")  \
	X(TC_PORT_RX, "tc_port_rx", "packets seen by tc_port (TC ingress, VM ports)")      \
	X(PASS_STACK, "pass_stack", "uplink traffic that is not ours, passed to the host stack") \
	X(XDP_TO_TC, "xdp_to_tc", "overlay packets xdp_uplink leaves to tc_uplink (port not in zh_devmap, or a GSO aggregate)") \
	X(ARP_REPLY, "arp_reply", "ARP requests from VMs answered with the router MAC")   \
	X(FWD_LOCAL, "fwd_local", "VM to VM on the same host: routed and redirected")     \
	X(ENCAP_VXLAN, "encap_vxlan", "packets encapsulated in VXLAN to another host")     \
	X(ENCAP_GENEVE, "encap_geneve", "packets encapsulated in Geneve to another host")  \
	X(ENCAP_PEER, "encap_peer", "of those, sent with a peer network's VNI (proxyless peering)") \
	X(DECAP_XDP, "decap_xdp", "tunnel packets decapsulated by xdp_uplink, redirected to a port") \
	X(DECAP_TC, "decap_tc", "tunnel packets decapsulated by tc_uplink, redirected to a port") \
	X(ICMP_FRAG_NEEDED, "icmp_frag_needed", "ICMP fragmentation-needed sent back to a VM") \
	X(DROP_NO_PORT, "drop_no_port", "frames from an interface without a port record") \
	X(DROP_SPOOF, "drop_spoof", "frames whose source MAC or IPv4 is not the port's")  \
	X(DROP_ARP, "drop_arp", "ARP that is not a request for another address")          \
	X(DROP_PROTO, "drop_proto", "ethertypes the overlay does not carry (IPv6 for now, ...)") \
	X(DROP_MALFORMED, "drop_malformed", "truncated or invalid IPv4 or tunnel headers") \
	X(DROP_NO_ROUTE, "drop_no_route", "no endpoint or route for the destination in its VNI") \
	X(DROP_RPF, "drop_rpf", "tunnel packets whose inner source is not behind the outer source host") \
	X(DROP_TOO_BIG, "drop_too_big", "packets too big for the uplink after encapsulation (not DF)") \
	X(DROP_TTL, "drop_ttl", "packets whose TTL ran out")                               \
	X(DROP_FIB, "drop_fib", "no underlay route to the destination host")               \
	X(DROP_ERROR, "drop_error", "a BPF helper failed (adjust_room, store_bytes, ...)") \
	X(DROP_POLICY, "drop_policy", "peering traffic the destination network's export policy does not allow")

enum zh_counter_id {
#define ZH_COUNTER_ENUM(id, name, help) ZH_CNT_##id,
	ZH_COUNTERS(ZH_COUNTER_ENUM)
#undef ZH_COUNTER_ENUM
	ZH_CNT_MAX,
};

#endif /* ZH_COUNTERS_H */
