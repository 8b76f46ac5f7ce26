/* SPDX-License-Identifier: GPL-2.0-only */
/* Instance configuration as load-time constants.
 *
 * The loader copies the pinned zh_config entry here between open and load,
 * so the verifier sees constants and dead branches are pruned.
 */
#ifndef ZH_BPF_CONFIG_H
#define ZH_BPF_CONFIG_H

#include "common.h"

const volatile struct zh_config zh_cfg = {};

/* Copy the router MAC out of .rodata. The reads must be volatile: a memcpy
 * from (const __u8 *)zh_cfg.router_mac casts the qualifier away, and the
 * compiler then folds in the initializer above (all zeros). Two word reads
 * (router_mac is 4-byte aligned at offset 8), which the verifier turns into
 * constants, since .rodata is frozen.
 */
static __always_inline void cfg_router_mac(__u8 *mac)
{
	__u32 hi = *(const volatile __u32 *)&zh_cfg.router_mac[0];
	__u16 lo = *(const volatile __u16 *)&zh_cfg.router_mac[4];

	__builtin_memcpy(mac, &hi, 4);
	__builtin_memcpy(mac + 4, &lo, 2);
}

#endif /* ZH_BPF_CONFIG_H */
