/* SPDX-License-Identifier: GPL-2.0-only */
/* Header parsing with a cursor: each parser checks bounds against data_end,
 * advances the cursor and returns the next protocol, or -1 when the header
 * is truncated or invalid.
 */
#ifndef ZH_BPF_PARSE_H
#define ZH_BPF_PARSE_H

#include "common.h"

#define ETH_HLEN      14
#define ETH_P_IP      0x0800
#define ETH_P_ARP     0x0806
#define ETH_P_TEB     0x6558 /* Transparent Ethernet Bridging (Geneve payload) */
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_  6
#define IPPROTO_UDP_  17
#define IP_DF         0x4000
#define IP_MF         0x2000
#define IP_OFFSET     0x1fff

struct hdr_cursor {
	void *pos;
};

/* ARP for Ethernet/IPv4, as it is on the wire (no alignment). */
struct zh_arp {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[6];
	__u8 spa[4];
	__u8 tha[6];
	__u8 tpa[4];
} __attribute__((packed));

/* RFC 7348 */
struct zh_vxlanhdr {
	__u8 flags; /* 0x08: I, the VNI is valid */
	__u8 reserved1[3];
	__u8 vni[3];
	__u8 reserved2;
};

/* RFC 8926, without options */
struct zh_genevehdr {
	__u8 ver_optlen;  /* version (2 bits) and option length in 4-byte words */
	__u8 flags;       /* O (control), C (critical options) */
	__be16 proto;
	__u8 vni[3];
	__u8 reserved;
};

#define ZH_VXLAN_F_I        0x08
#define ZH_GENEVE_F_O       0x80
#define ZH_GENEVE_F_C       0x40
#define ZH_GENEVE_VER(h)    ((h)->ver_optlen >> 6)
#define ZH_GENEVE_OPTLEN(h) (((h)->ver_optlen & 0x3f) * 4)

static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end,
					struct ethhdr **eth)
{
	struct ethhdr *e = nh->pos;

	if ((void *)(e + 1) > data_end)
		return -1;
	nh->pos = e + 1;
	*eth = e;
	return bpf_ntohs(e->h_proto);
}

static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end, struct iphdr **ip)
{
	struct iphdr *iph = nh->pos;
	int hdrsize;

	if ((void *)(iph + 1) > data_end)
		return -1;
	if (iph->version != 4 || iph->ihl < 5)
		return -1;
	hdrsize = iph->ihl * 4;
	if (nh->pos + hdrsize > data_end)
		return -1;
	nh->pos += hdrsize;
	*ip = iph;
	return iph->protocol;
}

static __always_inline int parse_udphdr(struct hdr_cursor *nh, void *data_end,
					struct udphdr **udp)
{
	struct udphdr *u = nh->pos;

	if ((void *)(u + 1) > data_end)
		return -1;
	nh->pos = u + 1;
	*udp = u;
	return bpf_ntohs(u->dest);
}

static __always_inline bool ip_is_fragment(const struct iphdr *ip)
{
	return ip->frag_off & bpf_htons(IP_MF | IP_OFFSET);
}

static __always_inline __u32 vni_from_bytes(const __u8 b[3])
{
	return ((__u32)b[0] << 16) | ((__u32)b[1] << 8) | b[2];
}

static __always_inline void vni_to_bytes(__u32 vni, __u8 b[3])
{
	b[0] = vni >> 16;
	b[1] = vni >> 8;
	b[2] = vni;
}

#endif /* ZH_BPF_PARSE_H */
