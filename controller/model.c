// SPDX-License-Identifier: GPL-2.0-only
/* The v1 data model: keys, record values and intent files (model.h,
 * docs/controller-api.md).
 *
 * One set of field checks serves both entry points. A record value is
 * checked alone and the first problem is reported as "<key>: <field>:
 * <reason>"; an intent document is checked as a whole and every problem is
 * collected as "<JSON path>: <reason>".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "model.h"
#include "zh_shared.h"

#define KEY_ROOT_LEN (sizeof(ZH_KEY_ROOT) - 1)
/* An intent file larger than this is refused rather than read. */
#define INTENT_MAX_BYTES (1ul << 30)

const char *zh_rec_kind_name(enum zh_rec_kind kind)
{
	switch (kind) {
	case ZH_REC_NETWORK:
		return "network";
	case ZH_REC_ENDPOINT:
		return "endpoint";
	case ZH_REC_ROUTE:
		return "route";
	case ZH_REC_HOST:
		return "host";
	case ZH_REC_PORT:
		return "port";
	case ZH_REC_EXPORT:
		return "export";
	case ZH_REC_PEERING:
		return "peering";
	case ZH_REC_PUB_META:
		return "published meta";
	case ZH_REC_PUB_ENDPOINT:
		return "published endpoint";
	case ZH_REC_PUB_ROUTE:
		return "published route";
	case ZH_REC_EFFECTIVE:
		return "effective route";
	default:
		return "other";
	}
}

const char *zh_route_origin_name(unsigned int origin)
{
	switch (origin) {
	case ZH_ORIGIN_LOCAL:
		return "local";
	case ZH_ORIGIN_PEER:
		return "peer";
	default:
		return "?";
	}
}

const char *zh_conflict_rule_name(unsigned int rule)
{
	switch (rule) {
	case ZH_RULE_ONLY:
		return "only";
	case ZH_RULE_LOCAL:
		return "local";
	case ZH_RULE_PREFERENCE:
		return "preference";
	case ZH_RULE_NETWORK_ID:
		return "network-id";
	default:
		return "?";
	}
}

static const struct {
	const char *name;
	unsigned int bit;
} protocol_names[] = {
	{"tcp", ZH_PROTO_TCP},
	{"udp", ZH_PROTO_UDP},
	{"icmp", ZH_PROTO_ICMP},
};

/* The protocols a policy can name; the rest is ZH_PROTO_OTHER. */
#define NAMED_PROTOS (ZH_PROTO_TCP | ZH_PROTO_UDP | ZH_PROTO_ICMP)

/* A protocols value a record can hold: ANY, or some named ones. */
static bool protocols_ok(unsigned int p)
{
	return p == ZH_PROTO_ANY || (p && !(p & ~NAMED_PROTOS));
}

const char *zh_protocols_str(unsigned int protocols, char *buf, size_t size)
{
	size_t i, o = 0;

	if (size)
		buf[0] = 0;
	if (protocols == ZH_PROTO_ANY) {
		snprintf(buf, size, "any");
		return buf;
	}
	for (i = 0; i < sizeof(protocol_names) / sizeof(protocol_names[0]); i++)
		if ((protocols & protocol_names[i].bit) && o < size)
			o += snprintf(buf + o, size - o, "%s%s", o ? "," : "",
				      protocol_names[i].name);
	return buf;
}

/* --- error reporting ------------------------------------------------------- */

static void errors_add(struct zh_errors *errs, const char *msg)
{
	if (errs->n == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 16;
		char(*m)[ZH_ERR_MAX] = realloc(errs->msg, cap * sizeof(*m));

		if (!m)
			return; /* the caller still fails: report->n counts it */
		errs->msg = m;
		errs->cap = cap;
	}
	snprintf(errs->msg[errs->n++], ZH_ERR_MAX, "%s", msg);
}

void zh_errors_free(struct zh_errors *errs)
{
	if (!errs)
		return;
	free(errs->msg);
	errs->msg = NULL;
	errs->n = errs->cap = 0;
}

/* Where problems go. A record keeps the first one in err as "obj: field:
 * reason"; an intent (intent true) collects all as "obj.field: reason". obj
 * names the object being checked: "networks/a" or "$.networks[0]".
 */
struct report {
	const char *obj;
	bool intent;
	char *err;
	size_t errlen;
	struct zh_errors *errs;
	size_t n;
};

static void __attribute__((format(printf, 3, 4)))
reportf(struct report *r, const char *field, const char *fmt, ...)
{
	char reason[ZH_ERR_MAX], msg[ZH_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (r->intent) {
		if (!field)
			snprintf(msg, sizeof(msg), "%s: %s", r->obj, reason);
		else
			snprintf(msg, sizeof(msg), "%s%s%s: %s", r->obj, field[0] == '[' ? "" : ".",
				 field, reason);
		if (r->errs)
			errors_add(r->errs, msg);
	} else if (r->n == 0 && r->err && r->errlen) {
		if (!field)
			snprintf(r->err, r->errlen, "%s: %s", r->obj, reason);
		else
			snprintf(r->err, r->errlen, "%s: %s: %s", r->obj, field, reason);
	}
	r->n++;
}

/* s[0..len) for a message: quoted, control and non-ASCII bytes as \xNN,
 * cut at about 64 characters. Input may hold anything (etcd keys, values).
 */
static const char *quote(char *buf, size_t size, const char *s, size_t len)
{
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; i < len && o + 8 < size && o < 64; i++) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\')
			o += snprintf(buf + o, size - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = c;
	}
	if (i < len)
		o += snprintf(buf + o, size - o, "...");
	snprintf(buf + o, size - o, "\"");
	return buf;
}

#define QBUF 96
#define Q(buf, s) quote(buf, sizeof(buf), s, strlen(s))

/* --- scalar syntax ----------------------------------------------------------- */

static uint32_t prefix_mask(uint8_t len)
{
	return len ? htonl(~0u << (32 - len)) : 0;
}

/* Canonical dotted quad only (no leading zeros, four parts). */
static int parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	char buf[INET_ADDRSTRLEN];
	struct in_addr a;

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	if (strlen(buf) != len || inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	*out = a.s_addr;
	return 0;
}

/* The addresses a VM or a host can have (as the CLI: loader/parse.c). */
static bool ipv4_is_unicast(uint32_t be)
{
	const uint8_t *b = (const uint8_t *)&be;

	return !(b[0] == 0 || b[0] == 127 || b[0] >= 224);
}

static const char *ipv4_str(uint32_t be, char buf[INET_ADDRSTRLEN])
{
	return inet_ntop(AF_INET, &be, buf, INET_ADDRSTRLEN);
}

/* Decimal 0..32 without leading zeros. */
static int parse_prefix_len(const char *s, size_t len, uint8_t *out)
{
	unsigned int v = 0;
	size_t i;

	if (len == 0 || len > 2 || (len == 2 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > 32)
		return -EINVAL;
	*out = v;
	return 0;
}

/* a.b.c.d/len: -EINVAL when malformed, -EDOM when host bits are set
 * (c->addr then holds the address as written).
 */
static int parse_cidr(const char *s, size_t len, struct zh_cidr *c)
{
	const char *slash = memchr(s, '/', len);

	if (!slash || parse_ipv4(s, slash - s, &c->addr) ||
	    parse_prefix_len(slash + 1, len - (slash - s) - 1, &c->len))
		return -EINVAL;
	if (c->addr & ~prefix_mask(c->len))
		return -EDOM;
	return 0;
}

static const char *cidr_str(const struct zh_cidr *c, char buf[INET_ADDRSTRLEN + 3])
{
	char a[INET_ADDRSTRLEN];

	snprintf(buf, INET_ADDRSTRLEN + 3, "%s/%u", ipv4_str(c->addr, a), c->len);
	return buf;
}

static bool cidr_contains(const struct zh_cidr *c, uint32_t ip)
{
	return ((ip ^ c->addr) & prefix_mask(c->len)) == 0;
}

static bool cidrs_overlap(const struct zh_cidr *a, const struct zh_cidr *b)
{
	return ((a->addr ^ b->addr) & prefix_mask(a->len < b->len ? a->len : b->len)) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* aa:bb:cc:dd:ee:ff, 1-2 hex digits a part, ':' or '-' (as the CLI). */
static int parse_mac(const char *s, size_t len, uint8_t mac[6])
{
	size_t p = 0;
	int i;

	for (i = 0; i < 6; i++) {
		int digits = 0, v = 0, h;

		while (p < len && digits < 3 && (h = hexval(s[p])) >= 0) {
			v = v * 16 + h;
			p++;
			digits++;
		}
		if (digits == 0 || digits > 2)
			return -EINVAL;
		mac[i] = v;
		if (i < 5) {
			if (p >= len || (s[p] != ':' && s[p] != '-'))
				return -EINVAL;
			p++;
		}
	}
	return p == len ? 0 : -EINVAL;
}

static bool mac_is_unicast(const uint8_t mac[6])
{
	return !(mac[0] & 1) && (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static const char *mac_str(const uint8_t m[6], char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

/* Network and host names: [a-z0-9][a-z0-9._-]{0,62}. */
static bool name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > ZH_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '-'))
			continue;
		return false;
	}
	return true;
}

/* A Linux interface name (dev_valid_name): 1..15 bytes, not "." or "..",
 * no '/', ':' or whitespace; control characters are refused too.
 */
static bool ifname_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= ZH_IFNAMSIZ || (len == 1 && s[0] == '.') ||
	    (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == '/' || c == ':' || isspace(c) || c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static int parse_encap(const char *s, uint8_t *out)
{
	if (!strcmp(s, "vxlan"))
		*out = ZH_ENCAP_VXLAN;
	else if (!strcmp(s, "geneve"))
		*out = ZH_ENCAP_GENEVE;
	else
		return -EINVAL;
	return 0;
}

static const char *encap_str(uint8_t encap)
{
	return encap == ZH_ENCAP_GENEVE ? "geneve" : "vxlan";
}

#define NAME_RULE "[a-z0-9][a-z0-9._-]*, at most 63 characters"
#define IFNAME_RULE "1-15 characters, no '/', ':', space or control character"

/* --- JSON fields ------------------------------------------------------------ */

static const char *jtype_name(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a fractional number";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "something else";
}

static const char *jtype_want(json_type t)
{
	switch (t) {
	case json_type_boolean:
		return "true or false";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	default:
		return "something else";
	}
}

/* Field f of o, of type t: 1 and *out; 0 when absent (or null and
 * optional; reported when required); -EINVAL on the wrong type (reported).
 */
static int get_field(struct report *r, json_object *o, const char *f, json_type t, bool required,
		     json_object **out)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, f, &v) || (!v && !required)) {
		if (required) {
			reportf(r, f, "required field missing");
			return -EINVAL;
		}
		return 0;
	}
	if (json_object_get_type(v) != t) {
		reportf(r, f, "expected %s, got %s", jtype_want(t), jtype_name(v));
		return -EINVAL;
	}
	*out = v;
	return 1;
}

/* A JSON string without NUL bytes: 0, or -EINVAL (reported under field). */
static int string_of(struct report *r, const char *field, json_object *v, const char **s,
		     size_t *len)
{
	char q[QBUF];

	*s = json_object_get_string(v);
	*len = json_object_get_string_len(v);
	if (strlen(*s) != *len) {
		reportf(r, field, "%s contains a NUL character", quote(q, sizeof(q), *s, *len));
		return -EINVAL;
	}
	return 0;
}

/* Field types. Each returns 1 (set), 0 (absent and optional) or -EINVAL. */

static int field_str(struct report *r, json_object *o, const char *f, bool required,
		     const char **s, size_t *len)
{
	json_object *v;
	int ret = get_field(r, o, f, json_type_string, required, &v);

	if (ret <= 0)
		return ret;
	return string_of(r, f, v, s, len) ?: 1;
}

static int check_name(struct report *r, const char *f, const char *what, const char *s,
		      size_t len, char out[ZH_NAME_MAX + 1])
{
	char q[QBUF];

	if (!name_ok(s, len)) {
		reportf(r, f, "%s is not a valid %s name (" NAME_RULE ")",
			quote(q, sizeof(q), s, len), what);
		return -EINVAL;
	}
	memcpy(out, s, len);
	out[len] = 0;
	return 0;
}

static int field_name(struct report *r, json_object *o, const char *f, bool required,
		      const char *what, char out[ZH_NAME_MAX + 1])
{
	const char *s;
	size_t len;
	int ret = field_str(r, o, f, required, &s, &len);

	if (ret <= 0)
		return ret;
	return check_name(r, f, what, s, len, out) ?: 1;
}

/* An address of a VM or a host: unicast. */
static int field_ip(struct report *r, json_object *o, const char *f, bool required,
		    uint32_t *out)
{
	char q[QBUF];
	const char *s;
	size_t len;
	uint32_t ip;
	int ret = field_str(r, o, f, required, &s, &len);

	if (ret <= 0)
		return ret;
	if (parse_ipv4(s, len, &ip)) {
		reportf(r, f, "%s is not an IPv4 address (a.b.c.d)", quote(q, sizeof(q), s, len));
		return -EINVAL;
	}
	if (!ipv4_is_unicast(ip)) {
		reportf(r, f, "%s is not a unicast address", s);
		return -EINVAL;
	}
	*out = ip;
	return 1;
}

static int check_cidr(struct report *r, const char *f, const char *s, size_t len,
		      struct zh_cidr *out)
{
	char q[QBUF], c[INET_ADDRSTRLEN + 3];
	int err = parse_cidr(s, len, out);

	if (err == -EDOM) {
		out->addr &= prefix_mask(out->len);
		reportf(r, f, "%s has host bits set (the prefix is %s)", s, cidr_str(out, c));
		return -EINVAL;
	}
	if (err) {
		reportf(r, f, "%s is not a CIDR prefix (a.b.c.d/len, len 0-32)",
			quote(q, sizeof(q), s, len));
		return -EINVAL;
	}
	return 0;
}

static int field_mac(struct report *r, json_object *o, const char *f, bool required,
		     uint8_t mac[6])
{
	char q[QBUF];
	const char *s;
	size_t len;
	uint8_t m[6];
	int ret = field_str(r, o, f, required, &s, &len);

	if (ret <= 0)
		return ret;
	if (parse_mac(s, len, m)) {
		reportf(r, f, "%s is not a MAC address (aa:bb:cc:dd:ee:ff)",
			quote(q, sizeof(q), s, len));
		return -EINVAL;
	}
	if (!mac_is_unicast(m)) {
		reportf(r, f, "%s is not a unicast MAC address", s);
		return -EINVAL;
	}
	memcpy(mac, m, 6);
	return 1;
}

static int field_encap(struct report *r, json_object *o, const char *f, uint8_t *out)
{
	char q[QBUF];
	const char *s;
	size_t len;
	int ret = field_str(r, o, f, false, &s, &len);

	if (ret <= 0)
		return ret;
	if (parse_encap(s, out)) {
		reportf(r, f, "unknown encap %s (vxlan or geneve)", quote(q, sizeof(q), s, len));
		return -EINVAL;
	}
	return 1;
}

static int field_vni(struct report *r, json_object *o, const char *f, uint32_t *out)
{
	json_object *v;
	int64_t vni;
	int ret = get_field(r, o, f, json_type_int, true, &v);

	if (ret <= 0)
		return -EINVAL;
	vni = json_object_get_int64(v);
	if (vni < 1 || vni > ZH_VNI_MAX) {
		/* json-c clamps what does not fit in an int64 */
		if (vni == INT64_MAX || vni == INT64_MIN)
			reportf(r, f, "VNI out of range 1..%u", ZH_VNI_MAX);
		else
			reportf(r, f, "VNI %lld out of range 1..%u", (long long)vni, ZH_VNI_MAX);
		return -EINVAL;
	}
	*out = vni;
	return 1;
}

static int field_bool(struct report *r, json_object *o, const char *f, bool *out)
{
	json_object *v;
	int ret = get_field(r, o, f, json_type_boolean, false, &v);

	if (ret > 0)
		*out = json_object_get_boolean(v);
	return ret;
}

#define PLAIN_FIELD_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"

/* Unknown fields: an error in an intent (operator input), ignored in a
 * record value (a newer writer).
 */
static int check_known_fields(struct report *r, json_object *o, const char *const *known)
{
	char q[QBUF];
	int err = 0;

	json_object_object_foreach(o, k, v) {
		const char *const *n;

		(void)v;
		for (n = known; *n && strcmp(*n, k); n++)
			;
		if (!*n) {
			/* a plain name goes into the path, anything else is quoted */
			if (k[0] && strspn(k, PLAIN_FIELD_CHARS) == strlen(k))
				reportf(r, k, "unknown field");
			else
				reportf(r, NULL, "unknown field %s", Q(q, k));
			err = -EINVAL;
		}
	}
	return err;
}

/* --- record values ------------------------------------------------------------ */

/* An array field of prefixes that do not overlap, min..max of them (min
 * 0: optional). Returns 0 (also when absent and optional) or -EINVAL.
 */
static int parse_prefix_array(struct report *r, json_object *o, const char *field, size_t min,
			      size_t max, struct zh_cidr *out, uint8_t *n_out)
{
	char f[48], a[INET_ADDRSTRLEN + 3];
	json_object *arr;
	size_t i, j, n, before = r->n;
	int ret;

	*n_out = 0;
	ret = get_field(r, o, field, json_type_array, min > 0, &arr);
	if (ret <= 0)
		return ret;
	n = json_object_array_length(arr);
	if (n < min || n > max) {
		if (min)
			reportf(r, field, "needs %zu to %zu prefixes, got %zu", min, max, n);
		else
			reportf(r, field, "at most %zu prefixes, got %zu", max, n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		struct zh_cidr c;
		const char *s;
		size_t len;

		snprintf(f, sizeof(f), "%s[%zu]", field, i);
		if (json_object_get_type(v) != json_type_string) {
			reportf(r, f, "expected a string, got %s", jtype_name(v));
			continue;
		}
		if (string_of(r, f, v, &s, &len) || check_cidr(r, f, s, len, &c))
			continue;
		for (j = 0; j < *n_out; j++) {
			if (cidrs_overlap(&c, &out[j])) {
				reportf(r, f, "%s overlaps %s", s, cidr_str(&out[j], a));
				break;
			}
		}
		if (j == *n_out)
			out[(*n_out)++] = c;
	}
	return r->n == before ? 0 : -EINVAL;
}

/* "cidrs": required, 1..ZH_NET_CIDRS_MAX prefixes that do not overlap. */
static int parse_cidrs(struct report *r, json_object *o, struct zh_rec_network *net)
{
	return parse_prefix_array(r, o, "cidrs", 1, ZH_NET_CIDRS_MAX, net->cidrs, &net->n_cidrs);
}

/* {"vni":N,"cidrs":[..]} */
static int parse_network_value(struct report *r, json_object *o, struct zh_rec_network *net)
{
	size_t before = r->n;

	field_vni(r, o, "vni", &net->vni);
	parse_cidrs(r, o, net);
	return r->n == before ? 0 : -EINVAL;
}

/* {"mac","host","host_ip","encap"?}. In an intent host_ip is not given:
 * it comes from the host's entry.
 */
static int parse_endpoint_value(struct report *r, json_object *o, struct zh_rec_endpoint *ep,
				bool intent)
{
	size_t before = r->n;

	field_mac(r, o, "mac", true, ep->mac);
	field_name(r, o, "host", true, "host", ep->host);
	if (!intent)
		field_ip(r, o, "host_ip", true, &ep->host_ip);
	ep->encap = 0;
	field_encap(r, o, "encap", &ep->encap);
	return r->n == before ? 0 : -EINVAL;
}

/* {"host","host_ip","encap"?} or {"drop":true}. */
static int parse_route_value(struct report *r, json_object *o, struct zh_rec_route *rt,
			     bool intent)
{
	size_t before = r->n;
	int has_host, has_encap;

	rt->drop = false;
	rt->encap = 0;
	field_bool(r, o, "drop", &rt->drop);
	has_host = field_name(r, o, "host", false, "host", rt->host);
	has_encap = field_encap(r, o, "encap", &rt->encap);
	if (rt->drop) {
		if (has_host > 0)
			reportf(r, "host", "not allowed with \"drop\": true");
		if (has_encap > 0)
			reportf(r, "encap", "not allowed with \"drop\": true");
	} else if (has_host == 0) {
		reportf(r, NULL, "needs \"host\" (where the prefix is) or \"drop\": true");
	} else if (!intent) {
		field_ip(r, o, "host_ip", true, &rt->host_ip);
	}
	return r->n == before ? 0 : -EINVAL;
}

/* {"underlay","networks"?,"encap"?}. */
static int parse_host_value(struct report *r, json_object *o, struct zh_rec_host *h)
{
	json_object *arr;
	size_t i, j, n, before = r->n;
	char f[32];

	field_ip(r, o, "underlay", true, &h->underlay);
	h->encap = 0;
	field_encap(r, o, "encap", &h->encap);
	h->n_networks = 0;
	if (get_field(r, o, "networks", json_type_array, false, &arr) <= 0)
		return r->n == before ? 0 : -EINVAL;
	n = json_object_array_length(arr);
	if (n > ZH_HOST_NETWORKS_MAX) {
		reportf(r, "networks", "at most %d networks, got %zu", ZH_HOST_NETWORKS_MAX, n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		char *name = h->networks[h->n_networks];
		const char *s;
		size_t len;

		snprintf(f, sizeof(f), "networks[%zu]", i);
		if (json_object_get_type(v) != json_type_string) {
			reportf(r, f, "expected a string, got %s", jtype_name(v));
			continue;
		}
		if (string_of(r, f, v, &s, &len) || check_name(r, f, "network", s, len, name))
			continue;
		for (j = 0; j < h->n_networks && strcmp(h->networks[j], name); j++)
			;
		if (j < h->n_networks) {
			reportf(r, f, "network \"%s\" is listed twice", name);
			continue;
		}
		h->n_networks++;
	}
	return r->n == before ? 0 : -EINVAL;
}

/* {"network","mac","ip"}. */
static int parse_port_value(struct report *r, json_object *o, struct zh_rec_port *p)
{
	size_t before = r->n;

	field_name(r, o, "network", true, "network", p->network);
	field_mac(r, o, "mac", true, p->mac);
	field_ip(r, o, "ip", true, &p->ip);
	return r->n == before ? 0 : -EINVAL;
}

/* --- peering values ------------------------------------------------------------ */

/* "protocols": names from protocol_names, each once, at least one.
 * Absent: every IP protocol (ZH_PROTO_ANY). 0 or -EINVAL.
 */
static int parse_protocols(struct report *r, json_object *o, uint8_t *out)
{
	json_object *arr;
	size_t i, j, n, before = r->n;
	char f[32], q[QBUF];
	int ret;

	*out = ZH_PROTO_ANY;
	ret = get_field(r, o, "protocols", json_type_array, false, &arr);
	if (ret <= 0)
		return ret;
	n = json_object_array_length(arr);
	if (n == 0) {
		reportf(r, "protocols",
			"needs at least one of tcp, udp, icmp (leave it out for every protocol)");
		return -EINVAL;
	}
	*out = 0;
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		const char *s;
		size_t len;

		snprintf(f, sizeof(f), "protocols[%zu]", i);
		if (json_object_get_type(v) != json_type_string) {
			reportf(r, f, "expected a string, got %s", jtype_name(v));
			continue;
		}
		if (string_of(r, f, v, &s, &len))
			continue;
		for (j = 0; j < sizeof(protocol_names) / sizeof(protocol_names[0]); j++)
			if (!strcmp(s, protocol_names[j].name))
				break;
		if (j == sizeof(protocol_names) / sizeof(protocol_names[0])) {
			reportf(r, f, "unknown protocol %s (tcp, udp or icmp)",
				quote(q, sizeof(q), s, len));
			continue;
		}
		if (*out & protocol_names[j].bit) {
			reportf(r, f, "protocol \"%s\" is listed twice", s);
			continue;
		}
		*out |= protocol_names[j].bit;
	}
	if (r->n != before) {
		*out = 0;
		return -EINVAL;
	}
	return 0;
}

/* {"prefixes"?,"protocols"?}. */
static int parse_export_value(struct report *r, json_object *o, struct zh_rec_export *exp)
{
	size_t before = r->n;

	parse_prefix_array(r, o, "prefixes", 0, ZH_EXPORT_PREFIXES_MAX, exp->prefixes,
			   &exp->n_prefixes);
	parse_protocols(r, o, &exp->protocols);
	return r->n == before ? 0 : -EINVAL;
}

/* {"vni","prefixes","protocols"?}: protocols as in an export. */
static int parse_meta_value(struct report *r, json_object *o, struct zh_rec_pub_meta *m)
{
	size_t before = r->n;

	field_vni(r, o, "vni", &m->vni);
	parse_prefix_array(r, o, "prefixes", 1, ZH_EXPORT_PREFIXES_MAX, m->scope.prefixes,
			   &m->scope.n_prefixes);
	parse_protocols(r, o, &m->scope.protocols);
	return r->n == before ? 0 : -EINVAL;
}

/* An absolute path without control characters, shorter than size. */
static int field_path(struct report *r, json_object *o, const char *f, char *out, size_t size)
{
	char q[QBUF];
	const char *s;
	size_t len, i;
	int ret = field_str(r, o, f, false, &s, &len);

	if (ret <= 0)
		return ret;
	for (i = 0; i < len && (unsigned char)s[i] >= 0x20 && s[i] != 0x7f; i++)
		;
	if (len == 0 || s[0] != '/' || i < len) {
		reportf(r, f, "%s is not an absolute file path", quote(q, sizeof(q), s, len));
		return -EINVAL;
	}
	if (len >= size) {
		reportf(r, f, "path longer than %zu characters", size - 1);
		return -EINVAL;
	}
	memcpy(out, s, len + 1);
	return 1;
}

/* An etcd client URL as zh_etcd_open takes it: http://h:p, https://h:p or
 * h:p; printable, no space, ',', '"' or '\'.
 */
static bool url_ok(const char *s, size_t len)
{
	const char *sep;
	size_t i;

	if (len == 0 || len > 255)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c <= 0x20 || c >= 0x7f || c == ',' || c == '"' || c == '\\')
			return false;
	}
	sep = strstr(s, "://");
	if (sep && strncmp(s, "http://", 7) && strncmp(s, "https://", 8))
		return false;
	return !sep || (size_t)(sep - s) + 3 < len;
}

/* "peer_shard": URLs, joined with ',' into out. */
static int parse_peer_shard(struct report *r, json_object *o, char out[ZH_PEER_SHARD_MAX])
{
	json_object *arr;
	size_t i, n, o_len = 0, before = r->n;
	char f[32], q[QBUF];
	int ret;

	out[0] = 0;
	ret = get_field(r, o, "peer_shard", json_type_array, false, &arr);
	if (ret <= 0)
		return ret;
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(arr, i);
		const char *s;
		size_t len;

		snprintf(f, sizeof(f), "peer_shard[%zu]", i);
		if (json_object_get_type(v) != json_type_string) {
			reportf(r, f, "expected a string, got %s", jtype_name(v));
			continue;
		}
		if (string_of(r, f, v, &s, &len))
			continue;
		if (!url_ok(s, len)) {
			reportf(r, f, "%s is not an etcd URL (http://host:port or https://host:port)",
				quote(q, sizeof(q), s, len));
			continue;
		}
		if (o_len + len + 1 >= ZH_PEER_SHARD_MAX) {
			reportf(r, "peer_shard", "the URLs are longer than %d characters together",
				ZH_PEER_SHARD_MAX - 1);
			break;
		}
		o_len += snprintf(out + o_len, ZH_PEER_SHARD_MAX - o_len, "%s%s", o_len ? "," : "", s);
	}
	if (r->n != before) {
		out[0] = 0;
		return -EINVAL;
	}
	return 0;
}

/* {"peer_shard"?,"grant","preference"?,"user"?,"password_file"?,
 *  "peer_user"?,"peer_password_file"?}; p->peer comes from the key (or
 * the intent).
 */
static int parse_peering_value(struct report *r, json_object *o, struct zh_rec_peering *p)
{
	size_t before = r->n;
	json_object *v;
	int has_user, has_file, has_puser, has_pfile;

	parse_peer_shard(r, o, p->peer_shard);
	field_name(r, o, "grant", true, "export policy", p->grant);
	p->preference = ZH_PREFERENCE_DEFAULT;
	if (get_field(r, o, "preference", json_type_int, false, &v) > 0) {
		int64_t pref = json_object_get_int64(v);

		if (pref < 0 || pref > ZH_PREFERENCE_MAX)
			reportf(r, "preference", "%lld out of range 0..%d", (long long)pref,
				ZH_PREFERENCE_MAX);
		else
			p->preference = pref;
	}
	has_user = field_name(r, o, "user", false, "user", p->user);
	has_file = field_path(r, o, "password_file", p->password_file, sizeof(p->password_file));
	has_puser = field_name(r, o, "peer_user", false, "user", p->peer_user);
	has_pfile = field_path(r, o, "peer_password_file", p->peer_password_file,
			       sizeof(p->peer_password_file));
	if (has_user > 0 && has_file == 0)
		reportf(r, "password_file", "required with \"user\"");
	if (has_file > 0 && has_user == 0)
		reportf(r, "user", "required with \"password_file\"");
	if (has_puser > 0 && has_pfile == 0)
		reportf(r, "peer_password_file", "required with \"peer_user\"");
	if (has_pfile > 0 && has_puser == 0)
		reportf(r, "peer_user", "required with \"peer_password_file\"");
	return r->n == before ? 0 : -EINVAL;
}

static int field_enum(struct report *r, json_object *o, const char *f, const char *what,
		      const char *(*name)(unsigned int), unsigned int first, unsigned int last,
		      uint8_t *out)
{
	char q[QBUF];
	const char *s;
	size_t len;
	unsigned int v;
	int ret = field_str(r, o, f, true, &s, &len);

	if (ret <= 0)
		return -EINVAL;
	for (v = first; v <= last; v++) {
		if (!strcmp(s, name(v))) {
			*out = v;
			return 1;
		}
	}
	reportf(r, f, "unknown %s %s", what, quote(q, sizeof(q), s, len));
	return -EINVAL;
}

/* One origin of an effective route: {"origin","network","vni",
 * "preference"?, route fields, "rule"}.
 */
static int parse_eff_route(struct report *r, json_object *o, struct zh_eff_route *er)
{
	struct zh_rec_route rt = {0};
	size_t before = r->n;
	json_object *v;

	field_enum(r, o, "origin", "origin (local or peer)", zh_route_origin_name,
		   ZH_ORIGIN_LOCAL, ZH_ORIGIN_PEER, &er->origin);
	field_name(r, o, "network", true, "network", er->network);
	field_vni(r, o, "vni", &er->vni);
	er->preference = 0;
	if (get_field(r, o, "preference", json_type_int, false, &v) > 0) {
		int64_t pref = json_object_get_int64(v);

		if (pref < 0 || pref > ZH_PREFERENCE_MAX)
			reportf(r, "preference", "%lld out of range 0..%d", (long long)pref,
				ZH_PREFERENCE_MAX);
		else
			er->preference = pref;
	}
	parse_route_value(r, o, &rt, false);
	er->drop = rt.drop;
	er->encap = rt.encap;
	memcpy(er->host, rt.host, sizeof(er->host));
	er->host_ip = rt.host_ip;
	field_enum(r, o, "rule", "rule (only, local, preference or network-id)",
		   zh_conflict_rule_name, ZH_RULE_ONLY, ZH_RULE_NETWORK_ID, &er->rule);
	return r->n == before ? 0 : -EINVAL;
}

/* The winner's fields, "losers"?: [..], "losers_omitted"?: N. */
static int parse_effective_value(struct report *r, json_object *o, struct zh_rec_effective *eff)
{
	const char *obj = r->obj;
	char path[QBUF + 32];
	size_t before = r->n, i, n;
	json_object *arr, *v;

	parse_eff_route(r, o, &eff->winner);
	eff->n_losers = 0;
	eff->losers_omitted = 0;
	if (get_field(r, o, "losers_omitted", json_type_int, false, &v) > 0) {
		int64_t k = json_object_get_int64(v);

		if (k < 0 || k > UINT32_MAX)
			reportf(r, "losers_omitted", "%lld out of range", (long long)k);
		else
			eff->losers_omitted = k;
	}
	if (get_field(r, o, "losers", json_type_array, false, &arr) <= 0)
		return r->n == before ? 0 : -EINVAL;
	n = json_object_array_length(arr);
	if (n > ZH_EFF_LOSERS_MAX) {
		reportf(r, "losers", "at most %d, got %zu (the rest go in \"losers_omitted\")",
			ZH_EFF_LOSERS_MAX, n);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		snprintf(path, sizeof(path), "%s: losers[%zu]", obj, i);
		r->obj = path;
		if (json_object_get_type(v) != json_type_object)
			reportf(r, NULL, "expected an object, got %s", jtype_name(v));
		else if (!parse_eff_route(r, v, &eff->losers[eff->n_losers]))
			eff->n_losers++;
		r->obj = obj;
	}
	return r->n == before ? 0 : -EINVAL;
}

/* --- keys -------------------------------------------------------------------- */

struct seg {
	const char *s;
	size_t len;
};

static bool seg_is(const struct seg *g, const char *word)
{
	return g->len == strlen(word) && !memcmp(g->s, word, g->len);
}

/* published/<net>/<policy>/routes/<addr>/<len> is the deepest. */
#define KEY_SEGS_MAX 7

/* The <ip> of a key: a unicast address. */
static int key_ip(struct report *r, const struct seg *g, uint32_t *ip)
{
	char q[QBUF];

	if (parse_ipv4(g->s, g->len, ip)) {
		reportf(r, NULL, "%s is not an IPv4 address (a.b.c.d)", quote(q, sizeof(q), g->s, g->len));
		return -EINVAL;
	}
	if (!ipv4_is_unicast(*ip)) {
		reportf(r, NULL, "%.*s is not a unicast address", (int)g->len, g->s);
		return -EINVAL;
	}
	return 0;
}

/* The <addr>/<len> of a route key. */
static int key_prefix(struct report *r, const struct seg *a, const struct seg *l, struct zh_cidr *c)
{
	if (parse_ipv4(a->s, a->len, &c->addr) || parse_prefix_len(l->s, l->len, &c->len)) {
		reportf(r, NULL, "not a route key (routes/<a.b.c.d>/<0-32>)");
		return -EINVAL;
	}
	if (c->addr & ~prefix_mask(c->len)) {
		reportf(r, NULL, "prefix has host bits set");
		return -EINVAL;
	}
	return 0;
}

int zh_key_parse(const char *key, size_t len, struct zh_record *rec, char *err, size_t errlen)
{
	struct seg g[KEY_SEGS_MAX];
	const char *p, *end = key + len;
	char obj[QBUF], q[QBUF];
	struct report r = {.obj = obj, .err = err, .errlen = errlen};
	size_t n = 0;

	rec->kind = ZH_REC_OTHER;
	rec->network[0] = rec->host[0] = rec->policy[0] = 0;
	if (len < KEY_ROOT_LEN || memcmp(key, ZH_KEY_ROOT, KEY_ROOT_LEN))
		return 0;
	for (p = key + KEY_ROOT_LEN; n < KEY_SEGS_MAX; n++) {
		const char *slash = memchr(p, '/', end - p);

		g[n].s = p;
		g[n].len = (slash ? slash : end) - p;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (n == KEY_SEGS_MAX)
		return 0; /* deeper than any v1 record */
	n++;
	/* the key without the root, as objects are named in messages */
	quote(obj, sizeof(obj), key + KEY_ROOT_LEN, len - KEY_ROOT_LEN);
	memmove(obj, obj + 1, strlen(obj) - 1);
	obj[strlen(obj) - 2] = 0;

	if (seg_is(&g[0], "networks") && (n == 2 || (n == 4 && seg_is(&g[2], "endpoints")) ||
					  (n == 5 && seg_is(&g[2], "routes")))) {
		if (check_name(&r, NULL, "network", g[1].s, g[1].len, rec->network))
			goto bad;
		if (n == 2) {
			memset(&rec->net, 0, sizeof(rec->net));
			rec->kind = ZH_REC_NETWORK;
			return 0;
		}
		if (n == 4) {
			memset(&rec->ep, 0, sizeof(rec->ep));
			if (key_ip(&r, &g[3], &rec->ep.ip))
				goto bad;
			rec->kind = ZH_REC_ENDPOINT;
			return 0;
		}
		memset(&rec->route, 0, sizeof(rec->route));
		if (key_prefix(&r, &g[3], &g[4], &rec->route.prefix))
			goto bad;
		rec->kind = ZH_REC_ROUTE;
		return 0;
	}
	if (seg_is(&g[0], "networks") && n == 4 && seg_is(&g[2], "routes")) {
		reportf(&r, NULL, "not a route key (routes/<a.b.c.d>/<0-32>)");
		goto bad;
	}
	if (seg_is(&g[0], "hosts") && (n == 2 || (n == 4 && seg_is(&g[2], "ports")))) {
		if (check_name(&r, NULL, "host", g[1].s, g[1].len, rec->host))
			goto bad;
		if (n == 2) {
			memset(&rec->hostrec, 0, sizeof(rec->hostrec));
			rec->kind = ZH_REC_HOST;
			return 0;
		}
		memset(&rec->port, 0, sizeof(rec->port));
		if (!ifname_ok(g[3].s, g[3].len)) {
			reportf(&r, NULL, "%s is not a valid interface name (" IFNAME_RULE ")",
				quote(q, sizeof(q), g[3].s, g[3].len));
			goto bad;
		}
		memcpy(rec->port.ifname, g[3].s, g[3].len);
		rec->port.ifname[g[3].len] = 0;
		rec->kind = ZH_REC_PORT;
		return 0;
	}
	if (seg_is(&g[0], "networks") && n == 4 &&
	    (seg_is(&g[2], "exports") || seg_is(&g[2], "peerings"))) {
		if (check_name(&r, NULL, "network", g[1].s, g[1].len, rec->network))
			goto bad;
		if (seg_is(&g[2], "exports")) {
			memset(&rec->exp, 0, sizeof(rec->exp));
			if (check_name(&r, NULL, "export policy", g[3].s, g[3].len, rec->policy))
				goto bad;
			rec->kind = ZH_REC_EXPORT;
			return 0;
		}
		memset(&rec->peering, 0, sizeof(rec->peering));
		if (check_name(&r, NULL, "network", g[3].s, g[3].len, rec->peering.peer))
			goto bad;
		if (!strcmp(rec->peering.peer, rec->network)) {
			reportf(&r, NULL, "a network does not peer with itself");
			goto bad;
		}
		rec->kind = ZH_REC_PEERING;
		return 0;
	}
	if (seg_is(&g[0], "published") &&
	    ((n == 4 && seg_is(&g[3], "meta")) || (n == 5 && seg_is(&g[3], "endpoints")) ||
	     ((n == 5 || n == 6) && seg_is(&g[3], "routes")))) {
		if (check_name(&r, NULL, "network", g[1].s, g[1].len, rec->network) ||
		    check_name(&r, NULL, "export policy", g[2].s, g[2].len, rec->policy))
			goto bad;
		if (n == 4) {
			memset(&rec->meta, 0, sizeof(rec->meta));
			rec->kind = ZH_REC_PUB_META;
			return 0;
		}
		if (seg_is(&g[3], "endpoints")) {
			memset(&rec->ep, 0, sizeof(rec->ep));
			if (key_ip(&r, &g[4], &rec->ep.ip))
				goto bad;
			rec->kind = ZH_REC_PUB_ENDPOINT;
			return 0;
		}
		memset(&rec->route, 0, sizeof(rec->route));
		if (n == 5) {
			reportf(&r, NULL, "not a route key (routes/<a.b.c.d>/<0-32>)");
			goto bad;
		}
		if (key_prefix(&r, &g[4], &g[5], &rec->route.prefix))
			goto bad;
		rec->kind = ZH_REC_PUB_ROUTE;
		return 0;
	}
	if (seg_is(&g[0], "effective") && (n == 4 || n == 5) && seg_is(&g[2], "routes")) {
		if (check_name(&r, NULL, "network", g[1].s, g[1].len, rec->network))
			goto bad;
		memset(&rec->eff, 0, sizeof(rec->eff));
		if (n == 4) {
			reportf(&r, NULL, "not a route key (routes/<a.b.c.d>/<0-32>)");
			goto bad;
		}
		if (key_prefix(&r, &g[3], &g[4], &rec->eff.prefix))
			goto bad;
		rec->kind = ZH_REC_EFFECTIVE;
		return 0;
	}
	return 0;
bad:
	rec->kind = ZH_REC_OTHER;
	return -EINVAL;
}

/* --- record parse ---------------------------------------------------------------- */

/* Parse a whole JSON document in buf (not NUL-terminated): the value, or
 * NULL and a reason in why. json-c's STRICT mode still takes single quotes
 * and NaN; NaN is not a valid value of any field anyway.
 */
static json_object *parse_json(const char *buf, size_t len, char *why, size_t whylen)
{
	struct json_tokener *tok;
	json_object *o = NULL;
	enum json_tokener_error jerr;
	size_t i, end, line = 1, col = 1;

	for (i = 0; i < len && isspace((unsigned char)buf[i]); i++)
		;
	if (i == len) {
		snprintf(why, whylen, "empty, expected a JSON object");
		return NULL;
	}
	if (buf[i] != '{') {
		snprintf(why, whylen, "not a JSON object");
		return NULL;
	}
	if (len > INT_MAX) {
		snprintf(why, whylen, "too large (%zu bytes)", len);
		return NULL;
	}
	tok = json_tokener_new();
	if (!tok) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (o) {
		/* json-c stops at a NUL byte or after the value */
		for (i = end; i < len && isspace((unsigned char)buf[i]); i++)
			;
		if (i == len)
			return o;
		json_object_put(o);
		end = i;
		jerr = json_tokener_error_parse_unexpected;
	}
	for (i = 0; i < end && i < len; i++) {
		if (buf[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (jerr == json_tokener_continue)
		snprintf(why, whylen, "invalid JSON: ends early (line %zu, column %zu)", line, col);
	else if (end < len && buf[end] == 0)
		snprintf(why, whylen, "invalid JSON: NUL byte at line %zu, column %zu", line, col);
	else
		snprintf(why, whylen, "invalid JSON at line %zu, column %zu: %s", line, col,
			 json_tokener_error_desc(jerr));
	return NULL;
}

int zh_record_parse(const char *key, size_t klen, const char *val, size_t vlen,
		    struct zh_record *rec, char *err, size_t errlen)
{
	char obj[QBUF], why[ZH_ERR_MAX];
	struct report r = {.obj = obj, .err = err, .errlen = errlen};
	json_object *o;
	int ret;

	ret = zh_key_parse(key, klen, rec, err, errlen);
	if (ret || rec->kind == ZH_REC_OTHER)
		return ret;
	quote(obj, sizeof(obj), key + KEY_ROOT_LEN, klen - KEY_ROOT_LEN);
	memmove(obj, obj + 1, strlen(obj) - 1);
	obj[strlen(obj) - 2] = 0;

	o = parse_json(val, vlen, why, sizeof(why));
	if (!o) {
		reportf(&r, NULL, "value: %s", why);
		rec->kind = ZH_REC_OTHER;
		return -EINVAL;
	}
	switch (rec->kind) {
	case ZH_REC_NETWORK:
		ret = parse_network_value(&r, o, &rec->net);
		break;
	case ZH_REC_ENDPOINT:
		ret = parse_endpoint_value(&r, o, &rec->ep, false);
		break;
	case ZH_REC_ROUTE:
		ret = parse_route_value(&r, o, &rec->route, false);
		break;
	case ZH_REC_HOST:
		ret = parse_host_value(&r, o, &rec->hostrec);
		break;
	case ZH_REC_PORT:
		ret = parse_port_value(&r, o, &rec->port);
		break;
	case ZH_REC_EXPORT:
		ret = parse_export_value(&r, o, &rec->exp);
		break;
	case ZH_REC_PEERING:
		ret = parse_peering_value(&r, o, &rec->peering);
		break;
	case ZH_REC_PUB_META:
		ret = parse_meta_value(&r, o, &rec->meta);
		break;
	case ZH_REC_PUB_ENDPOINT:
		ret = parse_endpoint_value(&r, o, &rec->ep, false);
		break;
	case ZH_REC_PUB_ROUTE:
		ret = parse_route_value(&r, o, &rec->route, false);
		break;
	case ZH_REC_EFFECTIVE:
		ret = parse_effective_value(&r, o, &rec->eff);
		break;
	default:
		ret = 0;
	}
	json_object_put(o);
	if (ret)
		rec->kind = ZH_REC_OTHER;
	return ret;
}

/* --- record format ------------------------------------------------------------ */

/* An append-only string with an overflow flag. */
struct sbuf {
	char *b;
	size_t size, o;
	bool overflow;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->b + sb->o, sb->size - sb->o, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->size - sb->o)
		sb->overflow = true;
	else
		sb->o += n;
}

/* s as a JSON string (quotes, backslashes and control bytes escaped). */
static void sb_json_str(struct sbuf *sb, const char *s)
{
	sb_printf(sb, "\"");
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			sb_printf(sb, "\\%c", c);
		else if (c < 0x20)
			sb_printf(sb, "\\u%04x", c);
		else
			sb_printf(sb, "%c", c);
	}
	sb_printf(sb, "\"");
}

static void sb_prefixes(struct sbuf *sb, const char *field, const struct zh_cidr *c, size_t n)
{
	char a[INET_ADDRSTRLEN + 3];
	size_t i;

	sb_printf(sb, "\"%s\":[", field);
	for (i = 0; i < n; i++)
		sb_printf(sb, "%s\"%s\"", i ? "," : "", cidr_str(&c[i], a));
	sb_printf(sb, "]");
}

/* "protocols":[..] (after a comma when comma), nothing for ZH_PROTO_ANY. */
static void sb_protocols(struct sbuf *sb, unsigned int protocols, bool comma)
{
	size_t i, k = 0;

	if (protocols == ZH_PROTO_ANY)
		return;
	sb_printf(sb, "%s\"protocols\":[", comma ? "," : "");
	for (i = 0; i < sizeof(protocol_names) / sizeof(protocol_names[0]); i++)
		if (protocols & protocol_names[i].bit)
			sb_printf(sb, "%s\"%s\"", k++ ? "," : "", protocol_names[i].name);
	sb_printf(sb, "]");
}

static bool name_field_ok(const char *s, size_t size, bool optional)
{
	size_t len = strnlen(s, size);

	return (optional && len == 0) || name_ok(s, len);
}

/* The fields of an effective route origin, without braces. */
static int sb_eff_route(struct sbuf *sb, const struct zh_eff_route *er)
{
	char a[INET_ADDRSTRLEN];

	if ((er->origin != ZH_ORIGIN_LOCAL && er->origin != ZH_ORIGIN_PEER) ||
	    er->rule < ZH_RULE_ONLY || er->rule > ZH_RULE_NETWORK_ID ||
	    !name_field_ok(er->network, sizeof(er->network), false) ||
	    (!er->drop && !name_field_ok(er->host, sizeof(er->host), false)) ||
	    er->preference > ZH_PREFERENCE_MAX)
		return -EINVAL;
	sb_printf(sb, "\"origin\":\"%s\",\"network\":\"%s\",\"vni\":%u",
		  zh_route_origin_name(er->origin), er->network, er->vni);
	if (er->origin == ZH_ORIGIN_PEER)
		sb_printf(sb, ",\"preference\":%u", er->preference);
	if (er->drop) {
		sb_printf(sb, ",\"drop\":true");
	} else {
		sb_printf(sb, ",\"host\":\"%s\",\"host_ip\":\"%s\"", er->host,
			  ipv4_str(er->host_ip, a));
		if (er->encap)
			sb_printf(sb, ",\"encap\":\"%s\"", encap_str(er->encap));
	}
	sb_printf(sb, ",\"rule\":\"%s\"", zh_conflict_rule_name(er->rule));
	return 0;
}

/* Key and value of the peering kinds; -EINVAL for a record that is not
 * valid (names, counts).
 */
static int format_peering_kinds(const struct zh_record *rec, char *key, size_t ksize,
				struct sbuf *sb)
{
	char a[INET_ADDRSTRLEN];
	size_t i;
	int err;

	if (!name_field_ok(rec->network, sizeof(rec->network), false))
		return -EINVAL;
	switch (rec->kind) {
	case ZH_REC_EXPORT:
		if (!name_field_ok(rec->policy, sizeof(rec->policy), false) ||
		    rec->exp.n_prefixes > ZH_EXPORT_PREFIXES_MAX || !protocols_ok(rec->exp.protocols))
			return -EINVAL;
		snprintf(key, ksize, ZH_KEY_ROOT "networks/%s/exports/%s", rec->network, rec->policy);
		/* {"prefixes":[..],"protocols":[..]}, either left out when absent */
		sb_printf(sb, "{");
		if (rec->exp.n_prefixes)
			sb_prefixes(sb, "prefixes", rec->exp.prefixes, rec->exp.n_prefixes);
		sb_protocols(sb, rec->exp.protocols, rec->exp.n_prefixes);
		sb_printf(sb, "}");
		return 0;
	case ZH_REC_PEERING: {
		const struct zh_rec_peering *p = &rec->peering;
		const char *u;

		if (!name_field_ok(p->peer, sizeof(p->peer), false) ||
		    !strcmp(p->peer, rec->network) ||
		    !name_field_ok(p->grant, sizeof(p->grant), false) ||
		    !name_field_ok(p->user, sizeof(p->user), true) ||
		    !name_field_ok(p->peer_user, sizeof(p->peer_user), true) ||
		    p->preference > ZH_PREFERENCE_MAX ||
		    strnlen(p->peer_shard, sizeof(p->peer_shard)) == sizeof(p->peer_shard) ||
		    strnlen(p->password_file, sizeof(p->password_file)) == sizeof(p->password_file) ||
		    strnlen(p->peer_password_file, sizeof(p->peer_password_file)) ==
			    sizeof(p->peer_password_file))
			return -EINVAL;
		snprintf(key, ksize, ZH_KEY_ROOT "networks/%s/peerings/%s", rec->network, p->peer);
		sb_printf(sb, "{");
		if (p->peer_shard[0]) {
			sb_printf(sb, "\"peer_shard\":[");
			for (u = p->peer_shard; *u;) {
				size_t n = strcspn(u, ",");

				if (!url_ok(u, n))
					return -EINVAL;
				sb_printf(sb, "%s\"%.*s\"", u == p->peer_shard ? "" : ",", (int)n, u);
				u += n;
				if (*u == ',')
					u++;
			}
			sb_printf(sb, "],");
		}
		sb_printf(sb, "\"grant\":\"%s\",\"preference\":%u", p->grant, p->preference);
		if (p->user[0])
			sb_printf(sb, ",\"user\":\"%s\"", p->user);
		if (p->password_file[0]) {
			sb_printf(sb, ",\"password_file\":");
			sb_json_str(sb, p->password_file);
		}
		if (p->peer_user[0])
			sb_printf(sb, ",\"peer_user\":\"%s\"", p->peer_user);
		if (p->peer_password_file[0]) {
			sb_printf(sb, ",\"peer_password_file\":");
			sb_json_str(sb, p->peer_password_file);
		}
		sb_printf(sb, "}");
		return 0;
	}
	case ZH_REC_PUB_META:
		if (!name_field_ok(rec->policy, sizeof(rec->policy), false) ||
		    !rec->meta.scope.n_prefixes ||
		    rec->meta.scope.n_prefixes > ZH_EXPORT_PREFIXES_MAX ||
		    !protocols_ok(rec->meta.scope.protocols))
			return -EINVAL;
		snprintf(key, ksize, ZH_KEY_ROOT "published/%s/%s/meta", rec->network, rec->policy);
		sb_printf(sb, "{\"vni\":%u,", rec->meta.vni);
		sb_prefixes(sb, "prefixes", rec->meta.scope.prefixes, rec->meta.scope.n_prefixes);
		sb_protocols(sb, rec->meta.scope.protocols, true);
		sb_printf(sb, "}");
		return 0;
	case ZH_REC_EFFECTIVE:
		if (rec->eff.n_losers > ZH_EFF_LOSERS_MAX)
			return -EINVAL;
		snprintf(key, ksize, ZH_KEY_ROOT "effective/%s/routes/%s/%u", rec->network,
			 ipv4_str(rec->eff.prefix.addr, a), rec->eff.prefix.len);
		sb_printf(sb, "{");
		err = sb_eff_route(sb, &rec->eff.winner);
		if (err)
			return err;
		if (rec->eff.n_losers) {
			sb_printf(sb, ",\"losers\":[");
			for (i = 0; i < rec->eff.n_losers; i++) {
				sb_printf(sb, "%s{", i ? "," : "");
				err = sb_eff_route(sb, &rec->eff.losers[i]);
				if (err)
					return err;
				sb_printf(sb, "}");
			}
			sb_printf(sb, "]");
		}
		if (rec->eff.losers_omitted)
			sb_printf(sb, ",\"losers_omitted\":%u", rec->eff.losers_omitted);
		sb_printf(sb, "}");
		return 0;
	default:
		return -EINVAL;
	}
}

/* A published endpoint or route: the value of the network's own record,
 * under published/<net>/<policy>/.
 */
static int format_published(const struct zh_record *rec, char **keyp, char **valp)
{
	struct zh_record own = *rec;
	char key[256], *k, *v, *tail;
	int err;

	if (!name_field_ok(rec->policy, sizeof(rec->policy), false))
		return -EINVAL;
	own.kind = rec->kind == ZH_REC_PUB_ENDPOINT ? ZH_REC_ENDPOINT : ZH_REC_ROUTE;
	err = zh_record_format(&own, &k, &v);
	if (err)
		return err;
	/* .../networks/<net>/endpoints/<ip> -> .../published/<net>/<policy>/endpoints/<ip> */
	tail = k + strlen(ZH_KEY_ROOT "networks/") + strlen(rec->network);
	snprintf(key, sizeof(key), ZH_KEY_ROOT "published/%s/%s%s", rec->network, rec->policy, tail);
	free(k);
	k = strdup(key);
	if (!k) {
		free(v);
		return -ENOMEM;
	}
	*keyp = k;
	*valp = v;
	return 0;
}

int zh_record_format(const struct zh_record *rec, char **keyp, char **valp)
{
	char key[256], val[4096], a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN], m[18];
	const struct zh_rec_route *rt = &rec->route;
	struct sbuf sb = {.b = val, .size = sizeof(val)};
	size_t o = 0, i;
	char *k, *v;
	int err;

	switch (rec->kind) {
	case ZH_REC_PUB_ENDPOINT:
	case ZH_REC_PUB_ROUTE:
		return format_published(rec, keyp, valp);
	case ZH_REC_EXPORT:
	case ZH_REC_PEERING:
	case ZH_REC_PUB_META:
	case ZH_REC_EFFECTIVE:
		err = format_peering_kinds(rec, key, sizeof(key), &sb);
		if (err)
			return err;
		if (sb.overflow)
			return -EINVAL;
		goto out;
	default:
		break;
	}

	switch (rec->kind) {
	case ZH_REC_NETWORK:
	case ZH_REC_ENDPOINT:
	case ZH_REC_ROUTE:
		if (!name_ok(rec->network, strnlen(rec->network, sizeof(rec->network))))
			return -EINVAL;
		break;
	case ZH_REC_HOST:
	case ZH_REC_PORT:
		if (!name_ok(rec->host, strnlen(rec->host, sizeof(rec->host))))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}

	switch (rec->kind) {
	case ZH_REC_NETWORK:
		if (rec->net.n_cidrs > ZH_NET_CIDRS_MAX)
			return -EINVAL;
		snprintf(key, sizeof(key), ZH_KEY_ROOT "networks/%s", rec->network);
		o = snprintf(val, sizeof(val), "{\"vni\":%u,\"cidrs\":[", rec->net.vni);
		for (i = 0; i < rec->net.n_cidrs; i++)
			o += snprintf(val + o, sizeof(val) - o, "%s\"%s/%u\"", i ? "," : "",
				      ipv4_str(rec->net.cidrs[i].addr, a), rec->net.cidrs[i].len);
		snprintf(val + o, sizeof(val) - o, "]}");
		break;
	case ZH_REC_ENDPOINT:
		if (!name_ok(rec->ep.host, strnlen(rec->ep.host, sizeof(rec->ep.host))))
			return -EINVAL;
		snprintf(key, sizeof(key), ZH_KEY_ROOT "networks/%s/endpoints/%s", rec->network,
			 ipv4_str(rec->ep.ip, a));
		o = snprintf(val, sizeof(val), "{\"mac\":\"%s\",\"host\":\"%s\",\"host_ip\":\"%s\"",
			     mac_str(rec->ep.mac, m), rec->ep.host, ipv4_str(rec->ep.host_ip, b));
		if (rec->ep.encap)
			o += snprintf(val + o, sizeof(val) - o, ",\"encap\":\"%s\"",
				      encap_str(rec->ep.encap));
		snprintf(val + o, sizeof(val) - o, "}");
		break;
	case ZH_REC_ROUTE:
		snprintf(key, sizeof(key), ZH_KEY_ROOT "networks/%s/routes/%s/%u", rec->network,
			 ipv4_str(rt->prefix.addr, a), rt->prefix.len);
		if (rt->drop) {
			snprintf(val, sizeof(val), "{\"drop\":true}");
			break;
		}
		if (!name_ok(rt->host, strnlen(rt->host, sizeof(rt->host))))
			return -EINVAL;
		o = snprintf(val, sizeof(val), "{\"host\":\"%s\",\"host_ip\":\"%s\"", rt->host,
			     ipv4_str(rt->host_ip, b));
		if (rt->encap)
			o += snprintf(val + o, sizeof(val) - o, ",\"encap\":\"%s\"",
				      encap_str(rt->encap));
		snprintf(val + o, sizeof(val) - o, "}");
		break;
	case ZH_REC_HOST:
		if (rec->hostrec.n_networks > ZH_HOST_NETWORKS_MAX)
			return -EINVAL;
		snprintf(key, sizeof(key), ZH_KEY_ROOT "hosts/%s", rec->host);
		o = snprintf(val, sizeof(val), "{\"underlay\":\"%s\",\"networks\":[",
			     ipv4_str(rec->hostrec.underlay, a));
		for (i = 0; i < rec->hostrec.n_networks; i++) {
			const char *n = rec->hostrec.networks[i];

			if (!name_ok(n, strnlen(n, ZH_NAME_MAX + 1)))
				return -EINVAL;
			o += snprintf(val + o, sizeof(val) - o, "%s\"%s\"", i ? "," : "", n);
		}
		o += snprintf(val + o, sizeof(val) - o, "]");
		if (rec->hostrec.encap)
			o += snprintf(val + o, sizeof(val) - o, ",\"encap\":\"%s\"",
				      encap_str(rec->hostrec.encap));
		snprintf(val + o, sizeof(val) - o, "}");
		break;
	case ZH_REC_PORT:
		if (!ifname_ok(rec->port.ifname, strnlen(rec->port.ifname, ZH_IFNAMSIZ)) ||
		    !name_ok(rec->port.network, strnlen(rec->port.network, ZH_NAME_MAX + 1)))
			return -EINVAL;
		/* ifnames may hold '"' or '\': they only go into the key */
		snprintf(key, sizeof(key), ZH_KEY_ROOT "hosts/%s/ports/%s", rec->host,
			 rec->port.ifname);
		snprintf(val, sizeof(val), "{\"network\":\"%s\",\"mac\":\"%s\",\"ip\":\"%s\"}",
			 rec->port.network, mac_str(rec->port.mac, m), ipv4_str(rec->port.ip, a));
		break;
	default:
		return -EINVAL;
	}
out:
	k = strdup(key);
	v = strdup(val);
	if (!k || !v) {
		free(k);
		free(v);
		return -ENOMEM;
	}
	*keyp = k;
	*valp = v;
	return 0;
}

/* --- intent ----------------------------------------------------------------------- */

/* Open-addressing hash map for the intent's uniqueness checks and name
 * lookups: key (num, str) -> val. Strings belong to the JSON document.
 */
struct hentry {
	uint64_t num;
	const char *str;
	uint64_t val;
	bool used;
};

struct hmap {
	struct hentry *e;
	size_t cap, n;
};

static uint64_t hkey(uint64_t num, const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull ^ (num * 0x9e3779b97f4a7c15ull);

	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h ^ (h >> 29);
}

static bool hentry_is(const struct hentry *e, uint64_t num, const char *s)
{
	return e->num == num && (e->str == s || (e->str && s && !strcmp(e->str, s)));
}

static struct hentry *hmap_find(const struct hmap *m, uint64_t num, const char *s)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = hkey(num, s) & (m->cap - 1); m->e[i].used; i = (i + 1) & (m->cap - 1))
		if (hentry_is(&m->e[i], num, s))
			return &m->e[i];
	return NULL;
}

/* Insert (num, s) -> val unless present: 0 inserted, 1 present (*old gets
 * its value), -ENOMEM.
 */
static int hmap_add(struct hmap *m, uint64_t num, const char *s, uint64_t val, uint64_t *old)
{
	struct hentry *e = hmap_find(m, num, s);
	size_t i;

	if (e) {
		*old = e->val;
		return 1;
	}
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64, j;
		struct hentry *ne = calloc(cap, sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		for (j = 0; j < m->cap; j++) {
			if (!m->e[j].used)
				continue;
			for (i = hkey(m->e[j].num, m->e[j].str) & (cap - 1); ne[i].used;
			     i = (i + 1) & (cap - 1))
				;
			ne[i] = m->e[j];
		}
		free(m->e);
		m->e = ne;
		m->cap = cap;
	}
	for (i = hkey(num, s) & (m->cap - 1); m->e[i].used; i = (i + 1) & (m->cap - 1))
		;
	m->e[i] = (struct hentry){.num = num, .str = s, .val = val, .used = true};
	m->n++;
	return 0;
}

static void hmap_free(struct hmap *m)
{
	free(m->e);
	m->e = NULL;
	m->cap = m->n = 0;
}

/* Where in the document something is: kind, index, sub-index. */
enum origin_kind {
	AT_NETWORK,
	AT_HOST,
	AT_ENDPOINT,
	AT_ROUTE,
	AT_PORT,
	AT_EXPORT,
	AT_PEERING,
};

static uint64_t origin(enum origin_kind k, size_t i, size_t j)
{
	return ((uint64_t)k << 60) | ((uint64_t)(i & 0x3fffffff) << 30) | (j & 0x3fffffff);
}

static const char *origin_str(uint64_t o, char *buf, size_t size)
{
	size_t i = (o >> 30) & 0x3fffffff, j = o & 0x3fffffff;

	switch ((enum origin_kind)(o >> 60)) {
	case AT_NETWORK:
		snprintf(buf, size, "$.networks[%zu]", i);
		break;
	case AT_HOST:
		snprintf(buf, size, "$.hosts[%zu]", i);
		break;
	case AT_ENDPOINT:
		snprintf(buf, size, "$.networks[%zu].endpoints[%zu]", i, j);
		break;
	case AT_ROUTE:
		snprintf(buf, size, "$.networks[%zu].routes[%zu]", i, j);
		break;
	case AT_PORT:
		snprintf(buf, size, "$.hosts[%zu].ports[%zu]", i, j);
		break;
	case AT_EXPORT:
		snprintf(buf, size, "$.networks[%zu].exports[%zu]", i, j);
		break;
	case AT_PEERING:
		snprintf(buf, size, "$.networks[%zu].peerings[%zu]", i, j);
		break;
	}
	return buf;
}

struct net_entry {
	struct zh_record rec;
	bool named;        /* a valid name that is not a duplicate */
	bool cidrs_ok;
};

struct host_entry {
	struct zh_record rec;
};

struct intent_state {
	struct report r;
	char path[128];
	char where[64];
	struct zh_intent out;
	size_t cap;
	struct net_entry *nets;
	struct host_entry *hosts;
	size_t n_nets, n_hosts;
	struct hmap net_names, vnis, host_names, underlays, addrs, routes, ifnames;
	struct hmap exports, peers, peer_users;
	bool nomem;
};

static void set_path(struct intent_state *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_path(struct intent_state *st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(st->path, sizeof(st->path), fmt, ap);
	va_end(ap);
	st->r.obj = st->path;
}

static void add_record(struct intent_state *st, const struct zh_record *rec)
{
	if (st->r.n || st->nomem)
		return; /* the intent is going to be thrown away */
	if (st->out.n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct zh_record *n = realloc(st->out.recs, cap * sizeof(*n));

		if (!n) {
			st->nomem = true;
			return;
		}
		st->out.recs = n;
		st->cap = cap;
	}
	st->out.recs[st->out.n++] = *rec;
}

static void map_add(struct intent_state *st, struct hmap *m, uint64_t num, const char *s,
		    uint64_t val, int *ret, uint64_t *old)
{
	*ret = hmap_add(m, num, s, val, old);
	if (*ret < 0)
		st->nomem = true;
}

static struct net_entry *net_lookup(struct intent_state *st, const char *name, size_t *idx)
{
	struct hentry *e = hmap_find(&st->net_names, 0, name);

	if (!e)
		return NULL;
	if (idx)
		*idx = e->val;
	return &st->nets[e->val];
}

static struct host_entry *host_lookup(struct intent_state *st, const char *name)
{
	struct hentry *e = hmap_find(&st->host_names, 0, name);

	return e ? &st->hosts[e->val] : NULL;
}

/* An element of a JSON array that must be an object. */
static json_object *array_object(struct intent_state *st, json_object *arr, size_t i)
{
	json_object *v = json_object_array_get_idx(arr, i);

	if (json_object_get_type(v) != json_type_object) {
		reportf(&st->r, NULL, "expected an object, got %s", jtype_name(v));
		return NULL;
	}
	return v;
}

/* ip must be in the network's CIDRs and not taken in it yet. */
static void check_address(struct intent_state *st, size_t net_idx, uint32_t ip, uint64_t at)
{
	struct net_entry *ne = &st->nets[net_idx];
	char a[INET_ADDRSTRLEN], where[64];
	uint64_t old;
	int i, ret;

	if (ne->cidrs_ok) {
		for (i = 0; i < ne->rec.net.n_cidrs; i++)
			if (cidr_contains(&ne->rec.net.cidrs[i], ip))
				break;
		if (i == ne->rec.net.n_cidrs)
			reportf(&st->r, "ip", "%s is outside the CIDRs of network \"%s\"",
				ipv4_str(ip, a), ne->rec.network);
	}
	map_add(st, &st->addrs, ((uint64_t)net_idx << 32) | ip, NULL, at, &ret, &old);
	if (ret == 1)
		reportf(&st->r, "ip", "duplicate address %s in network \"%s\" (first at %s)",
			ipv4_str(ip, a), ne->rec.network, origin_str(old, where, sizeof(where)));
}

/* "first at $.networks[0]" for messages; one buffer, one use at a time. */
static const char *at(struct intent_state *st, uint64_t o)
{
	return origin_str(o, st->where, sizeof(st->where));
}

/* Phase 1: name, VNI and CIDRs of network i. */
static void intent_network(struct intent_state *st, size_t i, json_object *o)
{
	static const char *const known[] = {"name",   "vni",	 "cidrs", "endpoints",
					    "routes", "exports", "peerings", NULL};
	struct net_entry *ne = &st->nets[i];
	uint64_t old;
	int ret;

	check_known_fields(&st->r, o, known);
	if (field_name(&st->r, o, "name", true, "network", ne->rec.network) > 0) {
		map_add(st, &st->net_names, 0, ne->rec.network, i, &ret, &old);
		if (ret == 1)
			reportf(&st->r, "name", "duplicate network \"%s\" (first at %s)",
				ne->rec.network, at(st, origin(AT_NETWORK, old, 0)));
		ne->named = ret == 0;
	}
	if (field_vni(&st->r, o, "vni", &ne->rec.net.vni) > 0) {
		map_add(st, &st->vnis, ne->rec.net.vni, NULL, i, &ret, &old);
		if (ret == 1)
			reportf(&st->r, "vni", "VNI %u is already used by network \"%s\" (at %s)",
				ne->rec.net.vni, st->nets[old].rec.network,
				at(st, origin(AT_NETWORK, old, 0)));
	}
	ne->cidrs_ok = parse_cidrs(&st->r, o, &ne->rec.net) == 0;
	add_record(st, &ne->rec);
}

/* Phase 2: host i, its underlay address and the networks it serves. */
static void intent_host(struct intent_state *st, size_t i, json_object *o)
{
	static const char *const known[] = {"name", "underlay", "networks", "encap", "ports", NULL};
	struct host_entry *he = &st->hosts[i];
	struct zh_rec_host *h = &he->rec.hostrec;
	char a[INET_ADDRSTRLEN], f[32];
	json_object *nets;
	uint64_t old;
	size_t k;
	int ret;

	check_known_fields(&st->r, o, known);
	if (field_name(&st->r, o, "name", true, "host", he->rec.host) > 0) {
		map_add(st, &st->host_names, 0, he->rec.host, i, &ret, &old);
		if (ret == 1)
			reportf(&st->r, "name", "duplicate host \"%s\" (first at %s)", he->rec.host,
				at(st, origin(AT_HOST, old, 0)));
	}
	parse_host_value(&st->r, o, h);
	if (h->underlay) {
		map_add(st, &st->underlays, h->underlay, NULL, i, &ret, &old);
		if (ret == 1)
			reportf(&st->r, "underlay",
				"%s is already the underlay address of host \"%s\" (at %s)",
				ipv4_str(h->underlay, a), st->hosts[old].rec.host,
				at(st, origin(AT_HOST, old, 0)));
	}
	/* the networks a host lists must be in this file */
	if (!json_object_object_get_ex(o, "networks", &nets) ||
	    json_object_get_type(nets) != json_type_array)
		goto out;
	for (k = 0; k < json_object_array_length(nets); k++) {
		json_object *v = json_object_array_get_idx(nets, k);
		const char *s = json_object_get_string(v);

		if (json_object_get_type(v) != json_type_string ||
		    !name_ok(s, json_object_get_string_len(v)) || net_lookup(st, s, NULL))
			continue;
		snprintf(f, sizeof(f), "networks[%zu]", k);
		reportf(&st->r, f, "unknown network \"%s\"", s);
	}
out:
	add_record(st, &he->rec);
}

/* The host an endpoint or route points at: its underlay address and, when
 * the record has none, its encap.
 */
static void resolve_host(struct intent_state *st, const char *name, uint32_t *host_ip,
			 uint8_t *encap)
{
	struct host_entry *he;

	if (!name[0])
		return; /* missing or invalid: reported */
	he = host_lookup(st, name);
	if (!he) {
		reportf(&st->r, "host", "unknown host \"%s\"", name);
		return;
	}
	*host_ip = he->rec.hostrec.underlay;
	if (!*encap)
		*encap = he->rec.hostrec.encap;
}

/* Phase 3: endpoint j of network i. */
static void intent_endpoint(struct intent_state *st, size_t i, size_t j, json_object *o)
{
	static const char *const known[] = {"ip", "mac", "host", "encap", NULL};
	struct net_entry *ne = &st->nets[i];
	struct zh_record rec = {.kind = ZH_REC_ENDPOINT};

	check_known_fields(&st->r, o, known);
	memcpy(rec.network, ne->rec.network, sizeof(rec.network));
	field_ip(&st->r, o, "ip", true, &rec.ep.ip);
	parse_endpoint_value(&st->r, o, &rec.ep, true);
	resolve_host(st, rec.ep.host, &rec.ep.host_ip, &rec.ep.encap);
	if (rec.ep.ip && ne->named)
		check_address(st, i, rec.ep.ip, origin(AT_ENDPOINT, i, j));
	add_record(st, &rec);
}

/* Phase 3: route j of network i. */
static void intent_route(struct intent_state *st, size_t i, size_t j, json_object *o)
{
	static const char *const known[] = {"prefix", "host", "drop", "encap", NULL};
	struct net_entry *ne = &st->nets[i];
	struct zh_record rec = {.kind = ZH_REC_ROUTE};
	struct zh_cidr *p = &rec.route.prefix;
	char c[INET_ADDRSTRLEN + 3];
	const char *s;
	uint64_t old;
	size_t len;
	int ret;

	check_known_fields(&st->r, o, known);
	memcpy(rec.network, ne->rec.network, sizeof(rec.network));
	parse_route_value(&st->r, o, &rec.route, true);
	if (!rec.route.drop)
		resolve_host(st, rec.route.host, &rec.route.host_ip, &rec.route.encap);
	if (field_str(&st->r, o, "prefix", true, &s, &len) > 0 &&
	    !check_cidr(&st->r, "prefix", s, len, p) && ne->named) {
		map_add(st, &st->routes, ((uint64_t)i << 40) | ((uint64_t)p->len << 32) | p->addr,
			NULL, origin(AT_ROUTE, i, j), &ret, &old);
		if (ret == 1)
			reportf(&st->r, "prefix",
				"duplicate route %s in network \"%s\" (first at %s)",
				cidr_str(p, c), ne->rec.network, at(st, old));
	}
	add_record(st, &rec);
}

/* Phase 3: export policy j of network i. */
static void intent_export(struct intent_state *st, size_t i, size_t j, json_object *o)
{
	static const char *const known[] = {"name", "prefixes", "protocols", NULL};
	struct net_entry *ne = &st->nets[i];
	struct zh_record rec = {.kind = ZH_REC_EXPORT};
	char c[INET_ADDRSTRLEN + 3], f[32];
	json_object *name;
	uint64_t old;
	int ret, k, m;

	check_known_fields(&st->r, o, known);
	memcpy(rec.network, ne->rec.network, sizeof(rec.network));
	if (field_name(&st->r, o, "name", true, "export policy", rec.policy) > 0 && ne->named) {
		/* the JSON string outlives the map; rec.policy would not */
		json_object_object_get_ex(o, "name", &name);
		map_add(st, &st->exports, i, json_object_get_string(name), origin(AT_EXPORT, i, j),
			&ret, &old);
		if (ret == 1)
			reportf(&st->r, "name",
				"duplicate export policy \"%s\" in network \"%s\" (first at %s)",
				rec.policy, ne->rec.network, at(st, old));
	}
	parse_export_value(&st->r, o, &rec.exp);
	for (k = 0; ne->cidrs_ok && k < rec.exp.n_prefixes; k++) {
		const struct zh_cidr *p = &rec.exp.prefixes[k];

		for (m = 0; m < ne->rec.net.n_cidrs; m++)
			if (p->len >= ne->rec.net.cidrs[m].len &&
			    cidr_contains(&ne->rec.net.cidrs[m], p->addr))
				break;
		if (m == ne->rec.net.n_cidrs) {
			snprintf(f, sizeof(f), "prefixes[%d]", k);
			reportf(&st->r, f, "%s is outside the CIDRs of network \"%s\"",
				cidr_str(p, c), ne->rec.network);
		}
	}
	add_record(st, &rec);
}

/* Phase 3, after every export: peering j of network i. */
static void intent_peering(struct intent_state *st, size_t i, size_t j, json_object *o)
{
	static const char *const known[] = {"peer",	  "peer_shard",	 "grant",
					    "preference", "user",	 "password_file",
					    "peer_user",  "peer_password_file", NULL};
	struct net_entry *ne = &st->nets[i];
	struct zh_record rec = {.kind = ZH_REC_PEERING};
	struct zh_rec_peering *p = &rec.peering;
	json_object *v;
	uint64_t old;
	int ret;

	check_known_fields(&st->r, o, known);
	memcpy(rec.network, ne->rec.network, sizeof(rec.network));
	if (field_name(&st->r, o, "peer", true, "network", p->peer) > 0 && ne->named) {
		if (!strcmp(p->peer, ne->rec.network)) {
			reportf(&st->r, "peer", "a network does not peer with itself");
		} else {
			json_object_object_get_ex(o, "peer", &v);
			map_add(st, &st->peers, i, json_object_get_string(v),
				origin(AT_PEERING, i, j), &ret, &old);
			if (ret == 1)
				reportf(&st->r, "peer",
					"duplicate peering with \"%s\" in network \"%s\" (first at %s)",
					p->peer, ne->rec.network, at(st, old));
		}
	}
	parse_peering_value(&st->r, o, p);
	if (p->grant[0] && ne->named && !hmap_find(&st->exports, i, p->grant))
		reportf(&st->r, "grant", "unknown export policy \"%s\" of network \"%s\"",
			p->grant, ne->rec.network);
	/* one etcd user per peering: removing one peering must not lock out another */
	if (p->peer_user[0]) {
		json_object_object_get_ex(o, "peer_user", &v);
		map_add(st, &st->peer_users, 0, json_object_get_string(v),
			origin(AT_PEERING, i, j), &ret, &old);
		if (ret == 1)
			reportf(&st->r, "peer_user", "user \"%s\" is already the peer_user of %s",
				p->peer_user, at(st, old));
	}
	add_record(st, &rec);
}

/* Phase 4: port j of host i, and the endpoint record other hosts reach it
 * by.
 */
static void intent_port(struct intent_state *st, size_t i, size_t j, json_object *o)
{
	static const char *const known[] = {"ifname", "network", "mac", "ip", NULL};
	struct host_entry *he = &st->hosts[i];
	const struct zh_rec_host *h = &he->rec.hostrec;
	struct zh_record rec = {.kind = ZH_REC_PORT}, ep = {.kind = ZH_REC_ENDPOINT};
	struct net_entry *ne = NULL;
	size_t len, net_idx = 0, k;
	const char *s = NULL;
	char q[QBUF];
	uint64_t old;
	int ret;

	check_known_fields(&st->r, o, known);
	memcpy(rec.host, he->rec.host, sizeof(rec.host));
	if (field_str(&st->r, o, "ifname", true, &s, &len) > 0) {
		if (!ifname_ok(s, len)) {
			reportf(&st->r, "ifname",
				"%s is not a valid interface name (" IFNAME_RULE ")",
				quote(q, sizeof(q), s, len));
		} else {
			memcpy(rec.port.ifname, s, len);
			map_add(st, &st->ifnames, i, s, origin(AT_PORT, i, j), &ret, &old);
			if (ret == 1)
				reportf(&st->r, "ifname",
					"duplicate port \"%s\" on host \"%s\" (first at %s)", s,
					he->rec.host, at(st, old));
		}
	}
	parse_port_value(&st->r, o, &rec.port);
	if (rec.port.network[0]) {
		ne = net_lookup(st, rec.port.network, &net_idx);
		if (!ne)
			reportf(&st->r, "network", "unknown network \"%s\"", rec.port.network);
	}
	if (ne) {
		for (k = 0; k < h->n_networks && strcmp(h->networks[k], ne->rec.network); k++)
			;
		if (k == h->n_networks)
			reportf(&st->r, "network",
				"host \"%s\" does not list network \"%s\" in its \"networks\"",
				he->rec.host, ne->rec.network);
		if (rec.port.ip)
			check_address(st, net_idx, rec.port.ip, origin(AT_PORT, i, j));
	}
	add_record(st, &rec);

	memcpy(ep.network, rec.port.network, sizeof(ep.network));
	ep.ep.ip = rec.port.ip;
	memcpy(ep.ep.mac, rec.port.mac, 6);
	memcpy(ep.ep.host, he->rec.host, sizeof(ep.ep.host));
	ep.ep.host_ip = h->underlay;
	ep.ep.encap = h->encap;
	add_record(st, &ep);
}

/* Calls fn for every element of arr[i].field[] that is an object (others
 * are reported), with the path set to "<base>[i].field[j]".
 */
static void intent_children(struct intent_state *st, json_object *arr, size_t n,
			    const char *base, const char *field,
			    void (*fn)(struct intent_state *st, size_t i, size_t j, json_object *o))
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(arr, i), *kids = NULL;

		if (json_object_get_type(o) != json_type_object)
			continue; /* reported in phase 1 or 2 */
		set_path(st, "$.%s[%zu]", base, i);
		get_field(&st->r, o, field, json_type_array, false, &kids);
		for (j = 0; kids && j < json_object_array_length(kids); j++) {
			json_object *kid;

			set_path(st, "$.%s[%zu].%s[%zu]", base, i, field, j);
			kid = array_object(st, kids, j);
			if (kid)
				fn(st, i, j, kid);
		}
	}
}

int zh_intent_parse(const char *json, size_t len, struct zh_intent *out, struct zh_errors *errs)
{
	static const char *const known[] = {"version", "networks", "hosts", NULL};
	struct intent_state *st;
	json_object *doc, *nets = NULL, *hosts = NULL, *o;
	char why[ZH_ERR_MAX], q[QBUF];
	const char *s;
	size_t slen, i;
	int err;

	out->recs = NULL;
	out->n = 0;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->r = (struct report){.obj = "$", .intent = true, .errs = errs};

	doc = parse_json(json, len, why, sizeof(why));
	if (!doc) {
		reportf(&st->r, NULL, "%s", why);
		err = -EINVAL;
		goto cleanup;
	}
	check_known_fields(&st->r, doc, known);
	if (!json_object_object_get_ex(doc, "version", NULL))
		reportf(&st->r, "version", "required field missing (must be \"v1\")");
	else if (field_str(&st->r, doc, "version", true, &s, &slen) > 0 && strcmp(s, "v1"))
		reportf(&st->r, "version", "unknown version %s (must be \"v1\")",
			quote(q, sizeof(q), s, slen));
	get_field(&st->r, doc, "networks", json_type_array, false, &nets);
	get_field(&st->r, doc, "hosts", json_type_array, false, &hosts);
	st->n_nets = nets ? json_object_array_length(nets) : 0;
	st->n_hosts = hosts ? json_object_array_length(hosts) : 0;
	st->nets = calloc(st->n_nets ?: 1, sizeof(*st->nets));
	st->hosts = calloc(st->n_hosts ?: 1, sizeof(*st->hosts));
	if (!st->nets || !st->hosts) {
		err = -ENOMEM;
		goto cleanup;
	}

	/* parents first, so that children can refer to them */
	for (i = 0; i < st->n_nets; i++) {
		set_path(st, "$.networks[%zu]", i);
		st->nets[i].rec.kind = ZH_REC_NETWORK;
		if ((o = array_object(st, nets, i)))
			intent_network(st, i, o);
	}
	for (i = 0; i < st->n_hosts; i++) {
		set_path(st, "$.hosts[%zu]", i);
		st->hosts[i].rec.kind = ZH_REC_HOST;
		if ((o = array_object(st, hosts, i)))
			intent_host(st, i, o);
	}
	intent_children(st, nets, st->n_nets, "networks", "endpoints", intent_endpoint);
	intent_children(st, nets, st->n_nets, "networks", "routes", intent_route);
	intent_children(st, nets, st->n_nets, "networks", "exports", intent_export);
	intent_children(st, nets, st->n_nets, "networks", "peerings", intent_peering);
	intent_children(st, hosts, st->n_hosts, "hosts", "ports", intent_port);

	if (st->nomem)
		err = -ENOMEM;
	else if (st->r.n)
		err = -EINVAL;
	else
		err = 0;
cleanup:
	if (err) {
		free(st->out.recs);
	} else {
		*out = st->out;
	}
	hmap_free(&st->net_names);
	hmap_free(&st->vnis);
	hmap_free(&st->host_names);
	hmap_free(&st->underlays);
	hmap_free(&st->addrs);
	hmap_free(&st->routes);
	hmap_free(&st->ifnames);
	hmap_free(&st->exports);
	hmap_free(&st->peers);
	hmap_free(&st->peer_users);
	free(st->nets);
	free(st->hosts);
	free(st);
	json_object_put(doc);
	return err;
}

int zh_intent_load(const char *path, struct zh_intent *out, struct zh_errors *errs)
{
	char *buf = NULL;
	size_t len = 0;
	struct stat sb;
	ssize_t got;
	int fd, err;

	out->recs = NULL;
	out->n = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto io_error;
	}
	if (fstat(fd, &sb)) {
		err = -errno;
		goto io_error;
	}
	if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode) && !S_ISCHR(sb.st_mode)) {
		err = S_ISDIR(sb.st_mode) ? -EISDIR : -EINVAL;
		goto io_error;
	}
	/* read to the end: stdin (/dev/stdin) and pipes have no size */
	for (;;) {
		size_t cap = len + 65536;
		char *n;

		if (cap > INTENT_MAX_BYTES) {
			err = -EFBIG;
			goto io_error;
		}
		n = realloc(buf, cap);
		if (!n) {
			err = -ENOMEM;
			goto io_error;
		}
		buf = n;
		got = read(fd, buf + len, cap - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			goto io_error;
		}
		if (got == 0)
			break;
		len += got;
	}
	close(fd);
	err = zh_intent_parse(buf, len, out, errs);
	free(buf);
	return err;
io_error:
	/* not a JSON path: the file itself */
	if (errs) {
		char msg[ZH_ERR_MAX];

		snprintf(msg, sizeof(msg), "cannot read: %s", strerror(-err));
		errors_add(errs, msg);
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	return err;
}

void zh_intent_free(struct zh_intent *in)
{
	if (!in)
		return;
	free(in->recs);
	in->recs = NULL;
	in->n = 0;
}
