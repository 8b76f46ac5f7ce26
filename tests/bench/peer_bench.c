// SPDX-License-Identifier: GPL-2.0-only
/* Peering benchmark driver (tests/bench/peer_run): a full mesh of N
 * networks on three shards, every network peered with every other.
 *
 *   peer_bench load --shards URL0,URL1,URL2 --shard K --networks N
 *                   --endpoints E --exported X [--first F] [--only WHAT]
 *                   [--acl DIR]
 *       write the records of the networks i with i % 3 == K on shard K:
 *       network n<i> (VNI 1000 + i, 10.<i/256>.<i%256>.0/24), endpoints
 *       .F+1 .. .E on remote hosts, export policies p0 (every protocol)
 *       and p1 (TCP only) that both export the addresses .1 .. .X, and a
 *       peering with every other network n<j>: grant p<(i+j)%2>,
 *       peer_shard the URL of j's shard (none when it is this one). On
 *       shard 0 also host "me" (198.18.0.1) with port p1 (10.0.0.250) in
 *       n0. --only endpoints|exports writes just those records (to grow
 *       a loaded mesh); --only base just n0's network record and the
 *       host (the idle agent's). --acl DIR: peerings carry users and password
 *       files (created in DIR): a<i>-at-<j> is what n<i>'s hosts use on
 *       n<j>'s shard. Prints the seconds it took.
 *   peer_bench expect --networks N --exported X
 *       "ENDPOINTS POLICIES PUBLISHED0 PUBLISHED1 PUBLISHED2": what the
 *       host of n0 programs (peer endpoints, zh_policy entries) and the
 *       keys each shard publishes.
 *   peer_bench count --instance I
 *       "ENDPOINTS POLICIES" in the instance's maps (peer endpoints: the
 *       remote entries with a dest_vni).
 *   peer_bench wait --instance I --networks N --exported X --timeout S
 *                   [--since EPOCH_SECONDS]
 *       poll until both counts reach what expect says; prints the seconds
 *       since --since for each as JSON.
 *
 * Records are built with the data model's formatter and written with the
 * project's etcd client in transactions of 128; counts are read straight
 * from the pinned BPF maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#define BENCH_PROG "peer_bench"
#include "cp_common.h"

#define SHARDS   3
#define VNI_BASE 1000
#define VM_HOST  250  /* n0's VM on host "me": 10.0.0.250 */
#define MAX_EPS  200  /* endpoints .1 .. .200 of a /24 */

static uint32_t net_addr(uint32_t i, uint32_t host)
{
	return htonl((10u << 24) | ((i >> 8) << 16) | ((i & 0xff) << 8) | host);
}

/* The CIDRs covering the host addresses .1 .. .x of network i. */
static int exported_prefixes(uint32_t i, uint32_t x, struct zh_cidr *out, int max)
{
	uint32_t lo = 1, n = 0;

	while (lo <= x) {
		uint32_t size = 1;

		/* the largest aligned block starting at lo that ends <= x */
		while (size < 256 && lo % (size * 2) == 0 && lo + size * 2 - 1 <= x)
			size *= 2;
		if ((int)n == max)
			return -E2BIG;
		out[n].addr = net_addr(i, lo);
		out[n].len = 32 - __builtin_ctz(size);
		n++;
		lo += size;
	}
	return n;
}

struct load_opts {
	char shards[SHARDS][ZH_PEER_SHARD_MAX];
	uint32_t shard, networks, endpoints, exported, first;
	const char *only;
	const char *acl_dir;
	const char *user, *password_file;
};

static void acl_user(char *buf, size_t size, uint32_t from, uint32_t at)
{
	snprintf(buf, size, "a%u-at-%u", from, at);
}

/* DIR/<user>.pw with a password derived from the name (a benchmark). */
static int acl_file(const struct load_opts *o, const char *user, char *path, size_t size)
{
	char pw[128];
	int fd, len;

	snprintf(path, size, "%s/%s.pw", o->acl_dir, user);
	len = snprintf(pw, sizeof(pw), "pw-%s-bench\n", user);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, pw, len) != len) {
		fprintf(stderr, "peer_bench: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static int load_network(struct batch *b, const struct load_opts *o, uint32_t i,
			struct zh_record *r)
{
	bool all = !o->only, eps = all || !strcmp(o->only, "endpoints"),
	     exps = all || !strcmp(o->only, "exports");
	struct zh_cidr pfx[ZH_EXPORT_PREFIXES_MAX];
	int n_pfx, err, p;
	uint32_t e, j;

	if (all) {
		memset(r, 0, sizeof(*r));
		r->kind = ZH_REC_NETWORK;
		snprintf(r->network, sizeof(r->network), "n%u", i);
		r->net.vni = VNI_BASE + i;
		r->net.n_cidrs = 1;
		r->net.cidrs[0] = (struct zh_cidr){.addr = net_addr(i, 0), .len = 24};
		if ((err = batch_put(b, r)))
			return err;
	}
	for (e = o->first + 1; eps && e <= o->endpoints; e++) {
		memset(r, 0, sizeof(*r));
		r->kind = ZH_REC_ENDPOINT;
		snprintf(r->network, sizeof(r->network), "n%u", i);
		r->ep.ip = net_addr(i, e);
		r->ep.mac[0] = 0x02;
		r->ep.mac[2] = i >> 16;
		r->ep.mac[3] = i >> 8;
		r->ep.mac[4] = i;
		r->ep.mac[5] = e;
		snprintf(r->ep.host, sizeof(r->ep.host), "r%u", e % 50);
		r->ep.host_ip = htonl((198u << 24) | (18u << 16) | (1u << 8) | (1 + e % 50));
		if ((err = batch_put(b, r)))
			return err;
	}
	n_pfx = exported_prefixes(i, o->exported, pfx, ZH_EXPORT_PREFIXES_MAX);
	if (n_pfx < 0)
		return n_pfx;
	for (p = 0; exps && p < 2; p++) {
		memset(r, 0, sizeof(*r));
		r->kind = ZH_REC_EXPORT;
		snprintf(r->network, sizeof(r->network), "n%u", i);
		snprintf(r->policy, sizeof(r->policy), "p%d", p);
		r->exp.n_prefixes = n_pfx;
		memcpy(r->exp.prefixes, pfx, n_pfx * sizeof(pfx[0]));
		r->exp.protocols = p ? ZH_PROTO_TCP : ZH_PROTO_ANY;
		if ((err = batch_put(b, r)))
			return err;
	}
	for (j = 0; all && j < o->networks; j++) {
		struct zh_rec_peering *pr = &r->peering;

		if (j == i)
			continue;
		memset(r, 0, sizeof(*r));
		r->kind = ZH_REC_PEERING;
		snprintf(r->network, sizeof(r->network), "n%u", i);
		snprintf(pr->peer, sizeof(pr->peer), "n%u", j);
		if (j % SHARDS != i % SHARDS)
			snprintf(pr->peer_shard, sizeof(pr->peer_shard), "%s", o->shards[j % SHARDS]);
		snprintf(pr->grant, sizeof(pr->grant), "p%u", (i + j) % 2);
		pr->preference = ZH_PREFERENCE_DEFAULT;
		if (o->acl_dir) {
			acl_user(pr->user, sizeof(pr->user), i, j);
			acl_user(pr->peer_user, sizeof(pr->peer_user), j, i);
			if ((err = acl_file(o, pr->user, pr->password_file,
					    sizeof(pr->password_file))) ||
			    (err = acl_file(o, pr->peer_user, pr->peer_password_file,
					    sizeof(pr->peer_password_file))))
				return err;
		}
		if ((err = batch_put(b, r)))
			return err;
	}
	return 0;
}

/* Host "me" with n0's VM port (shard 0 only). */
static int load_host(struct batch *b, struct zh_record *r)
{
	int err;

	memset(r, 0, sizeof(*r));
	r->kind = ZH_REC_HOST;
	strcpy(r->host, "me");
	r->hostrec.underlay = htonl((198u << 24) | (18u << 16) | 1);
	r->hostrec.n_networks = 1;
	strcpy(r->hostrec.networks[0], "n0");
	if ((err = batch_put(b, r)))
		return err;
	memset(r, 0, sizeof(*r));
	r->kind = ZH_REC_PORT;
	strcpy(r->host, "me");
	strcpy(r->port.ifname, "p1");
	strcpy(r->port.network, "n0");
	memcpy(r->port.mac, "\x02\x00\x00\x00\x00\x01", 6);
	r->port.ip = net_addr(0, VM_HOST);
	return batch_put(b, r);
}

static int load(const struct load_opts *o)
{
	struct zh_etcd_opts eo = {.endpoints = o->shards[o->shard], .timeout_ms = 30000};
	char password[256] = "";
	struct batch *b = calloc(1, sizeof(*b));
	struct zh_record *r = calloc(1, sizeof(*r));
	bool base = o->only && !strcmp(o->only, "base");
	double t0 = now_s();
	uint32_t i;
	int err = -ENOMEM;

	if (!b || !r)
		goto out;
	if (o->user) {
		FILE *f = fopen(o->password_file, "re");

		if (!f || !fgets(password, sizeof(password), f)) {
			fprintf(stderr, "peer_bench: %s: cannot read a password\n", o->password_file);
			if (f)
				fclose(f);
			err = -EINVAL;
			goto out;
		}
		fclose(f);
		password[strcspn(password, "\r\n")] = 0;
		eo.user = o->user;
		eo.password = password;
	}
	err = zh_etcd_open(&eo, &b->e);
	if (err) {
		fprintf(stderr, "peer_bench: etcd %s: %s\n", eo.endpoints, zh_etcd_error(NULL));
		goto out;
	}
	if (o->shard == 0 && (!o->only || !strcmp(o->only, "base")) && (err = load_host(b, r)))
		goto out;
	for (i = o->shard; i < o->networks && !base; i += SHARDS)
		if ((err = load_network(b, o, i, r)))
			goto out;
	if (base && o->shard == 0) {
		/* n0's network record alone: the idle agent's network */
		memset(r, 0, sizeof(*r));
		r->kind = ZH_REC_NETWORK;
		strcpy(r->network, "n0");
		r->net.vni = VNI_BASE;
		r->net.n_cidrs = 1;
		r->net.cidrs[0] = (struct zh_cidr){.addr = net_addr(0, 0), .len = 24};
		if ((err = batch_put(b, r)))
			goto out;
	}
	err = batch_flush(b);
	if (!err)
		printf("%.3f\n", now_s() - t0);
out:
	if (b)
		zh_etcd_close(b->e);
	free(b);
	free(r);
	return err;
}

/* What n0's host programs and what each shard publishes. */
static int expect(uint32_t networks, uint32_t exported, long *eps, long *pols, long pub[SHARDS])
{
	struct zh_cidr pfx[ZH_EXPORT_PREFIXES_MAX];
	int n_pfx = exported_prefixes(0, exported, pfx, ZH_EXPORT_PREFIXES_MAX);
	uint32_t i, j, k;

	if (n_pfx < 0 || networks < 2)
		return -EINVAL;
	*eps = (long)(networks - 1) * exported;
	/* per peer: its meta's prefixes (sender) and n0's export's (receiver) */
	*pols = (long)(networks - 1) * 2 * n_pfx;
	/* one view (meta + endpoints) per policy network i grants a peer j:
	 * p<(i + j) % 2>; both unless every peer has the same parity (N = 3)
	 */
	for (k = 0; k < SHARDS; k++)
		pub[k] = 0;
	for (i = 0; i < networks; i++) {
		bool granted[2] = {false, false};

		for (j = 0; j < networks && !(granted[0] && granted[1]); j++)
			if (j != i)
				granted[(i + j) % 2] = true;
		pub[i % SHARDS] += (granted[0] + granted[1]) * (1 + (long)exported);
	}
	return 0;
}

/* Entries of zh_policy (an LPM trie: no batch lookups). */
static long count_policies(int fd)
{
	struct zh_policy_key key, next;
	void *prev = NULL;
	long n = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
	}
	return errno == ENOENT ? n : -errno;
}

static int counts(const char *instance, bool wait, double t0, double timeout, long *eps,
		  long *pols)
{
	int efd = map_fd(instance, ZH_MAP_ENDPOINTS, wait), pfd = -1, err = 0;

	/* wait: the agent may not have created the instance yet */
	while (efd < 0 && wait && wall_s() - t0 < timeout) {
		usleep(20000);
		efd = map_fd(instance, ZH_MAP_ENDPOINTS, true);
	}
	if (efd >= 0)
		pfd = map_fd(instance, ZH_MAP_POLICY, false);
	if (efd < 0 || pfd < 0) {
		fprintf(stderr, "peer_bench: instance %s has no zh_endpoints or zh_policy\n",
			instance);
		err = -ENOENT;
		goto out;
	}
	*eps = count_remote_eps(efd, true);
	*pols = count_policies(pfd);
	if (*eps < 0 || *pols < 0) {
		err = *eps < 0 ? (int)*eps : (int)*pols;
		fprintf(stderr, "peer_bench: reading the maps of %s: %s\n", instance,
			strerror(-err));
	}
out:
	if (efd >= 0)
		close(efd);
	if (pfd >= 0)
		close(pfd);
	return err;
}

static int wait_maps(const char *instance, uint32_t networks, uint32_t exported, double since,
		     double timeout)
{
	double t0 = since ? since : wall_s(), t_eps = 0, t_pols = 0;
	long want_eps, want_pols, pub[SHARDS], eps = 0, pols = 0;

	if (expect(networks, exported, &want_eps, &want_pols, pub))
		return -EINVAL;
	for (;;) {
		int err = counts(instance, true, t0, timeout, &eps, &pols);

		if (err)
			return err;
		if (!t_eps && eps >= want_eps)
			t_eps = wall_s() - t0;
		if (!t_pols && pols >= want_pols)
			t_pols = wall_s() - t0;
		if (t_eps && t_pols)
			break;
		if (wall_s() - t0 > timeout) {
			fprintf(stderr, "peer_bench: %ld of %ld peer endpoints and %ld of %ld "
					"policies after %.0f s\n", eps, want_eps, pols, want_pols,
				timeout);
			return -ETIMEDOUT;
		}
		usleep(50000);
	}
	printf("{\"endpoints\":%ld,\"endpoints_s\":%.3f,\"policies\":%ld,\"policies_s\":%.3f,"
	       "\"seconds\":%.3f}\n", eps, t_eps, pols, t_pols, t_eps > t_pols ? t_eps : t_pols);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: peer_bench load --shards URL0,URL1,URL2 --shard K --networks N --endpoints E\n"
		"                       --exported X [--first F] [--only base|endpoints|exports] [--acl DIR]\n"
		"                       [--user U --password-file F]\n"
		"       peer_bench expect --networks N --exported X\n"
		"       peer_bench count --instance I\n"
		"       peer_bench wait --instance I --networks N --exported X --timeout S [--since T]\n");
}

static int split_shards(struct load_opts *o, const char *list)
{
	const char *p = list;
	uint32_t k;

	for (k = 0; k < SHARDS; k++) {
		size_t len = strcspn(p, ",");

		if (!len || len >= sizeof(o->shards[k]))
			return -EINVAL;
		snprintf(o->shards[k], sizeof(o->shards[k]), "%.*s", (int)len, p);
		p += len;
		if (*p)
			p++;
	}
	return *p ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"shards", required_argument, NULL, 'S'},   {"shard", required_argument, NULL, 'k'},
		{"networks", required_argument, NULL, 'n'}, {"endpoints", required_argument, NULL, 'e'},
		{"exported", required_argument, NULL, 'x'}, {"first", required_argument, NULL, 'f'},
		{"only", required_argument, NULL, 'o'},     {"acl", required_argument, NULL, 'a'},
		{"instance", required_argument, NULL, 'i'}, {"timeout", required_argument, NULL, 't'},
		{"since", required_argument, NULL, 's'},    {"user", required_argument, NULL, 'U'},
		{"password-file", required_argument, NULL, 'P'}, {},
	};
	struct load_opts o = {.endpoints = 10, .exported = 10};
	const char *instance = NULL, *shards = NULL, *cmd;
	double timeout = 600, since = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'S': shards = optarg; break;
		case 'k': o.shard = strtoul(optarg, NULL, 0); break;
		case 'n': o.networks = strtoul(optarg, NULL, 0); break;
		case 'e': o.endpoints = strtoul(optarg, NULL, 0); break;
		case 'x': o.exported = strtoul(optarg, NULL, 0); break;
		case 'f': o.first = strtoul(optarg, NULL, 0); break;
		case 'o': o.only = optarg; break;
		case 'a': o.acl_dir = optarg; break;
		case 'i': instance = optarg; break;
		case 't': timeout = atof(optarg); break;
		case 's': since = atof(optarg); break;
		case 'U': o.user = optarg; break;
		case 'P': o.password_file = optarg; break;
		default: usage(); return 2;
		}
	}
	if (optind >= argc || o.endpoints > MAX_EPS || o.exported > MAX_EPS ||
	    (o.only && strcmp(o.only, "endpoints") && strcmp(o.only, "exports") &&
	     strcmp(o.only, "base"))) {
		usage();
		return 2;
	}
	cmd = argv[optind];
	if (!strcmp(cmd, "load")) {
		if (!shards || split_shards(&o, shards) || o.shard >= SHARDS || o.networks < 2 ||
		    o.networks > 65536 || o.exported > o.endpoints || !o.user != !o.password_file) {
			usage();
			return 2;
		}
		return load(&o) ? 1 : 0;
	}
	if (!strcmp(cmd, "expect")) {
		long eps, pols, pub[SHARDS];

		if (expect(o.networks, o.exported, &eps, &pols, pub)) {
			usage();
			return 2;
		}
		printf("%ld %ld %ld %ld %ld\n", eps, pols, pub[0], pub[1], pub[2]);
		return 0;
	}
	if (!instance) {
		usage();
		return 2;
	}
	if (!strcmp(cmd, "count")) {
		long eps, pols;

		if (counts(instance, false, 0, 0, &eps, &pols))
			return 1;
		printf("%ld %ld\n", eps, pols);
		return 0;
	}
	if (!strcmp(cmd, "wait"))
		return wait_maps(instance, o.networks, o.exported, since, timeout) ? 1 : 0;
	usage();
	return 2;
}
