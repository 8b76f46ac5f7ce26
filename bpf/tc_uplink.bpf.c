// SPDX-License-Identifier: GPL-2.0-only
/* tc_uplink: TC ingress on the uplink, the skb path for fabric traffic
 * (GSO/GRO packets, or where XDP is off). Counts and lets everything through.
 */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/stats.h"

SEC("tc")
int tc_uplink(struct __sk_buff *skb)
{
	stats_count(ZH_CNT_TC_UPLINK_RX, skb->len);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
