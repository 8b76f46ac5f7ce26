/* SPDX-License-Identifier: GPL-2.0-only */
/* Internet checksums. */
#ifndef ZH_BPF_CSUM_H
#define ZH_BPF_CSUM_H

#include "common.h"

static __always_inline __u16 csum_fold(__u32 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum;
}

/* Checksum of a 20-byte IPv4 header whose check field is 0 (an aligned
 * copy: build headers in a local struct iphdr, then copy them in place).
 */
static __always_inline __u16 ipv4_csum(const struct iphdr *ip)
{
	const __u16 *p = (const __u16 *)ip;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		sum += p[i];
	return csum_fold(sum);
}

/* TTL - 1 with an incremental checksum update (RFC 1624), as the kernel's
 * ip_decrease_ttl().
 */
static __always_inline void ipv4_decrease_ttl(struct iphdr *ip)
{
	__u32 check = (__u32)ip->check;

	check += (__u32)bpf_htons(0x0100);
	ip->check = (__sum16)(check + (check >= 0xffff));
	ip->ttl--;
}

#endif /* ZH_BPF_CSUM_H */
