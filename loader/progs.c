// SPDX-License-Identifier: GPL-2.0-only
/* Loading the BPF skeletons: one object per attach point, all sharing the
 * instance's pinned maps.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "log.h"

#include "xdp_uplink.skel.h"
#include "tc_uplink.skel.h"
#include "tc_port.skel.h"

/* The three skeletons differ only in their type names; these ops let one
 * load path serve them all.
 */
struct skel_ops {
	const char *name;
	void *(*open)(const struct bpf_object_open_opts *opts);
	int (*load)(void *skel);
	void (*destroy)(void *skel);
	struct bpf_object *(*object)(void *skel);
	void *(*rodata_cfg)(void *skel);
	struct bpf_program *(*program)(void *skel);
};

#define SKEL_OPS(NAME)                                                                     \
	static void *NAME##_open(const struct bpf_object_open_opts *o)                     \
	{                                                                                  \
		return NAME##__open_opts(o);                                               \
	}                                                                                  \
	static int NAME##_load(void *s)                                                    \
	{                                                                                  \
		return NAME##__load(s);                                                    \
	}                                                                                  \
	static void NAME##_destroy(void *s)                                                \
	{                                                                                  \
		NAME##__destroy(s);                                                        \
	}                                                                                  \
	static struct bpf_object *NAME##_object(void *s)                                   \
	{                                                                                  \
		return ((struct NAME *)s)->obj;                                            \
	}                                                                                  \
	static void *NAME##_rodata_cfg(void *s)                                            \
	{                                                                                  \
		return (void *)&((struct NAME *)s)->rodata->zh_cfg;                        \
	}                                                                                  \
	static struct bpf_program *NAME##_program(void *s)                                 \
	{                                                                                  \
		return ((struct NAME *)s)->progs.NAME;                                     \
	}

SKEL_OPS(xdp_uplink)
SKEL_OPS(tc_uplink)
SKEL_OPS(tc_port)

#define SKEL_ENTRY(NAME)                                                                   \
	{                                                                                  \
		.name = #NAME, .open = NAME##_open, .load = NAME##_load,                   \
		.destroy = NAME##_destroy, .object = NAME##_object,                        \
		.rodata_cfg = NAME##_rodata_cfg, .program = NAME##_program,                \
	}

static const struct skel_ops skels[ZH_PROG_KINDS] = {
	[ZH_PROG_XDP_UPLINK] = SKEL_ENTRY(xdp_uplink),
	[ZH_PROG_TC_UPLINK] = SKEL_ENTRY(tc_uplink),
	[ZH_PROG_TC_PORT] = SKEL_ENTRY(tc_port),
};

const char *zh_prog_name(enum zh_prog_kind kind)
{
	return kind < ZH_PROG_KINDS ? skels[kind].name : "?";
}

/* Reuse the instance's pinned maps ourselves rather than through libbpf's
 * pin check: the kernel adds BPF_F_RDONLY_PROG to devmaps, which libbpf
 * then reports as a mismatch. A pin whose layout differs from this build's
 * (an upgrade across a map layout change) is refused with a clear message.
 * Maps that are not pinned yet keep their pin path: libbpf creates and pins
 * them at load.
 */
static int reuse_pinned_maps(struct bpf_object *obj, const char *inst_dir,
			     const struct zh_map_sizes *sizes)
{
	struct bpf_map_info info;
	struct bpf_map *map;
	__u32 len;
	int fd, err;

	bpf_object__for_each_map(map, obj) {
		if (!bpf_map__pin_path(map))
			continue;
		fd = zh_map_open(inst_dir, bpf_map__name(map));
		if (fd < 0) {
			/* Created and pinned at load: size it now. */
			if (sizes && sizes->endpoints && !strcmp(bpf_map__name(map), ZH_MAP_ENDPOINTS))
				bpf_map__set_max_entries(map, sizes->endpoints);
			if (sizes && sizes->routes && !strcmp(bpf_map__name(map), ZH_MAP_ROUTES))
				bpf_map__set_max_entries(map, sizes->routes);
			if (sizes && sizes->policies && !strcmp(bpf_map__name(map), ZH_MAP_POLICY))
				bpf_map__set_max_entries(map, sizes->policies);
			continue;
		}
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		err = bpf_map_get_info_by_fd(fd, &info, &len) ? -errno : 0;
		if (!err && (info.type != bpf_map__type(map) ||
			     info.key_size != bpf_map__key_size(map) ||
			     info.value_size != bpf_map__value_size(map))) {
			pr_warn("pinned map %s/%s has another layout than this zerohop's (key %u/%u, "
				"value %u/%u bytes); detach the instance to upgrade it\n",
				inst_dir, bpf_map__name(map), info.key_size, bpf_map__key_size(map),
				info.value_size, bpf_map__value_size(map));
			err = -EINVAL;
		}
		if (!err)
			err = bpf_map__reuse_fd(map, fd);
		if (!err)
			err = bpf_map__set_pin_path(map, NULL);
		close(fd);
		if (err)
			return err;
	}
	return 0;
}

int zh_prog_load(enum zh_prog_kind kind, const char *inst_dir, const struct zh_config *cfg,
		 struct zh_loaded *out)
{
	return zh_prog_load_sized(kind, inst_dir, cfg, NULL, out);
}

int zh_prog_load_sized(enum zh_prog_kind kind, const char *inst_dir, const struct zh_config *cfg,
		       const struct zh_map_sizes *sizes, struct zh_loaded *out)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = inst_dir);
	const struct skel_ops *ops = &skels[kind];
	void *skel;
	int err;

	memset(out, 0, sizeof(*out));
	skel = ops->open(&oo);
	if (!skel) {
		err = -errno;
		pr_warn("Couldn't open BPF object %s: %s\n", ops->name, strerror(-err));
		return err;
	}
	err = reuse_pinned_maps(ops->object(skel), inst_dir, sizes);
	if (err) {
		ops->destroy(skel);
		return err;
	}
	memcpy(ops->rodata_cfg(skel), cfg, sizeof(*cfg));

	err = ops->load(skel);
	if (err) {
		pr_warn("Couldn't load BPF program %s: %s%s\n", ops->name, strerror(-err),
			zh_log_get_level() < 2 ? " (run with -vv for the verifier log)" : "");
		ops->destroy(skel);
		return err;
	}
	out->kind = kind;
	out->skel = skel;
	out->prog_fd = bpf_program__fd(ops->program(skel));
	return 0;
}

void zh_prog_unload(struct zh_loaded *l)
{
	if (l->skel)
		skels[l->kind].destroy(l->skel);
	l->skel = NULL;
	l->prog_fd = -1;
}
