// SPDX-License-Identifier: GPL-2.0-only
/* xdp_uplink: XDP on the uplink NIC. Overlay packets from the fabric arrive
 * here first. At this stage it counts every frame and passes it to the stack.
 */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/stats.h"

SEC("xdp")
int xdp_uplink(struct xdp_md *ctx)
{
	stats_count(ZH_CNT_XDP_UPLINK_RX, ctx->data_end - ctx->data);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
