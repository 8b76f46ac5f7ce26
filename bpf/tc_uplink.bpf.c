// SPDX-License-Identifier: GPL-2.0-only
/* tc_uplink: TC ingress on the uplink, the skb path of fabric ingress. It
 * decapsulates what xdp_uplink left to it (ports that cannot take XDP
 * redirects, GSO/GRO packets) or everything when XDP is off. All other
 * traffic goes to the host stack untouched.
 */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/stats.h"
#include "lib/tunnel.h"

SEC("tc")
int tc_uplink(struct __sk_buff *skb)
{
	__u32 pull = TUNNEL_MAX_HDRS;
	struct tunnel t = {};
	void *data, *data_end;
	struct ethhdr *eth;
	int r;

	stats_count(ZH_CNT_TC_UPLINK_RX, skb->len);
	if (pull > skb->len)
		pull = skb->len;
	/* Parse what is linear. A valid tunnel packet whose headers are all
	 * there (a GSO packet from a veth has them, and little more) needs no
	 * pull; any other outcome on a packet that is not linear up to pull
	 * bytes is decided again after pulling them, so that it never depends
	 * on where the linear part ends. tunnel_parse() has no side effects.
	 */
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	r = tunnel_parse(data, data_end, &t);
	if (r && data + pull > data_end) {
		bpf_skb_pull_data(skb, pull);
		data = skb_data(skb);
		data_end = skb_data_end(skb);
		r = tunnel_parse(data, data_end, &t);
	}
	if (r == TUNNEL_PASS) {
		stats_count(ZH_CNT_PASS_STACK, skb->len);
		return TC_ACT_OK;
	}
	if (r)
		return stats_drop_skb(skb, r);

	/* Keep the outer Ethernet header, drop everything up to the inner
	 * IPv4 header, and address the frame to the VM. FIXED_GSO: a GSO
	 * packet keeps the inner segment size it was sent with.
	 */
	if (bpf_skb_adjust_room(skb, -(__s32)t.inner_off, BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_FIXED_GSO))
		return stats_drop_skb(skb, ZH_CNT_DROP_ERROR);
	data = skb_data(skb);
	data_end = skb_data_end(skb);
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return stats_drop_skb(skb, ZH_CNT_DROP_ERROR);
	__builtin_memcpy(eth->h_dest, t.nh.mac, 6);
	cfg_router_mac(eth->h_source);
	eth->h_proto = bpf_htons(ETH_P_IP);
	stats_count(ZH_CNT_DECAP_TC, skb->len);
	return port_redirect(&t.nh);
}

char LICENSE[] SEC("license") = "GPL";
