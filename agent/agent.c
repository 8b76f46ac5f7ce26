// SPDX-License-Identifier: GPL-2.0-only
/* zerohop-agent's core: start-up (attach or adopt the data plane), the
 * event loop, and the path from source records to map writes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"
#include "statsock.h"

uint64_t zh_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* --- records -> desired state ------------------------------------------------- */

static void bad_record(struct zh_agent *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bad_record(struct zh_agent *a, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_warn("skipped record %s\n", msg);
	zh_agent_stats_error(&a->stats, ZH_AERR_bad_record, "%s", msg);
}

static void state_warn(void *ctx, const char *msg)
{
	struct zh_agent *a = ctx;

	pr_warn("%s\n", msg);
	zh_agent_stats_error(&a->stats, ZH_AERR_bad_record, "%s", msg);
}

/* A record was applied; rc > 0: it changed the desired state. */
static void applied(struct zh_agent *a, int rc)
{
	a->stats.events++;
	if (rc > 0 && !a->oldest_event_ns && !zh_state_resyncing(a->state))
		a->oldest_event_ns = zh_now_ns();
}

static void note_revision(struct zh_agent *a, int64_t rev)
{
	if (rev > a->stats.revision)
		a->stats.revision = rev;
}

/* A key without the root, for messages. */
static void short_key(const char *key, size_t klen, char *buf, size_t len)
{
	size_t root = strlen(ZH_KEY_ROOT);

	if (klen >= root && !memcmp(key, ZH_KEY_ROOT, root)) {
		key += root;
		klen -= root;
	}
	snprintf(buf, len, "%.*s", (int)klen, key);
}

/* What came of applying rec; key names it in messages. */
static void put_result(struct zh_agent *a, const struct zh_record *rec, int rc, const char *err,
		       const char *key)
{
	if (rc == -EINVAL) {
		bad_record(a, "%s: %s", key, err);
		zh_state_keep(a->state, rec);
	} else if (rc < 0) {
		pr_warn("%s: %s\n", key, strerror(-rc));
		zh_agent_stats_error(&a->stats, ZH_AERR_source, "%s: %s", key, strerror(-rc));
	} else {
		applied(a, rc);
	}
}

void zh_agent_put(struct zh_agent *a, const char *key, size_t klen, const char *val, size_t vlen,
		  int64_t rev)
{
	zh_agent_put_kinds(a, ~0u, key, klen, val, vlen, rev);
}

void zh_agent_put_kinds(struct zh_agent *a, unsigned int kinds, const char *key, size_t klen,
			const char *val, size_t vlen, int64_t rev)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX] = "", name[512];

	note_revision(a, rev);
	short_key(key, klen, name, sizeof(name));
	if (zh_record_parse(key, klen, val, vlen, &rec, err, sizeof(err))) {
		char kerr[ZH_ERR_MAX];
		bool known = zh_key_parse(key, klen, &rec, kerr, sizeof(kerr)) == 0;

		if (known && !(ZH_KIND(rec.kind) & kinds))
			return; /* not this subscription's to read */
		/* What the key held before stays (the last good value). */
		bad_record(a, "%s", err[0] ? err : name);
		if (known)
			zh_state_keep(a->state, &rec);
		return;
	}
	if (rec.kind == ZH_REC_OTHER || !(ZH_KIND(rec.kind) & kinds))
		return;
	put_result(a, &rec, zh_state_put(a->state, &rec, err, sizeof(err)), err, name);
}

void zh_agent_del(struct zh_agent *a, const char *key, size_t klen, int64_t rev)
{
	zh_agent_del_kinds(a, ~0u, key, klen, rev);
}

void zh_agent_del_kinds(struct zh_agent *a, unsigned int kinds, const char *key, size_t klen,
			int64_t rev)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX] = "", name[512];

	note_revision(a, rev);
	if (zh_key_parse(key, klen, &rec, err, sizeof(err))) {
		short_key(key, klen, name, sizeof(name));
		bad_record(a, "%s", err[0] ? err : name);
		return;
	}
	if (rec.kind == ZH_REC_OTHER || !(ZH_KIND(rec.kind) & kinds))
		return;
	applied(a, zh_state_delete(a->state, &rec));
}

void zh_agent_apply(struct zh_agent *a, const struct zh_record *rec)
{
	char err[ZH_ERR_MAX] = "", *key = NULL, *val = NULL;
	size_t root = strlen(ZH_KEY_ROOT);
	int rc;

	if (rec->kind == ZH_REC_OTHER)
		return;
	rc = zh_state_put(a->state, rec, err, sizeof(err));
	if (rc >= 0) {
		applied(a, rc);
		return;
	}
	/* Name the refused record by its key. */
	if (zh_record_format(rec, &key, &val) == 0 && !strncmp(key, ZH_KEY_ROOT, root))
		put_result(a, rec, rc, err, key + root);
	else
		put_result(a, rec, rc, err, zh_rec_kind_name(rec->kind));
	free(key);
	free(val);
}

void zh_agent_resync_begin(struct zh_agent *a, unsigned int kinds)
{
	zh_state_resync_begin(a->state, kinds);
}

void zh_agent_resync_end(struct zh_agent *a, unsigned int kinds, int64_t rev)
{
	zh_state_resync_end(a->state, kinds);
	a->stats.resyncs++;
	note_revision(a, rev);
	a->unsynced &= ~kinds;
	a->full_needed = true;
}

void zh_agent_net_listing(struct zh_agent *a, const char *net, unsigned int kinds, bool begin,
			  int64_t rev)
{
	if (begin) {
		zh_state_net_resync_begin(a->state, net, kinds);
		return;
	}
	zh_state_net_resync_end(a->state, net, kinds);
	a->stats.resyncs++;
	note_revision(a, rev);
	a->full_needed = true;
}

void zh_agent_net_forget(struct zh_agent *a, const char *net, unsigned int kinds)
{
	bool was_quiet = zh_state_resyncing(a->state);

	zh_state_net_forget(a->state, net, kinds);
	/* A listing it ended (or one still in flight) marked nothing dirty:
	 * the maps follow with a full reconcile.
	 */
	if (was_quiet)
		a->full_needed = true;
	applied(a, 1);
}

void zh_agent_synced(struct zh_agent *a, unsigned int kinds)
{
	a->unsynced &= ~kinds;
	a->full_needed = true;
}

void zh_agent_source_state(struct zh_agent *a, bool ok, const char *reason)
{
	if (!ok)
		zh_agent_stats_error(&a->stats, ZH_AERR_source, "%s", reason ? reason : "unavailable");
	zh_agent_stats_connected(&a->stats, ok);
}

/* --- peering ------------------------------------------------------------------- */

void zh_agent_listing(struct zh_agent *a, unsigned int kind, const char *net, bool begin)
{
	if (kind == ZH_REC_PEERING && begin)
		zh_state_peerings_begin(a->state, net);
	else if (kind == ZH_REC_PEERING)
		zh_state_peerings_end(a->state, net);
	else if (kind == ZH_REC_EFFECTIVE && begin)
		zh_state_effective_begin(a->state, net);
	else if (kind == ZH_REC_EFFECTIVE)
		zh_state_effective_end(a->state, net);
	if (!begin)
		applied(a, 1);
}

void zh_agent_peer_their(struct zh_agent *a, const char *net, const char *peer, const char *grant)
{
	int rc = zh_state_peer_their(a->state, net, peer, grant != NULL, grant ? grant : "");

	if (rc > 0 && grant)
		pr_info("network %s: peer %s grants it export policy \"%s\"\n", net, peer, grant);
	else if (rc > 0)
		pr_info("network %s: peer %s has no peering with %s (one-sided): nothing of %s is "
			"programmed\n", net, peer, net, peer);
	applied(a, rc);
}

void zh_agent_peer_view(struct zh_agent *a, const char *net, const char *peer, const char *policy,
			bool begin)
{
	if (begin) {
		zh_state_peer_view_begin(a->state, net, peer, policy);
		return;
	}
	zh_state_peer_view_end(a->state, net, peer, policy);
	applied(a, 1);
}

void zh_agent_peer_put(struct zh_agent *a, const char *net, const char *peer, const char *key,
		       size_t klen, const char *val, size_t vlen)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX] = "", name[512];
	int rc;

	short_key(key, klen, name, sizeof(name));
	if (zh_record_parse(key, klen, val, vlen, &rec, err, sizeof(err))) {
		bad_record(a, "%s (from peer %s of network %s)", err[0] ? err : name, peer, net);
		if (zh_key_parse(key, klen, &rec, err, sizeof(err)) == 0)
			zh_state_peer_view_keep(a->state, net, peer, &rec);
		return;
	}
	rc = zh_state_peer_view_put(a->state, net, peer, &rec, err, sizeof(err));
	if (rc == -EINVAL) {
		bad_record(a, "%s: %s (from peer %s of network %s)", name, err, peer, net);
		zh_state_peer_view_keep(a->state, net, peer, &rec);
	} else if (rc < 0) {
		pr_warn("%s: %s\n", name, strerror(-rc));
	} else {
		applied(a, rc);
	}
}

void zh_agent_peer_del(struct zh_agent *a, const char *net, const char *peer, const char *key,
		       size_t klen)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX] = "";

	if (zh_key_parse(key, klen, &rec, err, sizeof(err)))
		return;
	applied(a, zh_state_peer_view_delete(a->state, net, peer, &rec));
}

/* --- reconciling ----------------------------------------------------------------- */

/* A peering as the status socket and /metrics show it. */
static const char *peer_state_name(const struct zh_peer_info *p)
{
	if (p->active)
		return "active";
	if (p->clash)
		return "vni-clash";
	switch (p->their) {
	case ZH_THEIR_ABSENT:
		return "one-sided";
	case ZH_THEIR_PRESENT:
		return p->known ? "not-published" : "listing";
	default:
		return "unknown";
	}
}

static int peer_stat_cb(const struct zh_peer_info *p, void *ctx)
{
	struct zh_agent *a = ctx;
	struct zh_agent_stats *st = &a->stats;
	struct zh_agent_peer_stat *ps;
	const char *error = NULL;
	bool connected = true;

	if (st->n_peers == st->cap_peers) {
		uint32_t cap = st->cap_peers ? st->cap_peers * 2 : 16;
		void *v = realloc(st->peers, cap * sizeof(*st->peers));

		if (!v)
			return -ENOMEM;
		st->peers = v;
		st->cap_peers = cap;
	}
	ps = &st->peers[st->n_peers++];
	memset(ps, 0, sizeof(*ps));
	snprintf(ps->network, sizeof(ps->network), "%s", p->network);
	snprintf(ps->peer, sizeof(ps->peer), "%s", p->peer);
	snprintf(ps->state, sizeof(ps->state), "%s", peer_state_name(p));
	snprintf(ps->grant, sizeof(ps->grant), "%s", p->rec->grant);
	snprintf(ps->their_grant, sizeof(ps->their_grant), "%s", p->their_grant);
	snprintf(ps->shard, sizeof(ps->shard), "%s", p->rec->peer_shard);
	if (a->peers && !zh_src_peers_conn(a->peers, p->network, p->peer, &connected, &error))
		connected = false;
	if (error)
		snprintf(ps->error, sizeof(ps->error), "%s", error);
	ps->connected = connected;
	ps->active = p->active;
	ps->vni = p->vni;
	ps->preference = p->rec->preference;
	ps->endpoints = p->active ? p->endpoints : 0;
	ps->routes = p->routes;
	ps->policies = p->policies;
	return 0;
}

static void stats_refresh(struct zh_agent *a)
{
	struct zh_reconcile_counts rc;
	struct zh_state_counts sc;

	zh_state_counts(a->state, &sc);
	zh_reconcile_counts(a->rec, &rc);
	a->stats.ports_desired = sc.ports;
	a->stats.ports_attached = rc.ports_attached;
}

/* The peerings' part of the stats: every tick, and right before a status
 * or metrics request is answered (not after every flush: with many
 * peerings that would cost more than the flush).
 */
static void peer_stats_refresh(struct zh_agent *a)
{
	a->stats.n_peers = 0;
	zh_state_foreach_peer(a->state, peer_stat_cb, a);
}

/* Write what changed: a full mark and sweep after a resync, else the
 * dirty keys. Nothing before every kind has been listed once, nor while a
 * listing is still coming in.
 */
static void reconcile(struct zh_agent *a)
{
	uint64_t t0;

	if (a->unsynced || zh_state_resyncing(a->state) || a->maps.endpoints.fd < 0)
		return;
	/* A network knows all its peers now: entries an earlier full
	 * reconcile kept for peers not known then can be swept.
	 */
	if (zh_state_take_settled(a->state)) {
		struct zh_reconcile_counts rc;

		zh_reconcile_counts(a->rec, &rc);
		if (rc.kept)
			a->full_needed = true;
	}
	if (a->full_needed) {
		a->full_needed = false;
		t0 = zh_now_ns();
		if (zh_reconcile_full(a->rec))
			a->full_needed = true; /* a map could not be read: try again */
		pr_debug("full reconcile took %.1f ms\n", (zh_now_ns() - t0) / 1e6);
		/* a listing parses megabytes of JSON in small pieces: give the
		 * freed heap back so the agent's size follows its state */
		malloc_trim(0);
		a->oldest_event_ns = 0;
		stats_refresh(a);
		return;
	}
	if (!zh_state_has_dirty(a->state)) {
		a->oldest_event_ns = 0; /* the change touched no map */
		return;
	}
	zh_reconcile_flush(a->rec);
	if (a->oldest_event_ns) {
		zh_agent_stats_latency(&a->stats, (zh_now_ns() - a->oldest_event_ns) / 1e3);
		a->oldest_event_ns = 0;
	}
	stats_refresh(a);
}

/* --- start-up ------------------------------------------------------------------------- */

static void attach_opts(const struct zh_agent_config *c, struct zh_attach_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->instance = c->instance;
	o->uplink = c->uplink;
	o->underlay_ip = c->underlay_ip;
	o->xdp = c->xdp;
	o->tc = c->tc;
	o->has_router_mac = c->has_router_mac;
	memcpy(o->router_mac, c->router_mac, 6);
	o->mtu = c->mtu;
	o->encap = c->encap;
	o->sizes = c->sizes;
}

/* Why an attached instance does not match the config ("" if it does). */
static void adopt_mismatch(const struct zh_agent_config *c, const struct zh_config *cfg,
			   char *why, size_t len)
{
	char want[INET_ADDRSTRLEN], have[INET_ADDRSTRLEN];

	why[0] = 0;
	if (cfg->underlay_ip != c->underlay_ip) {
		inet_ntop(AF_INET, &c->underlay_ip, want, sizeof(want));
		inet_ntop(AF_INET, &cfg->underlay_ip, have, sizeof(have));
		snprintf(why, len, "underlay %s, not %s", have, want);
	} else if (c->has_router_mac && memcmp(cfg->router_mac, c->router_mac, 6)) {
		snprintf(why, len, "another router MAC");
	} else if (c->encap && cfg->encap != c->encap) {
		snprintf(why, len, "encap %s", zh_encap_str(cfg->encap));
	} else if (c->mtu && cfg->mtu != c->mtu) {
		snprintf(why, len, "MTU %u", cfg->mtu);
	}
}

/* Attach the data plane, or adopt the instance's attachment as it is: an
 * agent restart must not reload programs or touch the maps.
 */
static int datapath_up(struct zh_agent *a)
{
	const struct zh_agent_config *c = &a->cfg;
	struct zh_attach_result res;
	struct zh_attach_opts o;
	char why[128] = "";
	uint32_t ifindex;
	int err;

	attach_opts(c, &o);
	ifindex = if_nametoindex(c->uplink);
	if (!ifindex) {
		pr_warn("uplink '%s' does not exist in this network namespace\n", c->uplink);
		return -ENODEV;
	}
	if (zh_instance_exists(c->instance)) {
		err = zh_maps_open(c->instance, &a->maps);
		if (err)
			return err;
		if (a->maps.cfg.uplink_ifindex != ifindex) {
			pr_warn("instance '%s' is attached to another uplink (ifindex %u, not %s); "
				"detach it first or use another instance\n",
				c->instance, a->maps.cfg.uplink_ifindex, c->uplink);
			return -EBUSY;
		}
		if ((c->sizes.endpoints && c->sizes.endpoints != a->maps.endpoints.max_entries) ||
		    (c->sizes.routes && c->sizes.routes != a->maps.routes.max_entries) ||
		    (c->sizes.policies && a->maps.policy.fd >= 0 &&
		     c->sizes.policies != a->maps.policy.max_entries))
			pr_warn("instance '%s' keeps its map sizes (%u endpoints, %u routes, %u "
				"policies); detach it to resize\n",
				c->instance, a->maps.endpoints.max_entries,
				a->maps.routes.max_entries,
				a->maps.policy.fd >= 0 ? a->maps.policy.max_entries : 0);
		if (a->maps.policy.fd < 0)
			pr_warn("instance '%s' has no zh_policy map (attached by an older zerohop): "
				"peerings are programmed without export policies until it is "
				"detached and attached again\n", c->instance);
		adopt_mismatch(c, &a->maps.cfg, why, sizeof(why));
		if (!why[0]) {
			pr_info("adopted instance '%s' on %s as it is\n", c->instance, c->uplink);
			return 0;
		}
		pr_info("instance '%s' runs with %s: re-attaching (atomic replace)\n", c->instance,
			why);
		zh_maps_close(&a->maps);
		memset(&o.sizes, 0, sizeof(o.sizes)); /* the maps keep theirs */
	}
	err = zh_attach(&o, &res);
	if (err)
		return err;
	pr_info("%s instance '%s' on %s (xdp %s, tc %s)\n", res.replaced ? "replaced" : "attached",
		c->instance, c->uplink, zh_xdp_mode_str(res.xdp_mode), zh_tc_mode_str(res.tc_mode));
	return zh_maps_open(c->instance, &a->maps);
}

static int signals_open(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN); /* a status client that hangs up */
	fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int timer_open(void)
{
	struct itimerspec its = {
		.it_interval = {.tv_sec = ZH_AGENT_TICK_MS / 1000,
				.tv_nsec = (ZH_AGENT_TICK_MS % 1000) * 1000000L},
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	its.it_value = its.it_interval;
	if (timerfd_settime(fd, 0, &its, NULL)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int zh_agent_init(struct zh_agent *a, const struct zh_agent_config *cfg)
{
	int err;

	memset(a, 0, sizeof(*a));
	a->cfg = *cfg;
	if (cfg->etcd_password) {
		a->cfg.etcd_password = strdup(cfg->etcd_password);
		if (!a->cfg.etcd_password)
			return -ENOMEM;
	}
	a->netlink_fd = a->signal_fd = a->timer_fd = -1;
	a->maps.endpoints.fd = a->maps.routes.fd = a->maps.ports.fd = a->maps.ifaces.fd = -1;
	a->maps.policy.fd = -1;
	/* etcd lists peering records per network (src_peer.c); the file
	 * lists everything at once.
	 */
	a->unsynced = ZH_KINDS_NETWORKS | ZH_KINDS_HOST;
	snprintf(a->stats.instance, sizeof(a->stats.instance), "%s", cfg->instance);
	snprintf(a->stats.host, sizeof(a->stats.host), "%s", cfg->host);
	snprintf(a->stats.source, sizeof(a->stats.source), "%s", cfg->source);
	a->stats.started = time(NULL);
	a->stats.state_since = a->stats.started;

	err = zh_check_privileges();
	if (err)
		return err;
	/* The status socket first: it also tells that another agent already
	 * serves this instance (two agents would fight over the maps).
	 */
	err = zh_statsock_open(cfg->status_socket, &a->statsock);
	if (err == -EADDRINUSE) {
		pr_warn("another zerohop-agent serves instance '%s' (%s is in use)\n",
			cfg->instance, cfg->status_socket);
		return err;
	}
	if (err)
		a->statsock = NULL; /* logged; the agent runs without it */
	if (cfg->metrics[0]) {
		err = zh_httpd_open(cfg->metrics, &a->httpd);
		if (err)
			return err;
	}
	a->signal_fd = signals_open();
	if (a->signal_fd < 0) {
		pr_warn("signalfd: %s\n", strerror(-a->signal_fd));
		return a->signal_fd;
	}
	a->timer_fd = timer_open();
	if (a->timer_fd < 0) {
		pr_warn("timerfd: %s\n", strerror(-a->timer_fd));
		return a->timer_fd;
	}
	/* Listen before looking at interfaces, so none is missed. */
	a->netlink_fd = zh_netlink_open();
	if (a->netlink_fd < 0) {
		pr_warn("netlink: %s\n", strerror(-a->netlink_fd));
		return a->netlink_fd;
	}

	err = datapath_up(a);
	if (err)
		return err;

	a->state = zh_state_new(cfg->host, state_warn, a);
	if (!a->state)
		return -ENOMEM;
	a->rec = zh_reconciler_new(&a->maps, a->state, cfg->instance, &a->stats);
	if (!a->rec)
		return -ENOMEM;

	err = zh_etcd_loop_new(&a->loop);
	if (err) {
		pr_warn("event loop: %s\n", strerror(-err));
		return err;
	}
	if (cfg->source_kind == ZH_SOURCE_ETCD) {
		err = zh_src_etcd_open(a, &a->etcd);
		if (err)
			return err;
		err = zh_src_peers_open(a, zh_src_etcd_client(a->etcd), &a->peers);
		if (err)
			return err;
	} else {
		err = zh_src_file_open(a, cfg->file, &a->file);
		if (err)
			return err;
		/* An unreadable file leaves the maps as they are (fail static). */
		zh_src_file_load(a->file);
	}
	pr_info("running: instance '%s', host %s, source %s\n", cfg->instance, cfg->host,
		cfg->source);
	return 0;
}

/* --- the loop -------------------------------------------------------------------- */

static void on_link(uint32_t ifindex, const char *ifname, bool gone, void *ctx)
{
	struct zh_agent *a = ctx;

	pr_debug("link %s %s (ifindex %u)\n", ifname ? ifname : "?", gone ? "gone" : "changed",
		 ifindex);
	zh_reconcile_link(a->rec, ifindex, ifname);
}

static void on_signal(struct zh_agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			pr_info("%s: stopping; the data plane stays attached\n",
				strsignal(si.ssi_signo));
			a->stop = true;
			break;
		case SIGHUP:
			pr_info("SIGHUP: resync\n");
			if (a->file) {
				zh_src_file_load(a->file);
			} else if (a->etcd) {
				zh_src_etcd_resync(a->etcd);
				zh_src_peers_resync(a->peers);
			}
			break;
		}
	}
}

/* Someone detached the instance under the agent: its maps are no longer
 * the data plane's. Attach it again and write everything.
 */
static void instance_check(struct zh_agent *a)
{
	if (zh_instance_exists(a->cfg.instance))
		return;
	pr_warn("instance '%s' was detached; attaching it again\n", a->cfg.instance);
	zh_maps_close(&a->maps);
	if (datapath_up(a)) {
		zh_agent_stats_error(&a->stats, ZH_AERR_map_update,
				     "instance '%s' was detached and could not be attached again",
				     a->cfg.instance);
		return;
	}
	a->full_needed = true;
}

static void on_tick(struct zh_agent *a)
{
	uint64_t expirations;

	while (read(a->timer_fd, &expirations, sizeof(expirations)) > 0)
		;
	instance_check(a);
	zh_reconcile_tick(a->rec, zh_now_ns() / 1000000);
	if (a->file)
		zh_src_file_tick(a->file);
	stats_refresh(a);
	peer_stats_refresh(a);
}

enum { FD_SIGNAL, FD_TIMER, FD_NETLINK, FD_FILE, FD_STATUS, FD_METRICS, FD_MAX };

int zh_agent_step(struct zh_agent *a, int timeout_ms)
{
	struct pollfd pfd[FD_MAX];
	int fds[FD_MAX], slot[FD_MAX], n, i, err;
	bool ready[FD_MAX] = {false};
	unsigned int used = 0;

	fds[FD_SIGNAL] = a->signal_fd;
	fds[FD_TIMER] = a->timer_fd;
	fds[FD_NETLINK] = a->netlink_fd;
	fds[FD_FILE] = a->file ? zh_src_file_fd(a->file) : -1;
	fds[FD_STATUS] = a->statsock ? zh_statsock_fd(a->statsock) : -1;
	fds[FD_METRICS] = a->httpd ? zh_httpd_fd(a->httpd) : -1;
	for (i = 0; i < FD_MAX; i++) {
		slot[i] = -1;
		if (fds[i] < 0)
			continue;
		slot[i] = used;
		pfd[used].fd = fds[i];
		pfd[used].events = POLLIN;
		pfd[used].revents = 0;
		used++;
	}
	n = zh_etcd_poll(a->loop, pfd, used, timeout_ms);
	if (n < 0) {
		pr_warn("event loop: %s\n", strerror(-n));
		return n;
	}
	for (i = 0; i < FD_MAX; i++)
		ready[i] = slot[i] >= 0 && (pfd[slot[i]].revents & POLLIN);
	if (ready[FD_SIGNAL])
		on_signal(a);
	if (ready[FD_NETLINK]) {
		err = zh_netlink_read(a->netlink_fd, on_link, a);
		if (err == -ENOBUFS) {
			pr_info("netlink: messages lost; checking every port\n");
			zh_reconcile_all_ports(a->rec);
		}
	}
	if (ready[FD_FILE])
		zh_src_file_readable(a->file);
	if (ready[FD_TIMER])
		on_tick(a);
	/* Peering subscriptions follow what the records say; a network
	 * that went away drops its peers, written in the same pass.
	 */
	if (a->etcd)
		zh_src_etcd_sync(a->etcd);
	if (a->peers)
		zh_src_peers_sync(a->peers, zh_now_ns() / 1000000);
	reconcile(a);
	/* Served after the maps are written, so a status read right after a
	 * change sees it.
	 */
	if (ready[FD_STATUS] || ready[FD_METRICS])
		peer_stats_refresh(a);
	if (ready[FD_STATUS])
		zh_statsock_serve(a->statsock, &a->stats);
	if (ready[FD_METRICS])
		zh_httpd_serve(a->httpd, zh_metrics_httpd_render, &a->stats);
	return 0;
}

int zh_agent_run(struct zh_agent *a)
{
	int err;

	/* Anything from start-up (the file's first load) goes out first. */
	reconcile(a);
	while (!a->stop) {
		err = zh_agent_step(a, ZH_AGENT_TICK_MS);
		if (err)
			return err;
	}
	return 0;
}

void zh_agent_fini(struct zh_agent *a)
{
	zh_src_file_close(a->file);
	zh_src_peers_close(a->peers);
	zh_src_etcd_close(a->etcd);
	if (a->loop)
		zh_etcd_loop_free(a->loop);
	zh_reconciler_free(a->rec);
	zh_state_free(a->state);
	zh_maps_close(&a->maps);
	if (a->statsock)
		zh_statsock_close(a->statsock);
	if (a->httpd)
		zh_httpd_close(a->httpd);
	if (a->netlink_fd >= 0)
		close(a->netlink_fd);
	if (a->signal_fd >= 0)
		close(a->signal_fd);
	if (a->timer_fd >= 0)
		close(a->timer_fd);
	zh_agent_config_free(&a->cfg);
	free(a->stats.peers);
	memset(a, 0, sizeof(*a));
	a->netlink_fd = a->signal_fd = a->timer_fd = -1;
}
