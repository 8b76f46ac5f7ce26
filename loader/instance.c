// SPDX-License-Identifier: GPL-2.0-only
/* Instance directories under bpffs, the pinned config, privilege checks. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/magic.h>

#include "internal.h"
#include "log.h"

static const char *bpffs_root(void)
{
	const char *p = getenv("ZEROHOP_BPFFS");

	return p && *p ? p : "/sys/fs/bpf";
}

const char *zh_pin_base(void)
{
	static char base[PATH_MAX];

	snprintf(base, sizeof(base), "%s/zerohop", bpffs_root());
	return base;
}

int zh_inst_dir(const char *instance, char *buf, size_t len)
{
	if (zh_check_instance_name(instance))
		return -EINVAL;
	if ((size_t)snprintf(buf, len, "%s/%s", zh_pin_base(), instance) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int zh_instance_dir(const char *instance, char *buf, size_t len)
{
	return zh_inst_dir(instance, buf, len);
}

int zh_link_path(const char *inst_dir, uint32_t ifindex, const char *kind, char *buf,
		 size_t len)
{
	if ((size_t)snprintf(buf, len, "%s/links/%u-%s", inst_dir, ifindex, kind) >= len)
		return -ENAMETOOLONG;
	return 0;
}

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* The network namespace's cookie: unlike its inode number it is never
 * reused while the machine runs, so a record left by a namespace that is
 * gone cannot be mistaken for this one.
 */
uint64_t zh_netns_cookie(void)
{
	uint64_t cookie = 0;
	socklen_t len = sizeof(cookie);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	close(fd);
	return cookie;
}

static bool is_bpffs(const char *path)
{
	struct statfs fs;

	return statfs(path, &fs) == 0 && fs.f_type == BPF_FS_MAGIC;
}

/* The bpffs root must be a bpffs; mount one there if it is not (as bpftool
 * and systemd do for /sys/fs/bpf).
 */
static int bpffs_ensure(void)
{
	const char *root = bpffs_root();
	int err;

	if (is_bpffs(root))
		return 0;
	if (mkdir(root, 0700) && errno != EEXIST) {
		err = -errno;
		pr_warn("bpffs not mountable at %s: %s\n", root, strerror(-err));
		return err;
	}
	if (mount("bpf", root, "bpf", 0, "mode=0700")) {
		err = -errno;
		pr_warn("bpffs not mountable at %s: %s\n", root, strerror(-err));
		return err;
	}
	pr_info("mounted bpffs at %s\n", root);
	return 0;
}

int zh_inst_dir_prepare(const char *instance, char *dir, size_t len, bool *created)
{
	char links[PATH_MAX];
	int err, tries;

	*created = false;
	err = bpffs_ensure();
	if (err)
		return err;
	err = zh_inst_dir(instance, dir, len);
	if (err)
		return err;
	/* A concurrent detach of the last instance may remove zerohop/
	 * between the two mkdirs; try again then.
	 */
	for (tries = 0; tries < 3; tries++) {
		if (mkdir(zh_pin_base(), 0700) && errno != EEXIST)
			goto fail;
		if (mkdir(dir, 0700) == 0)
			*created = true;
		else if (errno == ENOENT)
			continue;
		else if (errno != EEXIST)
			goto fail;
		break;
	}
	snprintf(links, sizeof(links), "%s/links", dir);
	if (mkdir(links, 0700) && errno != EEXIST)
		goto fail;
	return 0;
fail:
	err = -errno;
	pr_warn("Couldn't create pin directory %s: %s\n", dir, strerror(-err));
	if (*created)
		zh_inst_dir_remove(dir);
	*created = false;
	return err;
}

static void remove_files(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) && errno != ENOENT)
			pr_debug("couldn't remove %s: %s\n", path, strerror(errno));
	}
	closedir(d);
}

void zh_inst_dir_remove(const char *dir)
{
	char links[PATH_MAX];

	snprintf(links, sizeof(links), "%s/links", dir);
	remove_files(links);
	rmdir(links);
	remove_files(dir);
	if (rmdir(dir) && errno != ENOENT)
		pr_warn("Couldn't remove %s: %s\n", dir, strerror(errno));
	rmdir(zh_pin_base()); /* only succeeds when it was the last instance */
}

bool zh_instance_exists(const char *instance)
{
	char dir[PATH_MAX], cfg[PATH_MAX];

	if (zh_inst_dir(instance, dir, sizeof(dir)))
		return false;
	snprintf(cfg, sizeof(cfg), "%s/" ZH_MAP_CONFIG, dir);
	return access(cfg, F_OK) == 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(a, b);
}

int zh_list_instances(char (*names)[ZH_INSTANCE_NAME_MAX + 1], int max)
{
	struct dirent *de;
	DIR *d = opendir(zh_pin_base());
	int n = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) && n < max) {
		if (zh_check_instance_name(de->d_name) || !zh_instance_exists(de->d_name))
			continue;
		snprintf(names[n++], ZH_INSTANCE_NAME_MAX + 1, "%s", de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	return n;
}

int zh_map_open(const char *inst_dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", inst_dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* One map operation on a pinned map; -errno. A full map is reported by
 * name with its capacity.
 */
static int map_op(const char *inst_dir, const char *name, int op, const void *key, void *val)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd, err = 0;

	fd = zh_map_open(inst_dir, name);
	if (fd < 0) {
		pr_warn("Couldn't open map %s/%s: %s\n", inst_dir, name, strerror(-fd));
		return fd;
	}
	if (op == 'u')
		err = bpf_map_update_elem(fd, key, val, BPF_ANY) ? -errno : 0;
	else if (op == 'd')
		err = bpf_map_delete_elem(fd, key) ? -errno : 0;
	else
		err = bpf_map_lookup_elem(fd, key, val) ? -errno : 0;
	if (op == 'u' && (err == -E2BIG || err == -ENOSPC || err == -ENOMEM)) {
		memset(&info, 0, sizeof(info));
		bpf_map_get_info_by_fd(fd, &info, &len);
		pr_warn("map %s is full (%u entries)\n", name, info.max_entries);
		err = -E2BIG;
	}
	close(fd);
	return err;
}

int zh_map_update(const char *inst_dir, const char *name, const void *key, const void *val)
{
	return map_op(inst_dir, name, 'u', key, (void *)val);
}

int zh_map_delete(const char *inst_dir, const char *name, const void *key)
{
	int err = map_op(inst_dir, name, 'd', key, NULL);

	return err == -ENOENT ? 0 : err;
}

int zh_map_lookup(const char *inst_dir, const char *name, const void *key, void *val)
{
	return map_op(inst_dir, name, 'l', key, val);
}

int zh_instance_name_check(const char *instance)
{
	if (zh_check_instance_name(instance)) {
		pr_warn("invalid instance name '%s': use 1-%d characters of [A-Za-z0-9_-]\n",
			instance, ZH_INSTANCE_NAME_MAX);
		return -EINVAL;
	}
	return 0;
}

int zh_netns_check(const char *instance, const struct zh_config *cfg)
{
	if (cfg->netns_cookie && cfg->netns_cookie != zh_netns_cookie()) {
		pr_warn("instance '%s' lives in another network namespace (netns cookie %llu); run "
			"zerohop inside it (e.g. nsenter --net=/run/netns/NAME zerohop ...)\n",
			instance, (unsigned long long)cfg->netns_cookie);
		return -EXDEV;
	}
	return 0;
}

int zh_instance_open(const char *instance, char *dir, size_t len, struct zh_config *cfg)
{
	int err;

	err = zh_instance_name_check(instance);
	if (!err)
		err = zh_check_privileges();
	if (err)
		return err;
	if (!zh_instance_exists(instance) || zh_inst_dir(instance, dir, len) ||
	    zh_config_read(dir, cfg)) {
		pr_warn("instance '%s' is not attached (run zerohop attach --instance %s ... "
			"first)\n",
			instance, instance);
		return -ENOENT;
	}
	return zh_netns_check(instance, cfg);
}

int zh_config_read(const char *inst_dir, struct zh_config *cfg)
{
	__u32 key = 0;
	int fd, err = 0;

	fd = zh_map_open(inst_dir, ZH_MAP_CONFIG);
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &key, cfg))
		err = -errno;
	close(fd);
	return err;
}

int zh_config_write(const char *inst_dir, const struct zh_config *cfg)
{
	__u32 key = 0;
	int fd, err = 0;

	fd = zh_map_open(inst_dir, ZH_MAP_CONFIG);
	if (fd < 0)
		return fd;
	if (bpf_map_update_elem(fd, &key, cfg, BPF_ANY))
		err = -errno;
	close(fd);
	return err;
}

int zh_check_privileges(void)
{
	if (geteuid() != 0) {
		pr_warn("must run as root (needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)\n");
		return -EPERM;
	}
	return 0;
}

int zh_check_kernel_btf(void)
{
	if (access(zh_kernel_btf_path(), R_OK)) {
		pr_warn("kernel has no BTF (%s: %s); zerohop needs a kernel built with "
			"CONFIG_DEBUG_INFO_BTF=y\n",
			zh_kernel_btf_path(), strerror(errno));
		return -ENOTSUP;
	}
	return 0;
}
