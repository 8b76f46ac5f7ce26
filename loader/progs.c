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

/* A pinned map keeps the size it was created with; libbpf only reuses a pin
 * whose definition matches, so take max_entries from the pin.
 */
static void size_maps_from_pins(struct bpf_object *obj, const char *inst_dir)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		int fd;

		if (!bpf_map__pin_path(map))
			continue;
		fd = zh_map_open(inst_dir, bpf_map__name(map));
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_map_get_info_by_fd(fd, &info, &len))
			bpf_map__set_max_entries(map, info.max_entries);
		close(fd);
	}
}

int zh_prog_load(enum zh_prog_kind kind, const char *inst_dir, const struct zh_config *cfg,
		 struct zh_loaded *out)
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
	size_maps_from_pins(ops->object(skel), inst_dir);
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
