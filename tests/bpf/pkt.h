/* SPDX-License-Identifier: GPL-2.0-only */
/* Canned packets for BPF_PROG_TEST_RUN tests. */
#ifndef ZH_TEST_PKT_H
#define ZH_TEST_PKT_H

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t pkt_csum16(const void *data, size_t len)
{
	const uint16_t *p = data;
	uint32_t sum = 0;

	for (; len > 1; len -= 2)
		sum += *p++;
	if (len)
		sum += *(const uint8_t *)p;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP with `payload` bytes of 0xab; returns the length. */
static inline size_t pkt_udp4(uint8_t *buf, const char *src, const char *dst, uint16_t sport,
			      uint16_t dport, size_t payload)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);
	static const uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 0x02};
	static const uint8_t smac[6] = {0x02, 0, 0, 0, 0, 0x01};

	memcpy(eth->h_dest, dmac, 6);
	memcpy(eth->h_source, smac, 6);
	eth->h_proto = htons(ETH_P_IP);
	memset(ip, 0, sizeof(*ip));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons(sizeof(*ip) + sizeof(*udp) + payload);
	inet_pton(AF_INET, src, &ip->saddr);
	inet_pton(AF_INET, dst, &ip->daddr);
	ip->check = pkt_csum16(ip, sizeof(*ip));
	udp->source = htons(sport);
	udp->dest = htons(dport);
	udp->len = htons(sizeof(*udp) + payload);
	udp->check = 0;
	memset(udp + 1, 0xab, payload);
	return sizeof(*eth) + sizeof(*ip) + sizeof(*udp) + payload;
}

#endif /* ZH_TEST_PKT_H */
