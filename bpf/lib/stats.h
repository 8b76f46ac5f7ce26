/* SPDX-License-Identifier: GPL-2.0-only */
/* Counter updates: one per-CPU slot per counter id, no atomics needed. */
#ifndef ZH_BPF_STATS_H
#define ZH_BPF_STATS_H

#include "maps.h"

static __always_inline void stats_count(__u32 id, __u64 bytes)
{
	struct zh_counter *c = bpf_map_lookup_elem(&zh_stats, &id);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* Count a drop and return the TC verdict for it. */
static __always_inline int stats_drop_skb(struct __sk_buff *skb, __u32 id)
{
	stats_count(id, skb->len);
	return TC_ACT_SHOT;
}

#endif /* ZH_BPF_STATS_H */
