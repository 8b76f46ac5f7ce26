// SPDX-License-Identifier: GPL-2.0-only
/* tc_port: TC ingress on the host side of a VM port (veth or tap), i.e.
 * packets sent by the VM. Counts and lets everything through for now.
 */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/stats.h"

SEC("tc")
int tc_port(struct __sk_buff *skb)
{
	stats_count(ZH_CNT_TC_PORT_RX, skb->len);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
