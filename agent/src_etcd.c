// SPDX-License-Identifier: GPL-2.0-only
/* The etcd: source: list-then-watch subscriptions on the controller shard
 * of only what this host serves.
 *
 * - hosts/<me> (one key: the host record, whose "networks" it serves) and
 *   hosts/<me>/ (its ports), so the agent never lists other hosts' ports;
 * - for every network it serves, networks/<net> (one key: the network
 *   record) and networks/<net>/ (its endpoints, routes and exports).
 *
 * A network is served when the host record lists it or one of the host's
 * ports is in it: a network is programmed when it has a record and a local
 * port (state.h), so these are all the networks that can be. So a host of
 * a never lists a peer b of the same shard: what it learns of b is b's
 * view (src_peer.c), as for a peer on another shard. The peering records
 * under networks/<net>/peerings/ come with the listing but are src_peer.c's
 * to read (per programmed network, with their own listing); they are
 * skipped here.
 *
 * Two subscriptions per network instead of one on the prefix
 * "networks/<net>": that prefix would also list every network whose name
 * starts with <net> (blue, blue2), which is what this keeps out.
 *
 * The host's subscriptions come first; the networks follow once both have
 * listed, and then follow the host record and the ports (zh_src_etcd_sync,
 * from the main loop). Each network's listing is a resync of that
 * network's records only (zh_agent_net_listing); nothing is written to
 * the maps before the host and every served network have listed once. A
 * network no longer served is unsubscribed and its records leave the
 * state. The client library reconnects, resumes from the last revision
 * and re-lists after a compaction; meanwhile the maps keep the last state
 * (fail static).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"

/* A network's own records: its record, endpoints, routes and exports. */
#define NET_KINDS_RECORD   ZH_KIND(ZH_REC_NETWORK)
#define NET_KINDS_CHILDREN (ZH_KIND(ZH_REC_ENDPOINT) | ZH_KIND(ZH_REC_ROUTE) | \
			    ZH_KIND(ZH_REC_EXPORT))

enum sub_role {
	SUB_HOST,  /* hosts/<me>: the host record (read here) */
	SUB_PORTS, /* hosts/<me>/: ports (a resync of ZH_KINDS_HOST) */
	SUB_NET,   /* networks/<net> or networks/<net>/: a network's records */
};

struct netsubs;

struct sub {
	struct zh_src_etcd *src;
	struct netsubs *net; /* SUB_NET: its network */
	enum sub_role role;
	char prefix[ZH_NAME_MAX + 64]; /* the key for SUB_HOST and a record */
	bool key;                      /* one key, not a prefix */
	unsigned int kinds;
	struct zh_etcd_sub *sub;
	bool connected;
	bool reported; /* state reported at least once */
	bool listing;  /* between resync_begin and resync_end */
	bool listed;   /* a listing completed since subscribed */
	bool seen;     /* SUB_HOST: the key came in the listing */
};

struct netsubs {
	char name[ZH_NAME_MAX + 1];
	struct sub rec, children;
	bool mark;
};

struct zh_src_etcd {
	struct zh_agent *a;
	struct zh_etcd *cli;
	struct sub host, ports;
	struct netsubs **nets;
	size_t n_nets, cap_nets;
	/* the host record's networks (the last good record) */
	char host_nets[ZH_HOST_NETWORKS_MAX][ZH_NAME_MAX + 1];
	unsigned int n_host_nets;
	bool connected;
	bool need_sync; /* the served networks may have changed */
	bool synced;    /* the first complete listing was reported */
};

static const char *sub_name(const struct sub *s)
{
	return s->prefix;
}

/* The host record's networks, from a put of hosts/<me>. A bad record is
 * reported (zh_agent_put_kinds) and the last good one stays.
 */
static void host_put(struct zh_src_etcd *src, const struct zh_kv *kv)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX];
	unsigned int i;

	if (zh_record_parse(kv->key, kv->key_len, kv->value, kv->value_len, &rec, err,
			    sizeof(err)) ||
	    rec.kind != ZH_REC_HOST) {
		zh_agent_put_kinds(src->a, ZH_KIND(ZH_REC_HOST), kv->key, kv->key_len, kv->value,
				   kv->value_len, kv->mod_revision);
		return;
	}
	src->n_host_nets = rec.hostrec.n_networks;
	for (i = 0; i < rec.hostrec.n_networks; i++)
		snprintf(src->host_nets[i], sizeof(src->host_nets[i]), "%s",
			 rec.hostrec.networks[i]);
}

static void on_resync_begin(void *ctx)
{
	struct sub *s = ctx;
	struct zh_src_etcd *src = s->src;

	pr_debug("etcd %s: listing\n", sub_name(s));
	s->listing = true;
	s->seen = false;
	if (s->role == SUB_PORTS)
		zh_agent_resync_begin(src->a, s->kinds);
	else if (s->role == SUB_NET)
		zh_agent_net_listing(src->a, s->net->name, s->kinds, true, 0);
}

static void on_resync_end(int64_t rev, void *ctx)
{
	struct sub *s = ctx;
	struct zh_src_etcd *src = s->src;

	pr_info("etcd %s: listed at revision %lld\n", sub_name(s), (long long)rev);
	s->listing = false;
	s->listed = true;
	if (s->role == SUB_HOST && !s->seen)
		src->n_host_nets = 0; /* no host record */
	if (s->role == SUB_PORTS)
		zh_agent_resync_end(src->a, s->kinds, rev);
	else if (s->role == SUB_NET)
		zh_agent_net_listing(src->a, s->net->name, s->kinds, false, rev);
	src->need_sync = true;
}

static void on_event(const struct zh_kv *kv, void *ctx)
{
	struct sub *s = ctx;
	struct zh_src_etcd *src = s->src;

	if (s->role == SUB_HOST) {
		/* only this very key comes (a key subscription) */
		s->seen = s->seen || kv->value;
		if (kv->value)
			host_put(src, kv);
		else
			src->n_host_nets = 0;
		src->need_sync = true;
		return;
	}
	/* Ports may bring networks; networks/<net>/ holds peering records
	 * too, src_peer.c's (not of these kinds).
	 */
	if (s->role == SUB_PORTS)
		src->need_sync = true;
	if (kv->value)
		zh_agent_put_kinds(src->a, s->kinds, kv->key, kv->key_len, kv->value,
				   kv->value_len, kv->mod_revision);
	else
		zh_agent_del_kinds(src->a, s->kinds, kv->key, kv->key_len, kv->mod_revision);
}

/* The source is connected when every subscription that reported is. */
static void source_state_update(struct zh_src_etcd *src, bool connected, const char *reason)
{
	bool all = (!src->host.reported || src->host.connected) &&
		   (!src->ports.reported || src->ports.connected);
	size_t i;

	for (i = 0; i < src->n_nets; i++) {
		const struct netsubs *n = src->nets[i];

		all = all && (!n->rec.reported || n->rec.connected) &&
		      (!n->children.reported || n->children.connected);
	}
	if (all != src->connected || !connected) {
		src->connected = all;
		zh_agent_source_state(src->a, all, connected ? NULL : reason);
	}
}

static void on_state(bool connected, const char *reason, void *ctx)
{
	struct sub *s = ctx;

	if (s->connected != connected || !s->reported) {
		if (connected)
			/* the reason names the member this subscription reached
			 * (the client's current endpoint may be another) */
			pr_info("etcd %s: connected: %s\n", sub_name(s), reason ? reason : "");
		else
			pr_warn("etcd %s: %s; keeping the last state\n", sub_name(s),
				reason ? reason : "disconnected");
	}
	s->connected = connected;
	s->reported = true;
	source_state_update(s->src, connected, reason);
}

static const struct zh_etcd_sub_cbs sub_cbs = {
	.resync_begin = on_resync_begin,
	.resync_end = on_resync_end,
	.event = on_event,
	.state = on_state,
};

static int sub_open(struct zh_src_etcd *src, struct sub *s)
{
	int err;

	s->listed = false;
	s->connected = false;
	s->reported = false;
	if (s->key)
		err = zh_etcd_subscribe_key(src->cli, s->prefix, &sub_cbs, s, &s->sub);
	else
		err = zh_etcd_subscribe(src->cli, s->prefix, &sub_cbs, s, &s->sub);
	if (err) {
		pr_warn("etcd: cannot watch %s: %s\n", s->prefix, zh_etcd_error(src->cli));
		s->sub = NULL;
	}
	return err;
}

/* Unsubscribe. A listing in flight stays so in the state: the next
 * subscription's listing (a resync) carries it on, or the network's
 * forget ends it.
 */
static void sub_close(struct sub *s)
{
	if (s->sub)
		zh_etcd_unsubscribe(s->sub);
	s->sub = NULL;
}

/* --- served networks ------------------------------------------------------------- */

static struct netsubs *net_find(struct zh_src_etcd *src, const char *name)
{
	size_t i;

	for (i = 0; i < src->n_nets; i++)
		if (!strcmp(src->nets[i]->name, name))
			return src->nets[i];
	return NULL;
}

static int net_subscribe(struct zh_src_etcd *src, struct netsubs *n)
{
	int err = sub_open(src, &n->rec);

	if (!err)
		err = sub_open(src, &n->children);
	if (err)
		sub_close(&n->rec);
	return err;
}

static int net_open(struct zh_src_etcd *src, const char *name)
{
	struct netsubs *n;
	int err;

	if (src->n_nets == src->cap_nets) {
		size_t cap = src->cap_nets ? src->cap_nets * 2 : 8;
		void *v = realloc(src->nets, cap * sizeof(*src->nets));

		if (!v)
			return -ENOMEM;
		src->nets = v;
		src->cap_nets = cap;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->rec = (struct sub){.src = src, .net = n, .role = SUB_NET, .key = true,
			      .kinds = NET_KINDS_RECORD};
	snprintf(n->rec.prefix, sizeof(n->rec.prefix), ZH_KEY_ROOT "networks/%s", name);
	n->children = (struct sub){.src = src, .net = n, .role = SUB_NET,
				   .kinds = NET_KINDS_CHILDREN};
	snprintf(n->children.prefix, sizeof(n->children.prefix), ZH_KEY_ROOT "networks/%s/",
		 name);
	err = net_subscribe(src, n);
	if (err) {
		free(n);
		return err;
	}
	pr_info("network %s: served here: watching its records\n", name);
	src->nets[src->n_nets++] = n;
	return 0;
}

/* Unsubscribe; forget: its records leave the state (it is no longer
 * served), else they stay (the source closes, the maps keep them).
 */
static void net_close(struct zh_src_etcd *src, struct netsubs *n, bool forget)
{
	sub_close(&n->rec);
	sub_close(&n->children);
	if (forget)
		zh_agent_net_forget(src->a, n->name, NET_KINDS_RECORD | NET_KINDS_CHILDREN);
	free(n);
}

static void serve(struct zh_src_etcd *src, const char *name)
{
	struct netsubs *n = net_find(src, name);

	if (n) {
		n->mark = true;
		return;
	}
	if (net_open(src, name) == 0)
		src->nets[src->n_nets - 1]->mark = true;
	else
		src->need_sync = true; /* try again in the next pass */
}

static int port_net_cb(const struct zh_port_want *p, void *ctx)
{
	serve(ctx, p->network);
	return 0;
}

void zh_src_etcd_sync(struct zh_src_etcd *s)
{
	unsigned int i;
	size_t j;
	bool all;

	/* The served set is known only from complete host listings. */
	if (!s->need_sync || !s->host.listed || !s->ports.listed || s->host.listing ||
	    s->ports.listing)
		return;
	s->need_sync = false;
	for (j = 0; j < s->n_nets; j++)
		s->nets[j]->mark = false;
	for (i = 0; i < s->n_host_nets; i++)
		serve(s, s->host_nets[i]);
	zh_state_foreach_port(s->a->state, port_net_cb, s);
	for (j = 0; j < s->n_nets;) {
		struct netsubs *n = s->nets[j];

		if (n->mark) {
			j++;
			continue;
		}
		pr_info("network %s: no longer served here; its records are dropped\n", n->name);
		s->nets[j] = s->nets[--s->n_nets];
		net_close(s, n, true);
	}
	source_state_update(s, true, NULL);
	if (s->synced)
		return;
	all = true;
	for (j = 0; j < s->n_nets; j++)
		all = all && s->nets[j]->rec.listed && s->nets[j]->children.listed;
	if (all && !s->need_sync) {
		pr_info("etcd: this host and its %zu networks listed\n", s->n_nets);
		s->synced = true;
		zh_agent_synced(s->a, ZH_KINDS_NETWORKS);
	}
}

/* --- the source ------------------------------------------------------------------- */

static int subscribe_all(struct zh_src_etcd *s)
{
	size_t j;
	int err;

	err = sub_open(s, &s->host);
	if (!err)
		err = sub_open(s, &s->ports);
	for (j = 0; !err && j < s->n_nets; j++)
		err = net_subscribe(s, s->nets[j]);
	return err;
}

static void unsubscribe_all(struct zh_src_etcd *s)
{
	size_t j;

	sub_close(&s->host);
	sub_close(&s->ports);
	for (j = 0; j < s->n_nets; j++) {
		sub_close(&s->nets[j]->rec);
		sub_close(&s->nets[j]->children);
	}
}

int zh_src_etcd_open(struct zh_agent *a, struct zh_src_etcd **out)
{
	const struct zh_agent_config *c = &a->cfg;
	struct zh_etcd_opts opts = {
		.endpoints = c->etcd_endpoints,
		.user = c->etcd_user[0] ? c->etcd_user : NULL,
		.password = c->etcd_password,
		.cacert = c->etcd_cacert[0] ? c->etcd_cacert : NULL,
		.cert = c->etcd_cert[0] ? c->etcd_cert : NULL,
		.key = c->etcd_key[0] ? c->etcd_key : NULL,
	};
	struct zh_src_etcd *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->a = a;
	s->host = (struct sub){.src = s, .role = SUB_HOST, .key = true,
			       .kinds = ZH_KIND(ZH_REC_HOST)};
	snprintf(s->host.prefix, sizeof(s->host.prefix), ZH_KEY_ROOT "hosts/%s", c->host);
	s->ports = (struct sub){.src = s, .role = SUB_PORTS, .kinds = ZH_KINDS_HOST};
	snprintf(s->ports.prefix, sizeof(s->ports.prefix), ZH_KEY_ROOT "hosts/%s/", c->host);
	err = zh_etcd_open(&opts, &s->cli);
	if (err) {
		pr_warn("etcd %s: %s\n", c->etcd_endpoints,
			s->cli ? zh_etcd_error(s->cli) : strerror(-err));
		if (s->cli)
			zh_etcd_close(s->cli);
		free(s);
		return err;
	}
	zh_etcd_set_loop(s->cli, a->loop);
	err = subscribe_all(s);
	if (err) {
		zh_src_etcd_close(s);
		return err;
	}
	*out = s;
	return 0;
}

void zh_src_etcd_close(struct zh_src_etcd *s)
{
	size_t j;

	if (!s)
		return;
	unsubscribe_all(s);
	for (j = 0; j < s->n_nets; j++)
		net_close(s, s->nets[j], false);
	free(s->nets);
	zh_etcd_close(s->cli);
	free(s);
}

int zh_src_etcd_resync(struct zh_src_etcd *s)
{
	pr_info("etcd: listing everything again\n");
	unsubscribe_all(s);
	return subscribe_all(s);
}

struct zh_etcd *zh_src_etcd_client(struct zh_src_etcd *s)
{
	return s->cli;
}
