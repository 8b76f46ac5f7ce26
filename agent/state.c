// SPDX-License-Identifier: GPL-2.0-only
/* The agent's desired state (see state.h): compact record tables with
 * open-addressing indexes, one list of endpoints and routes per network
 * (so activating a network touches only its own entries), and dirty-key
 * sets that reconcile.c drains once per loop iteration.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_int.h"

void st_warnf(struct zh_state *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!s->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->warn(s->warn_ctx, msg);
}

struct zh_state *zh_state_new(const char *host, zh_state_warn_fn warn, void *ctx)
{
	struct zh_state *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	snprintf(s->host, sizeof(s->host), "%s", host);
	s->warn = warn;
	s->warn_ctx = ctx;
	tab_init(&s->nets, sizeof(struct net_rec), ZH_NAME_MAX + 1);
	tab_init(&s->eps, sizeof(struct ep_rec), 8);
	tab_init(&s->routes, sizeof(struct route_rec), 12);
	tab_init(&s->ports, sizeof(struct port_rec), ZH_IFNAMSIZ);
	tab_init(&s->portkeys, sizeof(struct portkey_rec), 8);
	tab_init(&s->vnis, sizeof(struct vni_rec), 4);
	tab_init(&s->dirty_eps, sizeof(struct zh_ep_key), sizeof(struct zh_ep_key));
	tab_init(&s->dirty_routes, sizeof(struct zh_route_key), sizeof(struct zh_route_key));
	tab_init(&s->dirty_ports, sizeof(struct ifname_key), sizeof(struct ifname_key));
	tab_init(&s->dirty_policies, sizeof(struct zh_policy_key), sizeof(struct zh_policy_key));
	st_peers_init(s);
	return s;
}

void zh_state_free(struct zh_state *s)
{
	uint32_t id;

	if (!s)
		return;
	st_peers_free(s);
	tab_foreach(&s->nets, id) free(net_at(s, id)->cidrs);
	tab_free(&s->nets);
	tab_free(&s->eps);
	tab_free(&s->routes);
	tab_free(&s->ports);
	tab_free(&s->portkeys);
	tab_free(&s->vnis);
	tab_free(&s->dirty_eps);
	tab_free(&s->dirty_routes);
	tab_free(&s->dirty_ports);
	tab_free(&s->dirty_policies);
	free(s);
}

static inline struct ep_rec *ep_at(struct zh_state *s, uint32_t id)
{
	return tab_rec(&s->eps, id);
}

static inline struct route_rec *route_at(struct zh_state *s, uint32_t id)
{
	return tab_rec(&s->routes, id);
}

static inline struct port_rec *port_at(struct zh_state *s, uint32_t id)
{
	return tab_rec(&s->ports, id);
}

uint32_t st_net_find(struct zh_state *s, const char *name)
{
	char key[ZH_NAME_MAX + 1];

	st_name_key(key, name);
	return tab_find(&s->nets, key);
}

uint32_t st_net_get(struct zh_state *s, const char *name)
{
	char key[ZH_NAME_MAX + 1];
	bool created;
	uint32_t id;

	st_name_key(key, name);
	id = tab_insert(&s->nets, key, &created);
	if (id != NONE && created) {
		net_at(s, id)->ep_head = NONE;
		net_at(s, id)->route_head = NONE;
	}
	return id;
}

/* --- dirty marking ------------------------------------------------------- */

static int dirty_add(struct tab *t, const void *key)
{
	bool created;

	return tab_insert(t, key, &created) == NONE ? -ENOMEM : 0;
}

int zh_state_mark_endpoint(struct zh_state *s, const struct zh_ep_key *key)
{
	struct zh_ep_key k = {.vni = key->vni, .ip = key->ip};

	return dirty_add(&s->dirty_eps, &k);
}

int zh_state_mark_route(struct zh_state *s, const struct zh_route_key *key)
{
	struct zh_route_key k;

	st_route_key(&k, key->vni, key->ip, key->prefixlen - 32);
	return dirty_add(&s->dirty_routes, &k);
}

int zh_state_mark_port(struct zh_state *s, const char *ifname)
{
	struct ifname_key k;

	memset(&k, 0, sizeof(k));
	snprintf(k.name, sizeof(k.name), "%s", ifname);
	return dirty_add(&s->dirty_ports, &k);
}

int zh_state_mark_policy(struct zh_state *s, const struct zh_policy_key *key)
{
	struct zh_policy_key k = *key;

	return dirty_add(&s->dirty_policies, &k);
}

void st_dirty_ep(struct zh_state *s, uint32_t net, uint32_t ip)
{
	struct zh_ep_key k = {.vni = net_at(s, net)->vni, .ip = ip};

	if (!st_quiet(s) && st_programmed(s, net))
		zh_state_mark_endpoint(s, &k);
}

void st_dirty_route(struct zh_state *s, uint32_t net, uint32_t prefix, uint32_t len)
{
	struct zh_route_key k;

	if (st_quiet(s) || !st_programmed(s, net))
		return;
	st_route_key(&k, net_at(s, net)->vni, prefix, len);
	dirty_add(&s->dirty_routes, &k);
}

/* Policy keys are marked whatever the networks' state: the flush asks
 * what is wanted.
 */
void st_dirty_policy(struct zh_state *s, uint32_t vni, uint32_t peer_vni,
		     const struct zh_cidr *prefix)
{
	struct zh_policy_key k;

	if (st_quiet(s) || !vni || !peer_vni || vni == peer_vni)
		return;
	memset(&k, 0, sizeof(k));
	k.prefixlen = 64 + prefix->len;
	k.vni = vni;
	k.peer_vni = peer_vni;
	k.addr = prefix->addr;
	dirty_add(&s->dirty_policies, &k);
}

static void dirty_route(struct zh_state *s, const struct route_rec *r)
{
	st_dirty_route(s, r->net, r->prefix, r->len);
}

static void dirty_port(struct zh_state *s, const char *ifname)
{
	if (!st_quiet(s))
		zh_state_mark_port(s, ifname);
}

/* Everything a network programs, under its current VNI. */
static void net_dirty_all(struct zh_state *s, uint32_t net)
{
	uint32_t id;

	if (st_quiet(s))
		return;
	for (id = net_at(s, net)->ep_head; id != NONE; id = ep_at(s, id)->next)
		st_dirty_ep(s, net, ep_at(s, id)->ip);
	for (id = net_at(s, net)->route_head; id != NONE; id = route_at(s, id)->next)
		dirty_route(s, route_at(s, id));
	/* Ports need the VNI; their own addresses are in the list above
	 * when a record names them too.
	 */
	tab_foreach(&s->ports, id)
	{
		if (port_at(s, id)->net == net)
			dirty_port(s, port_at(s, id)->ifname);
	}
	st_peers_dirty_net(s, net);
}

/* --- network activation ---------------------------------------------------- */

static void net_try_program(struct zh_state *s, uint32_t net)
{
	struct net_rec *n = net_at(s, net);
	struct vni_rec *v;
	bool created;
	uint32_t id;

	id = tab_insert(&s->vnis, &n->vni, &created);
	if (id == NONE)
		return;
	v = tab_rec(&s->vnis, id);
	if (!created) {
		if (v->net != net && !(n->flags & F_CLASH)) {
			st_warnf(s, "networks/%s: VNI %u is already used by network %s; not programmed",
			      n->name, n->vni, net_at(s, v->net)->name);
			n->flags |= F_CLASH;
		}
		return;
	}
	v->net = net;
	n->flags |= F_PROGRAMMED;
	n->flags &= ~F_CLASH;
	s->peers_gen++;
	net_dirty_all(s, net);
}

static bool net_wants_program(struct zh_state *s, uint32_t net)
{
	struct net_rec *n = net_at(s, net);

	return (n->flags & F_HAS_REC) && n->n_ports > 0;
}

static void net_unprogram(struct zh_state *s, uint32_t net)
{
	struct net_rec *n = net_at(s, net);
	uint32_t vni = n->vni, id;

	if (!(n->flags & F_PROGRAMMED))
		return;
	net_dirty_all(s, net);
	n->flags &= ~F_PROGRAMMED;
	s->peers_gen++;
	id = tab_find(&s->vnis, &vni);
	if (id != NONE)
		tab_remove(&s->vnis, id);
	/* A network that waited for this VNI gets it now. */
	tab_foreach(&s->nets, id)
	{
		if (id != net && net_at(s, id)->vni == vni && !st_programmed(s, id) &&
		    net_wants_program(s, id)) {
			net_try_program(s, id);
			break;
		}
	}
}

static void net_update(struct zh_state *s, uint32_t net)
{
	bool want = net_wants_program(s, net);

	if (st_programmed(s, net) && !want)
		net_unprogram(s, net);
	else if (!st_programmed(s, net) && want)
		net_try_program(s, net);
}

/* Forget a network nothing refers to any more. */
void st_net_gc(struct zh_state *s, uint32_t net)
{
	struct net_rec *n = net_at(s, net);

	if (!(n->flags & F_HAS_REC) && !n->n_ports && n->ep_head == NONE &&
	    n->route_head == NONE && !n->refs && !n->listing)
		tab_remove(&s->nets, net);
}

static bool cidrs_same(const struct net_rec *n, const struct zh_rec_network *r)
{
	return n->n_cidrs == r->n_cidrs &&
	       (!n->n_cidrs || !memcmp(n->cidrs, r->cidrs, r->n_cidrs * sizeof(r->cidrs[0])));
}

static int network_put(struct zh_state *s, const struct zh_record *rec)
{
	uint32_t net = st_net_get(s, rec->network);
	const struct zh_rec_network *r = &rec->net;
	struct zh_cidr *cidrs = NULL;
	struct net_rec *n;
	bool same_vni;

	if (net == NONE)
		return -ENOMEM;
	n = net_at(s, net);
	n->flags &= ~F_STALE;
	same_vni = (n->flags & F_HAS_REC) && n->vni == r->vni;
	if (same_vni && cidrs_same(n, r))
		return 0;
	if (!cidrs_same(n, r) && r->n_cidrs) {
		/* Kept for export policies that name no prefixes. */
		cidrs = malloc(r->n_cidrs * sizeof(*cidrs));
		if (!cidrs)
			return -ENOMEM;
		memcpy(cidrs, r->cidrs, r->n_cidrs * sizeof(*cidrs));
	}
	st_peers_mark_policies(s, net);
	if (!same_vni)
		net_unprogram(s, net);
	n = net_at(s, net);
	if (!cidrs_same(n, r)) {
		free(n->cidrs);
		n->cidrs = cidrs;
		n->n_cidrs = r->n_cidrs;
	}
	n->vni = r->vni;
	n->flags |= F_HAS_REC;
	n->flags &= ~F_CLASH;
	net_update(s, net);
	st_peers_net_changed(s, net);
	return 1;
}

static int network_delete(struct zh_state *s, uint32_t net)
{
	struct net_rec *n = net_at(s, net);

	if (!(n->flags & F_HAS_REC))
		return 0;
	st_peers_mark_policies(s, net);
	net_unprogram(s, net);
	n = net_at(s, net);
	n->flags &= ~(F_HAS_REC | F_STALE | F_CLASH);
	free(n->cidrs);
	n->cidrs = NULL;
	n->n_cidrs = 0;
	st_peers_net_changed(s, net);
	st_net_gc(s, net);
	return 1;
}

/* --- endpoints ----------------------------------------------------------- */

static void ep_unlink(struct zh_state *s, uint32_t id)
{
	struct ep_rec *e = ep_at(s, id);

	if (e->prev != NONE)
		ep_at(s, e->prev)->next = e->next;
	else
		net_at(s, e->net)->ep_head = e->next;
	if (e->next != NONE)
		ep_at(s, e->next)->prev = e->prev;
}

static int endpoint_remove(struct zh_state *s, uint32_t id)
{
	struct ep_rec *e = ep_at(s, id);
	uint32_t net = e->net;

	st_dirty_ep(s, net, e->ip);
	ep_unlink(s, id);
	tab_remove(&s->eps, id);
	st_net_gc(s, net);
	return 1;
}

uint32_t st_ep_find(struct zh_state *s, uint32_t net, uint32_t ip)
{
	struct ep_rec key = {.net = net, .ip = ip};

	return tab_find(&s->eps, &key);
}

static int endpoint_delete(struct zh_state *s, const char *network, uint32_t ip)
{
	uint32_t net = st_net_find(s, network), id;

	if (net == NONE)
		return 0;
	id = st_ep_find(s, net, ip);
	return id == NONE ? 0 : endpoint_remove(s, id);
}

static int endpoint_put(struct zh_state *s, const struct zh_record *rec, char *err, size_t len)
{
	const struct zh_rec_endpoint *r = &rec->ep;
	struct ep_rec key = {.ip = r->ip}, *e;
	bool created;
	uint32_t id;

	/* Endpoints on this host come from its ports. */
	if (!strcmp(r->host, s->host))
		return endpoint_delete(s, rec->network, r->ip);
	if (!r->host_ip) {
		snprintf(err, len, "host_ip: no underlay address for host \"%s\"", r->host);
		return -EINVAL;
	}
	key.net = st_net_get(s, rec->network);
	if (key.net == NONE)
		return -ENOMEM;
	id = tab_insert(&s->eps, &key, &created);
	if (id == NONE) {
		st_net_gc(s, key.net);
		return -ENOMEM;
	}
	e = ep_at(s, id);
	e->flags &= ~F_STALE;
	if (created) {
		struct net_rec *n = net_at(s, key.net);

		e->prev = NONE;
		e->next = n->ep_head;
		if (n->ep_head != NONE)
			ep_at(s, n->ep_head)->prev = id;
		n->ep_head = id;
	} else if (e->host_ip == r->host_ip && !memcmp(e->mac, r->mac, 6) &&
		   e->encap == r->encap) {
		return 0;
	}
	e->host_ip = r->host_ip;
	memcpy(e->mac, r->mac, 6);
	e->encap = r->encap;
	st_dirty_ep(s, key.net, r->ip);
	return 1;
}

/* --- routes ------------------------------------------------------------ */

static void route_unlink(struct zh_state *s, uint32_t id)
{
	struct route_rec *r = route_at(s, id);

	if (r->prev != NONE)
		route_at(s, r->prev)->next = r->next;
	else
		net_at(s, r->net)->route_head = r->next;
	if (r->next != NONE)
		route_at(s, r->next)->prev = r->prev;
}

static int route_remove(struct zh_state *s, uint32_t id)
{
	uint32_t net = route_at(s, id)->net;

	dirty_route(s, route_at(s, id));
	route_unlink(s, id);
	tab_remove(&s->routes, id);
	st_net_gc(s, net);
	return 1;
}

uint32_t st_route_find(struct zh_state *s, uint32_t net, uint32_t prefix, uint32_t len)
{
	struct route_rec key = {.net = net, .prefix = prefix, .len = len};

	return tab_find(&s->routes, &key);
}

static int route_delete(struct zh_state *s, const struct zh_record *key)
{
	uint32_t net = st_net_find(s, key->network), id;

	if (net == NONE)
		return 0;
	id = st_route_find(s, net, key->route.prefix.addr, key->route.prefix.len);
	return id == NONE ? 0 : route_remove(s, id);
}

static int route_put(struct zh_state *s, const struct zh_record *rec, char *err, size_t len)
{
	const struct zh_rec_route *r = &rec->route;
	struct route_rec key = {.prefix = r->prefix.addr, .len = r->prefix.len}, *rt;
	uint32_t host_ip = r->drop ? 0 : r->host_ip;
	bool created;
	uint32_t id;

	if (!r->drop && !r->host_ip) {
		snprintf(err, len, "host_ip: no underlay address for host \"%s\"", r->host);
		return -EINVAL;
	}
	/* A route to this very host would be a tunnel to itself: v1 has no
	 * local next hop for a prefix, so it is not programmed here. */
	if (!r->drop && !strcmp(r->host, s->host))
		return route_delete(s, rec);
	key.net = st_net_get(s, rec->network);
	if (key.net == NONE)
		return -ENOMEM;
	id = tab_insert(&s->routes, &key, &created);
	if (id == NONE) {
		st_net_gc(s, key.net);
		return -ENOMEM;
	}
	rt = route_at(s, id);
	rt->flags &= ~F_STALE;
	if (created) {
		struct net_rec *n = net_at(s, key.net);

		rt->prev = NONE;
		rt->next = n->route_head;
		if (n->route_head != NONE)
			route_at(s, n->route_head)->prev = id;
		n->route_head = id;
	} else if (rt->drop == r->drop && rt->host_ip == host_ip && rt->encap == r->encap) {
		return 0;
	}
	rt->drop = r->drop;
	rt->host_ip = host_ip;
	rt->encap = r->encap;
	dirty_route(s, rt);
	return 1;
}

/* --- ports ---------------------------------------------------------------- */

static uint32_t port_find(const struct zh_state *s, const char *ifname)
{
	struct ifname_key k;

	memset(&k, 0, sizeof(k));
	snprintf(k.name, sizeof(k.name), "%s", ifname);
	return tab_find(&s->ports, &k);
}

static void portkey_drop(struct zh_state *s, uint32_t id)
{
	struct port_rec *p = port_at(s, id);
	struct portkey_rec key = {.net = p->net, .ip = p->ip};
	uint32_t k = tab_find(&s->portkeys, &key);

	if (k != NONE && ((struct portkey_rec *)tab_rec(&s->portkeys, k))->port == id)
		tab_remove(&s->portkeys, k);
	/* A record for the address gets its remote entry back; without one
	 * there is nothing to write (the port's own entry goes with the port).
	 */
	if (st_ep_find(s, key.net, key.ip) != NONE)
		st_dirty_ep(s, key.net, key.ip);
}

/* Take a port out of its network (index, count, activation). */
static void port_detach_net(struct zh_state *s, uint32_t id)
{
	uint32_t net = port_at(s, id)->net;

	portkey_drop(s, id);
	net_at(s, net)->n_ports--;
	net_update(s, net);
}

static int port_delete(struct zh_state *s, uint32_t id)
{
	uint32_t net = port_at(s, id)->net;

	port_detach_net(s, id);
	dirty_port(s, port_at(s, id)->ifname);
	tab_remove(&s->ports, id);
	st_net_gc(s, net);
	return 1;
}

static int port_put(struct zh_state *s, const struct zh_record *rec, char *err, size_t len)
{
	const struct zh_rec_port *r = &rec->port;
	struct portkey_rec pkey = {.ip = r->ip};
	struct ifname_key key;
	struct port_rec *p;
	uint32_t id, k, net, old_net = NONE;
	bool created;

	if (strcmp(rec->host, s->host))
		return 0; /* another host's port */
	net = pkey.net = st_net_get(s, r->network);
	if (net == NONE)
		return -ENOMEM;
	k = tab_find(&s->portkeys, &pkey);
	id = port_find(s, r->ifname);
	if (k != NONE && ((struct portkey_rec *)tab_rec(&s->portkeys, k))->port != id) {
		snprintf(err, len, "ip: port %s already has this address in network %s",
			 port_at(s, ((struct portkey_rec *)tab_rec(&s->portkeys, k))->port)->ifname,
			 r->network);
		st_net_gc(s, net);
		return -EINVAL;
	}
	memset(&key, 0, sizeof(key));
	snprintf(key.name, sizeof(key.name), "%s", r->ifname);
	id = tab_insert(&s->ports, &key, &created);
	if (id == NONE) {
		st_net_gc(s, net);
		return -ENOMEM;
	}
	p = port_at(s, id);
	p->flags &= ~F_STALE;
	if (!created) {
		if (p->net == net && p->ip == r->ip && !memcmp(p->mac, r->mac, 6))
			return 0;
		/* Moved: the old address stops being local. The network's
		 * count only changes when the network does, so a new address
		 * does not flap the network's activation.
		 */
		old_net = p->net;
		portkey_drop(s, id);
		if (old_net != net)
			net_at(s, old_net)->n_ports--;
	}
	p = port_at(s, id);
	p->net = net;
	p->ip = r->ip;
	memcpy(p->mac, r->mac, 6);
	if (created || old_net != net)
		net_at(s, net)->n_ports++;
	k = tab_insert(&s->portkeys, &pkey, &created);
	if (k != NONE)
		((struct portkey_rec *)tab_rec(&s->portkeys, k))->port = id;
	dirty_port(s, r->ifname);
	net_update(s, net);
	if (old_net != NONE && old_net != net) {
		net_update(s, old_net);
		st_net_gc(s, old_net);
	}
	return 1;
}

/* --- the record interface -------------------------------------------------- */

int zh_state_put(struct zh_state *s, const struct zh_record *rec, char *err, size_t errlen)
{
	char dummy[8];

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	switch (rec->kind) {
	case ZH_REC_NETWORK:
		return network_put(s, rec);
	case ZH_REC_ENDPOINT:
		return endpoint_put(s, rec, err, errlen);
	case ZH_REC_ROUTE:
		return route_put(s, rec, err, errlen);
	case ZH_REC_PORT:
		return port_put(s, rec, err, errlen);
	case ZH_REC_PEERING:
		return st_peering_put(s, rec);
	case ZH_REC_EXPORT:
		return st_export_put(s, rec);
	case ZH_REC_EFFECTIVE:
		return st_effective_put(s, rec);
	default: /* hosts; the published kinds come through a peer */
		break;
	}
	return 0;
}

int zh_state_delete(struct zh_state *s, const struct zh_record *key)
{
	uint32_t id;

	switch (key->kind) {
	case ZH_REC_NETWORK:
		id = st_net_find(s, key->network);
		return id == NONE ? 0 : network_delete(s, id);
	case ZH_REC_ENDPOINT:
		return endpoint_delete(s, key->network, key->ep.ip);
	case ZH_REC_ROUTE:
		return route_delete(s, key);
	case ZH_REC_PORT:
		if (strcmp(key->host, s->host))
			return 0;
		id = port_find(s, key->port.ifname);
		return id == NONE ? 0 : port_delete(s, id);
	case ZH_REC_PEERING:
		return st_peering_delete(s, key);
	case ZH_REC_EXPORT:
		return st_export_delete(s, key);
	case ZH_REC_EFFECTIVE:
		return st_effective_delete(s, key);
	default:
		break;
	}
	return 0;
}

void zh_state_keep(struct zh_state *s, const struct zh_record *key)
{
	uint32_t net, id;

	switch (key->kind) {
	case ZH_REC_NETWORK:
		id = st_net_find(s, key->network);
		if (id != NONE)
			net_at(s, id)->flags &= ~F_STALE;
		break;
	case ZH_REC_ENDPOINT:
		net = st_net_find(s, key->network);
		id = net == NONE ? NONE : st_ep_find(s, net, key->ep.ip);
		if (id != NONE)
			ep_at(s, id)->flags &= ~F_STALE;
		break;
	case ZH_REC_ROUTE:
		net = st_net_find(s, key->network);
		id = net == NONE ? NONE
				 : st_route_find(s, net, key->route.prefix.addr, key->route.prefix.len);
		if (id != NONE)
			route_at(s, id)->flags &= ~F_STALE;
		break;
	case ZH_REC_PORT:
		id = strcmp(key->host, s->host) ? NONE : port_find(s, key->port.ifname);
		if (id != NONE)
			port_at(s, id)->flags &= ~F_STALE;
		break;
	case ZH_REC_PEERING:
	case ZH_REC_EXPORT:
	case ZH_REC_EFFECTIVE:
		st_peering_keep(s, key);
		break;
	default:
		break;
	}
}

void zh_state_resync_begin(struct zh_state *s, unsigned int kinds)
{
	uint32_t id;

	s->resync_kinds |= kinds;
	if (kinds & ZH_KIND(ZH_REC_NETWORK))
		tab_foreach(&s->nets, id)
		{
			if (net_at(s, id)->flags & F_HAS_REC)
				net_at(s, id)->flags |= F_STALE;
		}
	if (kinds & ZH_KIND(ZH_REC_ENDPOINT))
		tab_foreach(&s->eps, id) ep_at(s, id)->flags |= F_STALE;
	if (kinds & ZH_KIND(ZH_REC_ROUTE))
		tab_foreach(&s->routes, id) route_at(s, id)->flags |= F_STALE;
	if (kinds & ZH_KIND(ZH_REC_PORT))
		tab_foreach(&s->ports, id) port_at(s, id)->flags |= F_STALE;
	st_peering_resync_begin(s, kinds);
}

void zh_state_resync_end(struct zh_state *s, unsigned int kinds)
{
	uint32_t id;

	/* Sweep children before networks, so a network is removed last. */
	st_peering_resync_end(s, kinds);
	if (kinds & ZH_KIND(ZH_REC_ENDPOINT))
		tab_foreach(&s->eps, id)
		{
			if (ep_at(s, id)->flags & F_STALE)
				endpoint_remove(s, id);
		}
	if (kinds & ZH_KIND(ZH_REC_ROUTE))
		tab_foreach(&s->routes, id)
		{
			if (route_at(s, id)->flags & F_STALE)
				route_remove(s, id);
		}
	if (kinds & ZH_KIND(ZH_REC_PORT))
		tab_foreach(&s->ports, id)
		{
			if (port_at(s, id)->flags & F_STALE)
				port_delete(s, id);
		}
	if (kinds & ZH_KIND(ZH_REC_NETWORK))
		tab_foreach(&s->nets, id)
		{
			if (net_at(s, id)->flags & F_STALE)
				network_delete(s, id);
		}
	s->resync_kinds &= ~kinds;
}

bool zh_state_resyncing(const struct zh_state *s)
{
	return st_quiet(s);
}

/* --- one network's listing ---------------------------------------------------- */

void zh_state_net_resync_begin(struct zh_state *s, const char *name, unsigned int kinds)
{
	uint32_t net = st_net_get(s, name), id;
	struct net_rec *n;

	if (net == NONE)
		return;
	n = net_at(s, net);
	/* A listing started over (a re-subscription) marks again but is
	 * still one listing in flight.
	 */
	if ((n->listing & kinds) != kinds) {
		if (!n->listing)
			s->net_listings++;
		n->listing |= kinds;
	}
	if ((kinds & ZH_KIND(ZH_REC_NETWORK)) && (n->flags & F_HAS_REC))
		n->flags |= F_STALE;
	if (kinds & ZH_KIND(ZH_REC_ENDPOINT))
		for (id = n->ep_head; id != NONE; id = ep_at(s, id)->next)
			ep_at(s, id)->flags |= F_STALE;
	if (kinds & ZH_KIND(ZH_REC_ROUTE))
		for (id = n->route_head; id != NONE; id = route_at(s, id)->next)
			route_at(s, id)->flags |= F_STALE;
	if (kinds & ZH_KIND(ZH_REC_EXPORT))
		st_exports_stale(s, net);
}

/* The listing of these kinds of the network is no longer in flight. */
static void net_listing_done(struct zh_state *s, uint32_t net, unsigned int kinds)
{
	struct net_rec *n = net_at(s, net);

	if (!(n->listing & kinds))
		return;
	n->listing &= ~kinds;
	if (!n->listing && s->net_listings)
		s->net_listings--;
}

/* Remove the network's records of these kinds: the stale ones, or all.
 * Each removal may forget the network (nothing refers to it any more), so
 * it is looked up again before each kind; children go before the record.
 */
static void net_sweep(struct zh_state *s, const char *name, unsigned int kinds, bool all)
{
	uint32_t net = st_net_find(s, name), id, next;

	if (net != NONE && (kinds & ZH_KIND(ZH_REC_ENDPOINT)))
		for (id = net_at(s, net)->ep_head; id != NONE; id = next) {
			next = ep_at(s, id)->next;
			if (all || (ep_at(s, id)->flags & F_STALE))
				endpoint_remove(s, id);
		}
	net = st_net_find(s, name);
	if (net != NONE && (kinds & ZH_KIND(ZH_REC_ROUTE)))
		for (id = net_at(s, net)->route_head; id != NONE; id = next) {
			next = route_at(s, id)->next;
			if (all || (route_at(s, id)->flags & F_STALE))
				route_remove(s, id);
		}
	net = st_net_find(s, name);
	if (net != NONE && (kinds & ZH_KIND(ZH_REC_EXPORT)))
		st_exports_sweep(s, net, all);
	net = st_net_find(s, name);
	if (net != NONE && (kinds & ZH_KIND(ZH_REC_NETWORK)) &&
	    (all || (net_at(s, net)->flags & F_STALE)))
		network_delete(s, net);
}

/* Sweep the network's stale records (ALL: every one) and end its listing. */
static void net_sweep_end(struct zh_state *s, const char *name, unsigned int kinds, bool all)
{
	uint32_t net;

	net_sweep(s, name, kinds, all);
	net = st_net_find(s, name);
	if (net != NONE) {
		net_listing_done(s, net, kinds);
		st_net_gc(s, net);
	}
}

void zh_state_net_resync_end(struct zh_state *s, const char *name, unsigned int kinds)
{
	/* Swept while still quiet: the caller reconciles everything next. */
	net_sweep_end(s, name, kinds, false);
}

void zh_state_net_forget(struct zh_state *s, const char *name, unsigned int kinds)
{
	net_sweep_end(s, name, kinds, true);
}

/* --- queries ------------------------------------------------------------- */

static void ep_value(const struct ep_rec *e, struct zh_endpoint *v)
{
	memset(v, 0, sizeof(*v));
	v->host_ip = e->host_ip;
	memcpy(v->mac, e->mac, 6);
	v->encap = e->encap;
}

unsigned int zh_state_endpoint(struct zh_state *s, const struct zh_ep_key *key,
			       struct zh_endpoint *val, bool mark)
{
	struct portkey_rec pk;
	unsigned int want = 0;
	uint32_t net = st_vni_net(s, key->vni), id;

	if (net == NONE)
		return 0;
	pk.net = net;
	pk.ip = key->ip;
	if (tab_find(&s->portkeys, &pk) != NONE)
		want |= ZH_WANT_LOCAL;
	id = st_ep_find(s, net, key->ip);
	if (id != NONE) {
		want |= ZH_WANT_REMOTE;
		ep_value(ep_at(s, id), val);
		if (mark)
			ep_at(s, id)->flags |= F_SEEN;
	} else if (st_peer_endpoint(s, net, key->ip, val, mark)) {
		want |= ZH_WANT_REMOTE;
	}
	return want;
}

bool st_port_has(struct zh_state *s, uint32_t net, uint32_t ip)
{
	struct portkey_rec pk = {.net = net, .ip = ip};

	return tab_find(&s->portkeys, &pk) != NONE;
}

static void route_value(const struct route_rec *r, struct zh_route *v)
{
	memset(v, 0, sizeof(*v));
	v->action = r->drop ? ZH_ROUTE_DROP : ZH_ROUTE_REMOTE;
	v->host_ip = r->host_ip;
	v->encap = r->encap;
}

bool zh_state_route(struct zh_state *s, const struct zh_route_key *key, struct zh_route *val,
		    bool mark)
{
	uint32_t net, id;

	if (key->prefixlen < 32 || key->prefixlen > 64)
		return false;
	net = st_vni_net(s, key->vni);
	if (net == NONE)
		return false;
	id = st_route_find(s, net, key->ip, key->prefixlen - 32);
	if (id == NONE)
		return st_peer_route(s, net, key->ip, key->prefixlen - 32, val, mark);
	route_value(route_at(s, id), val);
	if (mark)
		route_at(s, id)->flags |= F_SEEN;
	return true;
}

int zh_state_endpoints_unmarked(struct zh_state *s, zh_state_ep_cb cb, void *ctx)
{
	struct zh_endpoint val;
	struct zh_ep_key key;
	struct portkey_rec pk;
	uint32_t id;
	int err = 0;

	tab_foreach(&s->eps, id)
	{
		struct ep_rec *e = ep_at(s, id);

		if (e->flags & F_SEEN) {
			e->flags &= ~F_SEEN;
			continue;
		}
		if (err || !cb || !st_programmed(s, e->net))
			continue;
		key.vni = net_at(s, e->net)->vni;
		key.ip = e->ip;
		pk.net = e->net;
		pk.ip = e->ip;
		ep_value(e, &val);
		err = cb(&key, &val,
			 ZH_WANT_REMOTE | (tab_find(&s->portkeys, &pk) != NONE ? ZH_WANT_LOCAL : 0),
			 ctx);
	}
	/* Always walked: it clears the peer endpoints' marks too. */
	if (!err)
		return st_peer_endpoints_unmarked(s, cb, ctx);
	st_peer_endpoints_unmarked(s, NULL, NULL);
	return err;
}

int zh_state_routes_unmarked(struct zh_state *s, zh_state_route_cb cb, void *ctx)
{
	struct zh_route_key key;
	struct zh_route val;
	uint32_t id;
	int err = 0;

	tab_foreach(&s->routes, id)
	{
		struct route_rec *r = route_at(s, id);

		if (r->flags & F_SEEN) {
			r->flags &= ~F_SEEN;
			continue;
		}
		if (err || !cb || !st_programmed(s, r->net))
			continue;
		st_route_key(&key, net_at(s, r->net)->vni, r->prefix, r->len);
		route_value(r, &val);
		err = cb(&key, &val, ctx);
	}
	if (!err)
		return st_peer_routes_unmarked(s, cb, ctx);
	st_peer_routes_unmarked(s, NULL, NULL);
	return err;
}

static void port_want(const struct zh_state *s, uint32_t id, struct zh_port_want *w)
{
	const struct port_rec *p = tab_rec(&s->ports, id);
	const struct net_rec *n = tab_rec(&s->nets, p->net);

	memset(w, 0, sizeof(*w));
	memcpy(w->ifname, p->ifname, sizeof(w->ifname));
	snprintf(w->network, sizeof(w->network), "%s", n->name);
	w->ready = n->flags & F_PROGRAMMED;
	w->vni = n->vni;
	memcpy(w->mac, p->mac, 6);
	w->ip = p->ip;
}

bool zh_state_port(const struct zh_state *s, const char *ifname, struct zh_port_want *out)
{
	uint32_t id = port_find(s, ifname);

	if (id == NONE)
		return false;
	port_want(s, id, out);
	return true;
}

int zh_state_foreach_port(const struct zh_state *s, zh_state_port_cb cb, void *ctx)
{
	struct zh_port_want w;
	uint32_t id;
	int err;

	tab_foreach(&s->ports, id)
	{
		port_want(s, id, &w);
		err = cb(&w, ctx);
		if (err)
			return err;
	}
	return 0;
}

void zh_state_dirty(const struct zh_state *s, struct zh_dirty *d)
{
	d->eps = (const struct zh_ep_key *)s->dirty_eps.recs;
	d->n_eps = s->dirty_eps.n;
	d->routes = (const struct zh_route_key *)s->dirty_routes.recs;
	d->n_routes = s->dirty_routes.n;
	d->ports = (const char(*)[ZH_IFNAMSIZ])s->dirty_ports.recs;
	d->n_ports = s->dirty_ports.n;
	d->policies = (const struct zh_policy_key *)s->dirty_policies.recs;
	d->n_policies = s->dirty_policies.n;
}

bool zh_state_has_dirty(const struct zh_state *s)
{
	return s->dirty_eps.live || s->dirty_routes.live || s->dirty_ports.live ||
	       s->dirty_policies.live;
}

void zh_state_dirty_clear(struct zh_state *s)
{
	/* A big burst (a network activated) should not pin its memory. */
	if (s->dirty_eps.cap > 65536)
		tab_free(&s->dirty_eps);
	else
		tab_reset(&s->dirty_eps);
	tab_reset(&s->dirty_routes);
	tab_reset(&s->dirty_ports);
	tab_reset(&s->dirty_policies);
}

void zh_state_counts(const struct zh_state *s, struct zh_state_counts *c)
{
	uint32_t id;

	memset(c, 0, sizeof(*c));
	tab_foreach(&s->nets, id)
	{
		const struct net_rec *n = tab_rec(&s->nets, id);

		c->networks += !!(n->flags & F_HAS_REC);
		c->networks_active += !!(n->flags & F_PROGRAMMED);
	}
	c->endpoints = s->eps.live;
	c->routes = s->routes.live;
	c->ports = s->ports.live;
	c->peers = s->peers.live;
	tab_foreach(&s->peers, id) c->peers_active += !!(peer_at((struct zh_state *)s, id)->flags & P_ACTIVE);
	c->peer_endpoints = s->peps.live;
	c->effective_routes = s->effs.live;
}

size_t zh_state_memory(const struct zh_state *s)
{
	return sizeof(*s) + tab_memory(&s->nets) + tab_memory(&s->eps) + tab_memory(&s->routes) +
	       tab_memory(&s->ports) + tab_memory(&s->portkeys) + tab_memory(&s->vnis) +
	       tab_memory(&s->dirty_eps) + tab_memory(&s->dirty_routes) +
	       tab_memory(&s->dirty_ports) + tab_memory(&s->dirty_policies) + st_peers_memory(s);
}
