/* SPDX-License-Identifier: GPL-2.0-only */
/* Kernel feature probes and the attach decisions taken from them. */
#ifndef ZH_PROBE_H
#define ZH_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "parse.h"

struct zh_features {
	char kernel[65];      /* uname -r */
	bool btf;             /* /sys/kernel/btf/vmlinux (CO-RE needs it) */
	bool tcx;             /* BPF_TCX_INGRESS links (6.6+) */
	bool redirect_peer;   /* bpf_redirect_peer (5.10+) */
	bool redirect_neigh;  /* bpf_redirect_neigh (5.10+) */
	bool fib_lookup;      /* bpf_fib_lookup */
	bool ringbuf;         /* BPF_MAP_TYPE_RINGBUF (5.8+) */
	bool xdp_frags;       /* BPF_F_XDP_HAS_FRAGS (5.18+) */
};

/* Path checked for kernel BTF; tests may point ZEROHOP_KERNEL_BTF elsewhere. */
const char *zh_kernel_btf_path(void);

/* Fill *f from the running kernel. Read-only: attaches nothing. */
int zh_probe_features(struct zh_features *f);

/* Pure decisions, unit-tested without a kernel. */

/* TC method for a request: tcx when asked or on auto if available, clsact
 * otherwise. -EOPNOTSUPP when tcx is asked for and missing.
 */
int zh_decide_tc_mode(enum zh_tc_request req, const struct zh_features *f, uint32_t *mode);

/* XDP modes to try, in order, for a request (auto: native then generic).
 * Returns how many were written to modes[] (0 for off).
 */
int zh_xdp_try_order(enum zh_xdp_request req, uint32_t modes[2]);

#endif /* ZH_PROBE_H */
