/* SPDX-License-Identifier: GPL-2.0-only */
/* Where a packet to (VNI, IPv4) goes: exact endpoints first, then the
 * per-VNI LPM route table.
 */
#ifndef ZH_BPF_LOOKUP_H
#define ZH_BPF_LOOKUP_H

#include "config.h"
#include "maps.h"

/* The resolved next hop of an overlay packet. */
struct zh_nexthop {
	__u32 host_ip;  /* remote host (network order); 0 when local */
	__u32 vni;      /* VNI on the wire (the peer's for peer endpoints) */
	__u32 ifindex;  /* local port when local */
	__u8 mac[6];    /* inner destination MAC */
	__u8 encap;     /* enum zh_encap, resolved (never DEFAULT) */
	__u8 peer;      /* the VNI differs from the source's: proxyless peering */
	__u8 peer_netns; /* local port: ZH_EP_F_PEER_NETNS (callers zero nh) */
};

/* TC delivery to a local port. A veth whose peer (the VM's end) is in
 * another namespace takes bpf_redirect_peer(): the packet goes straight to
 * the peer's ingress, without the port's transmit and a backlog round. It
 * works only from TC ingress, where tc_port and tc_uplink run, and drops
 * for a tap or a peer in this namespace, which the loader never flags.
 */
static __always_inline int port_redirect(const struct zh_nexthop *nh)
{
	if (nh->peer_netns)
		return bpf_redirect_peer(nh->ifindex, 0);
	return bpf_redirect(nh->ifindex, 0);
}

static __always_inline struct zh_endpoint *endpoint_lookup(__u32 vni, __u32 ip)
{
	struct zh_ep_key key = {.vni = vni, .ip = ip};

	return bpf_map_lookup_elem(&zh_endpoints, &key);
}

static __always_inline struct zh_route *route_lookup(__u32 vni, __u32 ip)
{
	struct zh_route_key key = {.prefixlen = 64, .vni = vni, .ip = ip};

	return bpf_map_lookup_elem(&zh_routes, &key);
}

static __always_inline __u8 encap_resolve(enum zh_encap encap)
{
	return encap == ZH_ENCAP_DEFAULT ? (__u8)zh_cfg.encap : (__u8)encap;
}

/* Resolve (vni, dst) to a next hop. Returns 0, or the drop counter id. A
 * remote entry that points at this host itself (a peer VNI served here) is
 * resolved to the local port of (dest_vni, dst).
 */
static __always_inline int nexthop_resolve(__u32 vni, __u32 dst, struct zh_nexthop *nh)
{
	struct zh_endpoint *ep = endpoint_lookup(vni, dst);
	__u32 dest_vni;

	if (ep) {
		if (ep->ifindex) {
			nh->host_ip = 0;
			nh->vni = vni;
			nh->ifindex = ep->ifindex;
			__builtin_memcpy(nh->mac, ep->mac, 6);
			nh->peer = 0;
			nh->peer_netns = ep->flags & ZH_EP_F_PEER_NETNS;
			return 0;
		}
		dest_vni = ep->dest_vni ? ep->dest_vni : vni;
		nh->host_ip = ep->host_ip;
		nh->vni = dest_vni;
		nh->ifindex = 0;
		__builtin_memcpy(nh->mac, ep->mac, 6);
		nh->encap = encap_resolve(ep->encap);
		nh->peer = dest_vni != vni;
	} else {
		struct zh_route *rt = route_lookup(vni, dst);

		if (!rt || rt->action != ZH_ROUTE_REMOTE)
			return ZH_CNT_DROP_NO_ROUTE;
		dest_vni = rt->dest_vni ? rt->dest_vni : vni;
		nh->host_ip = rt->host_ip;
		nh->vni = dest_vni;
		nh->ifindex = 0;
		/* Routed prefixes have no known MAC: the receiving host rewrites
		 * the inner destination MAC anyway.
		 */
		cfg_router_mac(nh->mac);
		nh->encap = encap_resolve(rt->encap);
		nh->peer = dest_vni != vni;
	}

	if (nh->host_ip == zh_cfg.underlay_ip) {
		/* A peer network's endpoint on this very host. */
		ep = endpoint_lookup(nh->vni, dst);
		if (!ep || !ep->ifindex)
			return ZH_CNT_DROP_NO_ROUTE;
		nh->host_ip = 0;
		nh->ifindex = ep->ifindex;
		__builtin_memcpy(nh->mac, ep->mac, 6);
		nh->peer_netns = ep->flags & ZH_EP_F_PEER_NETNS;
	}
	return 0;
}

/* Overlay reverse-path check: the inner source must resolve, in the
 * packet's VNI, to the host that sent it. Returns the network the source
 * belongs to: vni, or the entry's dest_vni for a peer network's source
 * (its reverse entry); 0 when the check fails (no VNI is 0).
 */
static __always_inline __u32 rpf_source_vni(__u32 vni, __u32 inner_src, __u32 outer_src)
{
	struct zh_endpoint *ep = endpoint_lookup(vni, inner_src);
	struct zh_route *rt;

	if (ep) {
		if (ep->ifindex || ep->host_ip != outer_src)
			return 0;
		return ep->dest_vni ? ep->dest_vni : vni;
	}
	rt = route_lookup(vni, inner_src);
	if (!rt || rt->action != ZH_ROUTE_REMOTE || rt->host_ip != outer_src)
		return 0;
	return rt->dest_vni ? rt->dest_vni : vni;
}

#endif /* ZH_BPF_LOOKUP_H */
