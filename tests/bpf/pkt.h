/* SPDX-License-Identifier: GPL-2.0-only */
/* Packet builders for BPF_PROG_TEST_RUN tests: Ethernet, IPv4 with UDP,
 * TCP or raw payload, ARP, and VXLAN/Geneve around an inner frame. Each
 * writes into a caller's buffer and returns the number of bytes written.
 * Addresses are strings ("10.0.0.1") so test tables read like packets.
 */
#ifndef ZH_TEST_PKT_H
#define ZH_TEST_PKT_H

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define PKT_IP_DF     0x4000
#define PKT_IP_MF     0x2000
#define PKT_VXLAN_I   0x08
#define PKT_GENEVE_O  0x80
#define PKT_ETH_P_TEB 0x6558

/* One's-complement sum over len bytes, folded and inverted: the checksum to
 * store, or 0 when run over a header whose checksum is right.
 */
static inline uint16_t pkt_csum16(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t sum = 0;
	uint16_t w;

	for (; len > 1; len -= 2, p += 2) {
		memcpy(&w, p, 2);
		sum += w;
	}
	if (len)
		sum += *p; /* the odd byte pads to a word on little endian */
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint32_t pkt_addr(const char *s)
{
	struct in_addr a = {0};

	if (s)
		inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static inline size_t pkt_eth(uint8_t *buf, const uint8_t dmac[6], const uint8_t smac[6],
			     uint16_t proto)
{
	struct ethhdr *eth = (struct ethhdr *)buf;

	memcpy(eth->h_dest, dmac, 6);
	memcpy(eth->h_source, smac, 6);
	eth->h_proto = htons(proto);
	return sizeof(*eth);
}

/* An IPv4 packet. Zero fields take the default in brackets. */
struct pkt_ip {
	const char *src, *dst;
	uint8_t proto;     /* [IPPROTO_UDP]; IPPROTO_TCP; anything else: raw payload */
	uint8_t ttl;       /* [64] */
	uint8_t tos;
	uint16_t frag_off; /* host order: PKT_IP_DF, PKT_IP_MF, offset */
	uint16_t sport;    /* [1234] */
	uint16_t dport;    /* [80] */
	uint16_t len;      /* tot_len; [28 + payload]; 0 with payload 0 is 20 + L4 */
	uint16_t payload;  /* bytes after the L4 header when len is 0 */
	uint8_t ihl;       /* [5]; only the field: no options are inserted */
	uint8_t version;   /* [4] */
};

/* IPv4 header, L4 header and payload (bytes 0x00, 0x01, ... so moved or
 * cut bytes show up); returns tot_len.
 */
static inline size_t pkt_ipv4(uint8_t *buf, const struct pkt_ip *p)
{
	struct iphdr *ip = (struct iphdr *)buf;
	uint8_t proto = p->proto ? p->proto : IPPROTO_UDP;
	size_t l4 = proto == IPPROTO_UDP ? sizeof(struct udphdr)
		    : proto == IPPROTO_TCP ? sizeof(struct tcphdr) : 0;
	size_t tot = p->len ? p->len : sizeof(*ip) + l4 + p->payload;
	size_t i;

	memset(ip, 0, sizeof(*ip));
	ip->version = p->version ? p->version : 4;
	ip->ihl = p->ihl ? p->ihl : 5;
	ip->tos = p->tos;
	ip->tot_len = htons(tot);
	ip->id = htons(0x1234);
	ip->frag_off = htons(p->frag_off);
	ip->ttl = p->ttl ? p->ttl : 64;
	ip->protocol = proto;
	ip->saddr = pkt_addr(p->src);
	ip->daddr = pkt_addr(p->dst);
	ip->check = pkt_csum16(ip, sizeof(*ip));
	for (i = sizeof(*ip); i < tot; i++)
		buf[i] = (uint8_t)i;
	if (proto == IPPROTO_UDP && tot >= sizeof(*ip) + l4) {
		struct udphdr *udp = (struct udphdr *)(ip + 1);

		udp->source = htons(p->sport ? p->sport : 1234);
		udp->dest = htons(p->dport ? p->dport : 80);
		udp->len = htons(tot - sizeof(*ip));
		udp->check = 0;
	} else if (proto == IPPROTO_TCP && tot >= sizeof(*ip) + l4) {
		struct tcphdr *tcp = (struct tcphdr *)(ip + 1);

		memset(tcp, 0, sizeof(*tcp));
		tcp->source = htons(p->sport ? p->sport : 1234);
		tcp->dest = htons(p->dport ? p->dport : 80);
		tcp->seq = htonl(1);
		tcp->doff = 5;
		tcp->ack = 1;
		tcp->window = htons(512);
	}
	return tot;
}

/* Ethernet + IPv4 packet. */
static inline size_t pkt_ip_frame(uint8_t *buf, const uint8_t dmac[6], const uint8_t smac[6],
				  const struct pkt_ip *p)
{
	size_t n = pkt_eth(buf, dmac, smac, ETH_P_IP);

	return n + pkt_ipv4(buf + n, p);
}

/* Ethernet + IPv4 + UDP with `payload` bytes (kept from the first suite). */
static inline size_t pkt_udp4(uint8_t *buf, const char *src, const char *dst, uint16_t sport,
			      uint16_t dport, size_t payload)
{
	static const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t smac[6] = {0x02, 0, 0, 0, 0, 0x01};
	struct pkt_ip p = {.src = src, .dst = dst, .sport = sport, .dport = dport,
			   .payload = (uint16_t)payload};

	return pkt_ip_frame(buf, dmac, smac, &p);
}

/* ARP for Ethernet/IPv4 as on the wire. */
struct pkt_arphdr {
	uint16_t htype, ptype;
	uint8_t hlen, plen;
	uint16_t op;
	uint8_t sha[6], spa[4], tha[6], tpa[4];
} __attribute__((packed));

_Static_assert(sizeof(struct pkt_arphdr) == 28, "ARP layout");

struct pkt_arp {
	uint16_t op;          /* [1: request] */
	uint16_t htype;       /* [1: Ethernet] */
	const uint8_t *sha;   /* [the frame's source MAC] */
	const char *spa, *tpa;
	const uint8_t *tha;   /* [00:00:00:00:00:00] */
};

/* Ethernet + ARP; the frame goes to the broadcast address. */
static inline size_t pkt_arp_frame(uint8_t *buf, const uint8_t smac[6], const struct pkt_arp *a)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t zero[6];
	struct pkt_arphdr *arp = (struct pkt_arphdr *)(buf + pkt_eth(buf, bcast, smac, ETH_P_ARP));
	uint32_t spa = pkt_addr(a->spa), tpa = pkt_addr(a->tpa);

	arp->htype = htons(a->htype ? a->htype : 1);
	arp->ptype = htons(ETH_P_IP);
	arp->hlen = 6;
	arp->plen = 4;
	arp->op = htons(a->op ? a->op : 1);
	memcpy(arp->sha, a->sha ? a->sha : smac, 6);
	memcpy(arp->spa, &spa, 4);
	memcpy(arp->tha, a->tha ? a->tha : zero, 6);
	memcpy(arp->tpa, &tpa, 4);
	return ETH_HLEN + sizeof(*arp);
}

enum pkt_tunnel_type {
	PKT_VXLAN = 1,
	PKT_GENEVE = 2,
};

/* Outer IPv4/UDP and the tunnel header. Zero fields take the default. */
struct pkt_tunnel {
	enum pkt_tunnel_type type;
	const char *src, *dst;   /* outer addresses */
	uint16_t sport;          /* [54321] */
	uint16_t dport;          /* [4789 or 6081 by type] */
	uint16_t frag_off;       /* outer, host order */
	uint32_t vni;
	bool vxlan_no_i;         /* VXLAN: clear the I flag */
	uint8_t geneve_ver;      /* Geneve: version (2 bits) */
	bool geneve_oam;         /* Geneve: set O */
	bool geneve_critical;    /* Geneve: set C (critical options present) */
	uint8_t geneve_opt_words; /* Geneve: option length in 4-byte words */
	uint16_t geneve_proto;   /* Geneve: [0x6558] */
};

/* Tunnel header length for t (VXLAN or Geneve with its options). */
static inline size_t pkt_tunnel_hlen(const struct pkt_tunnel *t)
{
	return 8 + (t->type == PKT_GENEVE ? t->geneve_opt_words * 4u : 0);
}

/* Outer Ethernet (dmac/smac) + IPv4 + UDP + tunnel header + inner frame.
 * The outer IPv4 header is 20 bytes, so the inner frame starts at
 * 14 + 20 + 8 + pkt_tunnel_hlen(t).
 */
static inline size_t pkt_tunnel_frame(uint8_t *buf, const uint8_t dmac[6], const uint8_t smac[6],
				      const struct pkt_tunnel *t, const uint8_t *inner,
				      size_t inner_len)
{
	size_t th = pkt_tunnel_hlen(t), off = pkt_eth(buf, dmac, smac, ETH_P_IP);
	struct pkt_ip outer = {
		.src = t->src,
		.dst = t->dst,
		.proto = IPPROTO_UDP,
		.frag_off = t->frag_off,
		.sport = t->sport ? t->sport : 54321,
		.dport = t->dport ? t->dport : t->type == PKT_GENEVE ? 6081 : 4789,
		.len = (uint16_t)(sizeof(struct iphdr) + sizeof(struct udphdr) + th + inner_len),
	};
	uint8_t *h;

	off += pkt_ipv4(buf + off, &outer) - th - inner_len;
	h = buf + off;
	memset(h, 0, th);
	if (t->type == PKT_GENEVE) {
		uint16_t proto = htons(t->geneve_proto ? t->geneve_proto : PKT_ETH_P_TEB);

		h[0] = (uint8_t)((t->geneve_ver & 3) << 6 | (t->geneve_opt_words & 0x3f));
		h[1] = (t->geneve_oam ? PKT_GENEVE_O : 0) | (t->geneve_critical ? 0x40 : 0);
		memcpy(h + 2, &proto, 2);
		/* One option TLV spanning the option words: class 0x0102,
		 * type 0x80, length in words after its own header.
		 */
		if (t->geneve_opt_words) {
			h[8] = 0x01;
			h[9] = 0x02;
			h[10] = 0x80;
			h[11] = (uint8_t)(t->geneve_opt_words - 1);
		}
	} else {
		h[0] = t->vxlan_no_i ? 0 : PKT_VXLAN_I;
	}
	h[4] = (uint8_t)(t->vni >> 16);
	h[5] = (uint8_t)(t->vni >> 8);
	h[6] = (uint8_t)t->vni;
	memcpy(h + th, inner, inner_len);
	return off + th + inner_len;
}

#endif /* ZH_TEST_PKT_H */
