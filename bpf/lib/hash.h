/* SPDX-License-Identifier: GPL-2.0-only */
/* Flow hash for the outer UDP source port: the same inner flow always gets
 * the same port (no reordering across ECMP paths), different flows spread
 * over 49152-65535 (RFC 7348 §5).
 */
#ifndef ZH_BPF_HASH_H
#define ZH_BPF_HASH_H

#include "common.h"

static __always_inline __u32 rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

/* Bob Jenkins' lookup3 final mix of three words, as the kernel's
 * __jhash_final, after adding the seed to each.
 */
static __always_inline __u32 jhash_3words(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	a += 0xdeadbeef + initval;
	b += 0xdeadbeef + initval;
	c += 0xdeadbeef + initval;
	c ^= b; c -= rol32(b, 14);
	a ^= c; a -= rol32(c, 11);
	b ^= a; b -= rol32(a, 25);
	c ^= b; c -= rol32(b, 16);
	a ^= c; a -= rol32(c, 4);
	b ^= a; b -= rol32(a, 14);
	c ^= b; c -= rol32(b, 24);
	return c;
}

static __always_inline __u16 flow_source_port(__u32 saddr, __u32 daddr, __u32 ports, __u8 proto)
{
	__u32 h = jhash_3words(saddr, daddr, ports, proto);

	return 49152 + (h & 0x3fff);
}

#endif /* ZH_BPF_HASH_H */
