// SPDX-License-Identifier: GPL-2.0-only
/* etcd JSON gateway wire format: base64, prefix ends, request bodies and
 * strict parsing of range, txn, auth and watch messages (hostile input
 * included: truncation at every byte, wrong types, invalid base64).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "etcd.h"
#include "etcd_wire.h"

/* Table rows leave their trailing fields zero. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --- base64 ------------------------------------------------------------------ */

struct b64_case {
	const char *raw;
	size_t len;
	const char *enc;
};

static const struct b64_case b64_cases[] = {
	{ "", 0, "" },
	{ "f", 1, "Zg==" },
	{ "fo", 2, "Zm8=" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg==" },
	{ "fooba", 5, "Zm9vYmE=" },
	{ "foobar", 6, "Zm9vYmFy" },
	{ "\0", 1, "AA==" },
	{ "\xff\xfe\xfd", 3, "//79" },
	{ "/zerohop/v1/", 12, "L3plcm9ob3AvdjEv" },
};

static void test_b64_known_vectors(void **state)
{
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(b64_cases); i++) {
		const struct b64_case *c = &b64_cases[i];
		char *enc = zh_b64_encode(c->raw, c->len);
		char *dec;

		assert_non_null(enc);
		assert_string_equal(enc, c->enc);
		dec = zh_b64_decode(enc, strlen(enc), &n);
		assert_non_null(dec);
		assert_int_equal(n, c->len);
		assert_memory_equal(dec, c->raw, c->len ? c->len : 1);
		assert_int_equal(dec[n], '\0');
		free(enc);
		free(dec);
	}
}

static void test_b64_round_trips_every_byte_and_length(void **state)
{
	unsigned char raw[300];
	size_t len, i, n;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	for (len = 0; len <= sizeof(raw); len++) {
		char *enc = zh_b64_encode(raw, len);
		unsigned char *dec;

		assert_non_null(enc);
		assert_int_equal(strlen(enc), (len + 2) / 3 * 4);
		dec = zh_b64_decode(enc, strlen(enc), &n);
		assert_non_null(dec);
		assert_int_equal(n, len);
		if (len)
			assert_memory_equal(dec, raw, len);
		free(enc);
		free(dec);
	}
}

static const char *const b64_invalid[] = {
	"Zg=",       /* not a multiple of 4 */
	"Zg",
	"Z",
	"Z===",      /* too much padding */
	"====",
	"=Zg=",      /* padding first */
	"Zg==Zg==",  /* padding in the middle */
	"Zm9v!AAA",  /* outside the alphabet */
	"Zm9-",      /* URL-safe alphabet */
	"Zm9_",
	"Zm9v\n",
	" Zm9v",
	"Zm9vYg=a",
	"Zm\xc3\xa9",
};

static void test_b64_refuses_invalid_input(void **state)
{
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(b64_invalid); i++) {
		n = 99;
		assert_null(zh_b64_decode(b64_invalid[i], strlen(b64_invalid[i]), &n));
		assert_int_equal(n, 0);
	}
	/* an embedded NUL is not base64 either */
	assert_null(zh_b64_decode("Zm\0v", 4, &n));
	assert_null(zh_b64_decode(NULL, 0, &n));
}

/* --- prefix end ------------------------------------------------------------------ */

struct prefix_case {
	const char *prefix;
	size_t len;
	const char *end;
	size_t end_len;
};

static const struct prefix_case prefix_cases[] = {
	{ "a", 1, "b", 1 },
	{ "abc", 3, "abd", 3 },
	{ "/zerohop/v1/", 12, "/zerohop/v10", 12 },
	{ "a\xfe", 2, "a\xff", 2 },
	{ "a\xff", 2, "b", 1 },
	{ "a\xff\xff", 3, "b", 1 },
	{ "ab\xff", 3, "ac", 2 },
	/* no finite end: every key from the start on */
	{ "\xff", 1, "\0", 1 },
	{ "\xff\xff", 2, "\0", 1 },
	{ "", 0, "\0", 1 },
};

static void test_prefix_end(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(prefix_cases); i++) {
		const struct prefix_case *c = &prefix_cases[i];
		struct zh_bytes end;
		char *s;

		assert_int_equal(zh_wire_prefix_end(c->prefix, c->len, &end), 0);
		assert_int_equal(end.len, c->end_len);
		assert_memory_equal(end.data, c->end, c->end_len);
		free(end.data);
		s = zh_etcd_prefix_end(c->prefix);
		assert_non_null(s);
		assert_string_equal(s, c->end);
		free(s);
	}
}

/* --- range ------------------------------------------------------------------ */

struct range_case {
	const char *name;
	const char *json;
	int ret;
	int64_t revision;
	bool more;
	int64_t count;
	size_t n_kvs;
	const char *key0;
	const char *value0;
	int64_t mod0;
	int grpc_code;
};

static const struct range_case range_cases[] = {
	{ "normal",
	  "{\"header\":{\"cluster_id\":\"14841639068965178418\",\"member_id\":\"10276657743932975437\","
	  "\"revision\":\"7\",\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"L3AvYQ==\",\"create_revision\":\"2\","
	  "\"mod_revision\":\"5\",\"version\":\"1\",\"value\":\"MQ==\"},{\"key\":\"L3AvYg==\","
	  "\"create_revision\":\"6\",\"mod_revision\":\"6\",\"version\":\"1\"}],\"count\":\"2\"}",
	  0, 7, false, 2, 2, "/p/a", "1", 5, -1 },
	{ "empty", "{\"header\":{\"revision\":\"3\"}}", 0, 3, false, 0, 0, NULL, NULL, 0, -1 },
	{ "more",
	  "{\"header\":{\"revision\":\"9\"},\"kvs\":[{\"key\":\"YQ==\",\"value\":\"Yg==\","
	  "\"mod_revision\":\"9\"}],\"more\":true,\"count\":\"5\"}",
	  0, 9, true, 5, 1, "a", "b", 9, -1 },
	{ "all fields missing", "{}", 0, 0, false, 0, 0, NULL, NULL, 0, -1 },
	{ "nulls are defaults", "{\"header\":null,\"kvs\":null,\"more\":null}", 0, 0, false, 0, 0,
	  NULL, NULL, 0, -1 },
	{ "kv without value or revision", "{\"kvs\":[{\"key\":\"YQ==\"}]}", 0, 0, false, 0, 1, "a",
	  "", 0, -1 },
	{ "revision as a number", "{\"header\":{\"revision\":12}}", 0, 12, false, 0, 0, NULL, NULL,
	  0, -1 },
	{ "unknown fields ignored", "{\"header\":{\"revision\":\"1\"},\"future\":{\"x\":[1,2]}}", 0, 1,
	  false, 0, 0, NULL, NULL, 0, -1 },
	{ "trailing newline", "{\"header\":{\"revision\":\"4\"}}\n", 0, 4, false, 0, 0, NULL, NULL,
	  0, -1 },
	/* wrong types */
	{ "kvs an object", "{\"kvs\":{}}", -EBADMSG },
	{ "kv a number", "{\"kvs\":[1]}", -EBADMSG },
	{ "more a string", "{\"more\":\"true\"}", -EBADMSG },
	{ "revision not a number", "{\"header\":{\"revision\":\"x\"}}", -EBADMSG },
	{ "revision a boolean", "{\"header\":{\"revision\":true}}", -EBADMSG },
	{ "revision with a suffix", "{\"header\":{\"revision\":\"12x\"}}", -EBADMSG },
	{ "revision with a space", "{\"header\":{\"revision\":\" 12\"}}", -EBADMSG },
	{ "revision negative", "{\"header\":{\"revision\":\"-3\"}}", -EBADMSG },
	{ "revision too large", "{\"header\":{\"revision\":\"99999999999999999999\"}}", -EBADMSG },
	{ "revision a float", "{\"header\":{\"revision\":1.5}}", -EBADMSG },
	{ "count a float string", "{\"count\":\"1.5\"}", -EBADMSG },
	{ "header an array", "{\"header\":[]}", -EBADMSG },
	{ "key a number", "{\"kvs\":[{\"key\":5}]}", -EBADMSG },
	{ "mod_revision an object", "{\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":{}}]}", -EBADMSG },
	/* not one JSON object */
	{ "an array", "[]", -EBADMSG },
	{ "a string", "\"str\"", -EBADMSG },
	{ "null", "null", -EBADMSG },
	{ "nothing", "", -EBADMSG },
	{ "blanks", "  \n", -EBADMSG },
	{ "trailing garbage", "{\"a\":1} x", -EBADMSG },
	{ "two objects", "{\"a\":1}{\"b\":2}", -EBADMSG },
	{ "invalid UTF-8 escape", "{\"a\":\"\\ud800x\\u12\"}", -EBADMSG },
	/* invalid base64 */
	{ "key not padded", "{\"kvs\":[{\"key\":\"YQ=\"}]}", -EBADMSG },
	{ "value outside the alphabet", "{\"kvs\":[{\"key\":\"YQ==\",\"value\":\"!!!!\"}]}", -EBADMSG },
	/* errors */
	{ "server error",
	  "{\"error\":\"etcdserver: mvcc: required revision has been compacted\",\"code\":11,"
	  "\"message\":\"etcdserver: mvcc: required revision has been compacted\"}",
	  -EPROTO, .grpc_code = 11 },
	{ "error as a number", "{\"error\":5}", -EBADMSG },
	{ "error code a string", "{\"error\":\"x\",\"code\":\"y\"}", -EBADMSG },
};

static char *dup_exact(const char *s, size_t len)
{
	/* exactly len bytes, no NUL after: a parser reading past the end
	 * shows up under ASan/valgrind
	 */
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

static void test_range_parsing(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(range_cases); i++) {
		const struct range_case *c = &range_cases[i];
		size_t len = strlen(c->json);
		char *buf = dup_exact(c->json, len);
		struct zh_wire_error err;
		struct zh_wire_range r;
		int ret;

		ret = zh_wire_parse_range(buf, len, &r, &err);
		free(buf);
		if (ret != c->ret)
			fail_msg("range case \"%s\": got %d, want %d (%s)", c->name, ret, c->ret,
				 ret ? err.message : "");
		if (ret == -EPROTO)
			assert_int_equal(err.grpc_code, c->grpc_code);
		if (ret) {
			assert_true(err.message[0] != '\0');
			assert_null(r.kvs);
			continue;
		}
		assert_int_equal(r.revision, c->revision);
		assert_int_equal(r.more, c->more);
		assert_int_equal(r.count, c->count);
		assert_int_equal(r.n_kvs, c->n_kvs);
		if (c->key0) {
			assert_int_equal(r.kvs[0].key_len, strlen(c->key0));
			assert_memory_equal(r.kvs[0].key, c->key0, strlen(c->key0));
			assert_int_equal(r.kvs[0].value_len, strlen(c->value0));
			assert_string_equal(r.kvs[0].value, c->value0);
			assert_int_equal(r.kvs[0].mod_revision, c->mod0);
		}
		zh_wire_range_free(&r);
	}
}

static void test_range_binary_keys(void **state)
{
	/* "\0\xff" key, value with a NUL in the middle */
	const char *json = "{\"kvs\":[{\"key\":\"AP8=\",\"value\":\"YQBi\",\"mod_revision\":\"3\"}]}";
	struct zh_wire_error err;
	struct zh_wire_range r;

	assert_int_equal(zh_wire_parse_range(json, strlen(json), &r, &err), 0);
	assert_int_equal(r.kvs[0].key_len, 2);
	assert_memory_equal(r.kvs[0].key, "\0\xff", 2);
	assert_int_equal(r.kvs[0].value_len, 3);
	assert_memory_equal(r.kvs[0].value, "a\0b", 3);
	zh_wire_range_free(&r);
}

/* --- watch ------------------------------------------------------------------ */

struct watch_case {
	const char *name;
	const char *json;
	int ret;
	int64_t revision;
	bool created;
	bool canceled;
	int64_t compact_revision;
	size_t n_events;
	/* first two events: key, value or NULL for delete, mod_revision */
	const char *key[2];
	const char *value[2];
	int64_t mod[2];
	int grpc_code;
	const char *message;
};

static const struct watch_case watch_cases[] = {
	{ "created",
	  "{\"result\":{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\",\"revision\":\"5\","
	  "\"raft_term\":\"2\"},\"created\":true}}",
	  0, 5, true },
	{ "put and delete events",
	  "{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":[{\"kv\":{\"key\":\"YQ==\","
	  "\"create_revision\":\"6\",\"mod_revision\":\"6\",\"version\":\"1\",\"value\":\"MQ==\"}},"
	  "{\"type\":\"DELETE\",\"kv\":{\"key\":\"Yg==\",\"mod_revision\":\"7\"}}]}}",
	  0, 7, false, false, 0, 2, { "a", "b" }, { "1", NULL }, { 6, 7 } },
	{ "explicit PUT type, empty value",
	  "{\"result\":{\"events\":[{\"type\":\"PUT\",\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"8\"}}]}}",
	  0, 0, false, false, 0, 1, { "a" }, { "" }, { 8 } },
	{ "numeric event type",
	  "{\"result\":{\"events\":[{\"type\":1,\"kv\":{\"key\":\"YQ==\",\"mod_revision\":\"9\"}}]}}",
	  0, 0, false, false, 0, 1, { "a" }, { NULL }, { 9 } },
	{ "compacted",
	  "{\"result\":{\"header\":{\"revision\":\"30\"},\"canceled\":true,\"compact_revision\":\"25\"}}",
	  0, 30, false, true, 25 },
	{ "created and compacted",
	  "{\"result\":{\"header\":{\"revision\":\"30\"},\"created\":true,\"canceled\":true,"
	  "\"compact_revision\":\"25\"}}",
	  0, 30, true, true, 25 },
	{ "progress notification", "{\"result\":{\"header\":{\"revision\":\"44\"}}}", 0, 44 },
	{ "canceled with a reason",
	  "{\"result\":{\"canceled\":true,\"cancel_reason\":\"etcdserver: permission denied\"}}",
	  0, 0, false, true, 0 },
	{ "stream error",
	  "{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\","
	  "\"http_status\":\"Service Unavailable\"}}",
	  -EPROTO, .grpc_code = 14, .message = "etcdserver: no leader" },
	{ "unary style error",
	  "{\"error\":\"etcdserver: invalid auth token\",\"code\":16,\"message\":\"etcdserver: invalid "
	  "auth token\"}",
	  -EPROTO, .grpc_code = 16, .message = "etcdserver: invalid auth token" },
	{ "error without message", "{\"error\":{\"grpc_code\":2}}", -EPROTO, .grpc_code = 2,
	  .message = "error without a message" },
	{ "no result", "{}", -EBADMSG },
	{ "result a number", "{\"result\":5}", -EBADMSG },
	{ "events an object", "{\"result\":{\"events\":{}}}", -EBADMSG },
	{ "event a string", "{\"result\":{\"events\":[\"x\"]}}", -EBADMSG },
	{ "event without kv", "{\"result\":{\"events\":[{\"type\":\"DELETE\"}]}}", -EBADMSG },
	{ "event with an empty key", "{\"result\":{\"events\":[{\"kv\":{\"value\":\"MQ==\"}}]}}",
	  -EBADMSG },
	{ "unknown event type",
	  "{\"result\":{\"events\":[{\"type\":\"FOO\",\"kv\":{\"key\":\"YQ==\"}}]}}", -EBADMSG },
	{ "event type out of range",
	  "{\"result\":{\"events\":[{\"type\":7,\"kv\":{\"key\":\"YQ==\"}}]}}", -EBADMSG },
	{ "event type a boolean",
	  "{\"result\":{\"events\":[{\"type\":true,\"kv\":{\"key\":\"YQ==\"}}]}}", -EBADMSG },
	{ "event key invalid base64",
	  "{\"result\":{\"events\":[{\"kv\":{\"key\":\"YQ\"}}]}}", -EBADMSG },
	{ "created a string", "{\"result\":{\"created\":\"true\"}}", -EBADMSG },
	{ "compact_revision negative", "{\"result\":{\"compact_revision\":\"-1\"}}", -EBADMSG },
	{ "cancel_reason a number", "{\"result\":{\"cancel_reason\":3}}", -EBADMSG },
	{ "error code out of range", "{\"error\":{\"grpc_code\":\"99999999\"}}", -EBADMSG },
};

static void test_watch_parsing(void **state)
{
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(watch_cases); i++) {
		const struct watch_case *c = &watch_cases[i];
		size_t len = strlen(c->json);
		char *buf = dup_exact(c->json, len);
		struct zh_wire_error err;
		struct zh_wire_watch w;
		int ret;

		ret = zh_wire_parse_watch(buf, len, &w, &err);
		free(buf);
		if (ret != c->ret)
			fail_msg("watch case \"%s\": got %d, want %d (%s)", c->name, ret, c->ret,
				 ret ? err.message : "");
		if (ret == -EPROTO) {
			assert_int_equal(err.grpc_code, c->grpc_code);
			assert_string_equal(err.message, c->message);
		}
		if (ret) {
			assert_null(w.events);
			continue;
		}
		assert_int_equal(w.revision, c->revision);
		assert_int_equal(w.created, c->created);
		assert_int_equal(w.canceled, c->canceled);
		assert_int_equal(w.compact_revision, c->compact_revision);
		assert_int_equal(w.n_events, c->n_events);
		for (j = 0; j < w.n_events && j < 2; j++) {
			assert_string_equal(w.events[j].key, c->key[j]);
			if (c->value[j])
				assert_string_equal(w.events[j].value, c->value[j]);
			else
				assert_null(w.events[j].value);
			assert_int_equal(w.events[j].mod_revision, c->mod[j]);
		}
		if (!strcmp(c->name, "canceled with a reason"))
			assert_string_equal(w.cancel_reason, "etcdserver: permission denied");
		zh_wire_watch_free(&w);
	}
}

/* --- txn and auth ------------------------------------------------------------------ */

static void test_txn_parsing(void **state)
{
	static const struct {
		const char *json;
		int ret;
		int64_t revision;
		bool succeeded;
		int grpc_code;
	} cases[] = {
		{ "{\"header\":{\"revision\":\"12\"},\"succeeded\":true,\"responses\":[{\"response_put\":"
		  "{\"header\":{\"revision\":\"12\"}}},{\"response_delete_range\":{\"header\":{}}}]}",
		  0, 12, true },
		{ "{\"header\":{\"revision\":\"13\"}}", 0, 13, false },
		{ "{\"error\":\"etcdserver: too many operations in txn request\",\"code\":3,"
		  "\"message\":\"etcdserver: too many operations in txn request\"}",
		  -EPROTO, 0, false, 3 },
		{ "{\"succeeded\":\"yes\"}", -EBADMSG },
		{ "{\"responses\":{}}", -EBADMSG },
		{ "{\"header\":{\"revision\":\"12\"}", -EBADMSG },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct zh_wire_error err;
		struct zh_wire_txn t;
		int ret = zh_wire_parse_txn(cases[i].json, strlen(cases[i].json), &t, &err);

		if (ret != cases[i].ret)
			fail_msg("txn case %zu: got %d, want %d", i, ret, cases[i].ret);
		if (ret == -EPROTO) {
			assert_int_equal(err.grpc_code, cases[i].grpc_code);
			assert_int_equal(zh_wire_errno(err.grpc_code), -EINVAL);
		}
		if (!ret) {
			assert_int_equal(t.revision, cases[i].revision);
			assert_int_equal(t.succeeded, cases[i].succeeded);
		}
	}
}

static void test_auth_parsing(void **state)
{
	static const struct {
		const char *json;
		int ret;
		const char *token;
	} cases[] = {
		{ "{\"header\":{\"revision\":\"2\"},\"token\":\"SHgOrmXsbHqkFYdo.15\"}", 0,
		  "SHgOrmXsbHqkFYdo.15" },
		{ "{\"header\":{}}", -EBADMSG },
		{ "{\"token\":\"\"}", -EBADMSG },
		{ "{\"token\":5}", -EBADMSG },
		/* it becomes an HTTP header: no line breaks or spaces */
		{ "{\"token\":\"a\\r\\nX-Evil: 1\"}", -EBADMSG },
		{ "{\"token\":\"a b\"}", -EBADMSG },
		{ "{\"error\":\"etcdserver: authentication failed, invalid user ID or password\",\"code\":3,"
		  "\"message\":\"etcdserver: authentication failed, invalid user ID or password\"}",
		  -EPROTO },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct zh_wire_error err;
		char *token = (char *)1;
		int ret = zh_wire_parse_auth(cases[i].json, strlen(cases[i].json), &token, &err);

		if (ret != cases[i].ret)
			fail_msg("auth case %zu: got %d, want %d", i, ret, cases[i].ret);
		if (ret) {
			assert_null(token);
			continue;
		}
		assert_string_equal(token, cases[i].token);
		free(token);
	}
}

/* --- truncation ------------------------------------------------------------------ */

static int parse_any(int kind, const char *buf, size_t len)
{
	struct zh_wire_error err;
	struct zh_wire_range r;
	struct zh_wire_watch w;
	struct zh_wire_txn t;
	char *token = NULL;
	int ret;

	switch (kind) {
	case 0:
		ret = zh_wire_parse_range(buf, len, &r, &err);
		if (!ret)
			zh_wire_range_free(&r);
		return ret;
	case 1:
		ret = zh_wire_parse_watch(buf, len, &w, &err);
		if (!ret)
			zh_wire_watch_free(&w);
		return ret;
	case 2:
		return zh_wire_parse_txn(buf, len, &t, &err);
	default:
		ret = zh_wire_parse_auth(buf, len, &token, &err);
		free(token);
		return ret;
	}
}

static void test_truncated_at_every_byte(void **state)
{
	static const struct {
		int kind;
		const char *json;
	} samples[] = {
		{ 0, "{\"header\":{\"revision\":\"7\"},\"kvs\":[{\"key\":\"L3AvYQ==\",\"mod_revision\":\"5\","
		     "\"value\":\"MQ==\"},{\"key\":\"L3AvYg==\",\"mod_revision\":\"6\"}],\"more\":true,"
		     "\"count\":\"2\"}" },
		{ 1, "{\"result\":{\"header\":{\"revision\":\"7\"},\"events\":[{\"kv\":{\"key\":\"YQ==\","
		     "\"mod_revision\":\"6\",\"value\":\"MQ==\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":"
		     "\"Yg==\",\"mod_revision\":\"7\"}}]}}" },
		{ 1, "{\"result\":{\"canceled\":true,\"compact_revision\":\"25\"}}" },
		{ 1, "{\"error\":{\"grpc_code\":14,\"message\":\"etcdserver: no leader\"}}" },
		{ 2, "{\"header\":{\"revision\":\"12\"},\"succeeded\":true}" },
		{ 3, "{\"token\":\"abc.15\"}" },
	};
	size_t i, len;

	for (i = 0; i < ARRAY_SIZE(samples); i++) {
		size_t full = strlen(samples[i].json);

		assert_int_not_equal(parse_any(samples[i].kind, samples[i].json, full), -EBADMSG);
		for (len = 0; len < full; len++) {
			char *buf = dup_exact(samples[i].json, len);
			int ret = parse_any(samples[i].kind, buf, len);

			free(buf);
			if (ret != -EBADMSG)
				fail_msg("sample %zu cut at %zu of %zu: got %d, want -EBADMSG", i, len,
					 full, ret);
		}
	}
}

static void test_absurd_input(void **state)
{
	struct zh_wire_error err;
	struct zh_wire_range r;
	char *deep;
	size_t i, n = 100000;

	/* a length over the cap is refused before it is read */
	assert_int_equal(zh_wire_parse_range("{}", (size_t)ZH_WIRE_MAX_MSG + 1, &r, &err), -EBADMSG);
	/* nesting far deeper than json-c's limit */
	deep = malloc(2 * n + 16);
	assert_non_null(deep);
	strcpy(deep, "{\"kvs\":");
	for (i = 0; i < n; i++)
		deep[7 + i] = '[';
	for (i = 0; i < n; i++)
		deep[7 + n + i] = ']';
	deep[7 + 2 * n] = '}';
	assert_int_equal(zh_wire_parse_range(deep, 8 + 2 * n, &r, &err), -EBADMSG);
	free(deep);
	/* an embedded NUL ends nothing early: the whole buffer must parse */
	assert_int_equal(zh_wire_parse_range("{}\0{}", 5, &r, &err), -EBADMSG);
}

/* --- request bodies ------------------------------------------------------------------ */

static json_object *parse_body(char *body)
{
	json_object *o;

	assert_non_null(body);
	o = json_tokener_parse(body);
	free(body);
	assert_non_null(o);
	return o;
}

static const char *str_at(json_object *o, const char *a, const char *b)
{
	json_object *v = o;

	if (a)
		assert_true(json_object_object_get_ex(v, a, &v));
	if (b)
		assert_true(json_object_object_get_ex(v, b, &v));
	return json_object_get_string(v);
}

static void test_request_bodies(void **state)
{
	static const struct zh_etcd_op ops[] = {
		{ ZH_ETCD_PUT, "a", "1" },
		{ ZH_ETCD_DELETE, "b", NULL },
		{ ZH_ETCD_DELETE_PREFIX, "c/", NULL },
		{ ZH_ETCD_DELETE_PREFIX, "", NULL },
	};
	json_object *o, *success, *op;

	o = parse_body(zh_wire_range_request("/p/", 3, "/p0", 3, 1000, 42));
	assert_string_equal(str_at(o, "key", NULL), "L3Av");
	assert_string_equal(str_at(o, "range_end", NULL), "L3Aw");
	assert_string_equal(str_at(o, "limit", NULL), "1000");
	assert_string_equal(str_at(o, "revision", NULL), "42");
	json_object_put(o);

	/* zero limit and revision are left out (proto3 defaults) */
	o = parse_body(zh_wire_range_request("k", 1, NULL, 0, 0, 0));
	assert_int_equal(json_object_object_length(o), 1);
	json_object_put(o);

	o = parse_body(zh_wire_watch_request("/p/", 3, "/p0", 3, 8));
	assert_string_equal(str_at(o, "create_request", "key"), "L3Av");
	assert_string_equal(str_at(o, "create_request", "range_end"), "L3Aw");
	assert_string_equal(str_at(o, "create_request", "start_revision"), "8");
	assert_string_equal(str_at(o, "create_request", "progress_notify"), "true");
	json_object_put(o);

	o = parse_body(zh_wire_auth_request("ro\"ot", "p\\w"));
	assert_string_equal(str_at(o, "name", NULL), "ro\"ot");
	assert_string_equal(str_at(o, "password", NULL), "p\\w");
	json_object_put(o);

	o = parse_body(zh_wire_txn_request(ops, ARRAY_SIZE(ops)));
	assert_true(json_object_object_get_ex(o, "success", &success));
	assert_int_equal(json_object_array_length(success), 4);
	op = json_object_array_get_idx(success, 0);
	assert_string_equal(str_at(op, "request_put", "key"), "YQ==");
	assert_string_equal(str_at(op, "request_put", "value"), "MQ==");
	op = json_object_array_get_idx(success, 1);
	assert_string_equal(str_at(op, "request_delete_range", "key"), "Yg==");
	assert_false(json_object_object_get_ex(json_object_object_get(op, "request_delete_range"),
					       "range_end", NULL));
	op = json_object_array_get_idx(success, 2);
	assert_string_equal(str_at(op, "request_delete_range", "key"), "Yy8=");
	assert_string_equal(str_at(op, "request_delete_range", "range_end"), "YzA=");
	/* the empty prefix: "\0" to "\0", every key */
	op = json_object_array_get_idx(success, 3);
	assert_string_equal(str_at(op, "request_delete_range", "key"), "AA==");
	assert_string_equal(str_at(op, "request_delete_range", "range_end"), "AA==");
	json_object_put(o);
}

static void test_error_mapping(void **state)
{
	static const struct {
		int code;
		int err;
	} cases[] = {
		{ 3, -EINVAL }, { 4, -ETIMEDOUT }, { 5, -ENOENT }, { 7, -EACCES }, { 8, -EBUSY },
		{ 9, -EPERM }, { 11, -ERANGE }, { 14, -EAGAIN }, { 16, -EACCES }, { 2, -EPROTO },
		{ 0, -EPROTO },
	};
	const char *unary = "{\"error\":\"x\",\"code\":14,\"message\":\"no leader\"}";
	struct zh_wire_error err;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(zh_wire_errno(cases[i].code), cases[i].err);
	assert_int_equal(zh_wire_parse_error(unary, strlen(unary), &err), 0);
	assert_int_equal(err.grpc_code, 14);
	assert_string_equal(err.message, "no leader");
	assert_int_equal(zh_wire_parse_error("{\"result\":{}}", 13, &err), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64_known_vectors),
		cmocka_unit_test(test_b64_round_trips_every_byte_and_length),
		cmocka_unit_test(test_b64_refuses_invalid_input),
		cmocka_unit_test(test_prefix_end),
		cmocka_unit_test(test_range_parsing),
		cmocka_unit_test(test_range_binary_keys),
		cmocka_unit_test(test_watch_parsing),
		cmocka_unit_test(test_txn_parsing),
		cmocka_unit_test(test_auth_parsing),
		cmocka_unit_test(test_truncated_at_every_byte),
		cmocka_unit_test(test_absurd_input),
		cmocka_unit_test(test_request_bodies),
		cmocka_unit_test(test_error_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
