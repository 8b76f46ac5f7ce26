// SPDX-License-Identifier: GPL-2.0-only
/* Feature-probe decisions: which TC method and which XDP modes to use. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "probe.h"

struct tc_case {
	const char *desc;
	enum zh_tc_request req;
	bool kernel_has_tcx;
	int err;
	uint32_t mode;
};

static const struct tc_case tc_cases[] = {
	{"auto on a tcx kernel uses tcx", ZH_TC_REQ_AUTO, true, 0, ZH_TC_TCX},
	{"auto on 6.1 falls back to clsact", ZH_TC_REQ_AUTO, false, 0, ZH_TC_CLSACT},
	{"tcx asked on a tcx kernel", ZH_TC_REQ_TCX, true, 0, ZH_TC_TCX},
	{"tcx asked without tcx is refused", ZH_TC_REQ_TCX, false, -EOPNOTSUPP, 0},
	{"clsact asked on a tcx kernel", ZH_TC_REQ_CLSACT, true, 0, ZH_TC_CLSACT},
	{"clsact asked without tcx", ZH_TC_REQ_CLSACT, false, 0, ZH_TC_CLSACT},
};

static void test_tc_mode_decision(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(tc_cases) / sizeof(tc_cases[0]); i++) {
		const struct tc_case *c = &tc_cases[i];
		struct zh_features f = {.tcx = c->kernel_has_tcx};
		uint32_t mode = 0;
		int err = zh_decide_tc_mode(c->req, &f, &mode);

		if (err != c->err || (!err && mode != c->mode))
			fail_msg("%s: got err %d mode %u", c->desc, err, mode);
	}
}

struct xdp_case {
	enum zh_xdp_request req;
	int n;
	uint32_t modes[2];
};

static const struct xdp_case xdp_cases[] = {
	{ZH_XDP_REQ_AUTO, 2, {ZH_XDP_NATIVE, ZH_XDP_GENERIC}},
	{ZH_XDP_REQ_NATIVE, 1, {ZH_XDP_NATIVE}},
	{ZH_XDP_REQ_GENERIC, 1, {ZH_XDP_GENERIC}},
	{ZH_XDP_REQ_OFF, 0, {0}},
};

static void test_xdp_try_order(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(xdp_cases) / sizeof(xdp_cases[0]); i++) {
		uint32_t modes[2] = {0};
		int n = zh_xdp_try_order(xdp_cases[i].req, modes);

		assert_int_equal(n, xdp_cases[i].n);
		assert_memory_equal(modes, xdp_cases[i].modes, n * sizeof(uint32_t));
	}
	assert_int_equal(zh_xdp_try_order((enum zh_xdp_request)42, (uint32_t[2]){0}), -EINVAL);
}

/* The probe itself on the running kernel: BTF and tcx answers must agree
 * with what the kernel exposes (needs root for the BPF syscalls).
 */
static void test_probe_matches_running_kernel(void **state)
{
	struct zh_features f;

	if (geteuid() != 0) {
		print_message("skipped: probing needs root for the bpf() syscall\n");
		skip();
	}
	assert_int_equal(zh_probe_features(&f), 0);
	assert_true(f.kernel[0] != 0);
	assert_int_equal(f.btf, access("/sys/kernel/btf/vmlinux", R_OK) == 0);
	assert_true(f.fib_lookup);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tc_mode_decision),
		cmocka_unit_test(test_xdp_try_order),
		cmocka_unit_test(test_probe_matches_running_kernel),
	};

	return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
