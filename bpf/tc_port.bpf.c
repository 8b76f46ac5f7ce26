// SPDX-License-Identifier: GPL-2.0-only
/* tc_port: TC ingress on the host side of a VM port (veth or tap), i.e.
 * every frame a VM sends. Anti-spoofing, ARP answers, then routing by
 * (VNI, destination): same-host delivery, or encapsulation to the host of
 * the destination (with the peer network's VNI for peer endpoints).
 */
#include "lib/common.h"
#include "lib/arp.h"
#include "lib/config.h"
#include "lib/csum.h"
#include "lib/encap.h"
#include "lib/hash.h"
#include "lib/icmp.h"
#include "lib/lookup.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/stats.h"

/* Enough linear bytes for Ethernet, IPv4 with options, and L4 ports. */
#define PORT_PULL_LEN (14 + 60 + 20)
/* What the program reads: Ethernet, IPv4 with its options, and the first
 * 14 bytes of L4 (the ports; the TCP data offset). Without IPv4 options
 * that is 48 bytes, which covers an Ethernet/IPv4 ARP frame (42) too.
 */
#define PORT_READ_LEN (14 + 20 + 14)

/* Are the headers tc_port reads (or the whole frame, if shorter) linear?
 * A TCP segment from a VM has exactly its headers in the linear part, often
 * fewer than PORT_PULL_LEN bytes; pulling would copy payload out of the
 * page frags for nothing.
 */
static __always_inline bool port_headers_linear(struct __sk_buff *skb)
{
	void *data = skb_data(skb), *data_end = skb_data_end(skb);
	__u32 len = skb->len, need = PORT_READ_LEN;
	struct ethhdr *eth = data;
	__u8 *ver_ihl = data + ETH_HLEN;

	if (need > len)
		need = len;
	if (data + need > data_end)
		return false;
	if ((void *)(ver_ihl + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) ||
	    (*ver_ihl & 0xf) <= 5)
		return true;
	/* IPv4 options move the ports. */
	need = ETH_HLEN + (*ver_ihl & 0xf) * 4 + 14;
	if (need > len)
		need = len;
	return data + need <= data_end;
}

struct tcp_doff {
	__u16 ports[2];
	__u32 seq, ack;
	__u8 doff_res; /* data offset in the high nibble */
};

/* Length of the inner IPv4 packets this skb becomes on the wire: the whole
 * packet, or for a GSO super-packet the IP + L4 headers plus one segment.
 */
static __always_inline __u32 wire_l3_len(struct __sk_buff *skb, struct iphdr *ip, void *data_end)
{
	__u32 hlen = ip->ihl * 4, l4 = 0;

	if (!skb->gso_size)
		return bpf_ntohs(ip->tot_len);
	if (ip->protocol == IPPROTO_TCP_) {
		struct tcp_doff *t = (void *)ip + hlen;

		l4 = 60;
		if ((void *)(t + 1) <= data_end)
			l4 = (t->doff_res >> 4) * 4;
	} else if (ip->protocol == IPPROTO_UDP_) {
		l4 = 8;
	}
	return hlen + l4 + skb->gso_size;
}

static __always_inline __u16 ip_flow_sport(struct iphdr *ip, void *data_end)
{
	__u32 ports = 0;
	__u32 *l4 = (void *)ip + ip->ihl * 4;

	if ((ip->protocol == IPPROTO_TCP_ || ip->protocol == IPPROTO_UDP_) &&
	    !ip_is_fragment(ip) && (void *)(l4 + 1) <= data_end)
		ports = *l4;
	return flow_source_port(ip->saddr, ip->daddr, ports, ip->protocol);
}

static __always_inline int route_ipv4(struct __sk_buff *skb, const struct zh_port *port)
{
	void *data = skb_data(skb), *data_end = skb_data_end(skb);
	struct hdr_cursor cur = {.pos = data + ETH_HLEN};
	struct ethhdr *eth = data;
	struct zh_nexthop nh = {};
	struct iphdr *ip;
	__u32 l3_len;
	int r;

	if ((void *)(eth + 1) > data_end || parse_iphdr(&cur, data_end, &ip) < 0)
		return stats_drop_skb(skb, ZH_CNT_DROP_MALFORMED);
	if (ip->saddr != port->ip)
		return stats_drop_skb(skb, ZH_CNT_DROP_SPOOF);
	if (ip->ttl <= 1)
		return stats_drop_skb(skb, ZH_CNT_DROP_TTL);
	r = nexthop_resolve(port->vni, ip->daddr, &nh);
	if (r)
		return stats_drop_skb(skb, r);
	/* Another network (remote, or served on this host): its export
	 * policy toward ours decides. Traffic within a VNI never looks.
	 */
	if (nh.peer && !policy_allows(nh.vni, port->vni, ip->daddr, ip->protocol))
		return stats_drop_skb(skb, ZH_CNT_DROP_POLICY);

	if (nh.ifindex) {
		/* Same host: one routed hop. */
		ipv4_decrease_ttl(ip);
		__builtin_memcpy(eth->h_dest, nh.mac, 6);
		cfg_router_mac(eth->h_source);
		stats_count(ZH_CNT_FWD_LOCAL, skb->len);
		return port_redirect(&nh);
	}

	l3_len = wire_l3_len(skb, ip, data_end);
	if (l3_len + ZH_ENCAP_OVERHEAD > zh_cfg.mtu) {
		if (ip->frag_off & bpf_htons(IP_DF))
			return icmp_send_frag_needed(skb, port, zh_cfg.mtu - ZH_ENCAP_OVERHEAD);
		return stats_drop_skb(skb, ZH_CNT_DROP_TOO_BIG);
	}
	return encap_and_redirect(skb, &nh, ip_flow_sport(ip, data_end), ip->tos);
}

SEC("tc")
int tc_port(struct __sk_buff *skb)
{
	__u32 ifindex = skb->ifindex, pull = PORT_PULL_LEN;
	struct zh_port *port;
	void *data, *data_end;
	struct ethhdr *eth;

	stats_count(ZH_CNT_TC_PORT_RX, skb->len);
	port = bpf_map_lookup_elem(&zh_ports, &ifindex);
	if (!port)
		return stats_drop_skb(skb, ZH_CNT_DROP_NO_PORT);
	if (pull > skb->len)
		pull = skb->len;
	/* Pull only a frame whose headers are not all linear yet. */
	if (!port_headers_linear(skb))
		bpf_skb_pull_data(skb, pull);

	data = skb_data(skb);
	data_end = skb_data_end(skb);
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return stats_drop_skb(skb, ZH_CNT_DROP_MALFORMED);
	if (!mac_eq(eth->h_source, port->mac))
		return stats_drop_skb(skb, ZH_CNT_DROP_SPOOF);

	switch (bpf_ntohs(eth->h_proto)) {
	case ETH_P_IP:
		return route_ipv4(skb, port);
	case ETH_P_ARP:
		return arp_respond(skb, port);
	default:
		return stats_drop_skb(skb, ZH_CNT_DROP_PROTO);
	}
}

char LICENSE[] SEC("license") = "GPL";
