// SPDX-License-Identifier: GPL-2.0-only
/* Test tool for the etcd client (controller/etcd.h), driven only through
 * its public API. Used by tests/e2e/test_etcd_client.sh.
 *
 *   zh_etcd_tool [OPTIONS] COMMAND ARGS...
 *
 *   get KEY                  print the value (exit 2 when there is none)
 *   list PREFIX [--page N]   "KEY=VALUE" lines in key order; stderr gets
 *                            "revision R count N"
 *   txn-put KEY=VALUE...     put all, in transactions of <= 128 ops
 *   txn OP...                OP: put:KEY=VALUE, del:KEY, delp:PREFIX
 *   del-prefix PREFIX        delete every key under PREFIX
 *   watch PREFIX [--events N] [--until KEY] [--timeout S] [--dump]
 *                            subscribe and print one line per callback:
 *                            "resync_begin", "put KEY=VALUE REV",
 *                            "delete KEY REV", "resync_end REV",
 *                            "state up REASON", "state down REASON";
 *                            stop after N live events (not counting the
 *                            puts of a listing) or a put of KEY; --dump
 *                            then prints the state the callbacks built as
 *                            "final KEY=VALUE" lines. Exit 1 on timeout
 *                            (default 30 s). The first resync_end also
 *                            writes to a pipe the loop polls as an extra
 *                            fd: "extra ready" shows zh_etcd_poll saw it.
 *
 * Options: --endpoints URLS (default $ZH_ETCD_ENDPOINTS), --user U,
 * --password P, --cacert F, --cert F, --key F, --timeout-ms N.
 * Errors go to stderr as "zh_etcd_tool: COMMAND: REASON" (exit 1).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "etcd.h"

static const char *cmd = "";

static int fail(struct zh_etcd *e, int err)
{
	fprintf(stderr, "zh_etcd_tool: %s: %s (%s)\n", cmd, e ? zh_etcd_error(e) : "",
		strerror(-err));
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: zh_etcd_tool [--endpoints URLS] [--user U --password P] "
			"[--cacert F --cert F --key F] [--timeout-ms N] COMMAND ARGS...\n"
			"commands: get KEY | list PREFIX [--page N] | txn-put K=V... | txn OP... |\n"
			"          del-prefix PREFIX | watch PREFIX [--events N] [--until KEY] "
			"[--timeout S] [--dump]\n");
	return 64;
}

static int print_kv(const struct zh_kv *kv, void *ctx)
{
	size_t *count = ctx;

	fwrite(kv->key, 1, kv->key_len, stdout);
	putchar('=');
	fwrite(kv->value, 1, kv->value_len, stdout);
	putchar('\n');
	(*count)++;
	return 0;
}

static int cmd_list(struct zh_etcd *e, int argc, char **argv)
{
	unsigned int page = 0;
	size_t count = 0;
	int64_t rev;
	int i, ret;

	if (argc < 1)
		return usage();
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--page") && i + 1 < argc)
			page = strtoul(argv[++i], NULL, 10);
		else
			return usage();
	}
	ret = zh_etcd_list(e, argv[0], page, &rev, print_kv, &count);
	if (ret)
		return fail(e, ret);
	fprintf(stderr, "revision %lld count %zu\n", (long long)rev, count);
	return 0;
}

static int cmd_get(struct zh_etcd *e, int argc, char **argv)
{
	char *value;
	size_t len;
	int ret;

	if (argc != 1)
		return usage();
	ret = zh_etcd_get(e, argv[0], &value, &len);
	if (ret == -ENOENT) {
		fprintf(stderr, "zh_etcd_tool: get: %s\n", zh_etcd_error(e));
		return 2;
	}
	if (ret)
		return fail(e, ret);
	fwrite(value, 1, len, stdout);
	putchar('\n');
	free(value);
	return 0;
}

/* OP as in "txn"; put_only: every argument is KEY=VALUE. */
static int parse_op(char *arg, bool put_only, struct zh_etcd_op *op)
{
	char *eq;

	if (!put_only) {
		if (!strncmp(arg, "del:", 4)) {
			*op = (struct zh_etcd_op){ .type = ZH_ETCD_DELETE, .key = arg + 4 };
			return 0;
		}
		if (!strncmp(arg, "delp:", 5)) {
			*op = (struct zh_etcd_op){ .type = ZH_ETCD_DELETE_PREFIX, .key = arg + 5 };
			return 0;
		}
		if (strncmp(arg, "put:", 4))
			return -EINVAL;
		arg += 4;
	}
	eq = strchr(arg, '=');
	if (!eq)
		return -EINVAL;
	*eq = '\0';
	*op = (struct zh_etcd_op){ .type = ZH_ETCD_PUT, .key = arg, .value = eq + 1 };
	return 0;
}

static int run_txn(struct zh_etcd *e, struct zh_etcd_op *ops, size_t n)
{
	size_t done;
	int64_t rev;
	int ret;

	ret = zh_etcd_txn(e, ops, n, &done, &rev);
	if (ret) {
		fprintf(stderr, "applied %zu\n", done);
		return fail(e, ret);
	}
	printf("applied %zu revision %lld\n", done, (long long)rev);
	return 0;
}

static int cmd_txn(struct zh_etcd *e, int argc, char **argv, bool put_only)
{
	struct zh_etcd_op *ops;
	int i, ret;

	if (argc < 1)
		return usage();
	ops = calloc(argc, sizeof(*ops));
	if (!ops)
		return fail(NULL, -ENOMEM);
	for (i = 0; i < argc; i++) {
		if (parse_op(argv[i], put_only, &ops[i])) {
			fprintf(stderr, "zh_etcd_tool: %s: \"%s\": not an op\n", cmd, argv[i]);
			free(ops);
			return 64;
		}
	}
	ret = run_txn(e, ops, argc);
	free(ops);
	return ret;
}

static int cmd_del_prefix(struct zh_etcd *e, int argc, char **argv)
{
	struct zh_etcd_op op = { .type = ZH_ETCD_DELETE_PREFIX };

	if (argc != 1)
		return usage();
	op.key = argv[0];
	return run_txn(e, &op, 1);
}

/* --- watch ------------------------------------------------------------------ */

struct entry {
	char *key;
	char *value;
	bool stale;
};

struct watcher {
	struct entry *entries;
	size_t n;
	size_t cap;
	bool in_resync;
	long live_events;
	long want_events;
	const char *until_key;
	bool done;
	int pipe_w;                /* written once at the first resync_end */
};

static struct entry *find(struct watcher *w, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (strlen(w->entries[i].key) == len && !memcmp(w->entries[i].key, key, len))
			return &w->entries[i];
	}
	return NULL;
}

static void on_resync_begin(void *ctx)
{
	struct watcher *w = ctx;
	size_t i;

	for (i = 0; i < w->n; i++)
		w->entries[i].stale = true;
	w->in_resync = true;
	printf("resync_begin\n");
}

static void on_resync_end(int64_t rev, void *ctx)
{
	struct watcher *w = ctx;
	size_t i = 0;

	/* sweep what the listing did not put again */
	while (i < w->n) {
		if (w->entries[i].stale) {
			free(w->entries[i].key);
			free(w->entries[i].value);
			w->entries[i] = w->entries[--w->n];
		} else {
			i++;
		}
	}
	w->in_resync = false;
	printf("resync_end %lld\n", (long long)rev);
	if (w->pipe_w >= 0) {
		if (write(w->pipe_w, "x", 1) != 1)
			printf("pipe write failed\n");
		close(w->pipe_w);
		w->pipe_w = -1;
	}
}

static void on_event(const struct zh_kv *kv, void *ctx)
{
	struct watcher *w = ctx;
	struct entry *en = find(w, kv->key, kv->key_len);

	if (kv->value) {
		printf("put %.*s=%.*s %lld\n", (int)kv->key_len, kv->key, (int)kv->value_len,
		       kv->value, (long long)kv->mod_revision);
		if (!en) {
			if (w->n == w->cap) {
				size_t cap = w->cap ? w->cap * 2 : 64;
				struct entry *ne = realloc(w->entries, cap * sizeof(*ne));

				if (!ne)
					abort();
				w->entries = ne;
				w->cap = cap;
			}
			en = &w->entries[w->n++];
			en->key = strndup(kv->key, kv->key_len);
			en->value = NULL;
		}
		free(en->value);
		en->value = strndup(kv->value, kv->value_len);
		en->stale = false;
		if (w->until_key && strlen(w->until_key) == kv->key_len &&
		    !memcmp(w->until_key, kv->key, kv->key_len))
			w->done = true;
	} else {
		printf("delete %.*s %lld\n", (int)kv->key_len, kv->key,
		       (long long)kv->mod_revision);
		if (en) {
			free(en->key);
			free(en->value);
			*en = w->entries[--w->n];
		}
	}
	if (!w->in_resync && w->want_events && ++w->live_events >= w->want_events)
		w->done = true;
}

static void on_state(bool connected, const char *reason, void *ctx)
{
	printf("state %s %s\n", connected ? "up" : "down", reason);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->key, ((const struct entry *)b)->key);
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int cmd_watch(struct zh_etcd *e, int argc, char **argv)
{
	const struct zh_etcd_sub_cbs cbs = {
		.resync_begin = on_resync_begin,
		.resync_end = on_resync_end,
		.event = on_event,
		.state = on_state,
	};
	struct watcher w = { .pipe_w = -1 };
	struct pollfd extra = { .fd = -1, .events = POLLIN };
	struct zh_etcd_loop *loop;
	int pipefd[2];
	struct zh_etcd_sub *sub;
	double timeout_s = 30;
	struct timespec t0, t;
	bool dump = false;
	int i, ret, rc = 0;

	if (argc < 1)
		return usage();
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--events") && i + 1 < argc)
			w.want_events = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--until") && i + 1 < argc)
			w.until_key = argv[++i];
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout_s = strtod(argv[++i], NULL);
		else if (!strcmp(argv[i], "--dump"))
			dump = true;
		else
			return usage();
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (pipe(pipefd))
		return fail(NULL, -errno);
	extra.fd = pipefd[0];
	w.pipe_w = pipefd[1];
	ret = zh_etcd_loop_new(&loop);
	if (ret)
		return fail(e, ret);
	zh_etcd_set_loop(e, loop);
	ret = zh_etcd_subscribe(e, argv[0], &cbs, &w, &sub);
	if (ret) {
		zh_etcd_loop_free(loop);
		return fail(e, ret);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!w.done && !stop) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 > timeout_s) {
			printf("timeout\n");
			rc = 1;
			break;
		}
		ret = zh_etcd_poll(loop, &extra, extra.fd >= 0 ? 1 : 0, 200);
		if (ret < 0) {
			fprintf(stderr, "zh_etcd_tool: watch: poll: %s\n", strerror(-ret));
			rc = 1;
			break;
		}
		if (ret > 0 && (extra.revents & POLLIN)) {
			char c;

			printf("extra ready%s\n", read(extra.fd, &c, 1) == 1 ? "" : " (no data)");
			close(extra.fd);
			extra.fd = -1;
		}
	}
	printf("revision %lld\n", (long long)zh_etcd_sub_revision(sub));
	zh_etcd_unsubscribe(sub);
	zh_etcd_loop_free(loop);
	if (extra.fd >= 0)
		close(extra.fd);
	if (w.pipe_w >= 0)
		close(w.pipe_w);
	if (dump) {
		qsort(w.entries, w.n, sizeof(*w.entries), cmp_entry);
		for (i = 0; i < (int)w.n; i++)
			printf("final %s=%s\n", w.entries[i].key, w.entries[i].value);
	}
	for (i = 0; i < (int)w.n; i++) {
		free(w.entries[i].key);
		free(w.entries[i].value);
	}
	free(w.entries);
	return stop ? 1 : rc;
}

int main(int argc, char **argv)
{
	struct zh_etcd_opts opts = { .endpoints = getenv("ZH_ETCD_ENDPOINTS") };
	struct zh_etcd *e;
	int i, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *o = argv[i];

		if (i + 1 >= argc)
			return usage();
		if (!strcmp(o, "--endpoints"))
			opts.endpoints = argv[++i];
		else if (!strcmp(o, "--user"))
			opts.user = argv[++i];
		else if (!strcmp(o, "--password"))
			opts.password = argv[++i];
		else if (!strcmp(o, "--cacert"))
			opts.cacert = argv[++i];
		else if (!strcmp(o, "--cert"))
			opts.cert = argv[++i];
		else if (!strcmp(o, "--key"))
			opts.key = argv[++i];
		else if (!strcmp(o, "--timeout-ms"))
			opts.timeout_ms = strtoul(argv[++i], NULL, 10);
		else
			return usage();
	}
	if (i >= argc || !opts.endpoints)
		return usage();
	cmd = argv[i++];
	ret = zh_etcd_open(&opts, &e);
	if (ret) {
		fprintf(stderr, "zh_etcd_tool: open: %s (%s)\n", zh_etcd_error(NULL), strerror(-ret));
		return 1;
	}
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "get"))
		ret = cmd_get(e, argc, argv);
	else if (!strcmp(cmd, "list"))
		ret = cmd_list(e, argc, argv);
	else if (!strcmp(cmd, "txn-put"))
		ret = cmd_txn(e, argc, argv, true);
	else if (!strcmp(cmd, "txn"))
		ret = cmd_txn(e, argc, argv, false);
	else if (!strcmp(cmd, "del-prefix"))
		ret = cmd_del_prefix(e, argc, argv);
	else if (!strcmp(cmd, "watch"))
		ret = cmd_watch(e, argc, argv);
	else
		ret = usage();
	zh_etcd_close(e);
	return ret;
}
