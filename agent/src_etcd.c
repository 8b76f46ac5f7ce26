// SPDX-License-Identifier: GPL-2.0-only
/* The etcd: source: two list-then-watch subscriptions on the controller
 * shard, networks/ (networks, endpoints, routes) and hosts/<me>/ (this
 * host's ports), so the agent never lists other hosts' ports. Each
 * subscription's listing is a resync of its own record kinds. The client
 * library reconnects, resumes from the last revision and re-lists after a
 * compaction; meanwhile the maps keep the last state (fail static).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"

struct sub {
	struct zh_src_etcd *src;
	char prefix[ZH_NAME_MAX + 64];
	unsigned int kinds;
	struct zh_etcd_sub *sub;
	bool connected;
	bool reported; /* state reported at least once */
};

struct zh_src_etcd {
	struct zh_agent *a;
	struct zh_etcd *cli;
	struct sub subs[2];
	bool connected;
};

static void on_resync_begin(void *ctx)
{
	struct sub *s = ctx;

	pr_debug("etcd %s: listing\n", s->prefix);
	zh_agent_resync_begin(s->src->a, s->kinds);
}

static void on_resync_end(int64_t rev, void *ctx)
{
	struct sub *s = ctx;

	pr_info("etcd %s: listed at revision %lld\n", s->prefix, (long long)rev);
	zh_agent_resync_end(s->src->a, s->kinds, rev);
}

static void on_event(const struct zh_kv *kv, void *ctx)
{
	struct sub *s = ctx;

	/* networks/ holds peering records too: src_peer.c reads those of
	 * the networks this host programs, each on its own.
	 */
	if (kv->value)
		zh_agent_put_kinds(s->src->a, s->kinds, kv->key, kv->key_len, kv->value,
				   kv->value_len, kv->mod_revision);
	else
		zh_agent_del_kinds(s->src->a, s->kinds, kv->key, kv->key_len, kv->mod_revision);
}

/* The source is connected when both subscriptions are. */
static void on_state(bool connected, const char *reason, void *ctx)
{
	struct sub *s = ctx;
	struct zh_src_etcd *src = s->src;
	bool all = true;
	size_t i;

	if (s->connected != connected || !s->reported) {
		if (connected)
			/* the reason names the member this subscription reached
			 * (the client's current endpoint may be another) */
			pr_info("etcd %s: connected: %s\n", s->prefix, reason ? reason : "");
		else
			pr_warn("etcd %s: %s; keeping the last state\n", s->prefix,
				reason ? reason : "disconnected");
	}
	s->connected = connected;
	s->reported = true;
	for (i = 0; i < 2; i++)
		all = all && src->subs[i].connected;
	if (all != src->connected || !connected) {
		src->connected = all;
		zh_agent_source_state(src->a, all, connected ? NULL : reason);
	}
}

static const struct zh_etcd_sub_cbs sub_cbs = {
	.resync_begin = on_resync_begin,
	.resync_end = on_resync_end,
	.event = on_event,
	.state = on_state,
};

static int subscribe_all(struct zh_src_etcd *s)
{
	size_t i;
	int err;

	for (i = 0; i < 2; i++) {
		err = zh_etcd_subscribe(s->cli, s->subs[i].prefix, &sub_cbs, &s->subs[i],
					&s->subs[i].sub);
		if (err) {
			pr_warn("etcd: cannot watch %s: %s\n", s->subs[i].prefix,
				zh_etcd_error(s->cli));
			return err;
		}
	}
	return 0;
}

static void unsubscribe_all(struct zh_src_etcd *s)
{
	size_t i;

	for (i = 0; i < 2; i++) {
		if (s->subs[i].sub)
			zh_etcd_unsubscribe(s->subs[i].sub);
		s->subs[i].sub = NULL;
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
	s->subs[0] = (struct sub){.src = s, .kinds = ZH_KINDS_NETWORKS};
	snprintf(s->subs[0].prefix, sizeof(s->subs[0].prefix), ZH_KEY_ROOT "networks/");
	s->subs[1] = (struct sub){.src = s, .kinds = ZH_KINDS_HOST};
	snprintf(s->subs[1].prefix, sizeof(s->subs[1].prefix), ZH_KEY_ROOT "hosts/%s/", c->host);
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
	if (!s)
		return;
	unsubscribe_all(s);
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
