// SPDX-License-Identifier: GPL-2.0-only
/* Per-network resync (zh_state_net_resync_begin/end, zh_state_net_forget):
 * the etcd source lists each served network on its own, so a listing
 * marks and sweeps only that network's records; while it is in flight
 * nothing is marked dirty (the maps keep forwarding with what they have),
 * and the full reconcile after it writes only the difference. Against
 * real BPF maps created here (needs root; without it the map tests skip).
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

#include "maps_fixture.h"

#define OWN (ZH_KIND(ZH_REC_NETWORK) | ZH_KIND(ZH_REC_ENDPOINT) | ZH_KIND(ZH_REC_ROUTE) | \
	     ZH_KIND(ZH_REC_EXPORT))

static unsigned int ep_want(struct zh_state *s, uint32_t vni, const char *ip)
{
	struct zh_ep_key k = {.vni = vni, .ip = ip4(ip)};
	struct zh_endpoint v;

	return zh_state_endpoint(s, &k, &v, false);
}

#define NET_BLUE R "networks/blue", "{'vni':100,'cidrs':['10.0.0.0/24']}"
#define NET_RED  R "networks/red", "{'vni':200,'cidrs':['10.1.0.0/24']}"
#define EP(net, ip, hip) R "networks/" net "/endpoints/" ip, \
	"{'mac':'02:00:00:00:00:99','host':'h2','host_ip':'" hip "'}"
#define PORT(name, net, ip) R "hosts/h1/ports/" name, \
	"{'network':'" net "','mac':'02:00:00:00:00:11','ip':'" ip "'}"
#define ROUTE(net, p) R "networks/" net "/routes/" p, "{'host':'h2','host_ip':'198.18.0.2'}"

/* blue and red, each with a port on h1, two endpoints and a route. */
static void two_networks(struct zh_state *s)
{
	zh_state_resync_begin(s, ZH_KINDS_ALL);
	put(s, NET_BLUE);
	put(s, NET_RED);
	put(s, PORT("p1", "blue", "10.0.0.11"));
	put(s, PORT("p2", "red", "10.1.0.11"));
	put(s, EP("blue", "10.0.0.12", "198.18.0.2"));
	put(s, EP("blue", "10.0.0.13", "198.18.0.2"));
	put(s, EP("red", "10.1.0.12", "198.18.0.2"));
	put(s, EP("red", "10.1.0.13", "198.18.0.2"));
	put(s, ROUTE("blue", "10.9.0.0/16"));
	put(s, ROUTE("red", "10.8.0.0/16"));
	zh_state_resync_end(s, ZH_KINDS_ALL);
}

/* --- desired state ------------------------------------------------------------ */

static void test_listing_sweeps_only_its_network(void **unused)
{
	struct zh_state *s = zh_state_new("h1", NULL, NULL);
	struct zh_state_counts c;

	(void)unused;
	two_networks(s);
	zh_state_dirty_clear(s);

	/* blue lists again without .13 and its route; red is not listed. */
	zh_state_net_resync_begin(s, "blue", OWN);
	assert_true(zh_state_resyncing(s));
	put(s, NET_BLUE);
	put(s, EP("blue", "10.0.0.12", "198.18.0.2"));
	put(s, EP("blue", "10.0.0.14", "198.18.0.3"));
	/* Until the end the stale record stays, and nothing is dirty. */
	assert_int_equal(ep_want(s, 100, "10.0.0.13"), ZH_WANT_REMOTE);
	assert_false(zh_state_has_dirty(s));
	zh_state_net_resync_end(s, "blue", OWN);
	assert_false(zh_state_resyncing(s));
	assert_false(zh_state_has_dirty(s)); /* the caller reconciles fully */

	assert_int_equal(ep_want(s, 100, "10.0.0.12"), ZH_WANT_REMOTE);
	assert_int_equal(ep_want(s, 100, "10.0.0.13"), 0);
	assert_int_equal(ep_want(s, 100, "10.0.0.14"), ZH_WANT_REMOTE);
	/* red, not listed, keeps everything. */
	assert_int_equal(ep_want(s, 200, "10.1.0.12"), ZH_WANT_REMOTE);
	assert_int_equal(ep_want(s, 200, "10.1.0.13"), ZH_WANT_REMOTE);
	zh_state_counts(s, &c);
	assert_int_equal(c.endpoints, 4);
	assert_int_equal(c.routes, 1); /* red's */
	assert_int_equal(c.networks_active, 2);

	/* After it, changes are marked dirty again. */
	put(s, EP("blue", "10.0.0.15", "198.18.0.2"));
	assert_true(zh_state_has_dirty(s));
	zh_state_free(s);
}

static void test_listing_without_the_record_deletes_the_network(void **unused)
{
	struct zh_state *s = zh_state_new("h1", NULL, NULL);
	struct zh_state_counts c;

	(void)unused;
	two_networks(s);
	/* The record and the rest come in two listings (two subscriptions). */
	zh_state_net_resync_begin(s, "blue", ZH_KIND(ZH_REC_NETWORK));
	zh_state_net_resync_begin(s, "blue", OWN & ~ZH_KIND(ZH_REC_NETWORK));
	put(s, EP("blue", "10.0.0.12", "198.18.0.2"));
	zh_state_net_resync_end(s, "blue", OWN & ~ZH_KIND(ZH_REC_NETWORK));
	/* One of the two still in flight: still quiet, still programmed. */
	assert_true(zh_state_resyncing(s));
	assert_int_equal(ep_want(s, 100, "10.0.0.12"), ZH_WANT_REMOTE);
	zh_state_net_resync_end(s, "blue", ZH_KIND(ZH_REC_NETWORK));
	assert_false(zh_state_resyncing(s));
	/* No network record listed: blue is no longer programmed. */
	assert_int_equal(ep_want(s, 100, "10.0.0.12"), 0);
	zh_state_counts(s, &c);
	assert_int_equal(c.networks, 1);
	assert_int_equal(c.networks_active, 1);
	assert_int_equal(ep_want(s, 200, "10.1.0.12"), ZH_WANT_REMOTE);
	zh_state_free(s);
}

static void test_restarted_listing_counts_once(void **unused)
{
	struct zh_state *s = zh_state_new("h1", NULL, NULL);
	struct zh_state_counts c;

	(void)unused;
	two_networks(s);
	/* A listing cut short and started over (SIGHUP, re-subscription):
	 * one end finishes it, and records listed by the first try only go.
	 */
	zh_state_net_resync_begin(s, "red", OWN);
	put(s, NET_RED);
	put(s, EP("red", "10.1.0.13", "198.18.0.2"));
	zh_state_net_resync_begin(s, "red", OWN);
	put(s, NET_RED);
	put(s, EP("red", "10.1.0.12", "198.18.0.2"));
	zh_state_net_resync_end(s, "red", OWN);
	assert_false(zh_state_resyncing(s));
	assert_int_equal(ep_want(s, 200, "10.1.0.12"), ZH_WANT_REMOTE);
	assert_int_equal(ep_want(s, 200, "10.1.0.13"), 0);

	/* A network with no record at all lists empty: nothing stays behind. */
	zh_state_net_resync_begin(s, "green", OWN);
	assert_true(zh_state_resyncing(s));
	zh_state_net_resync_end(s, "green", OWN);
	assert_false(zh_state_resyncing(s));
	zh_state_counts(s, &c);
	assert_int_equal(c.networks, 2);
	zh_state_free(s);
}

static void test_forget_drops_the_network_and_ends_its_listing(void **unused)
{
	struct zh_state *s = zh_state_new("h1", NULL, NULL);
	struct zh_state_counts c;
	struct zh_dirty d;

	(void)unused;
	two_networks(s);
	zh_state_dirty_clear(s);
	/* Not served any more: every own record goes, keys marked dirty. */
	zh_state_net_forget(s, "red", OWN);
	assert_int_equal(ep_want(s, 200, "10.1.0.12"), 0);
	zh_state_dirty(s, &d);
	assert_int_equal(d.n_eps, 2); /* .12 and .13 */
	assert_int_equal(d.n_routes, 1);
	zh_state_counts(s, &c);
	assert_int_equal(c.endpoints, 2);
	assert_int_equal(c.networks, 1);
	assert_int_equal(ep_want(s, 100, "10.0.0.12"), ZH_WANT_REMOTE);

	/* Forgotten mid-listing: the listing ends with it. */
	zh_state_net_resync_begin(s, "blue", OWN);
	assert_true(zh_state_resyncing(s));
	zh_state_net_forget(s, "blue", OWN);
	assert_false(zh_state_resyncing(s));
	zh_state_counts(s, &c);
	assert_int_equal(c.endpoints, 0);
	assert_int_equal(c.networks, 0);
	zh_state_free(s);
}

static void test_agent_listing_and_sync(void **unused)
{
	struct zh_agent a;

	(void)unused;
	memset(&a, 0, sizeof(a));
	a.state = zh_state_new("h1", NULL, NULL);
	a.unsynced = ZH_KINDS_NETWORKS | ZH_KINDS_HOST;
	zh_agent_resync_begin(&a, ZH_KINDS_HOST);
	zh_agent_put(&a, R "hosts/h1/ports/p1", strlen(R "hosts/h1/ports/p1"),
		     J("{'network':'blue','mac':'02:00:00:00:00:11','ip':'10.0.0.11'}"),
		     strlen("{'network':'blue','mac':'02:00:00:00:00:11','ip':'10.0.0.11'}"), 5);
	zh_agent_resync_end(&a, ZH_KINDS_HOST, 5);
	assert_int_equal(a.unsynced, ZH_KINDS_NETWORKS);

	zh_agent_net_listing(&a, "blue", OWN, true, 0);
	assert_true(zh_state_resyncing(a.state));
	zh_agent_put(&a, R "networks/blue", strlen(R "networks/blue"),
		     J("{'vni':100,'cidrs':['10.0.0.0/24']}"),
		     strlen("{'vni':100,'cidrs':['10.0.0.0/24']}"), 7);
	zh_agent_net_listing(&a, "blue", OWN, false, 9);
	assert_int_equal(a.stats.resyncs, 2);
	assert_int_equal(a.stats.revision, 9);
	assert_true(a.full_needed);
	/* Nothing is written before every served network listed once. */
	assert_int_equal(a.unsynced, ZH_KINDS_NETWORKS);
	zh_agent_synced(&a, ZH_KINDS_NETWORKS);
	assert_int_equal(a.unsynced, 0);

	a.full_needed = false;
	zh_agent_net_forget(&a, "blue", OWN);
	assert_false(a.full_needed); /* nothing in flight: the dirty keys do */
	assert_true(zh_state_has_dirty(a.state));
	zh_state_free(a.state);
}

/* --- against real maps --------------------------------------------------------- */

/* The maps with a state and a reconciler of h1 on top. */
static int setup(void **state)
{
	struct fixture *f;

	maps_setup(state);
	f = *state;
	if (f) {
		f->state = zh_state_new("h1", NULL, NULL);
		f->rec = zh_reconciler_new(&f->maps, f->state, NULL, &f->stats);
	}
	return 0;
}

static bool map_has_route(struct fixture *f, uint32_t vni, const char *prefix, uint32_t len)
{
	struct zh_route_key k = {.prefixlen = 32 + len, .vni = vni, .ip = ip4(prefix)};
	struct zh_route v;

	return bpf_map_lookup_elem(f->maps.routes.fd, &k, &v) == 0;
}

static void test_maps_keep_forwarding_during_a_network_listing(void **state)
{
	struct fixture *f = *state;
	struct zh_endpoint v;
	uint64_t ops;

	NEED_MAPS(f);
	two_networks(f->state);
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(map_count(&f->maps.endpoints), 4);
	assert_int_equal(map_count(&f->maps.routes), 2);
	ops = f->stats.map_ops;

	/* red re-lists (a compaction) without .13 and its route; meanwhile a
	 * change of blue arrives: nothing is written while red is listed.
	 */
	zh_state_net_resync_begin(f->state, "red", OWN);
	put(f->state, NET_RED);
	put(f->state, EP("red", "10.1.0.12", "198.18.0.2"));
	put(f->state, EP("blue", "10.0.0.14", "198.18.0.3"));
	assert_int_equal(zh_reconcile_flush(f->rec), 0);
	assert_int_equal(f->stats.map_ops, ops);
	assert_int_equal(map_get_ep(f, 200, "10.1.0.13", &v), 0);
	assert_true(map_has_route(f, 200, "10.8.0.0", 16));
	zh_state_net_resync_end(f->state, "red", OWN);
	/* Swept from the state, still in the maps until the full reconcile. */
	assert_int_equal(map_get_ep(f, 200, "10.1.0.13", &v), 0);

	assert_int_equal(zh_reconcile_full(f->rec), 0);
	/* blue's .14 written, red's .13 and route deleted: 3 ops, nothing else. */
	assert_int_equal(f->stats.map_ops - ops, 3);
	assert_int_equal(map_get_ep(f, 200, "10.1.0.13", &v), -ENOENT);
	assert_false(map_has_route(f, 200, "10.8.0.0", 16));
	assert_int_equal(map_get_ep(f, 200, "10.1.0.12", &v), 0);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.13", &v), 0); /* blue, not listed */
	assert_int_equal(map_get_ep(f, 100, "10.0.0.14", &v), 0);
	assert_int_equal(v.host_ip, ip4("198.18.0.3"));
	assert_true(map_has_route(f, 100, "10.9.0.0", 16));
}

static void test_forgotten_network_leaves_the_maps(void **state)
{
	struct fixture *f = *state;
	struct zh_endpoint v;

	NEED_MAPS(f);
	two_networks(f->state);
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	zh_state_dirty_clear(f->state);

	/* The host stops serving red (its port went first, as it must). */
	zh_state_delete(f->state, &(struct zh_record){.kind = ZH_REC_PORT, .host = "h1",
						      .port = {.ifname = "p2"}});
	zh_state_net_forget(f->state, "red", OWN);
	assert_true(zh_reconcile_flush(f->rec) > 0);
	assert_int_equal(map_get_ep(f, 200, "10.1.0.12", &v), -ENOENT);
	assert_int_equal(map_get_ep(f, 200, "10.1.0.13", &v), -ENOENT);
	assert_false(map_has_route(f, 200, "10.8.0.0", 16));
	assert_int_equal(map_get_ep(f, 100, "10.0.0.12", &v), 0);
	assert_true(map_has_route(f, 100, "10.9.0.0", 16));
	assert_int_equal(map_count(&f->maps.endpoints), 2);
	/* A full reconcile agrees: nothing left to do. */
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(map_count(&f->maps.endpoints), 2);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_listing_sweeps_only_its_network),
	cmocka_unit_test(test_listing_without_the_record_deletes_the_network),
	cmocka_unit_test(test_restarted_listing_counts_once),
	cmocka_unit_test(test_forget_drops_the_network_and_ends_its_listing),
	cmocka_unit_test(test_agent_listing_and_sync),
	cmocka_unit_test_setup_teardown(test_maps_keep_forwarding_during_a_network_listing,
					setup, maps_teardown),
	cmocka_unit_test_setup_teardown(test_forgotten_network_leaves_the_maps, setup,
					maps_teardown),
};

int main(void)
{
	return cmocka_run_group_tests(tests, NULL, NULL);
}
