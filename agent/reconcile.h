/* SPDX-License-Identifier: GPL-2.0-only */
/* Reconciliation: make an instance's pinned maps (and its ports) equal to
 * the desired state (state.h).
 *
 * - zh_reconcile_flush(): the incremental path. Writes the keys the state
 *   marked dirty since the last flush with batched map operations: ports
 *   first (zh_port_add / zh_port_del), then endpoint and route updates,
 *   then deletes.
 * - zh_reconcile_full(): mark and sweep, after a resync. Reads the maps,
 *   writes only what differs from the desired state, and deletes stale
 *   entries (endpoints with ifindex 0 and routes that are not desired, then
 *   ports whose name is not desired) only after everything desired is in.
 *   Local port entries (ifindex != 0) are never swept or overwritten, and
 *   entries leading into another VNI (peerings) stay while their network
 *   is not settled (zh_state_vni_unsettled: a peer's state unknown).
 *
 * Writes that fail (a full map, an interface that cannot take tc_port)
 * are counted in the stats, logged, and retried with backoff from
 * zh_reconcile_tick().
 */
#ifndef ZH_AGENT_RECONCILE_H
#define ZH_AGENT_RECONCILE_H

#include <stdbool.h>
#include <stdint.h>

#include "state.h"
#include "stats.h"
#include "zerohop.h"

struct zh_reconciler;

/* instance: manage ports of this instance through zh_port_add/del; NULL
 * leaves ports alone (maps made by a test). maps, state and stats stay the
 * caller's and must outlive the reconciler.
 */
struct zh_reconciler *zh_reconciler_new(struct zh_maps *maps, struct zh_state *state,
					const char *instance, struct zh_agent_stats *stats);
void zh_reconciler_free(struct zh_reconciler *r);

/* Mark and sweep (see above). 0 or -errno (a map could not be read: the
 * maps are left as they were).
 */
int zh_reconcile_full(struct zh_reconciler *r);
/* Write the dirty keys; returns the number of map elements written. */
int zh_reconcile_flush(struct zh_reconciler *r);
/* Periodic work: due retries are marked dirty again. now_ms: CLOCK_MONOTONIC. */
void zh_reconcile_tick(struct zh_reconciler *r, uint64_t now_ms);

/* An interface appeared, changed or went away (netlink): the port with
 * that name or ifindex, if it is desired or recorded, is checked again at
 * the next flush. ifname may be NULL for a removal known by index only.
 */
void zh_reconcile_link(struct zh_reconciler *r, uint32_t ifindex, const char *ifname);
/* Every port is checked again (netlink overran). */
void zh_reconcile_all_ports(struct zh_reconciler *r);

struct zh_reconcile_counts {
	uint32_t ports_attached;   /* recorded in the maps with tc_port on */
	uint64_t batches;          /* update/delete system calls so far */
	uint32_t retries_pending;
	uint32_t kept;             /* left by the last full reconcile for unknown peers */
};

void zh_reconcile_counts(const struct zh_reconciler *r, struct zh_reconcile_counts *c);

#endif /* ZH_AGENT_RECONCILE_H */
