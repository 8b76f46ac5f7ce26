/* SPDX-License-Identifier: GPL-2.0-only */
/* zh_nexthops: the underlay next hops bpf_fib_lookup() resolved, so that
 * encapsulation (bpf/lib/encap.h) skips the FIB for ZH_NH_TTL_MS after a
 * successful lookup. Plain C on purpose: the BPF tests include it too.
 *
 * Per CPU and direct-mapped: the slot is a hash of (host, DSCP); a slot
 * that holds another key or an expired entry is a miss, and the next
 * successful FIB lookup overwrites it. Per CPU needs no locking: tc_port
 * runs once at a time on a CPU, and nothing else writes the map.
 */
#ifndef ZH_BPF_NEXTHOPS_H
#define ZH_BPF_NEXTHOPS_H

#include "zh_shared.h"

#define ZH_MAP_NEXTHOPS "zh_nexthops"
#define ZH_NH_SLOTS     256
#define ZH_NH_TTL_MS    100

struct zh_nexthop_entry {
	ZH_IPV4(host_ip);  /* remote host (network order); 0: the slot is empty */
	__u32 ifindex;     /* egress interface, as the FIB answered */
	__u64 expires;     /* jiffies (bpf_jiffies64()) from which it is stale */
	__u8 dmac[6];      /* next-hop MAC */
	__u8 smac[6];      /* the egress interface's MAC */
	__u16 mtu;         /* the egress interface's MTU */
	__u8 dscp;         /* TOS & 0xfc the lookup was made with (part of the key) */
	__u8 pad;
};

_Static_assert(sizeof(struct zh_nexthop_entry) == 32, "zh_nexthop_entry layout");

/* Slot of (host, DSCP): the top 8 bits of a multiplicative hash. */
static inline __u32 zh_nexthop_slot(__u32 host_ip, __u8 dscp)
{
	return ((host_ip ^ dscp) * 0x9e3779b1u) >> 24;
}

_Static_assert(ZH_NH_SLOTS == 256, "zh_nexthop_slot() yields 8 bits");

#endif /* ZH_BPF_NEXTHOPS_H */
