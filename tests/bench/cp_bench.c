// SPDX-License-Identifier: GPL-2.0-only
/* Control-plane benchmark driver (tests/bench/cp_run):
 *
 *   cp_bench load    --etcd URLS --count N [--first K]
 *       write network "bench" (VNI 100, 10.0.0.0/8), hosts "me" (port p1,
 *       10.0.0.1) and "far", and endpoints 10.(64+i/65536).x.y on "far",
 *       in transactions of 128 operations; prints the seconds it took.
 *   cp_bench count   --instance I
 *       number of remote endpoints in the instance's zh_endpoints.
 *   cp_bench wait    --instance I --count N --timeout S
 *       poll until zh_endpoints holds >= N remote endpoints; prints the
 *       seconds since the call (or since --since EPOCH_SECONDS).
 *   cp_bench latency --etcd URLS --instance I --updates N
 *       N times: put one new endpoint in etcd, then spin on the pinned map
 *       until it is there with the right MAC; prints p50/p99/max in ms as
 *       JSON. The clock starts before the put request leaves.
 *
 * The records are built with the data model's own formatter, written with
 * the project's etcd client, and read straight from the pinned BPF maps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#define BENCH_PROG "cp_bench"
#include "cp_common.h"

static uint32_t ep_ip(uint32_t i)
{
	/* 10.64.0.0 + i, skipping .0 and .255 host bytes is not needed: /8 */
	return htonl((10u << 24) + (64u << 16) + i);
}

static void ep_mac(uint32_t i, uint32_t gen, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = gen & 0xff;
	mac[2] = i >> 24;
	mac[3] = i >> 16;
	mac[4] = i >> 8;
	mac[5] = i;
}

static void rec_endpoint(struct zh_record *r, uint32_t i, uint32_t gen)
{
	memset(r, 0, sizeof(*r));
	r->kind = ZH_REC_ENDPOINT;
	strcpy(r->network, "bench");
	r->ep.ip = ep_ip(i);
	ep_mac(i, gen, r->ep.mac);
	strcpy(r->ep.host, "far");
	inet_pton(AF_INET, "198.18.0.2", &r->ep.host_ip);
}

static int load(struct zh_etcd *e, uint32_t first, uint32_t count)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct zh_record *r = calloc(1, sizeof(*r));
	double t0 = now_s();
	uint32_t i;
	int err = -ENOMEM;

	if (!b || !r)
		goto out;
	b->e = e;
	if (first == 0) {
		memset(r, 0, sizeof(*r));
		r->kind = ZH_REC_NETWORK;
		strcpy(r->network, "bench");
		r->net.vni = 100;
		r->net.n_cidrs = 1;
		inet_pton(AF_INET, "10.0.0.0", &r->net.cidrs[0].addr);
		r->net.cidrs[0].len = 8;
		if ((err = batch_put(b, r)))
			goto out;
		memset(r, 0, sizeof(*r));
		r->kind = ZH_REC_HOST;
		strcpy(r->host, "me");
		inet_pton(AF_INET, "198.18.0.1", &r->hostrec.underlay);
		r->hostrec.n_networks = 1;
		strcpy(r->hostrec.networks[0], "bench");
		if ((err = batch_put(b, r)))
			goto out;
		r->hostrec.underlay = 0;
		strcpy(r->host, "far");
		inet_pton(AF_INET, "198.18.0.2", &r->hostrec.underlay);
		if ((err = batch_put(b, r)))
			goto out;
		memset(r, 0, sizeof(*r));
		r->kind = ZH_REC_PORT;
		strcpy(r->host, "me");
		strcpy(r->port.ifname, "p1");
		strcpy(r->port.network, "bench");
		memcpy(r->port.mac, "\x02\x00\x00\x00\x00\x01", 6);
		inet_pton(AF_INET, "10.0.0.1", &r->port.ip);
		if ((err = batch_put(b, r)))
			goto out;
	}
	for (i = first; i < first + count; i++) {
		rec_endpoint(r, i, 0);
		if ((err = batch_put(b, r)))
			goto out;
	}
	err = batch_flush(b);
	if (!err)
		printf("%.3f\n", now_s() - t0);
out:
	free(b);
	free(r);
	return err;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int latency(struct zh_etcd *e, const char *instance, uint32_t updates, uint32_t first)
{
	struct zh_record r;
	double *lat = calloc(updates, sizeof(double));
	double *ack = calloc(updates, sizeof(double));
	double *own = calloc(updates, sizeof(double));
	int fd = map_fd(instance, ZH_MAP_ENDPOINTS, false), err = 0;
	uint32_t u;

	if (fd < 0 || !lat || !ack || !own) {
		err = fd < 0 ? fd : -ENOMEM;
		goto out;
	}
	for (u = 0; u < updates; u++) {
		struct zh_ep_key key;
		struct zh_endpoint val;
		struct zh_etcd_op op;
		char *k, *v;
		double t0, deadline;

		rec_endpoint(&r, first + u, 1);
		if ((err = zh_record_format(&r, &k, &v)))
			goto out;
		key = (struct zh_ep_key){.vni = 100, .ip = r.ep.ip};
		op = (struct zh_etcd_op){.type = ZH_ETCD_PUT, .key = k, .value = v};
		t0 = now_s();
		err = zh_etcd_txn(e, &op, 1, NULL, NULL);
		free(k);
		free(v);
		if (err) {
			fprintf(stderr, "cp_bench: put failed: %s\n", zh_etcd_error(e));
			goto out;
		}
		ack[u] = (now_s() - t0) * 1e3;
		deadline = t0 + 5;
		for (;;) {
			if (bpf_map_lookup_elem(fd, &key, &val) == 0 &&
			    !memcmp(val.mac, r.ep.mac, 6))
				break;
			if (now_s() > deadline) {
				fprintf(stderr, "cp_bench: update %u not in the map after 5 s\n", u);
				err = -ETIMEDOUT;
				goto out;
			}
			/* poll every 20 us: a busy loop would take a CPU from
			 * etcd and the agent on a small machine */
			usleep(20);
		}
		lat[u] = (now_s() - t0) * 1e3;
		own[u] = lat[u] - ack[u];
	}
	qsort(lat, updates, sizeof(double), cmp_double);
	qsort(ack, updates, sizeof(double), cmp_double);
	qsort(own, updates, sizeof(double), cmp_double);
	/* put_*: the put's own round trip (etcd's commit), part of the total;
	 * after_put_*: from the put's answer until the entry is in the map */
	printf("{\"updates\":%u,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	       "\"put_p50_ms\":%.3f,\"put_p99_ms\":%.3f,"
	       "\"after_put_p50_ms\":%.3f,\"after_put_p99_ms\":%.3f}\n",
	       updates, lat[updates / 2], lat[(updates * 99) / 100], lat[updates - 1],
	       ack[updates / 2], ack[(updates * 99) / 100], own[updates / 2],
	       own[(updates * 99) / 100]);
out:
	if (fd >= 0)
		close(fd);
	free(lat);
	free(ack);
	free(own);
	return err;
}

static void usage(void)
{
	fprintf(stderr, "usage: cp_bench load|count|wait|latency [--etcd URLS] [--instance I]\n"
			"       [--count N] [--first K] [--updates N] [--timeout S] [--since EPOCH]\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"etcd", required_argument, NULL, 'e'},   {"instance", required_argument, NULL, 'i'},
		{"count", required_argument, NULL, 'n'},  {"first", required_argument, NULL, 'f'},
		{"updates", required_argument, NULL, 'u'}, {"timeout", required_argument, NULL, 't'},
		{"since", required_argument, NULL, 's'},  {},
	};
	const char *etcd = NULL, *instance = NULL, *cmd;
	uint32_t count = 0, first = 0, updates = 1000;
	double timeout = 60, since = 0;
	struct zh_etcd *e = NULL;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e': etcd = optarg; break;
		case 'i': instance = optarg; break;
		case 'n': count = strtoul(optarg, NULL, 0); break;
		case 'f': first = strtoul(optarg, NULL, 0); break;
		case 'u': updates = strtoul(optarg, NULL, 0); break;
		case 't': timeout = atof(optarg); break;
		case 's': since = atof(optarg); break;
		default: usage(); return 2;
		}
	}
	if (optind >= argc) {
		usage();
		return 2;
	}
	cmd = argv[optind];
	if (!updates) {
		usage();
		return 2;
	}
	if (!strcmp(cmd, "load") || !strcmp(cmd, "latency")) {
		struct zh_etcd_opts o = {.endpoints = etcd, .timeout_ms = 10000};

		if (!etcd) {
			usage();
			return 2;
		}
		err = zh_etcd_open(&o, &e);
		if (err) {
			fprintf(stderr, "cp_bench: etcd %s: %s\n", etcd, strerror(-err));
			return 1;
		}
		err = !strcmp(cmd, "load") ? load(e, first, count)
					   : (instance ? latency(e, instance, updates, first) : -EINVAL);
		zh_etcd_close(e);
		return err ? 1 : 0;
	}
	if (!instance) {
		usage();
		return 2;
	}
	if (!strcmp(cmd, "count") || !strcmp(cmd, "wait")) {
		double t0 = since ? since : wall_s();
		int fd = map_fd(instance, ZH_MAP_ENDPOINTS, !strcmp(cmd, "wait"));
		long n;

		/* wait: the agent may not have created the instance yet */
		while (fd < 0 && !strcmp(cmd, "wait") && wall_s() - t0 < timeout) {
			usleep(20000);
			fd = map_fd(instance, ZH_MAP_ENDPOINTS, true);
		}
		if (fd < 0) {
			fprintf(stderr, "cp_bench: instance %s has no zh_endpoints\n", instance);
			return 1;
		}
		for (;;) {
			n = count_remote_eps(fd, false);
			if (n < 0) {
				fprintf(stderr, "cp_bench: zh_endpoints: %s\n", strerror((int)-n));
				return 1;
			}
			if (!strcmp(cmd, "count")) {
				printf("%ld\n", n);
				return 0;
			}
			if (n >= (long)count) {
				printf("%.3f\n", wall_s() - t0);
				return 0;
			}
			if (wall_s() - t0 > timeout) {
				fprintf(stderr, "cp_bench: %ld of %u endpoints after %.0f s\n", n, count,
					timeout);
				return 1;
			}
			usleep(20000);
		}
	}
	usage();
	return 2;
}
