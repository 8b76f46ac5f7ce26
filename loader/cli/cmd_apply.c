// SPDX-License-Identifier: GPL-2.0-only
/* zerohop apply: validate an intent file, then write its records to a
 * controller shard's etcd (docs/controller-api.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "etcd.h"
#include "model.h"

static const char apply_usage[] =
	"Usage: zerohop apply -f FILE --etcd URL[,URL...] [--delete] [--dry-run]\n"
	"                     [--user USER (--password PASSWORD | --password-file FILE)]\n"
	"                     [--cacert FILE] [--cert FILE --key FILE]\n"
	"\n"
	"Check the intent FILE (docs/controller-api.md) completely, then write its records\n"
	"under /zerohop/v1/ to the etcd cluster, in transactions of 128 operations. If the\n"
	"file has any error, every error is printed as 'FILE: $.path: reason' and nothing\n"
	"is written. Records etcd already holds with the same value are not written again;\n"
	"keys the file does not describe are left alone.\n"
	"\n"
	"  -f, --file FILE          the intent file ('-': standard input)\n"
	"  --etcd URL[,URL...]      etcd endpoints (http:// or https://), tried in order\n"
	"  --delete                 delete the keys the file describes instead\n"
	"  --dry-run                check the file and print every put (or delete) that\n"
	"                           apply would make; etcd is not contacted\n"
	"  --user USER              authenticate as USER, with --password PASSWORD or\n"
	"  --password-file FILE     the first line of FILE as the password\n"
	"  --cacert FILE            CA certificates for https:// endpoints\n"
	"  --cert FILE, --key FILE  client certificate and key (TLS)\n"
	"  -v, --verbose            also print each key as it is written\n";

enum {
	APPLY_OPT_FILE = 'f',
	APPLY_OPT_ETCD = 0x200,
	APPLY_OPT_DELETE,
	APPLY_OPT_DRY_RUN,
	APPLY_OPT_USER,
	APPLY_OPT_PASSWORD,
	APPLY_OPT_PASSWORD_FILE,
	APPLY_OPT_CACERT,
	APPLY_OPT_CERT,
	APPLY_OPT_KEY,
};

struct apply_opts {
	const char *file;
	const char *name;          /* file as messages show it */
	bool del, dry_run;
	int verbose;
	struct zh_etcd_opts etcd;
	const char *password_file;
};

/* The first line of path, without its line end; malloc'ed. */
static int read_password_file(const char *path, char **out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int err = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = getline(&line, &cap, f);
	if (n < 0) {
		err = ferror(f) ? -EIO : -ENODATA;
		free(line);
		goto cleanup;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	*out = line;
cleanup:
	fclose(f);
	return err;
}

/* What etcd holds under the root, as hashes: is a record there, and with
 * this very value? 64-bit hashes of key and value; a false "same" needs
 * both to collide.
 */
struct held_entry {
	uint64_t key_hash;
	uint64_t val_hash;
};

struct held {
	struct held_entry *e;
	size_t cap, n;
};

static uint64_t hash_bytes(uint64_t seed, const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ seed;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	return (h ^ (h >> 33)) | 1; /* never 0: 0 marks a free slot */
}

static int held_add(struct held *h, uint64_t kh, uint64_t vh)
{
	size_t i, j;

	if ((h->n + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct held_entry *ne = calloc(cap, sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		for (j = 0; j < h->cap; j++) {
			if (!h->e[j].key_hash)
				continue;
			for (i = h->e[j].key_hash & (cap - 1); ne[i].key_hash; i = (i + 1) & (cap - 1))
				;
			ne[i] = h->e[j];
		}
		free(h->e);
		h->e = ne;
		h->cap = cap;
	}
	for (i = kh & (h->cap - 1); h->e[i].key_hash; i = (i + 1) & (h->cap - 1))
		if (h->e[i].key_hash == kh)
			break;
	if (!h->e[i].key_hash)
		h->n++;
	h->e[i] = (struct held_entry){kh, vh};
	return 0;
}

static const struct held_entry *held_find(const struct held *h, uint64_t kh)
{
	size_t i;

	if (!h->cap)
		return NULL;
	for (i = kh & (h->cap - 1); h->e[i].key_hash; i = (i + 1) & (h->cap - 1))
		if (h->e[i].key_hash == kh)
			return &h->e[i];
	return NULL;
}

static int held_cb(const struct zh_kv *kv, void *ctx)
{
	return held_add(ctx, hash_bytes(0, kv->key, kv->key_len),
			hash_bytes(1, kv->value, kv->value_len));
}

/* "(networks 1, endpoints 2, routes 0, hosts 2, ports 2)", then exports
 * and peerings when the file has any.
 */
static void kind_counts(const struct zh_intent *in, char *buf, size_t size)
{
	size_t count[ZH_REC_KINDS] = {0}, i, o = 0;
	int k;

	for (i = 0; i < in->n; i++)
		if (in->recs[i].kind < ZH_REC_KINDS)
			count[in->recs[i].kind]++;
	for (k = ZH_REC_NETWORK; k <= ZH_REC_PORT; k++)
		o += snprintf(buf + o, size - o, "%s%ss %zu", k == ZH_REC_NETWORK ? "(" : ", ",
			      zh_rec_kind_name(k), count[k]);
	for (k = ZH_REC_EXPORT; k <= ZH_REC_PEERING; k++)
		if (count[k])
			o += snprintf(buf + o, size - o, ", %ss %zu", zh_rec_kind_name(k), count[k]);
	snprintf(buf + o, size - o, ")");
}

static int apply_records(const struct apply_opts *o, const struct zh_intent *in)
{
	struct zh_etcd_op *ops = NULL;
	char **keys = NULL, **vals = NULL, counts[128];
	struct held held = {0};
	struct zh_etcd *e = NULL;
	size_t i, n_ops = 0, done = 0;
	int64_t rev = 0;
	int err;

	kind_counts(in, counts, sizeof(counts));
	keys = calloc(in->n ?: 1, sizeof(*keys));
	vals = calloc(in->n ?: 1, sizeof(*vals));
	ops = calloc(in->n ?: 1, sizeof(*ops));
	if (!keys || !vals || !ops) {
		err = -ENOMEM;
		goto nomem;
	}
	for (i = 0; i < in->n; i++) {
		err = zh_record_format(&in->recs[i], &keys[i], &vals[i]);
		if (err)
			goto nomem;
	}

	if (o->dry_run) {
		for (i = 0; i < in->n; i++) {
			if (o->del)
				printf("delete %s\n", keys[i]);
			else
				printf("put %s %s\n", keys[i], vals[i]);
		}
		printf("dry run: would %s %zu records %s; nothing written\n",
		       o->del ? "delete" : "apply", in->n, counts);
		err = 0;
		goto cleanup;
	}

	err = zh_etcd_open(&o->etcd, &e);
	if (err) {
		if (err == -EINVAL) {
			err = cli_usage_error("apply", "invalid --etcd '%s': %s", o->etcd.endpoints,
					      zh_etcd_error(NULL));
			goto cleanup;
		}
		fprintf(stderr, "zerohop: etcd: %s\n", zh_etcd_error(NULL));
		err = ZH_EXIT_FAIL;
		goto cleanup;
	}
	/* what is there already: unchanged records are not written again, so a
	 * re-apply does not wake every agent; a delete counts what it removes
	 */
	err = zh_etcd_list(e, ZH_KEY_ROOT, 0, &rev, held_cb, &held);
	if (err) {
		fprintf(stderr, "zerohop: etcd: %s; nothing written\n",
			err == -ENOMEM ? strerror(ENOMEM) : zh_etcd_error(e));
		err = ZH_EXIT_FAIL;
		goto cleanup;
	}
	for (i = 0; i < in->n; i++) {
		const struct held_entry *h = held_find(&held, hash_bytes(0, keys[i], strlen(keys[i])));

		if (o->del) {
			if (!h)
				continue;
			ops[n_ops++] = (struct zh_etcd_op){.type = ZH_ETCD_DELETE, .key = keys[i]};
		} else {
			if (h && h->val_hash == hash_bytes(1, vals[i], strlen(vals[i])))
				continue;
			ops[n_ops++] = (struct zh_etcd_op){
				.type = ZH_ETCD_PUT, .key = keys[i], .value = vals[i]};
		}
		if (o->verbose)
			fprintf(stderr, "zerohop: %s %s\n", o->del ? "delete" : "put", keys[i]);
	}
	if (n_ops) {
		err = zh_etcd_txn(e, ops, n_ops, &done, &rev);
		if (err) {
			if (done)
				fprintf(stderr, "zerohop: etcd: %s; %zu of %zu writes were made\n",
					zh_etcd_error(e), done, n_ops);
			else
				fprintf(stderr, "zerohop: etcd: %s; nothing written\n",
					zh_etcd_error(e));
			err = ZH_EXIT_FAIL;
			goto cleanup;
		}
	}
	if (o->del)
		printf("deleted %zu records %s at revision %lld: %zu removed, %zu already absent\n",
		       in->n, counts, (long long)rev, n_ops, in->n - n_ops);
	else
		printf("applied %zu records %s at revision %lld: %zu written, %zu unchanged\n",
		       in->n, counts, (long long)rev, n_ops, in->n - n_ops);
	err = ZH_EXIT_OK;
	goto cleanup;
nomem:
	fprintf(stderr, "zerohop: apply: %s\n", strerror(-err));
	err = ZH_EXIT_FAIL;
cleanup:
	zh_etcd_close(e);
	for (i = 0; keys && vals && i < in->n; i++) {
		free(keys[i]);
		free(vals[i]);
	}
	free(keys);
	free(vals);
	free(ops);
	free(held.e);
	return err;
}

int cmd_apply(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, OPT_HELP},
		{"verbose", no_argument, NULL, OPT_VERBOSE},
		{"file", required_argument, NULL, APPLY_OPT_FILE},
		{"etcd", required_argument, NULL, APPLY_OPT_ETCD},
		{"delete", no_argument, NULL, APPLY_OPT_DELETE},
		{"dry-run", no_argument, NULL, APPLY_OPT_DRY_RUN},
		{"user", required_argument, NULL, APPLY_OPT_USER},
		{"password", required_argument, NULL, APPLY_OPT_PASSWORD},
		{"password-file", required_argument, NULL, APPLY_OPT_PASSWORD_FILE},
		{"cacert", required_argument, NULL, APPLY_OPT_CACERT},
		{"cert", required_argument, NULL, APPLY_OPT_CERT},
		{"key", required_argument, NULL, APPLY_OPT_KEY},
		{},
	};
	struct apply_opts o = {0};
	struct zh_intent in = {0};
	struct zh_errors errs = {0};
	char *password = NULL;
	size_t i;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "hvf:", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			cli_print_usage(apply_usage);
			return ZH_EXIT_OK;
		case OPT_VERBOSE:
			o.verbose++;
			break;
		case APPLY_OPT_FILE:
			o.file = optarg;
			break;
		case APPLY_OPT_ETCD:
			o.etcd.endpoints = optarg;
			break;
		case APPLY_OPT_DELETE:
			o.del = true;
			break;
		case APPLY_OPT_DRY_RUN:
			o.dry_run = true;
			break;
		case APPLY_OPT_USER:
			o.etcd.user = optarg;
			break;
		case APPLY_OPT_PASSWORD:
			o.etcd.password = optarg;
			break;
		case APPLY_OPT_PASSWORD_FILE:
			o.password_file = optarg;
			break;
		case APPLY_OPT_CACERT:
			o.etcd.cacert = optarg;
			break;
		case APPLY_OPT_CERT:
			o.etcd.cert = optarg;
			break;
		case APPLY_OPT_KEY:
			o.etcd.key = optarg;
			break;
		default:
			return ZH_EXIT_USAGE; /* getopt said what */
		}
	}
	if (optind < argc)
		return cli_usage_error("apply", "unexpected argument '%s'", argv[optind]);
	if (!o.file)
		return cli_missing("apply", "-f FILE");
	if (!o.etcd.endpoints && !o.dry_run)
		return cli_missing("apply", "--etcd URL");
	if (o.etcd.password && o.password_file)
		return cli_usage_error("apply", "--password and --password-file do not go together");
	if (o.etcd.user && !o.etcd.password && !o.password_file)
		return cli_usage_error("apply", "--user needs --password or --password-file");
	if (!o.etcd.user && (o.etcd.password || o.password_file))
		return cli_usage_error("apply", "a password needs --user");
	if (!o.etcd.cert != !o.etcd.key)
		return cli_usage_error("apply", "--cert and --key go together");

	o.name = strcmp(o.file, "-") ? o.file : "<stdin>";
	err = zh_intent_load(strcmp(o.file, "-") ? o.file : "/dev/stdin", &in, &errs);
	if (err) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s: %s\n", o.name, errs.msg[i]);
		if (err == -EINVAL)
			fprintf(stderr, "zerohop: %s: %zu error%s; nothing written\n", o.name,
				errs.n, errs.n == 1 ? "" : "s");
		else if (!errs.n)
			fprintf(stderr, "zerohop: %s: %s\n", o.name, strerror(-err));
		zh_errors_free(&errs);
		return ZH_EXIT_FAIL;
	}

	if (o.password_file && !o.dry_run) {
		err = read_password_file(o.password_file, &password);
		if (err) {
			fprintf(stderr, "zerohop: cannot read --password-file '%s': %s\n",
				o.password_file,
				err == -ENODATA ? "the file is empty" : strerror(-err));
			zh_intent_free(&in);
			return ZH_EXIT_FAIL;
		}
		o.etcd.password = password;
	}
	err = apply_records(&o, &in);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	zh_intent_free(&in);
	return err;
}
