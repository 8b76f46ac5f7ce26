/* SPDX-License-Identifier: GPL-2.0-only */
/* Export-policy enforcement for proxyless peering: a packet from one
 * network to another passes only if the destination's network exports the
 * destination address to the source's network for the packet's protocol.
 * The sending host checks before it encapsulates (or delivers to a peer
 * network on the same host); the receiving host checks again after the
 * reverse-path check, because it must not trust the sender.
 */
#ifndef ZH_BPF_POLICY_H
#define ZH_BPF_POLICY_H

#include "maps.h"
#include "parse.h"

static __always_inline __u32 policy_proto_bit(__u8 protocol)
{
	switch (protocol) {
	case IPPROTO_TCP_:
		return ZH_PROTO_TCP;
	case IPPROTO_UDP_:
		return ZH_PROTO_UDP;
	case IPPROTO_ICMP_:
		return ZH_PROTO_ICMP;
	}
	return ZH_PROTO_OTHER;
}

/* Does network vni export addr to network peer_vni for this IP protocol?
 * No entry covering addr means no.
 */
static __always_inline bool policy_allows(__u32 vni, __u32 peer_vni, __u32 addr, __u8 protocol)
{
	struct zh_policy_key key = {.prefixlen = 96, .vni = vni, .peer_vni = peer_vni,
				    .addr = addr};
	struct zh_policy *p = bpf_map_lookup_elem(&zh_policy, &key);

	return p && (p->protocols & policy_proto_bit(protocol));
}

#endif /* ZH_BPF_POLICY_H */
