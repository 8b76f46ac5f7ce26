// SPDX-License-Identifier: GPL-2.0-only
/* zerohop show conflicts: the route conflicts zerohop-controller resolved,
 * read from effective/<net>/routes/ on a controller shard's etcd
 * (docs/controller.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "etcd.h"
#include "model.h"

static const char conflicts_usage[] =
	"Usage: zerohop show conflicts [--etcd URL[,URL...]] [--network NAME] [--all] [--json]\n"
	"                              [--user USER --password-file FILE]\n"
	"                              [--cacert FILE] [--cert FILE --key FILE]\n"
	"\n"
	"Route conflicts of the networks a controller shard serves, from the effective\n"
	"routes zerohop-controller writes under /zerohop/v1/effective/<net>/routes/: every\n"
	"prefix that more than one origin (the network itself, its peers) has, the winner,\n"
	"the rule that decided (local, preference, network-id) and the losers, best first,\n"
	"each with the rule it lost by.\n"
	"\n"
	"  --etcd URL[,URL...]      the shard's etcd (default: $ZEROHOP_ETCD, else\n"
	"                           http://127.0.0.1:2379)\n"
	"  --network NAME           only this network\n"
	"  --all                    every effective route, also those without a conflict\n"
	"  --json                   a JSON array of the effective records\n"
	"  --user USER              authenticate as USER, password: first line of\n"
	"  --password-file FILE     FILE\n"
	"  --cacert FILE            CA certificates for https:// endpoints\n"
	"  --cert FILE, --key FILE  client certificate and key (TLS)\n";

enum {
	CF_OPT_ETCD = 0x300,
	CF_OPT_NETWORK,
	CF_OPT_ALL,
	CF_OPT_USER,
	CF_OPT_PASSWORD_FILE,
	CF_OPT_CACERT,
	CF_OPT_CERT,
	CF_OPT_KEY,
};

struct conflicts_ctx {
	const char *network;
	bool all;
	json_object *arr;          /* NULL: text */
	size_t rows, bad;
	struct zh_record rec;
};

static const char *cidr_str(const struct zh_cidr *c, char buf[INET_ADDRSTRLEN + 3])
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &c->addr, a, sizeof(a));
	snprintf(buf, INET_ADDRSTRLEN + 3, "%s/%u", a, c->len);
	return buf;
}

static json_object *origin_json(const struct zh_eff_route *r)
{
	json_object *o = json_object_new_object();
	char a[INET_ADDRSTRLEN];

	json_object_object_add(o, "network", json_object_new_string(r->network));
	json_object_object_add(o, "origin", json_object_new_string(zh_route_origin_name(r->origin)));
	json_object_object_add(o, "vni", json_object_new_int64(r->vni));
	if (r->origin == ZH_ORIGIN_PEER)
		json_object_object_add(o, "preference", json_object_new_int64(r->preference));
	if (r->drop) {
		json_object_object_add(o, "drop", json_object_new_boolean(1));
	} else {
		inet_ntop(AF_INET, &r->host_ip, a, sizeof(a));
		json_object_object_add(o, "host", json_object_new_string(r->host));
		json_object_object_add(o, "host_ip", json_object_new_string(a));
	}
	json_object_object_add(o, "rule", json_object_new_string(zh_conflict_rule_name(r->rule)));
	return o;
}

static int conflict_row(const struct zh_kv *kv, void *arg)
{
	struct conflicts_ctx *ctx = arg;
	const struct zh_rec_effective *eff = &ctx->rec.eff;
	char err[ZH_ERR_MAX] = "", prefix[INET_ADDRSTRLEN + 3], losers[1024];
	size_t i, o = 0;

	if (zh_record_parse(kv->key, kv->key_len, kv->value, kv->value_len, &ctx->rec, err,
			    sizeof(err))) {
		fprintf(stderr, "zerohop: %s\n", err);
		ctx->bad++;
		return 0;
	}
	if (ctx->rec.kind != ZH_REC_EFFECTIVE ||
	    (ctx->network && strcmp(ctx->rec.network, ctx->network)) ||
	    (!ctx->all && !eff->n_losers && !eff->losers_omitted))
		return 0;
	cidr_str(&eff->prefix, prefix);
	if (ctx->arr) {
		json_object *row = json_object_new_object(), *l = json_object_new_array();

		json_object_object_add(row, "network", json_object_new_string(ctx->rec.network));
		json_object_object_add(row, "prefix", json_object_new_string(prefix));
		json_object_object_add(row, "winner", origin_json(&eff->winner));
		json_object_object_add(row, "rule",
				       json_object_new_string(zh_conflict_rule_name(eff->winner.rule)));
		for (i = 0; i < eff->n_losers; i++)
			json_object_array_add(l, origin_json(&eff->losers[i]));
		json_object_object_add(row, "losers", l);
		json_object_object_add(row, "losers_omitted",
				       json_object_new_int64(eff->losers_omitted));
		json_object_array_add(ctx->arr, row);
		ctx->rows++;
		return 0;
	}
	losers[0] = 0;
	for (i = 0; i < eff->n_losers && o < sizeof(losers); i++)
		o += snprintf(losers + o, sizeof(losers) - o, "%s%s(%s)", i ? " " : "",
			      eff->losers[i].network, zh_conflict_rule_name(eff->losers[i].rule));
	if (eff->losers_omitted && o < sizeof(losers))
		snprintf(losers + o, sizeof(losers) - o, " +%u more", eff->losers_omitted);
	if (!ctx->rows++)
		printf("%-16s %-18s %-16s %-6s %-11s %s\n", "NETWORK", "PREFIX", "WINNER", "ORIGIN",
		       "RULE", "LOSERS");
	printf("%-16s %-18s %-16s %-6s %-11s %s\n", ctx->rec.network, prefix, eff->winner.network,
	       zh_route_origin_name(eff->winner.origin), zh_conflict_rule_name(eff->winner.rule),
	       losers[0] ? losers : "-");
	return 0;
}

static int read_password(const char *path, char **out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	n = getline(&line, &cap, f);
	if (n <= 0) {
		err = -ENODATA;
		free(line);
		goto out;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	*out = line;
out:
	fclose(f);
	return err;
}

int cmd_show_conflicts(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, OPT_HELP},
		{"json", no_argument, NULL, OPT_JSON},
		{"etcd", required_argument, NULL, CF_OPT_ETCD},
		{"network", required_argument, NULL, CF_OPT_NETWORK},
		{"all", no_argument, NULL, CF_OPT_ALL},
		{"user", required_argument, NULL, CF_OPT_USER},
		{"password-file", required_argument, NULL, CF_OPT_PASSWORD_FILE},
		{"cacert", required_argument, NULL, CF_OPT_CACERT},
		{"cert", required_argument, NULL, CF_OPT_CERT},
		{"key", required_argument, NULL, CF_OPT_KEY},
		{},
	};
	struct zh_etcd_opts eo = {0};
	struct conflicts_ctx *ctx;
	const char *password_file = NULL, *what = NULL;
	char *password = NULL, prefix[256];
	struct zh_etcd *e = NULL;
	bool json = false, all = false;
	int opt, err, ret = ZH_EXIT_FAIL;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			cli_print_usage(conflicts_usage);
			return ZH_EXIT_OK;
		case OPT_JSON:
			json = true;
			break;
		case CF_OPT_ETCD:
			eo.endpoints = optarg;
			break;
		case CF_OPT_NETWORK:
			what = optarg;
			break;
		case CF_OPT_ALL:
			all = true;
			break;
		case CF_OPT_USER:
			eo.user = optarg;
			break;
		case CF_OPT_PASSWORD_FILE:
			password_file = optarg;
			break;
		case CF_OPT_CACERT:
			eo.cacert = optarg;
			break;
		case CF_OPT_CERT:
			eo.cert = optarg;
			break;
		case CF_OPT_KEY:
			eo.key = optarg;
			break;
		default:
			return ZH_EXIT_USAGE;
		}
	}
	/* the one word after "show" */
	if (optind >= argc || strcmp(argv[optind], "conflicts"))
		return cli_usage_error("show", "expected 'conflicts'");
	if (optind + 1 < argc)
		return cli_usage_error("show", "unexpected argument '%s'", argv[optind + 1]);
	if (!eo.user != !password_file)
		return cli_usage_error("show", "--user and --password-file go together");
	if (!eo.cert != !eo.key)
		return cli_usage_error("show", "--cert and --key go together");
	if (!eo.endpoints)
		eo.endpoints = getenv("ZEROHOP_ETCD") ?: "http://127.0.0.1:2379";
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return ZH_EXIT_FAIL;
	ctx->network = what;
	ctx->all = all;
	if (what) {
		struct zh_record rec;
		char key[128], why[ZH_ERR_MAX];

		snprintf(key, sizeof(key), ZH_KEY_ROOT "networks/%.100s", what);
		if (zh_key_parse(key, strlen(key), &rec, why, sizeof(why)) ||
		    rec.kind != ZH_REC_NETWORK) {
			free(ctx);
			return cli_usage_error("show", "invalid --network '%s'", what);
		}
	}
	if (password_file) {
		err = read_password(password_file, &password);
		if (err) {
			fprintf(stderr, "zerohop: cannot read --password-file '%s': %s\n",
				password_file, err == -ENODATA ? "the file is empty" : strerror(-err));
			goto out;
		}
		eo.password = password;
	}
	err = zh_etcd_open(&eo, &e);
	if (err) {
		if (err == -EINVAL)
			ret = cli_usage_error("show", "invalid --etcd '%s': %s", eo.endpoints,
					      zh_etcd_error(NULL));
		else
			fprintf(stderr, "zerohop: etcd: %s\n", zh_etcd_error(NULL));
		goto out;
	}
	if (json)
		ctx->arr = json_object_new_array();
	if (what)
		snprintf(prefix, sizeof(prefix), ZH_KEY_ROOT "effective/%s/routes/", what);
	else
		snprintf(prefix, sizeof(prefix), ZH_KEY_ROOT "effective/");
	err = zh_etcd_list(e, prefix, 0, NULL, conflict_row, ctx);
	if (err) {
		fprintf(stderr, "zerohop: etcd: %s\n", zh_etcd_error(e));
		goto out;
	}
	if (json)
		puts(json_object_to_json_string_ext(ctx->arr, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_NOSLASHESCAPE));
	else if (!ctx->rows)
		printf("no %s%s%s\n", ctx->all ? "effective routes" : "route conflicts",
		       what ? " in network " : "", what ? what : "");
	ret = ctx->bad ? ZH_EXIT_FAIL : ZH_EXIT_OK;
out:
	if (ctx->arr)
		json_object_put(ctx->arr);
	zh_etcd_close(e);
	if (password) {
		explicit_bzero(password, strlen(password));
		free(password);
	}
	free(ctx);
	return ret;
}
