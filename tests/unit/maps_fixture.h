/* SPDX-License-Identifier: GPL-2.0-only */
/* Real BPF maps shaped like bpf/lib/maps.h (zh_endpoints small enough that
 * "full" is reachable) for unit tests of the agent's reconciler, with a
 * desired state and a reconciler on top. Creating maps needs root: without
 * it the fixture is NULL and NEED_MAPS skips the test, saying why.
 * Include after cmocka.h, bpf/bpf.h, reconcile.h and state.h.
 */
#ifndef ZH_TEST_MAPS_FIXTURE_H
#define ZH_TEST_MAPS_FIXTURE_H

#define FIXTURE_ENDPOINTS 4096
#define FIXTURE_POLICIES  1024

struct fixture {
	struct zh_maps maps;
	struct zh_state *state;
	struct zh_reconciler *rec;
	struct zh_agent_stats stats;
};

/* The maps only; state and reconciler are the test's (or fixture_start's). */
static int maps_setup(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, no_prealloc, .map_flags = BPF_F_NO_PREALLOC);
	struct fixture *f = calloc(1, sizeof(*f));
	int ep, rt, pol;

	assert_non_null(f);
	ep = bpf_map_create(BPF_MAP_TYPE_HASH, "zh_endpoints", sizeof(struct zh_ep_key),
			    sizeof(struct zh_endpoint), FIXTURE_ENDPOINTS, NULL);
	rt = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "zh_routes", sizeof(struct zh_route_key),
			    sizeof(struct zh_route), ZH_ROUTES_MAX, &no_prealloc);
	pol = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "zh_policy", sizeof(struct zh_policy_key),
			     sizeof(struct zh_policy), FIXTURE_POLICIES, &no_prealloc);
	if (ep < 0 || rt < 0 || pol < 0) {
		if (ep >= 0)
			close(ep);
		if (rt >= 0)
			close(rt);
		if (pol >= 0)
			close(pol);
		free(f);
		*state = NULL;
		return 0;
	}
	assert_int_equal(zh_maps_from_fds(&f->maps, ep, rt, -1, -1), 0);
	assert_int_equal(zh_map_fd_init(&f->maps.policy, pol), 0);
	close(ep);
	close(rt);
	close(pol);
	*state = f;
	return 0;
}

static int maps_teardown(void **state)
{
	struct fixture *f = *state;

	if (!f)
		return 0;
	zh_reconciler_free(f->rec);
	zh_state_free(f->state);
	zh_maps_close(&f->maps);
	free(f);
	return 0;
}

#define NEED_MAPS(f)                                                                      \
	do {                                                                              \
		if (!(f))                                                                 \
			skip(); /* no BPF maps: needs root */                             \
	} while (0)

static int fixture_count_cb(const void *k, const void *v, void *ctx)
{
	(void)k;
	(void)v;
	(*(int *)ctx)++;
	return 0;
}

/* Entries in one of the fixture's maps. */
static int __attribute__((unused)) map_count(struct zh_map_fd *m)
{
	int n = 0;

	assert_int_equal(zh_map_iterate(m, fixture_count_cb, &n), 0);
	return n;
}

/* zh_endpoints[vni, ip] into V: 0 or -errno. */
static int __attribute__((unused)) map_get_ep(struct fixture *f, uint32_t vni, const char *ip,
					      struct zh_endpoint *v)
{
	struct zh_ep_key k = {.vni = vni};

	assert_int_equal(inet_pton(AF_INET, ip, &k.ip), 1);
	return bpf_map_lookup_elem(f->maps.endpoints.fd, &k, v) ? -errno : 0;
}

#endif /* ZH_TEST_MAPS_FIXTURE_H */
