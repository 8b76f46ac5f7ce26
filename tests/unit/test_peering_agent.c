// SPDX-License-Identifier: GPL-2.0-only
/* The agent's side of peering (agent/state_peer.c, reconcile.c,
 * src_file.c): a peer is programmed only when both sides have configured
 * the peering and its view has a meta; its view endpoints become entries
 * of the local network that leave with the peer's VNI, its effective
 * routes become routes, and both export policies become zh_policy entries.
 * Withdrawal when either side's record or the view goes, mark and sweep
 * when the grant switches views, VNI clashes, overlapping peers, fail
 * static (entries of peers not known yet survive a full reconcile; they go
 * once every peer is known), and peering within an intent file.
 *
 * Records go through the real data model (zh_record_parse); the map tests
 * create real BPF maps (root) and skip without them.
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
#include <unistd.h>

#include <cmocka.h>

#include <bpf/bpf.h>

#include "agent.h"
#include "model.h"
#include "reconcile.h"
#include "state.h"
#include "helpers.h"


static int warnings;
static char last_warning[512];

static void on_warn(void *ctx, const char *msg)
{
	(void)ctx;
	warnings++;
	snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

static int del(struct zh_state *s, const char *key)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX];

	assert_int_equal(zh_key_parse(key, strlen(key), &rec, err, sizeof(err)), 0);
	return zh_state_delete(s, &rec);
}

/* A record of peer b's view, as network a's peering with b reads it. */
static int view_put(struct zh_state *s, const char *peer, const char *key, const char *json)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX];

	rec_parse(key, json, &rec);
	return zh_state_peer_view_put(s, "a", peer, &rec, err, sizeof(err));
}

static int view_del(struct zh_state *s, const char *peer, const char *key)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX];

	assert_int_equal(zh_key_parse(key, strlen(key), &rec, err, sizeof(err)), 0);
	return zh_state_peer_view_delete(s, "a", peer, &rec);
}

/* zh_endpoints[(vni, ip)] as the state wants it: 0 none, else dest_vni
 * and host in *v.
 */
static bool ep(struct zh_state *s, uint32_t vni, const char *ip, struct zh_endpoint *v)
{
	struct zh_ep_key k = {.vni = vni, .ip = ip4(ip)};
	struct zh_endpoint dummy;

	return zh_state_endpoint(s, &k, v ? v : &dummy, false) & ZH_WANT_REMOTE;
}

static bool route(struct zh_state *s, uint32_t vni, const char *prefix, uint32_t len,
		  struct zh_route *v)
{
	struct zh_route_key k = {.prefixlen = 32 + len, .vni = vni, .ip = ip4(prefix)};
	struct zh_route dummy;

	return zh_state_route(s, &k, v ? v : &dummy, false);
}

static struct zh_policy_key pkey(uint32_t vni, uint32_t peer_vni, const char *prefix, uint32_t len)
{
	struct zh_policy_key k;

	memset(&k, 0, sizeof(k));
	k.prefixlen = 64 + len;
	k.vni = vni;
	k.peer_vni = peer_vni;
	k.addr = ip4(prefix);
	return k;
}

/* The protocols zh_policy[(vni, peer_vni, prefix)] should allow; 0: none. */
static uint32_t policy(struct zh_state *s, uint32_t vni, uint32_t peer_vni, const char *prefix,
		       uint32_t len)
{
	struct zh_policy_key k = pkey(vni, peer_vni, prefix, len);
	struct zh_policy v;

	return zh_state_policy(s, &k, &v) ? v.protocols : 0;
}

static int count_policy_cb(const struct zh_policy_key *k, void *ctx)
{
	(*(int *)ctx)++;
	return 0;
}

static int policy_count(struct zh_state *s)
{
	int n = 0;

	zh_state_foreach_policy(s, count_policy_cb, &n);
	return n;
}

static bool dirty_ep(struct zh_state *s, uint32_t vni, const char *ip)
{
	struct zh_dirty d;
	uint32_t i;

	zh_state_dirty(s, &d);
	for (i = 0; i < d.n_eps; i++)
		if (d.eps[i].vni == vni && d.eps[i].ip == ip4(ip))
			return true;
	return false;
}

static bool dirty_policy(struct zh_state *s, uint32_t vni, uint32_t peer_vni, const char *prefix,
			 uint32_t len)
{
	struct zh_policy_key k = pkey(vni, peer_vni, prefix, len);
	struct zh_dirty d;
	uint32_t i;

	zh_state_dirty(s, &d);
	for (i = 0; i < d.n_policies; i++)
		if (!memcmp(&d.policies[i], &k, sizeof(k)))
			return true;
	return false;
}

struct peer_find {
	const char *peer;
	struct zh_peer_info info;
	bool found;
};

static int peer_find_cb(const struct zh_peer_info *p, void *ctx)
{
	struct peer_find *f = ctx;

	if (!strcmp(p->peer, f->peer)) {
		f->info = *p;
		f->found = true;
	}
	return 0;
}

static struct zh_peer_info peer_info(struct zh_state *s, const char *peer)
{
	struct peer_find f = {.peer = peer};

	zh_state_foreach_peer(s, peer_find_cb, &f);
	assert_true(f.found);
	return f.info;
}

/* Network a (VNI 100, 10.1.0.0/16) with a port on h1, export "all" and
 * "web", and its peering records listed (the etcd source's per-network
 * listings), nothing of the peers read yet.
 */
static struct zh_state *setup_a(const char *peerings_json[], size_t n)
{
	struct zh_state *s = zh_state_new("h1", on_warn, NULL);
	char key[128];
	size_t i;

	zh_state_resync_begin(s, ZH_KINDS_NETWORKS | ZH_KINDS_HOST);
	put(s, R "networks/a", "{'vni':100,'cidrs':['10.1.0.0/16']}");
	put(s, R "networks/a/exports/all", "{}");
	put(s, R "networks/a/exports/web", "{'prefixes':['10.1.1.0/24'],'protocols':['tcp']}");
	put(s, R "hosts/h1/ports/p1", "{'network':'a','mac':'02:00:00:00:01:11','ip':'10.1.1.11'}");
	zh_state_resync_end(s, ZH_KINDS_NETWORKS | ZH_KINDS_HOST);
	zh_state_peerings_begin(s, "a");
	for (i = 0; i < n; i += 2) {
		snprintf(key, sizeof(key), R "networks/a/peerings/%s", peerings_json[i]);
		assert_int_equal(put(s, key, peerings_json[i + 1]), 1);
	}
	zh_state_peerings_end(s, "a");
	zh_state_effective_begin(s, "a");
	zh_state_effective_end(s, "a");
	zh_state_dirty_clear(s);
	return s;
}

#define META_B "{'vni':200,'prefixes':['10.2.0.0/24'],'protocols':['tcp','icmp']}"
#define EP_B(mac) "{'mac':'" mac "','host':'h9','host_ip':'198.18.0.9'}"

/* b's side and view: b grants a "grant" with b's VNI 200. */
static void peer_b_view(struct zh_state *s, const char *grant)
{
	char key[128];

	assert_int_equal(zh_state_peer_their(s, "a", "b", true, grant), 1);
	zh_state_peer_view_begin(s, "a", "b", grant);
	snprintf(key, sizeof(key), R "published/b/%s/meta", grant);
	view_put(s, "b", key, META_B);
	snprintf(key, sizeof(key), R "published/b/%s/endpoints/10.2.0.5", grant);
	view_put(s, "b", key, EP_B("02:00:00:00:02:05"));
	zh_state_peer_view_end(s, "a", "b", grant);
}

static const char *peering_b[] = {
	"b", "{'grant':'all','peer_shard':['http://198.18.0.202:2379'],'user':'a-at-b',"
	     "'password_file':'/etc/zerohop/b.pw'}",
};

/* --- both sides ----------------------------------------------------------------- */

static void test_peer_is_programmed_only_when_both_sides_configured_it(void **unused)
{
	struct zh_state *s = setup_a(peering_b, ARRAY_SIZE(peering_b));
	struct zh_endpoint v;
	struct zh_peer_info pi;

	/* Nothing read from b's shard yet: nothing programmed, not settled. */
	assert_false(ep(s, 100, "10.2.0.5", NULL));
	assert_true(zh_state_vni_unsettled(s, 100));
	pi = peer_info(s, "b");
	assert_int_equal(pi.their, ZH_THEIR_UNKNOWN);
	assert_string_equal(pi.rec->peer_shard, "http://198.18.0.202:2379");
	assert_string_equal(pi.rec->user, "a-at-b");

	/* One-sided: b has no record for a. Known now, still nothing. */
	assert_int_equal(zh_state_peer_their(s, "a", "b", false, NULL), 1);
	assert_false(zh_state_vni_unsettled(s, 100));
	assert_true(zh_state_take_settled(s));
	assert_false(ep(s, 100, "10.2.0.5", NULL));
	assert_int_equal(policy_count(s), 0);
	/* A view record of a one-sided peer is ignored. */
	assert_int_equal(view_put(s, "b", R "published/b/all/meta", META_B), 0);

	/* b configures its side: its view is read, and programmed. */
	peer_b_view(s, "all");
	assert_true(ep(s, 100, "10.2.0.5", &v));
	assert_int_equal(v.dest_vni, 200);
	assert_int_equal(v.host_ip, ip4("198.18.0.9"));
	assert_int_equal(v.ifindex, 0);
	assert_true(dirty_ep(s, 100, "10.2.0.5"));
	/* Sender side: b's export to a (the view's meta) ... */
	assert_int_equal(policy(s, 200, 100, "10.2.0.0", 24), ZH_PROTO_TCP | ZH_PROTO_ICMP);
	assert_true(dirty_policy(s, 200, 100, "10.2.0.0", 24));
	/* ... receiver side: a's export "all" to b (a's CIDRs, every protocol). */
	assert_int_equal(policy(s, 100, 200, "10.1.0.0", 16), ZH_PROTO_ANY);
	assert_int_equal(policy_count(s), 2);
	pi = peer_info(s, "b");
	assert_true(pi.active);
	assert_int_equal(pi.vni, 200);
	assert_int_equal(pi.endpoints, 1);
	assert_int_equal(pi.policies, 2);
	/* Nothing else: b's VNI itself is not a network of this host. */
	assert_false(ep(s, 200, "10.2.0.5", NULL));
	zh_state_free(s);
}

static void test_our_grant_sets_the_receiver_policy(void **unused)
{
	struct zh_state *s = setup_a(peering_b, ARRAY_SIZE(peering_b));

	peer_b_view(s, "all");
	assert_int_equal(policy(s, 100, 200, "10.1.0.0", 16), ZH_PROTO_ANY);
	zh_state_dirty_clear(s);
	/* a grants b only "web" now: 10.1.1.0/24, TCP. */
	assert_int_equal(put(s, R "networks/a/peerings/b",
			     "{'grant':'web','peer_shard':['http://198.18.0.202:2379'],"
			     "'user':'a-at-b','password_file':'/etc/zerohop/b.pw'}"), 1);
	assert_int_equal(policy(s, 100, 200, "10.1.0.0", 16), 0);
	assert_int_equal(policy(s, 100, 200, "10.1.1.0", 24), ZH_PROTO_TCP);
	assert_true(dirty_policy(s, 100, 200, "10.1.0.0", 16));
	assert_true(dirty_policy(s, 100, 200, "10.1.1.0", 24));
	/* The export itself changes: the entry follows. */
	zh_state_dirty_clear(s);
	assert_int_equal(put(s, R "networks/a/exports/web", "{'prefixes':['10.1.1.0/24']}"), 1);
	assert_int_equal(policy(s, 100, 200, "10.1.1.0", 24), ZH_PROTO_ANY);
	assert_true(dirty_policy(s, 100, 200, "10.1.1.0", 24));
	/* Without the export, b may send a nothing. */
	assert_int_equal(del(s, R "networks/a/exports/web"), 1);
	assert_int_equal(policy(s, 100, 200, "10.1.1.0", 24), 0);
	assert_int_equal(policy(s, 200, 100, "10.2.0.0", 24), ZH_PROTO_TCP | ZH_PROTO_ICMP);
	zh_state_free(s);
}

/* --- withdrawal ------------------------------------------------------------------- */

static void test_removal_of_either_side_withdraws_everything(void **unused)
{
	static const struct {
		const char *desc;
		int how;
	} cases[] = {
		{"b deletes its record for a", 0},
		{"a deletes its record for b", 1},
		{"b's view loses its meta", 2},
		{"b's view is listed again without a meta", 3},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct zh_state *s = setup_a(peering_b, ARRAY_SIZE(peering_b));

		peer_b_view(s, "all");
		put(s, R "effective/a/routes/10.60.0.0/24",
		    "{'origin':'peer','network':'b','vni':200,'preference':100,'host':'h9',"
		    "'host_ip':'198.18.0.9','rule':'only'}");
		assert_true(route(s, 100, "10.60.0.0", 24, NULL));
		zh_state_dirty_clear(s);
		switch (cases[i].how) {
		case 0:
			assert_int_equal(zh_state_peer_their(s, "a", "b", false, NULL), 1);
			break;
		case 1:
			assert_int_equal(del(s, R "networks/a/peerings/b"), 1);
			break;
		case 2:
			assert_int_equal(view_del(s, "b", R "published/b/all/meta"), 1);
			break;
		case 3: /* a re-listing (compaction) of an emptied view */
			zh_state_peer_view_begin(s, "a", "b", "all");
			zh_state_peer_view_end(s, "a", "b", "all");
			break;
		}
		if (ep(s, 100, "10.2.0.5", NULL) || policy_count(s) ||
		    route(s, 100, "10.60.0.0", 24, NULL))
			fail_msg("%s: something of b is still programmed", cases[i].desc);
		if (!dirty_ep(s, 100, "10.2.0.5") || !dirty_policy(s, 200, 100, "10.2.0.0", 24) ||
		    !dirty_policy(s, 100, 200, "10.1.0.0", 16))
			fail_msg("%s: the withdrawn keys are not marked", cases[i].desc);
		zh_state_free(s);
	}
}

static void test_view_changes_follow(void **unused)
{
	struct zh_state *s = setup_a(peering_b, ARRAY_SIZE(peering_b));
	struct zh_endpoint v;

	peer_b_view(s, "all");
	zh_state_dirty_clear(s);
	/* An endpoint moves, another comes, one goes. */
	assert_int_equal(view_put(s, "b", R "published/b/all/endpoints/10.2.0.5",
				  "{'mac':'02:00:00:00:02:05','host':'h8','host_ip':'198.18.0.8'}"), 1);
	assert_true(ep(s, 100, "10.2.0.5", &v));
	assert_int_equal(v.host_ip, ip4("198.18.0.8"));
	assert_int_equal(view_put(s, "b", R "published/b/all/endpoints/10.2.0.6", EP_B("02:00:00:00:02:06")), 1);
	assert_true(ep(s, 100, "10.2.0.6", NULL));
	assert_int_equal(view_del(s, "b", R "published/b/all/endpoints/10.2.0.5"), 1);
	assert_false(ep(s, 100, "10.2.0.5", NULL));
	assert_true(dirty_ep(s, 100, "10.2.0.5"));
	/* Protocols narrowed: the sender entry follows. */
	assert_int_equal(view_put(s, "b", R "published/b/all/meta",
				  "{'vni':200,'prefixes':['10.2.0.0/24'],'protocols':['tcp']}"), 1);
	assert_int_equal(policy(s, 200, 100, "10.2.0.0", 24), ZH_PROTO_TCP);
	/* A record of another policy (an old view's late event) changes nothing. */
	assert_int_equal(view_put(s, "b", R "published/b/web/endpoints/10.2.0.9", EP_B("02:00:00:00:02:09")), 0);
	assert_false(ep(s, 100, "10.2.0.9", NULL));
	/* Routes in the view are the controller's business (effective/). */
	assert_int_equal(view_put(s, "b", R "published/b/all/routes/10.2.0.128/25",
				  "{'host':'h9','host_ip':'198.18.0.9'}"), 0);
	zh_state_free(s);
}

/* A grant switch watches another view: what the old one had keeps
 * forwarding until the new one is listed, then what it lacks goes.
 */
static void test_grant_switch_marks_and_sweeps(void **unused)
{
	struct zh_state *s = setup_a(peering_b, ARRAY_SIZE(peering_b));

	peer_b_view(s, "all");
	view_put(s, "b", R "published/b/all/endpoints/10.2.0.6", EP_B("02:00:00:00:02:06"));
	assert_int_equal(zh_state_peer_their(s, "a", "b", true, "web"), 1);
	assert_true(zh_state_vni_unsettled(s, 100)); /* the new view is not listed yet */
	assert_true(ep(s, 100, "10.2.0.5", NULL));
	assert_true(ep(s, 100, "10.2.0.6", NULL));
	zh_state_peer_view_begin(s, "a", "b", "web");
	view_put(s, "b", R "published/b/web/meta",
		 "{'vni':200,'prefixes':['10.2.0.0/28'],'protocols':['tcp']}");
	view_put(s, "b", R "published/b/web/endpoints/10.2.0.5", EP_B("02:00:00:00:02:05"));
	assert_true(ep(s, 100, "10.2.0.6", NULL)); /* still: the listing goes on */
	zh_state_dirty_clear(s);
	zh_state_peer_view_end(s, "a", "b", "web");
	assert_true(ep(s, 100, "10.2.0.5", NULL));
	assert_false(ep(s, 100, "10.2.0.6", NULL));
	assert_true(dirty_ep(s, 100, "10.2.0.6"));
	assert_int_equal(policy(s, 200, 100, "10.2.0.0", 24), 0);
	assert_int_equal(policy(s, 200, 100, "10.2.0.0", 28), ZH_PROTO_TCP);
	assert_false(zh_state_vni_unsettled(s, 100));

	/* A view that is not published: listed empty, everything goes. */
	zh_state_peer_their(s, "a", "b", true, "gone");
	zh_state_peer_view_begin(s, "a", "b", "gone");
	zh_state_peer_view_end(s, "a", "b", "gone");
	assert_false(ep(s, 100, "10.2.0.5", NULL));
	assert_int_equal(policy_count(s), 0);
	assert_string_equal(peer_info(s, "b").their_grant, "gone");
	assert_false(peer_info(s, "b").active);
	zh_state_free(s);
}

/* --- effective routes --------------------------------------------------------------- */

static void test_effective_routes_of_peers(void **unused)
{
	struct zh_state *s = setup_a(peering_b, ARRAY_SIZE(peering_b));
	struct zh_route v;

	/* The shard's table, before b's shard was read: fail static. */
	zh_state_effective_begin(s, "a");
	put(s, R "effective/a/routes/10.60.0.0/24",
	    "{'origin':'peer','network':'b','vni':200,'preference':100,'host':'h9',"
	    "'host_ip':'198.18.0.9','rule':'only'}");
	put(s, R "effective/a/routes/10.61.0.0/24",
	    "{'origin':'peer','network':'b','vni':200,'preference':100,'drop':true,'rule':'only'}");
	put(s, R "effective/a/routes/10.62.0.0/24",
	    "{'origin':'local','network':'a','vni':100,'host':'h2','host_ip':'198.18.0.2','rule':'only'}");
	put(s, R "effective/a/routes/10.63.0.0/24",
	    "{'origin':'peer','network':'z','vni':900,'preference':100,'host':'h9',"
	    "'host_ip':'198.18.0.9','rule':'only'}");
	zh_state_effective_end(s, "a");
	assert_true(route(s, 100, "10.60.0.0", 24, &v));
	assert_int_equal(v.dest_vni, 200);
	assert_int_equal(v.host_ip, ip4("198.18.0.9"));
	assert_int_equal(v.action, ZH_ROUTE_REMOTE);
	assert_true(route(s, 100, "10.61.0.0", 24, &v));
	assert_int_equal(v.action, ZH_ROUTE_DROP);
	/* A local winner is the network's own route record, not this one. */
	assert_false(route(s, 100, "10.62.0.0", 24, NULL));
	/* A network a has no peering with (anymore): not programmed. */
	assert_false(route(s, 100, "10.63.0.0", 24, NULL));

	/* The own route for the prefix wins. */
	put(s, R "networks/a/routes/10.60.0.0/24", "{'host':'h2','host_ip':'198.18.0.2'}");
	assert_true(route(s, 100, "10.60.0.0", 24, &v));
	assert_int_equal(v.dest_vni, 0);
	assert_int_equal(v.host_ip, ip4("198.18.0.2"));
	del(s, R "networks/a/routes/10.60.0.0/24");

	/* b one-sided: its routes go, and come back with its side. */
	zh_state_peer_their(s, "a", "b", false, NULL);
	assert_false(route(s, 100, "10.60.0.0", 24, NULL));
	peer_b_view(s, "all");
	assert_true(route(s, 100, "10.60.0.0", 24, NULL));
	assert_int_equal(peer_info(s, "b").routes, 2);
	/* The controller withdraws one. */
	del(s, R "effective/a/routes/10.61.0.0/24");
	assert_false(route(s, 100, "10.61.0.0", 24, NULL));
	assert_int_equal(peer_info(s, "b").routes, 1);
	zh_state_free(s);
}

/* --- conflicts between peers ---------------------------------------------------------- */

static const char *peering_bc[] = {
	"b", "{'grant':'all','preference':100}",
	"c", "{'grant':'all','preference':200}",
};

static void view_of(struct zh_state *s, const char *peer, uint32_t vni)
{
	char key[128], meta[160];

	zh_state_peer_their(s, "a", peer, true, "all");
	zh_state_peer_view_begin(s, "a", peer, "all");
	snprintf(key, sizeof(key), R "published/%s/all/meta", peer);
	snprintf(meta, sizeof(meta), "{'vni':%u,'prefixes':['10.2.0.0/24']}", vni);
	view_put(s, peer, key, meta);
	snprintf(key, sizeof(key), R "published/%s/all/endpoints/10.2.0.5", peer);
	view_put(s, peer, key, !strcmp(peer, "b") ? EP_B("02:00:00:00:0b:05")
						   : "{'mac':'02:00:00:00:0c:05','host':'h7','host_ip':'198.18.0.7'}");
	zh_state_peer_view_end(s, "a", peer, "all");
}

static void test_same_address_from_two_peers_goes_to_the_preferred(void **unused)
{
	struct zh_state *s = setup_a(peering_bc, ARRAY_SIZE(peering_bc));
	struct zh_endpoint v;

	view_of(s, "b", 200);
	view_of(s, "c", 300);
	assert_true(ep(s, 100, "10.2.0.5", &v));
	assert_int_equal(v.dest_vni, 300); /* c: preference 200 */
	assert_int_equal(v.host_ip, ip4("198.18.0.7"));
	/* c goes: b's takes over. */
	zh_state_peer_their(s, "a", "c", false, NULL);
	assert_true(ep(s, 100, "10.2.0.5", &v));
	assert_int_equal(v.dest_vni, 200);
	/* An own endpoint record of a for the address beats every peer. */
	put(s, R "networks/a/endpoints/10.2.0.5",
	    "{'mac':'02:00:00:00:0a:05','host':'h2','host_ip':'198.18.0.2'}");
	assert_true(ep(s, 100, "10.2.0.5", &v));
	assert_int_equal(v.dest_vni, 0);
	zh_state_free(s);
}

static void test_vni_clash_keeps_the_second_peer_out(void **unused)
{
	struct zh_state *s = setup_a(peering_bc, ARRAY_SIZE(peering_bc));

	warnings = 0;
	view_of(s, "b", 200);
	view_of(s, "c", 200);
	assert_true(peer_info(s, "b").active);
	assert_false(peer_info(s, "c").active);
	assert_true(peer_info(s, "c").clash);
	assert_int_equal(warnings, 1);
	assert_non_null(strstr(last_warning, "networks/a/peerings/c"));
	assert_non_null(strstr(last_warning, "VNI 200"));
	/* b leaves: c gets the VNI. */
	del(s, R "networks/a/peerings/b");
	assert_true(peer_info(s, "c").active);
	/* A peer with a's own VNI is refused. */
	view_of(s, "c", 100);
	assert_false(peer_info(s, "c").active);
	assert_non_null(strstr(last_warning, "network a's own"));
	zh_state_free(s);
}

/* --- the network goes ------------------------------------------------------------------- */

static void test_last_port_gone_withdraws_the_peers_entries(void **unused)
{
	struct zh_state *s = setup_a(peering_b, ARRAY_SIZE(peering_b));

	peer_b_view(s, "all");
	zh_state_dirty_clear(s);
	del(s, R "hosts/h1/ports/p1");
	assert_false(ep(s, 100, "10.2.0.5", NULL));
	assert_int_equal(policy(s, 200, 100, "10.2.0.0", 24), 0);
	assert_true(dirty_ep(s, 100, "10.2.0.5"));
	assert_true(dirty_policy(s, 200, 100, "10.2.0.0", 24));
	assert_true(dirty_policy(s, 100, 200, "10.1.0.0", 16));
	/* The etcd source then forgets the network's peerings. */
	zh_state_peerings_forget(s, "a");
	{
		struct zh_state_counts c;

		zh_state_counts(s, &c);
		assert_int_equal(c.peers, 0);
		assert_int_equal(c.peer_endpoints, 0);
	}
	zh_state_free(s);
}

/* --- against real maps ------------------------------------------------------------------- */

#include "maps_fixture.h"

static int map_get_policy(struct fixture *f, uint32_t vni, uint32_t peer_vni, const char *prefix,
			  uint32_t len)
{
	struct zh_policy_key k = pkey(vni, peer_vni, prefix, len);
	struct zh_policy v;

	return bpf_map_lookup_elem(f->maps.policy.fd, &k, &v) ? 0 : (int)v.protocols;
}

static void test_peering_reaches_the_maps_and_leaves_them(void **state)
{
	struct fixture *f = *state;
	struct zh_endpoint v;

	NEED_MAPS(f);
	f->state = setup_a(peering_b, ARRAY_SIZE(peering_b));
	f->rec = zh_reconciler_new(&f->maps, f->state, NULL, &f->stats);
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(map_count(&f->maps.endpoints), 0);

	peer_b_view(f->state, "all");
	put(f->state, R "effective/a/routes/10.60.0.0/24",
	    "{'origin':'peer','network':'b','vni':200,'preference':100,'host':'h9',"
	    "'host_ip':'198.18.0.9','rule':'only'}");
	/* 1 endpoint, 1 route, 2 policies, in one flush. */
	assert_int_equal(zh_reconcile_flush(f->rec), 4);
	assert_int_equal(map_get_ep(f, 100, "10.2.0.5", &v), 0);
	assert_int_equal(v.dest_vni, 200);
	assert_int_equal(v.host_ip, ip4("198.18.0.9"));
	assert_int_equal(map_get_policy(f, 200, 100, "10.2.0.0", 24), ZH_PROTO_TCP | ZH_PROTO_ICMP);
	assert_int_equal(map_get_policy(f, 100, 200, "10.1.0.0", 16), ZH_PROTO_ANY);
	assert_int_equal(map_count(&f->maps.routes), 1);

	/* A full reconcile of that state writes nothing. */
	f->stats.map_ops = 0;
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(f->stats.map_ops, 0);

	/* b removes its side: everything of b leaves the maps in one flush. */
	zh_state_peer_their(f->state, "a", "b", false, NULL);
	assert_int_equal(zh_reconcile_flush(f->rec), 4);
	assert_int_equal(map_count(&f->maps.endpoints), 0);
	assert_int_equal(map_count(&f->maps.routes), 0);
	assert_int_equal(map_count(&f->maps.policy), 0);
}

/* An agent restart while b's shard is down: the maps hold b's entries from
 * before; a full reconcile keeps them (b not known yet), and the one after
 * b is known removes what b no longer has.
 */
static void test_entries_of_unknown_peers_survive_until_known(void **state)
{
	struct fixture *f = *state;
	struct zh_ep_key k1 = {.vni = 100, .ip = ip4("10.2.0.5")}, k2 = {.vni = 100, .ip = ip4("10.2.0.99")};
	struct zh_ep_key k3 = {.vni = 100, .ip = ip4("10.1.5.5")};
	struct zh_endpoint pe = {.host_ip = ip4("198.18.0.9"), .dest_vni = 200};
	struct zh_endpoint own = {.host_ip = ip4("198.18.0.9")};
	struct zh_policy_key pk = pkey(200, 100, "10.2.0.0", 24);
	struct zh_policy pv = {.protocols = ZH_PROTO_TCP};
	struct zh_endpoint v;

	NEED_MAPS(f);
	assert_int_equal(bpf_map_update_elem(f->maps.endpoints.fd, &k1, &pe, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->maps.endpoints.fd, &k2, &pe, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->maps.endpoints.fd, &k3, &own, BPF_ANY), 0);
	assert_int_equal(bpf_map_update_elem(f->maps.policy.fd, &pk, &pv, BPF_ANY), 0);

	f->state = setup_a(peering_b, ARRAY_SIZE(peering_b));
	f->rec = zh_reconciler_new(&f->maps, f->state, NULL, &f->stats);
	assert_true(zh_state_vni_unsettled(f->state, 100));
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	/* b's entries stay (fail static); a's own stale one goes. */
	assert_int_equal(map_get_ep(f, 100, "10.2.0.5", &v), 0);
	assert_int_equal(map_get_ep(f, 100, "10.2.0.99", &v), 0);
	assert_int_equal(map_get_ep(f, 100, "10.1.5.5", &v), -ENOENT);
	assert_int_equal(map_get_policy(f, 200, 100, "10.2.0.0", 24), ZH_PROTO_TCP);
	{
		struct zh_reconcile_counts c;

		zh_reconcile_counts(f->rec, &c);
		assert_int_equal(c.kept, 3);
	}

	/* b's shard answers: its view has .5 (not .99), other protocols. */
	zh_state_take_settled(f->state);
	peer_b_view(f->state, "all");
	assert_true(zh_state_take_settled(f->state));
	zh_reconcile_flush(f->rec);
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(map_get_ep(f, 100, "10.2.0.5", &v), 0);
	assert_int_equal(map_get_ep(f, 100, "10.2.0.99", &v), -ENOENT);
	assert_int_equal(map_get_policy(f, 200, 100, "10.2.0.0", 24), ZH_PROTO_TCP | ZH_PROTO_ICMP);
	assert_int_equal(map_count(&f->maps.policy), 2);
}

/* An agent restart with nothing changed: the new agent's first full
 * reconcile keeps b's entries (b not known yet); b's state arriving then
 * writes nothing, because the map already holds exactly that. A change
 * after that is written as usual.
 */
static void test_restart_rewrites_nothing_once_peers_are_back(void **state)
{
	struct fixture *f = *state;
	struct zh_endpoint v;

	NEED_MAPS(f);
	f->state = setup_a(peering_b, ARRAY_SIZE(peering_b));
	f->rec = zh_reconciler_new(&f->maps, f->state, NULL, &f->stats);
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	peer_b_view(f->state, "all");
	put(f->state, R "effective/a/routes/10.60.0.0/24",
	    "{'origin':'peer','network':'b','vni':200,'preference':100,'host':'h9',"
	    "'host_ip':'198.18.0.9','rule':'only'}");
	assert_int_equal(zh_reconcile_flush(f->rec), 4);

	/* the restart: a new state and reconciler over the same maps */
	zh_reconciler_free(f->rec);
	zh_state_free(f->state);
	f->state = setup_a(peering_b, ARRAY_SIZE(peering_b));
	f->rec = zh_reconciler_new(&f->maps, f->state, NULL, &f->stats);
	f->stats.map_ops = 0;
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	{
		struct zh_reconcile_counts c;

		zh_reconcile_counts(f->rec, &c);
		assert_int_equal(c.kept, 4); /* endpoint, route, both policies */
	}
	assert_int_equal(f->stats.map_ops, 0);

	zh_state_take_settled(f->state);
	peer_b_view(f->state, "all");
	put(f->state, R "effective/a/routes/10.60.0.0/24",
	    "{'origin':'peer','network':'b','vni':200,'preference':100,'host':'h9',"
	    "'host_ip':'198.18.0.9','rule':'only'}");
	assert_true(zh_state_has_dirty(f->state));
	assert_int_equal(zh_reconcile_flush(f->rec), 0);
	assert_true(zh_state_take_settled(f->state));
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(f->stats.map_ops, 0);
	assert_int_equal(map_count(&f->maps.endpoints), 1);
	assert_int_equal(map_count(&f->maps.routes), 1);
	assert_int_equal(map_count(&f->maps.policy), 2);

	/* later changes are written: b's endpoint moves to another host */
	zh_state_peer_view_begin(f->state, "a", "b", "all");
	view_put(f->state, "b", R "published/b/all/meta", META_B);
	view_put(f->state, "b", R "published/b/all/endpoints/10.2.0.5",
		 "{'mac':'02:00:00:00:02:05','host':'h8','host_ip':'198.18.0.8'}");
	zh_state_peer_view_end(f->state, "a", "b", "all");
	assert_int_equal(zh_reconcile_flush(f->rec), 1);
	assert_int_equal(map_get_ep(f, 100, "10.2.0.5", &v), 0);
	assert_int_equal(v.host_ip, ip4("198.18.0.8"));
}

/* --- the file source: peering within one intent file --------------------------------- */

static const char *file_intent =
	"{'version':'v1',"
	" 'networks':["
	"  {'name':'a','vni':100,'cidrs':['10.1.0.0/24'],"
	"   'exports':[{'name':'to-b','protocols':['tcp','icmp']}],"
	"   'peerings':[{'peer':'b','grant':'to-b'}]},"
	"  {'name':'b','vni':200,'cidrs':['10.2.0.0/24'],"
	"   'endpoints':[{'ip':'10.2.0.50','mac':'02:00:00:00:02:50','host':'h2'}],"
	"   'routes':[{'prefix':'10.2.0.128/25','host':'h2'}],"
	"   'exports':[{'name':'web','prefixes':['10.2.0.0/24'],'protocols':['tcp']}],"
	"   'peerings':[%s]}],"
	" 'hosts':["
	"  {'name':'h1','underlay':'198.18.0.1','networks':['a','b'],"
	"   'ports':[{'ifname':'pa','network':'a','mac':'02:00:00:00:01:11','ip':'10.1.0.11'},"
	"            {'ifname':'pb','network':'b','mac':'02:00:00:00:02:11','ip':'10.2.0.11'}]},"
	"  {'name':'h2','underlay':'198.18.0.2','networks':['b']}]}";

static void write_intent(const char *path, const char *b_peerings)
{
	char doc[4096];
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	snprintf(doc, sizeof(doc), file_intent, b_peerings);
	fputs(J(doc), fp);
	fclose(fp);
}

static void test_file_source_peers_two_networks_of_one_host(void **unused)
{
	char dir[] = "/tmp/zt-peerfile-XXXXXX", path[128];
	struct zh_src_file *src;
	struct zh_endpoint v;
	struct zh_route rt;
	struct zh_agent a;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/intent.json", dir);
	memset(&a, 0, sizeof(a));
	a.state = zh_state_new("h1", on_warn, NULL);

	/* One-sided: a peers with b, b does not. */
	write_intent(path, "");
	assert_int_equal(zh_src_file_open(&a, path, &src), 0);
	assert_int_equal(zh_src_file_load(src), 0);
	assert_false(ep(a.state, 100, "10.2.0.11", NULL));
	assert_int_equal(policy_count(a.state), 0);
	assert_int_equal(peer_info(a.state, "b").their, ZH_THEIR_ABSENT);
	assert_false(zh_state_vni_unsettled(a.state, 100));

	/* Both sides: b's VM on this host and its endpoint on h2 are a's
	 * peer entries, with b's VNI; a's VM is b's the other way.
	 */
	write_intent(path, "{'peer':'a','grant':'web'}");
	assert_int_equal(zh_src_file_load(src), 0);
	assert_true(ep(a.state, 100, "10.2.0.11", &v));
	assert_int_equal(v.dest_vni, 200);
	assert_int_equal(v.host_ip, ip4("198.18.0.1")); /* this host: delivered locally */
	assert_true(ep(a.state, 100, "10.2.0.50", &v));
	assert_int_equal(v.host_ip, ip4("198.18.0.2"));
	assert_true(ep(a.state, 200, "10.1.0.11", &v));
	assert_int_equal(v.dest_vni, 100);
	/* b's route, through a's effective table. */
	assert_true(route(a.state, 100, "10.2.0.128", 25, &rt));
	assert_int_equal(rt.dest_vni, 200);
	/* Both export policies, from both sides: web (tcp) and to-b (tcp, icmp). */
	assert_int_equal(policy(a.state, 200, 100, "10.2.0.0", 24), ZH_PROTO_TCP);
	assert_int_equal(policy(a.state, 100, 200, "10.1.0.0", 24), ZH_PROTO_TCP | ZH_PROTO_ICMP);
	assert_true(peer_info(a.state, "b").active);
	assert_true(peer_info(a.state, "a").active);

	/* b drops the peering again: withdrawn. */
	write_intent(path, "");
	assert_int_equal(zh_src_file_load(src), 0);
	assert_false(ep(a.state, 100, "10.2.0.11", NULL));
	assert_false(route(a.state, 100, "10.2.0.128", 25, NULL));
	assert_int_equal(policy_count(a.state), 0);

	zh_src_file_close(src);
	zh_state_free(a.state);
	unlink(path);
	rmdir(dir);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_peer_is_programmed_only_when_both_sides_configured_it),
	cmocka_unit_test(test_our_grant_sets_the_receiver_policy),
	cmocka_unit_test(test_removal_of_either_side_withdraws_everything),
	cmocka_unit_test(test_view_changes_follow),
	cmocka_unit_test(test_grant_switch_marks_and_sweeps),
	cmocka_unit_test(test_effective_routes_of_peers),
	cmocka_unit_test(test_same_address_from_two_peers_goes_to_the_preferred),
	cmocka_unit_test(test_vni_clash_keeps_the_second_peer_out),
	cmocka_unit_test(test_last_port_gone_withdraws_the_peers_entries),
	cmocka_unit_test_setup_teardown(test_peering_reaches_the_maps_and_leaves_them, maps_setup,
					maps_teardown),
	cmocka_unit_test_setup_teardown(test_restart_rewrites_nothing_once_peers_are_back,
					maps_setup, maps_teardown),
	cmocka_unit_test_setup_teardown(test_entries_of_unknown_peers_survive_until_known,
					maps_setup, maps_teardown),
	cmocka_unit_test(test_file_source_peers_two_networks_of_one_host),
};

int main(void)
{
	return cmocka_run_group_tests_name("peering_agent", tests, NULL, NULL);
}
