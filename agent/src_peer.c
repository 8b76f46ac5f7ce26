// SPDX-License-Identifier: GPL-2.0-only
/* The etcd source's peering connections (docs/agent.md, "Peering"):
 *
 * - for every network programmed on this host, on this host's shard:
 *   networks/<A>/peerings/ (its peering records) and effective/<A>/routes/
 *   (its routes, peer routes resolved by the controller);
 * - for every peering A -> B, on B's shard (its peer_shard, or this shard),
 *   logged in as the peering's user: the single key networks/B/peerings/A
 *   (B's side: active or not, and what B grants A) and, while B grants A
 *   a policy P, the prefix published/B/P/ (B's view for A). Nothing else
 *   of B is read.
 *
 * Subscription callbacks only change the desired state. Opening and
 * closing subscriptions and clients happens in zh_src_peers_sync(), from
 * the main loop, when the state's peering generation moved or a failed
 * connection is due again. Peerings to one shard with one user share a
 * client. A peer shard that cannot be reached changes nothing: the last
 * state stays (fail static) until it answers again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "tab.h"

#define PEER_RETRY_MS   5000 /* a connection that could not be set up */
#define PEER_TIMEOUT_MS 3000

/* A client of one peer shard, as one user. */
struct pclient {
	char shard[ZH_PEER_SHARD_MAX];
	char user[ZH_NAME_MAX + 1];
	char password_file[ZH_PATH_MAX];
	struct zh_etcd *cli;
	unsigned int refs;
};

/* The connection of one peering net -> peer. */
struct pconn {
	struct zh_src_peers *src;
	char net[ZH_NAME_MAX + 1];
	char peer[ZH_NAME_MAX + 1];
	/* what the connection was set up with */
	char shard[ZH_PEER_SHARD_MAX];
	char user[ZH_NAME_MAX + 1];
	char password_file[ZH_PATH_MAX];
	uint32_t serial;               /* of the peering in the state */
	struct pclient *client;        /* NULL: this shard's own client */
	struct zh_etcd *cli;           /* NULL: not connected (retry_at) */
	struct zh_etcd_sub *their_sub; /* networks/<peer>/peerings/<net> */
	struct zh_etcd_sub *view_sub;  /* published/<peer>/<view_policy>/ */
	char view_policy[ZH_NAME_MAX + 1];
	bool their_seen;               /* during a listing of their record */
	bool their_up, view_up;        /* the watches are connected */
	bool down;                     /* an outage was reported */
	char error[192];
	uint64_t retry_at;
	bool mark;
};

struct nconn;

/* One of them: networks/<net>/peerings/ or effective/<net>/routes/. */
struct nsub {
	struct nconn *n;
	unsigned int kind; /* ZH_REC_PEERING or ZH_REC_EFFECTIVE */
	char prefix[ZH_NAME_MAX + 64];
	struct zh_etcd_sub *sub;
};

/* The subscriptions of a programmed network on this shard. */
struct nconn {
	struct zh_src_peers *src;
	char net[ZH_NAME_MAX + 1];
	struct nsub peerings, effective;
	bool mark;
};

/* Index of connections by (net, peer). */
struct conn_key {
	char net[ZH_NAME_MAX + 1];
	char peer[ZH_NAME_MAX + 1];
};

struct conn_slot {
	struct conn_key key;
	struct pconn *c;
};

struct zh_src_peers {
	struct zh_agent *a;
	struct zh_etcd *own;
	struct tab conns;             /* struct conn_slot */
	struct nconn **nets;
	size_t n_nets, cap_nets;
	struct pclient **clients;
	size_t n_clients, cap_clients;
	uint64_t gen;                 /* state generation last followed */
	uint64_t retry_at;            /* earliest connection retry (0 none) */
	bool all;                     /* follow even if nothing moved */
};

static void conn_key(struct conn_key *k, const char *net, const char *peer)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->net, sizeof(k->net), "%s", net);
	snprintf(k->peer, sizeof(k->peer), "%s", peer);
}

static struct pconn *conn_find(const struct zh_src_peers *s, const char *net, const char *peer)
{
	struct conn_key k;
	uint32_t id;

	conn_key(&k, net, peer);
	id = tab_find(&s->conns, &k);
	return id == NONE ? NULL : ((struct conn_slot *)tab_rec(&s->conns, id))->c;
}

/* --- this shard: a network's peering records and effective routes ------------- */

static void net_begin(void *ctx)
{
	struct nsub *ns = ctx;

	zh_agent_listing(ns->n->src->a, ns->kind, ns->n->net, true);
}

static void net_end(int64_t rev, void *ctx)
{
	struct nsub *ns = ctx;

	pr_debug("etcd %s: listed at revision %lld\n", ns->prefix, (long long)rev);
	zh_agent_listing(ns->n->src->a, ns->kind, ns->n->net, false);
}

static void net_event(const struct zh_kv *kv, void *ctx)
{
	struct nsub *ns = ctx;

	if (kv->value)
		zh_agent_put_kinds(ns->n->src->a, ZH_KIND(ns->kind), kv->key, kv->key_len,
				   kv->value, kv->value_len, kv->mod_revision);
	else
		zh_agent_del_kinds(ns->n->src->a, ZH_KIND(ns->kind), kv->key, kv->key_len,
				   kv->mod_revision);
}

/* This shard's connection state is the etcd source's to report. */
static const struct zh_etcd_sub_cbs net_cbs = {
	.resync_begin = net_begin,
	.resync_end = net_end,
	.event = net_event,
};

static int nconn_open(struct zh_src_peers *s, const char *net)
{
	struct nconn *n;
	int err;

	if (s->n_nets == s->cap_nets) {
		size_t cap = s->cap_nets ? s->cap_nets * 2 : 8;
		void *v = realloc(s->nets, cap * sizeof(*s->nets));

		if (!v)
			return -ENOMEM;
		s->nets = v;
		s->cap_nets = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->src = s;
	n->mark = true;
	snprintf(n->net, sizeof(n->net), "%s", net);
	n->peerings = (struct nsub){.n = n, .kind = ZH_REC_PEERING};
	snprintf(n->peerings.prefix, sizeof(n->peerings.prefix),
		 ZH_KEY_ROOT "networks/%s/peerings/", net);
	n->effective = (struct nsub){.n = n, .kind = ZH_REC_EFFECTIVE};
	snprintf(n->effective.prefix, sizeof(n->effective.prefix),
		 ZH_KEY_ROOT "effective/%s/routes/", net);
	err = zh_etcd_subscribe(s->own, n->peerings.prefix, &net_cbs, &n->peerings,
				&n->peerings.sub);
	if (!err)
		err = zh_etcd_subscribe(s->own, n->effective.prefix, &net_cbs, &n->effective,
					&n->effective.sub);
	if (err) {
		pr_warn("etcd: cannot watch the peerings of network %s: %s\n", net,
			zh_etcd_error(s->own));
		if (n->peerings.sub)
			zh_etcd_unsubscribe(n->peerings.sub);
		free(n);
		return err;
	}
	pr_info("network %s: watching its peerings and effective routes\n", net);
	s->nets[s->n_nets++] = n;
	return 0;
}

static void nconn_close(struct nconn *n)
{
	if (n->peerings.sub)
		zh_etcd_unsubscribe(n->peerings.sub);
	if (n->effective.sub)
		zh_etcd_unsubscribe(n->effective.sub);
	free(n);
}

/* --- the peer's shard ------------------------------------------------------------- */

/* First line of a password file (malloc'ed). */
static int read_password(const char *path, char **out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int err = 0;

	*out = NULL;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = getline(&line, &cap, f);
	if (n < 0)
		err = ferror(f) ? -EIO : -ENODATA;
	while (!err && n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	if (!err && !n)
		err = -ENODATA;
	if (err) {
		free(line);
		line = NULL;
	}
	fclose(f);
	*out = line;
	return err;
}

static void free_password(char *pw)
{
	if (pw) {
		explicit_bzero(pw, strlen(pw));
		free(pw);
	}
}

static void pclient_put(struct zh_src_peers *s, struct pclient *pc)
{
	size_t i;

	if (!pc || --pc->refs)
		return;
	for (i = 0; i < s->n_clients; i++) {
		if (s->clients[i] == pc) {
			s->clients[i] = s->clients[--s->n_clients];
			break;
		}
	}
	zh_etcd_close(pc->cli);
	free(pc);
}

/* A client of shard as user, shared by the peerings that use the same. */
static int pclient_get(struct zh_src_peers *s, const struct pconn *c, struct pclient **out,
		       char *why, size_t len)
{
	const struct zh_agent_config *cfg = &s->a->cfg;
	struct zh_etcd_opts o = {
		.endpoints = c->shard,
		.cacert = cfg->etcd_cacert[0] ? cfg->etcd_cacert : NULL,
		.cert = cfg->etcd_cert[0] ? cfg->etcd_cert : NULL,
		.key = cfg->etcd_key[0] ? cfg->etcd_key : NULL,
		.timeout_ms = PEER_TIMEOUT_MS,
	};
	struct pclient *pc;
	char *password = NULL;
	size_t i;
	int err;

	for (i = 0; i < s->n_clients; i++) {
		pc = s->clients[i];
		if (!strcmp(pc->shard, c->shard) && !strcmp(pc->user, c->user) &&
		    !strcmp(pc->password_file, c->password_file)) {
			pc->refs++;
			*out = pc;
			return 0;
		}
	}
	if (c->user[0]) {
		err = read_password(c->password_file, &password);
		if (err) {
			snprintf(why, len, "password_file %s: %s", c->password_file,
				 err == -ENODATA ? "empty" : strerror(-err));
			return err;
		}
		o.user = c->user;
		o.password = password;
	}
	if (s->n_clients == s->cap_clients) {
		size_t cap = s->cap_clients ? s->cap_clients * 2 : 8;
		void *v = realloc(s->clients, cap * sizeof(*s->clients));

		if (!v) {
			free_password(password);
			return -ENOMEM;
		}
		s->clients = v;
		s->cap_clients = cap;
	}
	pc = calloc(1, sizeof(*pc));
	if (!pc) {
		free_password(password);
		return -ENOMEM;
	}
	err = zh_etcd_open(&o, &pc->cli);
	free_password(password);
	if (err) {
		snprintf(why, len, "peer_shard: %s", zh_etcd_error(NULL));
		free(pc);
		return err;
	}
	zh_etcd_set_loop(pc->cli, s->a->loop);
	snprintf(pc->shard, sizeof(pc->shard), "%s", c->shard);
	snprintf(pc->user, sizeof(pc->user), "%s", c->user);
	snprintf(pc->password_file, sizeof(pc->password_file), "%s", c->password_file);
	pc->refs = 1;
	s->clients[s->n_clients++] = pc;
	*out = pc;
	return 0;
}

/* Their record for us and their view: connected, or why not (once per
 * outage at warning level).
 */
static void conn_state(struct pconn *c, bool *up, bool connected, const char *reason)
{
	bool all;

	*up = connected;
	all = c->their_up && (!c->view_sub || c->view_up);
	if (!connected && reason)
		snprintf(c->error, sizeof(c->error), "%s", reason);
	if (!connected && !c->down) {
		pr_warn("network %s: peer %s: %s; keeping its last state\n", c->net, c->peer,
			reason ? reason : "disconnected");
		c->down = true;
	} else if (all && c->down) {
		pr_info("network %s: peer %s: connected again\n", c->net, c->peer);
		c->down = false;
	}
}

static void their_begin(void *ctx)
{
	struct pconn *c = ctx;

	c->their_seen = false;
}

static void their_event(const struct zh_kv *kv, void *ctx)
{
	struct pconn *c = ctx;
	struct zh_record rec;
	char err[ZH_ERR_MAX] = "";

	if (!kv->value) {
		zh_agent_peer_their(c->src->a, c->net, c->peer, NULL);
		return;
	}
	c->their_seen = true; /* a bad value keeps the last good grant */
	if (zh_record_parse(kv->key, kv->key_len, kv->value, kv->value_len, &rec, err,
			    sizeof(err)) || rec.kind != ZH_REC_PEERING) {
		pr_warn("network %s: peer %s: %s\n", c->net, c->peer,
			err[0] ? err : "not a peering record");
		zh_agent_stats_error(&c->src->a->stats, ZH_AERR_bad_record, "%s", err);
		return;
	}
	zh_agent_peer_their(c->src->a, c->net, c->peer, rec.peering.grant);
}

static void their_end(int64_t rev, void *ctx)
{
	struct pconn *c = ctx;

	if (!c->their_seen)
		zh_agent_peer_their(c->src->a, c->net, c->peer, NULL);
}

static void their_up(bool connected, const char *reason, void *ctx)
{
	struct pconn *c = ctx;

	conn_state(c, &c->their_up, connected, reason);
}

static const struct zh_etcd_sub_cbs their_cbs = {
	.resync_begin = their_begin,
	.resync_end = their_end,
	.event = their_event,
	.state = their_up,
};

static void view_begin(void *ctx)
{
	struct pconn *c = ctx;

	zh_agent_peer_view(c->src->a, c->net, c->peer, c->view_policy, true);
}

static void view_end(int64_t rev, void *ctx)
{
	struct pconn *c = ctx;

	pr_debug("network %s: peer %s: view published/%s/%s/ listed at revision %lld\n", c->net,
		 c->peer, c->peer, c->view_policy, (long long)rev);
	zh_agent_peer_view(c->src->a, c->net, c->peer, c->view_policy, false);
}

static void view_event(const struct zh_kv *kv, void *ctx)
{
	struct pconn *c = ctx;

	if (kv->value)
		zh_agent_peer_put(c->src->a, c->net, c->peer, kv->key, kv->key_len, kv->value,
				  kv->value_len);
	else
		zh_agent_peer_del(c->src->a, c->net, c->peer, kv->key, kv->key_len);
}

static void view_up(bool connected, const char *reason, void *ctx)
{
	struct pconn *c = ctx;

	conn_state(c, &c->view_up, connected, reason);
}

static const struct zh_etcd_sub_cbs view_cbs = {
	.resync_begin = view_begin,
	.resync_end = view_end,
	.event = view_event,
	.state = view_up,
};

static void conn_disconnect(struct pconn *c)
{
	if (c->view_sub)
		zh_etcd_unsubscribe(c->view_sub);
	if (c->their_sub)
		zh_etcd_unsubscribe(c->their_sub);
	c->view_sub = c->their_sub = NULL;
	c->view_policy[0] = 0;
	c->their_up = c->view_up = false;
	pclient_put(c->src, c->client);
	c->client = NULL;
	c->cli = NULL;
}

/* Log into the peer's shard and watch its record for us. */
static int conn_connect(struct pconn *c, const struct zh_rec_peering *rec, uint64_t now)
{
	struct zh_src_peers *s = c->src;
	char key[ZH_NAME_MAX * 2 + 64];
	int err;

	snprintf(c->shard, sizeof(c->shard), "%s", rec->peer_shard);
	snprintf(c->user, sizeof(c->user), "%s", rec->user);
	snprintf(c->password_file, sizeof(c->password_file), "%s", rec->password_file);
	c->error[0] = 0;
	if (!c->shard[0]) {
		c->cli = s->own; /* the peer lives on this shard */
	} else {
		err = pclient_get(s, c, &c->client, c->error, sizeof(c->error));
		if (err)
			goto fail;
		c->cli = c->client->cli;
	}
	snprintf(key, sizeof(key), ZH_KEY_ROOT "networks/%s/peerings/%s", c->peer, c->net);
	err = zh_etcd_subscribe_key(c->cli, key, &their_cbs, c, &c->their_sub);
	if (err) {
		snprintf(c->error, sizeof(c->error), "watch %s: %s", key, zh_etcd_error(c->cli));
		goto fail;
	}
	pr_info("network %s: peer %s: watching %s on %s\n", c->net, c->peer, key,
		c->shard[0] ? c->shard : "this shard");
	return 0;
fail:
	pr_warn("network %s: peer %s: %s; trying again in %d s\n", c->net, c->peer, c->error,
		PEER_RETRY_MS / 1000);
	zh_agent_stats_error(&s->a->stats, ZH_AERR_source, "network %s: peer %s: %s", c->net,
			     c->peer, c->error);
	conn_disconnect(c);
	c->retry_at = now + PEER_RETRY_MS;
	return err;
}

/* Watch the view the peer grants us now (none while it grants nothing). */
static void conn_view(struct pconn *c, const struct zh_peer_info *p)
{
	const char *want = p->their == ZH_THEIR_PRESENT ? p->their_grant : "";
	char prefix[ZH_NAME_MAX * 2 + 64];

	if (!c->cli || (!strcmp(want, c->view_policy) && (c->view_sub || !want[0])))
		return;
	if (p->their == ZH_THEIR_UNKNOWN)
		return; /* keep what is watched until their record is read */
	if (c->view_sub)
		zh_etcd_unsubscribe(c->view_sub);
	c->view_sub = NULL;
	c->view_up = false;
	snprintf(c->view_policy, sizeof(c->view_policy), "%s", want);
	if (!want[0])
		return;
	snprintf(prefix, sizeof(prefix), ZH_KEY_ROOT "published/%s/%s/", c->peer, want);
	if (zh_etcd_subscribe(c->cli, prefix, &view_cbs, c, &c->view_sub)) {
		snprintf(c->error, sizeof(c->error), "watch %s: %s", prefix, zh_etcd_error(c->cli));
		pr_warn("network %s: peer %s: %s\n", c->net, c->peer, c->error);
		c->view_policy[0] = 0; /* again at the next sync */
		c->src->all = true;
		return;
	}
	pr_info("network %s: peer %s: watching %s\n", c->net, c->peer, prefix);
}

static void conn_free(struct pconn *c)
{
	conn_disconnect(c);
	free(c);
}

static struct pconn *conn_new(struct zh_src_peers *s, const char *net, const char *peer)
{
	struct pconn *c = calloc(1, sizeof(*c));
	struct conn_slot *slot;
	struct conn_key k;
	bool created;
	uint32_t id;

	if (!c)
		return NULL;
	c->src = s;
	snprintf(c->net, sizeof(c->net), "%s", net);
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	conn_key(&k, net, peer);
	id = tab_insert(&s->conns, &k, &created);
	if (id == NONE) {
		free(c);
		return NULL;
	}
	slot = tab_rec(&s->conns, id);
	slot->c = c;
	return c;
}

/* --- following the state -------------------------------------------------------- */

struct sync_ctx {
	struct zh_src_peers *s;
	uint64_t now;
};

static int net_cb(const char *name, uint32_t vni, void *ctx)
{
	struct sync_ctx *x = ctx;
	struct zh_src_peers *s = x->s;
	size_t i;

	for (i = 0; i < s->n_nets; i++) {
		if (!strcmp(s->nets[i]->net, name)) {
			s->nets[i]->mark = true;
			return 0;
		}
	}
	nconn_open(s, name);
	return 0;
}

static bool conn_settings_differ(const struct pconn *c, const struct zh_rec_peering *rec)
{
	return strcmp(c->shard, rec->peer_shard) || strcmp(c->user, rec->user) ||
	       strcmp(c->password_file, rec->password_file);
}

static int peer_cb(const struct zh_peer_info *p, void *ctx)
{
	struct sync_ctx *x = ctx;
	struct zh_src_peers *s = x->s;
	struct pconn *c = conn_find(s, p->network, p->peer);

	if (!c) {
		c = conn_new(s, p->network, p->peer);
		if (!c)
			return 0;
	} else if (c->serial != p->serial) {
		/* Removed and added again since the last sync: the new one
		 * knows nothing of the peer yet, so everything is read again.
		 */
		conn_disconnect(c);
		c->retry_at = 0;
	} else if (c->cli && conn_settings_differ(c, p->rec)) {
		pr_info("network %s: peering with %s changed its connection: connecting again\n",
			p->network, p->peer);
		conn_disconnect(c);
		c->retry_at = 0;
	}
	c->serial = p->serial;
	c->mark = true;
	if (!c->cli && x->now >= c->retry_at)
		conn_connect(c, p->rec, x->now);
	if (!c->cli && (!s->retry_at || c->retry_at < s->retry_at))
		s->retry_at = c->retry_at;
	conn_view(c, p);
	return 0;
}

void zh_src_peers_sync(struct zh_src_peers *s, uint64_t now_ms)
{
	struct sync_ctx x = {.s = s, .now = now_ms};
	struct zh_state *st = s->a->state;
	uint64_t gen = zh_state_peers_gen(st);
	uint32_t id;
	size_t i;

	if (gen == s->gen && !s->all && (!s->retry_at || now_ms < s->retry_at))
		return;
	s->all = false;
	s->retry_at = 0;

	/* Networks programmed here: their peering records and routes. */
	for (i = 0; i < s->n_nets; i++)
		s->nets[i]->mark = false;
	zh_state_foreach_network(st, net_cb, &x);
	for (i = 0; i < s->n_nets;) {
		struct nconn *n = s->nets[i];

		if (n->mark) {
			i++;
			continue;
		}
		pr_info("network %s: no longer programmed here; its peerings are dropped\n",
			n->net);
		zh_state_peerings_forget(st, n->net);
		nconn_close(n);
		s->nets[i] = s->nets[--s->n_nets];
	}

	/* Their peerings: the peers' shards. */
	tab_foreach(&s->conns, id)((struct conn_slot *)tab_rec(&s->conns, id))->c->mark = false;
	zh_state_foreach_peer(st, peer_cb, &x);
	tab_foreach(&s->conns, id)
	{
		struct conn_slot *slot = tab_rec(&s->conns, id);

		if (slot->c->mark)
			continue;
		pr_info("network %s: peering with %s removed: its connection is closed\n",
			slot->c->net, slot->c->peer);
		conn_free(slot->c);
		tab_remove(&s->conns, id);
	}
	s->gen = zh_state_peers_gen(st);
}

void zh_src_peers_resync(struct zh_src_peers *s)
{
	uint32_t id;
	size_t i;

	if (!s)
		return;
	pr_info("peerings: connecting and listing everything again\n");
	for (i = 0; i < s->n_nets; i++)
		nconn_close(s->nets[i]);
	s->n_nets = 0;
	tab_foreach(&s->conns, id)
	{
		struct pconn *c = ((struct conn_slot *)tab_rec(&s->conns, id))->c;

		conn_disconnect(c);
		c->retry_at = 0;
	}
	s->all = true;
}

bool zh_src_peers_conn(const struct zh_src_peers *s, const char *net, const char *peer,
		       bool *connected, const char **error)
{
	const struct pconn *c = conn_find(s, net, peer);

	*connected = false;
	*error = NULL;
	if (!c)
		return false;
	*connected = c->cli && c->their_up && (!c->view_sub || c->view_up);
	*error = c->error[0] ? c->error : NULL;
	return true;
}

int zh_src_peers_open(struct zh_agent *a, struct zh_etcd *own, struct zh_src_peers **out)
{
	struct zh_src_peers *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->a = a;
	s->own = own;
	tab_init(&s->conns, sizeof(struct conn_slot), sizeof(struct conn_key));
	s->all = true;
	*out = s;
	return 0;
}

void zh_src_peers_close(struct zh_src_peers *s)
{
	uint32_t id;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_nets; i++)
		nconn_close(s->nets[i]);
	free(s->nets);
	tab_foreach(&s->conns, id) conn_free(((struct conn_slot *)tab_rec(&s->conns, id))->c);
	tab_free(&s->conns);
	free(s->clients); /* every client went with its last connection */
	free(s);
}
