/* SPDX-License-Identifier: GPL-2.0-only */
/* ICMP "fragmentation needed" (type 3 code 4, RFC 1191) back to a VM whose
 * DF packet would not fit the uplink after encapsulation.
 */
#ifndef ZH_BPF_ICMP_H
#define ZH_BPF_ICMP_H

#include "config.h"
#include "csum.h"
#include "parse.h"
#include "stats.h"

/* The reply: Ethernet, IPv4, ICMP header, then the offending IPv4 header
 * and the first 8 bytes of its payload: the first 28 bytes of the packet,
 * which is exactly that for an option-less header (RFC 792 asks for no
 * more).
 */
struct icmp_frag_needed {
	struct ethhdr eth;
	struct iphdr ip;
	__u8 type;
	__u8 code;
	__u16 check;
	__u16 unused;
	__be16 mtu;
	__u8 quote[28];
} __attribute__((packed));

static __always_inline int icmp_send_frag_needed(struct __sk_buff *skb, const struct zh_port *port,
						 __u16 mtu)
{
	struct icmp_frag_needed r = {};
	struct iphdr ip = {};
	__u32 sum;

	if (bpf_skb_load_bytes(skb, ETH_HLEN, r.quote, sizeof(r.quote)))
		return stats_drop_skb(skb, ZH_CNT_DROP_ERROR);
	__builtin_memcpy(r.eth.h_dest, port->mac, 6);
	cfg_router_mac(r.eth.h_source);
	r.eth.h_proto = bpf_htons(ETH_P_IP);
	ip.version = 4;
	ip.ihl = 5;
	ip.tos = 0xc0; /* internetwork control */
	ip.tot_len = bpf_htons(sizeof(r) - sizeof(r.eth));
	ip.ttl = 64;
	ip.protocol = IPPROTO_ICMP_;
	/* From the address the VM was trying to reach, as its path's router
	 * would; the quoted header tells the VM which flow to adjust.
	 */
	__builtin_memcpy(&ip.saddr, r.quote + 16, 4);
	ip.daddr = port->ip;
	ip.check = ipv4_csum(&ip);
	__builtin_memcpy(&r.ip, &ip, sizeof(ip));
	r.type = 3;
	r.code = 4;
	r.mtu = bpf_htons(mtu);
	sum = bpf_csum_diff(NULL, 0, (__be32 *)&r.type, 36, 0);
	r.check = csum_fold(sum);

	if (bpf_skb_change_tail(skb, sizeof(r), 0) ||
	    bpf_skb_store_bytes(skb, 0, &r, sizeof(r), 0))
		return stats_drop_skb(skb, ZH_CNT_DROP_ERROR);
	stats_count(ZH_CNT_ICMP_FRAG_NEEDED, sizeof(r));
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* ZH_BPF_ICMP_H */
