// SPDX-License-Identifier: GPL-2.0-only
/* etcd v3 client over the JSON gateway (see etcd.h): blocking calls on one
 * curl easy handle per client, subscriptions as state machines on a curl
 * multi handle shared by a loop.
 *
 * A subscription goes AUTH (when a user is set and there is no token) ->
 * LIST (pages at one pinned revision) -> WATCH (a stream from the listed
 * revision + 1, resumed from the last revision seen + 1) and, on any
 * failure, BACKOFF (jittered, 100 ms doubling to 5 s) then the next
 * endpoint. Callbacks run only from zh_etcd_poll()'s top level, never from
 * inside curl, so they may unsubscribe or make blocking calls.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "etcd.h"
#include "etcd_wire.h"

#define DEFAULT_TIMEOUT_MS   5000u
#define CONNECT_TIMEOUT_MS   2000u
#define DEFAULT_PAGE_SIZE    1000u
/* Subscriptions list in bigger pages: etcd 3.4 walks the whole range index
 * for every page (its cost grows with what is left to list), so 1000-key
 * pages make a 1M-key listing quadratic. 10000 keys are ~3 MB of JSON.
 */
#define SUB_PAGE_SIZE        10000u
/* ... and each further page of one listing doubles, up to this (~25 MB of
 * JSON, well under the response cap), so the listing takes O(log N) pages.
 */
#define SUB_PAGE_MAX         80000u
#define TXN_MAX_OPS          128u
/* etcd refuses requests over --max-request-bytes (1.5 MiB by default). */
#define TXN_MAX_BYTES        (1u << 20)
/* Listings and logins of one loop's subscriptions that run at once. A
 * controller of a large peering mesh starts thousands together, and an
 * etcd asked for all of them at once answers none within the request
 * timeout, so every retry starts over. The others wait their turn; a
 * listing that has begun goes on (its next page is not queued).
 */
#define SUB_HEAVY_MAX        8u
/* A subscription's listing page or login may take this long (at least):
 * on a loaded etcd a page of tens of thousands of keys takes seconds, and
 * one that times out is asked for again from scratch. A member that is
 * gone is found by the connect timeout and TCP keepalive.
 */
#define SUB_SLOW_TIMEOUT_MS  30000u
#define BACKOFF_MIN_MS       100u
#define BACKOFF_MAX_MS       5000u
/* A stream that stayed up this long starts the next backoff from the minimum. */
#define BACKOFF_RESET_MS     5000u
#define REASON_MAX           512

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t partial;            /* bytes after the last newline (streams) */
	bool overflow;
};

struct zh_etcd {
	char **eps;
	size_t n_eps;
	size_t cur;
	char *user;
	char *password;
	char *cacert;
	char *cert;
	char *key;
	unsigned int timeout_ms;
	char *token;
	bool auth_off;             /* the server said auth is not enabled */
	CURL *easy;
	struct zh_etcd_loop *loop;
	struct zh_etcd_sub *subs;
	char err[REASON_MAX];
};

enum sub_phase {
	SUB_START,                 /* step at the next poll */
	SUB_QUEUED,                /* wants to list or log in: waits for a slot */
	SUB_BUSY,                  /* a transfer is running */
	SUB_BACKOFF,
};

enum xfer_kind {
	XFER_NONE,
	XFER_AUTH,
	XFER_LIST,
	XFER_WATCH,
};

struct zh_etcd_sub {
	struct zh_etcd *e;
	struct zh_etcd_loop *loop;
	struct zh_etcd_sub *next_in_client;
	struct zh_etcd_sub *next_in_loop;
	struct zh_etcd_sub_cbs cbs;
	void *ctx;
	char *prefix;
	size_t prefix_len;
	struct zh_bytes start;     /* first key of the prefix ("\0" for "") */
	struct zh_bytes end;       /* its range_end */

	enum sub_phase phase;
	size_t ep;
	uint64_t deadline_ms;      /* BACKOFF: when to try again */
	unsigned int backoff_ms;
	uint64_t up_since_ms;      /* when the watch was created, 0 if not */

	/* LIST */
	bool need_list;
	bool resyncing;            /* resync_begin called, resync_end not yet */
	int64_t list_rev;          /* pinned by the first page */
	struct zh_bytes list_key;  /* next page starts here */
	unsigned int page_size;

	/* WATCH */
	int64_t rev;               /* last revision applied */
	bool watch_created;
	bool reauthed;             /* one re-authentication per failure */

	bool connected;
	char reason[REASON_MAX];
	bool dead;

	/* the transfer */
	CURL *easy;
	enum xfer_kind xfer;
	unsigned int gen;          /* bumped by every start and stop */
	char *body;
	struct curl_slist *hdrs;
	struct buf resp;
	char errbuf[CURL_ERROR_SIZE];
};

struct zh_etcd_loop {
	CURLM *multi;
	struct zh_etcd_sub *subs;
	struct zh_etcd_sub *last;  /* of subs */
	bool in_poll;
	unsigned int seed;
	unsigned int n_heavy;      /* listings and logins running (SUB_HEAVY_MAX) */
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void curl_init_once(void)
{
	static bool done;

	if (!done) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		done = true;
	}
}

static void seterr(struct zh_etcd *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void seterr(struct zh_etcd *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->err, sizeof(e->err), fmt, ap);
	va_end(ap);
}

/* --- buffers ------------------------------------------------------------------ */

static void buf_reset(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int buf_append(struct buf *b, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *d;

		while (cap < b->len + n + 1)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

/* A whole response is capped; a stream only per line. */
static size_t write_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n > ZH_WIRE_MAX_MSG || buf_append(b, p, n)) {
		b->overflow = true;
		return 0;
	}
	return n;
}

static size_t write_stream(char *p, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	const char *nl = memrchr(p, '\n', n);

	b->partial = nl ? (size_t)(p + n - nl - 1) : b->partial + n;
	if (b->partial > ZH_WIRE_MAX_MSG || buf_append(b, p, n)) {
		b->overflow = true;
		return 0;
	}
	return n;
}

static int bytes_set(struct zh_bytes *b, const void *data, size_t len, bool nul_after)
{
	char *d = malloc(len + 2);

	if (!d)
		return -ENOMEM;
	memcpy(d, data, len);
	d[len] = '\0';
	d[len + 1] = '\0';
	free(b->data);
	b->data = d;
	b->len = len + (nul_after ? 1 : 0);
	return 0;
}

/* The range of a prefix: etcd refuses an empty key, so "" is "\0".."\0". */
static int prefix_range(const char *prefix, struct zh_bytes *start, struct zh_bytes *end)
{
	size_t len = strlen(prefix);
	int ret;

	ret = len ? bytes_set(start, prefix, len, false) : bytes_set(start, "", 0, true);
	if (!ret)
		ret = zh_wire_prefix_end(prefix, len, end);
	return ret;
}

/* --- client ------------------------------------------------------------------ */

static int parse_endpoints(struct zh_etcd *e, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		const char *s = p;
		char **eps, *ep;
		size_t i;

		p += n;
		if (*p == ',')
			p++;
		while (n && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '/'))
			n--;
		if (!n)
			continue;
		for (i = 0; i < n; i++) {
			if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f) {
				seterr(e, "endpoints: \"%.*s\": not a URL", (int)n, s);
				return -EINVAL;
			}
		}
		eps = realloc(e->eps, (e->n_eps + 1) * sizeof(*eps));
		if (!eps)
			return -ENOMEM;
		e->eps = eps;
		if (!strncmp(s, "http://", 7) || !strncmp(s, "https://", 8)) {
			ep = strndup(s, n);
		} else if (strstr(s, "://") && (size_t)(strstr(s, "://") - s) < n) {
			seterr(e, "endpoints: \"%.*s\": only http:// and https:// are supported",
			       (int)n, s);
			return -EINVAL;
		} else if (asprintf(&ep, "http://%.*s", (int)n, s) < 0) {
			ep = NULL;
		}
		if (!ep)
			return -ENOMEM;
		e->eps[e->n_eps++] = ep;
	}
	if (!e->n_eps) {
		seterr(e, "endpoints: none given");
		return -EINVAL;
	}
	return 0;
}

static int dup_opt(char **dst, const char *src)
{
	if (!src || !*src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static struct zh_etcd *open_error_client(void)
{
	/* zh_etcd_error() of a failed open: callers get *out = NULL, so the
	 * reason lives in a static client.
	 */
	static struct zh_etcd failed;

	return &failed;
}

int zh_etcd_open(const struct zh_etcd_opts *opts, struct zh_etcd **out)
{
	struct zh_etcd *e;
	int ret;

	*out = NULL;
	if (!opts || !opts->endpoints)
		return -EINVAL;
	curl_init_once();
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->timeout_ms = opts->timeout_ms ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	ret = parse_endpoints(e, opts->endpoints);
	if (!ret && opts->user && *opts->user && !opts->password) {
		seterr(e, "etcd user %s: no password", opts->user);
		ret = -EINVAL;
	}
	if (!ret)
		ret = dup_opt(&e->user, opts->user);
	if (!ret)
		ret = dup_opt(&e->password, opts->password);
	if (!ret)
		ret = dup_opt(&e->cacert, opts->cacert);
	if (!ret)
		ret = dup_opt(&e->cert, opts->cert);
	if (!ret)
		ret = dup_opt(&e->key, opts->key);
	if (!ret) {
		e->easy = curl_easy_init();
		if (!e->easy)
			ret = -ENOMEM;
	}
	if (ret) {
		snprintf(open_error_client()->err, sizeof(e->err), "%s",
			 e->err[0] ? e->err : strerror(-ret));
		zh_etcd_close(e);
		return ret;
	}
	*out = e;
	return 0;
}

void zh_etcd_close(struct zh_etcd *e)
{
	size_t i;

	if (!e)
		return;
	while (e->subs)
		zh_etcd_unsubscribe(e->subs);
	if (e->easy)
		curl_easy_cleanup(e->easy);
	for (i = 0; i < e->n_eps; i++)
		free(e->eps[i]);
	free(e->eps);
	free(e->user);
	if (e->password) {
		explicit_bzero(e->password, strlen(e->password));
		free(e->password);
	}
	free(e->cacert);
	free(e->cert);
	free(e->key);
	free(e->token);
	free(e);
}

const char *zh_etcd_error(const struct zh_etcd *e)
{
	if (!e)
		return open_error_client()->err;
	return e->err;
}

const char *zh_etcd_endpoint(const struct zh_etcd *e)
{
	return e->eps[e->cur];
}

void zh_etcd_set_loop(struct zh_etcd *e, struct zh_etcd_loop *l)
{
	e->loop = l;
}

/* --- one HTTP exchange ------------------------------------------------------------ */

/* Options for a POST of body to path on endpoint ep; timeout_ms 0: none
 * (a stream).
 */
static int setup_easy(struct zh_etcd *e, CURL *h, size_t ep, const char *path, const char *body,
		      struct curl_slist **hdrs, struct buf *resp, char *errbuf, bool stream,
		      unsigned int timeout_ms)
{
	unsigned int connect_ms = e->timeout_ms < CONNECT_TIMEOUT_MS ? e->timeout_ms
								  : CONNECT_TIMEOUT_MS;
	struct curl_slist *l = NULL, *n;
	char url[1024];
	char *auth = NULL;

	curl_easy_reset(h);
	curl_slist_free_all(*hdrs);
	*hdrs = NULL;
	snprintf(url, sizeof(url), "%s%s", e->eps[ep], path);
	l = curl_slist_append(NULL, "Content-Type: application/json");
	n = l ? curl_slist_append(l, "Expect:") : NULL;
	/* gRPC metadata hasleader=true (clientv3's WithRequireLeader): a
	 * member without a leader refuses requests and cancels our watch
	 * ("etcdserver: no leader") instead of serving a stale, silent stream.
	 */
	n = n ? curl_slist_append(l, "Grpc-Metadata-Hasleader: true") : NULL;
	if (n && e->token) {
		n = asprintf(&auth, "Authorization: %s", e->token) >= 0 ? curl_slist_append(l, auth)
									 : NULL;
		free(auth);
	}
	if (!n) {
		curl_slist_free_all(l);
		return -ENOMEM;
	}
	*hdrs = l;
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stream ? write_stream : write_body);
	/* A watch idles on its socket for hours: a small receive buffer (an
	 * agent with 1000 peerings holds 2000 of them); other requests get
	 * libcurl's default.
	 */
	curl_easy_setopt(h, CURLOPT_BUFFERSIZE, stream ? 4096L : (long)CURL_MAX_WRITE_SIZE);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	/* A member that vanishes without closing the stream is found by TCP
	 * keepalive (10 s idle, then probes every 5 s).
	 */
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 10L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 5L);
	if (e->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, e->cacert);
	if (e->cert)
		curl_easy_setopt(h, CURLOPT_SSLCERT, e->cert);
	if (e->key)
		curl_easy_setopt(h, CURLOPT_SSLKEY, e->key);
	return 0;
}

/* The cause of a failed transfer as text and -errno. */
static int transport_error(CURL *h, CURLcode rc, const struct buf *resp, const char *errbuf,
			   char *cause, size_t n)
{
	long os = 0;

	curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os);
	if (resp->overflow) {
		snprintf(cause, n, "response larger than %u bytes", ZH_WIRE_MAX_MSG);
		return -EMSGSIZE;
	}
	if (rc == CURLE_COULDNT_CONNECT && os > 0) {
		snprintf(cause, n, "%s", strerror((int)os));
		if (cause[0] >= 'A' && cause[0] <= 'Z')
			cause[0] += 'a' - 'A';
		return -(int)os;
	}
	snprintf(cause, n, "%s", errbuf && errbuf[0] ? errbuf : curl_easy_strerror(rc));
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* What to do about a server error. */
static bool error_is_auth(const struct zh_wire_error *w)
{
	return w->grpc_code == ZH_GRPC_UNAUTHENTICATED || strstr(w->message, "invalid auth token") ||
	       strstr(w->message, "user name is empty");
}

static bool error_is_retryable(long http, const struct zh_wire_error *w)
{
	return http >= 500 || w->grpc_code == ZH_GRPC_UNAVAILABLE ||
	       w->grpc_code == ZH_GRPC_DEADLINE_EXCEEDED || strstr(w->message, "no leader") ||
	       strstr(w->message, "leader changed") || strstr(w->message, "server stopped");
}

typedef int (*parse_fn)(const char *buf, size_t len, void *out, struct zh_wire_error *err);

/* Outcome of a completed transfer: 0, or -errno with reason in cause and
 * *retry (another endpoint may do better) / *reauth (the token is bad).
 */
static int judge(long http, const struct buf *resp, parse_fn parse, void *out, bool *retry,
		 bool *reauth, char *cause, size_t n)
{
	struct zh_wire_error w;
	int ret;

	*retry = false;
	*reauth = false;
	if (http == 200) {
		ret = parse(resp->data ? resp->data : "", resp->len, out, &w);
		if (!ret)
			return 0;
		if (ret == -EBADMSG) {
			snprintf(cause, n, "malformed response: %s", w.message);
			return ret;
		}
		if (ret != -EPROTO) {
			snprintf(cause, n, "%s", strerror(-ret));
			return ret;
		}
	} else if (zh_wire_parse_error(resp->data ? resp->data : "", resp->len, &w)) {
		snprintf(cause, n, "HTTP status %ld", http);
		*retry = http >= 500 || http == 0;
		return http == 404 ? -ENOENT : -EPROTO;
	}
	snprintf(cause, n, "%s", w.message);
	*reauth = error_is_auth(&w);
	*retry = error_is_retryable(http, &w);
	return zh_wire_errno(w.grpc_code);
}

/* POST body to path on endpoint ep with the client's easy handle. */
static int exchange(struct zh_etcd *e, size_t ep, const char *path, const char *what,
		    const char *body, parse_fn parse, void *out, bool *retry, bool *reauth)
{
	char errbuf[CURL_ERROR_SIZE], cause[REASON_MAX - 128];
	struct curl_slist *hdrs = NULL;
	struct buf resp = { 0 };
	long http = 0;
	CURLcode rc;
	int ret;

	*retry = false;
	*reauth = false;
	ret = setup_easy(e, e->easy, ep, path, body, &hdrs, &resp, errbuf, false, e->timeout_ms);
	if (ret) {
		seterr(e, "%s: %s: %s", e->eps[ep], what, strerror(-ret));
		return ret;
	}
	rc = curl_easy_perform(e->easy);
	if (rc != CURLE_OK) {
		ret = transport_error(e->easy, rc, &resp, errbuf, cause, sizeof(cause));
		*retry = ret != -EMSGSIZE && ret != -ENOMEM;
	} else {
		curl_easy_getinfo(e->easy, CURLINFO_RESPONSE_CODE, &http);
		ret = judge(http, &resp, parse, out, retry, reauth, cause, sizeof(cause));
	}
	if (ret)
		seterr(e, "%s: %s: %s", e->eps[ep], what, cause);
	/* The handle keeps no pointer to this call's memory. */
	curl_easy_setopt(e->easy, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e->easy, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(e->easy, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(e->easy, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	buf_reset(&resp);
	return ret;
}

static int parse_auth_cb(const char *buf, size_t len, void *out, struct zh_wire_error *err)
{
	return zh_wire_parse_auth(buf, len, out, err);
}

static int parse_range_cb(const char *buf, size_t len, void *out, struct zh_wire_error *err)
{
	return zh_wire_parse_range(buf, len, out, err);
}

static int parse_txn_cb(const char *buf, size_t len, void *out, struct zh_wire_error *err)
{
	return zh_wire_parse_txn(buf, len, out, err);
}

static bool need_token(const struct zh_etcd *e)
{
	return e->user && !e->token && !e->auth_off;
}

/* A server without auth enabled is used without a token: credentials can
 * be rolled out before auth is switched on.
 */
static bool auth_not_enabled(const char *msg)
{
	return strstr(msg, "authentication is not enabled") != NULL;
}

static int authenticate(struct zh_etcd *e, size_t ep, bool *retry)
{
	char what[128], *body, *token = NULL;
	bool reauth;
	int ret;

	body = zh_wire_auth_request(e->user, e->password);
	if (!body)
		return -ENOMEM;
	snprintf(what, sizeof(what), "authenticate as %s", e->user);
	ret = exchange(e, ep, "/v3/auth/authenticate", what, body, parse_auth_cb, &token, retry,
		       &reauth);
	explicit_bzero(body, strlen(body));
	free(body);
	if (ret && auth_not_enabled(e->err)) {
		e->auth_off = true;
		return 0;
	}
	if (ret)
		return ret;
	free(e->token);
	e->token = token;
	return 0;
}

static void drop_token(struct zh_etcd *e)
{
	free(e->token);
	e->token = NULL;
	e->auth_off = false;
}

/* A blocking request with failover: every endpoint is tried at least once;
 * retryable failures (unreachable, 5xx, no leader) go on with a short
 * backoff until timeout_ms has passed. A bad token is renewed once.
 */
static int call(struct zh_etcd *e, const char *path, const char *what, const char *body,
		parse_fn parse, void *out)
{
	uint64_t deadline = now_ms() + e->timeout_ms;
	unsigned int backoff = 0;
	bool reauthed = false;
	int ret = -EIO;

	for (;;) {
		size_t tries;
		uint64_t now;

		for (tries = 0; tries < e->n_eps; tries++) {
			size_t ep = e->cur;
			bool retry = false, reauth = false;

			ret = need_token(e) ? authenticate(e, ep, &retry) : 0;
			if (!ret)
				ret = exchange(e, ep, path, what, body, parse, out, &retry, &reauth);
			if (!ret)
				return 0;
			if (reauth && e->user && !reauthed) {
				reauthed = true;
				drop_token(e);
				tries--;
				continue;
			}
			if (!retry)
				return ret;
			e->cur = (ep + 1) % e->n_eps;
		}
		now = now_ms();
		if (now >= deadline)
			return ret;
		backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
		if (backoff > 1000)
			backoff = 1000;
		if (backoff > deadline - now)
			backoff = deadline - now;
		usleep(backoff * 1000);
	}
}

/* --- blocking calls ------------------------------------------------------------ */

int zh_etcd_list(struct zh_etcd *e, const char *prefix, unsigned int page_size,
		 int64_t *rev, zh_etcd_kv_cb cb, void *ctx)
{
	struct zh_bytes key = { 0 }, end = { 0 };
	unsigned int limit = page_size ? page_size : DEFAULT_PAGE_SIZE;
	int64_t revision = 0;
	char what[256];
	int ret;

	if (rev)
		*rev = 0;
	snprintf(what, sizeof(what), "list %.200s", prefix);
	ret = prefix_range(prefix, &key, &end);
	if (ret)
		goto out;
	for (;;) {
		struct zh_wire_range r;
		char *body;
		size_t i;

		body = zh_wire_range_request(key.data, key.len, end.data, end.len, limit, revision);
		if (!body) {
			ret = -ENOMEM;
			goto out;
		}
		ret = call(e, "/v3/kv/range", what, body, parse_range_cb, &r);
		free(body);
		if (ret == -EMSGSIZE && limit > 1) {
			/* a page of huge values: smaller pages */
			limit = limit / 8 ? limit / 8 : 1;
			continue;
		}
		if (ret)
			goto out;
		if (!revision)
			revision = r.revision;
		for (i = 0; i < r.n_kvs; i++) {
			const struct zh_wire_kv *w = &r.kvs[i];
			struct zh_kv kv = {
				.key = w->key, .key_len = w->key_len,
				.value = w->value, .value_len = w->value_len,
				.mod_revision = w->mod_revision,
			};

			ret = cb(&kv, ctx);
			if (ret)
				break;
		}
		if (!ret && r.more && r.n_kvs) {
			const struct zh_wire_kv *last = &r.kvs[r.n_kvs - 1];

			ret = bytes_set(&key, last->key, last->key_len, true);
		}
		if (ret || !r.more || !r.n_kvs) {
			zh_wire_range_free(&r);
			break;
		}
		zh_wire_range_free(&r);
	}
	if (!ret && rev)
		*rev = revision;
out:
	free(key.data);
	free(end.data);
	return ret;
}

int zh_etcd_get(struct zh_etcd *e, const char *key, char **value, size_t *len)
{
	struct zh_wire_range r;
	char what[256], *body;
	int ret;

	*value = NULL;
	if (len)
		*len = 0;
	snprintf(what, sizeof(what), "get %.200s", key);
	body = zh_wire_range_request(key, strlen(key), NULL, 0, 0, 0);
	if (!body)
		return -ENOMEM;
	ret = call(e, "/v3/kv/range", what, body, parse_range_cb, &r);
	free(body);
	if (ret)
		return ret;
	if (!r.n_kvs) {
		seterr(e, "%s: %s: not found", e->eps[e->cur], key);
		ret = -ENOENT;
	} else {
		*value = r.kvs[0].value;
		if (len)
			*len = r.kvs[0].value_len;
		r.kvs[0].value = NULL;
	}
	zh_wire_range_free(&r);
	return ret;
}

/* Would a and b touch a common key (etcd refuses that in one txn)? */
static bool ops_overlap(const struct zh_etcd_op *a, const struct zh_etcd_op *b)
{
	const char *ka = a->key ? a->key : "", *kb = b->key ? b->key : "";

	if (a->type == ZH_ETCD_DELETE_PREFIX && !strncmp(kb, ka, strlen(ka)))
		return true;
	if (b->type == ZH_ETCD_DELETE_PREFIX && !strncmp(ka, kb, strlen(kb)))
		return true;
	return !strcmp(ka, kb);
}

int zh_etcd_txn(struct zh_etcd *e, const struct zh_etcd_op *ops, size_t n, size_t *done,
		int64_t *rev)
{
	size_t first = 0;
	int ret = 0;

	if (done)
		*done = 0;
	if (rev)
		*rev = 0;
	while (first < n) {
		size_t count = 0, bytes = 0, i;
		struct zh_wire_txn t;
		char what[64], *body;

		while (first + count < n && count < TXN_MAX_OPS) {
			const struct zh_etcd_op *op = &ops[first + count];
			size_t sz = zh_wire_op_size(op);
			bool clash = false;

			if (!op->key || (op->type == ZH_ETCD_PUT && !op->value) ||
			    op->type > ZH_ETCD_DELETE_PREFIX) {
				seterr(e, "txn: op %zu: %s", first + count,
				       !op->key ? "no key" : op->type == ZH_ETCD_PUT ? "put without a value"
										     : "unknown type");
				return -EINVAL;
			}
			if (count && bytes + sz > TXN_MAX_BYTES)
				break;
			for (i = 0; i < count && !clash; i++)
				clash = ops_overlap(&ops[first + i], op);
			if (clash)
				break;
			bytes += sz;
			count++;
		}
		body = zh_wire_txn_request(ops + first, count);
		if (!body)
			return -ENOMEM;
		snprintf(what, sizeof(what), "txn of ops %zu..%zu", first, first + count - 1);
		ret = call(e, "/v3/kv/txn", what, body, parse_txn_cb, &t);
		free(body);
		if (ret)
			return ret;
		if (!t.succeeded) {
			seterr(e, "%s: %s: not applied", e->eps[e->cur], what);
			return -EPROTO;
		}
		first += count;
		if (done)
			*done = first;
		if (rev)
			*rev = t.revision;
	}
	return ret;
}

/* --- auth admin ------------------------------------------------------------------ */

static int parse_ok_cb(const char *buf, size_t len, void *out, struct zh_wire_error *err)
{
	return zh_wire_parse_ok(buf, len, err);
}

struct strings_out {
	const char *field;
	char ***v;
	size_t *n;
};

static int parse_strings_cb(const char *buf, size_t len, void *out, struct zh_wire_error *err)
{
	struct strings_out *o = out;

	return zh_wire_parse_strings(buf, len, o->field, o->v, o->n, err);
}

struct perms_out {
	struct zh_etcd_perm **perms;
	size_t *n;
};

static int parse_perms_cb(const char *buf, size_t len, void *out, struct zh_wire_error *err)
{
	struct perms_out *o = out;

	return zh_wire_parse_perms(buf, len, o->perms, o->n, err);
}

/* One admin request; body is consumed (wiped: it may hold a password).
 * etcd says "already exists" / "not found" / "not granted" with one code
 * (FailedPrecondition): the message tells them apart.
 */
static int admin(struct zh_etcd *e, const char *path, const char *what, char *body,
		 parse_fn parse, void *out)
{
	int ret;

	if (!body)
		return -ENOMEM;
	ret = call(e, path, what, body, parse, out);
	explicit_bzero(body, strlen(body));
	free(body);
	if (ret && ret != -EACCES && strstr(e->err, "already exists"))
		return -EEXIST;
	if (ret && ret != -EACCES && (strstr(e->err, "not found") || strstr(e->err, "not granted")))
		return -ENOENT;
	return ret;
}

int zh_etcd_user_add(struct zh_etcd *e, const char *user, const char *password)
{
	char what[128];

	snprintf(what, sizeof(what), "add user %.64s", user);
	return admin(e, "/v3/auth/user/add", what,
		     zh_wire_strings_request("name", user, "password", password), parse_ok_cb, NULL);
}

int zh_etcd_user_delete(struct zh_etcd *e, const char *user)
{
	char what[128];

	snprintf(what, sizeof(what), "delete user %.64s", user);
	return admin(e, "/v3/auth/user/delete", what, zh_wire_strings_request("name", user, NULL, NULL),
		     parse_ok_cb, NULL);
}

int zh_etcd_user_changepw(struct zh_etcd *e, const char *user, const char *password)
{
	char what[128];

	snprintf(what, sizeof(what), "change the password of user %.64s", user);
	return admin(e, "/v3/auth/user/changepw", what,
		     zh_wire_strings_request("name", user, "password", password), parse_ok_cb, NULL);
}

int zh_etcd_user_grant_role(struct zh_etcd *e, const char *user, const char *role)
{
	char what[192];

	snprintf(what, sizeof(what), "grant role %.64s to user %.64s", role, user);
	return admin(e, "/v3/auth/user/grant", what,
		     zh_wire_strings_request("user", user, "role", role), parse_ok_cb, NULL);
}

int zh_etcd_user_revoke_role(struct zh_etcd *e, const char *user, const char *role)
{
	char what[192];

	snprintf(what, sizeof(what), "revoke role %.64s from user %.64s", role, user);
	return admin(e, "/v3/auth/user/revoke", what,
		     zh_wire_strings_request("name", user, "role", role), parse_ok_cb, NULL);
}

int zh_etcd_user_roles(struct zh_etcd *e, const char *user, char ***roles, size_t *n)
{
	struct strings_out o = {"roles", roles, n};
	char what[128];

	*roles = NULL;
	*n = 0;
	snprintf(what, sizeof(what), "get user %.64s", user);
	return admin(e, "/v3/auth/user/get", what, zh_wire_strings_request("name", user, NULL, NULL),
		     parse_strings_cb, &o);
}

int zh_etcd_user_list(struct zh_etcd *e, char ***users, size_t *n)
{
	struct strings_out o = {"users", users, n};

	*users = NULL;
	*n = 0;
	return admin(e, "/v3/auth/user/list", "list users",
		     zh_wire_strings_request(NULL, NULL, NULL, NULL), parse_strings_cb, &o);
}

int zh_etcd_role_list(struct zh_etcd *e, char ***roles, size_t *n)
{
	struct strings_out o = {"roles", roles, n};

	*roles = NULL;
	*n = 0;
	return admin(e, "/v3/auth/role/list", "list roles",
		     zh_wire_strings_request(NULL, NULL, NULL, NULL), parse_strings_cb, &o);
}

int zh_etcd_role_add(struct zh_etcd *e, const char *role)
{
	char what[128];

	snprintf(what, sizeof(what), "add role %.64s", role);
	return admin(e, "/v3/auth/role/add", what, zh_wire_strings_request("name", role, NULL, NULL),
		     parse_ok_cb, NULL);
}

int zh_etcd_role_delete(struct zh_etcd *e, const char *role)
{
	char what[128];

	snprintf(what, sizeof(what), "delete role %.64s", role);
	return admin(e, "/v3/auth/role/delete", what,
		     zh_wire_strings_request("role", role, NULL, NULL), parse_ok_cb, NULL);
}

int zh_etcd_role_perms(struct zh_etcd *e, const char *role, struct zh_etcd_perm **perms,
		       size_t *n)
{
	struct perms_out o = {perms, n};
	char what[128];

	*perms = NULL;
	*n = 0;
	snprintf(what, sizeof(what), "get role %.64s", role);
	return admin(e, "/v3/auth/role/get", what, zh_wire_strings_request("role", role, NULL, NULL),
		     parse_perms_cb, &o);
}

int zh_etcd_role_grant(struct zh_etcd *e, const char *role, const struct zh_etcd_perm *perm)
{
	char what[384];

	snprintf(what, sizeof(what), "grant role %.64s %s on %.200s%s", role,
		 perm->type == ZH_ETCD_PERM_READ ? "read" : "write", perm->key,
		 perm->range_end && *perm->range_end ? "..." : "");
	return admin(e, "/v3/auth/role/grant", what, zh_wire_role_grant_request(role, perm),
		     parse_ok_cb, NULL);
}

int zh_etcd_role_revoke(struct zh_etcd *e, const char *role, const char *key,
			const char *range_end)
{
	char what[384];

	snprintf(what, sizeof(what), "revoke from role %.64s %.200s%s", role, key,
		 range_end && *range_end ? "..." : "");
	return admin(e, "/v3/auth/role/revoke", what,
		     zh_wire_role_revoke_request(role, key, range_end), parse_ok_cb, NULL);
}

int zh_etcd_auth_check(struct zh_etcd *e, const char *user, const char *password)
{
	char what[128], *token = NULL;
	int ret;

	snprintf(what, sizeof(what), "check the password of user %.64s", user);
	ret = admin(e, "/v3/auth/authenticate", what,
		    zh_wire_strings_request("name", user, "password", password), parse_auth_cb,
		    &token);
	free(token);
	if (ret && auth_not_enabled(e->err))
		return -EOPNOTSUPP;
	if (ret && strstr(e->err, "authentication failed"))
		return -EACCES;
	return ret;
}

/* --- subscriptions ------------------------------------------------------------ */

static void sub_step(struct zh_etcd_sub *s);

static void set_state(struct zh_etcd_sub *s, bool connected, const char *reason)
{
	if (connected == s->connected && (connected || !strcmp(reason, s->reason)))
		return;
	s->connected = connected;
	snprintf(s->reason, sizeof(s->reason), "%s", reason);
	if (s->cbs.state)
		s->cbs.state(connected, s->reason, s->ctx);
}

static bool xfer_heavy(enum xfer_kind kind)
{
	return kind == XFER_AUTH || kind == XFER_LIST;
}

static void stop_transfer(struct zh_etcd_sub *s)
{
	if (s->xfer != XFER_NONE)
		curl_multi_remove_handle(s->loop->multi, s->easy);
	if (xfer_heavy(s->xfer))
		s->loop->n_heavy--;
	s->xfer = XFER_NONE;
	s->gen++;
	free(s->body);
	s->body = NULL;
	buf_reset(&s->resp);
}

static int start_transfer(struct zh_etcd_sub *s, enum xfer_kind kind, const char *path, char *body)
{
	int ret;

	stop_transfer(s);
	s->body = body;
	ret = setup_easy(s->e, s->easy, s->ep, path, body, &s->hdrs, &s->resp, s->errbuf,
			 kind == XFER_WATCH,
			 kind == XFER_WATCH ? 0
					    : (s->e->timeout_ms > SUB_SLOW_TIMEOUT_MS ? s->e->timeout_ms
										 : SUB_SLOW_TIMEOUT_MS));
	if (ret)
		return ret;
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	if (curl_multi_add_handle(s->loop->multi, s->easy) != CURLM_OK)
		return -ENOMEM;
	if (xfer_heavy(kind))
		s->loop->n_heavy++;
	s->xfer = kind;
	s->phase = SUB_BUSY;
	return 0;
}

/* Give up on this endpoint: tell why, back off, try the next one. */
static void sub_fail(struct zh_etcd_sub *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sub_fail(struct zh_etcd_sub *s, const char *fmt, ...)
{
	char cause[REASON_MAX - 128], reason[REASON_MAX];
	uint64_t now = now_ms();
	unsigned int half;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cause, sizeof(cause), fmt, ap);
	va_end(ap);
	snprintf(reason, sizeof(reason), "%s: %s", s->e->eps[s->ep], cause);
	stop_transfer(s);
	if (s->up_since_ms && now - s->up_since_ms >= BACKOFF_RESET_MS)
		s->backoff_ms = 0;
	s->up_since_ms = 0;
	s->watch_created = false;
	s->reauthed = false;
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	half = s->backoff_ms / 2;
	s->deadline_ms = now + half + rand_r(&s->loop->seed) % (half + 1);
	s->phase = SUB_BACKOFF;
	s->ep = (s->ep + 1) % s->e->n_eps;
	set_state(s, false, reason);
}

static void sub_start_list(struct zh_etcd_sub *s)
{
	char *body;

	if (!s->list_key.data && bytes_set(&s->list_key, s->start.data, s->start.len, false)) {
		sub_fail(s, "list %s: out of memory", s->prefix);
		return;
	}
	body = zh_wire_range_request(s->list_key.data, s->list_key.len, s->end.data, s->end.len,
				     s->page_size, s->list_rev);
	if (!body || start_transfer(s, XFER_LIST, "/v3/kv/range", body))
		sub_fail(s, "list %s: cannot start a request", s->prefix);
}

static void sub_start_watch(struct zh_etcd_sub *s)
{
	char *body = zh_wire_watch_request(s->start.data, s->start.len, s->end.data, s->end.len,
					   s->rev + 1);

	s->watch_created = false;
	if (!body || start_transfer(s, XFER_WATCH, "/v3/watch", body))
		sub_fail(s, "watch %s: cannot start a request", s->prefix);
}

static void sub_start_auth(struct zh_etcd_sub *s)
{
	char *body = zh_wire_auth_request(s->e->user, s->e->password);

	if (!body || start_transfer(s, XFER_AUTH, "/v3/auth/authenticate", body))
		sub_fail(s, "authenticate as %s: cannot start a request", s->e->user);
}

static void sub_step(struct zh_etcd_sub *s)
{
	if (s->dead)
		return;
	if ((need_token(s->e) || s->need_list) && !s->resyncing &&
	    s->loop->n_heavy >= SUB_HEAVY_MAX) {
		s->phase = SUB_QUEUED;
		return;
	}
	if (need_token(s->e))
		sub_start_auth(s);
	else if (s->need_list)
		sub_start_list(s);
	else
		sub_start_watch(s);
}

/* A bad token: renew it once, right away. */
static bool sub_reauth(struct zh_etcd_sub *s, const char *msg)
{
	struct zh_wire_error w = { .grpc_code = -1 };

	snprintf(w.message, sizeof(w.message), "%s", msg);
	if (!s->e->user || s->reauthed || !error_is_auth(&w))
		return false;
	s->reauthed = true;
	drop_token(s->e);
	stop_transfer(s);
	sub_step(s);
	return true;
}

static void sub_auth_done(struct zh_etcd_sub *s, long http)
{
	char cause[REASON_MAX - 128], *token = NULL;
	bool retry, reauth;
	int ret;

	ret = judge(http, &s->resp, parse_auth_cb, &token, &retry, &reauth, cause, sizeof(cause));
	if (ret && auth_not_enabled(cause)) {
		s->e->auth_off = true;
	} else if (ret) {
		sub_fail(s, "authenticate as %s: %s", s->e->user, cause);
		return;
	} else {
		free(s->e->token);
		s->e->token = token;
	}
	stop_transfer(s);
	sub_step(s);
}

static void sub_list_done(struct zh_etcd_sub *s, long http)
{
	char cause[REASON_MAX - 128], reason[REASON_MAX];
	struct zh_wire_range r;
	bool retry, reauth, more;
	unsigned int gen;
	size_t i;
	int ret;

	ret = judge(http, &s->resp, parse_range_cb, &r, &retry, &reauth, cause, sizeof(cause));
	if (ret == -ERANGE && s->list_rev) {
		/* the pinned revision was compacted: list again from the start */
		free(s->list_key.data);
		s->list_key.data = NULL;
		s->list_rev = 0;
		stop_transfer(s);
		sub_step(s);
		return;
	}
	if (ret && reauth && sub_reauth(s, cause))
		return;
	if (ret) {
		sub_fail(s, "list %s: %s", s->prefix, cause);
		return;
	}
	stop_transfer(s);
	s->reauthed = false;
	gen = s->gen;
	snprintf(reason, sizeof(reason), "%s: listing %s", s->e->eps[s->ep], s->prefix);
	set_state(s, true, reason);
	if (!s->resyncing && !s->dead) {
		s->resyncing = true;
		if (s->cbs.resync_begin)
			s->cbs.resync_begin(s->ctx);
	}
	if (!s->list_rev)
		s->list_rev = r.revision;
	more = r.more && r.n_kvs;
	if (more) {
		/* Ask for the next page before handing this one over, so etcd
		 * marshals it while the receiver digests this one. */
		const struct zh_wire_kv *last = &r.kvs[r.n_kvs - 1];

		if (bytes_set(&s->list_key, last->key, last->key_len, true)) {
			sub_fail(s, "list %s: out of memory", s->prefix);
			goto out;
		}
		if (s->page_size <= SUB_PAGE_MAX / 2)
			s->page_size *= 2;
		sub_step(s);
		gen = s->gen;
	}
	for (i = 0; i < r.n_kvs && !s->dead && s->gen == gen; i++) {
		const struct zh_wire_kv *w = &r.kvs[i];
		struct zh_kv kv = {
			.key = w->key, .key_len = w->key_len,
			.value = w->value, .value_len = w->value_len,
			.mod_revision = w->mod_revision,
		};

		if (s->cbs.event)
			s->cbs.event(&kv, s->ctx);
	}
	if (s->dead || s->gen != gen || more)
		goto out;
	s->rev = s->list_rev;
	s->need_list = false;
	s->resyncing = false;
	s->page_size = SUB_PAGE_SIZE;
	s->list_rev = 0;
	free(s->list_key.data);
	s->list_key.data = NULL;
	if (s->cbs.resync_end)
		s->cbs.resync_end(s->rev, s->ctx);
	if (!s->dead && s->gen == gen)
		sub_step(s);
out:
	zh_wire_range_free(&r);
}

/* One line of the watch stream. Returns false when the stream is over. */
static bool sub_watch_line(struct zh_etcd_sub *s, const char *line, size_t len)
{
	char reason[REASON_MAX];
	struct zh_wire_watch w;
	struct zh_wire_error werr;
	int64_t last = s->rev;
	unsigned int gen = s->gen;
	size_t i;
	int ret;

	ret = zh_wire_parse_watch(line, len, &w, &werr);
	if (ret == -EPROTO) {
		if (!sub_reauth(s, werr.message))
			sub_fail(s, "watch %s: %s", s->prefix, werr.message);
		return false;
	}
	if (ret) {
		sub_fail(s, "watch %s: %s%s", s->prefix,
			 ret == -EBADMSG ? "malformed message: " : "", ret == -EBADMSG ? werr.message : strerror(-ret));
		return false;
	}
	if (w.compact_revision) {
		/* Too late to resume: the revisions we need are compacted. */
		s->need_list = true;
		stop_transfer(s);
		sub_step(s);
		goto stop;
	}
	if (w.canceled) {
		if (!sub_reauth(s, w.cancel_reason))
			sub_fail(s, "watch %s: canceled: %s", s->prefix,
				 w.cancel_reason[0] ? w.cancel_reason : "no reason given");
		goto stop;
	}
	if (w.created && !s->watch_created) {
		s->watch_created = true;
		s->reauthed = false;
		s->up_since_ms = now_ms();
		snprintf(reason, sizeof(reason), "%s: watching %s from revision %lld",
			 s->e->eps[s->ep], s->prefix, (long long)s->rev + 1);
		set_state(s, true, reason);
		if (s->dead || s->gen != gen)
			goto stop;
	}
	for (i = 0; i < w.n_events; i++) {
		const struct zh_wire_kv *ev = &w.events[i];
		struct zh_kv kv = {
			.key = ev->key, .key_len = ev->key_len,
			.value = ev->value, .value_len = ev->value_len,
			.mod_revision = ev->mod_revision,
		};

		/* resumed from rev + 1: anything older is a repeat */
		if (ev->mod_revision <= s->rev)
			continue;
		if (ev->mod_revision > last)
			last = ev->mod_revision;
		if (s->cbs.event)
			s->cbs.event(&kv, s->ctx);
		if (s->dead || s->gen != gen)
			break;
	}
	/* A progress notification: everything up to header.revision is sent. */
	if (!w.n_events && !w.created && w.revision > last)
		last = w.revision;
	s->rev = last;
	if (s->dead || s->gen != gen)
		goto stop;
	zh_wire_watch_free(&w);
	return true;
stop:
	zh_wire_watch_free(&w);
	return false;
}

/* Complete lines of a running watch, outside curl's callbacks. */
static void sub_watch_data(struct zh_etcd_sub *s)
{
	unsigned int gen = s->gen;
	size_t off = 0;
	long http = 0;

	if (s->xfer != XFER_WATCH || !s->resp.len)
		return;
	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &http);
	if (http != 200)
		return; /* an error body: judged when the transfer ends */
	while (off < s->resp.len) {
		char *nl = memchr(s->resp.data + off, '\n', s->resp.len - off);
		size_t n;

		if (!nl)
			break;
		n = nl - (s->resp.data + off);
		if (n && !sub_watch_line(s, s->resp.data + off, n))
			return;
		if (s->dead || s->gen != gen)
			return;
		off += n + 1;
	}
	memmove(s->resp.data, s->resp.data + off, s->resp.len - off);
	s->resp.len -= off;
}

static void sub_watch_done(struct zh_etcd_sub *s, long http, CURLcode rc)
{
	char cause[REASON_MAX - 128];
	bool retry, reauth;

	if (rc != CURLE_OK) {
		transport_error(s->easy, rc, &s->resp, s->errbuf, cause, sizeof(cause));
		sub_fail(s, "watch %s: %s", s->prefix, cause);
		return;
	}
	if (http != 200) {
		judge(http, &s->resp, parse_range_cb, NULL, &retry, &reauth, cause, sizeof(cause));
		if (!(reauth && sub_reauth(s, cause)))
			sub_fail(s, "watch %s: %s", s->prefix, cause);
		return;
	}
	sub_fail(s, "watch %s: stream ended", s->prefix);
}

static void sub_done(struct zh_etcd_sub *s, CURLcode rc)
{
	char cause[REASON_MAX - 128];
	long http = 0;

	curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &http);
	if (s->xfer == XFER_WATCH) {
		unsigned int gen = s->gen;

		/* lines that came with the end of the stream first */
		sub_watch_data(s);
		if (s->gen == gen && !s->dead)
			sub_watch_done(s, http, rc);
		return;
	}
	if (rc != CURLE_OK) {
		int ret = transport_error(s->easy, rc, &s->resp, s->errbuf, cause, sizeof(cause));

		if (ret == -EMSGSIZE && s->xfer == XFER_LIST)
			s->page_size = s->page_size / 8 ? s->page_size / 8 : 1;
		/* too slow to make: ask for less next time */
		if (ret == -ETIMEDOUT && s->xfer == XFER_LIST && s->page_size / 4 >= DEFAULT_PAGE_SIZE)
			s->page_size /= 4;
		sub_fail(s, "%s %s: %s", s->xfer == XFER_AUTH ? "authenticate as" : "list",
			 s->xfer == XFER_AUTH ? s->e->user : s->prefix, cause);
		return;
	}
	if (s->xfer == XFER_AUTH)
		sub_auth_done(s, http);
	else if (s->xfer == XFER_LIST)
		sub_list_done(s, http);
}

static int subscribe(struct zh_etcd *e, const char *prefix, bool key_only,
		     const struct zh_etcd_sub_cbs *cbs, void *ctx, struct zh_etcd_sub **out)
{
	struct zh_etcd_sub *s;
	int ret = -ENOMEM;

	*out = NULL;
	if (!e->loop) {
		seterr(e, "subscribe %s: the client has no loop (zh_etcd_set_loop)", prefix);
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->e = e;
	s->loop = e->loop;
	s->cbs = *cbs;
	s->ctx = ctx;
	s->ep = e->cur;
	s->need_list = true;
	s->page_size = SUB_PAGE_SIZE;
	s->phase = SUB_START;
	s->prefix = strdup(prefix);
	s->prefix_len = strlen(prefix);
	s->easy = curl_easy_init();
	if (!s->prefix || !s->easy)
		goto fail;
	if (key_only && !*prefix)
		ret = -EINVAL;
	else if (key_only)
		ret = bytes_set(&s->start, prefix, strlen(prefix), false); /* no end: one key */
	else
		ret = prefix_range(prefix, &s->start, &s->end);
	if (ret)
		goto fail;
	s->next_in_client = e->subs;
	e->subs = s;
	/* at the end: queued listings start in the order they were asked for */
	s->next_in_loop = NULL;
	*(s->loop->last ? &s->loop->last->next_in_loop : &s->loop->subs) = s;
	s->loop->last = s;
	*out = s;
	return 0;
fail:
	seterr(e, "subscribe %s: %s", prefix, strerror(-ret));
	if (s->easy)
		curl_easy_cleanup(s->easy);
	free(s->prefix);
	free(s->start.data);
	free(s->end.data);
	free(s);
	return ret;
}

int zh_etcd_subscribe(struct zh_etcd *e, const char *prefix, const struct zh_etcd_sub_cbs *cbs,
		      void *ctx, struct zh_etcd_sub **out)
{
	return subscribe(e, prefix, false, cbs, ctx, out);
}

int zh_etcd_subscribe_key(struct zh_etcd *e, const char *key, const struct zh_etcd_sub_cbs *cbs,
			  void *ctx, struct zh_etcd_sub **out)
{
	return subscribe(e, key, true, cbs, ctx, out);
}

static void sub_free(struct zh_etcd_sub *s)
{
	curl_slist_free_all(s->hdrs);
	curl_easy_cleanup(s->easy);
	free(s->prefix);
	free(s->start.data);
	free(s->end.data);
	free(s->list_key.data);
	free(s);
}

static void loop_fix_last(struct zh_etcd_loop *l)
{
	struct zh_etcd_sub *s;

	l->last = NULL;
	for (s = l->subs; s; s = s->next_in_loop)
		l->last = s;
}

void zh_etcd_unsubscribe(struct zh_etcd_sub *s)
{
	struct zh_etcd_sub **pp;

	if (!s || s->dead)
		return;
	stop_transfer(s);
	s->dead = true;
	for (pp = &s->e->subs; *pp; pp = &(*pp)->next_in_client) {
		if (*pp == s) {
			*pp = s->next_in_client;
			break;
		}
	}
	/* During a poll the loop still walks its list: it frees s at the end. */
	if (s->loop->in_poll)
		return;
	for (pp = &s->loop->subs; *pp; pp = &(*pp)->next_in_loop) {
		if (*pp == s) {
			*pp = s->next_in_loop;
			break;
		}
	}
	loop_fix_last(s->loop);
	sub_free(s);
}

int64_t zh_etcd_sub_revision(const struct zh_etcd_sub *s)
{
	return s->rev;
}

bool zh_etcd_sub_connected(const struct zh_etcd_sub *s)
{
	return s->connected;
}

/* --- loop ------------------------------------------------------------------ */

int zh_etcd_loop_new(struct zh_etcd_loop **out)
{
	struct zh_etcd_loop *l;

	*out = NULL;
	curl_init_once();
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->multi = curl_multi_init();
	if (!l->multi) {
		free(l);
		return -ENOMEM;
	}
	l->seed = (unsigned int)now_ms() ^ (unsigned int)getpid();
	*out = l;
	return 0;
}

void zh_etcd_loop_free(struct zh_etcd_loop *l)
{
	if (!l)
		return;
	while (l->subs) {
		struct zh_etcd_sub *s = l->subs;

		if (s->dead) {
			l->subs = s->next_in_loop;
			sub_free(s);
		} else {
			zh_etcd_unsubscribe(s);
		}
	}
	curl_multi_cleanup(l->multi);
	free(l);
}

static void reap(struct zh_etcd_loop *l)
{
	struct zh_etcd_sub **pp = &l->subs;

	l->last = NULL;
	while (*pp) {
		struct zh_etcd_sub *s = *pp;

		if (s->dead) {
			*pp = s->next_in_loop;
			sub_free(s);
		} else {
			l->last = s;
			pp = &s->next_in_loop;
		}
	}
}

/* How long the poll may sleep for the subscriptions' timers. */
static int timer_wait(struct zh_etcd_loop *l, int timeout_ms)
{
	uint64_t now = now_ms();
	struct zh_etcd_sub *s;
	int64_t wait = timeout_ms < 0 ? INT32_MAX : timeout_ms;

	for (s = l->subs; s; s = s->next_in_loop) {
		if (s->dead)
			continue;
		if (s->phase == SUB_START ||
		    (s->phase == SUB_QUEUED && l->n_heavy < SUB_HEAVY_MAX))
			return 0;
		if (s->phase == SUB_BACKOFF) {
			int64_t left = s->deadline_ms > now ? (int64_t)(s->deadline_ms - now) : 0;

			if (left < wait)
				wait = left;
		}
	}
	return (int)wait;
}

int zh_etcd_poll(struct zh_etcd_loop *l, struct pollfd *extra, unsigned int n_extra,
		 int timeout_ms)
{
	struct curl_waitfd stack_fds[16], *wfds = stack_fds;
	struct zh_etcd_sub *s;
	struct CURLMsg *msg;
	int running, ready = 0, left;
	unsigned int i;
	CURLMcode mc;
	uint64_t now;

	if (n_extra > 16) {
		wfds = calloc(n_extra, sizeof(*wfds));
		if (!wfds)
			return -ENOMEM;
	}
	for (i = 0; i < n_extra; i++) {
		wfds[i].fd = extra[i].fd;
		wfds[i].events = CURL_WAIT_POLLIN;
		wfds[i].revents = 0;
		extra[i].revents = 0;
	}
	mc = curl_multi_poll(l->multi, wfds, n_extra, timer_wait(l, timeout_ms), NULL);
	if (mc != CURLM_OK && mc != CURLM_UNRECOVERABLE_POLL) {
		if (wfds != stack_fds)
			free(wfds);
		return -EIO;
	}
	for (i = 0; i < n_extra; i++) {
		if (wfds[i].revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)) {
			extra[i].revents = POLLIN;
			ready++;
		}
	}
	if (wfds != stack_fds)
		free(wfds);

	l->in_poll = true;
	curl_multi_perform(l->multi, &running);
	for (s = l->subs; s; s = s->next_in_loop) {
		if (!s->dead)
			sub_watch_data(s);
	}
	while ((msg = curl_multi_info_read(l->multi, &left))) {
		CURL *h = msg->easy_handle;
		CURLcode rc = msg->data.result;
		char *priv = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv);
		s = (struct zh_etcd_sub *)priv;
		if (s && !s->dead && s->easy == h && s->xfer != XFER_NONE)
			sub_done(s, rc);
	}
	now = now_ms();
	for (s = l->subs; s; s = s->next_in_loop) {
		if (s->dead)
			continue;
		if (s->phase == SUB_START || (s->phase == SUB_BACKOFF && s->deadline_ms <= now) ||
		    (s->phase == SUB_QUEUED && l->n_heavy < SUB_HEAVY_MAX))
			sub_step(s);
	}
	l->in_poll = false;
	reap(l);
	return ready;
}
