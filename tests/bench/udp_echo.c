// SPDX-License-Identifier: GPL-2.0-only
/* A UDP echo pair for round-trip latency percentiles.
 *
 *   udp_echo server PORT SECONDS
 *       echo every datagram back to its sender, for at most SECONDS.
 *   udp_echo sink PORT SECONDS
 *       hold a UDP socket on PORT for SECONDS without reading it: datagrams
 *       to PORT are dropped at its (small) receive buffer, cheaply and
 *       without ICMP port-unreachable work, so a packet-rate test measures
 *       the path to the VM rather than the VM's error handling.
 *   udp_echo client ADDR PORT COUNT INTERVAL_US [TIMEOUT_MS [RAW_FILE]]
 *       send COUNT probes of 22 bytes (a 64-byte Ethernet frame), one at a
 *       time: the next leaves INTERVAL_US after the previous one came back
 *       (or timed out after TIMEOUT_MS, default 200). Each round trip is
 *       timed with CLOCK_MONOTONIC around sendto() .. recv() of the
 *       matching sequence number; prints one JSON object with the count
 *       answered and the RTT percentiles in microseconds, and appends
 *       every RTT (ns, one a line) to RAW_FILE when given, so runs can be
 *       pooled.
 *
 * Both ends are bounded in time (server: SECONDS; client: COUNT probes of
 * at most TIMEOUT_MS each); the bench runs them in its own namespaces.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD 22

struct probe {
	uint64_t seq;
	uint64_t magic;
	uint8_t pad[PAYLOAD - 16];
} __attribute__((packed));

#define MAGIC 0x7a65726f686f7021ull /* "zerohop!" */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int usage(void)
{
	fprintf(stderr, "usage: udp_echo server PORT SECONDS\n"
			"       udp_echo sink PORT SECONDS\n"
			"       udp_echo client ADDR PORT COUNT INTERVAL_US [TIMEOUT_MS [RAW_FILE]]\n");
	return 2;
}

static int server(int port, int seconds)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	uint64_t end = now_ns() + (uint64_t)seconds * 1000000000ull;
	char buf[2048];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("udp_echo server");
		return 1;
	}
	for (;;) {
		struct sockaddr_in from;
		socklen_t flen = sizeof(from);
		uint64_t t = now_ns();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (t >= end)
			break;
		if (poll(&pfd, 1, (int)((end - t) / 1000000) + 1) <= 0)
			continue;
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &flen);
		if (n > 0)
			sendto(fd, buf, n, 0, (struct sockaddr *)&from, flen);
	}
	close(fd);
	return 0;
}

static int sink(int port, int seconds)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), sz = 4096;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("udp_echo sink");
		return 1;
	}
	sleep(seconds);
	close(fd);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct(const uint64_t *v, int n, double p)
{
	int k = (int)(p / 100.0 * n + 0.999999) - 1;

	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return v[k] / 1000.0;
}

static int client(const char *addr, int port, int count, int interval_us, int timeout_ms,
		  const char *raw)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	uint64_t *rtt = calloc(count, sizeof(*rtt)), sum = 0;
	int fd = socket(AF_INET, SOCK_DGRAM, 0), got = 0, i;
	struct probe p = {.magic = MAGIC};

	if (!rtt || fd < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("udp_echo client");
		return 1;
	}
	for (i = 0; i < count; i++) {
		uint64_t t0, deadline;

		p.seq = i;
		t0 = now_ns();
		deadline = t0 + (uint64_t)timeout_ms * 1000000ull;
		if (send(fd, &p, sizeof(p), 0) != sizeof(p)) {
			/* e.g. ECONNREFUSED from an ICMP error: count as lost */
			continue;
		}
		for (;;) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			struct probe r;
			uint64_t t = now_ns();
			ssize_t n;

			if (t >= deadline)
				break;
			if (poll(&pfd, 1, (int)((deadline - t) / 1000000) + 1) <= 0)
				continue;
			n = recv(fd, &r, sizeof(r), MSG_DONTWAIT);
			t = now_ns();
			if (n == sizeof(r) && r.magic == MAGIC && r.seq == (uint64_t)i) {
				rtt[got++] = t - t0;
				sum += t - t0;
				break;
			}
		}
		if (interval_us > 0)
			usleep(interval_us);
	}
	close(fd);
	if (!got) {
		printf("{\"sent\": %d, \"received\": 0}\n", count);
		return 1;
	}
	if (raw) {
		FILE *f = fopen(raw, "a");

		if (!f) {
			perror(raw);
			return 1;
		}
		for (i = 0; i < got; i++)
			fprintf(f, "%llu\n", (unsigned long long)rtt[i]);
		fclose(f);
	}
	qsort(rtt, got, sizeof(*rtt), cmp_u64);
	printf("{\"sent\": %d, \"received\": %d, \"min_us\": %.2f, \"mean_us\": %.2f, "
	       "\"p50_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, \"p999_us\": %.2f, "
	       "\"max_us\": %.2f}\n",
	       count, got, rtt[0] / 1000.0, (double)sum / got / 1000.0, pct(rtt, got, 50),
	       pct(rtt, got, 90), pct(rtt, got, 99), pct(rtt, got, 99.9), rtt[got - 1] / 1000.0);
	free(rtt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]), atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "sink"))
		return sink(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 6 && argc <= 8 && !strcmp(argv[1], "client")) {
		int count = atoi(argv[4]);

		if (count < 1 || count > 10000000)
			return usage();
		return client(argv[2], atoi(argv[3]), count, atoi(argv[5]),
			      argc >= 7 ? atoi(argv[6]) : 200, argc == 8 ? argv[7] : NULL);
	}
	return usage();
}
