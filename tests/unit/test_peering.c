// SPDX-License-Identifier: GPL-2.0-only
/* What zerohop-controller computes (controller/peering.h): published views
 * per export policy, route conflict resolution with its fixed rules, and
 * the diff that writes only what changed. Tables of cases; JSON is written
 * with single quotes and turned into double quotes by J().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "peering.h"
#include "helpers.h"

/* Table rows leave their trailing fields zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"


static struct zh_cidr cidr(const char *s)
{
	char buf[32];
	char *slash;
	struct zh_cidr c;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	assert_non_null(slash);
	*slash = 0;
	c.addr = ip4(buf);
	c.len = atoi(slash + 1);
	return c;
}

/* "key value" lines of a sorted list, for one comparison. */
static char *dump(struct zh_kvlist *l)
{
	size_t i, cap = 1, o = 0;
	char *s;

	zh_kvlist_sort(l);
	for (i = 0; i < l->n; i++)
		cap += strlen(l->v[i].key) + strlen(l->v[i].value) + 2;
	s = malloc(cap);
	assert_non_null(s);
	s[0] = 0;
	for (i = 0; i < l->n; i++)
		o += snprintf(s + o, cap - o, "%s %s\n", l->v[i].key, l->v[i].value);
	return s;
}

/* --- views ----------------------------------------------------------------------------- */

struct view_case {
	const char *name;
	const char *prefixes[4];   /* the export's; none: the network's CIDRs */
	unsigned int protocols;
	const char *want;          /* dump() of the view, single quotes */
};

/* Network b: 10.2.0.0/16 and 10.60.0.0/14, endpoints and routes in and out
 * of the policies below.
 */
static const char *const view_eps[] = {"10.2.1.5", "10.2.1.200", "10.2.2.6", "10.61.0.9"};
static const char *const view_routes[] = {"10.2.1.128/25", "10.2.0.0/16", "10.2.1.0/24",
					  "10.61.0.0/24", "192.168.0.0/16"};

#define META(pfx, protos) R "published/b/p/meta {'vni':200,'prefixes':[" pfx "],'protocols':[" protos "]}\n"
#define PEP(ip, n) R "published/b/p/endpoints/" ip " {'mac':'02:00:00:00:00:0" n "','host':'h2','host_ip':'198.18.0.2'}\n"
#define PRT(p) R "published/b/p/routes/" p " {'host':'h2','host_ip':'198.18.0.2'}\n"

/* in key order: endpoints/, meta, routes/ */
static const struct view_case view_cases[] = {
	{"one subnet, tcp only: only what is inside", {"10.2.1.0/24"}, ZH_PROTO_TCP,
	 PEP("10.2.1.200", "2") PEP("10.2.1.5", "1")
	 META("'10.2.1.0/24'", "'tcp'")
	 PRT("10.2.1.0/24") PRT("10.2.1.128/25")},
	{"no prefixes: the network's CIDRs (routes outside them stay private)", {}, ZH_PROTO_ANY,
	 PEP("10.2.1.200", "2") PEP("10.2.1.5", "1") PEP("10.2.2.6", "3") PEP("10.61.0.9", "4")
	 R "published/b/p/meta {'vni':200,'prefixes':['10.2.0.0/16','10.60.0.0/14']}\n"
	 PRT("10.2.0.0/16") PRT("10.2.1.0/24") PRT("10.2.1.128/25") PRT("10.61.0.0/24")},
	{"a route wider than the policy's prefix is not in it", {"10.2.1.128/25", "10.61.0.0/16"},
	 ZH_PROTO_UDP | ZH_PROTO_ICMP,
	 PEP("10.2.1.200", "2") PEP("10.61.0.9", "4")
	 META("'10.2.1.128/25','10.61.0.0/16'", "'udp','icmp'")
	 PRT("10.2.1.128/25") PRT("10.61.0.0/24")},
	{"nothing inside: the meta alone", {"10.2.9.0/24"}, ZH_PROTO_TCP,
	 META("'10.2.9.0/24'", "'tcp'")},
};

static void test_view_holds_what_the_policy_allows(void **state)
{
	struct zh_rec_network net = {.vni = 200, .n_cidrs = 2};
	struct zh_rec_endpoint eps[ARRAY_SIZE(view_eps)];
	struct zh_rec_route routes[ARRAY_SIZE(view_routes)];
	size_t i, k;

	net.cidrs[0] = cidr("10.2.0.0/16");
	net.cidrs[1] = cidr("10.60.0.0/14");
	memset(eps, 0, sizeof(eps));
	memset(routes, 0, sizeof(routes));
	for (i = 0; i < ARRAY_SIZE(view_eps); i++) {
		eps[i].ip = ip4(view_eps[i]);
		memcpy(eps[i].mac, "\x02\0\0\0\0", 5);
		eps[i].mac[5] = i + 1;
		strcpy(eps[i].host, "h2");
		eps[i].host_ip = ip4("198.18.0.2");
	}
	for (i = 0; i < ARRAY_SIZE(view_routes); i++) {
		routes[i].prefix = cidr(view_routes[i]);
		strcpy(routes[i].host, "h2");
		routes[i].host_ip = ip4("198.18.0.2");
	}
	for (i = 0; i < ARRAY_SIZE(view_cases); i++) {
		const struct view_case *c = &view_cases[i];
		struct zh_rec_export exp = {.protocols = c->protocols};
		struct zh_view_src src = {"b", &net, "p", &exp, eps, ARRAY_SIZE(eps),
					  routes, ARRAY_SIZE(routes)};
		struct zh_kvlist out = {0};
		char *got;

		for (k = 0; k < ARRAY_SIZE(c->prefixes) && c->prefixes[k]; k++)
			exp.prefixes[exp.n_prefixes++] = cidr(c->prefixes[k]);
		assert_int_equal(zh_view_build(&src, &out), 0);
		got = dump(&out);
		if (strcmp(got, J(c->want)))
			fail_msg("%s:\n got:\n%s\nwant:\n%s", c->name, got, J(c->want));
		free(got);
		zh_kvlist_free(&out);
	}
}

static void test_scope_edges(void **state)
{
	struct zh_rec_export s = {.n_prefixes = 1};
	struct zh_cidr p;

	s.prefixes[0] = cidr("0.0.0.0/0");
	assert_true(zh_scope_has_addr(&s, ip4("203.0.113.1")));
	p = cidr("0.0.0.0/0");
	assert_true(zh_scope_has_prefix(&s, &p));
	s.prefixes[0] = cidr("10.0.0.7/32");
	assert_true(zh_scope_has_addr(&s, ip4("10.0.0.7")));
	assert_false(zh_scope_has_addr(&s, ip4("10.0.0.6")));
	p = cidr("10.0.0.7/32");
	assert_true(zh_scope_has_prefix(&s, &p));
	p = cidr("10.0.0.6/31");
	assert_false(zh_scope_has_prefix(&s, &p));
	s.n_prefixes = 0;
	assert_false(zh_scope_has_addr(&s, ip4("10.0.0.7")));
}

/* --- conflicts ---------------------------------------------------------------------------- */

struct origin_row {
	const char *network;       /* NULL ends the list */
	uint8_t origin;
	uint32_t vni;
	uint32_t preference;
};

struct conflict_case {
	const char *name;
	struct origin_row in[8];
	const char *winner;
	enum zh_conflict_rule rule;
	const char *losers[8];     /* network:rule, best first */
};

#define LOCAL(n, vni) {n, ZH_ORIGIN_LOCAL, vni, 0}
#define PEER(n, vni, pref) {n, ZH_ORIGIN_PEER, vni, pref}

static const struct conflict_case conflict_cases[] = {
	{"one origin: no conflict", {PEER("b", 200, 100)}, "b", ZH_RULE_ONLY},
	{"local alone", {LOCAL("a", 100)}, "a", ZH_RULE_ONLY},
	{"local beats peer, even with a higher preference and a lower VNI",
	 {PEER("b", 50, 65535), LOCAL("a", 100)}, "a", ZH_RULE_LOCAL, {"b:local"}},
	{"local beats two peers; losers best first, each lost to local",
	 {PEER("b", 200, 100), LOCAL("a", 100), PEER("c", 300, 200)}, "a", ZH_RULE_LOCAL,
	 {"c:local", "b:local"}},
	{"higher preference wins among peers",
	 {PEER("b", 200, 100), PEER("c", 300, 200)}, "c", ZH_RULE_PREFERENCE, {"b:preference"}},
	{"preference 0 loses to any other",
	 {PEER("c", 300, 0), PEER("b", 200, 1)}, "b", ZH_RULE_PREFERENCE, {"c:preference"}},
	{"equal preference: the lower VNI",
	 {PEER("d", 400, 200), PEER("c", 300, 200)}, "c", ZH_RULE_NETWORK_ID, {"d:network-id"}},
	{"equal preference and VNI (two shards): the network name",
	 {PEER("y", 300, 200), PEER("x", 300, 200)}, "x", ZH_RULE_NETWORK_ID, {"y:network-id"}},
	{"winner's rule is what beat the runner-up; each loser has its own",
	 {PEER("d", 400, 200), PEER("b", 200, 100), PEER("c", 300, 200)}, "c",
	 ZH_RULE_NETWORK_ID, {"d:network-id", "b:preference"}},
	{"all three rules at once",
	 {PEER("d", 400, 200), PEER("b", 200, 100), LOCAL("a", 100), PEER("c", 300, 200)}, "a",
	 ZH_RULE_LOCAL, {"c:local", "d:local", "b:local"}},
};

static void fill_cand(struct zh_route_cand *c, const struct origin_row *o, const char *prefix)
{
	memset(c, 0, sizeof(*c));
	c->prefix = cidr(prefix);
	c->r.origin = o->origin;
	snprintf(c->r.network, sizeof(c->r.network), "%s", o->network);
	c->r.vni = o->vni;
	c->r.preference = o->preference;
	snprintf(c->r.host, sizeof(c->r.host), "h-%s", o->network);
	c->r.host_ip = htonl(0xc6120000 | o->vni);
}

static void test_conflict_rules(void **state)
{
	size_t i, n, k;

	for (i = 0; i < ARRAY_SIZE(conflict_cases); i++) {
		const struct conflict_case *c = &conflict_cases[i];
		struct zh_route_cand cand[8];
		struct zh_rec_effective eff;
		char got[32];

		for (n = 0; c->in[n].network; n++)
			fill_cand(&cand[n], &c->in[n], "10.60.0.0/24");
		zh_route_resolve(cand, n, &eff);
		if (strcmp(eff.winner.network, c->winner) || eff.winner.rule != c->rule)
			fail_msg("%s: winner %s by %s, want %s by %s", c->name, eff.winner.network,
				 zh_conflict_rule_name(eff.winner.rule), c->winner,
				 zh_conflict_rule_name(c->rule));
		/* the winner keeps its own data */
		assert_int_equal(eff.winner.host_ip, htonl(0xc6120000 | eff.winner.vni));
		for (k = 0; c->losers[k]; k++) {
			if (k >= eff.n_losers)
				fail_msg("%s: %u losers, want more", c->name, eff.n_losers);
			snprintf(got, sizeof(got), "%s:%s", eff.losers[k].network,
				 zh_conflict_rule_name(eff.losers[k].rule));
			if (strcmp(got, c->losers[k]))
				fail_msg("%s: loser %zu is %s, want %s", c->name, k, got,
					 c->losers[k]);
		}
		assert_int_equal(eff.n_losers, k);
		assert_int_equal(eff.losers_omitted, 0);
	}
}

/* The rules are a total order: the result does not depend on the order
 * candidates come in.
 */
static void test_conflict_result_ignores_input_order(void **state)
{
	const struct conflict_case *c = &conflict_cases[ARRAY_SIZE(conflict_cases) - 1];
	static const int perms[][4] = {{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}, {1, 3, 0, 2}};
	char first[512] = "";
	size_t p, k;

	for (p = 0; p < ARRAY_SIZE(perms); p++) {
		struct zh_route_cand cand[4];
		struct zh_kvlist out = {0};

		for (k = 0; k < 4; k++)
			fill_cand(&cand[k], &c->in[perms[p][k]], "10.60.0.0/24");
		assert_int_equal(zh_effective_build("a", cand, 4, &out), 0);
		assert_int_equal(out.n, 1);
		if (!p)
			snprintf(first, sizeof(first), "%s", out.v[0].value);
		else
			assert_string_equal(out.v[0].value, first);
		zh_kvlist_free(&out);
	}
}

static void test_effective_records(void **state)
{
	static const struct origin_row a = LOCAL("a", 100), b = PEER("b", 200, 100),
				       c = PEER("c", 300, 200), d = PEER("d", 400, 200);
	struct zh_route_cand cand[8];
	struct zh_kvlist out = {0};
	char *got;
	size_t n = 0;

	/* X: local + b + c; Y: b + c; Z: c + d; W: d alone (given out of order) */
	fill_cand(&cand[n++], &d, "10.63.0.0/24");
	fill_cand(&cand[n++], &b, "10.60.0.0/24");
	fill_cand(&cand[n++], &c, "10.62.0.0/24");
	fill_cand(&cand[n++], &a, "10.60.0.0/24");
	fill_cand(&cand[n++], &c, "10.61.0.0/24");
	fill_cand(&cand[n++], &d, "10.62.0.0/24");
	fill_cand(&cand[n++], &c, "10.60.0.0/24");
	fill_cand(&cand[n++], &b, "10.61.0.0/24");
	cand[1].r.drop = true; /* a peer's drop route is a route like any other */
	cand[1].r.host[0] = 0;
	assert_int_equal(zh_effective_build("a", cand, n, &out), 0);
	got = dump(&out);
	assert_string_equal(got, J(
		R "effective/a/routes/10.60.0.0/24 {'origin':'local','network':'a','vni':100,"
		"'host':'h-a','host_ip':'198.18.0.100','rule':'local','losers':["
		"{'origin':'peer','network':'c','vni':300,'preference':200,'host':'h-c',"
		"'host_ip':'198.18.1.44','rule':'local'},"
		"{'origin':'peer','network':'b','vni':200,'preference':100,'drop':true,"
		"'rule':'local'}]}\n"
		R "effective/a/routes/10.61.0.0/24 {'origin':'peer','network':'c','vni':300,"
		"'preference':200,'host':'h-c','host_ip':'198.18.1.44','rule':'preference',"
		"'losers':[{'origin':'peer','network':'b','vni':200,'preference':100,'host':'h-b',"
		"'host_ip':'198.18.0.200','rule':'preference'}]}\n"
		R "effective/a/routes/10.62.0.0/24 {'origin':'peer','network':'c','vni':300,"
		"'preference':200,'host':'h-c','host_ip':'198.18.1.44','rule':'network-id',"
		"'losers':[{'origin':'peer','network':'d','vni':400,'preference':200,'host':'h-d',"
		"'host_ip':'198.18.1.144','rule':'network-id'}]}\n"
		R "effective/a/routes/10.63.0.0/24 {'origin':'peer','network':'d','vni':400,"
		"'preference':200,'host':'h-d','host_ip':'198.18.1.144','rule':'only'}\n"));
	free(got);
	zh_kvlist_free(&out);

	/* one network twice for a prefix is a caller bug */
	fill_cand(&cand[0], &b, "10.60.0.0/24");
	fill_cand(&cand[1], &b, "10.60.0.0/24");
	assert_int_equal(zh_effective_build("a", cand, 2, &out), -EINVAL);
	zh_kvlist_free(&out);
	assert_int_equal(zh_effective_build("a", cand, 0, &out), 0);
	assert_int_equal(out.n, 0);
}

/* More losers than a record holds: the best are kept, the rest counted. */
static void test_many_losers_are_counted(void **state)
{
	struct zh_route_cand cand[10];
	struct zh_rec_effective eff;
	struct origin_row o;
	char name[8];
	size_t i;

	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "p%zu", i);
		o = (struct origin_row)PEER(name, 1000 + i, 10 * i);
		fill_cand(&cand[i], &o, "10.60.0.0/24");
	}
	zh_route_resolve(cand, 10, &eff);
	assert_string_equal(eff.winner.network, "p9");
	assert_int_equal(eff.n_losers, ZH_EFF_LOSERS_MAX);
	assert_int_equal(eff.losers_omitted, 10 - 1 - ZH_EFF_LOSERS_MAX);
	for (i = 0; i < ZH_EFF_LOSERS_MAX; i++) {
		snprintf(name, sizeof(name), "p%zu", 8 - i);
		assert_string_equal(eff.losers[i].network, name);
	}
}

/* --- diff ---------------------------------------------------------------------------------- */

struct diff_case {
	const char *name;
	const char *want[6];       /* "key=value" */
	const char *have[6];
	const char *ops[6];        /* "put key=value" / "delete key", in key order */
};

static const struct diff_case diff_cases[] = {
	{"same: nothing to do", {"a=1", "b=2"}, {"a=1", "b=2"}, {}},
	{"both empty", {}, {}, {}},
	{"new keys are put", {"a=1", "b=2"}, {}, {"put a=1", "put b=2"}},
	{"gone keys are deleted", {}, {"a=1", "b=2"}, {"delete a", "delete b"}},
	{"a changed value is put, the rest left alone", {"a=1", "b=3", "c=3"},
	 {"a=1", "b=2", "c=3"}, {"put b=3"}},
	{"interleaved", {"b=2", "d=4", "e=5"}, {"a=1", "b=2", "c=3", "e=6"},
	 {"delete a", "delete c", "put d=4", "put e=5"}},
};

static void to_list(const char *const *rows, struct zh_kvlist *l)
{
	size_t i;

	for (i = 0; i < 6 && rows[i]; i++) {
		const char *eq = strchr(rows[i], '=');

		assert_int_equal(zh_kvlist_add(l, strndup(rows[i], eq - rows[i]), strdup(eq + 1)), 0);
	}
	zh_kvlist_sort(l);
}

static void test_diff_writes_only_what_changed(void **state)
{
	size_t i, k, n;

	for (i = 0; i < ARRAY_SIZE(diff_cases); i++) {
		const struct diff_case *c = &diff_cases[i];
		struct zh_kvlist want = {0}, have = {0};
		struct zh_etcd_op *ops;
		char got[64];

		to_list(c->want, &want);
		to_list(c->have, &have);
		assert_int_equal(zh_kv_diff(&want, &have, &ops, &n), 0);
		for (k = 0; k < n; k++) {
			if (ops[k].type == ZH_ETCD_PUT)
				snprintf(got, sizeof(got), "put %s=%s", ops[k].key, ops[k].value);
			else
				snprintf(got, sizeof(got), "delete %s", ops[k].key);
			if (!c->ops[k] || strcmp(got, c->ops[k]))
				fail_msg("%s: op %zu is %s, want %s", c->name, k, got,
					 c->ops[k] ? c->ops[k] : "none");
		}
		if (k < 6 && c->ops[k])
			fail_msg("%s: %zu ops, want more (%s)", c->name, n, c->ops[k]);
		if (!n)
			assert_null(ops);
		free(ops);
		zh_kvlist_free(&want);
		zh_kvlist_free(&have);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_holds_what_the_policy_allows),
		cmocka_unit_test(test_scope_edges),
		cmocka_unit_test(test_conflict_rules),
		cmocka_unit_test(test_conflict_result_ignores_input_order),
		cmocka_unit_test(test_effective_records),
		cmocka_unit_test(test_many_losers_are_counted),
		cmocka_unit_test(test_diff_writes_only_what_changed),
	};

	return cmocka_run_group_tests_name("peering", tests, NULL, NULL);
}
