/* SPDX-License-Identifier: GPL-2.0-only */
/* zerohop-agent: the on-host controller. One event loop (zh_etcd_poll)
 * over the source, netlink, signals, a periodic timer, the status socket
 * and the metrics listener; records from the source change the desired
 * state (state.h), which reconcile.h writes into the instance's maps.
 *
 * Parts: config.c (the config file), state.c and state_peer.c (desired
 * state, pure), reconcile.c (maps and ports), src_file.c and src_etcd.c
 * (sources), src_peer.c (the etcd source's peering connections: this
 * shard's peering records, the peers' shards), netlink.c (interfaces
 * coming and going), agent.c (this loop).
 */
#ifndef ZH_AGENT_H
#define ZH_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "etcd.h"
#include "model.h"
#include "reconcile.h"
#include "state.h"
#include "stats.h"
#include "zerohop.h"

/* Periodic work (retries, the file source's fallback check, stats). */
#define ZH_AGENT_TICK_MS 1000

struct zh_src_file;
struct zh_src_etcd;
struct zh_src_peers;
struct zh_httpd;
struct zh_statsock;

struct zh_agent {
	struct zh_agent_config cfg;
	struct zh_agent_stats stats;
	struct zh_state *state;
	struct zh_maps maps;
	struct zh_reconciler *rec;

	struct zh_etcd_loop *loop;
	struct zh_src_file *file;
	struct zh_src_etcd *etcd;
	struct zh_src_peers *peers;
	struct zh_httpd *httpd;
	struct zh_statsock *statsock;
	int netlink_fd;
	int signal_fd;
	int timer_fd;

	/* Kinds whose first full listing has not completed (with etcd,
	 * ZH_KINDS_NETWORKS: not every served network listed yet): nothing
	 * is written (and nothing swept) before every kind has been listed once.
	 */
	unsigned int unsynced;
	bool full_needed;         /* a resync ended: mark and sweep */
	uint64_t oldest_event_ns; /* first change not yet in the maps (latency) */
	bool stop;
};

/* Set up everything (attach or adopt the data plane, open maps, sockets
 * and the source). 0 or -errno, with the reason logged.
 */
int zh_agent_init(struct zh_agent *a, const struct zh_agent_config *cfg);
/* Run until SIGTERM/SIGINT; 0 on a clean stop. */
int zh_agent_run(struct zh_agent *a);
/* One loop iteration: wait at most timeout_ms. */
int zh_agent_step(struct zh_agent *a, int timeout_ms);
/* Close everything; the data plane stays attached and forwarding. */
void zh_agent_fini(struct zh_agent *a);

/* --- what sources call ------------------------------------------------------ */

/* A full listing of these kinds starts / ended (rev: the store revision,
 * or the file's load count).
 */
void zh_agent_resync_begin(struct zh_agent *a, unsigned int kinds);
void zh_agent_resync_end(struct zh_agent *a, unsigned int kinds, int64_t rev);
/* A put of a raw key and value (etcd). */
void zh_agent_put(struct zh_agent *a, const char *key, size_t klen, const char *val, size_t vlen,
		  int64_t rev);
/* A delete of a raw key (etcd). */
void zh_agent_del(struct zh_agent *a, const char *key, size_t klen, int64_t rev);
/* The same, taking only records of these kinds (ZH_KIND bits): a
 * subscription's own kinds (networks/ also holds peering records, which
 * the agent reads per network).
 */
void zh_agent_put_kinds(struct zh_agent *a, unsigned int kinds, const char *key, size_t klen,
			const char *val, size_t vlen, int64_t rev);
void zh_agent_del_kinds(struct zh_agent *a, unsigned int kinds, const char *key, size_t klen,
			int64_t rev);
/* The etcd source reads each served network on its own: a listing of
 * net's own records of these kinds begins / ends (only they are marked
 * and swept, zh_state_net_resync_begin), or they leave the state (the
 * host no longer serves net; an unfinished listing ends with it).
 */
void zh_agent_net_listing(struct zh_agent *a, const char *net, unsigned int kinds, bool begin,
			  int64_t rev);
void zh_agent_net_forget(struct zh_agent *a, const char *net, unsigned int kinds);
/* Every record of these kinds has been listed once (the etcd source: all
 * served networks): the first full reconcile may run.
 */
void zh_agent_synced(struct zh_agent *a, unsigned int kinds);
/* A put of a record parsed already (the intent file). */
void zh_agent_apply(struct zh_agent *a, const struct zh_record *rec);
/* The source is usable (connected, the file loaded) or not, and why. */
void zh_agent_source_state(struct zh_agent *a, bool ok, const char *reason);

/* Peering (state.h): a listing of one network's peering records
 * (ZH_REC_PEERING) or effective routes (ZH_REC_EFFECTIVE) starts / ends.
 */
void zh_agent_listing(struct zh_agent *a, unsigned int kind, const char *net, bool begin);
/* From the peer's shard, for the peering net -> peer: its record for us
 * (grant NULL: there is none), and its view of policy.
 */
void zh_agent_peer_their(struct zh_agent *a, const char *net, const char *peer, const char *grant);
void zh_agent_peer_view(struct zh_agent *a, const char *net, const char *peer, const char *policy,
			bool begin);
void zh_agent_peer_put(struct zh_agent *a, const char *net, const char *peer, const char *key,
		       size_t klen, const char *val, size_t vlen);
void zh_agent_peer_del(struct zh_agent *a, const char *net, const char *peer, const char *key,
		       size_t klen);

/* --- sources ------------------------------------------------------------------ */

/* file: the intent file, reloaded when it changes (inotify on its
 * directory, so rename-replace works, plus a stat check every tick).
 */
int zh_src_file_open(struct zh_agent *a, const char *path, struct zh_src_file **out);
void zh_src_file_close(struct zh_src_file *s);
int zh_src_file_fd(const struct zh_src_file *s); /* inotify, -1 if none */
void zh_src_file_readable(struct zh_src_file *s);
/* Load now: a valid file is one resync; an invalid one changes nothing. */
int zh_src_file_load(struct zh_src_file *s);
void zh_src_file_tick(struct zh_src_file *s);

/* etcd: list-then-watch of hosts/<me> and hosts/<me>/, then of each
 * network the host serves (networks/<net> and networks/<net>/), on the loop.
 */
int zh_src_etcd_open(struct zh_agent *a, struct zh_src_etcd **out);
void zh_src_etcd_close(struct zh_src_etcd *s);
/* Follow what the host serves: subscribe the networks it serves now, drop
 * the others. From the main loop only (not in a subscription callback).
 */
void zh_src_etcd_sync(struct zh_src_etcd *s);
/* Subscribe again: a new full listing (SIGHUP). */
int zh_src_etcd_resync(struct zh_src_etcd *s);
/* The shard's client (peers on the same shard are read with it). */
struct zh_etcd *zh_src_etcd_client(struct zh_src_etcd *s);

/* Peering connections (src_peer.c), with the etcd source: for each
 * programmed network its peering records and effective routes on this
 * shard; for each of its peerings the peer's record for it and the view
 * it grants, on the peer's shard.
 */
int zh_src_peers_open(struct zh_agent *a, struct zh_etcd *own, struct zh_src_peers **out);
void zh_src_peers_close(struct zh_src_peers *s);
/* Follow the state: subscribe, switch views, close what is gone, retry
 * failed connections (now_ms: CLOCK_MONOTONIC). From the main loop only.
 */
void zh_src_peers_sync(struct zh_src_peers *s, uint64_t now_ms);
/* Connect and list everything again, re-reading password files (SIGHUP);
 * the state stays until the new listings replace it.
 */
void zh_src_peers_resync(struct zh_src_peers *s);
/* The connection of the peering net -> peer: false if there is none. */
bool zh_src_peers_conn(const struct zh_src_peers *s, const char *net, const char *peer,
		       bool *connected, const char **error);

/* --- netlink (netlink.c) -------------------------------------------------------- */

/* Called for each link message: ifname may be NULL, gone for RTM_DELLINK. */
typedef void (*zh_link_cb)(uint32_t ifindex, const char *ifname, bool gone, void *ctx);

/* A non-blocking NETLINK_ROUTE socket subscribed to RTMGRP_LINK: fd or -errno. */
int zh_netlink_open(void);
/* Read every pending message. -ENOBUFS: messages were lost (rescan). */
int zh_netlink_read(int fd, zh_link_cb cb, void *ctx);

uint64_t zh_now_ns(void);

#endif /* ZH_AGENT_H */
