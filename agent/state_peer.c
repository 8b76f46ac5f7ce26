// SPDX-License-Identifier: GPL-2.0-only
/* The peering part of the agent's desired state (state.h):
 *
 * - peers: networks/<A>/peerings/<B> of a local network A, with what B's
 *   shard says: B's record for A (absent, or present with the policy B
 *   grants A), and B's view under that policy (meta: B's VNI, prefixes,
 *   protocols; endpoints). A peer is active when B's record is there, its
 *   view has a meta, and B's VNI clashes neither with A's nor with another
 *   active peer of A.
 * - peer endpoints: (A, ip) -> B's VM, leaving with B's VNI. A's own
 *   endpoints and ports win; among peers publishing the same address the
 *   higher preference, then the lower VNI, then the name.
 * - effective routes won by a peer: (A, prefix) -> the winner's host and
 *   VNI, unless A has its own route for the prefix or the peer is known to
 *   be gone (one-sided, no view).
 * - zh_policy: for an active peer, {B, A, prefix of B's meta} = B's
 *   protocols (what A's VMs may send) and {A, B, prefix of A's export
 *   granted to B} = A's protocols (what A's VMs may receive).
 *
 * Fail static: nothing of a peer goes while its shard is silent; a network
 * is "settled" once its peerings, its effective routes and every peer's
 * state are known, and only then may a full reconcile sweep entries that
 * lead into other VNIs but are not desired (zh_state_vni_unsettled).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peering.h"
#include "state_int.h"

/* (id, name) keys of peers and exports. */
struct name_key {
	uint32_t net;
	char name[ZH_NAME_MAX + 1];
};

_Static_assert(sizeof(struct name_key) == PEER_KEY_LEN, "peer key layout");
_Static_assert(offsetof(struct peer_rec, name) == 4, "peer key layout");
_Static_assert(offsetof(struct exp_rec, name) == 4, "export key layout");

struct prefix_key {
	uint32_t net;
	uint32_t prefix;
	uint32_t len;
};

static void name_key(struct name_key *k, uint32_t net, const char *name)
{
	memset(k, 0, sizeof(*k));
	k->net = net;
	snprintf(k->name, sizeof(k->name), "%s", name);
}

void st_peers_init(struct zh_state *s)
{
	tab_init(&s->peers, sizeof(struct peer_rec), PEER_KEY_LEN);
	tab_init(&s->peps, sizeof(struct pep_rec), 8);
	tab_init(&s->pepidx, sizeof(struct pepidx_rec), 8);
	tab_init(&s->peervni, sizeof(struct peervni_rec), 8);
	tab_init(&s->exps, sizeof(struct exp_rec), EXP_KEY_LEN);
	tab_init(&s->effs, sizeof(struct eff_rec), sizeof(struct prefix_key));
}

void st_peers_free(struct zh_state *s)
{
	tab_free(&s->peers);
	tab_free(&s->peps);
	tab_free(&s->pepidx);
	tab_free(&s->peervni);
	tab_free(&s->exps);
	tab_free(&s->effs);
}

size_t st_peers_memory(const struct zh_state *s)
{
	return tab_memory(&s->peers) + tab_memory(&s->peps) + tab_memory(&s->pepidx) +
	       tab_memory(&s->peervni) + tab_memory(&s->exps) + tab_memory(&s->effs);
}

/* --- lookups -------------------------------------------------------------- */

static uint32_t peer_find(struct zh_state *s, uint32_t net, const char *name)
{
	struct name_key k;

	name_key(&k, net, name);
	return tab_find(&s->peers, &k);
}

static uint32_t peer_find_names(struct zh_state *s, const char *net, const char *peer)
{
	uint32_t n = st_net_find(s, net);

	return n == NONE ? NONE : peer_find(s, n, peer);
}

static struct exp_rec *exp_get(struct zh_state *s, uint32_t net, const char *name)
{
	struct name_key k;
	uint32_t id;

	name_key(&k, net, name);
	id = tab_find(&s->exps, &k);
	return id == NONE ? NULL : tab_rec(&s->exps, id);
}

static uint32_t eff_find(struct zh_state *s, uint32_t net, uint32_t prefix, uint32_t len)
{
	struct prefix_key k = {.net = net, .prefix = prefix, .len = len};

	return tab_find(&s->effs, &k);
}

static uint32_t pepidx_find(struct zh_state *s, uint32_t net, uint32_t ip)
{
	struct pepidx_rec k = {.net = net, .ip = ip};

	return tab_find(&s->pepidx, &k);
}

static struct pepidx_rec *pepidx_get(struct zh_state *s, uint32_t net, uint32_t ip)
{
	uint32_t id = pepidx_find(s, net, ip);

	return id == NONE ? NULL : tab_rec(&s->pepidx, id);
}

/* The active peer of net with this VNI, or NONE. */
static uint32_t peervni_find(struct zh_state *s, uint32_t net, uint32_t vni)
{
	struct peervni_rec k = {.net = net, .vni = vni};
	uint32_t id = tab_find(&s->peervni, &k);

	return id == NONE ? NONE : ((struct peervni_rec *)tab_rec(&s->peervni, id))->peer;
}

static bool export_same(const struct zh_rec_export *a, const struct zh_rec_export *b)
{
	return a->n_prefixes == b->n_prefixes && a->protocols == b->protocols &&
	       !memcmp(a->prefixes, b->prefixes, a->n_prefixes * sizeof(a->prefixes[0]));
}

static bool scope_has_exact(const struct zh_rec_export *scope, const struct zh_cidr *c)
{
	int i;

	for (i = 0; i < scope->n_prefixes; i++)
		if (scope->prefixes[i].addr == c->addr && scope->prefixes[i].len == c->len)
			return true;
	return false;
}

/* What the local network exports to the peer (its record's grant),
 * prefixes resolved; false without such an export.
 */
static bool receiver_scope(struct zh_state *s, uint32_t pid, struct zh_rec_export *scope)
{
	const struct peer_rec *p = peer_at(s, pid);
	const struct net_rec *n = net_at(s, p->net);
	struct zh_rec_network net;
	struct exp_rec *e = exp_get(s, p->net, p->rec.grant);

	if (!e)
		return false;
	memset(&net, 0, sizeof(net));
	net.n_cidrs = n->n_cidrs > ZH_NET_CIDRS_MAX ? ZH_NET_CIDRS_MAX : n->n_cidrs;
	if (net.n_cidrs)
		memcpy(net.cidrs, n->cidrs, net.n_cidrs * sizeof(net.cidrs[0]));
	zh_export_scope(&e->exp, &net, scope);
	return scope->n_prefixes > 0;
}

/* --- marking ---------------------------------------------------------------- */

/* The zh_policy keys an active peer programs: its view's prefixes toward
 * us, and our export's toward it.
 */
static void peer_mark_policies(struct zh_state *s, uint32_t pid)
{
	struct zh_rec_export scope;
	struct peer_rec *p = peer_at(s, pid);
	uint32_t vni = net_at(s, p->net)->vni;
	int i;

	if (!(p->flags & P_ACTIVE) || !vni)
		return;
	for (i = 0; i < p->meta.n_prefixes; i++)
		st_dirty_policy(s, p->vni, vni, &p->meta.prefixes[i]);
	if (receiver_scope(s, pid, &scope))
		for (i = 0; i < scope.n_prefixes; i++)
			st_dirty_policy(s, vni, p->vni, &scope.prefixes[i]);
}

static void peer_mark_eps(struct zh_state *s, uint32_t pid)
{
	uint32_t id, net = peer_at(s, pid)->net;

	for (id = peer_at(s, pid)->pep_head; id != NONE; id = pep_at(s, id)->next)
		st_dirty_ep(s, net, pep_at(s, id)->ip);
}

/* The effective routes of net won by origin (NULL: all of them). */
static void net_mark_effs(struct zh_state *s, uint32_t net, const char *origin)
{
	uint32_t id;

	if (!st_programmed(s, net) || st_quiet(s))
		return;
	tab_foreach(&s->effs, id)
	{
		struct eff_rec *e = eff_at(s, id);

		if (e->net == net && (!origin || !strcmp(e->origin, origin)))
			st_dirty_route(s, net, e->prefix, e->len);
	}
}

static void peer_mark_all(struct zh_state *s, uint32_t pid)
{
	peer_mark_eps(s, pid);
	net_mark_effs(s, peer_at(s, pid)->net, peer_at(s, pid)->name);
	peer_mark_policies(s, pid);
}

/* --- settled -------------------------------------------------------------------- */

/* What the peer's shard says is known (since start, or since the peering
 * was added): its record is absent, or present and its view listed.
 */
static bool peer_known(const struct peer_rec *p)
{
	return p->their == ZH_THEIR_ABSENT ||
	       (p->their == ZH_THEIR_PRESENT && (p->flags & P_VIEW_LISTED));
}

static void net_settle_check(struct zh_state *s, uint32_t net)
{
	struct net_rec *n = net_at(s, net);
	bool now = (n->flags & F_PEERINGS_LISTED) && (n->flags & F_EFF_LISTED) && !n->n_unsettled;

	if (now == !!(n->flags & F_SETTLED))
		return;
	if (now) {
		n->flags |= F_SETTLED;
		s->settled_event = true;
	} else {
		n->flags &= ~F_SETTLED;
	}
}

static void peer_settle(struct zh_state *s, uint32_t pid)
{
	struct peer_rec *p = peer_at(s, pid);
	bool known = peer_known(p);

	if (known == !!(p->flags & P_SETTLED))
		return;
	if (known) {
		p->flags |= P_SETTLED;
		net_at(s, p->net)->n_unsettled--;
	} else {
		p->flags &= ~P_SETTLED;
		net_at(s, p->net)->n_unsettled++;
	}
	net_settle_check(s, p->net);
}

/* --- activation ------------------------------------------------------------------- */

/* Can the peer be programmed? why: a clash to report ("" for none). */
static bool peer_can_activate(struct zh_state *s, uint32_t pid, char *why, size_t len)
{
	struct peer_rec *p = peer_at(s, pid);
	struct net_rec *n = net_at(s, p->net);
	uint32_t other;

	why[0] = 0;
	if (p->their != ZH_THEIR_PRESENT || !p->vni)
		return false;
	if ((n->flags & F_HAS_REC) && p->vni == n->vni) {
		snprintf(why, len, "its VNI %u is network %s's own", p->vni, n->name);
		return false;
	}
	other = peervni_find(s, p->net, p->vni);
	if (other != NONE && other != pid) {
		snprintf(why, len, "its VNI %u is already peer %s's", p->vni,
			 peer_at(s, other)->name);
		return false;
	}
	return true;
}

static void peervni_set(struct zh_state *s, uint32_t net, uint32_t vni, uint32_t pid, bool on)
{
	struct peervni_rec k = {.net = net, .vni = vni};
	bool created;
	uint32_t id;

	if (on) {
		id = tab_insert(&s->peervni, &k, &created);
		if (id != NONE)
			((struct peervni_rec *)tab_rec(&s->peervni, id))->peer = pid;
		return;
	}
	id = tab_find(&s->peervni, &k);
	if (id != NONE && ((struct peervni_rec *)tab_rec(&s->peervni, id))->peer == pid)
		tab_remove(&s->peervni, id);
}

/* Stop programming the peer (before its VNI, view or existence changes). */
static void peer_deactivate(struct zh_state *s, uint32_t pid)
{
	struct peer_rec *p = peer_at(s, pid);

	if (!(p->flags & P_ACTIVE))
		return;
	peer_mark_policies(s, pid);
	peervni_set(s, p->net, p->vni, pid, false);
	p->flags &= ~P_ACTIVE;
	peer_mark_eps(s, pid);
	net_mark_effs(s, p->net, p->name);
	s->peers_gen++;
}

/* Program the peer if it can be, report a clash once, and count it as
 * known or not.
 */
static void peer_refresh(struct zh_state *s, uint32_t pid)
{
	char why[160];
	bool want = peer_can_activate(s, pid, why, sizeof(why));
	struct peer_rec *p = peer_at(s, pid);

	if (want && !(p->flags & P_ACTIVE)) {
		peervni_set(s, p->net, p->vni, pid, true);
		p->flags |= P_ACTIVE;
		peer_mark_all(s, pid);
		s->peers_gen++;
	} else if (!want) {
		peer_deactivate(s, pid);
	}
	p = peer_at(s, pid);
	if (why[0] && !(p->flags & P_CLASH)) {
		st_warnf(s, "networks/%s/peerings/%s: %s; not programmed", net_at(s, p->net)->name,
			 p->name, why);
		p->flags |= P_CLASH;
	} else if (!why[0]) {
		p->flags &= ~P_CLASH;
	}
	peer_settle(s, pid);
}

/* A peer gave up a VNI: one that clashed with it may go in now. */
static void net_recheck_clashes(struct zh_state *s, uint32_t net)
{
	uint32_t id;

	tab_foreach(&s->peers, id)
	{
		if (peer_at(s, id)->net == net && (peer_at(s, id)->flags & P_CLASH))
			peer_refresh(s, id);
	}
}

void st_peers_dirty_net(struct zh_state *s, uint32_t net)
{
	uint32_t id;

	tab_foreach(&s->peers, id)
	{
		if (peer_at(s, id)->net == net) {
			peer_mark_eps(s, id);
			peer_mark_policies(s, id);
		}
	}
	net_mark_effs(s, net, NULL);
}

void st_peers_mark_policies(struct zh_state *s, uint32_t net)
{
	uint32_t id;

	tab_foreach(&s->peers, id)
	{
		if (peer_at(s, id)->net == net)
			peer_mark_policies(s, id);
	}
}

void st_peers_net_changed(struct zh_state *s, uint32_t net)
{
	uint32_t id;

	tab_foreach(&s->peers, id)
	{
		if (peer_at(s, id)->net != net)
			continue;
		peer_deactivate(s, id);
		peer_refresh(s, id);
		peer_mark_policies(s, id);
	}
}

/* --- peer endpoints ---------------------------------------------------------------- */

static uint32_t pep_find(struct zh_state *s, uint32_t pid, uint32_t ip)
{
	struct pep_rec k = {.peer = pid, .ip = ip};

	return tab_find(&s->peps, &k);
}

static void pep_remove(struct zh_state *s, uint32_t id)
{
	struct pep_rec *e = pep_at(s, id);
	struct peer_rec *p = peer_at(s, e->peer);
	uint32_t xid = pepidx_find(s, p->net, e->ip);
	uint32_t net = p->net, ip = e->ip, *link;
	struct pepidx_rec *x = xid == NONE ? NULL : tab_rec(&s->pepidx, xid);

	if (e->prev != NONE)
		pep_at(s, e->prev)->next = e->next;
	else
		p->pep_head = e->next;
	if (e->next != NONE)
		pep_at(s, e->next)->prev = e->prev;
	p->n_peps--;
	if (x) {
		for (link = &x->head; *link != NONE; link = &pep_at(s, *link)->alt) {
			if (*link == id) {
				*link = e->alt;
				break;
			}
		}
		if (x->head == NONE)
			tab_remove(&s->pepidx, xid);
	}
	tab_remove(&s->peps, id);
	st_dirty_ep(s, net, ip);
}

static int pep_put(struct zh_state *s, uint32_t pid, const struct zh_rec_endpoint *r, char *err,
		   size_t errlen)
{
	struct pep_rec key = {.peer = pid, .ip = r->ip}, *e;
	struct pepidx_rec xk = {.net = peer_at(s, pid)->net, .ip = r->ip}, *x;
	uint32_t id, xid;
	bool created;

	if (!r->host_ip) {
		snprintf(err, errlen, "host_ip: no underlay address for host \"%s\"", r->host);
		return -EINVAL;
	}
	id = tab_insert(&s->peps, &key, &created);
	if (id == NONE)
		return -ENOMEM;
	e = pep_at(s, id);
	e->flags &= ~F_STALE;
	if (created) {
		struct peer_rec *p = peer_at(s, pid);

		xid = tab_insert(&s->pepidx, &xk, &created);
		if (xid == NONE) {
			tab_remove(&s->peps, id);
			return -ENOMEM;
		}
		x = tab_rec(&s->pepidx, xid);
		if (created)
			x->head = NONE;
		e->alt = x->head;
		x->head = id;
		e->prev = NONE;
		e->next = p->pep_head;
		if (p->pep_head != NONE)
			pep_at(s, p->pep_head)->prev = id;
		p->pep_head = id;
		p->n_peps++;
	} else if (e->host_ip == r->host_ip && !memcmp(e->mac, r->mac, 6) &&
		   e->encap == r->encap) {
		return 0;
	}
	e->host_ip = r->host_ip;
	memcpy(e->mac, r->mac, 6);
	e->encap = r->encap;
	st_dirty_ep(s, peer_at(s, pid)->net, r->ip);
	return 1;
}

/* a wins over b for the same address: preference, VNI, name. */
static bool peer_better(const struct peer_rec *a, const struct peer_rec *b)
{
	if (a->rec.preference != b->rec.preference)
		return a->rec.preference > b->rec.preference;
	if (a->vni != b->vni)
		return a->vni < b->vni;
	return strcmp(a->name, b->name) < 0;
}

/* The peer endpoint that programs (net, ip), or NONE. */
static uint32_t pep_best(struct zh_state *s, uint32_t net, uint32_t ip)
{
	struct pepidx_rec *x = pepidx_get(s, net, ip);
	uint32_t id, best = NONE;

	if (!x)
		return NONE;
	for (id = x->head; id != NONE; id = pep_at(s, id)->alt) {
		const struct peer_rec *p = peer_at(s, pep_at(s, id)->peer);

		if (!(p->flags & P_ACTIVE))
			continue;
		if (best == NONE || peer_better(p, peer_at(s, pep_at(s, best)->peer)))
			best = id;
	}
	return best;
}

static void pep_value(struct zh_state *s, uint32_t id, struct zh_endpoint *v)
{
	const struct pep_rec *e = pep_at(s, id);

	memset(v, 0, sizeof(*v));
	v->host_ip = e->host_ip;
	v->dest_vni = peer_at(s, e->peer)->vni;
	memcpy(v->mac, e->mac, 6);
	v->encap = e->encap;
}

bool st_peer_endpoint(struct zh_state *s, uint32_t net, uint32_t ip, struct zh_endpoint *val,
		      bool mark)
{
	uint32_t id = pep_best(s, net, ip);

	if (id == NONE)
		return false;
	pep_value(s, id, val);
	if (mark)
		pep_at(s, id)->flags |= F_SEEN;
	return true;
}

int st_peer_endpoints_unmarked(struct zh_state *s, zh_state_ep_cb cb, void *ctx)
{
	struct zh_endpoint val;
	struct zh_ep_key key;
	uint32_t id, net;
	int err = 0;

	tab_foreach(&s->peps, id)
	{
		struct pep_rec *e = pep_at(s, id);

		if (e->flags & F_SEEN) {
			e->flags &= ~F_SEEN;
			continue;
		}
		net = peer_at(s, e->peer)->net;
		if (err || !cb || !st_programmed(s, net) || st_ep_find(s, net, e->ip) != NONE ||
		    pep_best(s, net, e->ip) != id)
			continue;
		key.vni = net_at(s, net)->vni;
		key.ip = e->ip;
		pep_value(s, id, &val);
		err = cb(&key, &val, ZH_WANT_REMOTE | (st_port_has(s, net, e->ip) ? ZH_WANT_LOCAL : 0),
			 ctx);
	}
	return err;
}

/* Drop a peer's view: its endpoints and meta. */
static void peer_drop_view(struct zh_state *s, uint32_t pid)
{
	struct peer_rec *p;

	peer_deactivate(s, pid);
	while (peer_at(s, pid)->pep_head != NONE)
		pep_remove(s, peer_at(s, pid)->pep_head);
	p = peer_at(s, pid);
	p->vni = 0;
	memset(&p->meta, 0, sizeof(p->meta));
	p->view_policy[0] = 0;
	p->flags &= ~(P_VIEW_LISTED | P_META_STALE);
}

/* --- effective routes ------------------------------------------------------------------ */

/* A peer route may be programmed unless its peer is known to be gone. */
static bool eff_usable(struct zh_state *s, const struct eff_rec *e)
{
	struct net_rec *n = net_at(s, e->net);
	uint32_t pid;
	struct peer_rec *p;

	if ((n->flags & F_HAS_REC) && e->vni == n->vni)
		return false;
	pid = peer_find(s, e->net, e->origin);
	if (pid == NONE)
		return !(n->flags & F_PEERINGS_LISTED); /* not listed yet: fail static */
	p = peer_at(s, pid);
	if (p->their == ZH_THEIR_UNKNOWN)
		return true;
	if (p->their == ZH_THEIR_ABSENT || (p->flags & P_CLASH))
		return false;
	return p->vni || !(p->flags & P_VIEW_LISTED);
}

static void eff_count(struct zh_state *s, uint32_t net, const char *origin, int delta)
{
	uint32_t pid = peer_find(s, net, origin);

	if (pid != NONE)
		peer_at(s, pid)->n_effs += delta;
}

static void eff_remove(struct zh_state *s, uint32_t id)
{
	struct eff_rec *e = eff_at(s, id);
	uint32_t net = e->net;

	st_dirty_route(s, net, e->prefix, e->len);
	eff_count(s, net, e->origin, -1);
	tab_remove(&s->effs, id);
	net_at(s, net)->refs--;
	st_net_gc(s, net);
}

int st_effective_put(struct zh_state *s, const struct zh_record *rec)
{
	const struct zh_rec_effective *r = &rec->eff;
	const struct zh_eff_route *w = &r->winner;
	struct prefix_key k = {.prefix = r->prefix.addr, .len = r->prefix.len};
	uint32_t host_ip = w->drop ? 0 : w->host_ip, id;
	struct eff_rec *e;
	bool created;

	if (w->origin != ZH_ORIGIN_PEER) {
		/* Local winners are the network's own route records. */
		uint32_t net = st_net_find(s, rec->network);

		id = net == NONE ? NONE : eff_find(s, net, k.prefix, k.len);
		if (id == NONE)
			return 0;
		eff_remove(s, id);
		return 1;
	}
	k.net = st_net_get(s, rec->network);
	if (k.net == NONE)
		return -ENOMEM;
	id = tab_insert(&s->effs, &k, &created);
	if (id == NONE) {
		st_net_gc(s, k.net);
		return -ENOMEM;
	}
	e = eff_at(s, id);
	e->flags &= ~F_STALE;
	if (created) {
		net_at(s, k.net)->refs++;
	} else if (!strcmp(e->origin, w->network) && e->vni == w->vni && e->host_ip == host_ip &&
		   e->drop == w->drop && e->encap == w->encap) {
		return 0;
	} else {
		eff_count(s, k.net, e->origin, -1);
	}
	e = eff_at(s, id);
	snprintf(e->origin, sizeof(e->origin), "%s", w->network);
	e->vni = w->vni;
	e->host_ip = host_ip;
	e->drop = w->drop;
	e->encap = w->encap;
	eff_count(s, k.net, w->network, 1);
	st_dirty_route(s, k.net, k.prefix, k.len);
	return 1;
}

int st_effective_delete(struct zh_state *s, const struct zh_record *key)
{
	uint32_t net = st_net_find(s, key->network), id;

	if (net == NONE)
		return 0;
	id = eff_find(s, net, key->eff.prefix.addr, key->eff.prefix.len);
	if (id == NONE)
		return 0;
	eff_remove(s, id);
	return 1;
}

static void eff_value(const struct eff_rec *e, struct zh_route *v)
{
	memset(v, 0, sizeof(*v));
	v->action = e->drop ? ZH_ROUTE_DROP : ZH_ROUTE_REMOTE;
	v->host_ip = e->host_ip;
	v->dest_vni = e->vni;
	v->encap = e->drop ? 0 : e->encap;
}

bool st_peer_route(struct zh_state *s, uint32_t net, uint32_t prefix, uint32_t len,
		   struct zh_route *val, bool mark)
{
	uint32_t id = eff_find(s, net, prefix, len);

	if (id == NONE || !eff_usable(s, eff_at(s, id)))
		return false;
	eff_value(eff_at(s, id), val);
	if (mark)
		eff_at(s, id)->flags |= F_SEEN;
	return true;
}

int st_peer_routes_unmarked(struct zh_state *s, zh_state_route_cb cb, void *ctx)
{
	struct zh_route_key key;
	struct zh_route val;
	uint32_t id;
	int err = 0;

	tab_foreach(&s->effs, id)
	{
		struct eff_rec *e = eff_at(s, id);

		if (e->flags & F_SEEN) {
			e->flags &= ~F_SEEN;
			continue;
		}
		if (err || !cb || !st_programmed(s, e->net) ||
		    st_route_find(s, e->net, e->prefix, e->len) != NONE || !eff_usable(s, e))
			continue;
		st_route_key(&key, net_at(s, e->net)->vni, e->prefix, e->len);
		eff_value(e, &val);
		err = cb(&key, &val, ctx);
	}
	return err;
}

/* --- our peering records ------------------------------------------------------------- */

static void peer_remove(struct zh_state *s, uint32_t pid)
{
	struct peer_rec *p;
	uint32_t net;

	peer_drop_view(s, pid);
	p = peer_at(s, pid);
	net = p->net;
	net_mark_effs(s, net, p->name);
	if (!(p->flags & P_SETTLED))
		net_at(s, net)->n_unsettled--;
	tab_remove(&s->peers, pid);
	net_at(s, net)->refs--;
	s->peers_gen++;
	net_recheck_clashes(s, net);
	net_settle_check(s, net);
	st_net_gc(s, net);
}

static bool peering_same(const struct zh_rec_peering *a, const struct zh_rec_peering *b)
{
	return !strcmp(a->peer_shard, b->peer_shard) && !strcmp(a->grant, b->grant) &&
	       a->preference == b->preference && !strcmp(a->user, b->user) &&
	       !strcmp(a->password_file, b->password_file) && !strcmp(a->peer_user, b->peer_user) &&
	       !strcmp(a->peer_password_file, b->peer_password_file);
}

int st_peering_put(struct zh_state *s, const struct zh_record *rec)
{
	uint32_t net = st_net_get(s, rec->network), id, e;
	struct name_key k;
	struct peer_rec *p;
	bool created, pref;

	if (net == NONE)
		return -ENOMEM;
	name_key(&k, net, rec->peering.peer);
	id = tab_insert(&s->peers, &k, &created);
	if (id == NONE) {
		st_net_gc(s, net);
		return -ENOMEM;
	}
	p = peer_at(s, id);
	p->flags &= ~F_STALE;
	if (created) {
		p->rec = rec->peering;
		p->pep_head = NONE;
		p->their = ZH_THEIR_UNKNOWN;
		p->serial = ++s->peers_serial;
		net_at(s, net)->refs++;
		net_at(s, net)->n_unsettled++;
		tab_foreach(&s->effs, e)
		{
			if (eff_at(s, e)->net == net && !strcmp(eff_at(s, e)->origin, p->name))
				p->n_effs++;
		}
		net_settle_check(s, net);
		net_mark_effs(s, net, p->name);
		s->peers_gen++;
		return 1;
	}
	if (peering_same(&p->rec, &rec->peering))
		return 0;
	pref = p->rec.preference != rec->peering.preference;
	peer_mark_policies(s, id); /* the grant may change our export's scope */
	p = peer_at(s, id);
	p->rec = rec->peering;
	peer_mark_policies(s, id);
	if (pref)
		peer_mark_eps(s, id);
	s->peers_gen++;
	return 1;
}

int st_peering_delete(struct zh_state *s, const struct zh_record *key)
{
	uint32_t id = peer_find_names(s, key->network, key->peering.peer);

	if (id == NONE)
		return 0;
	peer_remove(s, id);
	return 1;
}

/* --- exports ---------------------------------------------------------------------- */

/* The receiver entries of the network's peers granted this policy. */
static void export_mark(struct zh_state *s, uint32_t net, const char *policy)
{
	uint32_t id;

	tab_foreach(&s->peers, id)
	{
		if (peer_at(s, id)->net == net && !strcmp(peer_at(s, id)->rec.grant, policy))
			peer_mark_policies(s, id);
	}
}

int st_export_put(struct zh_state *s, const struct zh_record *rec)
{
	uint32_t net = st_net_get(s, rec->network), id;
	struct name_key k;
	struct exp_rec *e;
	bool created;

	if (net == NONE)
		return -ENOMEM;
	name_key(&k, net, rec->policy);
	id = tab_insert(&s->exps, &k, &created);
	if (id == NONE) {
		st_net_gc(s, net);
		return -ENOMEM;
	}
	e = tab_rec(&s->exps, id);
	e->flags &= ~F_STALE;
	if (!created && export_same(&e->exp, &rec->exp))
		return 0;
	if (created)
		net_at(s, net)->refs++;
	else
		export_mark(s, net, rec->policy);
	e = tab_rec(&s->exps, id);
	e->exp = rec->exp;
	export_mark(s, net, rec->policy);
	return 1;
}

static void export_remove(struct zh_state *s, uint32_t id)
{
	struct exp_rec *e = tab_rec(&s->exps, id);
	char name[ZH_NAME_MAX + 1];
	uint32_t net = e->net;

	snprintf(name, sizeof(name), "%s", e->name);
	export_mark(s, net, name);
	tab_remove(&s->exps, id);
	net_at(s, net)->refs--;
	st_net_gc(s, net);
}

int st_export_delete(struct zh_state *s, const struct zh_record *key)
{
	uint32_t net = st_net_find(s, key->network), id;
	struct name_key k;

	if (net == NONE)
		return 0;
	name_key(&k, net, key->policy);
	id = tab_find(&s->exps, &k);
	if (id == NONE)
		return 0;
	export_remove(s, id);
	return 1;
}

/* --- listings -------------------------------------------------------------------------- */

void st_peering_keep(struct zh_state *s, const struct zh_record *key)
{
	uint32_t net = st_net_find(s, key->network), id = NONE;
	struct name_key k;

	if (net == NONE)
		return;
	switch (key->kind) {
	case ZH_REC_PEERING:
		id = peer_find(s, net, key->peering.peer);
		if (id != NONE)
			peer_at(s, id)->flags &= ~F_STALE;
		break;
	case ZH_REC_EXPORT:
		name_key(&k, net, key->policy);
		id = tab_find(&s->exps, &k);
		if (id != NONE)
			((struct exp_rec *)tab_rec(&s->exps, id))->flags &= ~F_STALE;
		break;
	case ZH_REC_EFFECTIVE:
		id = eff_find(s, net, key->eff.prefix.addr, key->eff.prefix.len);
		if (id != NONE)
			eff_at(s, id)->flags &= ~F_STALE;
		break;
	}
}

/* Mark the peers (or effective routes) of net (NONE: of every network). */
static void peers_stale(struct zh_state *s, uint32_t net)
{
	uint32_t id;

	tab_foreach(&s->peers, id)
	{
		if (net == NONE || peer_at(s, id)->net == net)
			peer_at(s, id)->flags |= F_STALE;
	}
}

static void effs_stale(struct zh_state *s, uint32_t net)
{
	uint32_t id;

	tab_foreach(&s->effs, id)
	{
		if (net == NONE || eff_at(s, id)->net == net)
			eff_at(s, id)->flags |= F_STALE;
	}
}

static void peers_sweep(struct zh_state *s)
{
	uint32_t id;

	tab_foreach(&s->peers, id)
	{
		if (peer_at(s, id)->flags & F_STALE)
			peer_remove(s, id);
	}
}

static void effs_sweep(struct zh_state *s)
{
	uint32_t id;

	tab_foreach(&s->effs, id)
	{
		if (eff_at(s, id)->flags & F_STALE)
			eff_remove(s, id);
	}
}

static void net_listed(struct zh_state *s, uint32_t net, uint8_t flag)
{
	if (!(net_at(s, net)->flags & flag)) {
		net_at(s, net)->flags |= flag;
		/* Peer routes of peerings it does not have stop being usable. */
		net_mark_effs(s, net, NULL);
	}
	net_settle_check(s, net);
}

void st_peering_resync_begin(struct zh_state *s, unsigned int kinds)
{
	uint32_t id;

	if (kinds & ZH_KIND(ZH_REC_PEERING))
		peers_stale(s, NONE);
	if (kinds & ZH_KIND(ZH_REC_EFFECTIVE))
		effs_stale(s, NONE);
	if (kinds & ZH_KIND(ZH_REC_EXPORT))
		tab_foreach(&s->exps, id)((struct exp_rec *)tab_rec(&s->exps, id))->flags |= F_STALE;
}

void st_peering_resync_end(struct zh_state *s, unsigned int kinds)
{
	uint32_t id;

	if (kinds & ZH_KIND(ZH_REC_PEERING))
		peers_sweep(s);
	if (kinds & ZH_KIND(ZH_REC_EFFECTIVE))
		effs_sweep(s);
	if (kinds & ZH_KIND(ZH_REC_EXPORT))
		tab_foreach(&s->exps, id)
		{
			if (((struct exp_rec *)tab_rec(&s->exps, id))->flags & F_STALE)
				export_remove(s, id);
		}
	/* A whole listing (the file): every network's peerings are known. */
	tab_foreach(&s->nets, id)
	{
		if (kinds & ZH_KIND(ZH_REC_PEERING))
			net_listed(s, id, F_PEERINGS_LISTED);
		if (kinds & ZH_KIND(ZH_REC_EFFECTIVE))
			net_listed(s, id, F_EFF_LISTED);
	}
}

void st_exports_stale(struct zh_state *s, uint32_t net)
{
	uint32_t id;

	tab_foreach(&s->exps, id)
	{
		struct exp_rec *e = tab_rec(&s->exps, id);

		if (e->net == net)
			e->flags |= F_STALE;
	}
}

void st_exports_sweep(struct zh_state *s, uint32_t net, bool all)
{
	uint32_t id;

	tab_foreach(&s->exps, id)
	{
		struct exp_rec *e = tab_rec(&s->exps, id);

		if (e->net == net && (all || (e->flags & F_STALE)))
			export_remove(s, id);
	}
}

void zh_state_peerings_begin(struct zh_state *s, const char *net)
{
	uint32_t n = st_net_find(s, net);

	if (n != NONE)
		peers_stale(s, n);
}

void zh_state_peerings_end(struct zh_state *s, const char *net)
{
	uint32_t n = st_net_get(s, net), id;

	if (n == NONE)
		return;
	tab_foreach(&s->peers, id)
	{
		if (peer_at(s, id)->net == n && (peer_at(s, id)->flags & F_STALE))
			peer_remove(s, id);
	}
	net_listed(s, n, F_PEERINGS_LISTED);
	st_net_gc(s, n);
}

void zh_state_effective_begin(struct zh_state *s, const char *net)
{
	uint32_t n = st_net_find(s, net);

	if (n != NONE)
		effs_stale(s, n);
}

void zh_state_effective_end(struct zh_state *s, const char *net)
{
	uint32_t n = st_net_get(s, net), id;

	if (n == NONE)
		return;
	tab_foreach(&s->effs, id)
	{
		if (eff_at(s, id)->net == n && (eff_at(s, id)->flags & F_STALE))
			eff_remove(s, id);
	}
	net_listed(s, n, F_EFF_LISTED);
	st_net_gc(s, n);
}

void zh_state_peerings_forget(struct zh_state *s, const char *net)
{
	uint32_t n = st_net_find(s, net), id;

	if (n == NONE)
		return;
	tab_foreach(&s->peers, id)
	{
		if (peer_at(s, id)->net == n)
			peer_remove(s, id);
	}
	tab_foreach(&s->effs, id)
	{
		if (eff_at(s, id)->net == n)
			eff_remove(s, id);
	}
	net_at(s, n)->flags &= ~(F_PEERINGS_LISTED | F_EFF_LISTED);
	net_settle_check(s, n);
	st_net_gc(s, n);
}

/* --- the peer's shard ---------------------------------------------------------------- */

int zh_state_peer_their(struct zh_state *s, const char *net, const char *peer, bool exists,
			const char *grant)
{
	uint32_t pid = peer_find_names(s, net, peer), id;
	struct peer_rec *p;

	if (pid == NONE)
		return 0;
	p = peer_at(s, pid);
	if (!exists) {
		if (p->their == ZH_THEIR_ABSENT)
			return 0;
		peer_drop_view(s, pid);
		p = peer_at(s, pid);
		p->their = ZH_THEIR_ABSENT;
		p->their_grant[0] = 0;
		net_mark_effs(s, p->net, p->name);
		s->peers_gen++;
		peer_refresh(s, pid);
		net_recheck_clashes(s, p->net);
		return 1;
	}
	if (p->their == ZH_THEIR_PRESENT && !strcmp(p->their_grant, grant))
		return 0;
	if (p->their != ZH_THEIR_PRESENT)
		net_mark_effs(s, p->net, p->name);
	p->their = ZH_THEIR_PRESENT;
	snprintf(p->their_grant, sizeof(p->their_grant), "%s", grant);
	if (strcmp(p->view_policy, grant)) {
		/* Another view: what we have of the old one keeps forwarding
		 * until the new one is listed (mark and sweep).
		 */
		for (id = p->pep_head; id != NONE; id = pep_at(s, id)->next)
			pep_at(s, id)->flags |= F_STALE;
		p->flags |= P_META_STALE;
		p->flags &= ~P_VIEW_LISTED;
		snprintf(p->view_policy, sizeof(p->view_policy), "%s", grant);
	}
	s->peers_gen++;
	peer_refresh(s, pid);
	return 1;
}

/* The peer, if the view records of this policy are its current ones. */
static uint32_t view_peer(struct zh_state *s, const char *net, const char *peer,
			  const char *policy)
{
	uint32_t pid = peer_find_names(s, net, peer);

	if (pid == NONE || peer_at(s, pid)->their != ZH_THEIR_PRESENT ||
	    strcmp(peer_at(s, pid)->view_policy, policy))
		return NONE;
	return pid;
}

void zh_state_peer_view_begin(struct zh_state *s, const char *net, const char *peer,
			      const char *policy)
{
	uint32_t pid = view_peer(s, net, peer, policy), id;

	if (pid == NONE)
		return;
	for (id = peer_at(s, pid)->pep_head; id != NONE; id = pep_at(s, id)->next)
		pep_at(s, id)->flags |= F_STALE;
	peer_at(s, pid)->flags |= P_META_STALE;
}

/* The view's meta is gone: the peer is not programmed. */
static void meta_gone(struct zh_state *s, uint32_t pid)
{
	struct peer_rec *p;

	peer_deactivate(s, pid);
	p = peer_at(s, pid);
	p->vni = 0;
	memset(&p->meta, 0, sizeof(p->meta));
	p->flags &= ~P_META_STALE;
	net_mark_effs(s, p->net, p->name);
}

void zh_state_peer_view_end(struct zh_state *s, const char *net, const char *peer,
			    const char *policy)
{
	uint32_t pid = view_peer(s, net, peer, policy), id, next;
	struct peer_rec *p;

	if (pid == NONE)
		return;
	for (id = peer_at(s, pid)->pep_head; id != NONE; id = next) {
		next = pep_at(s, id)->next;
		if (pep_at(s, id)->flags & F_STALE)
			pep_remove(s, id);
	}
	if (peer_at(s, pid)->flags & P_META_STALE)
		meta_gone(s, pid);
	p = peer_at(s, pid);
	if (!(p->flags & P_VIEW_LISTED)) {
		p->flags |= P_VIEW_LISTED;
		net_mark_effs(s, p->net, p->name);
	}
	peer_refresh(s, pid);
	net_recheck_clashes(s, peer_at(s, pid)->net);
}

int zh_state_peer_view_put(struct zh_state *s, const char *net, const char *peer,
			   const struct zh_record *rec, char *err, size_t errlen)
{
	uint32_t pid = view_peer(s, net, peer, rec->policy);
	const struct zh_rec_pub_meta *m = &rec->meta;
	struct peer_rec *p;
	char dummy[8];

	if (!err) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (pid == NONE || strcmp(rec->network, peer))
		return 0;
	p = peer_at(s, pid);
	switch (rec->kind) {
	case ZH_REC_PUB_META:
		p->flags &= ~P_META_STALE;
		if (p->vni == m->vni && export_same(&p->meta, &m->scope))
			return 0;
		if (p->vni == m->vni && (p->flags & P_ACTIVE)) {
			/* Same VNI: only the sender entries change. */
			peer_mark_policies(s, pid);
			peer_at(s, pid)->meta = m->scope;
			peer_mark_policies(s, pid);
			return 1;
		}
		peer_deactivate(s, pid);
		p = peer_at(s, pid);
		p->vni = m->vni;
		p->meta = m->scope;
		net_mark_effs(s, p->net, p->name);
		peer_refresh(s, pid);
		net_recheck_clashes(s, peer_at(s, pid)->net);
		return 1;
	case ZH_REC_PUB_ENDPOINT:
		return pep_put(s, pid, &rec->ep, err, errlen);
	default:
		return 0; /* routes: the shard's effective table has them */
	}
}

void zh_state_peer_view_keep(struct zh_state *s, const char *net, const char *peer,
			     const struct zh_record *key)
{
	uint32_t pid = view_peer(s, net, peer, key->policy), id;

	if (pid == NONE || strcmp(key->network, peer))
		return;
	if (key->kind == ZH_REC_PUB_META && peer_at(s, pid)->vni) {
		peer_at(s, pid)->flags &= ~P_META_STALE;
	} else if (key->kind == ZH_REC_PUB_ENDPOINT) {
		id = pep_find(s, pid, key->ep.ip);
		if (id != NONE)
			pep_at(s, id)->flags &= ~F_STALE;
	}
}

int zh_state_peer_view_delete(struct zh_state *s, const char *net, const char *peer,
			      const struct zh_record *key)
{
	uint32_t pid = view_peer(s, net, peer, key->policy), id;

	if (pid == NONE || strcmp(key->network, peer))
		return 0;
	switch (key->kind) {
	case ZH_REC_PUB_META:
		if (!peer_at(s, pid)->vni)
			return 0;
		meta_gone(s, pid);
		peer_refresh(s, pid);
		net_recheck_clashes(s, peer_at(s, pid)->net);
		return 1;
	case ZH_REC_PUB_ENDPOINT:
		id = pep_find(s, pid, key->ep.ip);
		if (id == NONE)
			return 0;
		pep_remove(s, id);
		return 1;
	default:
		return 0;
	}
}

/* --- queries --------------------------------------------------------------------------- */

bool zh_state_policy(struct zh_state *s, const struct zh_policy_key *key, struct zh_policy *val)
{
	struct zh_rec_export scope;
	struct zh_cidr c;
	uint32_t net, pid;

	if (key->prefixlen < 64 || key->prefixlen > 96)
		return false;
	c.addr = key->addr;
	c.len = key->prefixlen - 64;
	memset(val, 0, sizeof(*val));
	/* The exporting network is ours: what it grants the peer. */
	net = st_vni_net(s, key->vni);
	pid = net == NONE ? NONE : peervni_find(s, net, key->peer_vni);
	if (pid != NONE && receiver_scope(s, pid, &scope) && scope_has_exact(&scope, &c)) {
		val->protocols = scope.protocols;
		return true;
	}
	/* The importing network is ours: what the peer grants it. */
	net = st_vni_net(s, key->peer_vni);
	pid = net == NONE ? NONE : peervni_find(s, net, key->vni);
	if (pid != NONE && scope_has_exact(&peer_at(s, pid)->meta, &c)) {
		val->protocols = peer_at(s, pid)->meta.protocols;
		return true;
	}
	return false;
}

static int policy_key_cb(zh_state_policy_cb cb, void *ctx, uint32_t vni, uint32_t peer_vni,
			 const struct zh_cidr *c)
{
	struct zh_policy_key k;

	memset(&k, 0, sizeof(k));
	k.prefixlen = 64 + c->len;
	k.vni = vni;
	k.peer_vni = peer_vni;
	k.addr = c->addr;
	return cb(&k, ctx);
}

int zh_state_foreach_policy(struct zh_state *s, zh_state_policy_cb cb, void *ctx)
{
	struct zh_rec_export scope;
	uint32_t id, vni;
	int i, err = 0;

	tab_foreach(&s->peers, id)
	{
		struct peer_rec *p = peer_at(s, id);

		if (!(p->flags & P_ACTIVE) || !st_programmed(s, p->net))
			continue;
		vni = net_at(s, p->net)->vni;
		for (i = 0; !err && i < p->meta.n_prefixes; i++)
			err = policy_key_cb(cb, ctx, p->vni, vni, &p->meta.prefixes[i]);
		if (!err && receiver_scope(s, id, &scope))
			for (i = 0; !err && i < scope.n_prefixes; i++)
				err = policy_key_cb(cb, ctx, vni, p->vni, &scope.prefixes[i]);
		if (err)
			return err;
	}
	return 0;
}

bool zh_state_vni_unsettled(struct zh_state *s, uint32_t vni)
{
	uint32_t net = st_vni_net(s, vni);

	return net != NONE && !(net_at(s, net)->flags & F_SETTLED);
}

bool zh_state_take_settled(struct zh_state *s)
{
	bool r = s->settled_event;

	s->settled_event = false;
	return r;
}

uint64_t zh_state_peers_gen(const struct zh_state *s)
{
	return s->peers_gen;
}

int zh_state_foreach_network(struct zh_state *s, zh_state_net_cb cb, void *ctx)
{
	uint32_t id;
	int err;

	tab_foreach(&s->vnis, id)
	{
		const struct vni_rec *v = tab_rec(&s->vnis, id);

		err = cb(net_at(s, v->net)->name, v->vni, ctx);
		if (err)
			return err;
	}
	return 0;
}

int zh_state_foreach_peer(struct zh_state *s, zh_state_peer_cb cb, void *ctx)
{
	struct zh_rec_export scope;
	struct zh_peer_info info;
	uint32_t id;
	int err;

	tab_foreach(&s->peers, id)
	{
		struct peer_rec *p = peer_at(s, id);
		bool programmed = (p->flags & P_ACTIVE) && st_programmed(s, p->net);

		memset(&info, 0, sizeof(info));
		info.network = net_at(s, p->net)->name;
		info.peer = p->name;
		info.rec = &p->rec;
		info.serial = p->serial;
		info.their = p->their;
		info.their_grant = p->their_grant;
		info.vni = p->vni;
		info.active = p->flags & P_ACTIVE;
		info.known = peer_known(p);
		info.clash = p->flags & P_CLASH;
		info.endpoints = p->n_peps;
		info.routes = programmed ? p->n_effs : 0;
		if (programmed)
			info.policies = p->meta.n_prefixes +
					(receiver_scope(s, id, &scope) ? scope.n_prefixes : 0);
		err = cb(&info, ctx);
		if (err)
			return err;
	}
	return 0;
}
