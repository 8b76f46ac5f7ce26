/* SPDX-License-Identifier: GPL-2.0-only */
/* Internals of the agent's desired state, shared by state.c (networks,
 * endpoints, routes, ports) and state_peer.c (peerings: peers, their
 * views, exports, effective routes, export policies). Not an API.
 */
#ifndef ZH_AGENT_STATE_INT_H
#define ZH_AGENT_STATE_INT_H

#include "state.h"
#include <stdio.h>

#include "tab.h"

/* flags of every record kind */
#define F_STALE      0x01 /* not listed again (yet) in a resync */
#define F_SEEN       0x02 /* the map has it (full reconcile) */
/* network flags */
#define F_HAS_REC    0x04 /* its record is there */
#define F_PROGRAMMED 0x08 /* active and owner of its VNI */
#define F_CLASH      0x10 /* a VNI clash was reported */
#define F_PEERINGS_LISTED 0x20 /* its peering records have been listed */
#define F_EFF_LISTED 0x40 /* its effective routes have been listed */
#define F_SETTLED    0x80 /* both listed and every peer known: stale peer entries may go */

struct net_rec {
	char name[ZH_NAME_MAX + 1]; /* key */
	uint32_t vni;
	uint32_t n_ports;
	uint32_t ep_head;
	uint32_t route_head;
	uint32_t refs;           /* peers, exports and effective routes of it */
	uint32_t n_unsettled;    /* its peers whose state is not known yet */
	unsigned int listing;    /* kinds of its records being listed (net_resync) */
	struct zh_cidr *cidrs;   /* from its record: an export without prefixes */
	uint8_t n_cidrs;
	uint8_t flags;
};

struct ep_rec {
	uint32_t net; /* key: network id, address */
	uint32_t ip;
	uint32_t host_ip;
	uint32_t next, prev; /* in the network's list */
	uint8_t mac[6];
	uint8_t encap;
	uint8_t flags;
};

_Static_assert(sizeof(struct ep_rec) == 28, "endpoint record stays small");

struct route_rec {
	uint32_t net; /* key: network id, prefix, length */
	uint32_t prefix;
	uint32_t len;
	uint32_t host_ip;
	uint32_t next, prev;
	uint8_t drop;
	uint8_t encap;
	uint8_t flags;
	uint8_t pad;
};

struct port_rec {
	char ifname[ZH_IFNAMSIZ]; /* key */
	uint32_t net;
	uint32_t ip;
	uint8_t mac[6];
	uint8_t flags;
	uint8_t pad;
};

/* (network id, address) of a port, for "is this address a local port". */
struct portkey_rec {
	uint32_t net; /* key */
	uint32_t ip;
	uint32_t port;
};

struct vni_rec {
	uint32_t vni; /* key */
	uint32_t net;
};

struct ifname_key {
	char name[ZH_IFNAMSIZ];
};

/* --- peering (state_peer.c) ------------------------------------------------ */

/* peer flags (F_STALE as above) */
#define P_META_STALE  0x02 /* its view is listed again and the meta not seen yet */
#define P_VIEW_LISTED 0x04 /* the view of its current grant was listed */
#define P_ACTIVE      0x08 /* programmed: both sides, a meta, no VNI clash */
#define P_CLASH       0x10 /* a VNI clash was reported */
#define P_SETTLED     0x20 /* known: counted as such in its network */

/* networks/<net>/peerings/<peer> of a local network, and what the peer
 * shows it.
 */
struct peer_rec {
	uint32_t net;                      /* key: the local network */
	char name[ZH_NAME_MAX + 1];        /* key: the peer network */
	struct zh_rec_peering rec;         /* our record for it */
	char their_grant[ZH_NAME_MAX + 1]; /* the policy it grants us */
	char view_policy[ZH_NAME_MAX + 1]; /* the policy its view data is of */
	struct zh_rec_export meta;         /* its view's prefixes and protocols */
	uint32_t vni;                      /* its VNI (the meta's); 0: no meta */
	uint32_t pep_head;
	uint32_t n_peps;
	uint32_t n_effs;                   /* effective routes it won */
	uint32_t serial;                   /* a new one for every record re-created */
	uint8_t their;                     /* enum zh_peer_their */
	uint8_t flags;
};

#define PEER_KEY_LEN (4 + ZH_NAME_MAX + 1)

/* An endpoint of a peer's view: (local network, ip) -> the peer's VM. */
struct pep_rec {
	uint32_t peer; /* key: peer id, address */
	uint32_t ip;
	uint32_t host_ip;
	uint32_t next, prev; /* in the peer's list */
	uint32_t alt;        /* the next peer endpoint with this (network, address) */
	uint8_t mac[6];
	uint8_t encap;
	uint8_t flags;
};

_Static_assert(sizeof(struct pep_rec) == 32, "peer endpoint record stays small");

/* (local network, address) -> the first peer endpoint with it. */
struct pepidx_rec {
	uint32_t net; /* key */
	uint32_t ip;
	uint32_t head;
};

/* (local network, peer VNI) -> its active peer: policies by VNI. */
struct peervni_rec {
	uint32_t net; /* key */
	uint32_t vni;
	uint32_t peer;
};

/* networks/<net>/exports/<policy> */
struct exp_rec {
	uint32_t net;                /* key */
	char name[ZH_NAME_MAX + 1];  /* key */
	struct zh_rec_export exp;
	uint8_t flags;
};

#define EXP_KEY_LEN (4 + ZH_NAME_MAX + 1)

/* effective/<net>/routes/<prefix> won by a peer (local winners are the
 * network's own route records).
 */
struct eff_rec {
	uint32_t net; /* key: network id, prefix, length */
	uint32_t prefix;
	uint32_t len;
	char origin[ZH_NAME_MAX + 1]; /* the peer network */
	uint32_t vni;
	uint32_t host_ip;
	uint8_t drop;
	uint8_t encap;
	uint8_t flags;
	uint8_t pad;
};

struct zh_state {
	char host[ZH_NAME_MAX + 1];
	zh_state_warn_fn warn;
	void *warn_ctx;
	unsigned int resync_kinds;
	uint32_t net_listings; /* per-network listings in flight (net_resync) */

	struct tab nets, eps, routes, ports, portkeys, vnis;
	struct tab peers, peps, pepidx, peervni, exps, effs;
	/* dirty sets: key-only tables, never removed from, so dense */
	struct tab dirty_eps, dirty_routes, dirty_ports, dirty_policies;
	bool settled_event;  /* a network became settled */
	uint64_t peers_gen;  /* what the peering connections follow changed */
	uint32_t peers_serial;
};

static inline struct net_rec *net_at(struct zh_state *s, uint32_t id)
{
	return tab_rec(&s->nets, id);
}

static inline struct peer_rec *peer_at(struct zh_state *s, uint32_t id)
{
	return tab_rec(&s->peers, id);
}

static inline struct pep_rec *pep_at(struct zh_state *s, uint32_t id)
{
	return tab_rec(&s->peps, id);
}

static inline struct eff_rec *eff_at(struct zh_state *s, uint32_t id)
{
	return tab_rec(&s->effs, id);
}

/* A listing is in flight: no keys are marked dirty, the caller reconciles
 * everything after it.
 */
static inline bool st_quiet(const struct zh_state *s)
{
	return s->resync_kinds || s->net_listings;
}

static inline bool st_programmed(struct zh_state *s, uint32_t net)
{
	return net_at(s, net)->flags & F_PROGRAMMED;
}

static inline void st_name_key(char key[ZH_NAME_MAX + 1], const char *name)
{
	memset(key, 0, ZH_NAME_MAX + 1);
	snprintf(key, ZH_NAME_MAX + 1, "%s", name);
}

/* The programmed network of a VNI, or NONE. */
static inline uint32_t st_vni_net(struct zh_state *s, uint32_t vni)
{
	uint32_t id = tab_find(&s->vnis, &vni);

	return id == NONE ? NONE : ((struct vni_rec *)tab_rec(&s->vnis, id))->net;
}

static inline void st_route_key(struct zh_route_key *k, uint32_t vni, uint32_t prefix,
				uint32_t len)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 32 + len;
	k->vni = vni;
	k->ip = prefix;
}

/* state.c */
void st_warnf(struct zh_state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint32_t st_net_find(struct zh_state *s, const char *name);
uint32_t st_net_get(struct zh_state *s, const char *name);
/* Forget a network nothing refers to any more. */
void st_net_gc(struct zh_state *s, uint32_t net);
uint32_t st_ep_find(struct zh_state *s, uint32_t net, uint32_t ip);
uint32_t st_route_find(struct zh_state *s, uint32_t net, uint32_t prefix, uint32_t len);
bool st_port_has(struct zh_state *s, uint32_t net, uint32_t ip);
/* Mark keys for the next flush (not during a resync, and endpoints and
 * routes only of a programmed network).
 */
void st_dirty_ep(struct zh_state *s, uint32_t net, uint32_t ip);
void st_dirty_route(struct zh_state *s, uint32_t net, uint32_t prefix, uint32_t len);
void st_dirty_policy(struct zh_state *s, uint32_t vni, uint32_t peer_vni,
		     const struct zh_cidr *prefix);

/* state_peer.c */
void st_peers_init(struct zh_state *s);
void st_peers_free(struct zh_state *s);
size_t st_peers_memory(const struct zh_state *s);
int st_peering_put(struct zh_state *s, const struct zh_record *rec);
int st_peering_delete(struct zh_state *s, const struct zh_record *key);
int st_export_put(struct zh_state *s, const struct zh_record *rec);
int st_export_delete(struct zh_state *s, const struct zh_record *key);
int st_effective_put(struct zh_state *s, const struct zh_record *rec);
int st_effective_delete(struct zh_state *s, const struct zh_record *key);
void st_peering_keep(struct zh_state *s, const struct zh_record *key);
void st_peering_resync_begin(struct zh_state *s, unsigned int kinds);
void st_peering_resync_end(struct zh_state *s, unsigned int kinds);
/* One network's exports: mark them stale, remove the stale ones (all:
 * every one of them).
 */
void st_exports_stale(struct zh_state *s, uint32_t net);
void st_exports_sweep(struct zh_state *s, uint32_t net, bool all);
/* Everything the network's peers program, under its current VNI. */
void st_peers_dirty_net(struct zh_state *s, uint32_t net);
/* The network's record (VNI, CIDRs) changes: its peers' policy keys are
 * marked before, and after the change its peers are checked again.
 */
void st_peers_mark_policies(struct zh_state *s, uint32_t net);
void st_peers_net_changed(struct zh_state *s, uint32_t net);
/* zh_endpoints / zh_routes value from a peer, when no own record has the key. */
bool st_peer_endpoint(struct zh_state *s, uint32_t net, uint32_t ip, struct zh_endpoint *val,
		      bool mark);
bool st_peer_route(struct zh_state *s, uint32_t net, uint32_t prefix, uint32_t len,
		   struct zh_route *val, bool mark);
int st_peer_endpoints_unmarked(struct zh_state *s, zh_state_ep_cb cb, void *ctx);
int st_peer_routes_unmarked(struct zh_state *s, zh_state_route_cb cb, void *ctx);

#endif /* ZH_AGENT_STATE_INT_H */
