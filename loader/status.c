// SPDX-License-Identifier: GPL-2.0-only
/* What an instance runs: interfaces and attach modes, programs, pinned maps,
 * kernel features and counters.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "log.h"

static const char *const counter_names[] = {
#define ZH_COUNTER_NAME(id, name, help) [ZH_CNT_##id] = name,
	ZH_COUNTERS(ZH_COUNTER_NAME)
#undef ZH_COUNTER_NAME
};

static const char *const counter_help[] = {
#define ZH_COUNTER_HELP(id, name, help) [ZH_CNT_##id] = help,
	ZH_COUNTERS(ZH_COUNTER_HELP)
#undef ZH_COUNTER_HELP
};

const char *zh_counter_name(unsigned int id)
{
	return id < ZH_CNT_MAX ? counter_names[id] : NULL;
}

const char *zh_counter_help(unsigned int id)
{
	return id < ZH_CNT_MAX ? counter_help[id] : NULL;
}

static int counters_read_fd(int fd, struct zh_counter out[ZH_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	struct zh_counter *vals;
	__u32 id;
	int c;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	memset(out, 0, sizeof(struct zh_counter) * ZH_CNT_MAX);
	for (id = 0; id < ZH_CNT_MAX; id++) {
		if (bpf_map_lookup_elem(fd, &id, vals)) {
			err = -errno;
			break;
		}
		for (c = 0; c < ncpu; c++) {
			out[id].packets += vals[c].packets;
			out[id].bytes += vals[c].bytes;
		}
	}
	free(vals);
	return err;
}

int zh_counters_read(const char *instance, struct zh_counter out[ZH_CNT_MAX])
{
	char dir[PATH_MAX];
	int fd, err;

	err = zh_inst_dir(instance, dir, sizeof(dir));
	if (err)
		return err;
	fd = zh_map_open(dir, ZH_MAP_STATS);
	if (fd < 0)
		return fd;
	err = counters_read_fd(fd, out);
	close(fd);
	return err;
}

static uint32_t map_count_entries(int fd, const struct bpf_map_info *info)
{
	__u32 n = 0;
	void *key, *next, *prev = NULL;

	if (info->type == BPF_MAP_TYPE_ARRAY || info->type == BPF_MAP_TYPE_PERCPU_ARRAY)
		return info->max_entries;
	key = calloc(2, info->key_size ? info->key_size : 1);
	if (!key)
		return 0;
	next = (char *)key + info->key_size;
	while (n < info->max_entries && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, info->key_size);
		prev = key;
		n++;
	}
	free(key);
	return n;
}

static int cmp_maps(const void *a, const void *b)
{
	return strcmp(((const struct zh_map_status *)a)->name,
		      ((const struct zh_map_status *)b)->name);
}

static void read_maps(const char *dir, struct zh_status *st)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)) && st->n_maps < ZH_STATUS_MAX_MAPS) {
		struct zh_map_status *m = &st->maps[st->n_maps];
		struct bpf_map_info info;
		__u32 len = sizeof(info);
		int fd;

		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_map_get_info_by_fd(fd, &info, &len)) {
			snprintf(m->name, sizeof(m->name), "%s", de->d_name);
			m->id = info.id;
			m->type = info.type;
			m->max_entries = info.max_entries;
			m->entries = map_count_entries(fd, &info);
			st->n_maps++;
		}
		close(fd);
	}
	closedir(d);
	qsort(st->maps, st->n_maps, sizeof(st->maps[0]), cmp_maps);
}

static int read_ifaces(const char *dir, struct zh_status *st, bool same_netns)
{
	__u32 key, next, *prev = NULL;
	struct zh_iface rec;
	int fd, cap = 0;

	fd = zh_map_open(dir, ZH_MAP_IFACES);
	if (fd < 0)
		return fd;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct zh_iface_status *s;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &rec))
			continue;
		if (st->n_ifaces == cap) {
			void *p;

			cap = cap ? cap * 2 : 8;
			p = realloc(st->ifaces, cap * sizeof(*st->ifaces));
			if (!p) {
				close(fd);
				return -ENOMEM;
			}
			st->ifaces = p;
		}
		s = &st->ifaces[st->n_ifaces++];
		memset(s, 0, sizeof(*s));
		s->ifindex = key;
		memcpy(s->name, rec.name, sizeof(s->name));
		s->name[sizeof(s->name) - 1] = 0;
		s->role = rec.role;
		s->xdp_mode = rec.xdp_mode;
		s->tc_mode = rec.tc_mode;
		s->present = true;
		if (rec.xdp_mode != ZH_XDP_OFF)
			s->xdp_prog_id = zh_link_prog_id(
				dir, key, rec.xdp_mode == ZH_XDP_NATIVE ? "xdp-native" : "xdp-generic",
				&s->present);
		if (rec.tc_mode == ZH_TC_TCX)
			s->tc_prog_id = zh_link_prog_id(dir, key, "tcx", &s->present);
		else if (same_netns) {
			char name[IF_NAMESIZE];

			s->present = if_indextoname(key, name) && !strcmp(name, s->name);
			s->tc_prog_id = s->present ? zh_clsact_prog_id(key) : 0;
		}
	}
	close(fd);
	return 0;
}

int zh_status_read(const char *instance, struct zh_status *st)
{
	char dir[PATH_MAX];
	int fd, err;

	memset(st, 0, sizeof(*st));
	err = zh_inst_dir(instance, dir, sizeof(dir));
	if (err)
		return err;
	if (!zh_instance_exists(instance))
		return -ENOENT;
	snprintf(st->instance, sizeof(st->instance), "%s", instance);
	snprintf(st->pin_dir, sizeof(st->pin_dir), "%s", dir);
	err = zh_config_read(dir, &st->cfg);
	if (err)
		return err;
	zh_probe_features(&st->features);
	err = read_ifaces(dir, st, !st->cfg.netns_cookie || st->cfg.netns_cookie == zh_netns_cookie());
	if (err)
		return err;
	read_maps(dir, st);
	fd = zh_map_open(dir, ZH_MAP_STATS);
	if (fd < 0)
		return fd;
	err = counters_read_fd(fd, st->counters);
	close(fd);
	return err;
}

void zh_status_free(struct zh_status *st)
{
	free(st->ifaces);
	st->ifaces = NULL;
	st->n_ifaces = 0;
}
