// SPDX-License-Identifier: GPL-2.0-only
/* Batched access to an instance's maps for zerohop-agent: open the fds
 * once, write and delete many elements per system call where the kernel
 * allows it (hash maps), one by one where it does not (LPM trie on some
 * kernels), and read whole maps with batched lookups.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "internal.h"
#include "log.h"

/* Elements per batch system call: bounds the time one call holds the CPU. */
#define ZH_BATCH_MAX 8192

#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif

void zh_map_fd_close(struct zh_map_fd *m)
{
	if (m->fd >= 0)
		close(m->fd);
	memset(m, 0, sizeof(*m));
	m->fd = -1;
}

int zh_map_fd_init(struct zh_map_fd *m, int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int err;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (fd < 0)
		return 0;
	m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (m->fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	if (bpf_map_get_info_by_fd(m->fd, &info, &len)) {
		err = -errno;
		zh_map_fd_close(m);
		return err;
	}
	snprintf(m->name, sizeof(m->name), "%s", info.name);
	m->type = info.type;
	m->key_size = info.key_size;
	m->value_size = info.value_size;
	m->max_entries = info.max_entries;
	return 0;
}

void zh_maps_close(struct zh_maps *m)
{
	zh_map_fd_close(&m->endpoints);
	zh_map_fd_close(&m->routes);
	zh_map_fd_close(&m->ports);
	zh_map_fd_close(&m->ifaces);
	zh_map_fd_close(&m->policy);
}

int zh_maps_from_fds(struct zh_maps *m, int endpoints, int routes, int ports, int ifaces)
{
	int err;

	memset(m, 0, sizeof(*m));
	m->endpoints.fd = m->routes.fd = m->ports.fd = m->ifaces.fd = m->policy.fd = -1;
	err = zh_map_fd_init(&m->endpoints, endpoints);
	if (!err)
		err = zh_map_fd_init(&m->routes, routes);
	if (!err)
		err = zh_map_fd_init(&m->ports, ports);
	if (!err)
		err = zh_map_fd_init(&m->ifaces, ifaces);
	if (err)
		zh_maps_close(m);
	return err;
}

static int open_one(const char *dir, const char *name, struct zh_map_fd *out)
{
	int fd = zh_map_open(dir, name), err;

	if (fd < 0) {
		pr_warn("Couldn't open map %s/%s: %s\n", dir, name, strerror(-fd));
		return fd;
	}
	err = zh_map_fd_init(out, fd);
	close(fd);
	if (err)
		pr_warn("Couldn't read map %s/%s: %s\n", dir, name, strerror(-err));
	return err;
}

/* open_one() for a map that may not be pinned: fd -1 and 0 then. */
static int open_optional(const char *dir, const char *name, struct zh_map_fd *out)
{
	int fd = zh_map_open(dir, name);

	if (fd == -ENOENT) {
		pr_debug("map %s/%s is not there (attach the instance again to create it)\n", dir,
			 name);
		return 0;
	}
	if (fd >= 0)
		close(fd);
	return open_one(dir, name, out);
}

int zh_maps_open(const char *instance, struct zh_maps *m)
{
	int err;

	memset(m, 0, sizeof(*m));
	m->endpoints.fd = m->routes.fd = m->ports.fd = m->ifaces.fd = m->policy.fd = -1;
	err = zh_instance_open(instance, m->dir, sizeof(m->dir), &m->cfg);
	if (err)
		return err;
	err = open_one(m->dir, ZH_MAP_ENDPOINTS, &m->endpoints);
	if (!err)
		err = open_one(m->dir, ZH_MAP_ROUTES, &m->routes);
	if (!err)
		err = open_one(m->dir, ZH_MAP_PORTS, &m->ports);
	if (!err)
		err = open_one(m->dir, ZH_MAP_IFACES, &m->ifaces);
	/* An instance attached before export policies existed has no
	 * zh_policy (and programs that enforce none) until it is attached
	 * again; then policy.fd stays -1.
	 */
	if (!err)
		err = open_optional(m->dir, ZH_MAP_POLICY, &m->policy);
	if (err)
		zh_maps_close(m);
	return err;
}

static bool no_batch_errno(int err)
{
	return err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP || err == -ENOSYS;
}

static int full_errno(int err)
{
	return err == -E2BIG || err == -ENOSPC || err == -ENOMEM ? -E2BIG : err;
}

static uint32_t update_one_by_one(struct zh_map_fd *m, const char *keys, const char *vals,
				  uint32_t from, uint32_t n, zh_map_err_cb err_cb, void *ctx)
{
	uint32_t i, done = 0;

	for (i = from; i < n; i++) {
		m->syscalls++;
		if (bpf_map_update_elem(m->fd, keys + (size_t)i * m->key_size,
					vals + (size_t)i * m->value_size, BPF_ANY)) {
			if (err_cb)
				err_cb(i, full_errno(-errno), ctx);
			continue;
		}
		done++;
	}
	return done;
}

uint32_t zh_map_update_many(struct zh_map_fd *m, const void *keys, const void *vals, uint32_t n,
			    zh_map_err_cb err_cb, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	const char *k = keys, *v = vals;
	uint32_t i = 0, done = 0, count;
	int err;

	while (i < n && m->batch >= 0) {
		count = n - i < ZH_BATCH_MAX ? n - i : ZH_BATCH_MAX;
		m->syscalls++;
		err = bpf_map_update_batch(m->fd, k + (size_t)i * m->key_size,
					   v + (size_t)i * m->value_size, &count, &opts);
		if (!err) {
			m->batch = 1;
			i += count;
			done += count;
			continue;
		}
		if (m->batch == 0 && count == 0 && no_batch_errno(err)) {
			pr_debug("map %s: no batched updates (%s); writing elements one by one\n",
				 m->name, strerror(-err));
			m->batch = -1;
			break;
		}
		/* Element i + count failed; the ones before it are in. */
		m->batch = 1;
		done += count;
		i += count;
		if (i < n) {
			if (err_cb)
				err_cb(i, full_errno(err), ctx);
			i++;
		}
	}
	if (i < n)
		done += update_one_by_one(m, k, v, i, n, err_cb, ctx);
	return done;
}

static uint32_t delete_one_by_one(struct zh_map_fd *m, const char *keys, uint32_t from, uint32_t n,
				  zh_map_err_cb err_cb, void *ctx)
{
	uint32_t i, done = 0;

	for (i = from; i < n; i++) {
		m->syscalls++;
		if (bpf_map_delete_elem(m->fd, keys + (size_t)i * m->key_size)) {
			if (errno != ENOENT && err_cb)
				err_cb(i, -errno, ctx);
			continue;
		}
		done++;
	}
	return done;
}

uint32_t zh_map_delete_many(struct zh_map_fd *m, const void *keys, uint32_t n,
			    zh_map_err_cb err_cb, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	const char *k = keys;
	uint32_t i = 0, done = 0, count;
	int err;

	while (i < n && m->batch >= 0) {
		count = n - i < ZH_BATCH_MAX ? n - i : ZH_BATCH_MAX;
		m->syscalls++;
		err = bpf_map_delete_batch(m->fd, k + (size_t)i * m->key_size, &count, &opts);
		if (!err) {
			m->batch = 1;
			i += count;
			done += count;
			continue;
		}
		if (m->batch == 0 && count == 0 && no_batch_errno(err)) {
			pr_debug("map %s: no batched deletes (%s); deleting elements one by one\n",
				 m->name, strerror(-err));
			m->batch = -1;
			break;
		}
		/* A batch stops at the first key it cannot delete; a key that
		 * is already gone is what the caller wanted anyway.
		 */
		m->batch = 1;
		done += count;
		i += count;
		if (i < n) {
			if (err != -ENOENT && err_cb)
				err_cb(i, err, ctx);
			i++;
		}
	}
	if (i < n)
		done += delete_one_by_one(m, k, i, n, err_cb, ctx);
	return done;
}

static int iterate_next_key(struct zh_map_fd *m, zh_entry_cb cb, void *ctx)
{
	char *key, *next, *val;
	bool first = true;
	int err = 0;

	key = calloc(2, m->key_size);
	val = calloc(1, m->value_size);
	if (!key || !val) {
		err = -ENOMEM;
		goto out;
	}
	next = key + m->key_size;
	while (!bpf_map_get_next_key(m->fd, first ? NULL : key, next)) {
		first = false;
		memcpy(key, next, m->key_size);
		if (bpf_map_lookup_elem(m->fd, key, val))
			continue; /* deleted meanwhile */
		err = cb(key, val, ctx);
		if (err)
			break;
	}
out:
	free(key);
	free(val);
	return err;
}

int zh_map_iterate(struct zh_map_fd *m, zh_entry_cb cb, void *ctx)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t cap = 4096, count, i;
	char *keys = NULL, *vals = NULL;
	uint64_t token[2] = {0, 0}, next[2];
	bool first = true, last = false;
	int err = 0;

	/* The batch token of a hash map is a bucket number; other types use
	 * a key. Either fits in 16 bytes for zerohop's maps.
	 */
	if (m->key_size > sizeof(token) || m->type != BPF_MAP_TYPE_HASH)
		return iterate_next_key(m, cb, ctx);
	while (!last) {
		if (!keys) {
			keys = malloc((size_t)cap * m->key_size);
			vals = malloc((size_t)cap * m->value_size);
			if (!keys || !vals) {
				err = -ENOMEM;
				break;
			}
		}
		count = cap;
		err = bpf_map_lookup_batch(m->fd, first ? NULL : token, next, keys, vals, &count,
					   &opts);
		if (err == -ENOSPC && count == 0) {
			/* One bucket holds more than cap elements. */
			free(keys);
			free(vals);
			keys = vals = NULL;
			cap *= 2;
			continue;
		}
		if (err == -ENOENT) {
			last = true;
			err = 0;
		} else if (err) {
			if (first && no_batch_errno(err)) {
				err = iterate_next_key(m, cb, ctx);
				break;
			}
			break;
		}
		first = false;
		memcpy(token, next, sizeof(token));
		for (i = 0; i < count && !err; i++)
			err = cb(keys + (size_t)i * m->key_size, vals + (size_t)i * m->value_size,
				 ctx);
		if (err)
			break;
	}
	free(keys);
	free(vals);
	return err;
}

uint32_t zh_maps_port_prog_id(const struct zh_maps *m, uint32_t ifindex)
{
	bool present = false;
	uint32_t id;

	if (!m->dir[0])
		return 0;
	if (m->cfg.tc_mode == ZH_TC_TCX) {
		id = zh_link_prog_id(m->dir, ifindex, "tcx", &present);
		return present ? id : 0;
	}
	return zh_clsact_prog_id(ifindex);
}
