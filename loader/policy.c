// SPDX-License-Identifier: GPL-2.0-only
/* Export policies of peerings in zh_policy: which prefixes of a network,
 * and which protocols, another network may reach (see zerohop.h and
 * docs/datapath.md, "Export policies").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "internal.h"
#include "log.h"

/* The 64 bits of vni and peer_vni come before the address in the key. */
#define POLICY_VNI_BITS 64

static uint32_t prefix_mask(uint8_t len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

void zh_policy_encode(const struct zh_policy_entry *e, struct zh_policy_key *key,
		      struct zh_policy *val)
{
	memset(key, 0, sizeof(*key));
	key->prefixlen = POLICY_VNI_BITS + e->prefix_len;
	key->vni = e->vni;
	key->peer_vni = e->peer_vni;
	key->addr = e->prefix;
	memset(val, 0, sizeof(*val));
	val->protocols = e->protocols;
}

void zh_policy_decode(const struct zh_policy_key *key, const struct zh_policy *val,
		      struct zh_policy_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->vni = key->vni;
	e->peer_vni = key->peer_vni;
	e->prefix = key->addr;
	e->prefix_len = key->prefixlen > POLICY_VNI_BITS ? key->prefixlen - POLICY_VNI_BITS : 0;
	e->protocols = val->protocols;
}

static void entry_name(const struct zh_policy_entry *e, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &e->prefix, ip, sizeof(ip));
	snprintf(buf, len, "policy %s/%u of VNI %u for VNI %u", ip, e->prefix_len, e->vni,
		 e->peer_vni);
}

/* Everything but the protocols (del needs no protocols). */
static int check_key(const struct zh_policy_entry *e, const char *name)
{
	if (e->vni < 1 || e->vni > ZH_VNI_MAX || e->peer_vni < 1 || e->peer_vni > ZH_VNI_MAX) {
		pr_warn("%s: VNIs must be from 1 to %u\n", name, ZH_VNI_MAX);
		return -EINVAL;
	}
	if (e->vni == e->peer_vni) {
		pr_warn("%s: a network needs no policy toward itself (traffic within a VNI is "
			"never checked)\n", name);
		return -EINVAL;
	}
	if (e->prefix_len > 32 || (e->prefix & ~prefix_mask(e->prefix_len))) {
		pr_warn("%s: not a prefix (host bits set or length over 32)\n", name);
		return -EINVAL;
	}
	return 0;
}

int zh_policy_check(const struct zh_policy_entry *e)
{
	char name[96];
	int err;

	entry_name(e, name, sizeof(name));
	err = check_key(e, name);
	if (err)
		return err;
	if (!e->protocols || (e->protocols & ~ZH_PROTO_ANY)) {
		pr_warn("%s: protocols 0x%x: need a non-empty set of ZH_PROTO_* bits\n", name,
			e->protocols);
		return -EINVAL;
	}
	return 0;
}

int zh_policy_add(const char *instance, uint32_t vni, uint32_t peer_vni, uint32_t prefix,
		  uint8_t prefix_len, uint32_t protocols)
{
	struct zh_policy_entry e = {.vni = vni, .peer_vni = peer_vni, .prefix = prefix,
				    .prefix_len = prefix_len, .protocols = protocols};
	struct zh_policy_key key;
	struct zh_policy val;
	struct zh_config cfg;
	char dir[PATH_MAX], name[96];
	int err;

	err = zh_instance_open(instance, dir, sizeof(dir), &cfg);
	if (!err)
		err = zh_policy_check(&e);
	if (err)
		return err;
	zh_policy_encode(&e, &key, &val);
	err = zh_map_update(dir, ZH_MAP_POLICY, &key, &val);
	if (err && err != -E2BIG) {
		entry_name(&e, name, sizeof(name));
		pr_warn("Couldn't add %s: %s\n", name, strerror(-err));
	}
	return err;
}

int zh_policy_del(const char *instance, uint32_t vni, uint32_t peer_vni, uint32_t prefix,
		  uint8_t prefix_len)
{
	struct zh_policy_entry e = {.vni = vni, .peer_vni = peer_vni, .prefix = prefix,
				    .prefix_len = prefix_len};
	struct zh_policy_key key;
	struct zh_policy val;
	struct zh_config cfg;
	char dir[PATH_MAX], name[96];
	int fd, err;

	err = zh_instance_open(instance, dir, sizeof(dir), &cfg);
	if (err)
		return err;
	entry_name(&e, name, sizeof(name));
	err = check_key(&e, name);
	if (err)
		return err;
	zh_policy_encode(&e, &key, &val);
	fd = zh_map_open(dir, ZH_MAP_POLICY);
	if (fd < 0) {
		pr_warn("Couldn't open map %s/%s: %s\n", dir, ZH_MAP_POLICY, strerror(-fd));
		return fd;
	}
	/* A lookup in an LPM trie finds covering prefixes too; a delete
	 * only takes the exact one.
	 */
	err = bpf_map_delete_elem(fd, &key) ? -errno : 0;
	close(fd);
	if (err == -ENOENT)
		pr_warn("no %s\n", name);
	else if (err)
		pr_warn("Couldn't remove %s: %s\n", name, strerror(-err));
	return err;
}

struct foreach_ctx {
	zh_policy_cb cb;
	void *ctx;
};

static int foreach_one(const void *key, const void *val, void *c)
{
	struct foreach_ctx *fc = c;
	struct zh_policy_entry e;

	zh_policy_decode(key, val, &e);
	return fc->cb(&e, fc->ctx);
}

int zh_policy_foreach(const char *instance, zh_policy_cb cb, void *ctx)
{
	struct foreach_ctx fc = {.cb = cb, .ctx = ctx};

	return zh_map_foreach(instance, ZH_MAP_POLICY, foreach_one, &fc);
}
