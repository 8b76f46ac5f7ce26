// SPDX-License-Identifier: GPL-2.0-only
/* The agent's observability: the Prometheus text (exact lines, escaping,
 * cumulative histogram), the /metrics HTTP server over a real TCP socket on
 * 127.0.0.1, the status socket over a real unix socket, and the client
 * `zerohop status` uses to read it. With root, the map and data-plane
 * metrics of a real instance attached in a namespace of the test's own.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cmocka.h>

#include "httpd.h"
#include "metrics.h"
#include "stats.h"
#include "statsock.h"
#include "zerohop.h"

/* The CLI's client is not in a library (the CLI does not link the agent
 * library and the agent does not need the client): build it in here.
 */
#include "../../loader/cli/agent_client.c"

/* 2026-11-21T10:00:00Z */
#define T0 1795255200

static void fill_stats(struct zh_agent_stats *st)
{
	memset(st, 0, sizeof(*st));
	snprintf(st->instance, sizeof(st->instance), "zt-no-such-instance");
	snprintf(st->host, sizeof(st->host), "h1");
	snprintf(st->source, sizeof(st->source), "etcd:http://127.0.0.1:23790");
	st->connected = true;
	st->state_since = T0;
	st->started = T0 - 60;
	st->revision = 42;
	st->events = 17;
	st->resyncs = 2;
	st->reconciles = 5;
	st->map_ops = 33;
	st->errors[ZH_AERR_map_full] = 3;
	st->ports_desired = 4;
	st->ports_attached = 3;
	zh_agent_stats_latency(st, 30);      /* <= 50 us */
	zh_agent_stats_latency(st, 120);     /* <= 250 us */
	zh_agent_stats_latency(st, 4000);    /* <= 5 ms */
	zh_agent_stats_latency(st, 3e6);     /* beyond 1 s: +Inf only */
}

static char *render_to_string(int (*fn)(FILE *, const struct zh_agent_stats *),
			      const struct zh_agent_stats *st)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(fn(f, st), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* LINE is a whole line of text. */
static void assert_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	fail_msg("line not found: %s\n--- in:\n%s", line, text);
}

static void test_error_kinds_have_names_and_help(void **state)
{
	static const char *const want[] = {"bad_record", "source", "map_full", "map_update",
					   "port_attach"};
	int i;

	assert_int_equal(ZH_AERR_MAX, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < ZH_AERR_MAX; i++) {
		assert_string_equal(zh_agent_error_name(i), want[i]);
		assert_true(strlen(zh_agent_error_help(i)) > 10);
	}
	assert_null(zh_agent_error_name(ZH_AERR_MAX));
	assert_null(zh_agent_error_help(ZH_AERR_MAX));
}

static void test_latency_buckets_are_cumulative(void **state)
{
	static const uint64_t want[ZH_LAT_BUCKETS] = {1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3};
	struct zh_agent_stats st;
	int i;

	fill_stats(&st);
	assert_int_equal(st.lat_count, 4);
	assert_true(st.lat_sum_us == 30 + 120 + 4000 + 3e6);
	for (i = 0; i < ZH_LAT_BUCKETS; i++)
		if (st.lat_bucket[i] != want[i])
			fail_msg("bucket le=%g us: %llu, want %llu", zh_lat_bucket_us[i],
				 (unsigned long long)st.lat_bucket[i],
				 (unsigned long long)want[i]);
	for (i = 1; i < ZH_LAT_BUCKETS; i++)
		assert_true(zh_lat_bucket_us[i] > zh_lat_bucket_us[i - 1]);
	assert_true(zh_lat_bucket_us[0] == 50 && zh_lat_bucket_us[ZH_LAT_BUCKETS - 1] == 1e6);
}

static void test_stats_helpers(void **state)
{
	struct zh_agent_stats st = {0};

	zh_agent_stats_error(&st, ZH_AERR_source, "%s: %s", "http://127.0.0.1:1", "refused");
	assert_int_equal(st.errors[ZH_AERR_source], 1);
	assert_string_equal(st.last_error, "http://127.0.0.1:1: refused");
	assert_true(st.last_error_time > 0);
	zh_agent_stats_connected(&st, false);
	assert_true(st.state_since > 0 && !st.connected);
	st.state_since = 1;
	zh_agent_stats_connected(&st, false); /* no change: since stays */
	assert_int_equal(st.state_since, 1);
	zh_agent_stats_connected(&st, true);
	assert_true(st.connected && st.state_since > 1);
}

static const char *const agent_lines[] = {
	"# HELP zerohop_agent_source_connected 1 while the agent has a working connection to its "
	"source (etcd or file), else 0.",
	"# TYPE zerohop_agent_source_connected gauge",
	"zerohop_agent_source_connected{source=\"etcd:http://127.0.0.1:23790\"} 1",
	"# TYPE zerohop_agent_source_state_since_seconds gauge",
	"zerohop_agent_source_state_since_seconds{source=\"etcd:http://127.0.0.1:23790\"} 1795255200",
	"zerohop_agent_info{version=\"" ZH_VERSION "\",zerohop_instance=\"zt-no-such-instance\","
	"host=\"h1\"} 1",
	"zerohop_agent_start_time_seconds 1795255140",
	"# TYPE zerohop_agent_revision gauge",
	"zerohop_agent_revision 42",
	"# TYPE zerohop_agent_events_total counter",
	"zerohop_agent_events_total 17",
	"zerohop_agent_resyncs_total 2",
	"zerohop_agent_reconciles_total 5",
	"zerohop_agent_map_ops_total 33",
	"# TYPE zerohop_agent_errors_total counter",
	"zerohop_agent_errors_total{kind=\"bad_record\"} 0",
	"zerohop_agent_errors_total{kind=\"source\"} 0",
	"zerohop_agent_errors_total{kind=\"map_full\"} 3",
	"zerohop_agent_errors_total{kind=\"map_update\"} 0",
	"zerohop_agent_errors_total{kind=\"port_attach\"} 0",
	"zerohop_agent_last_error_time_seconds 0",
	"# TYPE zerohop_agent_reconcile_latency_seconds histogram",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.00005\"} 1",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.0001\"} 1",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.00025\"} 2",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.0005\"} 2",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.001\"} 2",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.0025\"} 2",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.005\"} 3",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.01\"} 3",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.025\"} 3",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.1\"} 3",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"0.25\"} 3",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"1\"} 3",
	"zerohop_agent_reconcile_latency_seconds_bucket{le=\"+Inf\"} 4",
	"zerohop_agent_reconcile_latency_seconds_sum 3.004150",
	"zerohop_agent_reconcile_latency_seconds_count 4",
	"# TYPE zerohop_agent_ports gauge",
	"zerohop_agent_ports{state=\"desired\"} 4",
	"zerohop_agent_ports{state=\"attached\"} 3",
};

static void test_render_agent_exact_lines(void **state)
{
	struct zh_agent_stats st;
	const char *prev = NULL;
	char *text;
	size_t i;

	fill_stats(&st);
	text = render_to_string(zh_metrics_render_agent, &st);
	for (i = 0; i < sizeof(agent_lines) / sizeof(agent_lines[0]); i++)
		assert_line(text, agent_lines[i]);
	/* Every sample line follows a TYPE line of its family. */
	for (char *line = text, *next; *line; line = next) {
		next = strchr(line, '\n');
		assert_non_null(next);
		*next++ = 0;
		if (line[0] == '#') {
			if (!strncmp(line, "# TYPE ", 7))
				prev = line + 7;
			continue;
		}
		assert_non_null(prev);
		if (strncmp(line, prev, strcspn(prev, " ")))
			fail_msg("sample '%s' is not under its TYPE line ('%s')", line, prev);
	}
	free(text);
}

static void test_render_escapes_label_values(void **state)
{
	struct zh_agent_stats st;
	char *text;

	fill_stats(&st);
	snprintf(st.source, sizeof(st.source), "file:/etc/a \"b\"\\c\nd");
	text = render_to_string(zh_metrics_render_agent, &st);
	assert_line(text, "zerohop_agent_source_connected{source=\"file:/etc/a \\\"b\\\"\\\\c\\nd\"} 1");
	free(text);
}

static void test_render_without_instance(void **state)
{
	struct zh_agent_stats st;
	char *text;

	fill_stats(&st);
	text = render_to_string(zh_metrics_render, &st);
	assert_line(text, "zerohop_agent_revision 42");
	assert_line(text, "# TYPE zerohop_datapath_attached gauge");
	assert_line(text, "zerohop_datapath_attached 0");
	assert_null(strstr(text, "zerohop_map_entries"));
	assert_null(strstr(text, "zerohop_datapath_packets_total"));
	free(text);
	st.instance[0] = 0; /* an agent that has no instance name yet */
	text = render_to_string(zh_metrics_render, &st);
	assert_line(text, "zerohop_datapath_attached 0");
	free(text);
}

/* What test_render_instance_maps_and_counters rendered (for the docs test). */
static char *instance_text;

/* Root only: attach an instance to a veth in a network namespace of this
 * test (no addresses, no traffic), render its metrics, detach.
 */
static void test_render_instance_maps_and_counters(void **state)
{
	struct zh_attach_opts o = {.uplink = "zmu0"};
	char inst[32], *buf = NULL, line[128];
	size_t len = 0;
	int i, orig, err;
	FILE *f;

	if (geteuid() != 0) {
		print_message("skipped: attaching an instance needs root\n");
		skip();
	}
	orig = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(orig >= 0);
	if (unshare(CLONE_NEWNET)) {
		print_message("skipped: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		close(orig);
		skip();
	}
	snprintf(inst, sizeof(inst), "zt%d-metrics", getpid());
	o.instance = inst;
	inet_pton(AF_INET, "198.18.0.1", &o.underlay_ip);
	o.xdp = ZH_XDP_REQ_GENERIC;
	err = system("ip link add zmu0 type veth peer name zmu1 && ip link set zmu0 up && "
		     "ip link set zmu1 up");
	if (!err)
		err = zh_attach(&o, NULL);
	if (!err) {
		f = open_memstream(&buf, &len);
		err = zh_metrics_render_instance(f, inst);
		fclose(f);
		zh_detach(inst);
	}
	assert_int_equal(setns(orig, CLONE_NEWNET), 0);
	close(orig);
	assert_int_equal(err, 0);
	assert_line(buf, "zerohop_datapath_attached 1");
	assert_line(buf, "# TYPE zerohop_map_entries gauge");
	assert_line(buf, "zerohop_map_capacity{map=\"zh_endpoints\"} 65536");
	assert_line(buf, "zerohop_map_entries{map=\"zh_endpoints\"} 0");
	assert_line(buf, "zerohop_map_capacity{map=\"zh_routes\"} 16384");
	assert_line(buf, "zerohop_map_entries{map=\"zh_ifaces\"} 1");
	assert_line(buf, "# TYPE zerohop_datapath_packets_total counter");
	assert_line(buf, "# TYPE zerohop_datapath_bytes_total counter");
	for (i = 0; i < ZH_CNT_MAX; i++) {
		snprintf(line, sizeof(line), "zerohop_datapath_packets_total{counter=\"%s\"} ",
			 zh_counter_name(i));
		if (!strstr(buf, line))
			fail_msg("no sample for counter %s", zh_counter_name(i));
		snprintf(line, sizeof(line), "zerohop_datapath_bytes_total{counter=\"%s\"} ",
			 zh_counter_name(i));
		assert_non_null(strstr(buf, line));
	}
	instance_text = buf;
}

/* The source tree: the first parent of this binary (or the working
 * directory) that holds docs/metrics.md.
 */
static int find_doc(char *path, size_t len)
{
	char dir[4096], *slash;
	ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);

	snprintf(path, len, "docs/metrics.md");
	if (!access(path, R_OK))
		return 0;
	if (n <= 0)
		return -ENOENT;
	dir[n] = 0;
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = 0;
		snprintf(path, len, "%s/docs/metrics.md", dir);
		if (!access(path, R_OK))
			return 0;
	}
	return -ENOENT;
}

/* Every metric family rendered is in docs/metrics.md (as `name`). */
static void test_metric_names_documented(void **state)
{
	struct zh_agent_stats st;
	char path[4200], *doc, *text, *p, *parts[3];
	size_t len = 0;
	int i, n = 0;
	FILE *f;

	if (find_doc(path, sizeof(path))) {
		print_message("skipped: docs/metrics.md not found above this binary or here\n");
		skip();
	}
	f = fopen(path, "r");
	assert_non_null(f);
	doc = NULL;
	assert_true(getdelim(&doc, &len, 0, f) > 0);
	fclose(f);
	fill_stats(&st);
	parts[0] = render_to_string(zh_metrics_render, &st);
	parts[1] = instance_text;
	parts[2] = NULL;
	if (!instance_text)
		print_message("note: no instance rendered (not root): checking the agent part\n");
	for (i = 0; parts[i]; i++) {
		for (p = parts[i]; (p = strstr(p, "# TYPE ")); p++) {
			char name[128], quoted[132];

			assert_int_equal(sscanf(p + 7, "%127s", name), 1);
			snprintf(quoted, sizeof(quoted), "`%s`", name);
			if (!strstr(doc, quoted))
				fail_msg("docs/metrics.md does not list %s", quoted);
			n++;
		}
	}
	assert_true(n >= 14);
	text = parts[0];
	free(text);
	free(instance_text);
	instance_text = NULL;
	free(doc);
}

/* --- /metrics over TCP ------------------------------------------------ */

static int render_calls;

static int render_fixed(FILE *out, void *ctx)
{
	render_calls++;
	fputs((const char *)ctx, out);
	return 0;
}

static int render_fails(FILE *out, void *ctx)
{
	return -EIO;
}

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Everything until the server closes (bounded: 5 s per read). */
static char *read_all(int fd)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	assert_non_null(buf);
	for (;;) {
		assert_int_equal(poll(&p, 1, 5000), 1);
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0)
			break;
		len += n;
		assert_true(len < cap - 1);
	}
	buf[len] = 0;
	close(fd);
	return buf;
}

/* Send req, let the server serve, return the whole response. */
static char *http_exchange(struct zh_httpd *h, const char *req, zh_httpd_render_fn render,
			   void *ctx)
{
	int fd = tcp_connect(zh_httpd_port(h));

	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	zh_httpd_serve(h, render, ctx);
	return read_all(fd);
}

static void assert_prefix(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)))
		fail_msg("'%.60s' does not start with '%s'", s, prefix);
}

static void test_httpd_serves_metrics(void **state)
{
	static const char body[] = "# TYPE x gauge\nx 1\n";
	struct zh_httpd *h;
	char *resp, want[256];

	assert_int_equal(zh_httpd_open("127.0.0.1:0", &h), 0);
	assert_true(zh_httpd_port(h) > 0);
	assert_true(fcntl(zh_httpd_fd(h), F_GETFL) & O_NONBLOCK);

	resp = http_exchange(h, "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n",
			     render_fixed, (void *)body);
	snprintf(want, sizeof(want),
		 "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen(body), body);
	assert_string_equal(resp, want);
	free(resp);

	/* A query string is not part of the path. */
	resp = http_exchange(h, "GET /metrics?x=1 HTTP/1.0\n\n", render_fixed, (void *)body);
	assert_prefix(resp, "HTTP/1.0 200 OK\r\n");
	free(resp);

	render_calls = 0;
	resp = http_exchange(h, "HEAD /metrics HTTP/1.0\r\n\r\n", render_fixed, (void *)body);
	assert_prefix(resp, "HTTP/1.0 200 OK\r\n");
	assert_true(strstr(resp, "\r\n\r\n")[4] == 0); /* headers only */
	free(resp);

	render_calls = 0;
	resp = http_exchange(h, "GET /x HTTP/1.0\r\n\r\n", render_fixed, (void *)body);
	assert_prefix(resp, "HTTP/1.0 404 Not Found\r\n");
	assert_int_equal(render_calls, 0);
	free(resp);

	resp = http_exchange(h, "POST /metrics HTTP/1.0\r\n\r\n", render_fixed, (void *)body);
	assert_prefix(resp, "HTTP/1.0 405 Method Not Allowed\r\n");
	assert_non_null(strstr(resp, "\r\nAllow: GET, HEAD\r\n"));
	free(resp);

	resp = http_exchange(h, "GET /metrics HTTP/1.0\r\n\r\n", render_fails, NULL);
	assert_prefix(resp, "HTTP/1.0 500 Internal Server Error\r\n");
	free(resp);
	zh_httpd_close(h);
}

static void test_httpd_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"hello\r\n\r\n",
		"GET\r\n\r\n",
		"GET /metrics\r\n\r\n",
		"GET /metrics SPDY/3\r\n\r\n",
		"get /metrics HTTP/1.0\r\n\r\n",
		"GET metrics HTTP/1.0\r\n\r\n",
		"GET /met\x01rics HTTP/1.0\r\n\r\n",
		"\x16\x03\x01\x02\x05\x01", /* a TLS hello: no blank line ever */
		"BREW /pot HTCPCP/1.0\r\n", /* a bad first line, refused before a blank line */
	};
	struct zh_httpd *h;
	size_t i;

	assert_int_equal(zh_httpd_open("127.0.0.1:0", &h), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *resp = http_exchange(h, bad[i], render_fixed, "x\n");

		if (strncmp(resp, "HTTP/1.0 400 Bad Request\r\n", 26))
			fail_msg("request %zu: got '%.40s'", i, resp);
		free(resp);
	}
	zh_httpd_close(h);
}

/* A client that connects and says nothing must not hold serve(): it is
 * dropped at the deadline and the client behind it is answered (in this
 * round or the next). Whether serve() returns is asserted, not how fast.
 */
static void test_httpd_drops_silent_client(void **state)
{
	struct zh_httpd *h;
	int silent, good;
	char *resp;
	const char req[] = "GET /metrics HTTP/1.0\r\n\r\n";

	assert_int_equal(zh_httpd_open("127.0.0.1:0", &h), 0);
	silent = tcp_connect(zh_httpd_port(h));
	good = tcp_connect(zh_httpd_port(h));
	assert_int_equal(send(good, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	zh_httpd_serve(h, render_fixed, "x 1\n");
	zh_httpd_serve(h, render_fixed, "x 1\n"); /* a round may stop after the silent one */
	resp = read_all(good);
	assert_prefix(resp, "HTTP/1.0 200 OK\r\n");
	free(resp);
	resp = read_all(silent); /* closed by the server, perhaps after a 408 */
	assert_true(resp[0] == 0 || !strncmp(resp, "HTTP/1.0 408 ", 13));
	free(resp);

	/* An oversized request is refused, not read forever. */
	{
		char big[ZH_HTTPD_MAX_REQUEST + 100];

		memset(big, 'a', sizeof(big));
		memcpy(big, "GET /", 5);
		big[sizeof(big) - 1] = 0;
		resp = http_exchange(h, big, render_fixed, "x 1\n");
		assert_prefix(resp, "HTTP/1.0 431 ");
		free(resp);
	}
	zh_httpd_close(h);
}

static void test_httpd_bad_addresses(void **state)
{
	static const char *const bad[] = {
		"", "nonsense", "127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:99999",
		"127.0.0.1:80x", ":9464", "1.2.3:80", "::1:9464", "[::1]9464", "[::1", "[zz]:80",
		"localhost:9464",
	};
	struct zh_httpd *h = (void *)1;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = zh_httpd_open(bad[i], &h);

		if (err != -EINVAL)
			fail_msg("'%s': got %d, want -EINVAL", bad[i], err);
		assert_null(h);
	}
	/* IPv6 in brackets works where the loopback has ::1. */
	if (zh_httpd_open("[::1]:0", &h) == 0) {
		assert_true(zh_httpd_port(h) > 0);
		zh_httpd_close(h);
	}
}

/* --- status socket ------------------------------------------------------ */

struct serve_once {
	struct zh_statsock *s;
	const struct zh_agent_stats *st;
};

/* The agent's side, in a thread: wait (bounded) for a client, answer. */
static void *serve_thread(void *arg)
{
	struct serve_once *so = arg;
	struct pollfd p = {.fd = zh_statsock_fd(so->s), .events = POLLIN};

	if (poll(&p, 1, 5000) == 1)
		zh_statsock_serve(so->s, so->st);
	return NULL;
}

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/zt-statsock-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static void test_statsock_round_trip(void **state)
{
	char path[128], dir[128], line[1024];
	struct zh_agent_stats st;
	struct agent_reply r;
	struct serve_once so;
	struct zh_statsock *s;
	json_object *v;
	struct stat sb;
	pthread_t th;

	fill_stats(&st);
	snprintf(st.last_error, sizeof(st.last_error), "networks/a/endpoints/x: \"mac\" bad");
	st.last_error_time = T0 + 30;
	snprintf(dir, sizeof(dir), "%s/run/zerohop", tmpdir);
	snprintf(path, sizeof(path), "%s/agent-t.sock", dir);
	assert_int_equal(zh_statsock_open(path, &s), 0);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0660);

	so.s = s;
	so.st = &st;
	assert_int_equal(pthread_create(&th, NULL, serve_thread, &so), 0);
	agent_query(path, AGENT_QUERY_TIMEOUT_MS, &r);
	pthread_join(th, NULL);
	if (r.state != AGENT_ANSWERED)
		fail_msg("state %d: %s", r.state, r.error);
	assert_string_equal(json_object_get_string(json_object_object_get(r.doc, "instance")),
			    "zt-no-such-instance");
	assert_string_equal(json_object_get_string(json_object_object_get(r.doc, "since")),
			    "2026-11-21T10:00:00Z");
	assert_int_equal(json_object_get_int64(json_object_object_get(r.doc, "since_epoch")), T0);
	assert_int_equal(json_object_get_int64(json_object_object_get(r.doc, "revision")), 42);
	assert_true(json_object_object_get_ex(r.doc, "errors", &v));
	assert_int_equal(json_object_get_int64(json_object_object_get(v, "map_full")), 3);
	assert_int_equal(json_object_get_int64(json_object_object_get(v, "port_attach")), 0);
	assert_true(json_object_object_get_ex(r.doc, "ports", &v));
	assert_int_equal(json_object_get_int64(json_object_object_get(v, "attached")), 3);
	assert_int_equal(json_object_get_int64(json_object_object_get(r.doc, "pid")), getpid());

	agent_summary(r.doc, T0 + 300, line, sizeof(line));
	assert_string_equal(line, "source etcd:http://127.0.0.1:23790, connected since "
				  "2026-11-21T10:00:00Z (5m ago), revision 42, last error: "
				  "networks/a/endpoints/x: \"mac\" bad (2026-11-21T10:00:30Z, "
				  "4m ago)");
	v = agent_json(&r);
	assert_string_equal(json_object_get_string(json_object_object_get(v, "socket")), path);
	json_object_put(v);
	agent_reply_free(&r);

	/* A second agent on the same socket is refused while the first lives. */
	{
		struct zh_statsock *s2 = (void *)1;

		assert_int_equal(zh_statsock_open(path, &s2), -EADDRINUSE);
		assert_null(s2);
	}
	zh_statsock_close(s);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_statsock_replaces_stale_socket(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[128];
	struct zh_statsock *s;
	struct agent_reply r;
	int fd;

	snprintf(path, sizeof(path), "%s/stale.sock", tmpdir);
	/* A socket file nobody listens on: what a killed agent leaves. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);

	agent_query(path, 200, &r);
	assert_int_equal(r.state, AGENT_NOT_ANSWERING);
	assert_string_equal(r.error, "connect: Connection refused");
	agent_reply_free(&r);

	assert_int_equal(zh_statsock_open(path, &s), 0);
	zh_statsock_close(s);

	/* Not a socket: left alone. */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	s = (void *)1;
	assert_int_equal(zh_statsock_open(path, &s), -EEXIST);
	assert_null(s);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

static void test_client_states(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[128], *out = NULL;
	struct agent_reply r;
	size_t len = 0;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/none.sock", tmpdir);
	agent_query(path, 200, &r);
	assert_int_equal(r.state, AGENT_NOT_RUNNING);
	assert_null(agent_json(&r));
	f = open_memstream(&out, &len);
	agent_print_text(f, &r, "x", T0);
	fclose(f);
	assert_string_equal(out, "  agent: not running\n");
	free(out);

	/* Listening but never answering: the client gives up at its timeout. */
	snprintf(path, sizeof(path), "%s/mute.sock", tmpdir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	agent_query(path, 200, &r);
	assert_int_equal(r.state, AGENT_NOT_ANSWERING);
	assert_string_equal(r.error, "no answer within 200 ms");
	out = NULL;
	f = open_memstream(&out, &len);
	agent_print_text(f, &r, "x", T0);
	fclose(f);
	assert_non_null(strstr(out, "  agent: not answering ("));
	assert_non_null(strstr(out, "mute.sock: no answer within 200 ms)\n"));
	free(out);
	close(fd);
}

static void test_client_parse(void **state)
{
	static const char *const bad[] = {"", "garbage", "[1,2]", "\"s\"", "{\"a\":1} x",
					  "{\"a\":"};
	const char *why;
	json_object *o;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (agent_parse(bad[i], strlen(bad[i]), &o, &why) != -EINVAL)
			fail_msg("'%s' parsed", bad[i]);
		assert_null(o);
	}
	assert_int_equal(agent_parse("{\"a\":1}\n", 8, &o, &why), 0);
	json_object_put(o);
}

/* The client reads what the server writes: summary of a disconnected agent
 * with no error, from the document zh_statsock_json makes.
 */
static void test_client_summary_of_server_document(void **state)
{
	struct zh_agent_stats st;
	char *doc, line[512];
	const char *why;
	json_object *o;

	fill_stats(&st);
	st.connected = false;
	st.state_since = T0 - 7200 - 300;
	doc = zh_statsock_json(&st, T0);
	assert_non_null(doc);
	assert_int_equal(doc[strlen(doc) - 1], '\n');
	assert_int_equal(agent_parse(doc, strlen(doc), &o, &why), 0);
	assert_int_equal(json_object_get_type(json_object_object_get(o, "last_error")),
			 json_type_null);
	assert_int_equal(json_object_get_int64(json_object_object_get(o, "uptime_seconds")), 60);
	agent_summary(o, T0, line, sizeof(line));
	assert_string_equal(line, "source etcd:http://127.0.0.1:23790, disconnected since "
				  "2026-11-21T07:55:00Z (2h5m ago), revision 42, last error: none");
	json_object_put(o);
	free(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_kinds_have_names_and_help),
		cmocka_unit_test(test_latency_buckets_are_cumulative),
		cmocka_unit_test(test_stats_helpers),
		cmocka_unit_test(test_render_agent_exact_lines),
		cmocka_unit_test(test_render_escapes_label_values),
		cmocka_unit_test(test_render_without_instance),
		cmocka_unit_test(test_render_instance_maps_and_counters),
		cmocka_unit_test(test_metric_names_documented),
		cmocka_unit_test(test_httpd_serves_metrics),
		cmocka_unit_test(test_httpd_rejects_garbage),
		cmocka_unit_test(test_httpd_drops_silent_client),
		cmocka_unit_test(test_httpd_bad_addresses),
		cmocka_unit_test(test_statsock_round_trip),
		cmocka_unit_test(test_statsock_replaces_stale_socket),
		cmocka_unit_test(test_client_states),
		cmocka_unit_test(test_client_parse),
		cmocka_unit_test(test_client_summary_of_server_document),
	};

	return cmocka_run_group_tests_name("metrics", tests, make_tmpdir, remove_tmpdir);
}
