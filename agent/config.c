// SPDX-License-Identifier: GPL-2.0-only
/* The agent's JSON configuration: every field checked, one line naming the
 * field and the reason for the first problem.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "config.h"
#include "stats.h"

#define ENDPOINTS_LIMIT (64u << 20)
#define ROUTES_LIMIT    (16u << 20)
#define POLICIES_LIMIT  (16u << 20)

struct cfg_parse {
	char *err;
	size_t errlen;
};

static int fail(struct cfg_parse *p, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct cfg_parse *p, const char *field, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s: %s", field, reason);
	return -EINVAL;
}

/* A string field; absent: 0 and *out untouched (required: an error). */
static int get_string(struct cfg_parse *p, json_object *obj, const char *key, const char *field,
		      bool required, const char **out)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null)) {
		if (required)
			return fail(p, field, "missing");
		return 0;
	}
	if (!json_object_is_type(v, json_type_string))
		return fail(p, field, "must be a string");
	*out = json_object_get_string(v);
	if (!**out)
		return fail(p, field, "must not be empty");
	return 0;
}

static int copy_string(struct cfg_parse *p, const char *field, const char *s, char *buf,
		       size_t len)
{
	if (strlen(s) >= len)
		return fail(p, field, "longer than %zu characters", len - 1);
	snprintf(buf, len, "%s", s);
	return 0;
}

static int get_u32(struct cfg_parse *p, json_object *obj, const char *key, const char *field,
		   uint32_t max, uint32_t *out)
{
	json_object *v;
	int64_t n;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return fail(p, field, "must be a whole number");
	n = json_object_get_int64(v);
	if (n < 0 || n > max)
		return fail(p, field, "must be from 0 to %u", max);
	*out = (uint32_t)n;
	return 0;
}

/* Only known fields: a typo in a config must not pass unnoticed. */
static int check_fields(struct cfg_parse *p, json_object *obj, const char *prefix,
			const char *const *known)
{
	char field[128];
	size_t i;

	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		for (i = 0; known[i]; i++)
			if (!strcmp(key, known[i]))
				break;
		if (!known[i]) {
			snprintf(field, sizeof(field), "%s%s", prefix, key);
			return fail(p, field, "unknown field");
		}
	}
	return 0;
}

static bool valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > ZH_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (i = 1; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		      s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static int read_password_file(struct cfg_parse *p, const char *path, char **out)
{
	char buf[1024];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return fail(p, "etcd.password_file", "cannot read %s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	if (!n)
		return fail(p, "etcd.password_file", "%s is empty", path);
	*out = strdup(buf);
	return *out ? 0 : -ENOMEM;
}

static int parse_source(struct cfg_parse *p, const char *s, struct zh_agent_config *c)
{
	int err = copy_string(p, "source", s, c->source, sizeof(c->source));

	if (err)
		return err;
	if (!strncmp(s, "file:", 5)) {
		c->source_kind = ZH_SOURCE_FILE;
		if (!s[5])
			return fail(p, "source", "file: needs a path (file:/etc/zerohop/intent.json)");
		return copy_string(p, "source", s + 5, c->file, sizeof(c->file));
	}
	if (!strncmp(s, "etcd:", 5)) {
		const char *u = s + 5, *next;

		c->source_kind = ZH_SOURCE_ETCD;
		if (!*u)
			return fail(p, "source", "etcd: needs at least one URL "
						 "(etcd:http://198.18.0.200:2379)");
		for (; *u; u = next + (*next == ',')) {
			next = strchrnul(u, ',');
			if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
				return fail(p, "source", "\"%.*s\" is not an http:// or https:// URL",
					    (int)(next - u), u);
			if (next == u + 7 || next == u + 8)
				return fail(p, "source", "a URL has no host");
		}
		return copy_string(p, "source", s + 5, c->etcd_endpoints,
				   sizeof(c->etcd_endpoints));
	}
	return fail(p, "source", "must start with etcd: or file:");
}

static int parse_etcd(struct cfg_parse *p, json_object *e, struct zh_agent_config *c)
{
	static const char *const known[] = {"user", "password", "password_file", "cacert",
					     "cert", "key", NULL};
	const char *user = NULL, *pw = NULL, *pwf = NULL, *s = NULL;
	int err;

	if (!json_object_is_type(e, json_type_object))
		return fail(p, "etcd", "must be an object");
	err = check_fields(p, e, "etcd.", known);
	if (!err)
		err = get_string(p, e, "user", "etcd.user", false, &user);
	if (!err && user)
		err = copy_string(p, "etcd.user", user, c->etcd_user, sizeof(c->etcd_user));
	if (!err)
		err = get_string(p, e, "password", "etcd.password", false, &pw);
	if (!err)
		err = get_string(p, e, "password_file", "etcd.password_file", false, &pwf);
	if (err)
		return err;
	if (pw && pwf)
		return fail(p, "etcd.password", "give password or password_file, not both");
	if ((pw || pwf) && !user)
		return fail(p, "etcd.user", "missing (a password needs a user)");
	if (user && !pw && !pwf)
		return fail(p, "etcd.password", "missing (a user needs password or password_file)");
	if (pw) {
		c->etcd_password = strdup(pw);
		if (!c->etcd_password)
			return -ENOMEM;
	} else if (pwf) {
		err = read_password_file(p, pwf, &c->etcd_password);
		if (err)
			return err;
	}
	s = NULL;
	err = get_string(p, e, "cacert", "etcd.cacert", false, &s);
	if (!err && s)
		err = copy_string(p, "etcd.cacert", s, c->etcd_cacert, sizeof(c->etcd_cacert));
	s = NULL;
	if (!err)
		err = get_string(p, e, "cert", "etcd.cert", false, &s);
	if (!err && s)
		err = copy_string(p, "etcd.cert", s, c->etcd_cert, sizeof(c->etcd_cert));
	s = NULL;
	if (!err)
		err = get_string(p, e, "key", "etcd.key", false, &s);
	if (!err && s)
		err = copy_string(p, "etcd.key", s, c->etcd_key, sizeof(c->etcd_key));
	if (!err && !!c->etcd_cert[0] != !!c->etcd_key[0])
		err = fail(p, c->etcd_cert[0] ? "etcd.key" : "etcd.cert",
			   "missing (a client certificate needs cert and key)");
	return err;
}

static int parse_attach(struct cfg_parse *p, json_object *a, struct zh_agent_config *c)
{
	static const char *const known[] = {"xdp_mode", "tc_mode", "router_mac", "encap", "mtu",
					     "max_endpoints", "max_routes", "max_policies",
					     NULL};
	const char *s;
	int err;

	if (!json_object_is_type(a, json_type_object))
		return fail(p, "attach", "must be an object");
	err = check_fields(p, a, "attach.", known);
	if (err)
		return err;
	s = NULL;
	err = get_string(p, a, "xdp_mode", "attach.xdp_mode", false, &s);
	if (err)
		return err;
	if (s && zh_parse_xdp_request(s, &c->xdp))
		return fail(p, "attach.xdp_mode", "must be auto, native, generic or off");
	s = NULL;
	err = get_string(p, a, "tc_mode", "attach.tc_mode", false, &s);
	if (err)
		return err;
	if (s && zh_parse_tc_request(s, &c->tc))
		return fail(p, "attach.tc_mode", "must be auto, tcx or clsact");
	s = NULL;
	err = get_string(p, a, "router_mac", "attach.router_mac", false, &s);
	if (err)
		return err;
	if (s) {
		if (zh_parse_mac(s, c->router_mac))
			return fail(p, "attach.router_mac", "\"%s\" is not a unicast MAC address", s);
		c->has_router_mac = true;
	}
	s = NULL;
	err = get_string(p, a, "encap", "attach.encap", false, &s);
	if (err)
		return err;
	if (s && zh_parse_encap(s, &c->encap))
		return fail(p, "attach.encap", "must be vxlan or geneve");
	err = get_u32(p, a, "mtu", "attach.mtu", 65535, &c->mtu);
	if (!err && c->mtu && c->mtu < 576)
		err = fail(p, "attach.mtu", "must be 0 (the uplink's) or at least 576");
	if (!err)
		err = get_u32(p, a, "max_endpoints", "attach.max_endpoints", ENDPOINTS_LIMIT,
			      &c->sizes.endpoints);
	if (!err)
		err = get_u32(p, a, "max_routes", "attach.max_routes", ROUTES_LIMIT,
			      &c->sizes.routes);
	if (!err)
		err = get_u32(p, a, "max_policies", "attach.max_policies", POLICIES_LIMIT,
			      &c->sizes.policies);
	return err;
}

static bool only_space(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

int zh_agent_config_parse(const char *json, size_t len, struct zh_agent_config *c, char *err,
			  size_t errlen)
{
	static const char *const known[] = {"instance", "host",   "uplink",  "underlay_ip",
					     "source",   "etcd",   "attach",  "metrics",
					     "status_socket", NULL};
	struct cfg_parse p = {.err = err, .errlen = errlen};
	struct json_tokener *tok;
	json_object *root = NULL, *sub;
	const char *s;
	int rc;

	memset(c, 0, sizeof(*c));
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    !only_space(json + tok->char_offset, len - tok->char_offset)) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		if (root && je == json_tokener_success)
			rc = fail(&p, "config", "trailing data after the JSON object");
		else
			rc = fail(&p, "config", "not valid JSON: %s",
				  je == json_tokener_continue ? "unexpected end"
							      : json_tokener_error_desc(je));
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		rc = fail(&p, "config", "must be a JSON object");
		goto out;
	}
	rc = check_fields(&p, root, "", known);
	if (rc)
		goto out;

	rc = get_string(&p, root, "instance", "instance", true, &s);
	if (rc)
		goto out;
	if (zh_check_instance_name(s)) {
		rc = fail(&p, "instance", "\"%s\" is not 1-%d characters of [A-Za-z0-9_-]", s,
			  ZH_INSTANCE_NAME_MAX);
		goto out;
	}
	snprintf(c->instance, sizeof(c->instance), "%s", s);

	rc = get_string(&p, root, "host", "host", true, &s);
	if (rc)
		goto out;
	if (!valid_name(s)) {
		rc = fail(&p, "host", "\"%s\" is not a host name ([a-z0-9][a-z0-9._-]*, at most %d)",
			  s, ZH_NAME_MAX);
		goto out;
	}
	snprintf(c->host, sizeof(c->host), "%s", s);

	rc = get_string(&p, root, "uplink", "uplink", true, &s);
	if (rc)
		goto out;
	if (zh_check_ifname(s)) {
		rc = fail(&p, "uplink", "\"%s\" is not a valid interface name", s);
		goto out;
	}
	snprintf(c->uplink, sizeof(c->uplink), "%s", s);

	rc = get_string(&p, root, "underlay_ip", "underlay_ip", true, &s);
	if (rc)
		goto out;
	if (zh_parse_ipv4(s, &c->underlay_ip) || zh_check_unicast_ipv4(c->underlay_ip)) {
		rc = fail(&p, "underlay_ip", "\"%s\" is not a unicast IPv4 address", s);
		goto out;
	}

	rc = get_string(&p, root, "source", "source", true, &s);
	if (!rc)
		rc = parse_source(&p, s, c);
	if (rc)
		goto out;

	if (json_object_object_get_ex(root, "etcd", &sub)) {
		rc = parse_etcd(&p, sub, c);
		if (rc)
			goto out;
	}
	if (json_object_object_get_ex(root, "attach", &sub)) {
		rc = parse_attach(&p, sub, c);
		if (rc)
			goto out;
	}

	s = NULL;
	rc = get_string(&p, root, "metrics", "metrics", false, &s);
	if (!rc && s) {
		if (!strchr(s, ':'))
			rc = fail(&p, "metrics", "\"%s\" is not ADDRESS:PORT (127.0.0.1:9465)", s);
		else
			rc = copy_string(&p, "metrics", s, c->metrics, sizeof(c->metrics));
	}
	if (rc)
		goto out;

	s = NULL;
	rc = get_string(&p, root, "status_socket", "status_socket", false, &s);
	if (rc)
		goto out;
	if (s) {
		if (s[0] != '/') {
			rc = fail(&p, "status_socket", "must be an absolute path");
			goto out;
		}
		/* sun_path holds 108 bytes. */
		if (strlen(s) >= 108) {
			rc = fail(&p, "status_socket", "longer than 107 characters");
			goto out;
		}
		snprintf(c->status_socket, sizeof(c->status_socket), "%s", s);
	} else {
		snprintf(c->status_socket, sizeof(c->status_socket), ZH_AGENT_SOCK_FMT,
			 c->instance);
	}
out:
	if (root)
		json_object_put(root);
	json_tokener_free(tok);
	if (rc)
		zh_agent_config_free(c);
	return rc;
}

int zh_agent_config_load(const char *path, struct zh_agent_config *c, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	FILE *f = fopen(path, "re");
	int rc;

	memset(c, 0, sizeof(*c));
	if (!f) {
		rc = -errno;
		snprintf(err, errlen, "cannot read: %s", strerror(-rc));
		return rc;
	}
	do {
		if (len == cap) {
			char *nb;

			cap = cap ? cap * 2 : 4096;
			if (cap > (1 << 20)) {
				fclose(f);
				free(buf);
				snprintf(err, errlen, "larger than 1 MiB");
				return -EFBIG;
			}
			nb = realloc(buf, cap);
			if (!nb) {
				fclose(f);
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n);
	if (ferror(f)) {
		rc = -EIO;
		snprintf(err, errlen, "cannot read: %s", strerror(EIO));
		fclose(f);
		free(buf);
		return rc;
	}
	fclose(f);
	rc = zh_agent_config_parse(buf, len, c, err, errlen);
	free(buf);
	return rc;
}

void zh_agent_config_free(struct zh_agent_config *c)
{
	if (c->etcd_password) {
		explicit_bzero(c->etcd_password, strlen(c->etcd_password));
		free(c->etcd_password);
		c->etcd_password = NULL;
	}
}
