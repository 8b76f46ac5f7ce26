// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "probe.h"

const char *zh_kernel_btf_path(void)
{
	const char *p = getenv("ZEROHOP_KERNEL_BTF");

	return p && *p ? p : "/sys/kernel/btf/vmlinux";
}

static bool helper_ok(enum bpf_prog_type type, enum bpf_func_id id)
{
	return libbpf_probe_bpf_helper(type, id, NULL) > 0;
}

/* Query BPF_TCX_INGRESS on loopback (ifindex 1 in every netns): kernels
 * without tcx reject the attach type with EINVAL.
 */
static bool probe_tcx(void)
{
	LIBBPF_OPTS(bpf_prog_query_opts, q);

	return bpf_prog_query_opts(1, BPF_TCX_INGRESS, &q) == 0;
}

/* Load a two-instruction XDP program with the given prog_flags. */
static bool probe_xdp_load(__u32 prog_flags)
{
	const struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_PASS},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .prog_flags = prog_flags,
		    .expected_attach_type = BPF_XDP);
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "zh_probe", "GPL", insns, 2, &opts);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int zh_probe_features(struct zh_features *f)
{
	struct utsname u;

	memset(f, 0, sizeof(*f));
	if (uname(&u) == 0)
		snprintf(f->kernel, sizeof(f->kernel), "%s", u.release);
	f->btf = access(zh_kernel_btf_path(), R_OK) == 0;
	f->tcx = probe_tcx();
	f->redirect_peer = helper_ok(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_peer);
	f->redirect_neigh = helper_ok(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_redirect_neigh);
	f->fib_lookup = helper_ok(BPF_PROG_TYPE_XDP, BPF_FUNC_fib_lookup);
	f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) > 0;
	f->xdp_frags = probe_xdp_load(BPF_F_XDP_HAS_FRAGS);
	return 0;
}

int zh_decide_tc_mode(enum zh_tc_request req, const struct zh_features *f, uint32_t *mode)
{
	switch (req) {
	case ZH_TC_REQ_TCX:
		if (!f->tcx)
			return -EOPNOTSUPP;
		*mode = ZH_TC_TCX;
		return 0;
	case ZH_TC_REQ_CLSACT:
		*mode = ZH_TC_CLSACT;
		return 0;
	case ZH_TC_REQ_AUTO:
		*mode = f->tcx ? ZH_TC_TCX : ZH_TC_CLSACT;
		return 0;
	}
	return -EINVAL;
}

int zh_xdp_try_order(enum zh_xdp_request req, uint32_t modes[2])
{
	switch (req) {
	case ZH_XDP_REQ_AUTO:
		modes[0] = ZH_XDP_NATIVE;
		modes[1] = ZH_XDP_GENERIC;
		return 2;
	case ZH_XDP_REQ_NATIVE:
		modes[0] = ZH_XDP_NATIVE;
		return 1;
	case ZH_XDP_REQ_GENERIC:
		modes[0] = ZH_XDP_GENERIC;
		return 1;
	case ZH_XDP_REQ_OFF:
		return 0;
	}
	return -EINVAL;
}
