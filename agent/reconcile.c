// SPDX-License-Identifier: GPL-2.0-only
/* Desired state (state.c) -> pinned maps and ports (see reconcile.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "log.h"
#include "reconcile.h"

/* Elements written per batch while streaming a full reconcile. */
#define CHUNK 8192
/* Failed writes logged one by one per flush; the rest are summed up. */
#define LOG_DETAIL_MAX 10
#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 30000

/* A port as the instance's maps record it. */
struct actual_port {
	char name[ZH_IFNAMSIZ];
	uint32_t ifindex;
	struct zh_port port;
	bool attached; /* tc_port is on the interface */
};

/* A growing array of fixed-size elements. */
struct vec {
	uint8_t *data;
	uint32_t n, cap, size;
};

struct zh_reconciler {
	struct zh_maps *maps;
	struct zh_state *state;
	struct zh_agent_stats *stats;
	const char *instance;

	struct actual_port *ports;
	uint32_t n_ports, cap_ports;

	/* write buffers */
	struct vec ep_keys, ep_vals, ep_dels;
	struct vec rt_keys, rt_vals, rt_dels;
	struct vec pol_keys, pol_vals, pol_dels;
	/* zh_policy keys seen in the map during a full reconcile */
	struct vec pol_seen;
	/* local port keys seen in zh_endpoints during a full reconcile */
	struct vec local_keys;
	/* ports to remove at the end of a full reconcile */
	struct vec port_dels;

	/* failed writes, marked dirty again at retry_at */
	struct vec retry_eps, retry_routes, retry_ports, retry_policies;
	/* entries the last full reconcile left for peers not known yet, and
	 * (kept_*) each with the value the map held then: when the peer's
	 * state arrives, a flush writes only what differs (struct kept_rec)
	 */
	uint32_t kept;
	struct vec kept_eps, kept_rts, kept_pols;
	uint64_t retry_at, retry_backoff; /* ms, CLOCK_MONOTONIC */

	unsigned int logged; /* detailed failure lines in this pass */
	unsigned int unlogged;
};

static void vec_init(struct vec *v, uint32_t size)
{
	memset(v, 0, sizeof(*v));
	v->size = size;
}

static void vec_free(struct vec *v)
{
	free(v->data);
	vec_init(v, v->size);
}

static int vec_push(struct vec *v, const void *elem)
{
	if (v->n == v->cap) {
		uint32_t cap = v->cap ? v->cap * 2 : 256;
		uint8_t *p = realloc(v->data, (size_t)cap * v->size);

		if (!p)
			return -ENOMEM;
		v->data = p;
		v->cap = cap;
	}
	memcpy(v->data + (size_t)v->n++ * v->size, elem, v->size);
	return 0;
}

static inline void *vec_at(const struct vec *v, uint32_t i)
{
	return v->data + (size_t)i * v->size;
}

/* Drop the contents; give big buffers back. */
static void vec_clear(struct vec *v)
{
	v->n = 0;
	if (v->cap > 4 * CHUNK)
		vec_free(v);
}

/* A kept entry (struct zh_reconciler): key, the map's value, one byte set
 * once a flush has looked at it. Sorted by key after the map's walk.
 */
#define KEPT_SIZE(K, V) (sizeof(K) + sizeof(V) + 1)

static int kept_add(struct vec *v, const void *key, size_t ksize, const void *val)
{
	uint8_t e[KEPT_SIZE(struct zh_ep_key, struct zh_endpoint) +
		  KEPT_SIZE(struct zh_route_key, struct zh_route) +
		  KEPT_SIZE(struct zh_policy_key, struct zh_policy)];

	memcpy(e, key, ksize);
	memcpy(e + ksize, val, v->size - ksize - 1);
	e[v->size - 1] = 0;
	return vec_push(v, e);
}

/* The map held WANT for KEY when the last full reconcile kept it, and no
 * flush has looked at it since: nothing to write. Either way, a flush
 * looks at a kept entry once (later changes are written as usual).
 */
static bool kept_same(struct vec *v, const void *key, size_t ksize, const void *want,
		      int (*cmp)(const void *, const void *))
{
	uint8_t *e = v->n ? bsearch(key, v->data, v->n, v->size, cmp) : NULL;

	if (!e || e[v->size - 1])
		return false;
	e[v->size - 1] = 1;
	return want && !memcmp(e + ksize, want, v->size - ksize - 1);
}

struct zh_reconciler *zh_reconciler_new(struct zh_maps *maps, struct zh_state *state,
					const char *instance, struct zh_agent_stats *stats)
{
	struct zh_reconciler *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->maps = maps;
	r->state = state;
	r->instance = instance;
	r->stats = stats;
	vec_init(&r->ep_keys, sizeof(struct zh_ep_key));
	vec_init(&r->ep_vals, sizeof(struct zh_endpoint));
	vec_init(&r->ep_dels, sizeof(struct zh_ep_key));
	vec_init(&r->rt_keys, sizeof(struct zh_route_key));
	vec_init(&r->rt_vals, sizeof(struct zh_route));
	vec_init(&r->rt_dels, sizeof(struct zh_route_key));
	vec_init(&r->pol_keys, sizeof(struct zh_policy_key));
	vec_init(&r->pol_vals, sizeof(struct zh_policy));
	vec_init(&r->pol_dels, sizeof(struct zh_policy_key));
	vec_init(&r->pol_seen, sizeof(struct zh_policy_key));
	vec_init(&r->retry_policies, sizeof(struct zh_policy_key));
	vec_init(&r->local_keys, sizeof(struct zh_ep_key));
	vec_init(&r->port_dels, ZH_IFNAMSIZ);
	vec_init(&r->retry_eps, sizeof(struct zh_ep_key));
	vec_init(&r->retry_routes, sizeof(struct zh_route_key));
	vec_init(&r->retry_ports, ZH_IFNAMSIZ);
	vec_init(&r->kept_eps, KEPT_SIZE(struct zh_ep_key, struct zh_endpoint));
	vec_init(&r->kept_rts, KEPT_SIZE(struct zh_route_key, struct zh_route));
	vec_init(&r->kept_pols, KEPT_SIZE(struct zh_policy_key, struct zh_policy));
	r->retry_backoff = RETRY_MIN_MS;
	return r;
}

void zh_reconciler_free(struct zh_reconciler *r)
{
	if (!r)
		return;
	free(r->ports);
	vec_free(&r->ep_keys);
	vec_free(&r->ep_vals);
	vec_free(&r->ep_dels);
	vec_free(&r->rt_keys);
	vec_free(&r->rt_vals);
	vec_free(&r->rt_dels);
	vec_free(&r->pol_keys);
	vec_free(&r->pol_vals);
	vec_free(&r->pol_dels);
	vec_free(&r->pol_seen);
	vec_free(&r->retry_policies);
	vec_free(&r->local_keys);
	vec_free(&r->port_dels);
	vec_free(&r->kept_eps);
	vec_free(&r->kept_rts);
	vec_free(&r->kept_pols);
	vec_free(&r->retry_eps);
	vec_free(&r->retry_routes);
	vec_free(&r->retry_ports);
	free(r);
}

/* --- errors ------------------------------------------------------------- */

static void count_error(struct zh_reconciler *r, enum zh_agent_error kind, const char *msg)
{
	if (r->stats)
		zh_agent_stats_error(r->stats, kind, "%s", msg);
	if (r->logged < LOG_DETAIL_MAX) {
		r->logged++;
		pr_warn("%s\n", msg);
	} else {
		r->unlogged++;
	}
}

static void pass_begin(struct zh_reconciler *r)
{
	r->logged = r->unlogged = 0;
}

static void pass_end(struct zh_reconciler *r)
{
	if (r->unlogged)
		pr_warn("... and %u more failed map writes (retrying)\n", r->unlogged);
}

static const char *ip_str(uint32_t ip, char *buf)
{
	return inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

static void write_failed(struct zh_reconciler *r, const char *what, const char *map, int err)
{
	char msg[256];

	if (err == -E2BIG)
		snprintf(msg, sizeof(msg), "%s: map %s is full", what, map);
	else
		snprintf(msg, sizeof(msg), "%s: map %s: %s", what, map, strerror(-err));
	count_error(r, err == -E2BIG ? ZH_AERR_map_full : ZH_AERR_map_update, msg);
}

struct err_ctx {
	struct zh_reconciler *r;
	const struct vec *keys;
	bool del;
};

static void ep_write_err(uint32_t i, int err, void *ctx)
{
	struct err_ctx *c = ctx;
	const struct zh_ep_key *k = vec_at(c->keys, i);
	char what[96], ip[INET_ADDRSTRLEN];

	snprintf(what, sizeof(what), "%s endpoint %s in VNI %u", c->del ? "delete" : "update",
		 ip_str(k->ip, ip), k->vni);
	write_failed(c->r, what, ZH_MAP_ENDPOINTS, err);
	vec_push(&c->r->retry_eps, k);
}

static void route_write_err(uint32_t i, int err, void *ctx)
{
	struct err_ctx *c = ctx;
	const struct zh_route_key *k = vec_at(c->keys, i);
	char what[96], ip[INET_ADDRSTRLEN];

	snprintf(what, sizeof(what), "%s route %s/%u in VNI %u", c->del ? "delete" : "update",
		 ip_str(k->ip, ip), k->prefixlen - 32, k->vni);
	write_failed(c->r, what, ZH_MAP_ROUTES, err);
	vec_push(&c->r->retry_routes, k);
}

static void policy_write_err(uint32_t i, int err, void *ctx)
{
	struct err_ctx *c = ctx;
	const struct zh_policy_key *k = vec_at(c->keys, i);
	char what[128], ip[INET_ADDRSTRLEN];

	snprintf(what, sizeof(what), "%s policy %s/%u of VNI %u for VNI %u",
		 c->del ? "delete" : "update", ip_str(k->addr, ip), k->prefixlen - 64, k->vni,
		 k->peer_vni);
	write_failed(c->r, what, ZH_MAP_POLICY, err);
	vec_push(&c->r->retry_policies, k);
}

/* --- buffered writes ------------------------------------------------------ */

static uint32_t write_eps(struct zh_reconciler *r)
{
	struct err_ctx ec = {.r = r, .keys = &r->ep_keys};
	uint32_t done;

	if (!r->ep_keys.n)
		return 0;
	done = zh_map_update_many(&r->maps->endpoints, r->ep_keys.data, r->ep_vals.data,
				  r->ep_keys.n, ep_write_err, &ec);
	r->ep_keys.n = r->ep_vals.n = 0;
	return done;
}

static uint32_t delete_eps(struct zh_reconciler *r)
{
	struct err_ctx ec = {.r = r, .keys = &r->ep_dels, .del = true};
	uint32_t done;

	if (!r->ep_dels.n)
		return 0;
	done = zh_map_delete_many(&r->maps->endpoints, r->ep_dels.data, r->ep_dels.n,
				  ep_write_err, &ec);
	vec_clear(&r->ep_dels);
	return done;
}

static uint32_t write_routes(struct zh_reconciler *r)
{
	struct err_ctx ec = {.r = r, .keys = &r->rt_keys};
	uint32_t done;

	if (!r->rt_keys.n)
		return 0;
	done = zh_map_update_many(&r->maps->routes, r->rt_keys.data, r->rt_vals.data,
				  r->rt_keys.n, route_write_err, &ec);
	r->rt_keys.n = r->rt_vals.n = 0;
	return done;
}

static uint32_t delete_routes(struct zh_reconciler *r)
{
	struct err_ctx ec = {.r = r, .keys = &r->rt_dels, .del = true};
	uint32_t done;

	if (!r->rt_dels.n)
		return 0;
	done = zh_map_delete_many(&r->maps->routes, r->rt_dels.data, r->rt_dels.n,
				  route_write_err, &ec);
	vec_clear(&r->rt_dels);
	return done;
}

static uint32_t write_policies(struct zh_reconciler *r)
{
	struct err_ctx ec = {.r = r, .keys = &r->pol_keys};
	uint32_t done;

	if (!r->pol_keys.n)
		return 0;
	done = zh_map_update_many(&r->maps->policy, r->pol_keys.data, r->pol_vals.data,
				  r->pol_keys.n, policy_write_err, &ec);
	r->pol_keys.n = r->pol_vals.n = 0;
	return done;
}

static uint32_t delete_policies(struct zh_reconciler *r)
{
	struct err_ctx ec = {.r = r, .keys = &r->pol_dels, .del = true};
	uint32_t done;

	if (!r->pol_dels.n)
		return 0;
	done = zh_map_delete_many(&r->maps->policy, r->pol_dels.data, r->pol_dels.n,
				  policy_write_err, &ec);
	vec_clear(&r->pol_dels);
	return done;
}

static int queue_policy(struct zh_reconciler *r, const struct zh_policy_key *k,
			const struct zh_policy *v)
{
	if (vec_push(&r->pol_keys, k) || vec_push(&r->pol_vals, v))
		return -ENOMEM;
	return 0;
}

static int queue_ep(struct zh_reconciler *r, const struct zh_ep_key *k, const struct zh_endpoint *v)
{
	if (vec_push(&r->ep_keys, k) || vec_push(&r->ep_vals, v))
		return -ENOMEM;
	return 0;
}

static int queue_route(struct zh_reconciler *r, const struct zh_route_key *k,
		       const struct zh_route *v)
{
	if (vec_push(&r->rt_keys, k) || vec_push(&r->rt_vals, v))
		return -ENOMEM;
	return 0;
}

static void count_ops(struct zh_reconciler *r, uint64_t n)
{
	if (r->stats)
		r->stats->map_ops += n;
}

/* --- ports ------------------------------------------------------------------ */

static struct actual_port *actual_by_name(struct zh_reconciler *r, const char *name)
{
	uint32_t i;

	for (i = 0; i < r->n_ports; i++)
		if (!strcmp(r->ports[i].name, name))
			return &r->ports[i];
	return NULL;
}

static struct actual_port *actual_by_ifindex(struct zh_reconciler *r, uint32_t ifindex)
{
	uint32_t i;

	for (i = 0; i < r->n_ports; i++)
		if (r->ports[i].ifindex == ifindex)
			return &r->ports[i];
	return NULL;
}

static void actual_remove(struct zh_reconciler *r, struct actual_port *p)
{
	*p = r->ports[--r->n_ports];
}

static int actual_set(struct zh_reconciler *r, const char *name, uint32_t ifindex,
		      const struct zh_port *port, bool attached)
{
	struct actual_port *p = actual_by_name(r, name);

	if (!p) {
		if (r->n_ports == r->cap_ports) {
			uint32_t cap = r->cap_ports ? r->cap_ports * 2 : 16;
			void *np = realloc(r->ports, cap * sizeof(*r->ports));

			if (!np)
				return -ENOMEM;
			r->ports = np;
			r->cap_ports = cap;
		}
		p = &r->ports[r->n_ports++];
		memset(p, 0, sizeof(*p));
		snprintf(p->name, sizeof(p->name), "%s", name);
	}
	p->ifindex = ifindex;
	p->port = *port;
	p->attached = attached;
	return 0;
}

struct iface_read {
	struct zh_reconciler *r;
	int err;
};

static int iface_cb(const void *key, const void *value, void *ctx)
{
	struct iface_read *c = ctx;
	const struct zh_iface *rec = value;
	uint32_t ifindex = *(const uint32_t *)key;
	struct zh_port port = {0};
	char name[ZH_IFNAMSIZ];

	if (rec->role != ZH_ROLE_PORT)
		return 0;
	memcpy(name, rec->name, sizeof(name));
	name[sizeof(name) - 1] = 0;
	/* A port whose record is missing counts as not attached. */
	if (bpf_map_lookup_elem(c->r->maps->ports.fd, &ifindex, &port))
		memset(&port, 0, sizeof(port));
	c->err = actual_set(c->r, name, ifindex, &port,
			    port.vni && zh_maps_port_prog_id(c->r->maps, ifindex) != 0);
	return c->err;
}

/* What the maps say about the instance's ports, now. */
static int ports_read(struct zh_reconciler *r)
{
	struct iface_read c = {.r = r};
	int err;

	r->n_ports = 0;
	if (r->maps->ifaces.fd < 0 || r->maps->ports.fd < 0)
		return 0;
	err = zh_map_iterate(&r->maps->ifaces, iface_cb, &c);
	if (err)
		pr_warn("Couldn't read the ports of instance '%s': %s\n", r->instance,
			strerror(-err));
	return err;
}

static void port_retry(struct zh_reconciler *r, const char *name)
{
	char key[ZH_IFNAMSIZ] = {0};

	snprintf(key, sizeof(key), "%s", name);
	vec_push(&r->retry_ports, key);
}

static void mark_ep(struct zh_reconciler *r, uint32_t vni, uint32_t ip)
{
	struct zh_ep_key k = {.vni = vni, .ip = ip};

	if (vni)
		zh_state_mark_endpoint(r->state, &k);
}

/* Remove a port from the instance. Its address may now belong to a
 * remote endpoint record: that key is checked again.
 */
static int port_remove(struct zh_reconciler *r, struct actual_port *p, const char *why)
{
	uint32_t vni = p->port.vni, ip = p->port.ip;
	char name[ZH_IFNAMSIZ];
	int err;

	memcpy(name, p->name, sizeof(name));
	err = zh_port_del(r->instance, name);
	if (err && err != -ENOENT) {
		char msg[160];

		snprintf(msg, sizeof(msg), "port %s: couldn't remove it (%s): %s", name, why,
			 strerror(-err));
		count_error(r, ZH_AERR_port_attach, msg);
		port_retry(r, name);
		return err;
	}
	pr_info("port %s removed (%s)\n", name, why);
	actual_remove(r, p);
	mark_ep(r, vni, ip);
	return 0;
}

/* Make one port what the desired state says. defer_del: a removal is
 * only queued (full reconcile: deletes come last).
 */
static int port_sync(struct zh_reconciler *r, const char *name, bool defer_del)
{
	struct zh_port_want want;
	struct actual_port *act = actual_by_name(r, name);
	struct zh_port_opts opts = {0};
	struct zh_port port = {0};
	struct zh_ep_key key;
	struct zh_endpoint ep;
	uint32_t ifindex, old_vni = 0, old_ip = 0;
	bool wanted = zh_state_port(r->state, name, &want) && want.ready;
	char msg[160], ip[INET_ADDRSTRLEN];
	int err;

	if (!wanted) {
		if (!act)
			return 0;
		if (defer_del) {
			char key_name[ZH_IFNAMSIZ] = {0};

			snprintf(key_name, sizeof(key_name), "%s", name);
			return vec_push(&r->port_dels, key_name);
		}
		return port_remove(r, act, "no longer desired");
	}
	ifindex = if_nametoindex(name);
	if (!ifindex) {
		/* The VM is not there (yet): netlink tells when it comes. */
		if (act)
			return port_remove(r, act, "interface gone");
		pr_debug("port %s: waiting for the interface\n", name);
		return 0;
	}
	if (act && act->ifindex == ifindex && act->attached && act->port.vni == want.vni &&
	    act->port.ip == want.ip && !memcmp(act->port.mac, want.mac, 6))
		return 0;
	if (act && act->ifindex != ifindex) {
		/* The interface was re-created: its old records go first. */
		err = port_remove(r, act, "interface re-created");
		if (err)
			return err;
		act = NULL;
	}
	if (act) {
		old_vni = act->port.vni;
		old_ip = act->port.ip;
	}
	/* The port's address may be a remote endpoint now (a VM moving
	 * here): the port takes it over.
	 */
	key.vni = want.vni;
	key.ip = want.ip;
	if (!bpf_map_lookup_elem(r->maps->endpoints.fd, &key, &ep) && !ep.ifindex) {
		r->maps->endpoints.syscalls++;
		bpf_map_delete_elem(r->maps->endpoints.fd, &key);
	}
	opts.vni = want.vni;
	opts.ip = want.ip;
	memcpy(opts.mac, want.mac, 6);
	err = zh_port_add(r->instance, name, &opts);
	if (err) {
		snprintf(msg, sizeof(msg), "port %s (%s in network %s): couldn't attach: %s", name,
			 ip_str(want.ip, ip), want.network, strerror(-err));
		count_error(r, ZH_AERR_port_attach, msg);
		port_retry(r, name);
		/* The remote entry taken away above comes back if still wanted. */
		mark_ep(r, want.vni, want.ip);
		return err;
	}
	pr_info("port %s attached (%s in network %s, VNI %u)\n", name, ip_str(want.ip, ip),
		want.network, want.vni);
	port.vni = want.vni;
	port.ip = want.ip;
	memcpy(port.mac, want.mac, 6);
	err = actual_set(r, name, ifindex, &port, true);
	if (old_vni && (old_vni != want.vni || old_ip != want.ip))
		mark_ep(r, old_vni, old_ip);
	return err;
}

static int port_walk_cb(const struct zh_port_want *p, void *ctx)
{
	port_sync(ctx, p->ifname, true);
	return 0;
}

/* --- full reconcile --------------------------------------------------------- */

static int key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct zh_ep_key));
}

static int route_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct zh_route_key));
}

static int policy_key_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct zh_policy_key));
}

struct full_ctx {
	struct zh_reconciler *r;
	uint64_t written;
	int err;
};

static int ep_map_cb(const void *key, const void *value, void *ctx)
{
	struct full_ctx *c = ctx;
	struct zh_reconciler *r = c->r;
	const struct zh_ep_key *k = key;
	const struct zh_endpoint *have = value;
	struct zh_endpoint want;
	unsigned int w;

	if (have->ifindex) /* a local port's: ports own it */
		return vec_push(&r->local_keys, k);
	w = zh_state_endpoint(r->state, k, &want, true);
	if (!(w & ZH_WANT_REMOTE)) {
		/* Into another VNI: maybe a peer's whose state is not known yet. */
		if (have->dest_vni && have->dest_vni != k->vni &&
		    zh_state_vni_unsettled(r->state, k->vni)) {
			r->kept++;
			return kept_add(&r->kept_eps, k, sizeof(*k), have);
		}
		return vec_push(&r->ep_dels, k);
	}
	if (!memcmp(have, &want, sizeof(want)))
		return 0;
	if (queue_ep(r, k, &want))
		return -ENOMEM;
	if (r->ep_keys.n >= CHUNK)
		c->written += write_eps(r);
	return 0;
}

static int ep_unmarked_cb(const struct zh_ep_key *k, const struct zh_endpoint *v,
			  unsigned int want, void *ctx)
{
	struct full_ctx *c = ctx;
	struct zh_reconciler *r = c->r;

	/* A local port holds the key: it stays; if the port goes, the key
	 * is marked again then.
	 */
	if (bsearch(k, r->local_keys.data, r->local_keys.n, sizeof(*k), key_cmp))
		return 0;
	if (queue_ep(r, k, v))
		return -ENOMEM;
	if (r->ep_keys.n >= CHUNK)
		c->written += write_eps(r);
	return 0;
}

static int route_map_cb(const void *key, const void *value, void *ctx)
{
	struct full_ctx *c = ctx;
	struct zh_reconciler *r = c->r;
	const struct zh_route_key *k = key;
	struct zh_route want;

	if (!zh_state_route(r->state, k, &want, true)) {
		const struct zh_route *have = value;

		if (have->dest_vni && have->dest_vni != k->vni &&
		    zh_state_vni_unsettled(r->state, k->vni)) {
			r->kept++;
			return kept_add(&r->kept_rts, k, sizeof(*k), have);
		}
		return vec_push(&r->rt_dels, k);
	}
	if (!memcmp(value, &want, sizeof(want)))
		return 0;
	if (queue_route(r, k, &want))
		return -ENOMEM;
	if (r->rt_keys.n >= CHUNK)
		c->written += write_routes(r);
	return 0;
}

static int route_unmarked_cb(const struct zh_route_key *k, const struct zh_route *v, void *ctx)
{
	struct full_ctx *c = ctx;
	struct zh_reconciler *r = c->r;

	if (queue_route(r, k, v))
		return -ENOMEM;
	if (r->rt_keys.n >= CHUNK)
		c->written += write_routes(r);
	return 0;
}

static int policy_map_cb(const void *key, const void *value, void *ctx)
{
	struct full_ctx *c = ctx;
	struct zh_reconciler *r = c->r;
	const struct zh_policy_key *k = key;
	struct zh_policy want;

	if (vec_push(&r->pol_seen, k))
		return -ENOMEM;
	if (!zh_state_policy(r->state, k, &want)) {
		if (zh_state_vni_unsettled(r->state, k->vni) ||
		    zh_state_vni_unsettled(r->state, k->peer_vni)) {
			r->kept++;
			return kept_add(&r->kept_pols, k, sizeof(*k), value);
		}
		return vec_push(&r->pol_dels, k);
	}
	if (!memcmp(value, &want, sizeof(want)))
		return 0;
	return queue_policy(r, k, &want);
}


static int policy_unmarked_cb(const struct zh_policy_key *k, void *ctx)
{
	struct full_ctx *c = ctx;
	struct zh_reconciler *r = c->r;
	struct zh_policy want;

	if (bsearch(k, r->pol_seen.data, r->pol_seen.n, sizeof(*k), policy_key_cmp) ||
	    !zh_state_policy(r->state, k, &want))
		return 0;
	/* A key both networks of a peering on this host want comes twice:
	 * written twice, with the same value.
	 */
	return queue_policy(r, k, &want);
}

static void reset_buffers(struct zh_reconciler *r)
{
	r->ep_keys.n = r->ep_vals.n = r->rt_keys.n = r->rt_vals.n = 0;
	r->pol_keys.n = r->pol_vals.n = 0;
	vec_clear(&r->ep_dels);
	vec_clear(&r->rt_dels);
	vec_clear(&r->pol_dels);
	vec_clear(&r->pol_seen);
	vec_clear(&r->local_keys);
	vec_clear(&r->port_dels);
}

int zh_reconcile_full(struct zh_reconciler *r)
{
	struct full_ctx c = {.r = r};
	uint32_t i;
	int err;

	pass_begin(r);
	reset_buffers(r);
	/* Everything is looked at now; what this pass marks is for the next. */
	zh_state_dirty_clear(r->state);
	vec_clear(&r->retry_eps);
	vec_clear(&r->retry_routes);
	vec_clear(&r->retry_ports);
	vec_clear(&r->retry_policies);
	r->kept = 0;
	vec_clear(&r->kept_eps);
	vec_clear(&r->kept_rts);
	vec_clear(&r->kept_pols);

	/* 1. ports that should be there: added or updated */
	if (r->instance) {
		err = ports_read(r);
		if (err)
			goto out;
		zh_state_foreach_port(r->state, port_walk_cb, r);
		for (i = 0; i < r->n_ports; i++) {
			struct zh_port_want w;

			if (!zh_state_port(r->state, r->ports[i].name, &w) || !w.ready)
				vec_push(&r->port_dels, r->ports[i].name);
		}
	}

	/* 2. endpoints: the maps' entries first (updates stream out, stale
	 * keys are only noted), then desired entries the map lacks.
	 */
	err = zh_map_iterate(&r->maps->endpoints, ep_map_cb, &c);
	if (err) {
		pr_warn("Couldn't read map %s: %s\n", ZH_MAP_ENDPOINTS, strerror(-err));
		zh_state_endpoints_unmarked(r->state, NULL, NULL); /* clears marks */
		goto out;
	}
	qsort(r->local_keys.data, r->local_keys.n, sizeof(struct zh_ep_key), key_cmp);
	qsort(r->kept_eps.data, r->kept_eps.n, r->kept_eps.size, key_cmp);
	err = zh_state_endpoints_unmarked(r->state, ep_unmarked_cb, &c);
	if (err)
		goto out;
	c.written += write_eps(r);

	/* 3. routes the same way */
	if (r->maps->routes.fd >= 0) {
		err = zh_map_iterate(&r->maps->routes, route_map_cb, &c);
		if (err) {
			pr_warn("Couldn't read map %s: %s\n", ZH_MAP_ROUTES, strerror(-err));
			zh_state_routes_unmarked(r->state, NULL, NULL);
			goto out;
		}
		qsort(r->kept_rts.data, r->kept_rts.n, r->kept_rts.size, route_key_cmp);
		err = zh_state_routes_unmarked(r->state, route_unmarked_cb, &c);
		if (err)
			goto out;
		c.written += write_routes(r);
	}

	/* 3b. export policies of peerings */
	if (r->maps->policy.fd >= 0) {
		err = zh_map_iterate(&r->maps->policy, policy_map_cb, &c);
		if (err) {
			pr_warn("Couldn't read map %s: %s\n", ZH_MAP_POLICY, strerror(-err));
			goto out;
		}
		qsort(r->pol_seen.data, r->pol_seen.n, sizeof(struct zh_policy_key),
		      policy_key_cmp);
		qsort(r->kept_pols.data, r->kept_pols.n, r->kept_pols.size, policy_key_cmp);
		err = zh_state_foreach_policy(r->state, policy_unmarked_cb, &c);
		if (err)
			goto out;
		c.written += write_policies(r);
	}

	/* 4. only now, with the full state in: stale entries and ports */
	c.written += delete_eps(r);
	c.written += delete_routes(r);
	c.written += delete_policies(r);
	for (i = 0; i < r->port_dels.n; i++) {
		struct actual_port *p = actual_by_name(r, vec_at(&r->port_dels, i));

		if (p)
			port_remove(r, p, "no longer desired");
	}
	if (r->kept)
		pr_info("full reconcile: %llu map writes; %u entries into other VNIs kept until "
			"every peer is known\n", (unsigned long long)c.written, r->kept);
	else
		pr_info("full reconcile: %llu map writes\n", (unsigned long long)c.written);
out:
	count_ops(r, c.written);
	if (r->stats)
		r->stats->reconciles++;
	reset_buffers(r);
	pass_end(r);
	return err;
}

/* --- incremental flush ----------------------------------------------------- */

int zh_reconcile_flush(struct zh_reconciler *r)
{
	struct zh_dirty d;
	struct zh_endpoint ep;
	struct zh_route rt;
	struct zh_policy pol;
	uint64_t written = 0;
	uint32_t i, n_ports;
	char (*names)[ZH_IFNAMSIZ] = NULL;

	if (!zh_state_has_dirty(r->state))
		return 0;
	pass_begin(r);
	reset_buffers(r);

	/* Ports first: a port that goes frees its address for a remote
	 * endpoint, one that comes takes it over. Port syncs mark keys, so
	 * work on a copy of the names.
	 */
	zh_state_dirty(r->state, &d);
	n_ports = d.n_ports;
	if (n_ports && r->instance) {
		names = malloc((size_t)n_ports * ZH_IFNAMSIZ);
		if (names) {
			memcpy(names, d.ports, (size_t)n_ports * ZH_IFNAMSIZ);
			for (i = 0; i < n_ports; i++)
				port_sync(r, names[i], false);
			free(names);
		}
	}

	/* The ports' own addresses, for a quick "does a port hold it". */
	vec_clear(&r->local_keys);
	for (i = 0; i < r->n_ports; i++) {
		struct zh_ep_key k = {.vni = r->ports[i].port.vni, .ip = r->ports[i].port.ip};

		vec_push(&r->local_keys, &k);
	}
	qsort(r->local_keys.data, r->local_keys.n, sizeof(struct zh_ep_key), key_cmp);

	zh_state_dirty(r->state, &d);
	for (i = 0; i < d.n_eps; i++) {
		const struct zh_ep_key *k = &d.eps[i];
		unsigned int want = zh_state_endpoint(r->state, k, &ep, false);

		if (bsearch(k, r->local_keys.data, r->local_keys.n, sizeof(*k), key_cmp))
			continue; /* a port holds it */
		if (!(want & ZH_WANT_REMOTE)) {
			kept_same(&r->kept_eps, k, sizeof(*k), NULL, key_cmp);
			vec_push(&r->ep_dels, k);
			continue;
		}
		if (kept_same(&r->kept_eps, k, sizeof(*k), &ep, key_cmp))
			continue; /* the map has it since before a restart */
		queue_ep(r, k, &ep);
		if (r->ep_keys.n >= CHUNK)
			written += write_eps(r);
	}
	for (i = 0; i < d.n_routes; i++) {
		const struct zh_route_key *k = &d.routes[i];
		bool on = zh_state_route(r->state, k, &rt, false);

		if (kept_same(&r->kept_rts, k, sizeof(*k), on ? &rt : NULL, route_key_cmp))
			continue;
		if (on)
			queue_route(r, k, &rt);
		else
			vec_push(&r->rt_dels, k);
	}
	for (i = 0; r->maps->policy.fd >= 0 && i < d.n_policies; i++) {
		const struct zh_policy_key *k = &d.policies[i];
		bool on = zh_state_policy(r->state, k, &pol);

		if (kept_same(&r->kept_pols, k, sizeof(*k), on ? &pol : NULL, policy_key_cmp))
			continue;
		if (on)
			queue_policy(r, k, &pol);
		else
			vec_push(&r->pol_dels, k);
	}
	zh_state_dirty_clear(r->state);

	written += write_eps(r);
	written += write_routes(r);
	written += write_policies(r);
	written += delete_eps(r);
	written += delete_routes(r);
	written += delete_policies(r);
	count_ops(r, written);
	if (r->stats)
		r->stats->reconciles++;
	reset_buffers(r);
	pass_end(r);
	return (int)written;
}

/* --- retries, links ----------------------------------------------------------- */

void zh_reconcile_tick(struct zh_reconciler *r, uint64_t now_ms)
{
	uint32_t i;
	bool any = r->retry_eps.n || r->retry_routes.n || r->retry_ports.n || r->retry_policies.n;

	if (!any) {
		r->retry_backoff = RETRY_MIN_MS;
		r->retry_at = 0;
		return;
	}
	if (!r->retry_at) {
		r->retry_at = now_ms + r->retry_backoff;
		return;
	}
	if (now_ms < r->retry_at)
		return;
	for (i = 0; i < r->retry_eps.n; i++)
		zh_state_mark_endpoint(r->state, vec_at(&r->retry_eps, i));
	for (i = 0; i < r->retry_routes.n; i++)
		zh_state_mark_route(r->state, vec_at(&r->retry_routes, i));
	for (i = 0; i < r->retry_ports.n; i++)
		zh_state_mark_port(r->state, vec_at(&r->retry_ports, i));
	for (i = 0; i < r->retry_policies.n; i++)
		zh_state_mark_policy(r->state, vec_at(&r->retry_policies, i));
	vec_clear(&r->retry_eps);
	vec_clear(&r->retry_routes);
	vec_clear(&r->retry_ports);
	vec_clear(&r->retry_policies);
	/* Failing again backs off further; a clean pass resets it. */
	r->retry_backoff = r->retry_backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
								: r->retry_backoff * 2;
	r->retry_at = 0;
}

void zh_reconcile_link(struct zh_reconciler *r, uint32_t ifindex, const char *ifname)
{
	struct zh_port_want w;
	struct actual_port *p;

	if (!r->instance)
		return;
	if (ifname && (zh_state_port(r->state, ifname, &w) || actual_by_name(r, ifname)))
		zh_state_mark_port(r->state, ifname);
	p = actual_by_ifindex(r, ifindex);
	if (p)
		zh_state_mark_port(r->state, p->name);
}

static int mark_port_cb(const struct zh_port_want *p, void *ctx)
{
	struct zh_reconciler *r = ctx;

	return zh_state_mark_port(r->state, p->ifname);
}

void zh_reconcile_all_ports(struct zh_reconciler *r)
{
	uint32_t i;

	if (!r->instance)
		return;
	for (i = 0; i < r->n_ports; i++)
		zh_state_mark_port(r->state, r->ports[i].name);
	zh_state_foreach_port(r->state, mark_port_cb, r);
}

void zh_reconcile_counts(const struct zh_reconciler *r, struct zh_reconcile_counts *c)
{
	uint32_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < r->n_ports; i++)
		c->ports_attached += r->ports[i].attached;
	c->batches = r->maps->endpoints.syscalls + r->maps->routes.syscalls +
		     r->maps->policy.syscalls;
	c->retries_pending = r->retry_eps.n + r->retry_routes.n + r->retry_ports.n +
			     r->retry_policies.n;
	c->kept = r->kept;
}
