// SPDX-License-Identifier: GPL-2.0-only
/* zerohop-controller --etcd URL[,URL...] --networks NAME[,NAME...]: one per
 * controller shard. Publishes one view per export policy in use, writes
 * the effective routes of every served network, and keeps the etcd users
 * of its peerings (docs/controller.md).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ctl.h"

static const char usage[] =
	"Usage: zerohop-controller --etcd URL[,URL...] --networks NAME[,NAME...]\n"
	"                          [--user USER --password-file FILE]\n"
	"                          [--cacert FILE] [--cert FILE --key FILE] [-v]\n"
	"\n"
	"The reconciler of one controller shard (docs/controller.md). For every network\n"
	"it serves it publishes one view per export policy granted by its peerings under\n"
	"/zerohop/v1/published/<net>/<policy>/, writes the conflict-resolved routes of the\n"
	"network and its active peers under /zerohop/v1/effective/<net>/routes/, and keeps\n"
	"an etcd user and role per peering that may read only what the peering grants.\n"
	"Peers on other shards are read there, with each peering's credential.\n"
	"\n"
	"  --etcd URL[,URL...]      this shard's etcd endpoints (http:// or https://)\n"
	"  --networks NAME[,...]    the networks this shard serves\n"
	"  --user USER              log into this shard as USER (needs the root role to\n"
	"  --password-file FILE     manage peering users), password: first line of FILE\n"
	"  --cacert FILE            CA certificates for https:// endpoints (also peers')\n"
	"  --cert FILE, --key FILE  client certificate and key (TLS)\n"
	"  -v, --verbose            more detail in the log (standard error)\n"
	"  -V, --version            print the version\n"
	"\n"
	"Signals: SIGTERM and SIGINT stop it; SIGHUP reads everything again (password\n"
	"files included) and reconnects, as a restart would.\n";

enum {
	OPT_ETCD = 0x100,
	OPT_NETWORKS,
	OPT_USER,
	OPT_PASSWORD_FILE,
	OPT_CACERT,
	OPT_CERT,
	OPT_KEY,
};

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "zerohop-controller: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see 'zerohop-controller --help')\n");
	return 2;
}

/* "a,b" into opts->networks: valid names, each once. */
static int parse_networks(struct ctl_opts *o, const char *list)
{
	const char *p = list;

	while (*p) {
		size_t len = strcspn(p, ",");
		struct zh_record rec;
		char key[128], err[ZH_ERR_MAX];
		char **v;
		size_t i;

		if (len) {
			snprintf(key, sizeof(key), ZH_KEY_ROOT "networks/%.*s", (int)len, p);
			if (len > ZH_NAME_MAX || zh_key_parse(key, strlen(key), &rec, err, sizeof(err)) ||
			    rec.kind != ZH_REC_NETWORK)
				return usage_error("--networks: \"%s\" is not a valid network name",
						   strndupa(p, len));
			for (i = 0; i < o->n_networks; i++)
				if (!strcmp(o->networks[i], rec.network))
					return usage_error("--networks: %s is listed twice",
							   rec.network);
			v = realloc(o->networks, (o->n_networks + 1) * sizeof(*v));
			if (!v)
				return 1;
			o->networks = v;
			v[o->n_networks] = strdup(rec.network);
			if (!v[o->n_networks])
				return 1;
			o->n_networks++;
		}
		p += len;
		if (*p)
			p++;
	}
	if (!o->n_networks)
		return usage_error("--networks: no network given%s", "");
	return 0;
}

static void free_networks(struct ctl_opts *o)
{
	size_t i;

	for (i = 0; i < o->n_networks; i++)
		free(o->networks[i]);
	free(o->networks);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"verbose", no_argument, NULL, 'v'},
		{"etcd", required_argument, NULL, OPT_ETCD},
		{"networks", required_argument, NULL, OPT_NETWORKS},
		{"user", required_argument, NULL, OPT_USER},
		{"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
		{"cacert", required_argument, NULL, OPT_CACERT},
		{"cert", required_argument, NULL, OPT_CERT},
		{"key", required_argument, NULL, OPT_KEY},
		{},
	};
	struct ctl c = {0};
	struct pollfd pfd;
	sigset_t mask;
	bool stop = false;
	int opt, ret = 1, sfd = -1;

	while ((opt = getopt_long(argc, argv, "hvV", longopts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			fputs(usage, stdout);
			ret = 0;
			goto out;
		case 'V':
			printf("zerohop-controller %s\n", ZH_VERSION);
			ret = 0;
			goto out;
		case 'v':
			ctl_log_level++;
			break;
		case OPT_ETCD:
			c.opts.etcd = optarg;
			break;
		case OPT_NETWORKS:
			ret = parse_networks(&c.opts, optarg);
			if (ret)
				goto out;
			ret = 1;
			break;
		case OPT_USER:
			c.opts.user = optarg;
			break;
		case OPT_PASSWORD_FILE:
			c.opts.password_file = optarg;
			break;
		case OPT_CACERT:
			c.opts.cacert = optarg;
			break;
		case OPT_CERT:
			c.opts.cert = optarg;
			break;
		case OPT_KEY:
			c.opts.key = optarg;
			break;
		default:
			ret = 2; /* getopt said what */
			goto out;
		}
	}
	if (optind < argc) {
		ret = usage_error("unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (!c.opts.etcd || !c.opts.n_networks) {
		ret = usage_error("%s is required", !c.opts.etcd ? "--etcd" : "--networks");
		goto out;
	}
	if (!c.opts.user != !c.opts.password_file) {
		ret = usage_error("%s", "--user and --password-file go together");
		goto out;
	}
	if (!c.opts.cert != !c.opts.key) {
		ret = usage_error("%s", "--cert and --key go together");
		goto out;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		ctl_err("signalfd: %s", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if (ctl_start(&c))
		goto stop;
	ctl_info("serving %zu network%s on %s", c.opts.n_networks,
		 c.opts.n_networks == 1 ? "" : "s", c.opts.etcd);
	while (!stop) {
		struct signalfd_siginfo si;
		int wait = ctl_work(&c), n;

		pfd = (struct pollfd){.fd = sfd, .events = POLLIN};
		n = zh_etcd_poll(c.loop, &pfd, 1, wait);
		if (n < 0) {
			ctl_err("event loop: %s", strerror(-n));
			goto stop;
		}
		while (n > 0 && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP) {
				ctl_info("SIGHUP: reading everything again");
				ctl_stop(&c);
				if (ctl_start(&c))
					goto stop;
			} else {
				ctl_info("%s: stopping", strsignal(si.ssi_signo));
				stop = true;
			}
		}
	}
	ret = 0;
stop:
	ctl_stop(&c);
out:
	if (sfd >= 0)
		close(sfd);
	free_networks(&c.opts);
	return ret;
}
