/* SPDX-License-Identifier: GPL-2.0-only */
/* Encapsulation (TC): VXLAN (RFC 7348) or Geneve (RFC 8926) over IPv4/UDP,
 * then out of the uplink toward the next hop the kernel FIB resolves.
 */
#ifndef ZH_BPF_ENCAP_H
#define ZH_BPF_ENCAP_H

#include "config.h"
#include "csum.h"
#include "lookup.h"
#include "parse.h"
#include "stats.h"

#define AF_INET_ 2

/* What goes between the outer Ethernet header and the inner IPv4 packet. */
struct encap_hdrs {
	struct iphdr ip;
	struct udphdr udp;
	union {
		struct zh_vxlanhdr vxlan;
		struct zh_genevehdr geneve;
	};
	struct ethhdr eth;
} __attribute__((packed));

_Static_assert(sizeof(struct encap_hdrs) == ZH_ENCAP_OVERHEAD, "encap overhead");

/* Encapsulate the skb (Ethernet + inner IPv4) toward nh and redirect it.
 * Returns a TC verdict; counts the action or the drop.
 */
static __always_inline int encap_and_redirect(struct __sk_buff *skb, const struct zh_nexthop *nh,
					      __u16 sport, __u8 tos)
{
	const __u64 flags = BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
			    BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);
	__u32 inner_len = skb->len - ETH_HLEN;
	__u32 outer_len = inner_len + sizeof(struct encap_hdrs);
	struct bpf_fib_lookup fib = {};
	struct encap_hdrs h = {};
	struct iphdr ip = {};
	int rc;

	if (outer_len > 0xffff) /* a GSO super-packet: segmentation fixes it */
		outer_len = 0xffff;
	ip.version = 4;
	ip.ihl = 5;
	ip.tos = tos;
	ip.tot_len = bpf_htons(outer_len);
	ip.frag_off = bpf_htons(IP_DF);
	ip.ttl = 64;
	ip.protocol = IPPROTO_UDP_;
	ip.saddr = zh_cfg.underlay_ip;
	ip.daddr = nh->host_ip;
	ip.check = ipv4_csum(&ip);
	__builtin_memcpy(&h.ip, &ip, sizeof(ip));
	h.udp.source = bpf_htons(sport);
	h.udp.len = bpf_htons(outer_len - sizeof(struct iphdr));
	h.udp.check = 0; /* allowed for UDP over IPv4 tunnels (RFC 7348, 8926) */
	if (nh->encap == ZH_ENCAP_GENEVE) {
		h.udp.dest = bpf_htons(ZH_GENEVE_PORT);
		h.geneve.proto = bpf_htons(ETH_P_TEB);
		vni_to_bytes(nh->vni, h.geneve.vni);
	} else {
		h.udp.dest = bpf_htons(ZH_VXLAN_PORT);
		h.vxlan.flags = ZH_VXLAN_F_I;
		vni_to_bytes(nh->vni, h.vxlan.vni);
	}
	__builtin_memcpy(h.eth.h_dest, nh->mac, 6);
	cfg_router_mac(h.eth.h_source);
	h.eth.h_proto = bpf_htons(ETH_P_IP);

	if (bpf_skb_adjust_room(skb, sizeof(h), BPF_ADJ_ROOM_MAC, flags) ||
	    bpf_skb_store_bytes(skb, ETH_HLEN, &h, sizeof(h), 0))
		return stats_drop_skb(skb, ZH_CNT_DROP_ERROR);

	stats_count(nh->encap == ZH_ENCAP_GENEVE ? ZH_CNT_ENCAP_GENEVE : ZH_CNT_ENCAP_VXLAN,
		    skb->len);
	if (nh->peer)
		stats_count(ZH_CNT_ENCAP_PEER, skb->len);

	/* The underlay next hop comes from the kernel's FIB and neighbour
	 * table: resolved MACs take the fast path, otherwise the kernel
	 * resolves the neighbour. tot_len 0 skips the FIB's MTU check (ours
	 * ran already, GSO-aware).
	 */
	fib.family = AF_INET_;
	fib.tos = tos;
	fib.l4_protocol = IPPROTO_UDP_;
	fib.ifindex = zh_cfg.uplink_ifindex;
	fib.ipv4_src = zh_cfg.underlay_ip;
	fib.ipv4_dst = nh->host_ip;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		__u8 macs[12];

		__builtin_memcpy(macs, fib.dmac, 6);
		__builtin_memcpy(macs + 6, fib.smac, 6);
		if (bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0))
			return stats_drop_skb(skb, ZH_CNT_DROP_ERROR);
		return bpf_redirect(fib.ifindex, 0);
	}
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh_addr = {.nh_family = AF_INET_, .ipv4_nh = fib.ipv4_dst};

		return bpf_redirect_neigh(fib.ifindex, &nh_addr, sizeof(nh_addr), 0);
	}
	if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED)
		/* bpf_fib_lookup() wants forwarding on the uplink; without it
		 * the kernel routes the outer header itself.
		 */
		return bpf_redirect_neigh(zh_cfg.uplink_ifindex, NULL, 0, 0);
	return stats_drop_skb(skb, ZH_CNT_DROP_FIB);
}

#endif /* ZH_BPF_ENCAP_H */
