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

/* Copy the router MAC out of .rodata. Every byte must be a volatile read:
 * a memcpy from (const __u8 *)zh_cfg.router_mac casts the qualifier away,
 * and the compiler then folds in the initializer above (all zeros).
 */
static __always_inline void cfg_router_mac(__u8 *mac)
{
	int i;

#pragma unroll
	for (i = 0; i < 6; i++)
		mac[i] = zh_cfg.router_mac[i];
}

#endif /* ZH_BPF_CONFIG_H */
