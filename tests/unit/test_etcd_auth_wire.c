// SPDX-License-Identifier: GPL-2.0-only
/* The auth admin part of the etcd wire format (etcd_wire.h): request
 * bodies for users, roles and permissions, and strict parsing of the
 * replies of user/get, user/list, role/list and role/get as etcd 3.4's
 * gateway writes them (READ left out of permType, base64 keys, int64 as
 * strings).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "etcd.h"
#include "etcd_wire.h"

/* Table rows leave their trailing fields zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HDR "\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"7\",\"raft_term\":\"2\"}"

static void test_requests(void **state)
{
	struct zh_etcd_perm prefix = {ZH_ETCD_PERM_READ, "/zerohop/v1/published/b/web/",
				      "/zerohop/v1/published/b/web0"};
	struct zh_etcd_perm key = {ZH_ETCD_PERM_READWRITE, "/k", ""};
	char *s;

	s = zh_wire_strings_request("name", "u\"1", "password", "p\\w");
	assert_string_equal(s, "{\"name\":\"u\\\"1\",\"password\":\"p\\\\w\"}");
	free(s);
	s = zh_wire_strings_request(NULL, NULL, NULL, NULL);
	assert_string_equal(s, "{}");
	free(s);
	s = zh_wire_role_grant_request("r", &prefix);
	assert_string_equal(s, "{\"name\":\"r\",\"perm\":{\"permType\":\"READ\","
			       "\"key\":\"L3plcm9ob3AvdjEvcHVibGlzaGVkL2Ivd2ViLw==\","
			       "\"range_end\":\"L3plcm9ob3AvdjEvcHVibGlzaGVkL2Ivd2ViMA==\"}}");
	free(s);
	s = zh_wire_role_grant_request("r", &key);
	assert_string_equal(s, "{\"name\":\"r\",\"perm\":{\"permType\":\"READWRITE\",\"key\":\"L2s=\"}}");
	free(s);
	key.type = 7;
	assert_null(zh_wire_role_grant_request("r", &key));
	s = zh_wire_role_revoke_request("r", "/k", NULL);
	assert_string_equal(s, "{\"role\":\"r\",\"key\":\"L2s=\"}");
	free(s);
	s = zh_wire_role_revoke_request("r", "/a/", "/a0");
	assert_string_equal(s, "{\"role\":\"r\",\"key\":\"L2Ev\",\"range_end\":\"L2Ew\"}");
	free(s);
}

static void test_parse_strings(void **state)
{
	static const struct {
		const char *reply, *field;
		int ret;
		size_t n;
		const char *first, *err;
	} rows[] = {
		{"{" HDR ",\"roles\":[\"zerohop-peer-b-a\",\"root\"]}", "roles", 0, 2,
		 "zerohop-peer-b-a"},
		{"{" HDR ",\"users\":[\"root\"]}", "users", 0, 1, "root"},
		/* proto3: an empty list is left out */
		{"{" HDR "}", "roles", 0, 0},
		{"{" HDR ",\"roles\":\"root\"}", "roles", -EBADMSG, 0, NULL, "roles: not an array"},
		{"{" HDR ",\"roles\":[1]}", "roles", -EBADMSG, 0, NULL, "roles[0]: not a string"},
		{"{\"error\":\"etcdserver: user name not found\",\"message\":\"etcdserver: user name "
		 "not found\",\"code\":9}", "roles", -EPROTO, 0, NULL,
		 "etcdserver: user name not found"},
		{"{" HDR ",\"roles\":[\"a\"", "roles", -EBADMSG, 0, NULL, "truncated JSON"},
	};
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct zh_wire_error err = {0};
		char **v = (char **)1;
		int ret = zh_wire_parse_strings(rows[i].reply, strlen(rows[i].reply), rows[i].field,
						&v, &n, &err);

		if (ret != rows[i].ret)
			fail_msg("row %zu: %d, want %d (%s)", i, ret, rows[i].ret, err.message);
		if (ret) {
			assert_null(v);
			assert_string_equal(err.message, rows[i].err);
			continue;
		}
		assert_int_equal(n, rows[i].n);
		if (n)
			assert_string_equal(v[0], rows[i].first);
		zh_etcd_strv_free(v, n);
	}
}

static void test_parse_perms(void **state)
{
	/* what etcd 3.4 answers to role/get: READ has no permType */
	static const char reply[] =
		"{" HDR ",\"perm\":[{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\"},{\"key\":\"L2s=\"},"
		"{\"permType\":\"WRITE\",\"key\":\"L3c=\"},{\"permType\":2,\"key\":\"L3g=\"}]}";
	static const struct {
		const char *reply, *err;
	} bad_rows[] = {
		{"{" HDR ",\"perm\":[{\"permType\":\"ALL\",\"key\":\"L2s=\"}]}",
		 "perm[0].permType: unknown type \"ALL\""},
		{"{" HDR ",\"perm\":[{\"permType\":3,\"key\":\"L2s=\"}]}",
		 "perm[0].permType: unknown type 3"},
		{"{" HDR ",\"perm\":[{\"key\":\"!!\"}]}", "perm[0].key: invalid base64"},
		{"{" HDR ",\"perm\":[7]}", "perm[0]: not an object"},
	};
	struct zh_etcd_perm *p;
	struct zh_wire_error err;
	size_t n, i;

	assert_int_equal(zh_wire_parse_perms(reply, strlen(reply), &p, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(p[0].type, ZH_ETCD_PERM_READ);
	assert_string_equal(p[0].key, "/a/");
	assert_string_equal(p[0].range_end, "/a0");
	assert_int_equal(p[1].type, ZH_ETCD_PERM_READ);
	assert_string_equal(p[1].key, "/k");
	assert_string_equal(p[1].range_end, "");
	assert_int_equal(p[2].type, ZH_ETCD_PERM_WRITE);
	assert_int_equal(p[3].type, ZH_ETCD_PERM_READWRITE);
	zh_etcd_perms_free(p, n);

	assert_int_equal(zh_wire_parse_perms("{" HDR "}", strlen("{" HDR "}"), &p, &n, &err), 0);
	assert_int_equal(n, 0);
	zh_etcd_perms_free(p, n);
	for (i = 0; i < ARRAY_SIZE(bad_rows); i++) {
		assert_int_equal(zh_wire_parse_perms(bad_rows[i].reply, strlen(bad_rows[i].reply),
						     &p, &n, &err),
				 -EBADMSG);
		assert_null(p);
		assert_string_equal(err.message, bad_rows[i].err);
	}
}

static void test_parse_ok(void **state)
{
	static const char ok[] = "{" HDR "}";
	static const char exists[] =
		"{\"error\":\"etcdserver: role name already exists\",\"code\":9}";
	struct zh_wire_error err;

	assert_int_equal(zh_wire_parse_ok(ok, strlen(ok), &err), 0);
	assert_int_equal(zh_wire_parse_ok(exists, strlen(exists), &err), -EPROTO);
	assert_int_equal(err.grpc_code, 9);
	assert_string_equal(err.message, "etcdserver: role name already exists");
	assert_int_equal(zh_wire_parse_ok("[]", 2, &err), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_parse_strings),
		cmocka_unit_test(test_parse_perms),
		cmocka_unit_test(test_parse_ok),
	};

	return cmocka_run_group_tests_name("etcd_auth_wire", tests, NULL, NULL);
}
