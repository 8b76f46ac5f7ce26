// SPDX-License-Identifier: GPL-2.0-only
/* The counting programs through BPF_PROG_TEST_RUN: each returns its pass
 * verdict, leaves the packet as it was, and counts packets and bytes in its
 * own zh_stats slot only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "internal.h"
#include "pkt.h"

struct fixture {
	char dir[PATH_MAX];
	struct zh_loaded progs[ZH_PROG_KINDS];
	int stats_fd;
};

struct count_case {
	const char *desc;
	enum zh_prog_kind kind;
	size_t payload;   /* UDP payload; SIZE_MAX: a bare 14-byte Ethernet header */
	unsigned int repeat;
	int verdict;
	enum zh_counter_id counter;
};

static const struct count_case cases[] = {
	{"xdp_uplink passes a UDP frame", ZH_PROG_XDP_UPLINK, 18, 1, XDP_PASS, ZH_CNT_XDP_UPLINK_RX},
	{"xdp_uplink passes a bare Ethernet header", ZH_PROG_XDP_UPLINK, SIZE_MAX, 1, XDP_PASS,
	 ZH_CNT_XDP_UPLINK_RX},
	{"xdp_uplink counts every repeat", ZH_PROG_XDP_UPLINK, 1400, 100, XDP_PASS,
	 ZH_CNT_XDP_UPLINK_RX},
	{"tc_uplink passes a UDP frame", ZH_PROG_TC_UPLINK, 18, 1, TC_ACT_OK, ZH_CNT_TC_UPLINK_RX},
	{"tc_uplink counts every repeat", ZH_PROG_TC_UPLINK, 1400, 50, TC_ACT_OK,
	 ZH_CNT_TC_UPLINK_RX},
	{"tc_port passes a UDP frame", ZH_PROG_TC_PORT, 18, 1, TC_ACT_OK, ZH_CNT_TC_PORT_RX},
	{"tc_port passes a bare Ethernet header", ZH_PROG_TC_PORT, SIZE_MAX, 1, TC_ACT_OK,
	 ZH_CNT_TC_PORT_RX},
};

static int setup(void **state)
{
	struct zh_config cfg = {.mtu = 1500};
	struct fixture *f = calloc(1, sizeof(*f));
	int k;

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/sys/fs/bpf/zh-test-%d", getpid());
	if (mkdir(f->dir, 0700)) {
		print_error("cannot create %s (is bpffs mounted?): %s\n", f->dir, strerror(errno));
		free(f);
		return -1;
	}
	for (k = 0; k < ZH_PROG_KINDS; k++)
		if (zh_prog_load(k, f->dir, &cfg, &f->progs[k])) {
			print_error("cannot load %s\n", zh_prog_name(k));
			return -1;
		}
	f->stats_fd = zh_map_open(f->dir, ZH_MAP_STATS);
	*state = f;
	return f->stats_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int k;

	if (!f)
		return 0;
	for (k = 0; k < ZH_PROG_KINDS; k++)
		zh_prog_unload(&f->progs[k]);
	if (f->stats_fd >= 0)
		close(f->stats_fd);
	zh_inst_dir_remove(f->dir);
	free(f);
	return 0;
}

static void read_counters(int fd, struct zh_counter out[ZH_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct zh_counter vals[ncpu];
	__u32 id;

	for (id = 0; id < ZH_CNT_MAX; id++) {
		assert_int_equal(bpf_map_lookup_elem(fd, &id, vals), 0);
		out[id].packets = out[id].bytes = 0;
		for (c = 0; c < ncpu; c++) {
			out[id].packets += vals[c].packets;
			out[id].bytes += vals[c].bytes;
		}
	}
}

static void run_case(struct fixture *f, const struct count_case *c)
{
	uint8_t in[2048], out[2048];
	size_t len = c->payload == SIZE_MAX ? ETH_HLEN
					    : pkt_udp4(in, "10.0.0.1", "10.0.0.2", 1234, 5678, c->payload);
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = c->repeat);
	struct zh_counter before[ZH_CNT_MAX], after[ZH_CNT_MAX];
	int id;

	if (c->payload == SIZE_MAX) {
		/* Not IPv4: the skb test runner would insist on an IP header. */
		pkt_udp4(in, "10.0.0.1", "10.0.0.2", 1, 2, 0);
		((struct ethhdr *)in)->h_proto = htons(0x88b5);
	}
	read_counters(f->stats_fd, before);
	if (bpf_prog_test_run_opts(f->progs[c->kind].prog_fd, &opts))
		fail_msg("%s: test run failed: %s", c->desc, strerror(errno));
	read_counters(f->stats_fd, after);

	if ((int)opts.retval != c->verdict)
		fail_msg("%s: verdict %u, expected %d", c->desc, opts.retval, c->verdict);
	if (opts.data_size_out != len || memcmp(in, out, len))
		fail_msg("%s: packet was modified", c->desc);
	for (id = 0; id < ZH_CNT_MAX; id++) {
		uint64_t dp = after[id].packets - before[id].packets;
		uint64_t db = after[id].bytes - before[id].bytes;
		uint64_t want_p = id == (int)c->counter ? c->repeat : 0;

		if (dp != want_p || db != want_p * len)
			fail_msg("%s: counter %s moved by %llu packets/%llu bytes, expected "
				 "%llu/%llu",
				 c->desc, zh_counter_name(id), (unsigned long long)dp,
				 (unsigned long long)db, (unsigned long long)want_p,
				 (unsigned long long)(want_p * len));
	}
}

static void test_counting_programs(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(*state, &cases[i]);
}

/* All three objects must share one zh_stats through the pins. */
static void test_objects_share_pinned_maps(void **state)
{
	struct fixture *f = *state;
	struct bpf_map_info info;
	__u32 len = sizeof(info), stats_id;
	int k;

	memset(&info, 0, sizeof(info));
	assert_int_equal(bpf_map_get_info_by_fd(f->stats_fd, &info, &len), 0);
	stats_id = info.id;
	for (k = 0; k < ZH_PROG_KINDS; k++) {
		struct bpf_prog_info pinfo;
		__u32 ids[8], plen = sizeof(pinfo), i;
		bool found = false;

		memset(&pinfo, 0, sizeof(pinfo));
		pinfo.nr_map_ids = 8;
		pinfo.map_ids = (uintptr_t)ids;
		assert_int_equal(bpf_prog_get_info_by_fd(f->progs[k].prog_fd, &pinfo, &plen), 0);
		for (i = 0; i < pinfo.nr_map_ids && i < 8; i++)
			found |= ids[i] == stats_id;
		if (!found)
			fail_msg("%s does not use the pinned zh_stats (id %u)", zh_prog_name(k),
				 stats_id);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counting_programs),
		cmocka_unit_test(test_objects_share_pinned_maps),
	};

	if (geteuid() != 0) {
		printf("1..1\nok 1 # SKIP BPF_PROG_TEST_RUN needs root (run: sudo make check)\n");
		return 0;
	}
	return cmocka_run_group_tests_name("bpf_counting", tests, setup, teardown);
}
