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
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define ROLE_PREFIX "zerohop-peer-"

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

	err = zh_etcd_role_add(c->etcd, role);
	if (err && err != -EEXIST)
		return err;
	if (!err)
		*changed = true;
	err = zh_etcd_role_perms(c->etcd, role, &have, &n_have);
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

/* The user exists, logs in with password, and has role (and no other
 * peering role).
 */
static int user_ensure(struct ctl *c, const char *user, const char *password, const char *role,
		       bool *changed)
{
	char **roles = NULL;
	size_t n_roles = 0, i;
	int err;

	err = zh_etcd_auth_check(c->etcd, user, password);
	if (err == -EACCES || err == -EOPNOTSUPP) {
		/* no such user, or another password (or auth is off: cannot tell) */
		err = zh_etcd_user_add(c->etcd, user, password);
		if (err == -EEXIST)
			err = zh_etcd_user_changepw(c->etcd, user, password);
		if (err)
			return err;
		*changed = true;
	} else if (err) {
		return err;
	}
	err = zh_etcd_user_roles(c->etcd, user, &roles, &n_roles);
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
	char role[2 * ZH_NAME_MAX + 16], pub[256], rec_key[256], *pub_end = NULL,
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
	pub_end = zh_etcd_prefix_end(pub);
	if (!pub_end) {
		err = -ENOMEM;
		goto out;
	}
	want[0] = (struct zh_etcd_perm){ZH_ETCD_PERM_READ, pub, pub_end};
	want[1] = (struct zh_etcd_perm){ZH_ETCD_PERM_READ, rec_key, ""};
	err = role_ensure(c, role, want, 2, &changed);
	if (!err)
		err = user_ensure(c, r->peer_user, password, role, &changed);
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

static int removal_run(struct ctl *c, const struct acl_removal *r)
{
	int err = 0;

	if (r->user[0])
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

/* Is role a peering role of ours whose peering is gone? Names may hold
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
		struct network *n;
		size_t i;

		if (!name_ok(rest, dash - rest) || !name_ok(dash + 1, strlen(dash + 1)))
			continue;
		snprintf(net, sizeof(net), "%.*s", (int)(dash - rest), rest);
		n = ctl_network(c, net);
		if (!n)
			return false; /* another shard's controller may own it */
		for (i = 0; i < n->n_peers; i++)
			if (!n->peers[i]->removed && !strcmp(n->peers[i]->rec.peer, dash + 1))
				return false;
		any = true;
	}
	return any;
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
		if (removal_run(c, &c->removals[i])) {
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
