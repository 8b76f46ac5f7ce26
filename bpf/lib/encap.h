/* SPDX-License-Identifier: GPL-2.0-only */
/* Encapsulation (TC): VXLAN (RFC 7348) or Geneve (RFC 8926) over IPv4/UDP,
 * then out of the uplink toward the next hop the kernel FIB resolves.
 */
#ifndef ZH_BPF_ENCAP_H
#define ZH_BPF_ENCAP_H

#include "config.h"
#include "csum.h"
#include "lookup.h"
#include "maps.h"
#include "parse.h"
#include "stats.h"

#define AF_INET_ 2

/* The kernel's tick rate, from its config (libbpf reads /proc/config.gz or
 * /boot/config-*). Without one, assume 1000: the cache then lives 100
 * ticks, 100 ms to 1 s.
 */
extern unsigned int CONFIG_HZ __kconfig __weak;

static __always_inline __u64 nexthop_ttl_jiffies(void)
{
	return (CONFIG_HZ ? CONFIG_HZ : 1000) * ZH_NH_TTL_MS / 1000;
}

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

/* The outer headers, written straight into the room bpf_skb_adjust_room()
 * made, word by word (x86 and arm64 take unaligned stores; the verifier
 * allows them without BPF_F_STRICT_ALIGNMENT). Byte order: every constant
 * below is the wire image of its word.
 */
static __always_inline void encap_write(struct encap_hdrs *h, const struct zh_nexthop *nh,
					__u32 outer_len, __u16 sport, __u8 tos)
{
	__u32 saddr = zh_cfg.underlay_ip, daddr = nh->host_ip;
	__u32 *w = (void *)h;
	__u32 sum;

	/* IPv4: 4/5, TOS, total length; id 0, DF; TTL 64, UDP, checksum. */
	w[0] = bpf_htonl(0x45000000 | ((__u32)tos << 16) | outer_len);
	w[1] = bpf_htonl(IP_DF);
	sum = bpf_htons(0x4500 | tos) + bpf_htons(outer_len) + bpf_htons(IP_DF) +
	      bpf_htons(64 << 8 | IPPROTO_UDP_) + (saddr & 0xffff) + (saddr >> 16) +
	      (daddr & 0xffff) + (daddr >> 16);
	w[2] = bpf_htonl(64 << 24 | IPPROTO_UDP_ << 16);
	h->ip.check = csum_fold(sum);
	w[3] = saddr;
	w[4] = daddr;
	/* UDP: source port (flow hash), tunnel port; length, checksum 0
	 * (allowed for UDP over IPv4 tunnels, RFC 7348, RFC 8926).
	 */
	if (nh->encap == ZH_ENCAP_GENEVE) {
		w[5] = bpf_htonl((__u32)sport << 16 | ZH_GENEVE_PORT);
		/* Geneve: version 0, no options, O and C clear, TEB. */
		w[7] = bpf_htonl(ETH_P_TEB);
	} else {
		w[5] = bpf_htonl((__u32)sport << 16 | ZH_VXLAN_PORT);
		/* VXLAN: the I flag. */
		w[7] = bpf_htonl(ZH_VXLAN_F_I << 24);
	}
	w[6] = bpf_htonl((outer_len - sizeof(struct iphdr)) << 16);
	w[8] = bpf_htonl(nh->vni << 8);
	/* Inner Ethernet: the endpoint's MAC, the router MAC, IPv4. */
	__builtin_memcpy(h->eth.h_dest, nh->mac, 6);
	cfg_router_mac(h->eth.h_source);
	h->eth.h_proto = bpf_htons(ETH_P_IP);
}

/* Outer MACs and redirect for a next hop the FIB resolved. The FIB checked
 * the frame against the egress MTU (is_skb_forwardable()); a cached next hop
 * does the same check here.
 */
static __always_inline int nexthop_send(struct __sk_buff *skb, const __u8 *dmac, const __u8 *smac,
					__u32 ifindex)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return stats_drop_skb(skb, ZH_CNT_DROP_ERROR);
	__builtin_memcpy(eth->h_dest, dmac, 6);
	__builtin_memcpy(eth->h_source, smac, 6);
	return bpf_redirect(ifindex, 0);
}

/* Encapsulate the skb (Ethernet + inner IPv4) toward nh and redirect it.
 * Returns a TC verdict; counts the action or the drop.
 */
static __always_inline int encap_and_redirect(struct __sk_buff *skb, const struct zh_nexthop *nh,
					      __u16 sport, __u8 tos)
{
	/* FIXED_GSO: gso_size is the inner segment's payload, which the
	 * outer headers do not change; without it the kernel would shrink
	 * every segment by the 50 bytes added here.
	 */
	const __u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 |
			    BPF_F_ADJ_ROOM_ENCAP_L4_UDP | BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
			    BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);
	__u32 outer_len = skb->len - ETH_HLEN + sizeof(struct encap_hdrs);
	__u8 dscp = tos & 0xfc;
	__u32 slot = zh_nexthop_slot(nh->host_ip, dscp);
	struct zh_nexthop_entry *e;
	struct bpf_fib_lookup fib;
	void *data, *data_end;
	__u64 now;
	int rc;

	if (outer_len > 0xffff) /* a GSO super-packet: segmentation fixes it */
		outer_len = 0xffff;
	if (bpf_skb_adjust_room(skb, sizeof(struct encap_hdrs), BPF_ADJ_ROOM_MAC, flags))
		return stats_drop_skb(skb, ZH_CNT_DROP_ERROR);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data + ETH_HLEN + sizeof(struct encap_hdrs) > data_end)
		return stats_drop_skb(skb, ZH_CNT_DROP_ERROR);
	encap_write(data + ETH_HLEN, nh, outer_len, sport, tos);

	stats_count(nh->encap == ZH_ENCAP_GENEVE ? ZH_CNT_ENCAP_GENEVE : ZH_CNT_ENCAP_VXLAN,
		    skb->len);
	if (nh->peer)
		stats_count(ZH_CNT_ENCAP_PEER, skb->len);

	/* The underlay next hop comes from the kernel's FIB and neighbour
	 * table, remembered per CPU for ZH_NH_TTL_MS (zh_nexthops).
	 */
	now = bpf_jiffies64();
	e = bpf_map_lookup_elem(&zh_nexthops, &slot);
	if (e && e->host_ip == nh->host_ip && e->dscp == dscp && now < e->expires) {
		if (skb->len > (__u32)e->mtu + ETH_HLEN + 4 && !skb->gso_size)
			return stats_drop_skb(skb, ZH_CNT_DROP_FIB);
		return nexthop_send(skb, e->dmac, e->smac, e->ifindex);
	}

	/* Resolved MACs take the fast path (and are remembered); otherwise
	 * the kernel resolves the neighbour. tot_len 0: the FIB checks the
	 * encapsulated frame against the egress MTU (GSO passes).
	 */
	__builtin_memset(&fib, 0, sizeof(fib));
	fib.family = AF_INET_;
	fib.tos = tos;
	fib.l4_protocol = IPPROTO_UDP_;
	fib.ifindex = zh_cfg.uplink_ifindex;
	fib.ipv4_src = zh_cfg.underlay_ip;
	fib.ipv4_dst = nh->host_ip;
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		if (e) {
			e->host_ip = nh->host_ip;
			e->dscp = dscp;
			e->ifindex = fib.ifindex;
			e->mtu = fib.mtu_result;
			__builtin_memcpy(e->dmac, fib.dmac, 6);
			__builtin_memcpy(e->smac, fib.smac, 6);
			e->expires = now + nexthop_ttl_jiffies();
		}
		return nexthop_send(skb, fib.dmac, fib.smac, fib.ifindex);
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
