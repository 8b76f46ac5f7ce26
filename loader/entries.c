// SPDX-License-Identifier: GPL-2.0-only
/* Static programming of remote/peer endpoints and prefix routes, and
 * iteration over the data-plane maps for `zerohop show`.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "internal.h"
#include "log.h"

static int check_vni(const char *what, uint32_t vni)
{
	if (vni < 1 || vni > ZH_VNI_MAX) {
		pr_warn("%s %u is out of range 1..%u\n", what, vni, ZH_VNI_MAX);
		return -EINVAL;
	}
	return 0;
}

static int check_host(uint32_t host_ip, const struct zh_config *cfg)
{
	if (zh_check_unicast_ipv4(host_ip)) {
		char s[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &host_ip, s, sizeof(s));
		pr_warn("host %s is not a unicast underlay address\n", s);
		return -EINVAL;
	}
	(void)cfg;
	return 0;
}

int zh_endpoint_add(const char *instance, const struct zh_endpoint_opts *o)
{
	struct zh_ep_key key = {.vni = o->vni, .ip = o->ip};
	struct zh_endpoint ep = {0}, old;
	struct zh_config cfg;
	char dir[PATH_MAX], ip[INET_ADDRSTRLEN];
	int err;

	err = zh_instance_open(instance, dir, sizeof(dir), &cfg);
	if (err)
		return err;
	err = check_vni("VNI", o->vni);
	if (!err && o->dest_vni)
		err = check_vni("destination VNI", o->dest_vni);
	if (!err)
		err = check_host(o->host_ip, &cfg);
	if (err)
		return err;
	inet_ntop(AF_INET, &o->ip, ip, sizeof(ip));
	if (zh_check_unicast_ipv4(o->ip)) {
		pr_warn("endpoint %s is not a unicast host address\n", ip);
		return -EINVAL;
	}
	if (zh_map_lookup(dir, ZH_MAP_ENDPOINTS, &key, &old) == 0 && old.ifindex) {
		pr_warn("%s in VNI %u is a VM port on this host; remove the port first\n", ip,
			o->vni);
		return -EEXIST;
	}
	ep.host_ip = o->host_ip;
	ep.dest_vni = o->dest_vni == o->vni ? 0 : o->dest_vni;
	memcpy(ep.mac, o->mac, 6);
	ep.encap = o->encap;
	err = zh_map_update(dir, ZH_MAP_ENDPOINTS, &key, &ep);
	if (err && err != -E2BIG)
		pr_warn("Couldn't add endpoint %s in VNI %u: %s\n", ip, o->vni, strerror(-err));
	return err;
}

int zh_endpoint_del(const char *instance, uint32_t vni, uint32_t ip)
{
	struct zh_ep_key key = {.vni = vni, .ip = ip};
	struct zh_config cfg;
	struct zh_endpoint ep;
	char dir[PATH_MAX], s[INET_ADDRSTRLEN];
	int err;

	err = zh_instance_open(instance, dir, sizeof(dir), &cfg);
	if (!err)
		err = check_vni("VNI", vni);
	if (err)
		return err;
	inet_ntop(AF_INET, &ip, s, sizeof(s));
	if (zh_map_lookup(dir, ZH_MAP_ENDPOINTS, &key, &ep)) {
		pr_warn("no endpoint %s in VNI %u\n", s, vni);
		return -ENOENT;
	}
	if (ep.ifindex) {
		pr_warn("%s in VNI %u is a VM port on this host; use zerohop port del\n", s, vni);
		return -EINVAL;
	}
	return zh_map_delete(dir, ZH_MAP_ENDPOINTS, &key);
}

static void route_key(struct zh_route_key *k, uint32_t vni, uint32_t prefix, uint8_t len)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + len;
	k->vni = vni;
	k->ip = prefix;
}

int zh_route_add(const char *instance, const struct zh_route_opts *o)
{
	struct zh_route_key key;
	struct zh_route rt = {0};
	struct zh_config cfg;
	char dir[PATH_MAX];
	int err;

	err = zh_instance_open(instance, dir, sizeof(dir), &cfg);
	if (!err)
		err = check_vni("VNI", o->vni);
	if (!err && o->dest_vni)
		err = check_vni("destination VNI", o->dest_vni);
	if (!err && !o->drop)
		err = check_host(o->host_ip, &cfg);
	if (err)
		return err;
	route_key(&key, o->vni, o->prefix, o->prefix_len);
	rt.action = o->drop ? ZH_ROUTE_DROP : ZH_ROUTE_REMOTE;
	rt.host_ip = o->drop ? 0 : o->host_ip;
	rt.dest_vni = o->dest_vni == o->vni ? 0 : o->dest_vni;
	rt.encap = o->encap;
	err = zh_map_update(dir, ZH_MAP_ROUTES, &key, &rt);
	if (err && err != -E2BIG)
		pr_warn("Couldn't add route in VNI %u: %s\n", o->vni, strerror(-err));
	return err;
}

int zh_route_del(const char *instance, uint32_t vni, uint32_t prefix, uint8_t prefix_len)
{
	struct zh_route_key key;
	struct zh_config cfg;
	char dir[PATH_MAX], s[INET_ADDRSTRLEN];
	int fd, err;

	err = zh_instance_open(instance, dir, sizeof(dir), &cfg);
	if (!err)
		err = check_vni("VNI", vni);
	if (err)
		return err;
	route_key(&key, vni, prefix, prefix_len);
	/* Delete the exact prefix: an LPM lookup would also match a shorter
	 * route covering it. */
	fd = zh_map_open(dir, ZH_MAP_ROUTES);
	if (fd < 0)
		return fd;
	err = bpf_map_delete_elem(fd, &key) ? -errno : 0;
	close(fd);
	inet_ntop(AF_INET, &prefix, s, sizeof(s));
	if (err == -ENOENT)
		pr_warn("no route %s/%u in VNI %u\n", s, prefix_len, vni);
	else if (err)
		pr_warn("Couldn't remove route %s/%u in VNI %u: %s\n", s, prefix_len, vni,
			strerror(-err));
	return err;
}

int zh_map_foreach(const char *instance, const char *map, zh_entry_cb cb, void *ctx)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct zh_config cfg;
	char dir[PATH_MAX];
	void *key = NULL, *next, *val = NULL;
	int fd, err;
	bool first = true;

	err = zh_instance_open(instance, dir, sizeof(dir), &cfg);
	if (err)
		return err;
	fd = zh_map_open(dir, map);
	if (fd < 0) {
		pr_warn("Couldn't open map %s/%s: %s\n", dir, map, strerror(-fd));
		return fd;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_map_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	key = calloc(2, info.key_size);
	val = calloc(1, info.value_size);
	if (!key || !val) {
		err = -ENOMEM;
		goto out;
	}
	next = (char *)key + info.key_size;
	while (!bpf_map_get_next_key(fd, first ? NULL : key, next)) {
		first = false;
		memcpy(key, next, info.key_size);
		if (bpf_map_lookup_elem(fd, key, val))
			continue; /* deleted meanwhile */
		err = cb(key, val, ctx);
		if (err)
			break;
	}
out:
	free(key);
	free(val);
	close(fd);
	return err;
}
