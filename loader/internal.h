/* SPDX-License-Identifier: GPL-2.0-only */
/* Loader internals shared between the library's files (not installed). */
#ifndef ZH_INTERNAL_H
#define ZH_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <bpf/libbpf.h>

#include "zerohop.h"

/* TC handle and priority of zerohop's clsact filters ("zh"). */
#define ZH_TC_HANDLE 0x7a68
#define ZH_TC_PRIO   1

/* --- paths (instance.c) --- */

int zh_inst_dir(const char *instance, char *buf, size_t len);
int zh_link_path(const char *inst_dir, uint32_t ifindex, const char *kind, char *buf,
		 size_t len);
/* Make sure <bpffs> is a bpffs (mount it if not) and create
 * <bpffs>/zerohop/<instance>/links. *created tells whether the instance
 * directory is new (so a failed first attach can remove it again).
 */
int zh_inst_dir_prepare(const char *instance, char *dir, size_t len, bool *created);
/* Remove an instance's pins and directories (best effort, for detach and
 * rollback). */
void zh_inst_dir_remove(const char *dir);
uint64_t zh_netns_cookie(void);

/* Open a pinned map of an instance: fd or -errno. */
int zh_map_open(const char *inst_dir, const char *name);
int zh_config_read(const char *inst_dir, struct zh_config *cfg);
/* Pinned-map element operations (open, op, close): 0 or -errno; a full
 * map logs "map NAME is full (N entries)" and returns -E2BIG. Deleting a
 * missing key is not an error.
 */
int zh_map_update(const char *inst_dir, const char *name, const void *key, const void *val);
int zh_map_delete(const char *inst_dir, const char *name, const void *key);
int zh_map_lookup(const char *inst_dir, const char *name, const void *key, void *val);
/* An attached instance in this netns, for commands that change it: its pin
 * directory and config. Logs why not and returns -errno.
 */
int zh_instance_open(const char *instance, char *dir, size_t len, struct zh_config *cfg);
/* Log-and-fail checks: a valid instance name; the instance's interfaces
 * live in this network namespace (-EXDEV otherwise).
 */
int zh_instance_name_check(const char *instance);
int zh_netns_check(const char *instance, const struct zh_config *cfg);
int zh_config_write(const char *inst_dir, const struct zh_config *cfg);

/* --- programs (progs.c) --- */

enum zh_prog_kind {
	ZH_PROG_XDP_UPLINK,
	ZH_PROG_TC_UPLINK,
	ZH_PROG_TC_PORT,
	ZH_PROG_KINDS,
};

struct zh_loaded {
	enum zh_prog_kind kind;
	void *skel;
	int prog_fd;
};

const char *zh_prog_name(enum zh_prog_kind kind);
/* Open the skeleton, size maps to what is pinned, copy cfg into .rodata,
 * load, and pin/reuse the maps under inst_dir.
 */
int zh_prog_load(enum zh_prog_kind kind, const char *inst_dir, const struct zh_config *cfg,
		 struct zh_loaded *out);
/* The same, creating maps that are not pinned yet with these capacities
 * (0: the default). Pinned maps keep theirs.
 */
int zh_prog_load_sized(enum zh_prog_kind kind, const char *inst_dir, const struct zh_config *cfg,
		       const struct zh_map_sizes *sizes, struct zh_loaded *out);
void zh_prog_unload(struct zh_loaded *l);

/* --- attach primitives (attach.c) --- */

/* XDP through a pinned bpf_link; replaces the program when the link exists
 * in the same mode.
 */
int zh_xdp_attach(const char *inst_dir, const char *ifname, uint32_t ifindex, int prog_fd,
		  uint32_t mode);
int zh_xdp_detach(const char *inst_dir, uint32_t ifindex);
/* TC ingress through a pinned tcx link or a clsact filter; replaces in
 * place when already attached.
 */
int zh_tc_attach(const char *inst_dir, const char *ifname, uint32_t ifindex, int prog_fd,
		 uint32_t tc_mode);
int zh_tc_detach(const char *inst_dir, uint32_t ifindex, uint32_t tc_mode, bool same_netns);
/* Program id behind a pinned link (0 if none) and whether its device is
 * still there. */
uint32_t zh_link_prog_id(const char *inst_dir, uint32_t ifindex, const char *kind,
			 bool *dev_present);
uint32_t zh_clsact_prog_id(uint32_t ifindex);

#endif /* ZH_INTERNAL_H */
