// SPDX-License-Identifier: GPL-2.0-only
/* Operator input parsing: addresses, MACs, numbers, names, modes. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parse.h"

struct ipv4_case {
	const char *in;
	int ok;
	const char *canonical;
};

static const struct ipv4_case ipv4_cases[] = {
	{"198.18.0.1", 1, "198.18.0.1"},
	{"0.0.0.0", 1, "0.0.0.0"},
	{"255.255.255.255", 1, "255.255.255.255"},
	{"198.18.0", 0, NULL},
	{"198.18.0.1.5", 0, NULL},
	{"256.0.0.1", 0, NULL},
	{"1.2.3.4x", 0, NULL},
	{" 1.2.3.4", 0, NULL},
	{"", 0, NULL},
	{"::1", 0, NULL},
	{"one.two.three.four", 0, NULL},
};

static void test_ipv4_accepts_only_dotted_quads(void **state)
{
	char buf[INET_ADDRSTRLEN];
	uint32_t a;
	size_t i;

	for (i = 0; i < sizeof(ipv4_cases) / sizeof(ipv4_cases[0]); i++) {
		const struct ipv4_case *c = &ipv4_cases[i];
		int err = zh_parse_ipv4(c->in, &a);

		if (!c->ok) {
			assert_int_equal(err, -EINVAL);
			continue;
		}
		assert_int_equal(err, 0);
		inet_ntop(AF_INET, &a, buf, sizeof(buf));
		assert_string_equal(buf, c->canonical);
	}
	assert_int_equal(zh_parse_ipv4(NULL, &a), -EINVAL);
}

static void test_ipv4_result_is_network_order(void **state)
{
	uint32_t a;

	assert_int_equal(zh_parse_ipv4("198.18.0.1", &a), 0);
	assert_int_equal(((uint8_t *)&a)[0], 198);
	assert_int_equal(((uint8_t *)&a)[3], 1);
}

static void test_unicast_host_addresses(void **state)
{
	static const struct {
		const char *ip;
		int ok;
	} rows[] = {
		{"10.0.0.1", 1},       {"198.18.0.1", 1},    {"223.255.255.254", 1},
		{"0.0.0.0", 0},        {"0.1.2.3", 0},       {"127.0.0.1", 0},
		{"224.0.0.1", 0},      {"239.1.1.1", 0},     {"240.0.0.1", 0},
		{"255.255.255.255", 0},
	};
	uint32_t a;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(zh_parse_ipv4(rows[i].ip, &a), 0);
		if ((zh_check_unicast_ipv4(a) == 0) != rows[i].ok)
			fail_msg("%s: expected %s", rows[i].ip, rows[i].ok ? "unicast" : "rejected");
	}
}

struct mac_case {
	const char *in;
	int ok;
	uint8_t mac[6];
};

static const struct mac_case mac_cases[] = {
	{"02:00:00:00:00:01", 1, {0x02, 0, 0, 0, 0, 0x01}},
	{"aa:BB:cc:dd:ee:0f", 1, {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f}},
	{"2:0:0:0:0:1", 1, {0x02, 0, 0, 0, 0, 0x01}},
	{"02-7a-c6-12-00-01", 1, {0x02, 0x7a, 0xc6, 0x12, 0x00, 0x01}},
	{"01:00:5e:00:00:01", 0, {0}},  /* multicast */
	{"ff:ff:ff:ff:ff:ff", 0, {0}},  /* broadcast */
	{"00:00:00:00:00:00", 0, {0}},  /* not a station address */
	{"02:00:00:00:00", 0, {0}},     /* five parts */
	{"02:00:00:00:00:01:02", 0, {0}},
	{"02:00:00:00:00:001", 0, {0}}, /* three digits */
	{"zz:00:00:00:00:01", 0, {0}},
	{"02:00:00:00:00:01 ", 0, {0}},
	{"", 0, {0}},
};

static void test_mac_parses_unicast_only(void **state)
{
	uint8_t mac[6];
	size_t i;

	for (i = 0; i < sizeof(mac_cases) / sizeof(mac_cases[0]); i++) {
		const struct mac_case *c = &mac_cases[i];
		int err = zh_parse_mac(c->in, mac);

		if (!c->ok) {
			assert_int_equal(err, -EINVAL);
			continue;
		}
		assert_int_equal(err, 0);
		assert_memory_equal(mac, c->mac, 6);
	}
}

struct u32_case {
	const char *in;
	uint32_t min, max;
	int ok;
	uint32_t out;
};

static const struct u32_case u32_cases[] = {
	{"1", 1, 16777215, 1, 1},
	{"16777215", 1, 16777215, 1, 16777215},
	{"16777216", 1, 16777215, 0, 0},
	{"0", 1, 16777215, 0, 0},
	{"-1", 0, 10, 0, 0},
	{"+1", 0, 10, 0, 0},
	{"1x", 0, 10, 0, 0},
	{"", 0, 10, 0, 0},
	{"99999999999999999999999", 0, UINT32_MAX, 0, 0},
	{"4294967295", 0, UINT32_MAX, 1, UINT32_MAX},
};

static void test_u32_range_and_garbage(void **state)
{
	uint32_t v;
	size_t i;

	for (i = 0; i < sizeof(u32_cases) / sizeof(u32_cases[0]); i++) {
		const struct u32_case *c = &u32_cases[i];
		int err = zh_parse_u32(c->in, c->min, c->max, &v);

		assert_int_equal(err, c->ok ? 0 : -EINVAL);
		if (c->ok)
			assert_int_equal(v, c->out);
	}
}

struct name_case {
	const char *in;
	int instance_ok;
	int ifname_ok;
};

static const struct name_case name_cases[] = {
	{"default", 1, 1},
	{"host-1_a", 1, 1},
	{"eth0", 1, 1},
	{"veth.100", 0, 1},
	{"a/b", 0, 0},
	{"a b", 0, 0},
	{"a:b", 0, 0},
	{"", 0, 0},
	{"-x", 0, 1},
	{".", 0, 0},
	{"..", 0, 0},
	{"abcdefghijklmno", 1, 1},                   /* 15: longest ifname */
	{"abcdefghijklmnop", 1, 0},                  /* 16 */
	{"abcdefghijklmnopqrstuvwxyz012345", 1, 0}, /* 32: longest instance */
	{"abcdefghijklmnopqrstuvwxyz0123456", 0, 0},
};

static void test_instance_and_interface_names(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *c = &name_cases[i];

		if ((zh_check_instance_name(c->in) == 0) != c->instance_ok)
			fail_msg("instance name '%s': expected %s", c->in,
				 c->instance_ok ? "valid" : "invalid");
		if ((zh_check_ifname(c->in) == 0) != c->ifname_ok)
			fail_msg("interface name '%s': expected %s", c->in,
				 c->ifname_ok ? "valid" : "invalid");
	}
	assert_int_equal(zh_check_instance_name(NULL), -EINVAL);
	assert_int_equal(zh_check_ifname(NULL), -EINVAL);
}

static void test_mode_words(void **state)
{
	enum zh_xdp_request x;
	enum zh_tc_request t;

	assert_int_equal(zh_parse_xdp_request("auto", &x), 0);
	assert_int_equal(x, ZH_XDP_REQ_AUTO);
	assert_int_equal(zh_parse_xdp_request("native", &x), 0);
	assert_int_equal(x, ZH_XDP_REQ_NATIVE);
	assert_int_equal(zh_parse_xdp_request("generic", &x), 0);
	assert_int_equal(x, ZH_XDP_REQ_GENERIC);
	assert_int_equal(zh_parse_xdp_request("off", &x), 0);
	assert_int_equal(x, ZH_XDP_REQ_OFF);
	assert_int_equal(zh_parse_xdp_request("skb", &x), -EINVAL);
	assert_int_equal(zh_parse_xdp_request("Native", &x), -EINVAL);
	assert_int_equal(zh_parse_tc_request("tcx", &t), 0);
	assert_int_equal(t, ZH_TC_REQ_TCX);
	assert_int_equal(zh_parse_tc_request("clsact", &t), 0);
	assert_int_equal(t, ZH_TC_REQ_CLSACT);
	assert_int_equal(zh_parse_tc_request("auto", &t), 0);
	assert_int_equal(t, ZH_TC_REQ_AUTO);
	assert_int_equal(zh_parse_tc_request("tc", &t), -EINVAL);
	assert_int_equal(zh_parse_tc_request(NULL, &t), -EINVAL);
}

static void test_mode_names_round_trip(void **state)
{
	assert_string_equal(zh_xdp_mode_str(ZH_XDP_NATIVE), "native");
	assert_string_equal(zh_xdp_mode_str(ZH_XDP_GENERIC), "generic");
	assert_string_equal(zh_xdp_mode_str(ZH_XDP_OFF), "off");
	assert_string_equal(zh_tc_mode_str(ZH_TC_TCX), "tcx");
	assert_string_equal(zh_tc_mode_str(ZH_TC_CLSACT), "clsact");
	assert_string_equal(zh_role_str(ZH_ROLE_UPLINK), "uplink");
	assert_string_equal(zh_role_str(ZH_ROLE_PORT), "port");
	assert_string_equal(zh_role_str(99), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_accepts_only_dotted_quads),
		cmocka_unit_test(test_ipv4_result_is_network_order),
		cmocka_unit_test(test_unicast_host_addresses),
		cmocka_unit_test(test_mac_parses_unicast_only),
		cmocka_unit_test(test_u32_range_and_garbage),
		cmocka_unit_test(test_instance_and_interface_names),
		cmocka_unit_test(test_mode_words),
		cmocka_unit_test(test_mode_names_round_trip),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
