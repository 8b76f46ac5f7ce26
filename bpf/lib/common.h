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

#endif /* ZH_BPF_COMMON_H */
