// SPDX-License-Identifier: GPL-2.0-only
/* Published views, route conflict resolution and key diffs (peering.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "peering.h"

/* --- key/value lists ------------------------------------------------------------ */

int zh_kvlist_add(struct zh_kvlist *l, char *key, char *value)
{
	if (!key || !value)
		goto nomem;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct zh_kv_item *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			goto nomem;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = (struct zh_kv_item){key, value};
	return 0;
nomem:
	free(key);
	free(value);
	return -ENOMEM;
}

int zh_kvlist_add_copy(struct zh_kvlist *l, const char *key, const char *value)
{
	return zh_kvlist_add(l, strdup(key), strdup(value));
}

int zh_kvlist_add_record(struct zh_kvlist *l, const struct zh_record *rec)
{
	char *k, *v;
	int err = zh_record_format(rec, &k, &v);

	return err ? err : zh_kvlist_add(l, k, v);
}

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct zh_kv_item *)a)->key, ((const struct zh_kv_item *)b)->key);
}

void zh_kvlist_sort(struct zh_kvlist *l)
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), item_cmp);
}

void zh_kvlist_free(struct zh_kvlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].value);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* --- scope ------------------------------------------------------------------------ */

static uint32_t mask(uint8_t len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

void zh_export_scope(const struct zh_rec_export *exp, const struct zh_rec_network *net,
		     struct zh_rec_export *scope)
{
	*scope = *exp;
	if (!exp->n_prefixes) {
		scope->n_prefixes = net->n_cidrs;
		memcpy(scope->prefixes, net->cidrs, net->n_cidrs * sizeof(net->cidrs[0]));
	}
}

bool zh_scope_has_addr(const struct zh_rec_export *scope, uint32_t ip)
{
	int i;

	for (i = 0; i < scope->n_prefixes; i++)
		if (((ip ^ scope->prefixes[i].addr) & mask(scope->prefixes[i].len)) == 0)
			return true;
	return false;
}

bool zh_scope_has_prefix(const struct zh_rec_export *scope, const struct zh_cidr *p)
{
	int i;

	for (i = 0; i < scope->n_prefixes; i++)
		if (p->len >= scope->prefixes[i].len &&
		    ((p->addr ^ scope->prefixes[i].addr) & mask(scope->prefixes[i].len)) == 0)
			return true;
	return false;
}

/* --- views --------------------------------------------------------------------------- */

int zh_view_build(const struct zh_view_src *src, struct zh_kvlist *out)
{
	struct zh_record *rec = calloc(1, sizeof(*rec));
	struct zh_rec_export scope;
	size_t i;
	int err;

	if (!rec)
		return -ENOMEM;
	if (strlen(src->network) > ZH_NAME_MAX || strlen(src->policy) > ZH_NAME_MAX) {
		err = -EINVAL;
		goto out;
	}
	strcpy(rec->network, src->network);
	strcpy(rec->policy, src->policy);
	zh_export_scope(src->exp, src->net, &scope);
	rec->kind = ZH_REC_PUB_META;
	rec->meta.vni = src->net->vni;
	rec->meta.scope = scope;
	err = zh_kvlist_add_record(out, rec);
	for (i = 0; !err && i < src->n_eps; i++) {
		if (!zh_scope_has_addr(&scope, src->eps[i].ip))
			continue;
		rec->kind = ZH_REC_PUB_ENDPOINT;
		rec->ep = src->eps[i];
		err = zh_kvlist_add_record(out, rec);
	}
	for (i = 0; !err && i < src->n_routes; i++) {
		if (!zh_scope_has_prefix(&scope, &src->routes[i].prefix))
			continue;
		rec->kind = ZH_REC_PUB_ROUTE;
		rec->route = src->routes[i];
		err = zh_kvlist_add_record(out, rec);
	}
out:
	free(rec);
	return err;
}

/* --- conflicts ------------------------------------------------------------------------- */

int zh_route_cmp(const struct zh_eff_route *a, const struct zh_eff_route *b,
		 enum zh_conflict_rule *rule)
{
	int c;

	if (a->origin != b->origin) {
		*rule = ZH_RULE_LOCAL;
		return a->origin == ZH_ORIGIN_LOCAL ? -1 : 1;
	}
	if (a->origin == ZH_ORIGIN_PEER && a->preference != b->preference) {
		*rule = ZH_RULE_PREFERENCE;
		return a->preference > b->preference ? -1 : 1;
	}
	/* VNIs may repeat across shards: the name keeps the order total */
	*rule = ZH_RULE_NETWORK_ID;
	if (a->vni != b->vni)
		return a->vni < b->vni ? -1 : 1;
	c = strcmp(a->network, b->network);
	return c < 0 ? -1 : c > 0;
}

static int cand_rank_cmp(const void *pa, const void *pb)
{
	const struct zh_route_cand *a = pa, *b = pb;
	enum zh_conflict_rule rule;

	return zh_route_cmp(&a->r, &b->r, &rule);
}

static int cand_cmp(const void *pa, const void *pb)
{
	const struct zh_route_cand *a = pa, *b = pb;
	uint32_t x = ntohl(a->prefix.addr), y = ntohl(b->prefix.addr);

	if (x != y)
		return x < y ? -1 : 1;
	if (a->prefix.len != b->prefix.len)
		return a->prefix.len < b->prefix.len ? -1 : 1;
	return cand_rank_cmp(pa, pb);
}

void zh_route_resolve(struct zh_route_cand *c, size_t n, struct zh_rec_effective *eff)
{
	enum zh_conflict_rule rule;
	size_t i;

	qsort(c, n, sizeof(*c), cand_rank_cmp);
	memset(eff, 0, sizeof(*eff));
	eff->prefix = c[0].prefix;
	eff->winner = c[0].r;
	eff->winner.rule = ZH_RULE_ONLY;
	if (n > 1) {
		zh_route_cmp(&c[0].r, &c[1].r, &rule);
		eff->winner.rule = rule;
	}
	for (i = 1; i < n; i++) {
		if (eff->n_losers == ZH_EFF_LOSERS_MAX) {
			eff->losers_omitted = n - i;
			break;
		}
		eff->losers[eff->n_losers] = c[i].r;
		zh_route_cmp(&c[0].r, &c[i].r, &rule);
		eff->losers[eff->n_losers++].rule = rule;
	}
}

int zh_effective_build(const char *network, struct zh_route_cand *c, size_t n,
		       struct zh_kvlist *out)
{
	struct zh_record *rec;
	size_t i, j;
	int err = 0;

	if (strlen(network) > ZH_NAME_MAX)
		return -EINVAL;
	if (!n)
		return 0;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return -ENOMEM;
	rec->kind = ZH_REC_EFFECTIVE;
	strcpy(rec->network, network);
	qsort(c, n, sizeof(*c), cand_cmp);
	for (i = 0; !err && i < n; i = j) {
		for (j = i + 1; j < n && c[j].prefix.addr == c[i].prefix.addr &&
				c[j].prefix.len == c[i].prefix.len;
		     j++)
			if (!cand_rank_cmp(&c[j - 1], &c[j]))
				err = -EINVAL;
		if (err)
			break;
		zh_route_resolve(c + i, j - i, &rec->eff);
		err = zh_kvlist_add_record(out, rec);
	}
	free(rec);
	return err;
}

/* --- diff ------------------------------------------------------------------------------ */

int zh_kv_diff(const struct zh_kvlist *want, const struct zh_kvlist *have,
	       struct zh_etcd_op **ops_out, size_t *n_out)
{
	struct zh_etcd_op *ops;
	size_t i = 0, j = 0, n = 0;

	*ops_out = NULL;
	*n_out = 0;
	if (!want->n && !have->n)
		return 0;
	ops = calloc(want->n + have->n, sizeof(*ops));
	if (!ops)
		return -ENOMEM;
	while (i < want->n || j < have->n) {
		int c = i == want->n ? 1 : j == have->n ? -1 : strcmp(want->v[i].key, have->v[j].key);

		if (c < 0) {
			ops[n++] = (struct zh_etcd_op){ZH_ETCD_PUT, want->v[i].key, want->v[i].value};
			i++;
		} else if (c > 0) {
			ops[n++] = (struct zh_etcd_op){ZH_ETCD_DELETE, have->v[j].key, NULL};
			j++;
		} else {
			if (strcmp(want->v[i].value, have->v[j].value))
				ops[n++] = (struct zh_etcd_op){ZH_ETCD_PUT, want->v[i].key,
							       want->v[i].value};
			i++;
			j++;
		}
	}
	if (!n) {
		free(ops);
		return 0;
	}
	*ops_out = ops;
	*n_out = n;
	return 0;
}
