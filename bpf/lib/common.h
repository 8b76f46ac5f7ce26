/* SPDX-License-Identifier: GPL-2.0-only */
/* Includes every zerohop BPF program starts from. */
#ifndef ZH_BPF_COMMON_H
#define ZH_BPF_COMMON_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "zh_shared.h"

/* Verdicts not in vmlinux.h (they are #defines in the uapi headers). */
#define TC_ACT_OK   0
#define TC_ACT_SHOT 2

#ifndef BPF_F_ADJ_ROOM_ENCAP_L2
#define BPF_F_ADJ_ROOM_ENCAP_L2(len) (((__u64)(len) & 0xff) << 56)
#endif

/* skb->data and skb->data_end as one load each, through asm: when a
 * function reads them in more than one place (before and after a pull),
 * clang may hoist the field offsets into registers and add them to the
 * context pointer, which the verifier rejects ("dereference of modified ctx
 * ptr").
 */
static __always_inline void *skb_data(const struct __sk_buff *skb)
{
	void *p;

	asm volatile("%[p] = *(u32 *)(%[skb] + %[off])"
		     : [p] "=r"(p)
		     : [skb] "r"(skb), [off] "i"(__builtin_offsetof(struct __sk_buff, data)));
	return p;
}

static __always_inline void *skb_data_end(const struct __sk_buff *skb)
{
	void *p;

	asm volatile("%[p] = *(u32 *)(%[skb] + %[off])"
		     : [p] "=r"(p)
		     : [skb] "r"(skb), [off] "i"(__builtin_offsetof(struct __sk_buff, data_end)));
	return p;
}

#endif /* ZH_BPF_COMMON_H */
