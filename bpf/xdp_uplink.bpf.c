// SPDX-License-Identifier: GPL-2.0-only
/* xdp_uplink: XDP on the uplink NIC, the first stop of fabric traffic.
 * Tunnel packets to this host are validated, reverse-path checked,
 * decapsulated and redirected to the VM's port through zh_devmap; ports
 * that cannot take XDP redirects are left to tc_uplink. Everything that is
 * not ours passes to the host stack untouched.
 */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/stats.h"
#include "lib/tunnel.h"

SEC("xdp")
int xdp_uplink(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct tunnel t = {};
	struct ethhdr *eth;
	__u32 len = data_end - data;
	int r;

	stats_count(ZH_CNT_XDP_UPLINK_RX, len);
	r = tunnel_parse(data, data_end, &t);
	if (r == TUNNEL_PASS) {
		stats_count(ZH_CNT_PASS_STACK, len);
		return XDP_PASS;
	}
	if (r) {
		stats_count(r, len);
		return XDP_DROP;
	}
	/* Ports outside zh_devmap, and GSO/GRO aggregates larger than one
	 * uplink frame (generic XDP sees them whole; a devmap redirect past
	 * the port's MTU fails), take the skb path through tc_uplink. The
	 * redirect is requested first: its XDP_PASS fallback is the devmap
	 * lookup, and nothing happens to it unless we return XDP_REDIRECT.
	 */
	if (len > zh_cfg.mtu + ETH_HLEN ||
	    bpf_redirect_map(&zh_devmap, t.nh.ifindex, XDP_PASS) != XDP_REDIRECT) {
		stats_count(ZH_CNT_XDP_TO_TC, len);
		return XDP_PASS;
	}

	/* Strip outer Ethernet, IPv4, UDP and tunnel header; the inner
	 * Ethernet header is readdressed to the VM.
	 */
	if (bpf_xdp_adjust_head(ctx, t.inner_off)) {
		stats_count(ZH_CNT_DROP_ERROR, len);
		return XDP_DROP;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end) {
		stats_count(ZH_CNT_DROP_ERROR, len);
		return XDP_DROP;
	}
	__builtin_memcpy(eth->h_dest, t.nh.mac, 6);
	cfg_router_mac(eth->h_source);
	stats_count(ZH_CNT_DECAP_XDP, data_end - data);
	return XDP_REDIRECT;
}

char LICENSE[] SEC("license") = "GPL";
