// SPDX-License-Identifier: GPL-2.0-only
/* etcd v3 JSON gateway wire format: base64, request bodies and strict
 * parsing of responses (see etcd_wire.h). Nothing here trusts its input:
 * every field is type-checked, base64 is validated, sizes are capped.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "etcd.h"
#include "etcd_wire.h"

/* --- base64 ------------------------------------------------------------------ */

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *zh_b64_encode(const void *data, size_t len)
{
	const unsigned char *in = data;
	size_t i, o = 0;
	char *out;

	if (len > (SIZE_MAX / 4) * 3 - 3)
		return NULL;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned int v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];

		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = b64_alphabet[v >> 6 & 63];
		out[o++] = b64_alphabet[v & 63];
	}
	if (i < len) {
		unsigned int v = in[i] << 16 | (i + 1 < len ? in[i + 1] << 8 : 0);

		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

void *zh_b64_decode(const char *s, size_t len, size_t *out_len)
{
	size_t i, o = 0, pad = 0;
	unsigned char *out;

	*out_len = 0;
	if (!s || len % 4)
		return NULL;
	if (len && s[len - 1] == '=')
		pad = len >= 2 && s[len - 2] == '=' ? 2 : 1;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return NULL;
	for (i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		unsigned int v = 0;
		int j, d;

		for (j = 0; j < 4; j++) {
			if (last && j >= 4 - (int)pad) {
				d = 0;
			} else {
				d = b64_value(s[i + j]);
				if (d < 0)
					goto invalid;
			}
			v = v << 6 | d;
		}
		out[o++] = v >> 16;
		if (!last || pad < 2)
			out[o++] = v >> 8 & 0xff;
		if (!last || pad < 1)
			out[o++] = v & 0xff;
	}
	out[o] = '\0';
	*out_len = o;
	return out;
invalid:
	free(out);
	return NULL;
}

/* --- prefix end ------------------------------------------------------------------ */

int zh_wire_prefix_end(const char *prefix, size_t len, struct zh_bytes *out)
{
	size_t n = len;

	/* Drop trailing 0xff bytes, then increment the last byte. */
	while (n && (unsigned char)prefix[n - 1] == 0xff)
		n--;
	out->data = malloc(n ? n + 1 : 2);
	if (!out->data)
		return -ENOMEM;
	if (!n) {
		out->data[0] = '\0';
		out->data[1] = '\0';
		out->len = 1;
		return 0;
	}
	memcpy(out->data, prefix, n);
	out->data[n - 1] = (char)((unsigned char)out->data[n - 1] + 1);
	out->data[n] = '\0';
	out->len = n;
	return 0;
}

char *zh_etcd_prefix_end(const char *prefix)
{
	struct zh_bytes end;

	if (zh_wire_prefix_end(prefix, strlen(prefix), &end))
		return NULL;
	/* "\0" (no finite end) reads as "" through a C string. */
	return end.data;
}

/* --- request bodies ------------------------------------------------------------------ */

static int add_b64(json_object *o, const char *name, const void *data, size_t len)
{
	char *s = zh_b64_encode(data, len);
	json_object *v;

	if (!s)
		return -ENOMEM;
	v = json_object_new_string(s);
	free(s);
	if (!v || json_object_object_add(o, name, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

static int add_i64(json_object *o, const char *name, int64_t v)
{
	json_object *j = json_object_new_int64(v);

	if (!j || json_object_object_add(o, name, j)) {
		json_object_put(j);
		return -ENOMEM;
	}
	return 0;
}

static int add_obj(json_object *o, const char *name, json_object *child)
{
	if (!child)
		return -ENOMEM;
	if (json_object_object_add(o, name, child)) {
		json_object_put(child);
		return -ENOMEM;
	}
	return 0;
}

/* Serialize and release o. */
static char *to_string(json_object *o)
{
	const char *s;
	char *out = NULL;

	if (!o)
		return NULL;
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (s)
		out = strdup(s);
	json_object_put(o);
	return out;
}

char *zh_wire_range_request(const void *key, size_t key_len, const void *end, size_t end_len,
			    int64_t limit, int64_t revision)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (add_b64(o, "key", key, key_len) ||
	    (end && add_b64(o, "range_end", end, end_len)) ||
	    (limit > 0 && add_i64(o, "limit", limit)) ||
	    (revision > 0 && add_i64(o, "revision", revision))) {
		json_object_put(o);
		return NULL;
	}
	return to_string(o);
}

char *zh_wire_watch_request(const void *key, size_t key_len, const void *end, size_t end_len,
			    int64_t start_revision)
{
	json_object *o = json_object_new_object(), *c = json_object_new_object();

	if (!o || !c)
		goto fail;
	/* progress_notify: the server tells the revision while idle, so a
	 * resume after a long quiet period does not fall behind compaction.
	 */
	if (add_b64(c, "key", key, key_len) ||
	    (end && add_b64(c, "range_end", end, end_len)) ||
	    (start_revision > 0 && add_i64(c, "start_revision", start_revision)) ||
	    add_obj(c, "progress_notify", json_object_new_boolean(1)))
		goto fail;
	if (add_obj(o, "create_request", c)) {
		c = NULL;
		goto fail;
	}
	return to_string(o);
fail:
	json_object_put(c);
	json_object_put(o);
	return NULL;
}

char *zh_wire_auth_request(const char *user, const char *password)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (add_obj(o, "name", json_object_new_string(user ? user : "")) ||
	    add_obj(o, "password", json_object_new_string(password ? password : ""))) {
		json_object_put(o);
		return NULL;
	}
	return to_string(o);
}

size_t zh_wire_op_size(const struct zh_etcd_op *op)
{
	size_t k = op->key ? strlen(op->key) : 0;
	size_t v = op->type == ZH_ETCD_PUT && op->value ? strlen(op->value) : 0;

	/* base64 of key, value and range_end (about key) plus JSON framing */
	return (k + 2) / 3 * 4 * 2 + (v + 2) / 3 * 4 + 64;
}

static json_object *txn_op(const struct zh_etcd_op *op)
{
	json_object *req = json_object_new_object(), *r = json_object_new_object();
	const char *key = op->key ? op->key : "";
	struct zh_bytes end = { 0 };
	size_t key_len = strlen(key);
	int err = 0;

	if (!req || !r)
		goto fail;
	/* The empty prefix is every key: from "\0" (etcd refuses an empty key). */
	if (add_b64(r, "key", key_len || op->type != ZH_ETCD_DELETE_PREFIX ? key : "\0",
		    key_len || op->type != ZH_ETCD_DELETE_PREFIX ? key_len : 1))
		goto fail;
	switch (op->type) {
	case ZH_ETCD_PUT:
		if (add_b64(r, "value", op->value ? op->value : "",
			    op->value ? strlen(op->value) : 0))
			goto fail;
		err = add_obj(req, "request_put", r);
		break;
	case ZH_ETCD_DELETE:
		err = add_obj(req, "request_delete_range", r);
		break;
	case ZH_ETCD_DELETE_PREFIX:
		if (zh_wire_prefix_end(key, strlen(key), &end))
			goto fail;
		err = add_b64(r, "range_end", end.data, end.len);
		free(end.data);
		if (err)
			goto fail;
		err = add_obj(req, "request_delete_range", r);
		break;
	default:
		goto fail;
	}
	if (err) {
		json_object_put(req);
		return NULL;
	}
	return req;
fail:
	json_object_put(r);
	json_object_put(req);
	return NULL;
}

char *zh_wire_txn_request(const struct zh_etcd_op *ops, size_t n)
{
	json_object *o = json_object_new_object(), *success = json_object_new_array();
	size_t i;

	if (!o || !success)
		goto fail;
	for (i = 0; i < n; i++) {
		json_object *op = txn_op(&ops[i]);

		if (!op || json_object_array_add(success, op)) {
			json_object_put(op);
			goto fail;
		}
	}
	if (add_obj(o, "success", success)) {
		success = NULL;
		goto fail;
	}
	return to_string(o);
fail:
	json_object_put(success);
	json_object_put(o);
	return NULL;
}

/* --- parsing ------------------------------------------------------------------ */

static int bad(struct zh_wire_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int bad(struct zh_wire_error *err, const char *fmt, ...)
{
	va_list ap;

	err->grpc_code = -1;
	err->http_code = 0;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* The whole buffer must be one JSON object (trailing whitespace allowed). */
static int parse_object(const char *buf, size_t len, json_object **out, struct zh_wire_error *err)
{
	enum json_tokener_error jerr;
	json_tokener *tok;
	json_object *o;
	size_t end;

	*out = NULL;
	if (len > ZH_WIRE_MAX_MSG)
		return bad(err, "message of %zu bytes is larger than %u", len, ZH_WIRE_MAX_MSG);
	while (len && isspace((unsigned char)buf[len - 1]))
		len--;
	if (!len)
		return bad(err, "empty message");
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!o || jerr != json_tokener_success) {
		json_object_put(o);
		if (jerr == json_tokener_continue)
			return bad(err, "truncated JSON");
		return bad(err, "invalid JSON at byte %zu: %s", end, json_tokener_error_desc(jerr));
	}
	if (end != len) {
		json_object_put(o);
		return bad(err, "trailing data after JSON at byte %zu", end);
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return bad(err, "not a JSON object");
	}
	*out = o;
	return 0;
}

/* Field getters: a missing or null field is the proto3 default; a field of
 * the wrong type is an error naming path.name.
 */
static json_object *field(json_object *o, const char *name)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, name, &v))
		return NULL;
	return v; /* NULL for JSON null */
}

static int get_i64(json_object *o, const char *path, const char *name, int64_t *out,
		   struct zh_wire_error *err)
{
	json_object *v = field(o, name);
	const char *s;
	char *end;
	long long n;

	*out = 0;
	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return bad(err, "%s%s: not an integer", path, name);
	s = json_object_get_string(v);
	if (!(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return bad(err, "%s%s: \"%.32s\" is not an integer", path, name, s);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || *end || (size_t)(end - s) != (size_t)json_object_get_string_len(v))
		return bad(err, "%s%s: \"%.32s\" is not a 64-bit integer", path, name, s);
	*out = n;
	return 0;
}

static int get_rev(json_object *o, const char *path, const char *name, int64_t *out,
		   struct zh_wire_error *err)
{
	int ret = get_i64(o, path, name, out, err);

	if (!ret && *out < 0)
		return bad(err, "%s%s: negative revision %lld", path, name, (long long)*out);
	return ret;
}

static int get_bool(json_object *o, const char *path, const char *name, bool *out,
		    struct zh_wire_error *err)
{
	json_object *v = field(o, name);

	*out = false;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(err, "%s%s: not a boolean", path, name);
	*out = json_object_get_boolean(v);
	return 0;
}

/* A string field, NULL when missing. */
static int get_string(json_object *o, const char *path, const char *name, const char **out,
		      size_t *len, struct zh_wire_error *err)
{
	json_object *v = field(o, name);

	*out = NULL;
	if (len)
		*len = 0;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return bad(err, "%s%s: not a string", path, name);
	*out = json_object_get_string(v);
	if (len)
		*len = json_object_get_string_len(v);
	return 0;
}

/* base64 bytes, "" when missing. */
static int get_bytes(json_object *o, const char *path, const char *name, char **data,
		     size_t *len, struct zh_wire_error *err)
{
	const char *s;
	size_t slen;
	int ret;

	*data = NULL;
	*len = 0;
	ret = get_string(o, path, name, &s, &slen, err);
	if (ret)
		return ret;
	*data = s ? zh_b64_decode(s, slen, len) : calloc(1, 1);
	if (!*data)
		return s ? bad(err, "%s%s: invalid base64", path, name) : -ENOMEM;
	return 0;
}

static int get_object(json_object *o, const char *path, const char *name, json_object **out,
		      struct zh_wire_error *err)
{
	json_object *v = field(o, name);

	*out = v;
	if (v && !json_object_is_type(v, json_type_object))
		return bad(err, "%s%s: not an object", path, name);
	return 0;
}

static int get_array(json_object *o, const char *path, const char *name, json_object **out,
		     size_t *n, struct zh_wire_error *err)
{
	json_object *v = field(o, name);

	*out = v;
	*n = 0;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return bad(err, "%s%s: not an array", path, name);
	*n = json_object_array_length(v);
	return 0;
}

static int get_header_revision(json_object *o, int64_t *rev, struct zh_wire_error *err)
{
	json_object *h;
	int ret;

	*rev = 0;
	ret = get_object(o, "", "header", &h, err);
	if (ret || !h)
		return ret;
	return get_rev(h, "header.", "revision", rev, err);
}

static void kv_free(struct zh_wire_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static int parse_kv(json_object *o, const char *path, bool with_value, struct zh_wire_kv *kv,
		    struct zh_wire_error *err)
{
	char p[64];
	int ret;

	memset(kv, 0, sizeof(*kv));
	if (!o || !json_object_is_type(o, json_type_object))
		return bad(err, "%s: not an object", path);
	snprintf(p, sizeof(p), "%s.", path);
	ret = get_bytes(o, p, "key", &kv->key, &kv->key_len, err);
	if (!ret && with_value)
		ret = get_bytes(o, p, "value", &kv->value, &kv->value_len, err);
	if (!ret)
		ret = get_rev(o, p, "mod_revision", &kv->mod_revision, err);
	if (ret)
		kv_free(kv);
	return ret;
}

/* The error fields are looked up without the leading dot. */
static int parse_error_obj(json_object *root, struct zh_wire_error *err)
{
	json_object *e = field(root, "error");
	const char *msg = NULL;
	int64_t code = 0, http = 0;
	int ret;

	if (!e)
		return bad(err, "no error field");
	if (json_object_is_type(e, json_type_object)) {
		/* stream error (grpc-gateway): {"grpc_code","http_code","message"} */
		ret = get_i64(e, "error.", "grpc_code", &code, err);
		if (!ret)
			ret = get_i64(e, "error.", "http_code", &http, err);
		if (!ret)
			ret = get_string(e, "error.", "message", &msg, NULL, err);
	} else if (json_object_is_type(e, json_type_string)) {
		ret = get_i64(root, "", "code", &code, err);
		if (!ret)
			ret = get_string(root, "", "message", &msg, NULL, err);
		if (!ret && (!msg || !*msg))
			msg = json_object_get_string(e);
	} else {
		return bad(err, "error: not a string or an object");
	}
	if (ret)
		return ret;
	if (code < 0 || code > 1000 || http < 0 || http > 999)
		return bad(err, "error: code out of range");
	err->grpc_code = (int)code;
	err->http_code = (int)http;
	snprintf(err->message, sizeof(err->message), "%s",
		 msg && *msg ? msg : "error without a message");
	return 0;
}

int zh_wire_parse_error(const char *buf, size_t len, struct zh_wire_error *err)
{
	json_object *root;
	int ret = parse_object(buf, len, &root, err);

	if (ret)
		return ret;
	ret = parse_error_obj(root, err);
	json_object_put(root);
	return ret;
}

/* -EPROTO with err filled when root is an error, 0 when it is not, or
 * -EBADMSG when it is a malformed one.
 */
static int check_error(json_object *root, struct zh_wire_error *err)
{
	int ret;

	if (!field(root, "error"))
		return 0;
	ret = parse_error_obj(root, err);
	return ret ? ret : -EPROTO;
}

void zh_wire_range_free(struct zh_wire_range *r)
{
	size_t i;

	for (i = 0; i < r->n_kvs; i++)
		kv_free(&r->kvs[i]);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

int zh_wire_parse_range(const char *buf, size_t len, struct zh_wire_range *out,
			struct zh_wire_error *err)
{
	json_object *root, *kvs;
	size_t i, n;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_object(buf, len, &root, err);
	if (ret)
		return ret;
	ret = check_error(root, err);
	if (!ret)
		ret = get_header_revision(root, &out->revision, err);
	if (!ret)
		ret = get_bool(root, "", "more", &out->more, err);
	if (!ret)
		ret = get_i64(root, "", "count", &out->count, err);
	if (!ret)
		ret = get_array(root, "", "kvs", &kvs, &n, err);
	if (ret)
		goto out;
	if (n) {
		out->kvs = calloc(n, sizeof(*out->kvs));
		if (!out->kvs) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		char path[32];

		snprintf(path, sizeof(path), "kvs[%zu]", i);
		ret = parse_kv(json_object_array_get_idx(kvs, i), path, true, &out->kvs[i], err);
		if (ret)
			goto out;
		out->n_kvs++;
	}
out:
	json_object_put(root);
	if (ret)
		zh_wire_range_free(out);
	return ret;
}

int zh_wire_parse_txn(const char *buf, size_t len, struct zh_wire_txn *out,
		      struct zh_wire_error *err)
{
	json_object *root, *responses;
	size_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_object(buf, len, &root, err);
	if (ret)
		return ret;
	ret = check_error(root, err);
	if (!ret)
		ret = get_header_revision(root, &out->revision, err);
	if (!ret)
		ret = get_bool(root, "", "succeeded", &out->succeeded, err);
	if (!ret)
		ret = get_array(root, "", "responses", &responses, &n, err);
	json_object_put(root);
	return ret;
}

int zh_wire_parse_auth(const char *buf, size_t len, char **token, struct zh_wire_error *err)
{
	json_object *root;
	const char *t;
	size_t tlen;
	size_t i;
	int ret;

	*token = NULL;
	ret = parse_object(buf, len, &root, err);
	if (ret)
		return ret;
	ret = check_error(root, err);
	if (!ret)
		ret = get_string(root, "", "token", &t, &tlen, err);
	if (ret)
		goto out;
	if (!t || !tlen) {
		ret = bad(err, "token: missing");
		goto out;
	}
	/* It goes into an HTTP header: printable ASCII only. */
	for (i = 0; i < tlen; i++) {
		if (t[i] < 0x21 || t[i] > 0x7e) {
			ret = bad(err, "token: byte %zu is not printable", i);
			goto out;
		}
	}
	*token = strdup(t);
	if (!*token)
		ret = -ENOMEM;
out:
	json_object_put(root);
	return ret;
}

void zh_wire_watch_free(struct zh_wire_watch *w)
{
	size_t i;

	for (i = 0; i < w->n_events; i++)
		kv_free(&w->events[i]);
	free(w->events);
	memset(w, 0, sizeof(*w));
}

static int parse_event(json_object *ev, const char *path, struct zh_wire_kv *kv,
		       struct zh_wire_error *err)
{
	json_object *type, *kvo;
	bool is_delete = false;
	char kvpath[48], p[48];
	int ret;

	memset(kv, 0, sizeof(*kv));
	if (!ev || !json_object_is_type(ev, json_type_object))
		return bad(err, "%s: not an object", path);
	type = field(ev, "type");
	if (type && json_object_is_type(type, json_type_string)) {
		const char *t = json_object_get_string(type);

		if (!strcmp(t, "DELETE"))
			is_delete = true;
		else if (strcmp(t, "PUT"))
			return bad(err, "%s.type: unknown event type \"%.32s\"", path, t);
	} else if (type && json_object_is_type(type, json_type_int)) {
		int64_t t = json_object_get_int64(type);

		if (t != 0 && t != 1)
			return bad(err, "%s.type: unknown event type %lld", path, (long long)t);
		is_delete = t == 1;
	} else if (type) {
		return bad(err, "%s.type: not a string", path);
	}
	snprintf(p, sizeof(p), "%s.", path);
	ret = get_object(ev, p, "kv", &kvo, err);
	if (ret)
		return ret;
	if (!kvo)
		return bad(err, "%s.kv: missing", path);
	snprintf(kvpath, sizeof(kvpath), "%s.kv", path);
	ret = parse_kv(kvo, kvpath, !is_delete, kv, err);
	if (ret)
		return ret;
	if (!kv->key_len) {
		kv_free(kv);
		return bad(err, "%s.kv.key: empty", path);
	}
	return 0;
}

int zh_wire_parse_watch(const char *buf, size_t len, struct zh_wire_watch *out,
			struct zh_wire_error *err)
{
	json_object *root, *result, *events;
	const char *reason;
	size_t i, n;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = parse_object(buf, len, &root, err);
	if (ret)
		return ret;
	ret = check_error(root, err);
	if (ret)
		goto out;
	ret = get_object(root, "", "result", &result, err);
	if (ret)
		goto out;
	if (!result) {
		ret = bad(err, "result: missing");
		goto out;
	}
	ret = get_header_revision(result, &out->revision, err);
	if (!ret)
		ret = get_i64(result, "", "watch_id", &out->watch_id, err);
	if (!ret)
		ret = get_bool(result, "", "created", &out->created, err);
	if (!ret)
		ret = get_bool(result, "", "canceled", &out->canceled, err);
	if (!ret)
		ret = get_rev(result, "", "compact_revision", &out->compact_revision, err);
	if (!ret)
		ret = get_string(result, "", "cancel_reason", &reason, NULL, err);
	if (!ret)
		ret = get_array(result, "", "events", &events, &n, err);
	if (ret)
		goto out;
	snprintf(out->cancel_reason, sizeof(out->cancel_reason), "%s", reason ? reason : "");
	if (n) {
		out->events = calloc(n, sizeof(*out->events));
		if (!out->events) {
			ret = -ENOMEM;
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		char path[32];

		snprintf(path, sizeof(path), "events[%zu]", i);
		ret = parse_event(json_object_array_get_idx(events, i), path, &out->events[i], err);
		if (ret)
			goto out;
		out->n_events++;
	}
out:
	json_object_put(root);
	if (ret)
		zh_wire_watch_free(out);
	return ret;
}

int zh_wire_errno(int grpc_code)
{
	switch (grpc_code) {
	case ZH_GRPC_INVALID_ARGUMENT:
		return -EINVAL;
	case ZH_GRPC_DEADLINE_EXCEEDED:
		return -ETIMEDOUT;
	case ZH_GRPC_NOT_FOUND:
		return -ENOENT;
	case ZH_GRPC_PERMISSION_DENIED:
	case ZH_GRPC_UNAUTHENTICATED:
		return -EACCES;
	case ZH_GRPC_RESOURCE_EXHAUSTED:
		return -EBUSY;
	case ZH_GRPC_FAILED_PRECONDITION:
		return -EPERM;
	case ZH_GRPC_OUT_OF_RANGE:
		return -ERANGE;
	case ZH_GRPC_UNAVAILABLE:
		return -EAGAIN;
	default:
		return -EPROTO;
	}
}

/* --- auth admin ------------------------------------------------------------------ */

char *zh_wire_strings_request(const char *name1, const char *val1, const char *name2,
			      const char *val2)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if ((name1 && add_obj(o, name1, json_object_new_string(val1 ? val1 : ""))) ||
	    (name2 && add_obj(o, name2, json_object_new_string(val2 ? val2 : "")))) {
		json_object_put(o);
		return NULL;
	}
	return to_string(o);
}

/* key and, unless "", range_end, base64. */
static int add_key_range(json_object *o, const char *key, const char *range_end)
{
	if (add_b64(o, "key", key, strlen(key)))
		return -ENOMEM;
	if (range_end && *range_end && add_b64(o, "range_end", range_end, strlen(range_end)))
		return -ENOMEM;
	return 0;
}

char *zh_wire_role_grant_request(const char *role, const struct zh_etcd_perm *perm)
{
	static const char *const types[] = {"READ", "WRITE", "READWRITE"};
	json_object *o = json_object_new_object(), *p = json_object_new_object();

	if (!o || !p || (unsigned int)perm->type > ZH_ETCD_PERM_READWRITE)
		goto fail;
	if (add_obj(p, "permType", json_object_new_string(types[perm->type])) ||
	    add_key_range(p, perm->key, perm->range_end))
		goto fail;
	if (add_obj(o, "name", json_object_new_string(role)))
		goto fail;
	if (add_obj(o, "perm", p)) {
		p = NULL;
		goto fail;
	}
	return to_string(o);
fail:
	json_object_put(p);
	json_object_put(o);
	return NULL;
}

char *zh_wire_role_revoke_request(const char *role, const char *key, const char *range_end)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	if (add_obj(o, "role", json_object_new_string(role)) ||
	    add_key_range(o, key, range_end)) {
		json_object_put(o);
		return NULL;
	}
	return to_string(o);
}

int zh_wire_parse_ok(const char *buf, size_t len, struct zh_wire_error *err)
{
	json_object *root;
	int64_t rev;
	int ret = parse_object(buf, len, &root, err);

	if (ret)
		return ret;
	ret = check_error(root, err);
	if (!ret)
		ret = get_header_revision(root, &rev, err);
	json_object_put(root);
	return ret;
}

void zh_etcd_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

int zh_wire_parse_strings(const char *buf, size_t len, const char *field_name, char ***out,
			  size_t *n, struct zh_wire_error *err)
{
	json_object *root, *arr;
	size_t i, count = 0;
	char **v = NULL;
	int ret;

	*out = NULL;
	*n = 0;
	ret = parse_object(buf, len, &root, err);
	if (ret)
		return ret;
	ret = check_error(root, err);
	if (!ret)
		ret = get_array(root, "", field_name, &arr, &count, err);
	if (ret)
		goto out;
	v = calloc(count ? count : 1, sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < count; i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		if (!json_object_is_type(s, json_type_string)) {
			ret = bad(err, "%s[%zu]: not a string", field_name, i);
			goto out;
		}
		v[i] = strdup(json_object_get_string(s));
		if (!v[i]) {
			ret = -ENOMEM;
			goto out;
		}
	}
	*out = v;
	*n = count;
	v = NULL;
out:
	zh_etcd_strv_free(v, count);
	json_object_put(root);
	return ret;
}

void zh_etcd_perms_free(struct zh_etcd_perm *perms, size_t n)
{
	size_t i;

	for (i = 0; perms && i < n; i++) {
		free(perms[i].key);
		free(perms[i].range_end);
	}
	free(perms);
}

/* permType: proto3 JSON leaves out READ (0); names or numbers otherwise. */
static int get_perm_type(json_object *o, const char *path, enum zh_etcd_perm_type *out,
			 struct zh_wire_error *err)
{
	static const char *const names[] = {"READ", "WRITE", "READWRITE"};
	json_object *v = field(o, "permType");
	size_t i;

	*out = ZH_ETCD_PERM_READ;
	if (!v)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		int64_t t = json_object_get_int64(v);

		if (t < 0 || t > ZH_ETCD_PERM_READWRITE)
			return bad(err, "%spermType: unknown type %lld", path, (long long)t);
		*out = t;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return bad(err, "%spermType: not a string", path);
	for (i = 0; i < 3; i++) {
		if (!strcmp(json_object_get_string(v), names[i])) {
			*out = i;
			return 0;
		}
	}
	return bad(err, "%spermType: unknown type \"%.32s\"", path, json_object_get_string(v));
}

int zh_wire_parse_perms(const char *buf, size_t len, struct zh_etcd_perm **out, size_t *n,
			struct zh_wire_error *err)
{
	struct zh_etcd_perm *perms = NULL;
	json_object *root, *arr;
	size_t i, count = 0, done = 0, klen;
	int ret;

	*out = NULL;
	*n = 0;
	ret = parse_object(buf, len, &root, err);
	if (ret)
		return ret;
	ret = check_error(root, err);
	if (!ret)
		ret = get_array(root, "", "perm", &arr, &count, err);
	if (ret)
		goto out;
	perms = calloc(count ? count : 1, sizeof(*perms));
	if (!perms) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < count; i++) {
		json_object *p = json_object_array_get_idx(arr, i);
		char path[32];

		snprintf(path, sizeof(path), "perm[%zu].", i);
		if (!json_object_is_type(p, json_type_object)) {
			ret = bad(err, "perm[%zu]: not an object", i);
			goto out;
		}
		done = i + 1;
		ret = get_perm_type(p, path, &perms[i].type, err);
		if (!ret)
			ret = get_bytes(p, path, "key", &perms[i].key, &klen, err);
		if (!ret)
			ret = get_bytes(p, path, "range_end", &perms[i].range_end, &klen, err);
		if (ret)
			goto out;
	}
	*out = perms;
	*n = count;
	perms = NULL;
out:
	zh_etcd_perms_free(perms, done);
	json_object_put(root);
	return ret;
}
