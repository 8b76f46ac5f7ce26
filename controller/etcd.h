/* SPDX-License-Identifier: GPL-2.0-only */
/* A client for etcd v3's JSON gateway (/v3/kv/range, /v3/kv/txn,
 * /v3/watch, /v3/auth/authenticate) over libcurl and json-c. Keys and values are
 * base64 on the wire; this API takes and gives raw bytes.
 *
 * Two ways to use it:
 * - blocking calls (get, list, txn) for `zerohop apply` and the controller;
 * - subscriptions (list-then-watch of a prefix with reconnection, bounded
 *   jittered backoff, resume from the last revision and re-list after
 *   compaction), driven by the caller's event loop through zh_etcd_poll().
 *
 * A client holds several endpoints ("http://h:p,http://h2:p2"); a request
 * that cannot reach one member goes to the next. Functions return 0 or
 * -errno and put a one-line reason naming the endpoint and the cause in
 * zh_etcd_error(); they never exit or print.
 */
#ifndef ZH_ETCD_H
#define ZH_ETCD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zh_etcd_opts {
	const char *endpoints;     /* comma-separated URLs, required */
	const char *user;          /* with password: /v3/auth/authenticate */
	const char *password;
	const char *cacert;        /* TLS files (https:// endpoints) */
	const char *cert;
	const char *key;
	unsigned int timeout_ms;   /* per request (0: 5000); connect: min(this, 2000) */
};

struct zh_etcd;

int zh_etcd_open(const struct zh_etcd_opts *opts, struct zh_etcd **out);
void zh_etcd_close(struct zh_etcd *e);
/* The last error of this client: "http://127.0.0.1:2379: connection refused". */
const char *zh_etcd_error(const struct zh_etcd *e);
/* The endpoint requests currently go to. */
const char *zh_etcd_endpoint(const struct zh_etcd *e);

struct zh_kv {
	const char *key;
	size_t key_len;
	const char *value;         /* NULL for a delete event */
	size_t value_len;
	int64_t mod_revision;
};

/* Return 0 to go on, non-zero to stop (that value is returned). */
typedef int (*zh_etcd_kv_cb)(const struct zh_kv *kv, void *ctx);

/* Every key under prefix, in key order, read in pages of page_size (0:
 * 1000) all at the revision of the first page; *rev gets that revision.
 * -ENOENT never: an empty prefix calls cb zero times.
 */
int zh_etcd_list(struct zh_etcd *e, const char *prefix, unsigned int page_size,
		 int64_t *rev, zh_etcd_kv_cb cb, void *ctx);
/* One key: 0 and a malloc'ed value (NUL-terminated, *len without it), or
 * -ENOENT.
 */
int zh_etcd_get(struct zh_etcd *e, const char *key, char **value, size_t *len);

enum zh_etcd_op_type {
	ZH_ETCD_PUT,
	ZH_ETCD_DELETE,
	ZH_ETCD_DELETE_PREFIX,
};

struct zh_etcd_op {
	enum zh_etcd_op_type type;
	const char *key;
	const char *value;         /* PUT only, NUL-terminated */
};

/* Apply ops in transactions of at most 128 operations (etcd's default
 * --max-txn-ops). Each transaction is all or nothing; a failure stops
 * before the next one and says how many ops were applied in *done (may be
 * NULL). *rev (may be NULL) gets the revision of the last transaction.
 */
int zh_etcd_txn(struct zh_etcd *e, const struct zh_etcd_op *ops, size_t n, size_t *done,
		int64_t *rev);

/* --- subscriptions --------------------------------------------------------- */

struct zh_etcd_sub;

struct zh_etcd_sub_cbs {
	/* A full listing starts (first start, or after compaction / a watch
	 * that could not resume). Every key under the prefix follows as a
	 * put, then resync_end. The receiver marks what it has stale here and
	 * sweeps what was not put again at resync_end.
	 */
	void (*resync_begin)(void *ctx);
	void (*resync_end)(int64_t rev, void *ctx);
	/* A put (kv->value set) or a delete (kv->value NULL). */
	void (*event)(const struct zh_kv *kv, void *ctx);
	/* Connection state changed: connected, or not with the reason. */
	void (*state)(bool connected, const char *reason, void *ctx);
};

/* Start list-then-watch of prefix on the client. Asynchronous: nothing
 * happens until zh_etcd_poll() runs. A lost connection is retried with
 * jittered exponential backoff (100 ms doubling up to 5 s), moving through
 * the endpoints; the watch resumes from the last revision seen, and a
 * compacted revision triggers a new listing.
 */
int zh_etcd_subscribe(struct zh_etcd *e, const char *prefix, const struct zh_etcd_sub_cbs *cbs,
		      void *ctx, struct zh_etcd_sub **out);
void zh_etcd_unsubscribe(struct zh_etcd_sub *s);
/* Last revision applied (0 before the first listing completes). */
int64_t zh_etcd_sub_revision(const struct zh_etcd_sub *s);
bool zh_etcd_sub_connected(const struct zh_etcd_sub *s);

/* One event loop for all clients' subscriptions. */
struct zh_etcd_loop;

int zh_etcd_loop_new(struct zh_etcd_loop **out);
void zh_etcd_loop_free(struct zh_etcd_loop *l);
/* Subscriptions of a client run on this loop (set before subscribing). */
void zh_etcd_set_loop(struct zh_etcd *e, struct zh_etcd_loop *l);
/* Wait up to timeout_ms for the loop's sockets or for one of extra (POLLIN
 * only; revents filled in), then drive transfers and timers and run the
 * subscriptions' callbacks. Returns the number of extra fds ready (>= 0) or
 * -errno. EINTR is not an error (returns 0).
 */
int zh_etcd_poll(struct zh_etcd_loop *l, struct pollfd *extra, unsigned int n_extra,
		 int timeout_ms);

/* --- wire helpers (exposed for unit tests) ---------------------------------- */

/* base64 (standard alphabet, padded). Return malloc'ed NUL-terminated
 * strings; decode returns NULL on invalid input and sets *out_len.
 */
char *zh_b64_encode(const void *data, size_t len);
void *zh_b64_decode(const char *s, size_t len, size_t *out_len);
/* The range_end that selects every key starting with prefix. */
char *zh_etcd_prefix_end(const char *prefix);

#endif /* ZH_ETCD_H */
