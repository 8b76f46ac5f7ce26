// SPDX-License-Identifier: GPL-2.0-only
/* zerohop-controller: the state of the served networks and their peers,
 * kept by subscriptions, and the reconcile that writes published views and
 * effective routes (ctl.h, docs/controller.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "peering.h"

/* A burst of changes is written once, this long after its first change. */
#define DEBOUNCE_MS     100
/* After a failed write to this shard. */
#define WRITE_RETRY_MS  1000
/* After a peer shard could not be set up (password file, URL). */
#define PEER_RETRY_MS   5000
#define ACL_RETRY_MS    5000
/* ACL work per loop pass at most (then signals, reconciles, the rest) */
#define ACL_SLICE_MS    200
#define PEER_TIMEOUT_MS 3000
#define TXN_CHUNK       128

static uint64_t ep_key(uint32_t ip)
{
	return ntohl(ip);
}

static uint64_t route_key(const struct zh_cidr *p)
{
	return ((uint64_t)ntohl(p->addr) << 8) | p->len;
}

/* A key as messages show it: without the root, at most 200 bytes. */
static const char *key_name(const char *key, size_t len, char *buf, size_t size)
{
	size_t root = strlen(ZH_KEY_ROOT);

	if (len >= root && !memcmp(key, ZH_KEY_ROOT, root)) {
		key += root;
		len -= root;
	}
	snprintf(buf, size, "%.*s", (int)(len > 200 ? 200 : len), key);
	return buf;
}

struct network *ctl_network(struct ctl *c, const char *name)
{
	return shash_get(&c->net_index, name);
}

void ctl_role_name(const char *net, const char *peer, char *buf, size_t size)
{
	snprintf(buf, size, "zerohop-peer-%s-%s", net, peer);
}

/* What a peer tells changes only the effective routes. */
static void mark_routes_dirty(struct network *n)
{
	if (!n->dirty) {
		n->dirty = true;
		n->due_ms = ctl_now_ms() + DEBOUNCE_MS;
	}
}

static void mark_dirty(struct network *n)
{
	n->views_dirty = true;
	mark_routes_dirty(n);
}

static struct peer *peer_find(const struct network *n, const char *name)
{
	return shash_get(&n->peer_index, name);
}

/* peers_sync() looks at p next time. */
static void peer_queue(struct peer *p)
{
	struct ctl *c = p->net->ctl;

	if (p->queued)
		return;
	if (c->n_pq == c->cap_pq) {
		size_t cap = c->cap_pq ? c->cap_pq * 2 : 64;
		struct peer **v = realloc(c->pq, cap * sizeof(*v));

		if (!v) {
			/* look at everyone in a while */
			ctl_err("network %s: peer %s: out of memory", p->net->name, p->rec.peer);
			c->peers_retry_ms = ctl_now_ms() + PEER_RETRY_MS;
			return;
		}
		c->pq = v;
		c->cap_pq = cap;
	}
	c->pq[c->n_pq++] = p;
	p->queued = true;
}

static struct export_entry *export_find(const struct network *n, const char *name)
{
	size_t i;

	for (i = 0; i < n->n_exports; i++)
		if (!strcmp(n->exports[i].name, name))
			return &n->exports[i];
	return NULL;
}

/* --- peers: their shard, the grant they give us, their view ------------------------ */

/* A client of a peer's shard as one user (or none), shared by the
 * peerings that log in the same way.
 */
struct pclient {
	char *key;                        /* in ctl->clients */
	struct zh_etcd *cli;
	unsigned int refs;
};

enum pwatch_kind {
	PW_GRANT_KEY,                     /* networks/<peer>/peerings/<net>: one peering */
	PW_GRANTS,                        /* networks/<peer>/peerings/: every served network */
	PW_VIEW,                          /* published/<peer>/<policy>/ */
};

/* A subscription on a peer's shard and the peerings it feeds: every
 * served network that reads the same prefix with the same client shares
 * one (a full mesh of N networks needs O(N) watches per controller, not
 * O(N^2)). A peering that joins after the listing began restarts it:
 * everyone gets a fresh listing, which their mark and sweep absorbs.
 */
struct pwatch {
	char *key;                        /* in ctl->watches */
	struct ctl *ctl;
	enum pwatch_kind kind;
	struct zh_etcd *cli;
	char prefix[256];
	char policy[ZH_NAME_MAX + 1];     /* PW_VIEW */
	char peer[ZH_NAME_MAX + 1];       /* the peer network the prefix is of */
	struct zh_etcd_sub *sub;
	bool started;                     /* a callback came: a joiner restarts it */
	struct peer **peers;
	size_t n_peers, cap_peers;
};

/* Known: we know what the peer publishes to us (or that it publishes
 * nothing). Unknown (never reached since start, or between two views):
 * its routes come from our own effective records (fail static).
 */
static bool peer_known(const struct peer *p)
{
	if (!p->grant_synced)
		return false;
	if (!p->their_exists)
		return true;
	return p->view_synced && !strcmp(p->view_policy, p->their_grant);
}

static void grant_resync_begin(struct peer *p)
{
	p->grant_seen = false;
}

static void grant_event(const struct zh_kv *kv, struct peer *p)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX] = "", name[256];

	if (!kv->value) {
		if (p->their_exists)
			ctl_info("network %s: peer %s removed its peering with %s: inactive",
				 p->net->name, p->rec.peer, p->net->name);
		p->their_exists = false;
		peer_queue(p); /* its view goes */
		goto out;
	}
	if (zh_record_parse(kv->key, kv->key_len, kv->value, kv->value_len, &rec, err,
			    sizeof(err)) ||
	    rec.kind != ZH_REC_PEERING) {
		/* the last good grant stays */
		ctl_err("network %s: peer %s: %s", p->net->name, p->rec.peer,
			err[0] ? err : key_name(kv->key, kv->key_len, name, sizeof(name)));
		p->grant_seen = p->their_exists;
		return;
	}
	if (!p->their_exists || strcmp(p->their_grant, rec.peering.grant)) {
		ctl_info("network %s: peer %s grants it export policy \"%s\": active",
			 p->net->name, p->rec.peer, rec.peering.grant);
		peer_queue(p); /* another view to watch */
	}
	p->their_exists = true;
	p->grant_seen = true;
	snprintf(p->their_grant, sizeof(p->their_grant), "%s", rec.peering.grant);
out:
	mark_routes_dirty(p->net);
}

static void grant_resync_end(struct peer *p)
{
	if (!p->grant_seen) {
		if (p->their_exists || !p->grant_synced)
			ctl_info("network %s: peer %s has no peering with %s: inactive",
				 p->net->name, p->rec.peer, p->net->name);
		p->their_exists = false;
	}
	p->grant_synced = true;
	peer_queue(p); /* its view can be watched now */
	mark_routes_dirty(p->net);
}

/* Once per outage at info level, the rest with -v. */
static void peer_state(bool connected, const char *reason, struct peer *p)
{
	if (connected && p->down)
		ctl_info("network %s: peer %s reachable again: %s", p->net->name, p->rec.peer,
			 reason);
	else if (!connected && !p->down)
		ctl_info("network %s: peer %s unreachable (its last published state stays): %s",
			 p->net->name, p->rec.peer, reason);
	else
		ctl_dbg("network %s: peer %s: %s", p->net->name, p->rec.peer, reason);
	p->down = !connected;
}

static void view_resync_begin(struct peer *p)
{
	p->view_gen++;
}

/* A view key that did not parse: the last good value stays. */
static void view_keep(struct peer *p, const struct zh_record *key)
{
	void *old;

	if (!key)
		return;
	if (key->kind == ZH_REC_PUB_ROUTE) {
		old = dtab_get(&p->routes, route_key(&key->route.prefix));
		if (old)
			dtab_put(&p->routes, route_key(&key->route.prefix), old, p->view_gen);
	} else if (key->kind == ZH_REC_PUB_META) {
		p->meta_gen = p->view_gen;
	}
}

static void view_apply(struct peer *p, const struct zh_record *rec, bool put)
{
	switch (rec->kind) {
	case ZH_REC_PUB_META:
		p->have_meta = put;
		if (put) {
			p->vni = rec->meta.vni;
			p->meta_gen = p->view_gen;
		}
		break;
	case ZH_REC_PUB_ROUTE:
		if (put) {
			if (dtab_put(&p->routes, route_key(&rec->route.prefix), &rec->route,
				     p->view_gen))
				ctl_err("network %s: peer %s: out of memory", p->net->name,
					p->rec.peer);
		} else {
			dtab_del(&p->routes, route_key(&rec->route.prefix));
		}
		break;
	default:
		return;
	}
	mark_routes_dirty(p->net);
}

static void view_resync_end(struct peer *p)
{
	dtab_sweep(&p->routes, p->view_gen);
	if (p->meta_gen != p->view_gen)
		p->have_meta = false;
	if (!p->view_synced)
		ctl_dbg("network %s: peer %s: view published/%s/%s/ synced (%zu routes%s)",
			p->net->name, p->rec.peer, p->rec.peer, p->view_policy, p->routes.n,
			p->have_meta ? "" : ", not published yet");
	p->view_synced = true;
	mark_routes_dirty(p->net);
}

/* --- shared watches: fan-out to their peerings --- */

static void pw_resync_begin(void *ctx)
{
	struct pwatch *w = ctx;
	size_t i;

	w->started = true;
	for (i = 0; i < w->n_peers; i++) {
		if (w->kind == PW_VIEW)
			view_resync_begin(w->peers[i]);
		else
			grant_resync_begin(w->peers[i]);
	}
}

static void pw_resync_end(int64_t rev, void *ctx)
{
	struct pwatch *w = ctx;
	size_t i;

	w->started = true;
	for (i = 0; i < w->n_peers; i++) {
		if (w->kind == PW_VIEW)
			view_resync_end(w->peers[i]);
		else
			grant_resync_end(w->peers[i]);
	}
}

static void pw_state(bool connected, const char *reason, void *ctx)
{
	struct pwatch *w = ctx;
	size_t i;

	w->started = true;
	for (i = 0; i < w->n_peers; i++)
		peer_state(connected, reason, w->peers[i]);
}

static void pw_grant_event(const struct zh_kv *kv, void *ctx)
{
	struct pwatch *w = ctx;
	struct zh_record key;
	char err[ZH_ERR_MAX];
	struct network *n;
	struct peer *p;
	size_t i;

	w->started = true;
	if (w->kind == PW_GRANT_KEY) {
		for (i = 0; i < w->n_peers; i++)
			grant_event(kv, w->peers[i]);
		return;
	}
	/* networks/<peer>/peerings/<net>: the served network <net>'s peering */
	if (zh_key_parse(kv->key, kv->key_len, &key, err, sizeof(err)) ||
	    key.kind != ZH_REC_PEERING || !(n = ctl_network(w->ctl, key.peering.peer)))
		return;
	p = peer_find(n, w->peer);
	if (p && p->w_grant == w)
		grant_event(kv, p);
}

static void pw_view_event(const struct zh_kv *kv, void *ctx)
{
	struct pwatch *w = ctx;
	struct zh_record key, rec;
	char err[ZH_ERR_MAX] = "", name[256];
	bool key_ok;
	size_t i;
	int ret;

	w->started = true;
	key_ok = !zh_key_parse(kv->key, kv->key_len, &key, err, sizeof(err));
	if (key_ok && key.kind != ZH_REC_PUB_META && key.kind != ZH_REC_PUB_ROUTE)
		return; /* endpoints are for the agents */
	if (key_ok && kv->value) {
		ret = zh_record_parse(kv->key, kv->key_len, kv->value, kv->value_len, &rec, err,
				      sizeof(err));
	} else {
		ret = key_ok ? 0 : -EINVAL;
		rec = key;
	}
	if (ret) {
		ctl_err("peer %s (%zu network%s): %s", w->peer, w->n_peers,
			w->n_peers == 1 ? "" : "s",
			err[0] ? err : key_name(kv->key, kv->key_len, name, sizeof(name)));
		for (i = 0; i < w->n_peers; i++)
			view_keep(w->peers[i], key_ok ? &key : NULL);
		return;
	}
	if (strcmp(rec.network, w->peer) || strcmp(rec.policy, w->policy))
		return;
	for (i = 0; i < w->n_peers; i++)
		view_apply(w->peers[i], &rec, kv->value != NULL);
}

static const struct zh_etcd_sub_cbs grant_cbs = {
	.resync_begin = pw_resync_begin,
	.resync_end = pw_resync_end,
	.event = pw_grant_event,
	.state = pw_state,
};

static const struct zh_etcd_sub_cbs view_cbs = {
	.resync_begin = pw_resync_begin,
	.resync_end = pw_resync_end,
	.event = pw_view_event,
	.state = pw_state,
};

static int pw_subscribe(struct pwatch *w)
{
	const struct zh_etcd_sub_cbs *cbs = w->kind == PW_VIEW ? &view_cbs : &grant_cbs;

	w->started = false;
	if (w->kind == PW_GRANT_KEY)
		return zh_etcd_subscribe_key(w->cli, w->prefix, cbs, w, &w->sub);
	return zh_etcd_subscribe(w->cli, w->prefix, cbs, w, &w->sub);
}

static void pw_free(struct pwatch *w)
{
	if (w->sub)
		zh_etcd_unsubscribe(w->sub);
	free(w->peers);
	free(w->key);
	free(w);
}

/* p reads prefix (of the peer network) through cli: the watch it shares
 * with the others that do; NULL and cli's error when it cannot start.
 */
static struct pwatch *pw_join(struct ctl *c, struct peer *p, struct zh_etcd *cli,
			      enum pwatch_kind kind, const char *prefix, const char *policy)
{
	struct pwatch *w;
	char *key = NULL;

	if (asprintf(&key, "%p %d %s", (void *)cli, kind, prefix) < 0)
		return NULL;
	w = kind == PW_GRANT_KEY ? NULL : shash_get(&c->watches, key);
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			goto fail;
		w->ctl = c;
		w->kind = kind;
		w->cli = cli;
		snprintf(w->prefix, sizeof(w->prefix), "%s", prefix);
		snprintf(w->policy, sizeof(w->policy), "%s", policy ? policy : "");
		snprintf(w->peer, sizeof(w->peer), "%s", p->rec.peer);
		if (pw_subscribe(w)) {
			pw_free(w);
			w = NULL;
			goto fail;
		}
		if (kind != PW_GRANT_KEY && shash_put(&c->watches, key, w)) {
			pw_free(w);
			w = NULL;
			goto fail;
		}
		w->key = key;
		key = NULL;
	} else if (w->started) {
		/* it listed without p: list again, for everyone */
		zh_etcd_unsubscribe(w->sub);
		w->sub = NULL;
		if (pw_subscribe(w)) {
			w->started = true; /* nothing runs: the next joiner tries again */
			goto fail;
		}
	}
	if (w->n_peers == w->cap_peers) {
		size_t cap = w->cap_peers ? w->cap_peers * 2 : 4;
		struct peer **v = realloc(w->peers, cap * sizeof(*v));

		if (!v)
			goto fail;
		w->peers = v;
		w->cap_peers = cap;
	}
	w->peers[w->n_peers++] = p;
	free(key);
	return w;
fail:
	free(key);
	return NULL;
}

static void pw_leave(struct ctl *c, struct pwatch *w, struct peer *p)
{
	size_t i;

	for (i = 0; i < w->n_peers; i++) {
		if (w->peers[i] == p) {
			w->peers[i] = w->peers[--w->n_peers];
			break;
		}
	}
	if (w->n_peers)
		return;
	if (w->kind != PW_GRANT_KEY)
		shash_del(&c->watches, w->key);
	pw_free(w);
}

/* A client of the peer's shard with the peering's credential, shared. */
static int pclient_get(struct ctl *c, struct peer *p, struct pclient **out)
{
	struct zh_etcd_opts o = {
		.endpoints = p->rec.peer_shard,
		.cacert = c->opts.cacert,
		.cert = c->opts.cert,
		.key = c->opts.key,
		.timeout_ms = PEER_TIMEOUT_MS,
	};
	struct pclient *pc;
	char *key = NULL, *password = NULL;
	int err;

	if (asprintf(&key, "%s\n%s\n%s", p->rec.peer_shard, p->rec.user, p->rec.password_file) < 0)
		return -ENOMEM;
	pc = shash_get(&c->clients, key);
	if (pc) {
		pc->refs++;
		*out = pc;
		free(key);
		return 0;
	}
	if (p->rec.user[0]) {
		err = ctl_read_password(p->rec.password_file, &password);
		if (err) {
			ctl_err("network %s: peer %s: password_file %s: %s", p->net->name,
				p->rec.peer, p->rec.password_file,
				err == -ENODATA ? "empty" : strerror(-err));
			free(key);
			return err;
		}
		o.user = p->rec.user;
		o.password = password;
	}
	pc = calloc(1, sizeof(*pc));
	err = pc ? zh_etcd_open(&o, &pc->cli) : -ENOMEM;
	ctl_free_password(password);
	if (err) {
		ctl_err("network %s: peer %s: peer_shard: %s", p->net->name, p->rec.peer,
			pc ? zh_etcd_error(NULL) : strerror(-err));
		free(pc);
		free(key);
		return err;
	}
	err = shash_put(&c->clients, key, pc);
	if (err) {
		zh_etcd_close(pc->cli);
		free(pc);
		free(key);
		return err;
	}
	zh_etcd_set_loop(pc->cli, c->loop);
	pc->key = key;
	pc->refs = 1;
	*out = pc;
	return 0;
}

static void pclient_put(struct ctl *c, struct pclient *pc)
{
	if (!pc || --pc->refs)
		return;
	shash_del(&c->clients, pc->key);
	zh_etcd_close(pc->cli);
	free(pc->key);
	free(pc);
}

/* Watch the view the peer grants us (none when inactive). */
static void view_update(struct ctl *c, struct peer *p, uint64_t now)
{
	const char *want = p->their_exists ? p->their_grant : "";
	char prefix[256];

	if (!strcmp(want, p->view_policy) && (p->w_view || !want[0]))
		return;
	if (p->w_view)
		pw_leave(c, p->w_view, p);
	p->w_view = NULL;
	dtab_free(&p->routes);
	p->have_meta = false;
	p->view_synced = false;
	snprintf(p->view_policy, sizeof(p->view_policy), "%s", want);
	mark_routes_dirty(p->net);
	if (!want[0])
		return;
	snprintf(prefix, sizeof(prefix), ZH_KEY_ROOT "published/%s/%s/", p->rec.peer, want);
	p->w_view = pw_join(c, p, p->client, PW_VIEW, prefix, want);
	if (!p->w_view) {
		ctl_err("network %s: peer %s: watch %s: %s", p->net->name, p->rec.peer, prefix,
			zh_etcd_error(p->client));
		p->view_policy[0] = 0; /* try again */
		if (!c->peers_retry_ms || now + PEER_RETRY_MS < c->peers_retry_ms)
			c->peers_retry_ms = now + PEER_RETRY_MS;
	}
}

static void peer_disconnect(struct ctl *c, struct peer *p)
{
	if (p->w_view)
		pw_leave(c, p->w_view, p);
	if (p->w_grant)
		pw_leave(c, p->w_grant, p);
	pclient_put(c, p->pc);
	p->w_view = p->w_grant = NULL;
	p->pc = NULL;
	p->client = NULL;
	p->grant_synced = p->view_synced = p->their_exists = false;
	p->view_policy[0] = 0;
	p->have_meta = false;
	dtab_free(&p->routes);
}

/* Log into the peer's shard with our peering's credential and watch the
 * peer's peering record for us: that key alone with the peering's user
 * (it may read nothing else), else the peer's peering records, a watch
 * every served network shares.
 */
static int peer_connect(struct ctl *c, struct peer *p)
{
	char key[256];
	bool own_user = false;
	int err;

	if (!p->rec.peer_shard[0]) {
		p->client = c->etcd; /* the peer lives on this shard */
	} else {
		err = pclient_get(c, p, &p->pc);
		if (err)
			return err;
		p->client = p->pc->cli;
		own_user = p->rec.user[0];
	}
	if (own_user)
		snprintf(key, sizeof(key), ZH_KEY_ROOT "networks/%s/peerings/%s", p->rec.peer,
			 p->net->name);
	else
		snprintf(key, sizeof(key), ZH_KEY_ROOT "networks/%s/peerings/", p->rec.peer);
	p->w_grant = pw_join(c, p, p->client, own_user ? PW_GRANT_KEY : PW_GRANTS, key, NULL);
	if (!p->w_grant) {
		ctl_err("network %s: peer %s: watch %s: %s", p->net->name, p->rec.peer, key,
			zh_etcd_error(p->client));
		peer_disconnect(c, p);
		return -EIO;
	}
	ctl_dbg("network %s: peer %s: watching %s on %s", p->net->name, p->rec.peer, key,
		p->rec.peer_shard[0] ? p->rec.peer_shard : "this shard");
	return 0;
}

static void peer_free(struct peer *p)
{
	dtab_free(&p->routes);
	free(p);
}

/* What needs the main loop for one peer: removed it goes, changed it
 * reconnects, unconnected it connects, a grant change switches views.
 */
static void peer_sync(struct ctl *c, struct peer *p, uint64_t now)
{
	struct network *n = p->net;
	size_t j;

	if (p->removed) {
		ctl_info("network %s: peering with %s removed", n->name, p->rec.peer);
		if (p->acl_user[0] || p->rec.peer_user[0])
			acl_queue_removal(c, n->name, p->rec.peer,
					  p->acl_user[0] ? p->acl_user : p->rec.peer_user, true);
		peer_disconnect(c, p);
		shash_del(&n->peer_index, p->rec.peer);
		for (j = 0; j < n->n_peers; j++) {
			if (n->peers[j] == p) {
				n->peers[j] = n->peers[--n->n_peers];
				break;
			}
		}
		peer_free(p);
		mark_dirty(n);
		return;
	}
	if (p->restart) {
		peer_disconnect(c, p);
		p->restart = false;
		p->retry_ms = 0;
		mark_dirty(n);
	}
	if (!p->client && now >= p->retry_ms && peer_connect(c, p))
		p->retry_ms = now + PEER_RETRY_MS;
	if (!p->client && (!c->peers_retry_ms || p->retry_ms < c->peers_retry_ms))
		c->peers_retry_ms = p->retry_ms;
	if (p->client && p->grant_synced)
		view_update(c, p, now);
}

/* The queued peers, or all of them when a retry is due. Returns the ms
 * until the next retry (at most 1000).
 */
static uint64_t peers_sync(struct ctl *c, uint64_t now)
{
	uint64_t wait = 1000;
	struct peer **q;
	size_t i, j, n_q;

	if (c->peers_retry_ms && now >= c->peers_retry_ms) {
		c->peers_retry_ms = 0;
		for (i = 0; i < c->n_nets; i++)
			for (j = 0; j < c->nets[i]->n_peers; j++)
				peer_queue(c->nets[i]->peers[j]);
	}
	q = c->pq;
	n_q = c->n_pq;
	c->pq = NULL;
	c->n_pq = c->cap_pq = 0;
	for (i = 0; i < n_q; i++) {
		q[i]->queued = false;
		peer_sync(c, q[i], now);
	}
	free(q);
	if (c->peers_retry_ms && c->peers_retry_ms > now && c->peers_retry_ms - now < wait)
		wait = c->peers_retry_ms - now;
	return wait;
}

/* --- networks/ on this shard --------------------------------------------------------- */

static void peering_put(struct ctl *c, struct network *n, const struct zh_rec_peering *rec)
{
	struct peer *p = peer_find(n, rec->peer);

	if (!p) {
		struct peer **v = realloc(n->peers, (n->n_peers + 1) * sizeof(*v));

		p = calloc(1, sizeof(*p));
		if (!v || !p) {
			free(p);
			if (v)
				n->peers = v;
			ctl_err("network %s: peering with %s: out of memory", n->name, rec->peer);
			return;
		}
		n->peers = v;
		p->net = n;
		p->rec = *rec;
		if (shash_put(&n->peer_index, rec->peer, p)) {
			free(p);
			ctl_err("network %s: peering with %s: out of memory", n->name, rec->peer);
			return;
		}
		n->peers[n->n_peers++] = p;
		dtab_init(&p->routes, sizeof(struct zh_rec_route));
		p->acl_pending = true;
		c->acl_dirty = true;
		peer_queue(p);
		ctl_info("network %s: peering with %s: grants \"%s\", preference %u, %s", n->name,
			 rec->peer, rec->grant, rec->preference,
			 rec->peer_shard[0] ? rec->peer_shard : "on this shard");
	} else {
		if (strcmp(p->rec.peer_shard, rec->peer_shard) || strcmp(p->rec.user, rec->user) ||
		    strcmp(p->rec.password_file, rec->password_file))
			p->restart = true;
		if (strcmp(p->rec.grant, rec->grant) || strcmp(p->rec.peer_user, rec->peer_user) ||
		    strcmp(p->rec.peer_password_file, rec->peer_password_file))
			p->acl_pending = c->acl_dirty = true;
		if (p->restart || p->removed)
			peer_queue(p);
		if (memcmp(&p->rec, rec, sizeof(*rec)))
			ctl_info("network %s: peering with %s changed: grants \"%s\", preference %u",
				 n->name, rec->peer, rec->grant, rec->preference);
		p->rec = *rec;
		p->removed = false;
	}
	p->gen = c->nets_gen;
}

static void export_put(struct ctl *c, struct network *n, const struct zh_record *rec)
{
	struct export_entry *e = export_find(n, rec->policy);

	if (!e) {
		struct export_entry *v = realloc(n->exports, (n->n_exports + 1) * sizeof(*v));

		if (!v) {
			ctl_err("network %s: export %s: out of memory", n->name, rec->policy);
			return;
		}
		n->exports = v;
		e = &n->exports[n->n_exports++];
		snprintf(e->name, sizeof(e->name), "%s", rec->policy);
	}
	e->exp = rec->exp;
	e->gen = c->nets_gen;
}

static void export_del(struct network *n, const char *name)
{
	struct export_entry *e = export_find(n, name);

	if (e)
		*e = n->exports[--n->n_exports];
}

/* A record of a served network was put (rec) or deleted (value NULL). */
static void network_record(struct ctl *c, struct network *n, const struct zh_record *rec,
			   bool put)
{
	struct peer *p;
	int err = 0;

	switch (rec->kind) {
	case ZH_REC_NETWORK:
		n->have_rec = put;
		if (put)
			n->rec = rec->net;
		n->rec_gen = c->nets_gen;
		break;
	case ZH_REC_ENDPOINT:
		if (put)
			err = dtab_put(&n->eps, ep_key(rec->ep.ip), &rec->ep, c->nets_gen);
		else
			dtab_del(&n->eps, ep_key(rec->ep.ip));
		break;
	case ZH_REC_ROUTE:
		if (put)
			err = dtab_put(&n->routes, route_key(&rec->route.prefix), &rec->route,
				       c->nets_gen);
		else
			dtab_del(&n->routes, route_key(&rec->route.prefix));
		break;
	case ZH_REC_EXPORT:
		if (put)
			export_put(c, n, rec);
		else
			export_del(n, rec->policy);
		break;
	case ZH_REC_PEERING:
		if (put) {
			peering_put(c, n, &rec->peering);
		} else {
			p = peer_find(n, rec->peering.peer);
			if (p) {
				p->removed = true;
				peer_queue(p);
			}
		}
		break;
	default:
		return;
	}
	if (err)
		ctl_err("network %s: out of memory", n->name);
	mark_dirty(n);
}

/* A record that did not parse: the last good value stays, also through a
 * re-listing.
 */
static void network_keep(struct ctl *c, struct network *n, const struct zh_record *key)
{
	struct export_entry *e;
	struct peer *p;
	void *item;

	switch (key->kind) {
	case ZH_REC_NETWORK:
		n->rec_gen = c->nets_gen;
		break;
	case ZH_REC_ENDPOINT:
		item = dtab_get(&n->eps, ep_key(key->ep.ip));
		if (item)
			dtab_put(&n->eps, ep_key(key->ep.ip), item, c->nets_gen);
		break;
	case ZH_REC_ROUTE:
		item = dtab_get(&n->routes, route_key(&key->route.prefix));
		if (item)
			dtab_put(&n->routes, route_key(&key->route.prefix), item, c->nets_gen);
		break;
	case ZH_REC_EXPORT:
		e = export_find(n, key->policy);
		if (e)
			e->gen = c->nets_gen;
		break;
	case ZH_REC_PEERING:
		p = peer_find(n, key->peering.peer);
		if (p)
			p->gen = c->nets_gen;
		break;
	default:
		break;
	}
}

static void nets_resync_begin(void *ctx)
{
	struct ctl *c = ctx;

	c->nets_gen++;
}

static void nets_event(const struct zh_kv *kv, void *ctx)
{
	struct ctl *c = ctx;
	struct zh_record *rec = calloc(1, sizeof(*rec));
	char err[ZH_ERR_MAX] = "", name[256];
	struct network *n;
	int ret;

	if (!rec) {
		ctl_err("%s: out of memory", key_name(kv->key, kv->key_len, name, sizeof(name)));
		return;
	}
	/* only the served networks: their key tells before the value is parsed */
	if (zh_key_parse(kv->key, kv->key_len, rec, err, sizeof(err)) || !rec->network[0] ||
	    !(n = ctl_network(c, rec->network)))
		goto out;
	if (!kv->value) {
		network_record(c, n, rec, false);
		goto out;
	}
	ret = zh_record_parse(kv->key, kv->key_len, kv->value, kv->value_len, rec, err,
			      sizeof(err));
	if (ret) {
		ctl_err("%s (the last good value stays)",
			err[0] ? err : key_name(kv->key, kv->key_len, name, sizeof(name)));
		if (!zh_key_parse(kv->key, kv->key_len, rec, err, sizeof(err)))
			network_keep(c, n, rec);
		goto out;
	}
	network_record(c, n, rec, true);
out:
	free(rec);
}

static void nets_resync_end(int64_t rev, void *ctx)
{
	struct ctl *c = ctx;
	size_t i, j;

	for (i = 0; i < c->n_nets; i++) {
		struct network *n = c->nets[i];

		if (n->rec_gen != c->nets_gen)
			n->have_rec = false;
		dtab_sweep(&n->eps, c->nets_gen);
		dtab_sweep(&n->routes, c->nets_gen);
		for (j = 0; j < n->n_exports;) {
			if (n->exports[j].gen != c->nets_gen)
				n->exports[j] = n->exports[--n->n_exports];
			else
				j++;
		}
		for (j = 0; j < n->n_peers; j++) {
			if (n->peers[j]->gen != c->nets_gen) {
				n->peers[j]->removed = true;
				peer_queue(n->peers[j]);
			}
		}
		if (!c->nets_synced)
			ctl_info("network %s: %s, %zu endpoints, %zu routes, %zu exports, %zu "
				 "peerings", n->name, n->have_rec ? "found" : "no network record",
				 n->eps.n, n->routes.n, n->n_exports, n->n_peers);
		mark_dirty(n);
	}
	c->nets_synced = true;
}

static void own_state(bool connected, const char *reason, void *ctx)
{
	static bool down;

	if (connected && down)
		ctl_info("this shard is reachable again: %s", reason);
	else if (!connected && !down)
		ctl_err("this shard is unreachable (nothing is written meanwhile): %s", reason);
	else
		ctl_dbg("%s", reason);
	down = !connected;
}

static const struct zh_etcd_sub_cbs nets_cbs = {
	.resync_begin = nets_resync_begin,
	.resync_end = nets_resync_end,
	.event = nets_event,
	.state = own_state,
};

/* --- published/<net>/ and effective/<net>/ on this shard: what is there ------------- */

static void actual_event(struct network *n, struct kvmap *m, unsigned int gen,
			 const struct zh_kv *kv, bool views)
{
	char *key = strndup(kv->key, kv->key_len), *val = NULL;
	int changed;

	if (!key || (kv->value && !(val = strndup(kv->value, kv->value_len)))) {
		ctl_err("network %s: out of memory", n->name);
		goto out;
	}
	changed = kvmap_set(m, key, val, kv->mod_revision, gen);
	if (changed < 0)
		ctl_err("network %s: out of memory", n->name);
	else if (changed && views)
		mark_dirty(n); /* somebody else changed it, or our own write comes back */
	else if (changed)
		mark_routes_dirty(n);
out:
	free(key);
	free(val);
}

static void pub_resync_begin(void *ctx)
{
	((struct network *)ctx)->pub_gen++;
}

static void pub_event(const struct zh_kv *kv, void *ctx)
{
	struct network *n = ctx;

	actual_event(n, &n->pub, n->pub_gen, kv, true);
}

static void pub_resync_end(int64_t rev, void *ctx)
{
	struct network *n = ctx;

	kvmap_sweep(&n->pub, n->pub_gen, rev);
	n->pub_synced = true;
	mark_dirty(n);
}

static void eff_resync_begin(void *ctx)
{
	((struct network *)ctx)->eff_gen++;
}

static void eff_event(const struct zh_kv *kv, void *ctx)
{
	struct network *n = ctx;

	actual_event(n, &n->eff, n->eff_gen, kv, false);
}

static void eff_resync_end(int64_t rev, void *ctx)
{
	struct network *n = ctx;

	kvmap_sweep(&n->eff, n->eff_gen, rev);
	n->eff_synced = true;
	mark_dirty(n);
}

static const struct zh_etcd_sub_cbs pub_cbs = {
	.resync_begin = pub_resync_begin,
	.resync_end = pub_resync_end,
	.event = pub_event,
	.state = own_state,
};

static const struct zh_etcd_sub_cbs eff_cbs = {
	.resync_begin = eff_resync_begin,
	.resync_end = eff_resync_end,
	.event = eff_event,
	.state = own_state,
};

/* --- reconcile -------------------------------------------------------------------------- */

struct cands {
	struct zh_route_cand *v;
	size_t n, cap;
};

static int cand_add(struct cands *c, const struct zh_cidr *prefix, const struct zh_eff_route *r)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct zh_route_cand *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n].prefix = *prefix;
	c->v[c->n++].r = *r;
	return 0;
}

static int cand_add_route(struct cands *c, const struct zh_rec_route *rt, uint8_t origin,
			  const char *network, uint32_t vni, uint32_t preference)
{
	struct zh_eff_route r = {
		.origin = origin,
		.drop = rt->drop,
		.encap = rt->encap,
		.vni = vni,
		.preference = preference,
		.host_ip = rt->host_ip,
	};

	snprintf(r.network, sizeof(r.network), "%s", network);
	snprintf(r.host, sizeof(r.host), "%s", rt->host);
	return cand_add(c, &rt->prefix, &r);
}

/* Routes of the peers we cannot see now, from our own effective records:
 * what they last published stays.
 */
static int seed_unknown_peers(struct network *n, struct cands *cands)
{
	struct zh_record *rec = calloc(1, sizeof(*rec));
	size_t i, k;
	int err = 0;

	if (!rec)
		return -ENOMEM;
	for (i = 0; !err && i < n->eff.cap; i++) {
		const struct kv_entry *e = &n->eff.e[i];
		char why[ZH_ERR_MAX];

		if (!e->key || !e->value ||
		    zh_record_parse(e->key, strlen(e->key), e->value, strlen(e->value), rec, why,
				    sizeof(why)) ||
		    rec->kind != ZH_REC_EFFECTIVE)
			continue;
		for (k = 0; !err && k <= rec->eff.n_losers; k++) {
			struct zh_eff_route r = k ? rec->eff.losers[k - 1] : rec->eff.winner;
			struct peer *p;

			if (r.origin != ZH_ORIGIN_PEER || !(p = peer_find(n, r.network)) ||
			    p->removed || peer_known(p))
				continue;
			r.preference = p->rec.preference; /* ours, as it is now */
			err = cand_add(cands, &rec->eff.prefix, &r);
		}
	}
	free(rec);
	return err;
}

/* The route candidates of network n: its own, and its active peers'. */
static int gather_routes(struct network *n, struct cands *cands, size_t *known)
{
	bool unknown = false;
	size_t i, j;
	int err = 0;

	*known = 0;
	for (i = 0; !err && i < n->routes.n; i++)
		err = cand_add_route(cands, dtab_at(&n->routes, i), ZH_ORIGIN_LOCAL, n->name,
				     n->rec.vni, 0);
	for (i = 0; !err && i < n->n_peers; i++) {
		struct peer *p = n->peers[i];

		if (p->removed)
			continue;
		if (!peer_known(p)) {
			unknown = true;
			continue;
		}
		(*known)++;
		if (!p->their_exists || !p->have_meta)
			continue;
		for (j = 0; !err && j < p->routes.n; j++)
			err = cand_add_route(cands, dtab_at(&p->routes, j), ZH_ORIGIN_PEER,
					     p->rec.peer, p->vni, p->rec.preference);
	}
	if (!err && unknown)
		err = seed_unknown_peers(n, cands);
	return err;
}

/* published/<net>/<policy>/ for every policy granted by a peering of n. */
static int build_views(struct network *n, struct zh_kvlist *out)
{
	struct zh_view_src src = {
		.network = n->name,
		.net = &n->rec,
		.eps = (const struct zh_rec_endpoint *)n->eps.items,
		.n_eps = n->eps.n,
		.routes = (const struct zh_rec_route *)n->routes.items,
		.n_routes = n->routes.n,
	};
	/* the policies granted so far: a handful, however many peers */
	const char **seen = NULL;
	size_t i, j, n_seen = 0;
	int err = 0;

	for (i = 0; !err && i < n->n_peers; i++) {
		const char *grant = n->peers[i]->rec.grant;
		struct export_entry *e;
		const char **v;

		if (n->peers[i]->removed)
			continue;
		for (j = 0; j < n_seen && strcmp(seen[j], grant); j++)
			;
		if (j < n_seen)
			continue; /* one view per policy, however many peers it is granted to */
		v = realloc(seen, (n_seen + 1) * sizeof(*v));
		if (!v) {
			err = -ENOMEM;
			break;
		}
		seen = v;
		seen[n_seen++] = grant;
		e = export_find(n, grant);
		if (!e) {
			ctl_dbg("network %s: export policy \"%s\" granted to %s does not exist: "
				"nothing published", n->name, grant, n->peers[i]->rec.peer);
			continue;
		}
		src.policy = grant;
		src.exp = &e->exp;
		err = zh_view_build(&src, out);
	}
	free(seen);
	return err;
}

static int kvmap_to_list(const struct kvmap *m, struct zh_kvlist *l)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < m->cap; i++)
		if (m->e[i].key && m->e[i].value)
			err = zh_kvlist_add_copy(l, m->e[i].key, m->e[i].value);
	zh_kvlist_sort(l);
	return err;
}

/* Write ops; the first n_pub go to published/, the rest to effective/.
 * The actual state follows each transaction that went through.
 */
static int write_ops(struct ctl *c, struct network *n, const struct zh_etcd_op *ops,
		     size_t n_ops, size_t n_pub, int64_t *rev_out)
{
	size_t i, k;
	int err = 0;

	for (i = 0; i < n_ops; i += TXN_CHUNK) {
		size_t count = n_ops - i < TXN_CHUNK ? n_ops - i : TXN_CHUNK, done = 0;
		int64_t rev = 0;

		err = zh_etcd_txn(c->etcd, ops + i, count, &done, &rev);
		for (k = i; k < i + done; k++) {
			struct kvmap *m = k < n_pub ? &n->pub : &n->eff;
			unsigned int gen = k < n_pub ? n->pub_gen : n->eff_gen;

			kvmap_set(m, ops[k].key, ops[k].type == ZH_ETCD_PUT ? ops[k].value : NULL,
				  rev, gen);
		}
		if (err) {
			ctl_err("network %s: writing %zu changes: %s", n->name, n_ops,
				zh_etcd_error(c->etcd));
			return err;
		}
		*rev_out = rev;
	}
	return 0;
}

static int reconcile(struct ctl *c, struct network *n)
{
	struct zh_kvlist want_pub = {0}, want_eff = {0}, have_pub = {0}, have_eff = {0};
	struct zh_etcd_op *ops_pub = NULL, *ops_eff = NULL, *ops = NULL;
	size_t n_pub = 0, n_eff = 0, known = 0, puts = 0, i;
	struct cands cands = {0};
	/* the views only when the network's own records (or what is
	 * published) changed: what peers say changes only its routes */
	bool logged = false, views = n->views_dirty || !n->reconciled_once;
	int64_t rev = 0;
	int err = 0;

	n->views_dirty = false;
	if (n->have_rec) {
		if (views)
			err = build_views(n, &want_pub);
		if (!err)
			err = gather_routes(n, &cands, &known);
		if (!err)
			err = zh_effective_build(n->name, cands.v, cands.n, &want_eff);
	} else {
		for (i = 0; i < n->n_peers; i++)
			known += !n->peers[i]->removed && peer_known(n->peers[i]);
	}
	if (!err && views)
		err = kvmap_to_list(&n->pub, &have_pub);
	if (!err)
		err = kvmap_to_list(&n->eff, &have_eff);
	if (err)
		goto out;
	zh_kvlist_sort(&want_pub);
	zh_kvlist_sort(&want_eff);
	if (views)
		err = zh_kv_diff(&want_pub, &have_pub, &ops_pub, &n_pub);
	if (!err)
		err = zh_kv_diff(&want_eff, &have_eff, &ops_eff, &n_eff);
	if (err)
		goto out;
	if (n_pub + n_eff) {
		ops = malloc((n_pub + n_eff) * sizeof(*ops));
		if (!ops) {
			err = -ENOMEM;
			goto out;
		}
		if (n_pub)
			memcpy(ops, ops_pub, n_pub * sizeof(*ops));
		if (n_eff)
			memcpy(ops + n_pub, ops_eff, n_eff * sizeof(*ops));
		for (i = 0; i < n_pub + n_eff; i++)
			puts += ops[i].type == ZH_ETCD_PUT;
		err = write_ops(c, n, ops, n_pub + n_eff, n_pub, &rev);
		if (err) {
			logged = true;
			goto out;
		}
	}
	if (views)
		n->n_published = want_pub.n;
	if (n_pub + n_eff || !n->reconciled_once || known != n->last_known) {
		size_t active = 0;

		for (i = 0; i < n->n_peers; i++)
			active += !n->peers[i]->removed;
		if (n_pub + n_eff)
			ctl_info("network %s: reconciled: %zu puts, %zu deletes at revision %lld; "
				 "%zu keys published, %zu effective routes; peers %zu/%zu known",
				 n->name, puts, n_pub + n_eff - puts, (long long)rev, n->n_published,
				 want_eff.n, known, active);
		else
			ctl_info("network %s: reconciled: 0 puts, 0 deletes; %zu keys published, "
				 "%zu effective routes; peers %zu/%zu known",
				 n->name, n->n_published, want_eff.n, known, active);
	}
	n->reconciled_once = true;
	n->last_known = known;
	/* deleted keys stay as tombstones until the watch has passed them */
	if (views && n->pub.n > 2 * want_pub.n + 64)
		kvmap_prune(&n->pub, zh_etcd_sub_revision(n->sub_pub));
	if (n->eff.n > 2 * want_eff.n + 64)
		kvmap_prune(&n->eff, zh_etcd_sub_revision(n->sub_eff));
out:
	if (err && !logged)
		ctl_err("network %s: reconcile: %s", n->name, strerror(-err));
	if (err)
		n->views_dirty |= views; /* all of it again */
	free(ops);
	free(ops_pub);
	free(ops_eff);
	free(cands.v);
	zh_kvlist_free(&want_pub);
	zh_kvlist_free(&want_eff);
	zh_kvlist_free(&have_pub);
	zh_kvlist_free(&have_eff);
	return err;
}

/* --- start, stop, work -------------------------------------------------------------------- */

static void network_free(struct ctl *c, struct network *n)
{
	size_t i;

	for (i = 0; i < n->n_peers; i++) {
		peer_disconnect(c, n->peers[i]);
		peer_free(n->peers[i]);
	}
	free(n->peers);
	shash_free(&n->peer_index);
	if (n->sub_pub)
		zh_etcd_unsubscribe(n->sub_pub);
	if (n->sub_eff)
		zh_etcd_unsubscribe(n->sub_eff);
	dtab_free(&n->eps);
	dtab_free(&n->routes);
	free(n->exports);
	kvmap_free(&n->pub);
	kvmap_free(&n->eff);
	free(n);
}

int ctl_start(struct ctl *c)
{
	struct zh_etcd_opts o = {
		.endpoints = c->opts.etcd,
		.user = c->opts.user,
		.cacert = c->opts.cacert,
		.cert = c->opts.cert,
		.key = c->opts.key,
	};
	char prefix[256];
	size_t i;
	int err;

	if (c->opts.password_file) {
		err = ctl_read_password(c->opts.password_file, &c->password);
		if (err) {
			ctl_err("--password-file %s: %s", c->opts.password_file,
				err == -ENODATA ? "empty" : strerror(-err));
			return err;
		}
		o.password = c->password;
	}
	err = zh_etcd_loop_new(&c->loop);
	if (err)
		return err;
	err = zh_etcd_open(&o, &c->etcd);
	if (err) {
		ctl_err("--etcd: %s", zh_etcd_error(NULL));
		return err;
	}
	zh_etcd_set_loop(c->etcd, c->loop);
	c->nets = calloc(c->opts.n_networks, sizeof(*c->nets));
	if (!c->nets)
		return -ENOMEM;
	for (i = 0; i < c->opts.n_networks; i++) {
		struct network *n = calloc(1, sizeof(*n));

		if (!n)
			return -ENOMEM;
		c->nets[c->n_nets++] = n;
		n->ctl = c;
		snprintf(n->name, sizeof(n->name), "%s", c->opts.networks[i]);
		if (shash_put(&c->net_index, n->name, n))
			return -ENOMEM;
		dtab_init(&n->eps, sizeof(struct zh_rec_endpoint));
		dtab_init(&n->routes, sizeof(struct zh_rec_route));
		snprintf(prefix, sizeof(prefix), ZH_KEY_ROOT "published/%s/", n->name);
		err = zh_etcd_subscribe(c->etcd, prefix, &pub_cbs, n, &n->sub_pub);
		if (!err) {
			snprintf(prefix, sizeof(prefix), ZH_KEY_ROOT "effective/%s/", n->name);
			err = zh_etcd_subscribe(c->etcd, prefix, &eff_cbs, n, &n->sub_eff);
		}
		if (err) {
			ctl_err("%s", zh_etcd_error(c->etcd));
			return err;
		}
	}
	err = zh_etcd_subscribe(c->etcd, ZH_KEY_ROOT "networks/", &nets_cbs, c, &c->sub_nets);
	if (err)
		ctl_err("%s", zh_etcd_error(c->etcd));
	return err;
}

void ctl_stop(struct ctl *c)
{
	size_t i;

	for (i = 0; i < c->n_nets; i++)
		network_free(c, c->nets[i]);
	free(c->nets);
	c->nets = NULL;
	c->n_nets = 0;
	if (c->sub_nets)
		zh_etcd_unsubscribe(c->sub_nets);
	c->sub_nets = NULL;
	zh_etcd_close(c->etcd);
	c->etcd = NULL;
	zh_etcd_loop_free(c->loop);
	c->loop = NULL;
	ctl_free_password(c->password);
	c->password = NULL;
	free(c->removals);
	c->removals = NULL;
	c->n_removals = 0;
	c->nets_synced = c->orphans_checked = false;
	c->acl_retry_ms = 0;
	c->acl_dirty = c->acl_busy = c->acl_once = false;
	c->acl_ready = c->acl_logins = c->acl_set = 0;
	/* every peer let go of its watches and clients above */
	shash_free(&c->watches);
	shash_free(&c->clients);
	free(c->pq);
	c->pq = NULL;
	c->n_pq = c->cap_pq = 0;
	c->peers_retry_ms = 0;
	shash_free(&c->net_index);
}

static bool shard_unreachable(int err)
{
	return err == -ECONNREFUSED || err == -ETIMEDOUT || err == -EHOSTUNREACH ||
	       err == -ENETUNREACH || err == -ECONNRESET || err == -EIO || err == -EAGAIN;
}

/* Pending ACLs for at most ACL_SLICE_MS, then, once none is left, the
 * removals and orphans. Returns true when pending ACLs are left for the
 * next pass. A round that ends says what it cost: a password checked by
 * logging in is a bcrypt in etcd.
 */
static bool acl_slice(struct ctl *c, uint64_t now)
{
	uint64_t end = now + ACL_SLICE_MS;
	size_t i, j, failed = 0;

	c->acl_dirty = false;
	for (i = 0; i < c->n_nets; i++) {
		for (j = 0; j < c->nets[i]->n_peers; j++) {
			struct peer *p = c->nets[i]->peers[j];

			if (!p->acl_pending)
				continue;
			if (ctl_now_ms() >= end) {
				c->acl_dirty = c->acl_busy = true;
				return true;
			}
			if (acl_ensure(c, p)) {
				failed++;
			} else {
				p->acl_pending = false;
				c->acl_ready++;
			}
		}
	}
	if (acl_work(c))
		failed++;
	if (failed) {
		c->acl_dirty = true;
		c->acl_retry_ms = ctl_now_ms() + ACL_RETRY_MS;
	}
	if (c->acl_ready || failed)
		ctl_info("access: %zu peering%s ready (%zu password%s checked by logging in, %zu set)%s",
			 c->acl_ready, c->acl_ready == 1 ? "" : "s", c->acl_logins,
			 c->acl_logins == 1 ? "" : "s", c->acl_set,
			 failed ? "; the rest is tried again shortly" : "");
	c->acl_ready = c->acl_logins = c->acl_set = 0;
	c->acl_busy = false;
	c->acl_once = true;
	return false;
}

int ctl_work(struct ctl *c)
{
	uint64_t now = ctl_now_ms(), wait = 1000;
	size_t i, j;

	/* Logging in to peer shards waits while our users and roles are
	 * being made: etcd checks a login's password again (a bcrypt) when
	 * its auth store changed meanwhile, and a login that finds no role
	 * yet is tried again, so peers logging in all through a shard's
	 * setup doubled its bcrypts (20 networks fully meshed: 159 s of etcd
	 * CPU instead of 83).
	 */
	if (c->acl_once && !c->acl_busy)
		wait = peers_sync(c, now);

	if (c->nets_synced && now >= c->acl_retry_ms &&
	    (c->acl_dirty || c->n_removals || !c->orphans_checked)) {
		if (acl_slice(c, now))
			wait = 0; /* more to do after a look at the signals */
	}
	if (c->acl_retry_ms > now && c->acl_retry_ms - now < wait)
		wait = c->acl_retry_ms - now;
	for (i = 0; i < c->n_nets; i++) {
		struct network *n = c->nets[i];
		uint64_t due;

		if (!n->dirty || !c->nets_synced || !n->pub_synced || !n->eff_synced)
			continue;
		due = n->due_ms > n->retry_ms ? n->due_ms : n->retry_ms;
		now = ctl_now_ms();
		if (now >= due) {
			int err;

			n->dirty = false;
			err = reconcile(c, n);
			if (!err)
				continue;
			n->dirty = true;
			n->retry_ms = ctl_now_ms() + WRITE_RETRY_MS;
			due = n->retry_ms;
			if (shard_unreachable(err)) {
				/* every write would wait for the request timeout: the
				 * other networks try again with this one, and the
				 * loop goes back to its signals
				 */
				for (j = 0; j < c->n_nets; j++)
					if (c->nets[j]->retry_ms < n->retry_ms)
						c->nets[j]->retry_ms = n->retry_ms;
				return WRITE_RETRY_MS < wait ? WRITE_RETRY_MS : (int)wait;
			}
		}
		if (due - now < wait)
			wait = due - now;
	}
	return (int)wait;
}
