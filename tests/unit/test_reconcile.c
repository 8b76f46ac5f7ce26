// SPDX-License-Identifier: GPL-2.0-only
/* The agent's desired state (agent/state.c) from record sequences, and
 * reconciliation (agent/reconcile.c) against real BPF maps created here
 * with the data plane's types and sizes: mark and sweep, local ports never
 * swept, deletes only after the full state is in, batched flushes.
 *
 * Records go through the real data model (zh_record_parse), and the map
 * tests need root (CAP_BPF); without it they skip.
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
#include "log.h"
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

static unsigned int ep_want(struct zh_state *s, uint32_t vni, const char *ip,
			    struct zh_endpoint *v)
{
	struct zh_ep_key k = {.vni = vni, .ip = ip4(ip)};
	struct zh_endpoint dummy;

	return zh_state_endpoint(s, &k, v ? v : &dummy, false);
}

static bool dirty_has_ep(struct zh_state *s, uint32_t vni, const char *ip)
{
	struct zh_dirty d;
	uint32_t i;

	zh_state_dirty(s, &d);
	for (i = 0; i < d.n_eps; i++)
		if (d.eps[i].vni == vni && d.eps[i].ip == ip4(ip))
			return true;
	return false;
}

static bool dirty_has_port(struct zh_state *s, const char *name)
{
	struct zh_dirty d;
	uint32_t i;

	zh_state_dirty(s, &d);
	for (i = 0; i < d.n_ports; i++)
		if (!strcmp(d.ports[i], name))
			return true;
	return false;
}

#define NET_BLUE  R "networks/blue", "{'vni':100,'cidrs':['10.0.0.0/24']}"
#define EP(ip, host, hip) R "networks/blue/endpoints/" ip, \
	"{'mac':'02:00:00:00:00:99','host':'" host "','host_ip':'" hip "'}"
#define PORT(name, ip) R "hosts/h1/ports/" name, \
	"{'network':'blue','mac':'02:00:00:00:00:11','ip':'" ip "'}"

/* --- desired state ------------------------------------------------------------ */

static void test_endpoints_wait_for_a_local_port(void **unused)
{
	struct zh_state *s = zh_state_new("h1", on_warn, NULL);
	struct zh_endpoint v;
	struct zh_dirty d;

	assert_int_equal(put(s, NET_BLUE), 1);
	assert_int_equal(put(s, EP("10.0.0.12", "h2", "198.18.0.2")), 1);
	assert_int_equal(put(s, R "networks/blue/routes/10.9.0.0/16",
			     "{'host':'h2','host_ip':'198.18.0.2'}"), 1);
	/* No port of blue on h1: nothing is programmed, nothing dirty. */
	assert_int_equal(ep_want(s, 100, "10.0.0.12", NULL), 0);
	assert_false(zh_state_has_dirty(s));

	/* The first port activates the network: its entries become dirty. */
	assert_int_equal(put(s, PORT("p1", "10.0.0.11")), 1);
	assert_int_equal(ep_want(s, 100, "10.0.0.12", &v), ZH_WANT_REMOTE);
	assert_int_equal(v.host_ip, ip4("198.18.0.2"));
	assert_int_equal(v.ifindex, 0);
	assert_int_equal(v.dest_vni, 0);
	assert_int_equal(ep_want(s, 100, "10.0.0.11", NULL), ZH_WANT_LOCAL);
	assert_true(dirty_has_ep(s, 100, "10.0.0.12"));
	assert_true(dirty_has_port(s, "p1"));
	/* The port's own entry is the port's business (zh_port_add). */
	assert_false(dirty_has_ep(s, 100, "10.0.0.11"));
	zh_state_dirty(s, &d);
	assert_int_equal(d.n_routes, 1);
	assert_int_equal(d.routes[0].prefixlen, 32 + 16);
	assert_int_equal(d.routes[0].vni, 100);

	/* The same record again changes nothing. */
	zh_state_dirty_clear(s);
	assert_int_equal(put(s, EP("10.0.0.12", "h2", "198.18.0.2")), 0);
	assert_false(zh_state_has_dirty(s));
	zh_state_free(s);
}

static void test_own_host_endpoints_and_routes_are_skipped(void **unused)
{
	struct zh_state *s = zh_state_new("h1", on_warn, NULL);
	struct zh_state_counts c;

	put(s, NET_BLUE);
	put(s, PORT("p1", "10.0.0.11"));
	/* The intent's endpoint record for h1's own port. */
	assert_int_equal(put(s, EP("10.0.0.11", "h1", "198.18.0.1")), 0);
	assert_int_equal(ep_want(s, 100, "10.0.0.11", NULL), ZH_WANT_LOCAL);
	/* An endpoint that moves to this host stops being remote. */
	assert_int_equal(put(s, EP("10.0.0.20", "h2", "198.18.0.2")), 1);
	assert_int_equal(ep_want(s, 100, "10.0.0.20", NULL), ZH_WANT_REMOTE);
	assert_int_equal(put(s, EP("10.0.0.20", "h1", "198.18.0.1")), 1);
	assert_int_equal(ep_want(s, 100, "10.0.0.20", NULL), 0);
	/* Other hosts' ports are not ours. */
	assert_int_equal(put(s, R "hosts/h2/ports/p2",
			     "{'network':'blue','mac':'02:00:00:00:00:12','ip':'10.0.0.12'}"), 0);
	zh_state_counts(s, &c);
	assert_int_equal(c.endpoints, 0);
	assert_int_equal(c.ports, 1);
	/* A route to this host would tunnel to itself: not programmed; moved
	 * to another host it is. */
	put(s, R "networks/blue/routes/10.9.0.0/16", "{'host':'h1','host_ip':'198.18.0.1'}");
	zh_state_counts(s, &c);
	assert_int_equal(c.routes, 0);
	put(s, R "networks/blue/routes/10.9.0.0/16", "{'host':'h2','host_ip':'198.18.0.2'}");
	zh_state_counts(s, &c);
	assert_int_equal(c.routes, 1);
	put(s, R "networks/blue/routes/10.9.0.0/16", "{'host':'h1','host_ip':'198.18.0.1'}");
	zh_state_counts(s, &c);
	assert_int_equal(c.routes, 0);
	zh_state_free(s);
}

static void test_network_delete_deactivates(void **unused)
{
	struct zh_state *s = zh_state_new("h1", on_warn, NULL);
	struct zh_state_counts c;
	struct zh_port_want w;

	put(s, NET_BLUE);
	put(s, PORT("p1", "10.0.0.11"));
	put(s, EP("10.0.0.12", "h2", "198.18.0.2"));
	zh_state_dirty_clear(s);
	assert_true(zh_state_port(s, "p1", &w) && w.ready && w.vni == 100);

	assert_int_equal(del(s, R "networks/blue"), 1);
	assert_int_equal(ep_want(s, 100, "10.0.0.12", NULL), 0);
	assert_true(dirty_has_ep(s, 100, "10.0.0.12"));  /* to be deleted */
	assert_true(dirty_has_port(s, "p1"));             /* no VNI: detach */
	assert_true(zh_state_port(s, "p1", &w) && !w.ready);
	zh_state_counts(s, &c);
	assert_int_equal(c.networks_active, 0);
	assert_int_equal(c.endpoints, 1); /* the record stays for when blue returns */

	/* It comes back with another VNI: everything under the new one. */
	zh_state_dirty_clear(s);
	assert_int_equal(put(s, R "networks/blue", "{'vni':200,'cidrs':['10.0.0.0/24']}"), 1);
	assert_int_equal(ep_want(s, 200, "10.0.0.12", NULL), ZH_WANT_REMOTE);
	assert_true(dirty_has_ep(s, 200, "10.0.0.12"));
	assert_false(dirty_has_ep(s, 100, "10.0.0.12"));

	/* A VNI change moves every key: old ones to delete, new ones to write. */
	zh_state_dirty_clear(s);
	put(s, R "networks/blue", "{'vni':300,'cidrs':['10.0.0.0/24']}");
	assert_true(dirty_has_ep(s, 200, "10.0.0.12"));
	assert_true(dirty_has_ep(s, 300, "10.0.0.12"));
	assert_int_equal(ep_want(s, 200, "10.0.0.12", NULL), 0);

	/* The last port gone deactivates the network. */
	zh_state_dirty_clear(s);
	assert_int_equal(del(s, R "hosts/h1/ports/p1"), 1);
	assert_int_equal(ep_want(s, 300, "10.0.0.12", NULL), 0);
	assert_true(dirty_has_ep(s, 300, "10.0.0.12"));
	assert_true(dirty_has_port(s, "p1"));
	zh_state_free(s);
}

static void test_delete_removes_only_its_entry(void **unused)
{
	struct zh_state *s = zh_state_new("h1", on_warn, NULL);
	struct zh_route_key rk = {.prefixlen = 48, .vni = 100, .ip = ip4("10.9.0.0")};
	struct zh_route rv;
	struct zh_dirty d;

	put(s, NET_BLUE);
	put(s, PORT("p1", "10.0.0.11"));
	put(s, EP("10.0.0.12", "h2", "198.18.0.2"));
	put(s, EP("10.0.0.13", "h3", "198.18.0.3"));
	put(s, R "networks/blue/routes/10.9.0.0/16", "{'drop':true}");
	zh_state_dirty_clear(s);

	assert_int_equal(del(s, R "networks/blue/endpoints/10.0.0.12"), 1);
	assert_int_equal(ep_want(s, 100, "10.0.0.12", NULL), 0);
	assert_int_equal(ep_want(s, 100, "10.0.0.13", NULL), ZH_WANT_REMOTE);
	assert_true(zh_state_route(s, &rk, &rv, false));
	assert_int_equal(rv.action, ZH_ROUTE_DROP);
	zh_state_dirty(s, &d);
	assert_int_equal(d.n_eps, 1);
	assert_int_equal(d.n_routes, 0);
	assert_int_equal(d.n_ports, 0);
	/* Deleting what is not there changes nothing. */
	assert_int_equal(del(s, R "networks/blue/endpoints/10.0.0.12"), 0);
	assert_int_equal(del(s, R "networks/green/endpoints/10.0.0.12"), 0);
	assert_int_equal(del(s, R "networks/blue/routes/10.9.0.0/16"), 1);
	assert_false(zh_state_route(s, &rk, &rv, false));
	zh_state_free(s);
}

static void test_vni_clash_is_reported(void **unused)
{
	struct zh_state *s = zh_state_new("h1", on_warn, NULL);
	struct zh_state_counts c;

	warnings = 0;
	put(s, NET_BLUE);
	put(s, PORT("p1", "10.0.0.11"));
	put(s, R "networks/red", "{'vni':100,'cidrs':['10.1.0.0/24']}");
	put(s, R "hosts/h1/ports/p2",
	    "{'network':'red','mac':'02:00:00:00:00:21','ip':'10.1.0.1'}");
	assert_int_equal(warnings, 1);
	assert_non_null(strstr(last_warning, "networks/red: VNI 100 is already used by network blue"));
	zh_state_counts(s, &c);
	assert_int_equal(c.networks_active, 1);
	/* blue's port goes: red gets the VNI. */
	del(s, R "hosts/h1/ports/p1");
	assert_int_equal(ep_want(s, 100, "10.1.0.1", NULL), ZH_WANT_LOCAL);
	zh_state_free(s);
}

static void test_port_address_clash_is_refused(void **unused)
{
	struct zh_state *s = zh_state_new("h1", on_warn, NULL);
	struct zh_record rec;
	char err[ZH_ERR_MAX] = "";
	const char *v;

	put(s, NET_BLUE);
	assert_int_equal(put(s, PORT("p1", "10.0.0.11")), 1);
	v = J("{'network':'blue','mac':'02:00:00:00:00:22','ip':'10.0.0.11'}");
	assert_int_equal(zh_record_parse(R "hosts/h1/ports/p2", strlen(R "hosts/h1/ports/p2"), v,
					 strlen(v), &rec, err, sizeof(err)), 0);
	assert_int_equal(zh_state_put(s, &rec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "p1 already has this address"));
	assert_false(zh_state_port(s, "p2", &(struct zh_port_want){0}));
	zh_state_free(s);
}

static void test_resync_sweeps_what_was_not_listed(void **unused)
{
	struct zh_state *s = zh_state_new("h1", on_warn, NULL);
	struct zh_state_counts c;

	put(s, NET_BLUE);
	put(s, PORT("p1", "10.0.0.11"));
	put(s, PORT("p9", "10.0.0.19"));
	put(s, EP("10.0.0.12", "h2", "198.18.0.2"));
	put(s, EP("10.0.0.13", "h2", "198.18.0.2"));
	zh_state_dirty_clear(s);

	zh_state_resync_begin(s, ZH_KINDS_ALL);
	assert_true(zh_state_resyncing(s));
	put(s, NET_BLUE);
	put(s, PORT("p1", "10.0.0.11"));
	put(s, EP("10.0.0.12", "h2", "198.18.0.2"));
	put(s, EP("10.0.0.14", "h3", "198.18.0.3"));
	/* Stale entries stay until the listing ends; nothing is dirty. */
	assert_int_equal(ep_want(s, 100, "10.0.0.13", NULL), ZH_WANT_REMOTE);
	assert_false(zh_state_has_dirty(s));
	zh_state_resync_end(s, ZH_KINDS_ALL);
	assert_false(zh_state_resyncing(s));
	assert_int_equal(ep_want(s, 100, "10.0.0.13", NULL), 0);
	assert_int_equal(ep_want(s, 100, "10.0.0.14", NULL), ZH_WANT_REMOTE);
	assert_false(zh_state_port(s, "p9", &(struct zh_port_want){0}));
	zh_state_counts(s, &c);
	assert_int_equal(c.endpoints, 2);
	assert_int_equal(c.ports, 1);

	/* A resync of the ports alone leaves networks and endpoints be. */
	zh_state_resync_begin(s, ZH_KINDS_HOST);
	zh_state_resync_end(s, ZH_KINDS_HOST);
	zh_state_counts(s, &c);
	assert_int_equal(c.endpoints, 2);
	assert_int_equal(c.ports, 0);
	assert_int_equal(c.networks, 1);
	assert_int_equal(c.networks_active, 0);
	zh_state_free(s);
}

static void agent_put(struct zh_agent *a, const char *key, const char *json, int64_t rev)
{
	const char *v = J(json);

	zh_agent_put(a, key, strlen(key), v, strlen(v), rev);
}

/* The whole record path of the agent: raw etcd keys and values, bad ones
 * skipped and counted, the last good value kept through a resync.
 */
static void test_bad_records_are_skipped_and_counted(void **unused)
{
	struct zh_agent a;
	const struct {
		const char *key, *val;
		uint64_t bad; /* cumulative errors[bad_record] after it */
	} steps[] = {
		{NET_BLUE, 0},
		{PORT("p1", "10.0.0.11"), 0},
		{EP("10.0.0.12", "h2", "198.18.0.2"), 0},
		{R "networks/blue/endpoints/10.0.0.13", "{'mac':'nope','host':'h2','host_ip':'198.18.0.2'}", 1},
		{R "networks/blue/endpoints/10.0.0.14", "not json", 2},
		{R "networks/blue/endpoints/999.0.0.1", "{'mac':'02:00:00:00:00:01','host':'h2','host_ip':'198.18.0.2'}", 3},
		{R "networks/blue/lbs/10.0.0.1:80/tcp", "{'backends':[]}", 3}, /* unknown kind: ignored */
		{R "hosts/h1/ports/p2", "{'network':'blue','mac':'02:00:00:00:00:22','ip':'10.0.0.11'}", 4},
	};
	size_t i;

	memset(&a, 0, sizeof(a));
	a.state = zh_state_new("h1", NULL, NULL);
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		agent_put(&a, steps[i].key, steps[i].val, (int64_t)i + 1);
		if (a.stats.errors[ZH_AERR_bad_record] != steps[i].bad)
			fail_msg("step %zu (%s): %llu bad records, want %llu", i, steps[i].key,
				 (unsigned long long)a.stats.errors[ZH_AERR_bad_record],
				 (unsigned long long)steps[i].bad);
	}
	assert_int_equal(a.stats.events, 3);
	assert_int_equal(a.stats.revision, ARRAY_SIZE(steps));
	assert_non_null(strstr(a.stats.last_error, "p1 already has this address"));
	assert_int_equal(ep_want(a.state, 100, "10.0.0.12", NULL), ZH_WANT_REMOTE);
	assert_int_equal(ep_want(a.state, 100, "10.0.0.13", NULL), 0);

	/* A resync in which 10.0.0.12's value went bad keeps its last good value. */
	zh_agent_resync_begin(&a, ZH_KINDS_ALL);
	agent_put(&a, NET_BLUE, 20);
	agent_put(&a, PORT("p1", "10.0.0.11"), 21);
	agent_put(&a, R "networks/blue/endpoints/10.0.0.12", "{'mac':'x'}", 22);
	zh_agent_resync_end(&a, ZH_KINDS_ALL, 23);
	assert_int_equal(ep_want(a.state, 100, "10.0.0.12", NULL), ZH_WANT_REMOTE);
	assert_int_equal(a.stats.resyncs, 1);
	assert_int_equal(a.unsynced, 0);
	assert_true(a.full_needed);

	/* Deletes by key. */
	zh_agent_del(&a, R "networks/blue/endpoints/10.0.0.12",
		     strlen(R "networks/blue/endpoints/10.0.0.12"), 24);
	assert_int_equal(ep_want(a.state, 100, "10.0.0.12", NULL), 0);
	zh_state_free(a.state);
}

/* --- reconciliation against real maps ---------------------------------------- */

#include "maps_fixture.h"

static int reconcile_setup(void **state)
{
	struct fixture *f;

	maps_setup(state);
	f = *state;
	if (!f)
		return 0;
	f->state = zh_state_new("h1", on_warn, NULL);
	f->rec = zh_reconciler_new(&f->maps, f->state, NULL, &f->stats);
	return 0;
}

static void map_put_ep(struct fixture *f, uint32_t vni, const char *ip, const char *host,
		       uint32_t ifindex)
{
	struct zh_ep_key k = {.vni = vni, .ip = ip4(ip)};
	struct zh_endpoint v = {.ifindex = ifindex, .mac = {2, 0, 0, 0, 0, 0x99}};

	if (host)
		v.host_ip = ip4(host);
	assert_int_equal(bpf_map_update_elem(f->maps.endpoints.fd, &k, &v, BPF_ANY), 0);
}

/* The map's entry: 0 and *v, or -ENOENT. */
static void test_full_reconcile_writes_only_the_difference(void **state)
{
	struct fixture *f = *state;
	struct zh_endpoint v;

	NEED_MAPS(f);
	/* What a previous agent left: */
	map_put_ep(f, 100, "10.0.0.11", NULL, 7);           /* a local port */
	map_put_ep(f, 100, "10.0.0.12", "198.18.0.2", 0);   /* right */
	map_put_ep(f, 100, "10.0.0.13", "198.18.0.9", 0);   /* moved since */
	map_put_ep(f, 100, "10.0.0.99", "198.18.0.2", 0);   /* gone since */
	map_put_ep(f, 555, "10.5.0.1", "198.18.0.2", 0);    /* a network gone since */
	map_put_ep(f, 100, "10.0.0.21", NULL, 8);           /* a port not in the records */

	zh_state_resync_begin(f->state, ZH_KINDS_ALL);
	put(f->state, NET_BLUE);
	put(f->state, PORT("p1", "10.0.0.11"));
	put(f->state, EP("10.0.0.12", "h2", "198.18.0.2"));
	put(f->state, EP("10.0.0.13", "h3", "198.18.0.3"));
	put(f->state, EP("10.0.0.14", "h3", "198.18.0.3"));
	/* A record for an address a local port holds: the port keeps it. */
	put(f->state, EP("10.0.0.21", "h2", "198.18.0.2"));
	zh_state_resync_end(f->state, ZH_KINDS_ALL);

	assert_int_equal(zh_reconcile_full(f->rec), 0);

	/* 2 writes (.13 changed, .14 new) + 2 deletes (.99, VNI 555). */
	assert_int_equal(f->stats.map_ops, 4);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.11", &v), 0);
	assert_int_equal(v.ifindex, 7);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.21", &v), 0);
	assert_int_equal(v.ifindex, 8);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.13", &v), 0);
	assert_int_equal(v.host_ip, ip4("198.18.0.3"));
	assert_int_equal(map_get_ep(f, 100, "10.0.0.14", &v), 0);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.99", &v), -ENOENT);
	assert_int_equal(map_get_ep(f, 555, "10.5.0.1", &v), -ENOENT);
	assert_int_equal(map_count(&f->maps.endpoints), 5);

	/* Again: nothing to do. */
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(f->stats.map_ops, 4);
}

static void test_stale_entries_survive_until_resync_end(void **state)
{
	struct fixture *f = *state;
	struct zh_endpoint v;

	NEED_MAPS(f);
	zh_state_resync_begin(f->state, ZH_KINDS_ALL);
	put(f->state, NET_BLUE);
	put(f->state, PORT("p1", "10.0.0.11"));
	put(f->state, EP("10.0.0.12", "h2", "198.18.0.2"));
	put(f->state, EP("10.0.0.13", "h2", "198.18.0.2"));
	zh_state_resync_end(f->state, ZH_KINDS_ALL);
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(map_count(&f->maps.endpoints), 2);

	/* A re-list without .13: until it ends, flushes write nothing and the
	 * stale entry keeps forwarding.
	 */
	zh_state_resync_begin(f->state, ZH_KINDS_NETWORKS);
	put(f->state, NET_BLUE);
	put(f->state, EP("10.0.0.12", "h2", "198.18.0.2"));
	put(f->state, EP("10.0.0.15", "h2", "198.18.0.2"));
	assert_int_equal(zh_reconcile_flush(f->rec), 0);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.13", &v), 0);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.15", &v), -ENOENT);
	zh_state_resync_end(f->state, ZH_KINDS_NETWORKS);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.13", &v), 0);
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.13", &v), -ENOENT);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.15", &v), 0);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.12", &v), 0);
}

/* Deletes come after every write: in a full map the new entries fail
 * first (counted), the stale ones are then deleted, and the retry gets
 * the new ones in.
 */
static void test_deletes_come_after_the_full_state(void **state)
{
	struct fixture *f = *state;
	struct zh_endpoint v;
	char ip[32];
	int i;

	NEED_MAPS(f);
	for (i = 0; i < 4096; i++) {
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, 1 + i % 250);
		map_put_ep(f, 100, ip, "198.18.0.2", 0);
	}
	zh_state_resync_begin(f->state, ZH_KINDS_ALL);
	put(f->state, NET_BLUE);
	put(f->state, PORT("p1", "10.0.0.11"));
	put(f->state, EP("10.0.0.12", "h2", "198.18.0.2"));
	zh_state_resync_end(f->state, ZH_KINDS_ALL);
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(f->stats.errors[ZH_AERR_map_full], 1);
	assert_non_null(strstr(f->stats.last_error, "map zh_endpoints is full"));
	assert_int_equal(map_get_ep(f, 100, "10.0.0.12", &v), -ENOENT);
	assert_int_equal(map_count(&f->maps.endpoints), 0);

	/* The retry is due after its backoff. */
	zh_reconcile_tick(f->rec, 1000);
	assert_false(zh_state_has_dirty(f->state));
	zh_reconcile_tick(f->rec, 1000 + 60000);
	assert_true(zh_state_has_dirty(f->state));
	assert_int_equal(zh_reconcile_flush(f->rec), 1);
	assert_int_equal(map_get_ep(f, 100, "10.0.0.12", &v), 0);
}

static void put_many(struct fixture *f, int n, const char *host, const char *host_ip)
{
	char key[128], val[128];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), R "networks/blue/endpoints/10.0.%d.%d", 1 + i / 200,
			 1 + i % 200);
		snprintf(val, sizeof(val), "{'mac':'02:00:00:00:01:01','host':'%s','host_ip':'%s'}",
			 host, host_ip);
		assert_int_equal(put(f->state, key, val), 1);
	}
}

static void del_many(struct fixture *f, int n)
{
	char key[128];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), R "networks/blue/endpoints/10.0.%d.%d", 1 + i / 200,
			 1 + i % 200);
		assert_int_equal(del(f->state, key), 1);
	}
}

static void test_flush_is_batched(void **state)
{
	struct fixture *f = *state;
	struct zh_reconcile_counts c0, c1;
	struct zh_endpoint v;
	uint64_t ops;

	NEED_MAPS(f);
	zh_state_resync_begin(f->state, ZH_KINDS_ALL);
	put(f->state, NET_BLUE);
	put(f->state, PORT("p1", "10.0.0.11"));
	zh_state_resync_end(f->state, ZH_KINDS_ALL);
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	ops = f->stats.map_ops;

	/* 1000 new endpoints: one batched update. */
	zh_reconcile_counts(f->rec, &c0);
	put_many(f, 1000, "h2", "198.18.0.2");
	assert_int_equal(zh_reconcile_flush(f->rec), 1000);
	zh_reconcile_counts(f->rec, &c1);
	assert_int_equal(c1.batches - c0.batches, 1);
	assert_int_equal(f->stats.map_ops - ops, 1000);
	assert_int_equal(map_count(&f->maps.endpoints), 1000);
	assert_false(zh_state_has_dirty(f->state));

	/* One change: one write, not a rewrite. */
	ops = f->stats.map_ops;
	assert_int_equal(put(f->state, EP("10.0.1.1", "h3", "198.18.0.3")), 1);
	assert_int_equal(zh_reconcile_flush(f->rec), 1);
	assert_int_equal(f->stats.map_ops - ops, 1);
	assert_int_equal(map_get_ep(f, 100, "10.0.1.1", &v), 0);
	assert_int_equal(v.host_ip, ip4("198.18.0.3"));
	/* Nothing dirty: nothing written. */
	assert_int_equal(zh_reconcile_flush(f->rec), 0);

	/* The network's last port goes: every entry of it, in one batch. */
	zh_reconcile_counts(f->rec, &c0);
	assert_int_equal(del(f->state, R "hosts/h1/ports/p1"), 1);
	assert_int_equal(zh_reconcile_flush(f->rec), 1000);
	zh_reconcile_counts(f->rec, &c1);
	assert_int_equal(c1.batches - c0.batches, 1);
	assert_int_equal(map_count(&f->maps.endpoints), 0);

	/* It comes back: all in again; records deleted meanwhile stay out. */
	del_many(f, 500);
	put(f->state, PORT("p1", "10.0.0.11"));
	assert_int_equal(zh_reconcile_flush(f->rec), 500);
	assert_int_equal(map_count(&f->maps.endpoints), 500);
	assert_int_equal(f->stats.reconciles, 5);
}

static void test_routes_follow_the_records(void **state)
{
	struct fixture *f = *state;
	struct zh_route_key k = {.prefixlen = 32 + 16, .vni = 100, .ip = ip4("10.9.0.0")};
	struct zh_route_key stale = {.prefixlen = 32 + 8, .vni = 100, .ip = ip4("10.0.0.0")};
	struct zh_route v = {.action = ZH_ROUTE_REMOTE, .host_ip = ip4("198.18.0.7")};

	NEED_MAPS(f);
	assert_int_equal(bpf_map_update_elem(f->maps.routes.fd, &stale, &v, BPF_ANY), 0);
	zh_state_resync_begin(f->state, ZH_KINDS_ALL);
	put(f->state, NET_BLUE);
	put(f->state, PORT("p1", "10.0.0.11"));
	put(f->state, R "networks/blue/routes/10.9.0.0/16", "{'host':'h2','host_ip':'198.18.0.2'}");
	zh_state_resync_end(f->state, ZH_KINDS_ALL);
	assert_int_equal(zh_reconcile_full(f->rec), 0);
	assert_int_equal(bpf_map_lookup_elem(f->maps.routes.fd, &k, &v), 0);
	assert_int_equal(v.host_ip, ip4("198.18.0.2"));
	assert_int_equal(v.action, ZH_ROUTE_REMOTE);
	assert_int_not_equal(bpf_map_lookup_elem(f->maps.routes.fd, &stale, &v), 0);

	put(f->state, R "networks/blue/routes/10.9.0.0/16", "{'drop':true}");
	assert_int_equal(zh_reconcile_flush(f->rec), 1);
	assert_int_equal(bpf_map_lookup_elem(f->maps.routes.fd, &k, &v), 0);
	assert_int_equal(v.action, ZH_ROUTE_DROP);
	assert_int_equal(v.host_ip, 0);
	del(f->state, R "networks/blue/routes/10.9.0.0/16");
	assert_int_equal(zh_reconcile_flush(f->rec), 1);
	assert_int_equal(map_count(&f->maps.routes), 0);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_endpoints_wait_for_a_local_port),
	cmocka_unit_test(test_own_host_endpoints_and_routes_are_skipped),
	cmocka_unit_test(test_network_delete_deactivates),
	cmocka_unit_test(test_delete_removes_only_its_entry),
	cmocka_unit_test(test_vni_clash_is_reported),
	cmocka_unit_test(test_port_address_clash_is_refused),
	cmocka_unit_test(test_resync_sweeps_what_was_not_listed),
	cmocka_unit_test(test_bad_records_are_skipped_and_counted),
	cmocka_unit_test_setup_teardown(test_full_reconcile_writes_only_the_difference, reconcile_setup,
					maps_teardown),
	cmocka_unit_test_setup_teardown(test_stale_entries_survive_until_resync_end, reconcile_setup,
					maps_teardown),
	cmocka_unit_test_setup_teardown(test_deletes_come_after_the_full_state, reconcile_setup,
					maps_teardown),
	cmocka_unit_test_setup_teardown(test_flush_is_batched, reconcile_setup, maps_teardown),
	cmocka_unit_test_setup_teardown(test_routes_follow_the_records, reconcile_setup, maps_teardown),
};

int main(void)
{
	zh_log_set_prefix("test_reconcile");
	zh_log_set_level(getenv("ZH_TEST_VERBOSE") ? 2 : -1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
