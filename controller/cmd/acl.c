// SPDX-License-Identifier: GPL-2.0-only
/* zerohop-controller: etcd users and roles for peerings (docs/controller.md).
 *
 * For networks/<net>/peerings/<peer> with a peer_user, this shard gets
 * the user peer_user (password from peer_password_file) with the one role
 * zerohop-peer-<net>-<peer>: READ on the prefix
 * /zerohop/v1/published/<net>/<grant>/ and READ on the key
 * /zerohop/v1/networks/<net>/peerings/<peer>, nothing else. The role and
 * the user go with the peering. Every step checks first, so a restart
 * changes nothing that is right already (a password is only set again
 * when it no longer logs in: changing it ends the user's sessions).
 *
 * Checking a password by logging in costs a bcrypt in etcd, so a restart
 * of a shard with thousands of peerings would spend minutes of etcd CPU
 * on it. The record /zerohop/v1/acl/<net>/<peer> remembers the user and a
 * salted SHA-256-crypt hash of the password that was set: a password that
 * matches it is not checked again.
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl.h"

#define ROLE_PREFIX "zerohop-peer-"
/* SHA-256-crypt, 1000 rounds: ~0.4 ms a check in the controller, against
 * a bcrypt in etcd (~55 ms at etcd's default cost 10).
 */
#define HASH_PREFIX "$5$"
#define HASH_ROUNDS 1000

static void record_key(const char *net, const char *peer, char *buf, size_t size)
{
	snprintf(buf, size, ZH_KEY_ROOT "acl/%s/%s", net, peer);
}

/* Does the peering's acl/ record say user was given password? 1 yes, 0
 * no (or no record, or one we cannot read), -errno when etcd failed.
 */
static int record_matches(struct ctl *c, const char *key, const char *user, const char *password)
{
	struct json_object *root = NULL, *u, *h;
	struct crypt_data *cd = NULL;
	char *val = NULL;
	size_t len = 0;
	int ret;

	ret = zh_etcd_get(c->etcd, key, &val, &len);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	ret = 0;
	root = json_tokener_parse(val);
	if (!root || !json_object_object_get_ex(root, "user", &u) ||
	    !json_object_object_get_ex(root, "password", &h) || !json_object_is_type(u, json_type_string) ||
	    !json_object_is_type(h, json_type_string)) {
		ctl_info("%s: not a record of ours; the password is checked by logging in", key);
		goto out;
	}
	if (strcmp(json_object_get_string(u), user))
		goto out;
	cd = calloc(1, sizeof(*cd));
	if (!cd) {
		ret = -ENOMEM;
		goto out;
	}
	{
		const char *want = json_object_get_string(h),
			   *got = crypt_r(password, want, cd);

		/* crypt_r fails with a string starting with '*' */
		ret = got && got[0] != '*' && !strcmp(got, want);
	}
out:
	free(cd);
	json_object_put(root);
	free(val);
	return ret;
}

/* Remember that user was given password. */
static int record_put(struct ctl *c, const char *key, const char *user, const char *password)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct json_object *root = NULL;
	struct crypt_data *cd = NULL;
	struct zh_etcd_op op;
	const char *hash;
	int ret;

	cd = calloc(1, sizeof(*cd));
	root = json_object_new_object();
	if (!cd || !root) {
		ret = -ENOMEM;
		goto out;
	}
	if (!crypt_gensalt_rn(HASH_PREFIX, HASH_ROUNDS, NULL, 0, salt, sizeof(salt))) {
		ret = -errno;
		ctl_err("%s: no salt for the password hash: %s", key, strerror(errno));
		goto out;
	}
	hash = crypt_r(password, salt, cd);
	if (!hash || hash[0] == '*') {
		ret = -EINVAL;
		ctl_err("%s: the password cannot be hashed", key);
		goto out;
	}
	json_object_object_add(root, "user", json_object_new_string(user));
	json_object_object_add(root, "password", json_object_new_string(hash));
	op = (struct zh_etcd_op){ZH_ETCD_PUT, key,
				 json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN)};
	ret = zh_etcd_txn(c->etcd, &op, 1, NULL, NULL);
	if (ret)
		ctl_err("%s: %s", key, zh_etcd_error(c->etcd));
out:
	json_object_put(root);
	free(cd);
	return ret;
}

static bool perm_equal(const struct zh_etcd_perm *a, const struct zh_etcd_perm *b)
{
	return a->type == b->type && !strcmp(a->key, b->key) &&
	       !strcmp(a->range_end ? a->range_end : "", b->range_end ? b->range_end : "");
}

static bool strv_has(char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

/* The role's permissions become exactly want. *changed is set when
 * something had to change.
 */
static int role_ensure(struct ctl *c, const char *role, const struct zh_etcd_perm *want,
		       size_t n_want, bool *changed)
{
	struct zh_etcd_perm *have = NULL;
	size_t n_have = 0, i, j;
	int err;

	/* read first: adding a role that exists is a write through raft */
	err = zh_etcd_role_perms(c->etcd, role, &have, &n_have);
	if (err == -ENOENT) {
		/* a new role has no permissions; one made meanwhile is read */
		err = zh_etcd_role_add(c->etcd, role);
		if (!err)
			*changed = true;
		else if (err == -EEXIST)
			err = zh_etcd_role_perms(c->etcd, role, &have, &n_have);
	}
	for (i = 0; !err && i < n_have; i++) {
		for (j = 0; j < n_want && !perm_equal(&have[i], &want[j]); j++)
			;
		if (j == n_want) {
			err = zh_etcd_role_revoke(c->etcd, role, have[i].key, have[i].range_end);
			*changed = true;
		}
	}
	for (j = 0; !err && j < n_want; j++) {
		for (i = 0; i < n_have && !perm_equal(&have[i], &want[j]); i++)
			;
		if (i == n_have) {
			err = zh_etcd_role_grant(c->etcd, role, &want[j]);
			*changed = true;
		}
	}
	zh_etcd_perms_free(have, n_have);
	return err;
}

/* The user exists with password: known says the acl/ record vouches
 * for it (the user went since, so it is made again), else it is checked
 * by logging in, set when that fails, and the record written.
 */
static int user_password_ensure(struct ctl *c, const char *rec_key, const char *user,
				const char *password, bool known, bool *changed)
{
	int err;

	if (!known) {
		c->acl_logins++;
		err = zh_etcd_auth_check(c->etcd, user, password);
		if (!err)
			return record_put(c, rec_key, user, password);
		/* -EOPNOTSUPP: auth is off, nothing could be checked */
		if (err != -EACCES && err != -EOPNOTSUPP)
			return err;
	}
	err = zh_etcd_user_add(c->etcd, user, password);
	if (err == -EEXIST)
		err = zh_etcd_user_changepw(c->etcd, user, password);
	if (err)
		return err;
	c->acl_set++;
	*changed = true;
	return known ? 0 : record_put(c, rec_key, user, password);
}

/* The user exists, has password, and has role (and no other peering
 * role).
 */
static int user_ensure(struct ctl *c, const char *rec_key, const char *user,
		       const char *password, const char *role, bool *changed)
{
	char **roles = NULL;
	size_t n_roles = 0, i;
	int err, known;

	known = record_matches(c, rec_key, user, password);
	if (known < 0)
		return known;
	if (!known) {
		err = user_password_ensure(c, rec_key, user, password, false, changed);
		if (err)
			return err;
	}
	err = zh_etcd_user_roles(c->etcd, user, &roles, &n_roles);
	if (err == -ENOENT && known) {
		/* deleted by hand since the record was written */
		err = user_password_ensure(c, rec_key, user, password, true, changed);
		if (!err)
			err = zh_etcd_user_roles(c->etcd, user, &roles, &n_roles);
	}
	if (err)
		return err;
	if (!strv_has(roles, n_roles, role)) {
		err = zh_etcd_user_grant_role(c->etcd, user, role);
		*changed = true;
	}
	for (i = 0; !err && i < n_roles; i++) {
		if (!strcmp(roles[i], role))
			continue;
		if (!strncmp(roles[i], ROLE_PREFIX, strlen(ROLE_PREFIX))) {
			/* one peering per user: an old peering's role goes */
			err = zh_etcd_user_revoke_role(c->etcd, user, roles[i]);
			*changed = true;
		} else {
			ctl_info("etcd user %s also has role %s (not managed by zerohop)", user,
				 roles[i]);
		}
	}
	zh_etcd_strv_free(roles, n_roles);
	return err;
}

int acl_ensure(struct ctl *c, struct peer *p)
{
	const struct zh_rec_peering *r = &p->rec;
	const char *net = p->net->name;
	char role[2 * ZH_NAME_MAX + 16], pub[256], rec_key[256], acl_key[256], *pub_end = NULL,
		*password = NULL;
	struct zh_etcd_perm want[2];
	bool changed = false;
	int err;

	/* another user (or none) now: the old one loses the role */
	if (p->acl_user[0] && strcmp(p->acl_user, r->peer_user)) {
		acl_queue_removal(c, net, r->peer, p->acl_user, !r->peer_user[0]);
		p->acl_user[0] = 0;
	}
	if (!r->peer_user[0])
		return 0;
	if (!strcmp(r->peer_user, "root") || (c->opts.user && !strcmp(r->peer_user, c->opts.user))) {
		ctl_err("network %s: peering with %s: peer_user %s is refused (it is an admin user)",
			net, r->peer, r->peer_user);
		return -EPERM;
	}
	err = ctl_read_password(r->peer_password_file, &password);
	if (err) {
		ctl_err("network %s: peering with %s: peer_password_file %s: %s", net, r->peer,
			r->peer_password_file, err == -ENODATA ? "empty" : strerror(-err));
		return err;
	}
	ctl_role_name(net, r->peer, role, sizeof(role));
	snprintf(pub, sizeof(pub), ZH_KEY_ROOT "published/%s/%s/", net, r->grant);
	snprintf(rec_key, sizeof(rec_key), ZH_KEY_ROOT "networks/%s/peerings/%s", net, r->peer);
	record_key(net, r->peer, acl_key, sizeof(acl_key));
	pub_end = zh_etcd_prefix_end(pub);
	if (!pub_end) {
		err = -ENOMEM;
		goto out;
	}
	want[0] = (struct zh_etcd_perm){ZH_ETCD_PERM_READ, pub, pub_end};
	want[1] = (struct zh_etcd_perm){ZH_ETCD_PERM_READ, rec_key, ""};
	err = role_ensure(c, role, want, 2, &changed);
	if (!err)
		err = user_ensure(c, acl_key, r->peer_user, password, role, &changed);
	if (err) {
		ctl_err("network %s: peering with %s: access for etcd user %s: %s", net, r->peer,
			r->peer_user, zh_etcd_error(c->etcd));
		goto out;
	}
	snprintf(p->acl_user, sizeof(p->acl_user), "%s", r->peer_user);
	snprintf(p->acl_grant, sizeof(p->acl_grant), "%s", r->grant);
	if (changed)
		ctl_info("network %s: peering with %s: etcd user %s (role %s) may read %s and %s",
			 net, r->peer, r->peer_user, role, pub, rec_key);
out:
	free(pub_end);
	ctl_free_password(password);
	return err;
}

void acl_queue_removal(struct ctl *c, const char *net, const char *peer, const char *user,
		       bool drop_role)
{
	struct acl_removal *v = realloc(c->removals, (c->n_removals + 1) * sizeof(*v));

	if (!v) {
		ctl_err("network %s: peering with %s: out of memory: its etcd role stays", net,
			peer);
		return;
	}
	c->removals = v;
	v = &c->removals[c->n_removals++];
	memset(v, 0, sizeof(*v));
	ctl_role_name(net, peer, v->role, sizeof(v->role));
	snprintf(v->net, sizeof(v->net), "%s", net);
	snprintf(v->peer, sizeof(v->peer), "%s", peer);
	snprintf(v->user, sizeof(v->user), "%s", user ? user : "");
	v->drop_role = drop_role;
}

/* Revoke role from user; the user goes when that was its last role. */
static int user_drop_role(struct ctl *c, const char *user, const char *role)
{
	char **roles = NULL;
	size_t n = 0, left;
	int err;

	err = zh_etcd_user_roles(c->etcd, user, &roles, &n);
	if (err == -ENOENT)
		return 0;
	if (err)
		return err;
	left = n;
	if (strv_has(roles, n, role)) {
		err = zh_etcd_user_revoke_role(c->etcd, user, role);
		if (err == -ENOENT)
			err = 0;
		left--;
	}
	if (!err && !left) {
		err = zh_etcd_user_delete(c->etcd, user);
		if (err == -ENOENT)
			err = 0;
		if (!err)
			ctl_info("etcd user %s removed", user);
	}
	zh_etcd_strv_free(roles, n);
	return err;
}

/* Delete the peering's acl/ record. */
static int record_delete(struct ctl *c, const char *net, const char *peer)
{
	char key[256];
	struct zh_etcd_op op = {ZH_ETCD_DELETE, key, NULL};

	record_key(net, peer, key, sizeof(key));
	return zh_etcd_txn(c->etcd, &op, 1, NULL, NULL);
}

static int removal_run(struct ctl *c, const struct acl_removal *r)
{
	int err = 0;

	/* the record goes first: without it the next setup checks again */
	if (r->drop_role && r->net[0])
		err = record_delete(c, r->net, r->peer);
	if (!err && r->user[0])
		err = user_drop_role(c, r->user, r->role);
	if (!err && r->drop_role) {
		err = zh_etcd_role_delete(c->etcd, r->role);
		if (err == -ENOENT)
			err = 0;
		if (!err)
			ctl_info("etcd role %s removed", r->role);
	}
	if (err)
		ctl_err("removing etcd role %s%s%s: %s", r->role, r->user[0] ? " of user " : "",
			r->user, zh_etcd_error(c->etcd));
	return err;
}

static bool name_ok(const char *s, size_t len)
{
	size_t i;

	if (!len || len > ZH_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char ch = s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    (i && (ch == '.' || ch == '_' || ch == '-')))
			continue;
		return false;
	}
	return true;
}

/* The live peering net -> peer that has a peer_user, if there is one
 * (again: removed and added back before its removal ran).
 */
static struct peer *peer_with_access(struct ctl *c, const char *net, const char *peer)
{
	struct network *n = net[0] ? ctl_network(c, net) : NULL;
	struct peer *p = n ? shash_get(&n->peer_index, peer) : NULL;

	return p && !p->removed && p->rec.peer_user[0] ? p : NULL;
}

/* Is role a peering role of ours whose peering is gone (or has no
 * peer_user any more)? Names may hold
 * '-', so "zerohop-peer-a-b-c" is (a, b-c) or (a-b, c): it is ours only if
 * every reading names a served network, and orphaned if none names a
 * current peering.
 */
static bool role_orphaned(struct ctl *c, const char *role)
{
	const char *rest = role + strlen(ROLE_PREFIX), *dash;
	bool any = false;

	if (strncmp(role, ROLE_PREFIX, strlen(ROLE_PREFIX)))
		return false;
	for (dash = strchr(rest, '-'); dash; dash = strchr(dash + 1, '-')) {
		char net[ZH_NAME_MAX + 1];

		if (!name_ok(rest, dash - rest) || !name_ok(dash + 1, strlen(dash + 1)))
			continue;
		snprintf(net, sizeof(net), "%.*s", (int)(dash - rest), rest);
		if (!ctl_network(c, net))
			return false; /* another shard's controller may own it */
		if (peer_with_access(c, net, dash + 1))
			return false;
		any = true;
	}
	return any;
}

struct orphan_records {
	struct ctl *c;
	char **keys;
	size_t n_keys;
};

/* acl/<net>/<peer> of a served network whose peering needs no access
 * (any more) goes on the list.
 */
static int orphan_record_cb(const struct zh_kv *kv, void *ctx)
{
	size_t plen = strlen(ZH_KEY_ROOT "acl/");
	struct orphan_records *o = ctx;
	char net[ZH_NAME_MAX + 1], peer[ZH_NAME_MAX + 1], **v;
	const char *rest = kv->key + plen, *slash;
	size_t len = kv->key_len - plen;

	slash = memchr(rest, '/', len);
	if (!slash || slash == rest || (size_t)(slash - rest) > ZH_NAME_MAX ||
	    len - (slash - rest) - 1 > ZH_NAME_MAX)
		return 0;
	snprintf(net, sizeof(net), "%.*s", (int)(slash - rest), rest);
	snprintf(peer, sizeof(peer), "%.*s", (int)(len - (slash - rest) - 1), slash + 1);
	if (!ctl_network(o->c, net) || peer_with_access(o->c, net, peer))
		return 0; /* another shard's controller's, or needed */
	v = realloc(o->keys, (o->n_keys + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	o->keys = v;
	v[o->n_keys] = strndup(kv->key, kv->key_len);
	if (!v[o->n_keys])
		return -ENOMEM;
	o->n_keys++;
	return 0;
}

/* acl/ records of the served networks whose peering is gone (or has no
 * peer_user any more): one listing of acl/.
 */
static int orphan_records_remove(struct ctl *c)
{
	struct orphan_records o = {.c = c};
	int64_t rev;
	size_t j;
	int err;

	err = zh_etcd_list(c->etcd, ZH_KEY_ROOT "acl/", 0, &rev, orphan_record_cb, &o);
	for (j = 0; j < o.n_keys; j++) {
		struct zh_etcd_op op = {ZH_ETCD_DELETE, o.keys[j], NULL};

		if (!err)
			err = zh_etcd_txn(c->etcd, &op, 1, NULL, NULL);
		if (!err)
			ctl_info("%s removed: its peering is gone", o.keys[j]);
		free(o.keys[j]);
	}
	free(o.keys);
	return err;
}

/* Peering roles left over from peerings removed while we were not
 * running: the role, and the users that had only it, go.
 */
static int orphans_remove(struct ctl *c)
{
	char **roles = NULL, **users = NULL, **uroles;
	size_t n_roles = 0, n_users = 0, i, j, n_ur;
	bool listed = false;
	int err;

	err = zh_etcd_role_list(c->etcd, &roles, &n_roles);
	for (i = 0; !err && i < n_roles; i++) {
		if (!role_orphaned(c, roles[i]))
			continue;
		ctl_info("etcd role %s belongs to no peering any more", roles[i]);
		if (!listed) {
			err = zh_etcd_user_list(c->etcd, &users, &n_users);
			listed = true;
		}
		for (j = 0; !err && j < n_users; j++) {
			err = zh_etcd_user_roles(c->etcd, users[j], &uroles, &n_ur);
			if (err == -ENOENT) {
				err = 0;
				continue;
			}
			if (!err && strv_has(uroles, n_ur, roles[i]))
				err = user_drop_role(c, users[j], roles[i]);
			zh_etcd_strv_free(uroles, n_ur);
		}
		if (!err) {
			struct acl_removal r = {.drop_role = true};

			snprintf(r.role, sizeof(r.role), "%s", roles[i]);
			err = removal_run(c, &r);
		}
	}
	if (!err)
		err = orphan_records_remove(c);
	if (err)
		ctl_err("removing peering roles without a peering: %s", zh_etcd_error(c->etcd));
	zh_etcd_strv_free(roles, n_roles);
	zh_etcd_strv_free(users, n_users);
	return err;
}

int acl_work(struct ctl *c)
{
	size_t i = 0;
	int err = 0;

	while (i < c->n_removals) {
		struct acl_removal *r = &c->removals[i];
		struct peer *p = peer_with_access(c, r->net, r->peer);

		if (p) {
			/* its role and record are the live peering's now; only
			 * a user it no longer names loses the role
			 */
			r->drop_role = false;
			if (!strcmp(r->user, p->rec.peer_user))
				r->user[0] = 0;
		}
		if (removal_run(c, r)) {
			err = -EAGAIN;
			i++;
			continue;
		}
		c->removals[i] = c->removals[--c->n_removals];
	}
	if (!c->orphans_checked) {
		if (orphans_remove(c))
			err = -EAGAIN;
		else
			c->orphans_checked = true;
	}
	return err;
}
