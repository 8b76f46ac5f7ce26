/* SPDX-License-Identifier: GPL-2.0-only */
/* The agent's desired state: what this host's maps should hold, built from
 * data-model records (controller/model.h) of any source. Pure: no system
 * calls, no maps; reconcile.c compares it with the pinned maps.
 *
 * - Ports: this host's port records (hosts/<me>/ports/<ifname>).
 * - A network is active when it has a network record (its VNI) and at
 *   least one local port; only active networks are programmed. Two active
 *   networks with one VNI: the first keeps it, the other is reported.
 * - Endpoints: every endpoint record of an active network whose host is
 *   not this one; routes: every route record of an active network.
 *
 * Memory per endpoint is a fixed 28-byte record plus its index slot: no
 * JSON and no host names are kept (the host is compared at ingest).
 *
 * - Peering (state_peer.c): a programmed network's peerings (its own
 *   records networks/<net>/peerings/<peer>), what each peer's shard says
 *   (the peer's record for us and the view it grants), the network's
 *   exports and its effective routes. An active peer's view endpoints
 *   become endpoints of the local network that leave with the peer's
 *   VNI; effective routes won by a usable peer become routes; and both
 *   export policies of an active peering become zh_policy entries.
 *
 * Every change marks the map keys it affects dirty (endpoint, route and
 * policy keys, port names), except during a resync: then the caller
 * reconciles everything at its end (mark and sweep).
 */
#ifndef ZH_AGENT_STATE_H
#define ZH_AGENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "zh_shared.h"

/* Record kinds as a mask, for resyncs of a part of the key space. */
#define ZH_KIND(k) (1u << (k))
#define ZH_KINDS_NETWORKS (ZH_KIND(ZH_REC_NETWORK) | ZH_KIND(ZH_REC_ENDPOINT) | \
			   ZH_KIND(ZH_REC_ROUTE) | ZH_KIND(ZH_REC_EXPORT))
#define ZH_KINDS_HOST     (ZH_KIND(ZH_REC_HOST) | ZH_KIND(ZH_REC_PORT))
/* A network's peering records and effective routes: listed per network
 * from etcd (zh_state_peerings_begin ...), with everything from a file.
 */
#define ZH_KINDS_PEERING  (ZH_KIND(ZH_REC_PEERING) | ZH_KIND(ZH_REC_EFFECTIVE))
#define ZH_KINDS_ALL      (ZH_KINDS_NETWORKS | ZH_KINDS_HOST | ZH_KINDS_PEERING)

struct zh_state;

/* Called for a conflict found while programming (a VNI used by two
 * networks, an address used by two ports): one line naming the objects.
 */
typedef void (*zh_state_warn_fn)(void *ctx, const char *msg);

/* host: this host's name (port records of other hosts are ignored,
 * endpoints on this host come from ports, not from endpoint records).
 */
struct zh_state *zh_state_new(const char *host, zh_state_warn_fn warn, void *ctx);
void zh_state_free(struct zh_state *s);

/* Apply a validated record (put). 1: the desired state changed, 0: no
 * change or not for this host, -EINVAL: refused (reason in err, nothing
 * changed), -ENOMEM.
 */
int zh_state_put(struct zh_state *s, const struct zh_record *rec, char *err, size_t errlen);
/* Remove what the key (from zh_key_parse) produced. 1 changed, 0 not. */
int zh_state_delete(struct zh_state *s, const struct zh_record *key);
/* A resync is listing this key but its new value was refused: keep what
 * it produced before (so the sweep does not remove it).
 */
void zh_state_keep(struct zh_state *s, const struct zh_record *key);

/* A full listing of the kinds in mask starts: everything of those kinds
 * is marked stale; puts clear the mark. resync_end removes what is still
 * stale. Between the two no keys are marked dirty.
 */
void zh_state_resync_begin(struct zh_state *s, unsigned int kinds);
void zh_state_resync_end(struct zh_state *s, unsigned int kinds);
bool zh_state_resyncing(const struct zh_state *s);

/* The same for one network's own records (the etcd source lists each
 * served network on its own): a listing of net's records of these kinds
 * (ZH_REC_NETWORK, ZH_REC_ENDPOINT, ZH_REC_ROUTE, ZH_REC_EXPORT bits)
 * marks only them stale, and net_resync_end sweeps only them. While any
 * such listing is in flight zh_state_resyncing() is true: no keys are
 * marked dirty, the caller reconciles everything when it ends. Every
 * begin needs its end (a subscription closed mid-listing ends it too).
 */
void zh_state_net_resync_begin(struct zh_state *s, const char *net, unsigned int kinds);
void zh_state_net_resync_end(struct zh_state *s, const char *net, unsigned int kinds);
/* No longer read (the host stopped serving net): its own records of these
 * kinds leave the state; their map keys are marked dirty (unless a
 * listing is in flight).
 */
void zh_state_net_forget(struct zh_state *s, const char *net, unsigned int kinds);

/* --- queries for reconciliation, by map key ---------------------------- */

#define ZH_WANT_REMOTE 1u /* an endpoint record: *val filled in */
#define ZH_WANT_LOCAL  2u /* a desired port of this host has this address */

/* What zh_endpoints[key] should be. mark: remember that the map has the
 * key (for zh_state_endpoints_unmarked).
 */
unsigned int zh_state_endpoint(struct zh_state *s, const struct zh_ep_key *key,
			       struct zh_endpoint *val, bool mark);
/* What zh_routes[key] should be: true and *val, or false. */
bool zh_state_route(struct zh_state *s, const struct zh_route_key *key, struct zh_route *val,
		    bool mark);
/* What zh_policy[key] should be: true and *val, or false. */
bool zh_state_policy(struct zh_state *s, const struct zh_policy_key *key, struct zh_policy *val);

/* Every desired endpoint (remote, in an active network) or route not
 * marked since the last call, with ZH_WANT_* flags; clears all marks. cb
 * returns 0 to go on.
 */
typedef int (*zh_state_ep_cb)(const struct zh_ep_key *key, const struct zh_endpoint *val,
			      unsigned int want, void *ctx);
typedef int (*zh_state_route_cb)(const struct zh_route_key *key, const struct zh_route *val,
				 void *ctx);
int zh_state_endpoints_unmarked(struct zh_state *s, zh_state_ep_cb cb, void *ctx);
int zh_state_routes_unmarked(struct zh_state *s, zh_state_route_cb cb, void *ctx);
/* Every desired zh_policy key (a key may come twice: both networks of a
 * peering on this host); cb returns 0 to go on.
 */
typedef int (*zh_state_policy_cb)(const struct zh_policy_key *key, void *ctx);
int zh_state_foreach_policy(struct zh_state *s, zh_state_policy_cb cb, void *ctx);
/* The programmed network of vni does not know all its peers yet (agent
 * start, a peer shard not reached): entries that lead into another VNI
 * which nothing desires now may still be a peer's, and stay (fail static).
 */
bool zh_state_vni_unsettled(struct zh_state *s, uint32_t vni);
/* A network became settled since the last call. */
bool zh_state_take_settled(struct zh_state *s);

/* A desired port: its network's VNI is known and programmed (ready) or
 * not yet.
 */
struct zh_port_want {
	char ifname[ZH_IFNAMSIZ];
	char network[ZH_NAME_MAX + 1];
	bool ready;
	uint32_t vni;
	uint8_t mac[6];
	uint32_t ip;
};

bool zh_state_port(const struct zh_state *s, const char *ifname, struct zh_port_want *out);
typedef int (*zh_state_port_cb)(const struct zh_port_want *p, void *ctx);
int zh_state_foreach_port(const struct zh_state *s, zh_state_port_cb cb, void *ctx);

/* --- dirty keys --------------------------------------------------------- */

/* The keys marked since the last clear, without duplicates. Valid until
 * the next change of the state.
 */
struct zh_dirty {
	const struct zh_ep_key *eps;
	uint32_t n_eps;
	const struct zh_route_key *routes;
	uint32_t n_routes;
	const char (*ports)[ZH_IFNAMSIZ];
	uint32_t n_ports;
	const struct zh_policy_key *policies;
	uint32_t n_policies;
};

void zh_state_dirty(const struct zh_state *s, struct zh_dirty *d);
bool zh_state_has_dirty(const struct zh_state *s);
void zh_state_dirty_clear(struct zh_state *s);
/* Mark a key again (a write to retry, an interface that came or went). */
int zh_state_mark_endpoint(struct zh_state *s, const struct zh_ep_key *key);
int zh_state_mark_route(struct zh_state *s, const struct zh_route_key *key);
int zh_state_mark_port(struct zh_state *s, const char *ifname);
int zh_state_mark_policy(struct zh_state *s, const struct zh_policy_key *key);

struct zh_state_counts {
	uint32_t networks;          /* known network records */
	uint32_t networks_active;   /* programmed */
	uint32_t endpoints;         /* endpoint records kept (any network) */
	uint32_t routes;
	uint32_t ports;
	uint32_t peers;             /* peering records of programmed networks */
	uint32_t peers_active;
	uint32_t peer_endpoints;    /* view endpoints held */
	uint32_t effective_routes;  /* effective routes won by peers */
};

void zh_state_counts(const struct zh_state *s, struct zh_state_counts *c);
/* Bytes allocated for the state (tables and indexes). */
size_t zh_state_memory(const struct zh_state *s);

/* --- peering (state_peer.c) ----------------------------------------------- */

/* What the peer's shard says of a peering: its record for us
 * (networks/<peer>/peerings/<net>) exists or not, or nothing was read yet.
 */
enum zh_peer_their {
	ZH_THEIR_UNKNOWN = 0,
	ZH_THEIR_ABSENT,
	ZH_THEIR_PRESENT,
};

/* A listing of networks/<net>/peerings/ (or of effective/<net>/routes/)
 * on this host's shard starts / ended: the network's peers (effective
 * routes) not listed again go at the end. Puts and deletes go through
 * zh_state_put/zh_state_delete (ZH_REC_PEERING, ZH_REC_EFFECTIVE). Unlike
 * zh_state_resync_begin, keys stay marked dirty meanwhile.
 */
void zh_state_peerings_begin(struct zh_state *s, const char *net);
void zh_state_peerings_end(struct zh_state *s, const char *net);
void zh_state_effective_begin(struct zh_state *s, const char *net);
void zh_state_effective_end(struct zh_state *s, const char *net);
/* The network's peering subscriptions were closed (it is no longer
 * programmed here): its peers and effective routes are dropped.
 */
void zh_state_peerings_forget(struct zh_state *s, const char *net);

/* From the peer's shard, for the peering net -> peer: its record for us
 * exists with this grant, or not. 1 changed, 0 not (or no such peering).
 */
int zh_state_peer_their(struct zh_state *s, const char *net, const char *peer, bool exists,
			const char *grant);
/* The view published/<peer>/<policy>/ is listed (begin/end: what is not
 * listed again goes at the end), and changes (ZH_REC_PUB_META,
 * ZH_REC_PUB_ENDPOINT; PUB_ROUTE is ignored: routes come from effective/).
 * Anything of another policy than the peer's current grant is ignored.
 * put: 1 changed, 0 not or ignored, -EINVAL (reason in err), -ENOMEM.
 */
void zh_state_peer_view_begin(struct zh_state *s, const char *net, const char *peer,
			      const char *policy);
void zh_state_peer_view_end(struct zh_state *s, const char *net, const char *peer,
			    const char *policy);
int zh_state_peer_view_put(struct zh_state *s, const char *net, const char *peer,
			   const struct zh_record *rec, char *err, size_t errlen);
int zh_state_peer_view_delete(struct zh_state *s, const char *net, const char *peer,
			      const struct zh_record *key);
/* A listed view record was refused: what its key held stays. */
void zh_state_peer_view_keep(struct zh_state *s, const char *net, const char *peer,
			     const struct zh_record *key);

/* Changes whenever a network is (un)programmed, or a peering is added,
 * removed or changed (connection, grants): peering connections follow.
 */
uint64_t zh_state_peers_gen(const struct zh_state *s);
/* Every programmed network; cb returns 0 to go on. */
typedef int (*zh_state_net_cb)(const char *name, uint32_t vni, void *ctx);
int zh_state_foreach_network(struct zh_state *s, zh_state_net_cb cb, void *ctx);

struct zh_peer_info {
	const char *network;               /* the local network */
	const char *peer;
	const struct zh_rec_peering *rec;  /* our record for it */
	uint32_t serial;                   /* changes when the peering is re-created */
	unsigned int their;                /* enum zh_peer_their */
	const char *their_grant;           /* what it grants us ("" unknown, absent) */
	uint32_t vni;                      /* its VNI from the view's meta; 0: none */
	bool active;                       /* programmed */
	bool known;                        /* its state since start is known */
	bool clash;                        /* its VNI clashes (not programmed) */
	uint32_t endpoints;                /* view endpoints held */
	uint32_t routes;                   /* effective routes it won */
	uint32_t policies;                 /* zh_policy entries of the peering */
};

typedef int (*zh_state_peer_cb)(const struct zh_peer_info *p, void *ctx);
int zh_state_foreach_peer(struct zh_state *s, zh_state_peer_cb cb, void *ctx);

#endif /* ZH_AGENT_STATE_H */
