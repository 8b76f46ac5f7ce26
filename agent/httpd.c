// SPDX-License-Identifier: GPL-2.0-only
/* A tiny HTTP/1.0 server for /metrics (agent/httpd.h). One request per
 * connection, answered and closed; every connection has a hard deadline.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "sockio.h"

struct zh_httpd {
	int fd;
	uint16_t port;
	char addr[64];
};

/* "1.2.3.4:80" or "[::1]:80" -> sockaddr; -EINVAL with *why set. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *sslen,
		      const char **why)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *port;
	unsigned long p;
	char *end;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':') {
			*why = "expected [IPv6]:PORT";
			return -EINVAL;
		}
		n = close - addr - 1;
		colon = close + 1;
		addr++;
	} else {
		colon = strrchr(addr, ':');
		if (!colon) {
			*why = "no port (expected IP:PORT or [IPv6]:PORT)";
			return -EINVAL;
		}
		n = colon - addr;
		if (memchr(addr, ':', n)) {
			*why = "an IPv6 address needs brackets: [IPv6]:PORT";
			return -EINVAL;
		}
	}
	port = colon + 1;
	if (!isdigit((unsigned char)*port)) {
		*why = "port is not a number";
		return -EINVAL;
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || *end || p > 65535) {
		*why = "port is not a number from 0 to 65535";
		return -EINVAL;
	}
	if (n == 0 || n >= sizeof(host)) {
		*why = "no IP address (0.0.0.0 listens on every address)";
		return -EINVAL;
	}
	memcpy(host, addr, n);
	host[n] = 0;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(p);
		*sslen = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(p);
		*sslen = sizeof(*s6);
		return 0;
	}
	*why = "not an IP address";
	return -EINVAL;
}

int zh_httpd_open(const char *addr, struct zh_httpd **out)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	const char *why = NULL;
	struct zh_httpd *h = NULL;
	int one = 1, fd = -1, err;

	*out = NULL;
	if (!addr || !*addr) {
		pr_warn("metrics listen address is empty (expected IP:PORT or [IPv6]:PORT)\n");
		return -EINVAL;
	}
	err = parse_addr(addr, &ss, &sslen, &why);
	if (err) {
		pr_warn("metrics listen address '%s': %s\n", addr, why);
		return err;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = -errno;
		pr_warn("metrics listen address '%s': Couldn't create a socket: %s\n", addr,
			strerror(-err));
		goto cleanup;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sslen) || listen(fd, 16)) {
		err = -errno;
		pr_warn("metrics listen address '%s': Couldn't listen: %s\n", addr, strerror(-err));
		goto cleanup;
	}
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen)) {
		err = -errno;
		pr_warn("metrics listen address '%s': getsockname: %s\n", addr, strerror(-err));
		goto cleanup;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		err = -ENOMEM;
		goto cleanup;
	}
	h->fd = fd;
	h->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	snprintf(h->addr, sizeof(h->addr), "%s", addr);
	*out = h;
	return 0;
cleanup:
	if (fd >= 0)
		close(fd);
	return err;
}

int zh_httpd_fd(const struct zh_httpd *h)
{
	return h->fd;
}

uint16_t zh_httpd_port(const struct zh_httpd *h)
{
	return h->port;
}

void zh_httpd_close(struct zh_httpd *h)
{
	if (!h)
		return;
	close(h->fd);
	free(h);
}

static const char *status_text(int code)
{
	switch (code) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Internal Server Error";
	}
}

/* Status line and headers, then the body unless HEAD. */
static int reply(int fd, int code, const char *type, const char *body, size_t len, bool head,
		 int64_t deadline)
{
	char hdr[256];
	int n, err;

	n = snprintf(hdr, sizeof(hdr),
		     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
		     "Connection: close\r\n\r\n",
		     code, status_text(code), type, len,
		     code == 405 ? "Allow: GET, HEAD\r\n" : "");
	err = zh_send_until(fd, hdr, n, deadline);
	if (!err && !head && len)
		err = zh_send_until(fd, body, len, deadline);
	return err;
}

static int reply_text(int fd, int code, const char *msg, bool head, int64_t deadline)
{
	return reply(fd, code, "text/plain; charset=utf-8", msg, strlen(msg), head, deadline);
}

static bool header_complete(const char *buf, size_t len)
{
	return memmem(buf, len, "\r\n\r\n", 4) || memmem(buf, len, "\n\n", 2);
}

/* "GET /metrics HTTP/1.1": method and path (query dropped) or -EINVAL.
 * Modifies buf.
 */
static int parse_request_line(char *buf, size_t len, char **method, char **path)
{
	char *eol = memchr(buf, '\n', len), *sp1, *sp2, *version, *p;

	if (!eol)
		return -EINVAL;
	if (eol > buf && eol[-1] == '\r')
		eol--;
	*eol = 0;
	for (p = buf; *p; p++)
		if (!isprint((unsigned char)*p))
			return -EINVAL;
	sp1 = strchr(buf, ' ');
	if (!sp1)
		return -EINVAL;
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2)
		return -EINVAL;
	*sp1 = *sp2 = 0;
	version = sp2 + 1;
	if (strncmp(version, "HTTP/1.", 7) || !isdigit((unsigned char)version[7]) || version[8])
		return -EINVAL;
	if (sp1 == buf)
		return -EINVAL;
	for (p = buf; *p; p++)
		if (!isupper((unsigned char)*p))
			return -EINVAL;
	if (sp1[1] != '/')
		return -EINVAL;
	p = strchr(sp1 + 1, '?');
	if (p)
		*p = 0;
	*method = buf;
	*path = sp1 + 1;
	return 0;
}

/* Can the bytes so far start a valid request? A method in capitals, and
 * once the first line is complete, a valid request line.
 */
static bool looks_like_request(const char *buf, size_t len)
{
	char line[ZH_HTTPD_MAX_REQUEST + 1], *method, *path;

	if (!isupper((unsigned char)buf[0]))
		return false;
	if (!memchr(buf, '\n', len))
		return true;
	memcpy(line, buf, len);
	return parse_request_line(line, len, &method, &path) == 0;
}

static int serve_metrics(int fd, bool head, zh_httpd_render_fn render, void *ctx,
			 int64_t deadline)
{
	char *body = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	f = open_memstream(&body, &len);
	if (!f)
		return reply_text(fd, 500, "out of memory\n", head, deadline);
	err = render(f, ctx);
	if (fclose(f) && !err)
		err = -ENOMEM;
	if (err) {
		pr_info("metrics: rendering failed: %s\n", strerror(-err));
		err = reply_text(fd, 500, "rendering the metrics failed\n", head, deadline);
	} else {
		err = reply(fd, 200, "text/plain; version=0.0.4; charset=utf-8", body, len, head,
			    deadline);
	}
	free(body);
	return err;
}

static void serve_conn(struct zh_httpd *h, int fd, zh_httpd_render_fn render, void *ctx)
{
	int64_t deadline = zh_now_ms() + ZH_HTTPD_TIMEOUT_MS;
	char buf[ZH_HTTPD_MAX_REQUEST + 1], *method, *path;
	size_t len = 0;
	ssize_t n;
	bool head;
	int err = 0;

	while (!header_complete(buf, len)) {
		if (len == ZH_HTTPD_MAX_REQUEST) {
			err = reply_text(fd, 431, "request too large\n", false, deadline);
			goto cleanup;
		}
		n = zh_recv_until(fd, buf + len, ZH_HTTPD_MAX_REQUEST - len, deadline);
		if (n == -ETIMEDOUT) {
			/* Slow or silent: drop it, with a best-effort 408. */
			pr_debug("metrics %s: client too slow, dropped\n", h->addr);
			reply_text(fd, 408, "request timeout\n", false, zh_now_ms() + 1);
			goto cleanup;
		}
		if (n < 0) {
			err = n;
			goto cleanup;
		}
		if (n == 0)
			break; /* the client closed its side: answer what it sent */
		len += n;
		/* Not HTTP (a TLS hello, a port scanner): say so now rather
		 * than wait for a blank line that never comes.
		 */
		if (!looks_like_request(buf, len)) {
			err = reply_text(fd, 400, "bad request\n", false, deadline);
			goto cleanup;
		}
	}
	if (len == 0)
		goto cleanup;
	if (parse_request_line(buf, len, &method, &path)) {
		err = reply_text(fd, 400, "bad request\n", false, deadline);
		goto cleanup;
	}
	head = !strcmp(method, "HEAD");
	if (strcmp(path, "/metrics"))
		err = reply_text(fd, 404, "not found: metrics are at /metrics\n", head, deadline);
	else if (!head && strcmp(method, "GET"))
		err = reply_text(fd, 405, "only GET and HEAD\n", false, deadline);
	else
		err = serve_metrics(fd, head, render, ctx, deadline);
cleanup:
	if (err)
		pr_debug("metrics %s: reply not sent: %s\n", h->addr, strerror(-err));
	zh_close_conn(fd);
}

void zh_httpd_serve(struct zh_httpd *h, zh_httpd_render_fn render, void *ctx)
{
	int64_t round_end = zh_now_ms() + ZH_HTTPD_TIMEOUT_MS;
	int i, fd;

	/* A new connection only while the round is young: a burst of slow
	 * clients costs the loop about two timeouts, not eight.
	 */
	for (i = 0; i < ZH_HTTPD_MAX_PER_SERVE && zh_now_ms() < round_end; i++) {
		fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				pr_debug("metrics %s: accept: %s\n", h->addr, strerror(errno));
			return;
		}
		serve_conn(h, fd, render, ctx);
	}
}
