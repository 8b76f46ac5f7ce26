/* SPDX-License-Identifier: GPL-2.0-only */
/* A tiny HTTP/1.0 server for the agent's Prometheus endpoint: one listening
 * socket, served from the agent's own event loop.
 *
 *   zh_httpd_open("127.0.0.1:9464", &h);     at start
 *   poll on zh_httpd_fd(h) for POLLIN;
 *   when readable: zh_httpd_serve(h, zh_metrics_httpd_render, &stats);
 *   zh_httpd_close(h);                       at exit
 *
 * zh_httpd_serve() gives each connection ZH_HTTPD_TIMEOUT_MS in all to
 * send its request and take the reply, so a slow or silent client
 * (slowloris) costs the loop at most that long and is then dropped. It
 * accepts at most ZH_HTTPD_MAX_PER_SERVE connections per call, and none
 * once the call has run ZH_HTTPD_TIMEOUT_MS, so one call takes about two
 * timeouts at worst. Connections left in the backlog keep the fd readable
 * for the next round.
 *
 * GET or HEAD /metrics -> 200 text/plain; version=0.0.4 with what render
 * wrote; any other path -> 404; other methods on /metrics -> 405; a request
 * that is not HTTP -> 400; render failing -> 500.
 */
#ifndef ZH_HTTPD_H
#define ZH_HTTPD_H

#include <stdint.h>
#include <stdio.h>

#define ZH_HTTPD_TIMEOUT_MS     100
#define ZH_HTTPD_MAX_PER_SERVE  8
#define ZH_HTTPD_MAX_REQUEST    4096

struct zh_httpd;

/* Writes the body; returns 0 or -errno (the client then gets a 500). */
typedef int (*zh_httpd_render_fn)(FILE *out, void *ctx);

/* Listen on addr: "IPv4:PORT" or "[IPv6]:PORT" (port 0: any free port).
 * 0 or -errno; a bad address or a failed bind is logged naming addr.
 */
int zh_httpd_open(const char *addr, struct zh_httpd **out);
/* The listening socket (non-blocking) for the caller's poll. */
int zh_httpd_fd(const struct zh_httpd *h);
/* The port listened on (useful after port 0). */
uint16_t zh_httpd_port(const struct zh_httpd *h);
/* Serve the connections pending on the listening socket; never fails. */
void zh_httpd_serve(struct zh_httpd *h, zh_httpd_render_fn render, void *ctx);
void zh_httpd_close(struct zh_httpd *h);

#endif /* ZH_HTTPD_H */
