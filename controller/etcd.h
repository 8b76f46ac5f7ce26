/* SPDX-License-Identifier: GPL-2.0-only */
/* A client for etcd v3's JSON gateway (/v3/kv/range, /v3/kv/txn,
 * /v3/watch, /v3/auth/authenticate) over libcurl and json-c. Keys and
 * values are base64 on the wire; this API takes and gives raw bytes.
 *
 * Two ways to use it:
 * - blocking calls (get, list, txn) for `zerohop apply` and the controller;
 * - subscriptions (list-then-watch of a prefix with reconnection, bounded
 *   jittered backoff, resume from the last revision and re-list after
 *   compaction), driven by the caller's event loop through zh_etcd_poll().
 *
 * A client holds several endpoints ("http://h:p,https://h2:p2"; "h:p"
 * means http://h:p); a request that cannot reach one member, gets a 5xx or
 * "etcdserver: no leader" goes to the next. Every request asks for a
 * member with a leader (clientv3's WithRequireLeader), so a member cut off
 * from its quorum refuses instead of serving stale data.
 *
 * Functions return 0 or -errno and put a one-line reason naming the
 * endpoint and the cause in zh_etcd_error(); they never exit or print.
 * -errno: transport -ECONNREFUSED, -ETIMEDOUT, -EIO ...; -EACCES (bad
 * credentials, permission denied), -EINVAL (etcd refused the request, e.g.
 * too large), -EAGAIN (no leader), -ERANGE (revision compacted), -EBADMSG
 * (a malformed response), -EMSGSIZE (a response over 64 MiB).
 */
#ifndef ZH_ETCD_H
#define ZH_ETCD_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zh_etcd_opts {
	const char *endpoints;     /* comma-separated URLs, required */
	/* With password: a token from /v3/auth/authenticate, sent as
	 * "Authorization: <token>" and renewed once when the server calls it
	 * invalid (tokens die with an etcd restart). A server without auth
	 * enabled is used without a token.
	 */
	const char *user;
	const char *password;
	const char *cacert;        /* TLS files (https:// endpoints) */
	const char *cert;
	const char *key;
	/* Per request (0: 5000); connect: min(this, 2000). A blocking call
	 * tries every endpoint once and retries the retryable failures above
	 * with a short backoff until this much time has passed.
	 */
	unsigned int timeout_ms;
};

struct zh_etcd;

/* Copies what it needs from opts. On failure *out is NULL and
 * zh_etcd_error(NULL) says why.
 */
int zh_etcd_open(const struct zh_etcd_opts *opts, struct zh_etcd **out);
/* Also ends the client's subscriptions. Not from a subscription callback. */
void zh_etcd_close(struct zh_etcd *e);
/* The last error of this client:
 * "http://127.0.0.1:2379: list /zerohop/v1/: connection refused".
 */
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
 * -ENOENT never: an empty prefix calls cb zero times. kv points into the
 * page: valid during cb only. A page over 64 MiB is read again in smaller
 * pages; if the pinned revision is compacted meanwhile: -ERANGE.
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

/* Apply ops in order, in transactions of at most 128 operations (etcd's
 * default --max-txn-ops) and about 1 MiB (under --max-request-bytes); an
 * op touching a key that the transaction being built already touches
 * starts the next one (etcd refuses duplicate keys in a transaction).
 * Each transaction is all or nothing; a failure stops before the next one
 * and says how many ops were applied in *done (may be NULL). *rev (may be
 * NULL) gets the revision of the last transaction. A transaction whose
 * answer was lost may be sent again to another member: fine for puts and
 * deletes of a desired state.
 */
int zh_etcd_txn(struct zh_etcd *e, const struct zh_etcd_op *ops, size_t n, size_t *done,
		int64_t *rev);

/* --- subscriptions --------------------------------------------------------- */

struct zh_etcd_sub;

/* Callbacks run only inside zh_etcd_poll(). They may unsubscribe any
 * subscription and make blocking calls, but not close a client or free
 * the loop. Any of them may be NULL.
 */
struct zh_etcd_sub_cbs {
	/* A full listing starts (first start, or after compaction / a watch
	 * that could not resume). Every key under the prefix follows as a
	 * put, then resync_end. The receiver marks what it has stale here and
	 * sweeps what was not put again at resync_end. A listing cut by a
	 * failover goes on at the same revision on the next member (or starts
	 * over if that revision was compacted) within the same begin/end pair,
	 * so a key may be put twice.
	 */
	void (*resync_begin)(void *ctx);
	void (*resync_end)(int64_t rev, void *ctx);
	/* A put (kv->value set) or a delete (kv->value NULL), in revision
	 * order; kv is valid during the call only.
	 */
	void (*event)(const struct zh_kv *kv, void *ctx);
	/* Connected (a listing page or a watch was accepted) or not, with a
	 * reason naming the endpoint and the cause: "http://10.0.0.1:2379:
	 * watch /zerohop/v1/: etcdserver: no leader". Called when connected
	 * changes, and while disconnected when the reason changes.
	 */
	void (*state)(bool connected, const char *reason, void *ctx);
};

/* Start list-then-watch of prefix on the client. Asynchronous: nothing
 * happens until zh_etcd_poll() runs. A lost connection (refused, reset, a
 * watch stream that ends or errors, no leader) is retried with jittered
 * exponential backoff (100 ms doubling up to 5 s; back to 100 ms after a
 * watch that lasted 5 s), moving through the endpoints; the watch resumes
 * from the last revision seen + 1, and a compacted revision triggers a new
 * listing. The client needs a loop (zh_etcd_set_loop) first: -EINVAL.
 */
int zh_etcd_subscribe(struct zh_etcd *e, const char *prefix, const struct zh_etcd_sub_cbs *cbs,
		      void *ctx, struct zh_etcd_sub **out);
/* The same for exactly one key: the listing and the watch ask for that key
 * alone (no range), which is all a role with READ on the key alone may
 * read. The listing gives the key as a put when it exists; events and
 * resyncs as above.
 */
int zh_etcd_subscribe_key(struct zh_etcd *e, const char *key, const struct zh_etcd_sub_cbs *cbs,
			  void *ctx, struct zh_etcd_sub **out);
void zh_etcd_unsubscribe(struct zh_etcd_sub *s);
/* Last revision applied (0 before the first listing completes). */
int64_t zh_etcd_sub_revision(const struct zh_etcd_sub *s);
bool zh_etcd_sub_connected(const struct zh_etcd_sub *s);

/* One event loop for all clients' subscriptions. */
struct zh_etcd_loop;

int zh_etcd_loop_new(struct zh_etcd_loop **out);
/* Ends the subscriptions still on it; their clients stay usable. */
void zh_etcd_loop_free(struct zh_etcd_loop *l);
/* Subscriptions of a client run on this loop (set before subscribing). */
void zh_etcd_set_loop(struct zh_etcd *e, struct zh_etcd_loop *l);
/* Wait up to timeout_ms (negative: until something happens) for the
 * loop's sockets, its backoff timers or one of extra (POLLIN only; revents
 * filled in), then drive transfers and timers and run the subscriptions'
 * callbacks. Returns the number of extra fds ready (>= 0) or -errno. EINTR
 * is not an error (returns 0).
 */
int zh_etcd_poll(struct zh_etcd_loop *l, struct pollfd *extra, unsigned int n_extra,
		 int timeout_ms);

/* --- auth admin ------------------------------------------------------------- */

/* Users, roles and permissions through /v3/auth/user/... and role/...: what
 * zerohop-controller keeps for its peerings. Blocking calls with failover
 * as above; they need a client logged in as a user with the root role
 * (or a server without auth enabled). Beyond the errors above: -EEXIST
 * (the user or role exists), -ENOENT (no such user or role, or the role or
 * permission is not granted), -EACCES (not allowed).
 */
enum zh_etcd_perm_type {
	ZH_ETCD_PERM_READ = 0,
	ZH_ETCD_PERM_WRITE = 1,
	ZH_ETCD_PERM_READWRITE = 2,
};

/* A key permission: key alone (range_end "") or the range [key,
 * range_end), e.g. range_end = zh_etcd_prefix_end(key) for a prefix.
 */
struct zh_etcd_perm {
	enum zh_etcd_perm_type type;
	char *key;
	char *range_end;
};

int zh_etcd_user_add(struct zh_etcd *e, const char *user, const char *password);
int zh_etcd_user_delete(struct zh_etcd *e, const char *user);
/* Note: etcd ends the user's tokens (their watches fail and log in again). */
int zh_etcd_user_changepw(struct zh_etcd *e, const char *user, const char *password);
/* Granting a role the user has is not an error. */
int zh_etcd_user_grant_role(struct zh_etcd *e, const char *user, const char *role);
int zh_etcd_user_revoke_role(struct zh_etcd *e, const char *user, const char *role);
/* The user's roles, or every user / role name: a malloc'ed array of
 * malloc'ed strings (zh_etcd_strv_free).
 */
int zh_etcd_user_roles(struct zh_etcd *e, const char *user, char ***roles, size_t *n);
int zh_etcd_user_list(struct zh_etcd *e, char ***users, size_t *n);
int zh_etcd_role_list(struct zh_etcd *e, char ***roles, size_t *n);
void zh_etcd_strv_free(char **v, size_t n);

int zh_etcd_role_add(struct zh_etcd *e, const char *role);
int zh_etcd_role_delete(struct zh_etcd *e, const char *role);
/* The role's permissions (zh_etcd_perms_free). */
int zh_etcd_role_perms(struct zh_etcd *e, const char *role, struct zh_etcd_perm **perms,
		       size_t *n);
void zh_etcd_perms_free(struct zh_etcd_perm *perms, size_t n);
int zh_etcd_role_grant(struct zh_etcd *e, const char *role, const struct zh_etcd_perm *perm);
/* Revoke the permission on exactly (key, range_end), whatever its type. */
int zh_etcd_role_revoke(struct zh_etcd *e, const char *role, const char *key,
			const char *range_end);
/* Do user and password log in? 0 yes, -EACCES no, -EOPNOTSUPP auth is not
 * enabled (nothing can be checked). The token it gets is thrown away.
 */
int zh_etcd_auth_check(struct zh_etcd *e, const char *user, const char *password);

/* --- wire helpers (exposed for unit tests) ---------------------------------- */

/* base64 (standard alphabet, padded). Return malloc'ed NUL-terminated
 * strings; decode returns NULL on invalid input and sets *out_len.
 */
char *zh_b64_encode(const void *data, size_t len);
void *zh_b64_decode(const char *s, size_t len, size_t *out_len);
/* The range_end that selects every key starting with prefix (malloc'ed).
 * "" when there is no finite end (prefix "" or all 0xff bytes): on the
 * wire that is "\0", every key from the start key on.
 */
char *zh_etcd_prefix_end(const char *prefix);

#endif /* ZH_ETCD_H */
