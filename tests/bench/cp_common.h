/* SPDX-License-Identifier: GPL-2.0-only */
/* What the control-plane bench drivers (cp_bench.c, peer_bench.c) share:
 * clocks, records written to etcd in transactions of BATCH with the data
 * model's formatter, and counting entries straight from an instance's
 * pinned maps. BENCH_PROG names the program in error messages.
 */
#ifndef ZH_BENCH_CP_COMMON_H
#define ZH_BENCH_CP_COMMON_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>

#include "etcd.h"
#include "model.h"
#include "zerohop.h"

#define BATCH 128

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wall-clock seconds: comparable with `date +%s.%N` of the runner. */
static inline double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct batch {
	struct zh_etcd *e;
	struct zh_etcd_op ops[BATCH];
	char *keys[BATCH], *vals[BATCH];
	size_t n;
};

static inline int batch_flush(struct batch *b)
{
	size_t i;
	int err = 0;

	if (b->n)
		err = zh_etcd_txn(b->e, b->ops, b->n, NULL, NULL);
	if (err)
		fprintf(stderr, BENCH_PROG ": txn failed: %s\n", zh_etcd_error(b->e));
	for (i = 0; i < b->n; i++) {
		free(b->keys[i]);
		free(b->vals[i]);
	}
	b->n = 0;
	return err;
}

static inline int batch_put(struct batch *b, const struct zh_record *r)
{
	char *k, *v;
	int err;

	err = zh_record_format(r, &k, &v);
	if (err) {
		fprintf(stderr, BENCH_PROG ": cannot format a %s record of %s: %s\n",
			zh_rec_kind_name(r->kind), r->network, strerror(-err));
		return err;
	}
	b->keys[b->n] = k;
	b->vals[b->n] = v;
	b->ops[b->n] = (struct zh_etcd_op){.type = ZH_ETCD_PUT, .key = k, .value = v};
	if (++b->n == BATCH)
		return batch_flush(b);
	return 0;
}

/* The instance's pinned map NAME, or -errno (said on stderr unless QUIET). */
static inline int map_fd(const char *instance, const char *name, bool quiet)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	int fd;

	if (zh_instance_dir(instance, dir, sizeof(dir)))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0 && !quiet)
		fprintf(stderr, BENCH_PROG ": %s: %s\n", path, strerror(errno));
	return fd;
}

/* Remote endpoints (ifindex 0) in zh_endpoints, read in batches; with
 * PEERS_ONLY just those into another VNI (a peer's). -errno on failure.
 */
static inline long count_remote_eps(int fd, bool peers_only)
{
	enum { CHUNK = 8192 };
	static struct zh_ep_key keys[CHUNK];
	static struct zh_endpoint vals[CHUNK];
	struct zh_ep_key out_batch;
	void *in = NULL;
	long total = 0;
	__u32 n, i;
	int err;

	for (;;) {
		n = CHUNK;
		err = bpf_map_lookup_batch(fd, in, &out_batch, keys, vals, &n, NULL);
		if (err && errno != ENOENT)
			return -errno;
		for (i = 0; i < n; i++)
			total += vals[i].ifindex == 0 && (!peers_only || vals[i].dest_vni != 0);
		if (err)
			return total;
		in = &out_batch;
	}
}

#endif /* ZH_BENCH_CP_COMMON_H */
