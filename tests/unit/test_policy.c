// SPDX-License-Identifier: GPL-2.0-only
/* Export policies in user space: the protocol list parser and printer, the
 * zh_policy element layout (encode/decode), the checks, batched writes
 * through zh_maps.policy, and that the protocol bits are the controller
 * model's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <cmocka.h>

#include "model.h"
#include "zerohop.h"

static void assert_entry_equal(const struct zh_policy_entry *a, const struct zh_policy_entry *b)
{
	assert_int_equal(a->vni, b->vni);
	assert_int_equal(a->peer_vni, b->peer_vni);
	assert_int_equal(a->prefix, b->prefix);
	assert_int_equal(a->prefix_len, b->prefix_len);
	assert_int_equal(a->protocols, b->protocols);
}

static uint32_t addr(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

struct proto_case {
	const char *in;
	int ok;
	uint32_t bits;
	const char *printed;
};

static const struct proto_case proto_cases[] = {
	{"tcp", 1, ZH_PROTO_TCP, "tcp"},
	{"udp", 1, ZH_PROTO_UDP, "udp"},
	{"icmp", 1, ZH_PROTO_ICMP, "icmp"},
	{"other", 1, ZH_PROTO_OTHER, "other"},
	{"any", 1, ZH_PROTO_ANY, "any"},
	{"tcp,udp", 1, ZH_PROTO_TCP | ZH_PROTO_UDP, "tcp,udp"},
	{"icmp,tcp", 1, ZH_PROTO_TCP | ZH_PROTO_ICMP, "tcp,icmp"},
	{"TCP,Udp", 1, ZH_PROTO_TCP | ZH_PROTO_UDP, "tcp,udp"},
	{"tcp,tcp", 1, ZH_PROTO_TCP, "tcp"},
	{"tcp,udp,icmp,other", 1, ZH_PROTO_ANY, "any"},
	{"udp,any", 1, ZH_PROTO_ANY, "any"},
	{"", 0, 0, NULL},
	{"sctp", 0, 0, NULL},
	{"tcp,", 0, 0, NULL},
	{",tcp", 0, 0, NULL},
	{"tcp,,udp", 0, 0, NULL},
	{"tcp udp", 0, 0, NULL},
	{"tc", 0, 0, NULL},
	{"tcpx", 0, 0, NULL},
	{"all", 0, 0, NULL},
};

static void test_protocol_lists_parse_and_print(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(proto_cases) / sizeof(proto_cases[0]); i++) {
		const struct proto_case *c = &proto_cases[i];
		uint32_t bits = 0xdead;
		char buf[32];
		int err = zh_parse_protocols(c->in, &bits);

		if (c->ok != !err)
			fail_msg("'%s': parse returned %d, want %s", c->in, err,
				 c->ok ? "success" : "-EINVAL");
		if (!c->ok) {
			assert_int_equal(err, -EINVAL);
			assert_int_equal(bits, 0xdead); /* untouched on error */
			continue;
		}
		if (bits != c->bits)
			fail_msg("'%s': bits 0x%x, want 0x%x", c->in, bits, c->bits);
		assert_string_equal(zh_policy_protocols_str(bits, buf, sizeof(buf)), c->printed);
	}
}

static void test_protocol_bits_are_the_models(void **state)
{
	char buf[32];

	(void)state;
	/* model.h and zh_shared.h define the bits with the same text (the
	 * compiler refuses this file otherwise), so a published export's
	 * protocols go into zh_policy as they are.
	 */
	assert_int_equal(ZH_PROTO_TCP | ZH_PROTO_UDP | ZH_PROTO_ICMP | ZH_PROTO_OTHER, 0xf);
	assert_int_equal(ZH_PROTO_ANY, 0xf);
	assert_string_equal(zh_policy_protocols_str(ZH_PROTO_TCP | ZH_PROTO_UDP | ZH_PROTO_ICMP,
						    buf, sizeof(buf)), "tcp,udp,icmp");
	assert_string_equal(zh_policy_protocols_str(0, buf, sizeof(buf)), "none");
}

static void test_policy_key_layout(void **state)
{
	struct zh_policy_entry e = {.vni = 200, .peer_vni = 100, .prefix = addr("10.0.2.0"),
				    .prefix_len = 24, .protocols = ZH_PROTO_TCP | ZH_PROTO_ICMP};
	struct zh_policy_entry back;
	struct zh_policy_key key;
	struct zh_policy val;
	uint8_t raw[sizeof(key)];

	(void)state;
	memset(&key, 0xff, sizeof(key));
	memset(&val, 0xff, sizeof(val));
	zh_policy_encode(&e, &key, &val);
	/* The 64 VNI bits come before the address: a /24 is prefixlen 88. */
	assert_int_equal(key.prefixlen, 88);
	assert_int_equal(key.vni, 200);
	assert_int_equal(key.peer_vni, 100);
	memcpy(raw, &key, sizeof(raw));
	assert_memory_equal(raw + 12, ((const uint8_t[]){10, 0, 2, 0}), 4);
	assert_int_equal(val.protocols, ZH_PROTO_TCP | ZH_PROTO_ICMP);
	assert_int_equal(val.allow.tcp, 1);
	assert_int_equal(val.allow.udp, 0);
	assert_int_equal(val.allow.icmp, 1);
	assert_int_equal(val.allow.other, 0);
	zh_policy_decode(&key, &val, &back);
	assert_entry_equal(&back, &e);

	e.prefix = 0;
	e.prefix_len = 0;
	zh_policy_encode(&e, &key, &val);
	assert_int_equal(key.prefixlen, 64);
}

struct check_case {
	const char *desc;
	struct zh_policy_entry e;
	int err;
};

static void test_policy_check_refuses_bad_entries(void **state)
{
	const struct check_case cases[] = {
		{"a /24", {200, 100, addr("10.0.2.0"), 24, ZH_PROTO_ANY}, 0},
		{"everything", {200, 100, 0, 0, ZH_PROTO_TCP}, 0},
		{"one address", {200, 100, addr("10.0.2.9"), 32, ZH_PROTO_UDP}, 0},
		{"VNI 0", {0, 100, addr("10.0.2.0"), 24, ZH_PROTO_ANY}, -EINVAL},
		{"peer VNI over 24 bits", {200, 1u << 24, addr("10.0.2.0"), 24, ZH_PROTO_ANY}, -EINVAL},
		{"toward itself", {200, 200, addr("10.0.2.0"), 24, ZH_PROTO_ANY}, -EINVAL},
		{"host bits", {200, 100, addr("10.0.2.1"), 24, ZH_PROTO_ANY}, -EINVAL},
		{"length 33", {200, 100, addr("10.0.2.0"), 33, ZH_PROTO_ANY}, -EINVAL},
		{"no protocols", {200, 100, addr("10.0.2.0"), 24, 0}, -EINVAL},
		{"unknown protocol bit", {200, 100, addr("10.0.2.0"), 24, 0x10}, -EINVAL},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = zh_policy_check(&cases[i].e);

		if (err != cases[i].err)
			fail_msg("%s: zh_policy_check returned %d, want %d", cases[i].desc, err,
				 cases[i].err);
	}
}

static int count_entry(const void *key, const void *val, void *ctx)
{
	struct zh_policy_entry *seen = ctx, e;

	zh_policy_decode(key, val, &e);
	if (e.prefix_len == 24)
		seen[0] = e;
	else
		seen[1] = e;
	return 0;
}

/* The agent's path: encode, zh_map_update_many on zh_maps.policy, read
 * back with zh_map_iterate and decode; the kernel's LPM lookup then finds
 * the longest prefix.
 */
static void test_policy_batched_through_zh_maps(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, no_prealloc, .map_flags = BPF_F_NO_PREALLOC);
	const struct zh_policy_entry in[2] = {
		{200, 100, addr("10.0.2.0"), 24, ZH_PROTO_TCP},
		{200, 100, addr("10.0.2.9"), 32, ZH_PROTO_ANY},
	};
	struct zh_policy_entry seen[2];
	struct zh_policy_key keys[2], probe;
	struct zh_policy vals[2], found;
	struct zh_maps m;
	int fd, i;

	(void)state;
	fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "zh_policy", sizeof(struct zh_policy_key),
			    sizeof(struct zh_policy), 16, &no_prealloc);
	if (fd < 0)
		skip(); /* needs BPF (root) */
	assert_int_equal(zh_maps_from_fds(&m, -1, -1, -1, -1), 0);
	assert_int_equal(m.policy.fd, -1);
	assert_int_equal(zh_map_fd_init(&m.policy, fd), 0);
	close(fd);
	for (i = 0; i < 2; i++)
		zh_policy_encode(&in[i], &keys[i], &vals[i]);
	assert_int_equal(zh_map_update_many(&m.policy, keys, vals, 2, NULL, NULL), 2);

	memset(seen, 0, sizeof(seen));
	assert_int_equal(zh_map_iterate(&m.policy, count_entry, seen), 0);
	assert_entry_equal(&seen[0], &in[0]);
	assert_entry_equal(&seen[1], &in[1]);

	/* What the data plane asks: prefixlen 96 and the destination. */
	probe = (struct zh_policy_key){.prefixlen = 96, .vni = 200, .peer_vni = 100,
				       .addr = addr("10.0.2.9")};
	assert_int_equal(bpf_map_lookup_elem(m.policy.fd, &probe, &found), 0);
	assert_int_equal(found.protocols, ZH_PROTO_ANY);
	probe.addr = addr("10.0.2.10");
	assert_int_equal(bpf_map_lookup_elem(m.policy.fd, &probe, &found), 0);
	assert_int_equal(found.protocols, ZH_PROTO_TCP);
	probe.peer_vni = 300; /* exported to 100, not to 300 */
	assert_int_not_equal(bpf_map_lookup_elem(m.policy.fd, &probe, &found), 0);

	assert_int_equal(zh_map_delete_many(&m.policy, keys, 2, NULL, NULL), 2);
	probe.peer_vni = 100;
	assert_int_not_equal(bpf_map_lookup_elem(m.policy.fd, &probe, &found), 0);
	zh_maps_close(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_protocol_lists_parse_and_print),
		cmocka_unit_test(test_protocol_bits_are_the_models),
		cmocka_unit_test(test_policy_key_layout),
		cmocka_unit_test(test_policy_check_refuses_bad_entries),
		cmocka_unit_test(test_policy_batched_through_zh_maps),
	};

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
