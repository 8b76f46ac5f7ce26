/* SPDX-License-Identifier: GPL-2.0-only */
/* What zerohop-controller computes, as pure functions (no etcd, no
 * clock), so unit tests can drive them with tables:
 *
 * - the published view of a network under one export policy: its meta
 *   record and the endpoints and routes inside the policy's prefixes;
 * - route federation: candidates for the same prefix from the network
 *   itself and its peers, resolved by fixed rules (local beats peer, then
 *   the higher peering preference, then the lower VNI, then the network
 *   name) into effective route records naming winner, losers and rule;
 * - the difference between a desired and an actual set of keys, as etcd
 *   operations: only what changed is written.
 *
 * docs/controller.md describes the layout and the rules.
 */
#ifndef ZH_PEERING_H
#define ZH_PEERING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd.h"
#include "model.h"

/* Keys and values, both malloc'ed and owned by the list. */
struct zh_kv_item {
	char *key;
	char *value;
};

struct zh_kvlist {
	struct zh_kv_item *v;
	size_t n, cap;
};

/* Takes key and value (freed on failure too). 0 or -ENOMEM. */
int zh_kvlist_add(struct zh_kvlist *l, char *key, char *value);
/* Copies key and value. */
int zh_kvlist_add_copy(struct zh_kvlist *l, const char *key, const char *value);
/* The record's key and canonical value (zh_record_format). */
int zh_kvlist_add_record(struct zh_kvlist *l, const struct zh_record *rec);
/* By key (strcmp), so two lists can be merged. */
void zh_kvlist_sort(struct zh_kvlist *l);
void zh_kvlist_free(struct zh_kvlist *l);

/* The prefixes and protocols an export grants: its own prefixes, or the
 * network's CIDRs when it has none.
 */
void zh_export_scope(const struct zh_rec_export *exp, const struct zh_rec_network *net,
		     struct zh_rec_export *scope);
bool zh_scope_has_addr(const struct zh_rec_export *scope, uint32_t ip);
/* The whole prefix p lies inside one of the scope's prefixes. */
bool zh_scope_has_prefix(const struct zh_rec_export *scope, const struct zh_cidr *p);

/* Everything a view is made of. */
struct zh_view_src {
	const char *network;
	const struct zh_rec_network *net;
	const char *policy;
	const struct zh_rec_export *exp;
	const struct zh_rec_endpoint *eps;
	size_t n_eps;
	const struct zh_rec_route *routes;
	size_t n_routes;
};

/* Adds published/<net>/<policy>/meta and the endpoints and routes inside
 * the policy's scope to out (unsorted). 0, -ENOMEM, -EINVAL (bad names).
 */
int zh_view_build(const struct zh_view_src *src, struct zh_kvlist *out);

/* One origin's route for a prefix (rule is filled in by resolution). */
struct zh_route_cand {
	struct zh_cidr prefix;
	struct zh_eff_route r;
};

/* Does a beat b? Negative: a wins, positive: b wins, 0: the same origin.
 * *rule gets the rule that decides (ZH_RULE_LOCAL, _PREFERENCE or
 * _NETWORK_ID).
 */
int zh_route_cmp(const struct zh_eff_route *a, const struct zh_eff_route *b,
		 enum zh_conflict_rule *rule);

/* Resolve candidates of one prefix (n >= 1; reordered best first) into
 * an effective record's value: the winner with the rule that beat the
 * runner-up (ZH_RULE_ONLY alone), losers best first with the rule each
 * lost by, at most ZH_EFF_LOSERS_MAX of them and the rest counted.
 */
void zh_route_resolve(struct zh_route_cand *c, size_t n, struct zh_rec_effective *eff);

/* Group candidates (any order; reordered) by prefix and add one
 * effective/<network>/routes/<prefix> record per prefix to out.
 * -EINVAL when two candidates of a prefix come from the same network.
 */
int zh_effective_build(const char *network, struct zh_route_cand *c, size_t n,
		       struct zh_kvlist *out);

/* Operations that turn have into want (both sorted): a put for every key
 * missing from have or with another value there, a delete for every key
 * of have not in want. ops point into the lists' strings (malloc'ed
 * array; NULL when there is nothing to do). 0 or -ENOMEM.
 */
int zh_kv_diff(const struct zh_kvlist *want, const struct zh_kvlist *have,
	       struct zh_etcd_op **ops, size_t *n);

#endif /* ZH_PEERING_H */
