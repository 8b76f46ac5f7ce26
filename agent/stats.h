/* SPDX-License-Identifier: GPL-2.0-only */
/* What zerohop-agent knows about itself: the numbers behind /metrics and
 * the status socket. The agent core (agent/agent.c) fills it in; the
 * metrics and status renderers (agent/metrics.c, agent/statsock.c) only
 * read it.
 */
#ifndef ZH_AGENT_STATS_H
#define ZH_AGENT_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* The agent's status socket (unless its config names another path). */
#define ZH_AGENT_SOCK_DIR "/run/zerohop"
#define ZH_AGENT_SOCK_FMT ZH_AGENT_SOCK_DIR "/agent-%s.sock" /* instance */

/* Errors by kind (metric label "kind"). */
#define ZH_AGENT_ERRORS(X)                                                         \
	X(bad_record, "a source record was malformed or invalid and was skipped")  \
	X(source, "the source could not be read or the connection failed")        \
	X(map_full, "a map had no room for an entry")                              \
	X(map_update, "a map update or delete failed")                             \
	X(port_attach, "attaching tc_port to a port interface failed")

enum zh_agent_error {
#define ZH_AERR_ENUM(name, help) ZH_AERR_##name,
	ZH_AGENT_ERRORS(ZH_AERR_ENUM)
#undef ZH_AERR_ENUM
	ZH_AERR_MAX,
};

/* Reconcile latency histogram bucket upper bounds, in microseconds. */
#define ZH_LAT_BUCKETS 12
extern const double zh_lat_bucket_us[ZH_LAT_BUCKETS];

/* A peering of a programmed network (docs/agent.md, "Peering"). */
struct zh_agent_peer_stat {
	char network[64];          /* the local network */
	char peer[64];
	/* active, one-sided, listing, not-published, vni-clash, unknown */
	char state[16];
	bool connected;            /* its shard answers (the file: always) */
	bool active;               /* programmed */
	uint32_t vni;              /* its VNI (0: not known) */
	uint32_t preference;
	char grant[64];            /* what the local network grants it */
	char their_grant[64];      /* what it grants the local network */
	char shard[384];           /* its shard's URLs; "" this shard */
	char error[192];           /* the connection's last error, "" none */
	uint32_t endpoints;        /* zh_endpoints entries leading to it */
	uint32_t routes;           /* effective routes it won */
	uint32_t policies;         /* zh_policy entries of the peering */
};

struct zh_agent_stats {
	char instance[64];
	char host[64];
	char source[512];            /* "etcd:http://..." or "file:/path" */
	bool connected;
	time_t state_since;          /* when connected last changed */
	int64_t revision;            /* last revision applied (file: a load counter) */
	char last_error[256];        /* "" when none */
	time_t last_error_time;
	time_t started;

	uint64_t events;             /* source records applied (puts + deletes) */
	uint64_t resyncs;            /* full listings (start, compaction, re-list) */
	uint64_t reconciles;         /* map flushes */
	uint64_t map_ops;            /* map updates + deletes written */
	uint64_t errors[ZH_AERR_MAX];

	/* reconcile latency: source event received -> maps written */
	uint64_t lat_count;
	double lat_sum_us;
	uint64_t lat_bucket[ZH_LAT_BUCKETS]; /* cumulative, Prometheus style */

	uint32_t ports_desired;
	uint32_t ports_attached;

	/* peerings, refreshed with the rest (malloc'ed; the agent frees it) */
	struct zh_agent_peer_stat *peers;
	uint32_t n_peers, cap_peers;
};

/* "bad_record", ... and a one-line help text; NULL past the end. */
const char *zh_agent_error_name(enum zh_agent_error e);
const char *zh_agent_error_help(enum zh_agent_error e);
/* One reconcile took us microseconds: count, sum and every bucket whose
 * bound is >= us (the buckets stay cumulative).
 */
void zh_agent_stats_latency(struct zh_agent_stats *st, double us);
/* Optional helpers for the agent core: count an error of a kind and make it
 * the last error (message formatted like a log line, time = now); record a
 * change of the source connection (state_since = now, only on a change or
 * the first call).
 */
void zh_agent_stats_error(struct zh_agent_stats *st, enum zh_agent_error kind, const char *fmt,
			  ...) __attribute__((format(printf, 3, 4)));
void zh_agent_stats_connected(struct zh_agent_stats *st, bool connected);

#endif /* ZH_AGENT_STATS_H */
