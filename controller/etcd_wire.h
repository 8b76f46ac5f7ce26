/* SPDX-License-Identifier: GPL-2.0-only */
/* etcd v3 JSON gateway wire format, internal to the etcd client: request
 * bodies and strict parsing of responses. Responses follow proto3 JSON:
 * int64 as strings ("revision":"2"; numbers accepted too), keys and values
 * base64, default values omitted (missing means 0, false or empty).
 *
 * Every parser returns 0, -EBADMSG when the input is not a well-formed
 * message of that kind (truncated JSON, a wrong type, invalid base64, a
 * negative revision) with the reason in err->message, or -EPROTO when it
 * is a well-formed error from the server (err->grpc_code and message).
 */
#ifndef ZH_ETCD_WIRE_H
#define ZH_ETCD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd.h"

/* A single response body or watch stream line larger than this is refused. */
#define ZH_WIRE_MAX_MSG (64u << 20)

/* gRPC codes the client acts on. */
enum {
	ZH_GRPC_INVALID_ARGUMENT = 3,
	ZH_GRPC_DEADLINE_EXCEEDED = 4,
	ZH_GRPC_NOT_FOUND = 5,
	ZH_GRPC_PERMISSION_DENIED = 7,
	ZH_GRPC_RESOURCE_EXHAUSTED = 8,
	ZH_GRPC_FAILED_PRECONDITION = 9,
	ZH_GRPC_OUT_OF_RANGE = 11,
	ZH_GRPC_UNAVAILABLE = 14,
	ZH_GRPC_UNAUTHENTICATED = 16,
};

struct zh_wire_error {
	int grpc_code;             /* -1 unless a server error */
	int http_code;             /* from a stream error, else 0 */
	char message[256];
};

/* A key-value with owned, NUL-terminated buffers. value is NULL for a
 * delete event.
 */
struct zh_wire_kv {
	char *key;
	size_t key_len;
	char *value;
	size_t value_len;
	int64_t mod_revision;
};

struct zh_wire_range {
	int64_t revision;          /* header.revision */
	bool more;
	int64_t count;
	struct zh_wire_kv *kvs;
	size_t n_kvs;
};

struct zh_wire_txn {
	int64_t revision;
	bool succeeded;
};

struct zh_wire_watch {
	int64_t revision;          /* header.revision */
	int64_t watch_id;
	bool created;
	bool canceled;
	int64_t compact_revision;
	char cancel_reason[256];
	struct zh_wire_kv *events; /* value NULL: DELETE */
	size_t n_events;
};

/* Bytes (not a C string: may hold NULs) with their length. */
struct zh_bytes {
	char *data;
	size_t len;
};

/* prefix end as bytes: "" and all-0xff prefixes have none and get "\0"
 * (every key from the start key on), as etcd's clientv3 does.
 */
int zh_wire_prefix_end(const char *prefix, size_t len, struct zh_bytes *out);

/* Request bodies (malloc'ed JSON, NULL on ENOMEM). revision 0: latest. */
char *zh_wire_range_request(const void *key, size_t key_len, const void *end, size_t end_len,
			    int64_t limit, int64_t revision);
char *zh_wire_watch_request(const void *key, size_t key_len, const void *end, size_t end_len,
			    int64_t start_revision);
char *zh_wire_auth_request(const char *user, const char *password);
/* One transaction of ops (all in "success", no compare). */
char *zh_wire_txn_request(const struct zh_etcd_op *ops, size_t n);
/* Encoded size an op adds to a txn body (for splitting by size). */
size_t zh_wire_op_size(const struct zh_etcd_op *op);

/* An error body: {"error":"..","code":N,"message":".."} (unary) or
 * {"error":{"grpc_code":N,"http_code":N,"message":".."}} (stream).
 * 0 and err filled if it is one, -EBADMSG if not.
 */
int zh_wire_parse_error(const char *buf, size_t len, struct zh_wire_error *err);
int zh_wire_parse_range(const char *buf, size_t len, struct zh_wire_range *out,
			struct zh_wire_error *err);
void zh_wire_range_free(struct zh_wire_range *r);
int zh_wire_parse_txn(const char *buf, size_t len, struct zh_wire_txn *out,
		      struct zh_wire_error *err);
/* *token malloc'ed. */
int zh_wire_parse_auth(const char *buf, size_t len, char **token, struct zh_wire_error *err);
/* One line of a watch stream: {"result":{...}} or an error. */
int zh_wire_parse_watch(const char *buf, size_t len, struct zh_wire_watch *out,
			struct zh_wire_error *err);
void zh_wire_watch_free(struct zh_wire_watch *w);

/* Auth admin (etcd.h). Requests: a JSON object of up to two string
 * fields (NULL name: left out); a role grant; a role revoke.
 */
char *zh_wire_strings_request(const char *name1, const char *val1, const char *name2,
			      const char *val2);
char *zh_wire_role_grant_request(const char *role, const struct zh_etcd_perm *perm);
char *zh_wire_role_revoke_request(const char *role, const char *key, const char *range_end);
/* A reply without data: an error or not. */
int zh_wire_parse_ok(const char *buf, size_t len, struct zh_wire_error *err);
/* A reply's array of strings `field` ("roles", "users"); missing: none. */
int zh_wire_parse_strings(const char *buf, size_t len, const char *field, char ***out,
			  size_t *n, struct zh_wire_error *err);
/* role/get: "perm":[{"permType":"READ"|"WRITE"|"READWRITE"|N,"key","range_end"}]. */
int zh_wire_parse_perms(const char *buf, size_t len, struct zh_etcd_perm **out, size_t *n,
			struct zh_wire_error *err);

/* gRPC code -> -errno for the caller. */
int zh_wire_errno(int grpc_code);

#endif /* ZH_ETCD_WIRE_H */
