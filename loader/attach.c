// SPDX-License-Identifier: GPL-2.0-only
/* XDP and TC attach primitives.
 *
 * XDP and tcx attachments are bpf_links pinned under
 * <instance>/links/<ifindex>-{xdp-native,xdp-generic,tcx}: they outlive the CLI process, and
 * bpf_link_update() swaps the program atomically. Kernels without tcx get a
 * clsact filter with zerohop's own handle/priority, replaced in place with
 * BPF_TC_F_REPLACE (also atomic).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "internal.h"
#include "log.h"

static int link_pin_open(const char *inst_dir, uint32_t ifindex, const char *kind)
{
	char path[PATH_MAX];
	int fd;

	if (zh_link_path(inst_dir, ifindex, kind, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* A link whose device went away stays pinned but is defunct (ifindex 0). */
static bool link_alive(int fd)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_link_get_info_by_fd(fd, &info, &len))
		return false;
	if (info.type == BPF_LINK_TYPE_XDP)
		return info.xdp.ifindex != 0;
	if (info.type == BPF_LINK_TYPE_TCX)
		return info.tcx.ifindex != 0;
	return true;
}

static void link_unpin(const char *inst_dir, uint32_t ifindex, const char *kind)
{
	char path[PATH_MAX];
	int fd;

	if (zh_link_path(inst_dir, ifindex, kind, path, sizeof(path)))
		return;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		/* Detach even if another process holds a reference. */
		bpf_link_detach(fd);
		close(fd);
	}
	unlink(path);
}

/* Replace the program of a pinned link; 1 if replaced, 0 if there is no
 * usable link, <0 on error.
 */
static int link_replace(const char *inst_dir, uint32_t ifindex, const char *kind, int prog_fd)
{
	int fd = link_pin_open(inst_dir, ifindex, kind), err = 0;

	if (fd < 0)
		return 0;
	if (!link_alive(fd)) {
		close(fd);
		link_unpin(inst_dir, ifindex, kind);
		return 0;
	}
	if (bpf_link_update(fd, prog_fd, NULL))
		err = -errno;
	close(fd);
	return err ? err : 1;
}

static int link_create_pinned(const char *inst_dir, uint32_t ifindex, const char *kind,
			      int prog_fd, enum bpf_attach_type type, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = flags);
	char path[PATH_MAX];
	int fd, err = 0;

	fd = bpf_link_create(prog_fd, ifindex, type, &lo);
	if (fd < 0)
		return -errno;
	zh_link_path(inst_dir, ifindex, kind, path, sizeof(path));
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		bpf_link_detach(fd);
	}
	close(fd);
	return err;
}

int zh_xdp_attach(const char *inst_dir, const char *ifname, uint32_t ifindex, int prog_fd,
		  uint32_t mode)
{
	const char *kind = mode == ZH_XDP_NATIVE ? "xdp-native" : "xdp-generic";
	const char *other = mode == ZH_XDP_NATIVE ? "xdp-generic" : "xdp-native";
	__u32 flags = mode == ZH_XDP_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	int err;

	err = link_replace(inst_dir, ifindex, kind, prog_fd);
	if (err == 1) {
		pr_debug("replaced xdp program on %s (%s)\n", ifname, zh_xdp_mode_str(mode));
		return 0;
	}
	if (err < 0)
		goto fail;
	/* Switching modes cannot be atomic: the old link must go first. */
	link_unpin(inst_dir, ifindex, other);
	err = link_create_pinned(inst_dir, ifindex, kind, prog_fd, BPF_XDP, flags);
	if (err)
		goto fail;
	pr_debug("attached xdp program to %s (%s)\n", ifname, zh_xdp_mode_str(mode));
	return 0;
fail:
	pr_debug("xdp attach to %s (%s) failed: %s\n", ifname, zh_xdp_mode_str(mode),
		 strerror(-err));
	return err;
}

int zh_xdp_detach(const char *inst_dir, uint32_t ifindex)
{
	link_unpin(inst_dir, ifindex, "xdp-native");
	link_unpin(inst_dir, ifindex, "xdp-generic");
	return 0;
}

static int clsact_attach(uint32_t ifindex, int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = ZH_TC_HANDLE, .priority = ZH_TC_PRIO,
		    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &to);
}

int zh_tc_attach(const char *inst_dir, const char *ifname, uint32_t ifindex, int prog_fd,
		 uint32_t tc_mode)
{
	int err;

	if (tc_mode == ZH_TC_CLSACT) {
		err = clsact_attach(ifindex, prog_fd);
	} else {
		err = link_replace(inst_dir, ifindex, "tcx", prog_fd);
		if (err == 0)
			err = link_create_pinned(inst_dir, ifindex, "tcx", prog_fd,
						 BPF_TCX_INGRESS, 0);
		else if (err == 1)
			err = 0;
	}
	if (err)
		pr_debug("tc attach to %s (%s) failed: %s\n", ifname, zh_tc_mode_str(tc_mode),
			 strerror(-err));
	return err;
}

int zh_tc_detach(const char *inst_dir, uint32_t ifindex, uint32_t tc_mode, bool same_netns)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = ZH_TC_HANDLE, .priority = ZH_TC_PRIO);
	int err;

	if (tc_mode != ZH_TC_CLSACT) {
		link_unpin(inst_dir, ifindex, "tcx");
		return 0;
	}
	/* A clsact filter lives in the interface's namespace: from elsewhere the
	 * ifindex names another device. The filter dies with its device.
	 */
	if (!same_netns)
		return 0;
	err = bpf_tc_detach(&hook, &to);
	if (err == -ENOENT || err == -ENODEV || err == -EINVAL)
		err = 0;
	/* The clsact qdisc stays: other tools' filters may hang off it. */
	return err;
}

uint32_t zh_link_prog_id(const char *inst_dir, uint32_t ifindex, const char *kind,
			 bool *dev_present)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	int fd = link_pin_open(inst_dir, ifindex, kind);

	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_link_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return 0;
	}
	if (dev_present)
		*dev_present = link_alive(fd);
	close(fd);
	return info.prog_id;
}

uint32_t zh_clsact_prog_id(uint32_t ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, to, .handle = ZH_TC_HANDLE, .priority = ZH_TC_PRIO);

	if (bpf_tc_query(&hook, &to))
		return 0;
	return to.prog_id;
}
