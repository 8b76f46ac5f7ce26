/* SPDX-License-Identifier: GPL-2.0-only */
/* ARP responder on VM ports: every request for another address is answered
 * with the router MAC, so VMs need no flooding and no MAC learning.
 */
#ifndef ZH_BPF_ARP_H
#define ZH_BPF_ARP_H

#include "config.h"
#include "parse.h"
#include "stats.h"

static __always_inline bool mac_eq(const __u8 *a, const __u8 *b)
{
	return a[0] == b[0] && a[1] == b[1] && a[2] == b[2] && a[3] == b[3] && a[4] == b[4] &&
	       a[5] == b[5];
}

/* The frame at data is ARP from `port` (source MAC already checked). */
static __always_inline int arp_respond(struct __sk_buff *skb, const struct zh_port *port)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct zh_arp *arp = (void *)(eth + 1);
	__u8 tpa[4];
	__u32 spa;

	if ((void *)(arp + 1) > data_end)
		return stats_drop_skb(skb, ZH_CNT_DROP_MALFORMED);
	if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != 6 ||
	    arp->plen != 4)
		return stats_drop_skb(skb, ZH_CNT_DROP_MALFORMED);
	if (!mac_eq(arp->sha, port->mac))
		return stats_drop_skb(skb, ZH_CNT_DROP_SPOOF);
	/* Requests only, from the port's own address, for another address:
	 * a probe (sender 0.0.0.0) or an announcement of its own address
	 * needs no answer.
	 */
	if (arp->op != bpf_htons(1))
		return stats_drop_skb(skb, ZH_CNT_DROP_ARP);
	__builtin_memcpy(&spa, arp->spa, 4);
	__builtin_memcpy(tpa, arp->tpa, 4);
	if (spa != port->ip)
		return stats_drop_skb(skb, spa ? ZH_CNT_DROP_SPOOF : ZH_CNT_DROP_ARP);
	if (*(__u32 *)tpa == port->ip)
		return stats_drop_skb(skb, ZH_CNT_DROP_ARP);

	__builtin_memcpy(eth->h_dest, port->mac, 6);
	cfg_router_mac(eth->h_source);
	arp->op = bpf_htons(2);
	__builtin_memcpy(arp->tha, port->mac, 6);
	__builtin_memcpy(arp->tpa, arp->spa, 4);
	cfg_router_mac(arp->sha);
	__builtin_memcpy(arp->spa, tpa, 4);
	stats_count(ZH_CNT_ARP_REPLY, skb->len);
	/* Back out of the port: to the VM. */
	return bpf_redirect(skb->ifindex, 0);
}

#endif /* ZH_BPF_ARP_H */
