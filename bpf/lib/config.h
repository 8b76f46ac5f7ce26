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

#endif /* ZH_BPF_CONFIG_H */
