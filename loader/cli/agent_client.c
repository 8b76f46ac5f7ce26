// SPDX-License-Identifier: GPL-2.0-only
/* The status socket client of `zerohop status` (agent_client.h). */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent_client.h"

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for events on fd until deadline: 0, -ETIMEDOUT or -errno. */
static int wait_until(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left;
	int n;

	for (;;) {
		left = deadline - mono_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Connect and read until the agent closes: 0 and a malloc'ed reply, or
 * -errno with *why naming the step (and text for -ETIMEDOUT / -EMSGSIZE).
 */
static int read_reply(const char *path, int timeout_ms, char **out, size_t *out_len,
		      const char **why)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = mono_ms() + timeout_ms;
	size_t len = 0, cap = 4096;
	char *buf = NULL;
	ssize_t n;
	int fd, err = 0;

	*out = NULL;
	*why = "connect";
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* EAGAIN: the agent's backlog is full; it may drain soon. */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || mono_ms() >= deadline) {
			err = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto cleanup;
		}
		usleep(10000);
	}
	*why = "read";
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (;;) {
		if (len + 1 >= cap) {
			char *p;

			if (cap >= AGENT_REPLY_MAX) {
				err = -EMSGSIZE;
				goto cleanup;
			}
			cap *= 2;
			p = realloc(buf, cap);
			if (!p) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = p;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n > 0) {
			len += n;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			err = -errno;
			goto cleanup;
		}
		err = wait_until(fd, POLLIN, deadline);
		if (err)
			goto cleanup;
	}
	buf[len] = 0;
	*out = buf;
	*out_len = len;
	buf = NULL;
cleanup:
	free(buf);
	close(fd);
	return err;
}

int agent_parse(const char *text, size_t len, json_object **doc, const char **why)
{
	struct json_tokener *tok;
	json_object *o;

	*doc = NULL;
	if (len == 0) {
		*why = "empty reply";
		return -EINVAL;
	}
	tok = json_tokener_new();
	if (!tok) {
		*why = "out of memory";
		return -ENOMEM;
	}
	o = json_tokener_parse_ex(tok, text, (int)len);
	/* Only whitespace may follow the document. */
	if (o && tok->char_offset < (int)len && strspn(text + tok->char_offset, " \t\r\n") !=
							len - tok->char_offset) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		*why = "reply is not a JSON object";
		return -EINVAL;
	}
	*doc = o;
	return 0;
}

void agent_query(const char *path, int timeout_ms, struct agent_reply *r)
{
	const char *why = NULL;
	struct stat sb;
	size_t len = 0;
	char *text;
	int err;

	memset(r, 0, sizeof(*r));
	snprintf(r->socket, sizeof(r->socket), "%s", path);
	if (stat(path, &sb)) {
		if (errno == ENOENT) {
			r->state = AGENT_NOT_RUNNING;
			return;
		}
		r->state = AGENT_NOT_ANSWERING;
		snprintf(r->error, sizeof(r->error), "%s", strerror(errno));
		return;
	}
	r->state = AGENT_NOT_ANSWERING;
	err = read_reply(path, timeout_ms, &text, &len, &why);
	if (err == -ETIMEDOUT) {
		snprintf(r->error, sizeof(r->error), "no answer within %d ms", timeout_ms);
		return;
	}
	if (err == -EMSGSIZE) {
		snprintf(r->error, sizeof(r->error), "reply longer than %d bytes",
			 AGENT_REPLY_MAX);
		return;
	}
	if (err) {
		snprintf(r->error, sizeof(r->error), "%s: %s", why, strerror(-err));
		return;
	}
	err = agent_parse(text, len, &r->doc, &why);
	free(text);
	if (err) {
		snprintf(r->error, sizeof(r->error), "%s", why);
		return;
	}
	r->state = AGENT_ANSWERED;
}

void agent_reply_free(struct agent_reply *r)
{
	json_object_put(r->doc);
	r->doc = NULL;
}

static const char *str_field(json_object *doc, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(doc, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int64_t int_field(json_object *doc, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(doc, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

/* "45s", "5m", "2h5m", "3d4h" */
static void fmt_duration(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm", (long long)(s / 60));
	else if (s < 86400)
		snprintf(buf, len, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(buf, len, "%lldd%lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
}

/* "2026-11-21T10:00:00Z" and "5m" (ago), or "(unknown)" and "?". */
static void fmt_when(json_object *doc, const char *key, const char *epoch_key, time_t now,
		     const char **when, char *ago, size_t len)
{
	*when = str_field(doc, key);
	if (!*when) {
		*when = "(unknown)";
		snprintf(ago, len, "?");
		return;
	}
	fmt_duration(now - int_field(doc, epoch_key), ago, len);
}

void agent_summary(json_object *doc, time_t now, char *buf, size_t len)
{
	const char *source = str_field(doc, "source"), *err = str_field(doc, "last_error");
	const char *since, *err_when = NULL;
	char since_ago[32], err_ago[32];
	json_object *v;
	bool connected;
	int n;

	connected = json_object_object_get_ex(doc, "connected", &v) && json_object_get_boolean(v);
	fmt_when(doc, "since", "since_epoch", now, &since, since_ago, sizeof(since_ago));
	n = snprintf(buf, len, "source %s, %s since %s (%s ago), revision %lld, last error: ",
		     source && *source ? source : "(none)",
		     connected ? "connected" : "disconnected", since, since_ago,
		     (long long)int_field(doc, "revision"));
	if (n < 0 || (size_t)n >= len)
		return;
	if (!err) {
		snprintf(buf + n, len - n, "none");
		return;
	}
	fmt_when(doc, "last_error_time", "last_error_time_epoch", now, &err_when, err_ago,
		 sizeof(err_ago));
	snprintf(buf + n, len - n, "%s (%s, %s ago)", err, err_when, err_ago);
}

static uint64_t errors_total(json_object *doc)
{
	json_object *errs;
	uint64_t n = 0;

	if (!json_object_object_get_ex(doc, "errors", &errs) ||
	    !json_object_is_type(errs, json_type_object))
		return 0;
	json_object_object_foreach(errs, kind, v)
	{
		(void)kind;
		n += json_object_get_uint64(v);
	}
	return n;
}

/* One line per peering: "peer blue->red: active, connected, VNI 200,
 * grants gold / gets silver, 10 endpoints, 1 route, 2 policies". */
static void print_peers(FILE *out, json_object *doc)
{
	json_object *peers = NULL, *p;
	size_t i, n;

	if (!json_object_object_get_ex(doc, "peers", &peers) ||
	    !json_object_is_type(peers, json_type_array))
		return;
	n = json_object_array_length(peers);
	for (i = 0; i < n; i++) {
		const char *net, *peer, *state, *grant, *theirs, *err;
		json_object *c = NULL;
		bool connected;

		p = json_object_array_get_idx(peers, i);
		connected = json_object_object_get_ex(p, "connected", &c) &&
			    json_object_get_boolean(c);
		net = str_field(p, "network");
		peer = str_field(p, "peer");
		state = str_field(p, "state");
		grant = str_field(p, "grant");
		theirs = str_field(p, "their_grant");
		err = str_field(p, "error");
		fprintf(out, "         peer %s->%s: %s, %s", net ? net : "?", peer ? peer : "?",
			state ? state : "?",
			connected ? "connected" : "not connected");
		if (int_field(p, "vni"))
			fprintf(out, ", VNI %lld", (long long)int_field(p, "vni"));
		fprintf(out, ", grants %s / gets %s, %lld endpoints, %lld routes, %lld policies",
			grant ? grant : "-", theirs ? theirs : "-",
			(long long)int_field(p, "endpoints"), (long long)int_field(p, "routes"),
			(long long)int_field(p, "policies"));
		if (err && *err)
			fprintf(out, ", last error: %s", err);
		fputc('\n', out);
	}
}

void agent_print_text(FILE *out, const struct agent_reply *r, const char *instance, time_t now)
{
	const char *served;
	char line[1024], up[32];
	json_object *ports = NULL;

	if (r->state == AGENT_NOT_RUNNING) {
		fprintf(out, "  agent: not running\n");
		return;
	}
	if (r->state == AGENT_NOT_ANSWERING) {
		fprintf(out, "  agent: not answering (%s: %s)\n", r->socket, r->error);
		return;
	}
	agent_summary(r->doc, now, line, sizeof(line));
	fprintf(out, "  agent: %s\n", line);
	served = str_field(r->doc, "instance");
	if (served && instance && strcmp(served, instance))
		fprintf(out, "         (the agent at %s serves instance '%s')\n", r->socket, served);
	json_object_object_get_ex(r->doc, "ports", &ports);
	fmt_duration(int_field(r->doc, "uptime_seconds"), up, sizeof(up));
	fprintf(out,
		"         events %lld, resyncs %lld, reconciles %lld, map ops %lld, errors %llu, "
		"ports %lld/%lld attached, pid %lld, up %s\n",
		(long long)int_field(r->doc, "events"), (long long)int_field(r->doc, "resyncs"),
		(long long)int_field(r->doc, "reconciles"), (long long)int_field(r->doc, "map_ops"),
		(unsigned long long)errors_total(r->doc), (long long)int_field(ports, "attached"),
		(long long)int_field(ports, "desired"), (long long)int_field(r->doc, "pid"), up);
	print_peers(out, r->doc);
}

json_object *agent_json(const struct agent_reply *r)
{
	json_object *o;

	switch (r->state) {
	case AGENT_ANSWERED:
		o = json_object_get(r->doc);
		json_object_object_add(o, "socket", json_object_new_string(r->socket));
		return o;
	case AGENT_NOT_ANSWERING:
		o = json_object_new_object();
		json_object_object_add(o, "socket", json_object_new_string(r->socket));
		json_object_object_add(o, "error", json_object_new_string(r->error));
		return o;
	default:
		return NULL;
	}
}
