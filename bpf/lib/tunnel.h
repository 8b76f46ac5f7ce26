/* SPDX-License-Identifier: GPL-2.0-only */
/* Fabric ingress, shared by xdp_uplink and tc_uplink: recognise our tunnel
 * packets, validate their headers, check the overlay reverse path and find
 * the local port.
 */
#ifndef ZH_BPF_TUNNEL_H
#define ZH_BPF_TUNNEL_H

#include "config.h"
#include "lookup.h"
#include "parse.h"
#include "policy.h"

/* Largest outer header tunnel_parse() can look through: outer Ethernet,
 * IPv4 with options, UDP, Geneve with the most options, inner Ethernet and
 * IPv4 header.
 */
#define TUNNEL_MAX_HDRS (14 + 60 + 8 + 8 + 252 + 14 + 20)

struct tunnel {
	__u32 vni;
	__u32 outer_saddr;
	__u32 inner_off;   /* offset of the inner Ethernet header */
	struct zh_nexthop nh; /* the local port the inner packet goes to */
};

/* Returns TUNNEL_PASS for traffic that is not ours (left to the host stack
 * untouched), 0 for a valid packet to a local port (t filled in), or the
 * drop counter id.
 */
#define TUNNEL_PASS (-1)

static __always_inline int tunnel_parse(void *data, void *data_end, struct tunnel *t)
{
	struct hdr_cursor nh = {.pos = data};
	struct ethhdr *eth, *ieth;
	struct iphdr *ip, *iip;
	struct udphdr *udp;
	int dport, r;
	__u32 src_vni;

	if (parse_ethhdr(&nh, data_end, &eth) != ETH_P_IP)
		return TUNNEL_PASS;
	if (parse_iphdr(&nh, data_end, &ip) != IPPROTO_UDP_ || ip->daddr != zh_cfg.underlay_ip)
		return TUNNEL_PASS;
	dport = parse_udphdr(&nh, data_end, &udp);
	if (dport != ZH_VXLAN_PORT && dport != ZH_GENEVE_PORT)
		return TUNNEL_PASS;
	if (ip_is_fragment(ip))
		return ZH_CNT_DROP_MALFORMED;

	if (dport == ZH_VXLAN_PORT) {
		struct zh_vxlanhdr *vx = nh.pos;

		if ((void *)(vx + 1) > data_end || !(vx->flags & ZH_VXLAN_F_I))
			return ZH_CNT_DROP_MALFORMED;
		t->vni = vni_from_bytes(vx->vni);
		nh.pos = vx + 1;
	} else {
		struct zh_genevehdr *gn = nh.pos;
		__u32 optlen;

		/* Control packets (O) are not ours; critical options (C) we
		 * do not understand must be dropped (RFC 8926 §3.5).
		 */
		if ((void *)(gn + 1) > data_end || ZH_GENEVE_VER(gn) != 0 ||
		    (gn->flags & (ZH_GENEVE_F_O | ZH_GENEVE_F_C)) || gn->proto != bpf_htons(ETH_P_TEB))
			return ZH_CNT_DROP_MALFORMED;
		optlen = ZH_GENEVE_OPTLEN(gn);
		t->vni = vni_from_bytes(gn->vni);
		nh.pos = (void *)(gn + 1) + optlen;
	}

	r = parse_ethhdr(&nh, data_end, &ieth);
	if (r < 0)
		return ZH_CNT_DROP_MALFORMED;
	if (r != ETH_P_IP)
		return ZH_CNT_DROP_PROTO;
	if (parse_iphdr(&nh, data_end, &iip) < 0)
		return ZH_CNT_DROP_MALFORMED;

	t->outer_saddr = ip->saddr;
	t->inner_off = (void *)ieth - data;
	src_vni = rpf_source_vni(t->vni, iip->saddr, ip->saddr);
	if (!src_vni)
		return ZH_CNT_DROP_RPF;
	r = nexthop_resolve(t->vni, iip->daddr, &t->nh);
	if (r)
		return r;
	/* Only local VMs of the packet's own VNI are delivered from the
	 * fabric: no transit, not even into a peer network served here.
	 */
	if (!t->nh.ifindex || t->nh.peer)
		return ZH_CNT_DROP_NO_ROUTE;
	/* From a peer network: the export policy of the packet's network,
	 * checked again whatever the sender did.
	 */
	if (src_vni != t->vni && !policy_allows(t->vni, src_vni, iip->daddr, iip->protocol))
		return ZH_CNT_DROP_POLICY;
	return 0;
}

#endif /* ZH_BPF_TUNNEL_H */
