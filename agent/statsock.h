/* SPDX-License-Identifier: GPL-2.0-only */
/* The agent's local status socket: a unix stream socket that answers every
 * connection with one JSON document (docs/metrics.md, "Status socket") and
 * closes it. `zerohop status` reads it.
 *
 *   zh_statsock_default_path(instance, path, sizeof(path));  (unless configured)
 *   zh_statsock_open(path, &s);              at start
 *   poll on zh_statsock_fd(s) for POLLIN;
 *   when readable: zh_statsock_serve(s, &stats);
 *   zh_statsock_close(s);                    at exit (removes the socket)
 *
 * The directory is created (0755) when missing, the socket is 0660. A stale
 * socket file (nobody listening) is replaced; one another process still
 * serves is not (-EADDRINUSE), nor is a path that is not a socket
 * (-EEXIST). Like httpd, serve() gives each connection
 * ZH_STATSOCK_TIMEOUT_MS, and accepts at most ZH_STATSOCK_MAX_PER_SERVE per
 * call and none once the call has run that long.
 */
#ifndef ZH_STATSOCK_H
#define ZH_STATSOCK_H

#include <stddef.h>
#include <time.h>

#include "stats.h"

#define ZH_STATSOCK_TIMEOUT_MS    100
#define ZH_STATSOCK_MAX_PER_SERVE 8

struct zh_statsock;

/* ZH_AGENT_SOCK_FMT for instance: 0 or -ENAMETOOLONG. */
int zh_statsock_default_path(const char *instance, char *buf, size_t len);

/* 0 or -errno; failures are logged naming the path and the cause. */
int zh_statsock_open(const char *path, struct zh_statsock **out);
/* The listening socket (non-blocking) for the caller's poll. */
int zh_statsock_fd(const struct zh_statsock *s);
const char *zh_statsock_path(const struct zh_statsock *s);
/* Answer the connections pending on the socket; never fails. */
void zh_statsock_serve(struct zh_statsock *s, const struct zh_agent_stats *st);
/* Close, and remove the socket file if it is still ours. */
void zh_statsock_close(struct zh_statsock *s);

/* The document the socket sends, as of now: a malloc'ed string or NULL. */
char *zh_statsock_json(const struct zh_agent_stats *st, time_t now);

#endif /* ZH_STATSOCK_H */
