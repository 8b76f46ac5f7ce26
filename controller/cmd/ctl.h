/* SPDX-License-Identifier: GPL-2.0-only */
/* zerohop-controller internals: one process per shard (docs/controller.md).
 *
 * State comes from subscriptions on the shard's etcd (networks/,
 * published/<net>/ and effective/<net>/ of every served network) and on
 * the peers' shards (the peer's peering record for us, and the view it
 * publishes to us). Callbacks only change state and set flags; the main
 * loop does everything that blocks or closes clients: reconcile
 * (debounced), peer connections, ACLs.
 */
#ifndef ZH_CTL_H
#define ZH_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd.h"
#include "model.h"

/* --- logging ---------------------------------------------------------------- */

enum { CTL_ERR, CTL_INFO, CTL_DEBUG };
extern int ctl_log_level;
void ctl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define ctl_err(...) ctl_log(CTL_ERR, __VA_ARGS__)
#define ctl_info(...) ctl_log(CTL_INFO, __VA_ARGS__)
#define ctl_dbg(...) ctl_log(CTL_DEBUG, __VA_ARGS__)

uint64_t ctl_now_ms(void);
/* The first line of a file, without its line end (malloc'ed). */
int ctl_read_password(const char *path, char **out);
void ctl_free_password(char *pw);

/* --- tables -------------------------------------------------------------------- */

/* Fixed-size items by a 64-bit key, stored densely (a view is built from
 * the array directly); removal moves the last item into the hole. Each
 * item has a generation for mark and sweep after a re-listing.
 */
struct dtab {
	size_t size;
	char *items;
	uint64_t *keys;
	unsigned int *gens;
	size_t n, cap;
	uint32_t *slots;           /* open addressing: index + 1, 0 free */
	size_t n_slots;
};

void dtab_init(struct dtab *t, size_t item_size);
void dtab_free(struct dtab *t);
void *dtab_get(const struct dtab *t, uint64_t key);
int dtab_put(struct dtab *t, uint64_t key, const void *item, unsigned int gen);
/* 1 removed, 0 absent. */
int dtab_del(struct dtab *t, uint64_t key);
/* Remove items whose generation is not gen; returns how many. */
size_t dtab_sweep(struct dtab *t, unsigned int gen);
static inline void *dtab_at(const struct dtab *t, size_t i)
{
	return t->items + i * t->size;
}

/* Keys and values as they are in etcd (the actual state), with the
 * revision that made them: an older watch event never undoes a newer
 * write of ours. A deleted key stays as a tombstone (value NULL).
 */
struct kv_entry {
	char *key;
	char *value;
	int64_t rev;
	unsigned int gen;
};

struct kvmap {
	struct kv_entry *e;        /* open addressing, key NULL = free */
	size_t cap, n;             /* n counts tombstones too */
};

struct kv_entry *kvmap_find(const struct kvmap *m, const char *key);
/* Put value (NULL: tombstone) at rev unless the entry is newer. Returns 1
 * when the visible value changed, 0 when not, -ENOMEM.
 */
int kvmap_set(struct kvmap *m, const char *key, const char *value, int64_t rev,
	      unsigned int gen);
/* After a listing at revision rev: drop (as deletes) values whose
 * generation is not gen, and tombstones no newer than rev. Returns how
 * many visible values went away.
 */
size_t kvmap_sweep(struct kvmap *m, unsigned int gen, int64_t rev);
/* Drop the tombstones no newer than rev (the watch is past them). */
void kvmap_prune(struct kvmap *m, int64_t rev);
void kvmap_free(struct kvmap *m);

/* Pointers by string key (open addressing); the key is copied. */
struct shash_ent {
	char *key;
	void *val;
};

struct shash {
	struct shash_ent *e;
	size_t cap, n;
};

void *shash_get(const struct shash *h, const char *key);
/* Insert or replace; 0 or -ENOMEM. */
int shash_put(struct shash *h, const char *key, void *val);
void shash_del(struct shash *h, const char *key);
void shash_free(struct shash *h);

/* --- the controller ---------------------------------------------------------------- */

struct ctl_opts {
	const char *etcd;
	const char *user;
	const char *password_file;
	const char *cacert, *cert, *key;
	char **networks;
	size_t n_networks;
};

struct network;
struct peer;
struct pclient;
struct pwatch;

struct ctl {
	struct ctl_opts opts;
	char *password;
	struct zh_etcd_loop *loop;
	struct zh_etcd *etcd;             /* this shard */
	struct zh_etcd_sub *sub_nets;     /* networks/ */
	bool nets_synced;                 /* first listing of networks/ done */
	unsigned int nets_gen;
	struct network **nets;            /* the served networks */
	size_t n_nets;
	struct shash net_index;           /* name -> struct network */
	/* ACL work that outlives a peer: roles and users to remove */
	struct acl_removal *removals;
	size_t n_removals;
	bool orphans_checked;
	uint64_t acl_retry_ms;
	bool acl_dirty;                   /* some peer's ACL is pending */
	/* this round of ACL work: peerings made ready, passwords checked by
	 * logging in (a bcrypt in etcd each) and set (logged when it ends) */
	size_t acl_ready, acl_logins, acl_set;
	bool acl_busy;                    /* a round is under way */
	bool acl_once;                    /* a round ended since the start */
	/* peer shards: clients by (shard, user), watches by (client, prefix) */
	struct shash clients, watches;
	/* peers peers_sync() has to look at (a full mesh has too many to
	 * look at all of them whenever one changes) */
	struct peer **pq;
	size_t n_pq, cap_pq;
	uint64_t peers_retry_ms;          /* all of them again then (0: never) */
};

struct export_entry {
	char name[ZH_NAME_MAX + 1];
	struct zh_rec_export exp;
	unsigned int gen;
};

struct network {
	struct ctl *ctl;
	char name[ZH_NAME_MAX + 1];
	bool have_rec;
	struct zh_rec_network rec;
	unsigned int rec_gen;
	struct dtab eps;                  /* struct zh_rec_endpoint by address */
	struct dtab routes;               /* struct zh_rec_route by prefix */
	struct export_entry *exports;
	size_t n_exports;
	struct peer **peers;
	size_t n_peers;
	struct shash peer_index;          /* peer name -> struct peer */
	/* actual state on this shard */
	struct zh_etcd_sub *sub_pub, *sub_eff;
	struct kvmap pub, eff;
	bool pub_synced, eff_synced;
	unsigned int pub_gen, eff_gen;
	/* reconcile */
	bool dirty;
	bool views_dirty;                 /* its views too, not just its routes */
	size_t n_published;               /* keys its views had at the last reconcile */
	uint64_t due_ms;
	uint64_t retry_ms;                /* after a failed write */
	bool reconciled_once;
	size_t last_known;                /* peers known at the last reconcile */
};

struct peer {
	struct network *net;
	struct zh_rec_peering rec;        /* our record networks/<net>/peerings/<peer> */
	unsigned int gen;
	bool removed;                     /* the record is gone: tear down */
	bool queued;                      /* in ctl->pq */
	bool restart;                     /* connection settings changed */
	/* the peer's shard */
	struct zh_etcd *client;           /* NULL until connected; == ctl->etcd on this shard */
	struct pclient *pc;               /* the shared client (NULL on this shard) */
	uint64_t retry_ms;                /* connect again after a failure */
	bool down;                        /* its shard is unreachable (logged once) */
	/* networks/<peer>/peerings/<net> there: its own single-key watch when
	 * logged in as the peering's user, else a watch of the prefix
	 * networks/<peer>/peerings/ shared by every served network
	 */
	struct pwatch *w_grant;
	bool grant_synced;
	bool grant_seen;                  /* during a listing */
	bool their_exists;
	char their_grant[ZH_NAME_MAX + 1];
	struct pwatch *w_view;            /* published/<peer>/<their_grant>/ there (shared) */
	char view_policy[ZH_NAME_MAX + 1];
	bool view_synced;
	unsigned int view_gen;
	bool have_meta;
	unsigned int meta_gen;
	uint32_t vni;
	struct dtab routes;               /* struct zh_rec_route from its view */
	/* access control on this shard */
	bool acl_pending;
	char acl_user[ZH_NAME_MAX + 1];   /* the peer_user we made */
	char acl_grant[ZH_NAME_MAX + 1];
};

/* Revoke role from user (deleting the user when that was its last role),
 * and delete the role when drop_role.
 */
struct acl_removal {
	char net[ZH_NAME_MAX + 1];
	char peer[ZH_NAME_MAX + 1];
	char role[2 * ZH_NAME_MAX + 16];
	char user[ZH_NAME_MAX + 1];
	bool drop_role;                   /* and the peering's acl/ record */
};

int ctl_start(struct ctl *c);
void ctl_stop(struct ctl *c);
/* Connections, ACLs and due reconciles; returns how long the loop may
 * sleep (ms).
 */
int ctl_work(struct ctl *c);

/* shard.c helpers used by acl.c */
struct network *ctl_network(struct ctl *c, const char *name);
void ctl_role_name(const char *net, const char *peer, char *buf, size_t size);

/* acl.c */
/* Ensure the peer's etcd user and role on this shard; 0 or -errno. */
int acl_ensure(struct ctl *c, struct peer *p);
/* Queue the removal of the role of peering net -> peer (drop_role) and/or
 * of user from it.
 */
void acl_queue_removal(struct ctl *c, const char *net, const char *peer, const char *user,
		       bool drop_role);
/* Run queued removals and the one-time orphan check; 0 or -errno. */
int acl_work(struct ctl *c);

#endif /* ZH_CTL_H */
