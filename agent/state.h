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
 * Every change marks the map keys it affects dirty (endpoint and route
 * keys under the network's VNI, port names), except during a resync: then
 * the caller reconciles everything at its end (mark and sweep).
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
#define ZH_KINDS_NETWORKS (ZH_KIND(ZH_REC_NETWORK) | ZH_KIND(ZH_REC_ENDPOINT) | ZH_KIND(ZH_REC_ROUTE))
#define ZH_KINDS_HOST     (ZH_KIND(ZH_REC_HOST) | ZH_KIND(ZH_REC_PORT))
#define ZH_KINDS_ALL      (ZH_KINDS_NETWORKS | ZH_KINDS_HOST)

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
};

void zh_state_dirty(const struct zh_state *s, struct zh_dirty *d);
bool zh_state_has_dirty(const struct zh_state *s);
void zh_state_dirty_clear(struct zh_state *s);
/* Mark a key again (a write to retry, an interface that came or went). */
int zh_state_mark_endpoint(struct zh_state *s, const struct zh_ep_key *key);
int zh_state_mark_route(struct zh_state *s, const struct zh_route_key *key);
int zh_state_mark_port(struct zh_state *s, const char *ifname);

struct zh_state_counts {
	uint32_t networks;          /* known network records */
	uint32_t networks_active;   /* programmed */
	uint32_t endpoints;         /* endpoint records kept (any network) */
	uint32_t routes;
	uint32_t ports;
};

void zh_state_counts(const struct zh_state *s, struct zh_state_counts *c);
/* Bytes allocated for the state (tables and indexes). */
size_t zh_state_memory(const struct zh_state *s);

#endif /* ZH_AGENT_STATE_H */
