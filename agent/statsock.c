// SPDX-License-Identifier: GPL-2.0-only
/* The agent's status socket (agent/statsock.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"
#include "sockio.h"
#include "statsock.h"

struct zh_statsock {
	int fd;
	dev_t dev;      /* identity of our socket file, so close() never */
	ino_t ino;      /* removes the socket of a newer agent */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int zh_statsock_default_path(const char *instance, char *buf, size_t len)
{
	return (size_t)snprintf(buf, len, ZH_AGENT_SOCK_FMT, instance) >= len ? -ENAMETOOLONG : 0;
}

/* mkdir -p of path's parent directory, new directories 0755. */
static int make_parent_dirs(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = 0;
	for (p = dir + 1;; p++) {
		bool last = !*p;

		if (*p != '/' && !last)
			continue;
		*p = 0;
		if (mkdir(dir, 0755) == 0) {
			chmod(dir, 0755); /* whatever the umask */
		} else if (errno != EEXIST) {
			return -errno;
		}
		if (last)
			return 0;
		*p = '/';
	}
}

/* A socket file at path: -EADDRINUSE if someone answers, else removed. */
static int remove_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat sb;
	int fd, err = 0;

	if (lstat(path, &sb))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(sb.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN)
		err = -EADDRINUSE;
	close(fd);
	if (!err && unlink(path) && errno != ENOENT)
		err = -errno;
	return err;
}

int zh_statsock_open(const char *path, struct zh_statsock **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct zh_statsock *s = NULL;
	struct stat sb;
	int fd = -1, err;

	*out = NULL;
	if (!path || !*path) {
		pr_warn("status socket: empty path\n");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_warn("status socket %s: path longer than %zu bytes\n", path,
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	err = make_parent_dirs(path);
	if (err) {
		pr_warn("status socket %s: Couldn't create its directory: %s\n", path,
			strerror(-err));
		return err;
	}
	err = remove_stale(path, &sa);
	if (err == -EADDRINUSE) {
		pr_warn("status socket %s: another agent is serving it\n", path);
		return err;
	}
	if (err == -EEXIST) {
		pr_warn("status socket %s: exists and is not a socket; not replacing it\n", path);
		return err;
	}
	if (err) {
		pr_warn("status socket %s: Couldn't replace the old socket: %s\n", path,
			strerror(-err));
		return err;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		pr_warn("status socket %s: Couldn't create a socket: %s\n", path, strerror(-err));
		goto cleanup;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		pr_warn("status socket %s: Couldn't bind: %s\n", path, strerror(-err));
		goto cleanup;
	}
	if (chmod(path, 0660) || stat(path, &sb) || listen(fd, 8)) {
		err = -errno;
		pr_warn("status socket %s: %s\n", path, strerror(-err));
		unlink(path);
		goto cleanup;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		err = -ENOMEM;
		unlink(path);
		goto cleanup;
	}
	s->fd = fd;
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	strcpy(s->path, path);
	*out = s;
	return 0;
cleanup:
	if (fd >= 0)
		close(fd);
	return err;
}

int zh_statsock_fd(const struct zh_statsock *s)
{
	return s->fd;
}

const char *zh_statsock_path(const struct zh_statsock *s)
{
	return s->path;
}

void zh_statsock_close(struct zh_statsock *s)
{
	struct stat sb;

	if (!s)
		return;
	if (!stat(s->path, &sb) && sb.st_dev == s->dev && sb.st_ino == s->ino)
		unlink(s->path);
	close(s->fd);
	free(s);
}

/* RFC 3339 in UTC, or JSON null for "never" (0). */
static json_object *time_json(time_t t)
{
	char buf[32];
	struct tm tm;

	if (!t || !gmtime_r(&t, &tm))
		return NULL;
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

char *zh_statsock_json(const struct zh_agent_stats *st, time_t now)
{
	json_object *o = json_object_new_object(), *x;
	char *doc;
	int i;

	if (!o)
		return NULL;
	json_object_object_add(o, "version", json_object_new_string(ZH_VERSION));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "instance", json_object_new_string(st->instance));
	json_object_object_add(o, "host", json_object_new_string(st->host));
	json_object_object_add(o, "source", json_object_new_string(st->source));
	json_object_object_add(o, "connected", json_object_new_boolean(st->connected));
	json_object_object_add(o, "since", time_json(st->state_since));
	json_object_object_add(o, "since_epoch", json_object_new_int64(st->state_since));
	json_object_object_add(o, "revision", json_object_new_int64(st->revision));
	json_object_object_add(o, "last_error",
			       st->last_error[0] ? json_object_new_string(st->last_error) : NULL);
	json_object_object_add(o, "last_error_time", time_json(st->last_error_time));
	json_object_object_add(o, "last_error_time_epoch",
			       json_object_new_int64(st->last_error_time));
	json_object_object_add(o, "events", json_object_new_uint64(st->events));
	json_object_object_add(o, "resyncs", json_object_new_uint64(st->resyncs));
	json_object_object_add(o, "reconciles", json_object_new_uint64(st->reconciles));
	json_object_object_add(o, "map_ops", json_object_new_uint64(st->map_ops));

	x = json_object_new_object();
	for (i = 0; i < ZH_AERR_MAX; i++)
		json_object_object_add(x, zh_agent_error_name(i),
				       json_object_new_uint64(st->errors[i]));
	json_object_object_add(o, "errors", x);

	x = json_object_new_object();
	json_object_object_add(x, "desired", json_object_new_int64(st->ports_desired));
	json_object_object_add(x, "attached", json_object_new_int64(st->ports_attached));
	json_object_object_add(o, "ports", x);

	x = json_object_new_array();
	for (i = 0; i < (int)st->n_peers; i++) {
		const struct zh_agent_peer_stat *p = &st->peers[i];
		json_object *y = json_object_new_object();

		json_object_object_add(y, "network", json_object_new_string(p->network));
		json_object_object_add(y, "peer", json_object_new_string(p->peer));
		json_object_object_add(y, "state", json_object_new_string(p->state));
		json_object_object_add(y, "connected", json_object_new_boolean(p->connected));
		json_object_object_add(y, "vni", p->vni ? json_object_new_int64(p->vni) : NULL);
		json_object_object_add(y, "grant", json_object_new_string(p->grant));
		json_object_object_add(y, "their_grant", p->their_grant[0]
						? json_object_new_string(p->their_grant) : NULL);
		json_object_object_add(y, "preference", json_object_new_int64(p->preference));
		json_object_object_add(y, "shard",
				       p->shard[0] ? json_object_new_string(p->shard) : NULL);
		json_object_object_add(y, "endpoints", json_object_new_int64(p->endpoints));
		json_object_object_add(y, "routes", json_object_new_int64(p->routes));
		json_object_object_add(y, "policies", json_object_new_int64(p->policies));
		json_object_object_add(y, "error",
				       p->error[0] ? json_object_new_string(p->error) : NULL);
		json_object_array_add(x, y);
	}
	json_object_object_add(o, "peers", x);

	x = json_object_new_object();
	json_object_object_add(x, "count", json_object_new_uint64(st->lat_count));
	json_object_object_add(x, "sum_seconds", json_object_new_double(st->lat_sum_us / 1e6));
	json_object_object_add(o, "reconcile_latency", x);

	json_object_object_add(o, "started", time_json(st->started));
	json_object_object_add(o, "started_epoch", json_object_new_int64(st->started));
	json_object_object_add(o, "uptime_seconds",
			       json_object_new_int64(st->started && now > st->started
							     ? now - st->started : 0));

	/* One line, newline-terminated, for humans using socat too. */
	if (asprintf(&doc, "%s\n", json_object_to_json_string_ext(
					    o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		doc = NULL;
	json_object_put(o);
	return doc;
}

void zh_statsock_serve(struct zh_statsock *s, const struct zh_agent_stats *st)
{
	int64_t round_end = zh_now_ms() + ZH_STATSOCK_TIMEOUT_MS;
	char *doc = NULL;
	int i, fd, err;

	/* As in httpd: new connections only while the round is young. */
	for (i = 0; i < ZH_STATSOCK_MAX_PER_SERVE && zh_now_ms() < round_end; i++) {
		fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				pr_debug("status socket %s: accept: %s\n", s->path,
					 strerror(errno));
			break;
		}
		if (!doc)
			doc = zh_statsock_json(st, time(NULL));
		err = doc ? zh_send_until(fd, doc, strlen(doc), zh_now_ms() + ZH_STATSOCK_TIMEOUT_MS)
			  : -ENOMEM;
		if (err)
			pr_debug("status socket %s: reply not sent: %s\n", s->path,
				 strerror(-err));
		zh_close_conn(fd);
	}
	free(doc);
}
