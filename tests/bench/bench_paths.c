// SPDX-License-Identifier: GPL-2.0-only
/* Per-path BPF cost of the zerohop data plane, through BPF_PROG_TEST_RUN.
 *
 *   bench_paths [--runs N] [--calls N] [--repeat N] [--cpu N] [--json FILE]
 *
 * Every data-plane path (ARP reply, same-host delivery, VXLAN, Geneve and
 * peering encapsulation, XDP and TC decapsulation of one network's and of
 * a peer network's packets, pass-through of traffic
 * that is not ours, and each drop) runs one crafted packet through the real
 * programs, loaded by the loader library against a pin directory of their
 * own under /sys/fs/bpf, inside a private network namespace built like the
 * BPF test harness's (tests/bpf/harness.h): an uplink "upl" with the
 * underlay address and permanent neighbours for bpf_fib_lookup(), and VM
 * port veths. Two empty programs (one XDP, one TC: "return PASS", two
 * instructions, loaded inline) are measured in the same run, interleaved
 * with the paths, as the yardstick the targets are expressed in.
 *
 * How time is taken (the kernel's test_run `duration`, ns per repeat):
 *
 *  - Method "single" (every path, and the figure the targets use): one
 *    BPF_PROG_TEST_RUN call per packet with repeat = 1. The kernel builds
 *    a fresh skb / xdp_buff from our input on every call, so a program that
 *    rewrites its buffer (ARP reply, TTL-1, encap, decap) never runs on its
 *    own output. `duration` then is the time of that one run plus the
 *    runner's fixed per-run cost (bh disable/enable, one ktime_get_ns()),
 *    which the empty program carries identically; so the ratio to the empty
 *    program and the difference (net ns) are both reported. Per (run, path)
 *    the statistic is the mean of the `calls` durations with the slowest
 *    10% cut off (interrupts and preemption land there), and the figure
 *    reported is the median of that over `runs` runs.
 *
 *  - Method "repeat" (only for paths whose output equals their input: the
 *    drops and the pass-through, which leave the packet untouched): one call
 *    with repeat = N runs the program N times back to back on the same
 *    buffer, which is valid exactly because it does not change. This is
 *    the marginal cost of the program without the runner's per-run timing
 *    overhead; the empty programs are measured the same way for the ratio.
 *    Median over `runs` runs. Paths that rewrite the buffer are NOT run
 *    this way (a second pass would see an ARP reply, a decremented TTL, or
 *    an encapsulated/decapsulated frame and take another path).
 *
 *  - Method "stats" (a cross-check, after the two above): the kernel's own
 *    per-program run time (BPF_ENABLE_STATS: run_time_ns / run_cnt of the
 *    program, taken with sched_clock() around the program alone, without
 *    the runner) over `calls` single calls per path; median of `runs`.
 *    Enabled through the BPF_ENABLE_STATS fd, so kernel.bpf_stats_enabled
 *    is never changed and stats stop when the fd is closed.
 *
 * Also recorded per program: xlated and JITed size and the number of
 * instructions the verifier processed (bpf_prog_info).
 *
 * `--profile PATH --seconds N` runs one path (method "single") in a loop
 * for N seconds and nothing else, for `perf record -g` to attribute its
 * time to helpers (see docs/benchmarks.md).
 *
 * Before timing, every path is run once and checked: the verdict and the
 * counter that names the path (e.g. encap_geneve, drop_rpf) must be what
 * the path is, so the bench cannot silently time the wrong branch.
 *
 * Output: a human table on stderr, JSON on stdout (or --json FILE).
 * Network safety: everything happens in a private netns (unshare); the pin
 * directory is removed on every exit path.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "internal.h"
#include "log.h"
#include "pkt.h"
#include "../../bpf/lib/nexthops.h"

/* --- the private network (as tests/bpf/harness.h) ------------------------ */

#define UNDERLAY "198.18.0.1"
#define HOST2    "198.18.0.2"
#define HOST3    "198.18.0.3"
#define VNI_A    100
#define VNI_B    200
#define VM1_IP   "10.0.0.1"
#define VM2_IP   "10.0.0.2"
#define VM3_IP   "10.1.0.3"

static const uint8_t ROUTER_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0xfe, 0xfe};
static const uint8_t UPL_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0xff, 0x01};
static const uint8_t VM1_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x01};
static const uint8_t VM2_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x01, 0x02};
static const uint8_t VM3_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x02, 0x03};
static const uint8_t REMOTE_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x03, 0x05};
static const uint8_t FABRIC_MAC[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xcc};

enum dev { DEV_UPL, DEV_VM1, DEV_VM2, DEV_VM3, DEV_MAX };
static const char *const dev_names[DEV_MAX] = {"upl", "vm1", "vm2", "vm3"};

static char pin_dir[PATH_MAX];
static struct zh_loaded progs[ZH_PROG_KINDS];
static uint32_t ifindex[DEV_MAX];
static int stats_fd = -1, nexthops_fd = -1, ncpu;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_paths: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void cleanup(void)
{
	int p;

	for (p = 0; p < ZH_PROG_KINDS; p++)
		if (progs[p].skel)
			zh_prog_unload(&progs[p]);
	if (pin_dir[0]) {
		zh_inst_dir_remove(pin_dir);
		pin_dir[0] = '\0';
	}
}

static void on_signal(int sig)
{
	(void)sig;
	exit(130); /* runs cleanup() */
}

static void sh(const char *cmd)
{
	if (system(cmd))
		die("command failed: %s", cmd);
}

static void write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		die("cannot write %s: %s", path, strerror(errno));
	close(fd);
}

static void netns_setup(void)
{
	int d;

	if (geteuid() != 0)
		die("needs root (BPF, netns)");
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET): %s", strerror(errno));
	sh("ip link set lo up");
	sh("ip link add upl address 02:00:00:00:ff:01 type veth peer name upl2");
	sh("ip addr add " UNDERLAY "/24 dev upl && ip link set upl up && ip link set upl2 up");
	sh("ip neigh add " HOST2 " lladdr 02:00:00:00:00:aa dev upl nud permanent");
	sh("ip neigh add " HOST3 " lladdr 02:00:00:00:00:bb dev upl nud permanent");
	for (d = DEV_VM1; d < DEV_MAX; d++) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd),
			 "ip link add %s type veth peer name %sp && ip link set %s up && "
			 "ip link set %sp up",
			 dev_names[d], dev_names[d], dev_names[d], dev_names[d]);
		sh(cmd);
	}
	for (d = 0; d < DEV_MAX; d++)
		if (!(ifindex[d] = if_nametoindex(dev_names[d])))
			die("no interface %s", dev_names[d]);
	/* bpf_fib_lookup() succeeds (the fast path) only with forwarding on. */
	write_file("/proc/sys/net/ipv4/conf/upl/forwarding", "1\n");
}

static void load_programs(void)
{
	struct zh_config cfg = {
		.mtu = 1500,
		.encap = ZH_ENCAP_VXLAN,
		.tc_mode = ZH_TC_TCX,
		.xdp_mode = ZH_XDP_NATIVE,
	};
	int p;

	/* zh_inst_dir_remove() also tries to rmdir <bpffs>/zerohop: point it
	 * where no real instance lives.
	 */
	setenv("ZEROHOP_BPFFS", "/nonexistent-zh-bench", 1);
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/zh-bench-%d", getpid());
	if (mkdir(pin_dir, 0700)) {
		pin_dir[0] = '\0';
		die("cannot create the pin directory (is bpffs mounted?): %s", strerror(errno));
	}
	cfg.underlay_ip = pkt_addr(UNDERLAY);
	cfg.uplink_ifindex = ifindex[DEV_UPL];
	memcpy(cfg.router_mac, ROUTER_MAC, 6);
	for (p = 0; p < ZH_PROG_KINDS; p++)
		if (zh_prog_load(p, pin_dir, &cfg, &progs[p]))
			die("cannot load %s", zh_prog_name(p));
	stats_fd = zh_map_open(pin_dir, ZH_MAP_STATS);
	if (stats_fd < 0)
		die("cannot open zh_stats");
	nexthops_fd = zh_map_open(pin_dir, ZH_MAP_NEXTHOPS);
	if (nexthops_fd < 0)
		die("cannot open zh_nexthops");
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		die("cannot count CPUs");
}

static void map_put(const char *map, const void *key, const void *val)
{
	if (zh_map_update(pin_dir, map, key, val))
		die("cannot update %s", map);
}

static void add_port(enum dev d, uint32_t vni, const char *ip, const uint8_t mac[6])
{
	struct zh_port port = {.vni = vni, .ip = pkt_addr(ip)};
	struct zh_ep_key key = {.vni = vni, .ip = pkt_addr(ip)};
	struct zh_endpoint ep = {.ifindex = ifindex[d]};
	int fd;

	memcpy(port.mac, mac, 6);
	memcpy(ep.mac, mac, 6);
	map_put(ZH_MAP_PORTS, &ifindex[d], &port);
	map_put(ZH_MAP_ENDPOINTS, &key, &ep);
	fd = zh_map_open(pin_dir, ZH_MAP_DEVMAP);
	if (fd < 0 || bpf_map_update_elem(fd, &ifindex[d], &ifindex[d], BPF_ANY))
		die("cannot update zh_devmap");
	close(fd);
}

static void add_endpoint(uint32_t vni, const char *ip, const char *host, uint32_t dest_vni,
			 enum zh_encap encap)
{
	struct zh_ep_key key = {.vni = vni, .ip = pkt_addr(ip)};
	struct zh_endpoint ep = {.host_ip = pkt_addr(host), .dest_vni = dest_vni,
				 .encap = (__u8)encap};

	memcpy(ep.mac, REMOTE_MAC, 6);
	map_put(ZH_MAP_ENDPOINTS, &key, &ep);
}

static void add_policy(uint32_t vni, uint32_t peer_vni, const char *prefix, int len)
{
	struct zh_policy_key key = {.prefixlen = 64 + len, .vni = vni, .peer_vni = peer_vni,
				    .addr = pkt_addr(prefix)};
	struct zh_policy val = {.protocols = ZH_PROTO_ANY};

	map_put(ZH_MAP_POLICY, &key, &val);
}

/* vm1, vm2 in VNI A, vm3 in VNI B (all XDP-redirectable); 10.0.0.5 behind
 * HOST2 (VXLAN), 10.0.0.6 behind HOST3 (Geneve); in VNI B, 10.0.0.5 is a
 * peer endpoint (A's VM behind HOST2), and so is 10.0.1.7, which A does
 * not export. A and B export their /24s to each other.
 */
static void scene(void)
{
	add_port(DEV_VM1, VNI_A, VM1_IP, VM1_MAC);
	add_port(DEV_VM2, VNI_A, VM2_IP, VM2_MAC);
	add_port(DEV_VM3, VNI_B, VM3_IP, VM3_MAC);
	add_endpoint(VNI_A, "10.0.0.5", HOST2, 0, ZH_ENCAP_DEFAULT);
	add_endpoint(VNI_A, "10.0.0.6", HOST3, 0, ZH_ENCAP_GENEVE);
	add_endpoint(VNI_B, "10.0.0.5", HOST2, VNI_A, ZH_ENCAP_DEFAULT);
	add_endpoint(VNI_B, "10.0.1.7", HOST2, VNI_A, ZH_ENCAP_DEFAULT);
	add_policy(VNI_A, VNI_B, "10.0.0.0", 24);
	add_policy(VNI_B, VNI_A, "10.1.0.0", 24);
}

/* --- the paths ------------------------------------------------------------ */

#define FRAME_LEN 64 /* Ethernet header to the end of the UDP payload */
#define UDP_PAYLOAD (FRAME_LEN - 14 - 20 - 8)

enum prog { PR_EMPTY_TC, PR_EMPTY_XDP, PR_TC_PORT, PR_TC_UPLINK, PR_XDP_UPLINK };
static const char *const prog_label[] = {"empty_tc", "empty_xdp", "tc_port", "tc_uplink",
					 "xdp_uplink"};
static int prog_fd[5];

enum in_kind { IN_IP, IN_ARP, IN_VXLAN, IN_GENEVE };

struct path {
	const char *name;      /* JSON key */
	const char *desc;
	const char *group;     /* empty, local, encap, decap, pass, drop */
	enum prog prog;
	enum dev dev;          /* skb ingress device (TC programs) */
	enum in_kind kind;
	const char *src, *dst; /* (inner) IPv4 */
	uint16_t dport;        /* (inner) UDP destination port [9] */
	const uint8_t *smac;   /* IN_IP: [VM1_MAC]; FABRIC_MAC: a frame from the fabric */
	const char *outer_src; /* tunnels: the sending host */
	uint32_t vni;          /* tunnels: [VNI_A] */
	bool vxlan_no_i;       /* a VXLAN header without the I flag */
	int want_ret;
	int counter;           /* the counter that names the path; -1: none */
	bool same_output;      /* output == input: the repeat method is valid */
	bool nh_cold;          /* empty zh_nexthops before every call (a cache miss) */
	/* built */
	uint8_t in[512];
	uint32_t len;
};

#define TC(v)  .want_ret = TC_ACT_##v
#define XDP(v) .want_ret = XDP_##v
#define CNT(c) .counter = ZH_CNT_##c

static struct path paths[] = {
	/* paths[0] and [1]: the yardsticks. */
	{.name = "empty_tc", .desc = "empty TC program (r0 = TC_ACT_OK; exit)", .group = "empty",
	 .prog = PR_EMPTY_TC, .dev = DEV_VM1, .kind = IN_IP, .src = VM1_IP, .dst = VM2_IP,
	 TC(OK), .counter = -1, .same_output = true},
	{.name = "empty_xdp", .desc = "empty XDP program (r0 = XDP_PASS; exit)", .group = "empty",
	 .prog = PR_EMPTY_XDP, .kind = IN_VXLAN, .src = "10.0.0.5", .dst = VM1_IP,
	 .outer_src = HOST2, XDP(PASS), .counter = -1, .same_output = true},

	{.name = "arp_reply", .desc = "tc_port: ARP request answered with the router MAC",
	 .group = "local", .prog = PR_TC_PORT, .dev = DEV_VM1, .kind = IN_ARP, .src = VM1_IP,
	 .dst = "10.0.0.254", TC(REDIRECT), CNT(ARP_REPLY)},
	{.name = "local", .desc = "tc_port: same-host delivery (TTL-1, MACs, redirect)",
	 .group = "local", .prog = PR_TC_PORT, .dev = DEV_VM1, .kind = IN_IP, .src = VM1_IP,
	 .dst = VM2_IP, TC(REDIRECT), CNT(FWD_LOCAL)},
	{.name = "encap_vxlan", .desc = "tc_port: VXLAN encap, cached next hop, redirect",
	 .group = "encap", .prog = PR_TC_PORT, .dev = DEV_VM1, .kind = IN_IP, .src = VM1_IP,
	 .dst = "10.0.0.5", TC(REDIRECT), CNT(ENCAP_VXLAN)},
	{.name = "encap_geneve", .desc = "tc_port: Geneve encap, cached next hop, redirect",
	 .group = "encap", .prog = PR_TC_PORT, .dev = DEV_VM1, .kind = IN_IP, .src = VM1_IP,
	 .dst = "10.0.0.6", TC(REDIRECT), CNT(ENCAP_GENEVE)},
	{.name = "encap_vxlan_miss",
	 .desc = "tc_port: VXLAN encap with the next-hop cache empty: bpf_fib_lookup(), redirect",
	 .group = "encap_miss", .prog = PR_TC_PORT, .dev = DEV_VM1, .kind = IN_IP, .src = VM1_IP,
	 .dst = "10.0.0.5", TC(REDIRECT), CNT(ENCAP_VXLAN), .nh_cold = true},
	{.name = "encap_peer", .desc = "tc_port: peering encap (the peer's VNI on the wire)",
	 .group = "encap", .prog = PR_TC_PORT, .dev = DEV_VM3, .kind = IN_IP, .smac = VM3_MAC,
	 .src = VM3_IP, .dst = "10.0.0.5", TC(REDIRECT), CNT(ENCAP_PEER)},
	{.name = "decap_xdp", .desc = "xdp_uplink: VXLAN decap, devmap redirect", .group = "decap",
	 .prog = PR_XDP_UPLINK, .kind = IN_VXLAN, .src = "10.0.0.5", .dst = VM1_IP,
	 .outer_src = HOST2, XDP(REDIRECT), CNT(DECAP_XDP)},
	{.name = "decap_xdp_geneve", .desc = "xdp_uplink: Geneve decap, devmap redirect",
	 .group = "decap", .prog = PR_XDP_UPLINK, .kind = IN_GENEVE, .src = "10.0.0.5",
	 .dst = VM1_IP, .outer_src = HOST2, XDP(REDIRECT), CNT(DECAP_XDP)},
	{.name = "decap_peer_xdp",
	 .desc = "xdp_uplink: peering VXLAN decap (VNI B from A's VM), devmap redirect",
	 .group = "decap", .prog = PR_XDP_UPLINK, .kind = IN_VXLAN, .src = "10.0.0.5",
	 .dst = VM3_IP, .outer_src = HOST2, .vni = VNI_B, XDP(REDIRECT), CNT(DECAP_XDP)},
	{.name = "decap_tc", .desc = "tc_uplink: VXLAN decap, redirect", .group = "decap",
	 .prog = PR_TC_UPLINK, .dev = DEV_UPL, .kind = IN_VXLAN, .src = "10.0.0.5", .dst = VM1_IP,
	 .outer_src = HOST2, TC(REDIRECT), CNT(DECAP_TC)},
	{.name = "pass_xdp", .desc = "xdp_uplink: UDP 53 to the host, not ours: XDP_PASS",
	 .group = "pass", .prog = PR_XDP_UPLINK, .kind = IN_IP, .smac = FABRIC_MAC, .src = HOST2,
	 .dst = UNDERLAY, .dport = 53, XDP(PASS), CNT(PASS_STACK), .same_output = true},
	{.name = "drop_spoof", .desc = "tc_port: source IPv4 not the port's", .group = "drop",
	 .prog = PR_TC_PORT, .dev = DEV_VM1, .kind = IN_IP, .src = "10.0.0.99", .dst = VM2_IP,
	 TC(SHOT), CNT(DROP_SPOOF), .same_output = true},
	{.name = "drop_no_route", .desc = "tc_port: no endpoint or route for the destination",
	 .group = "drop", .prog = PR_TC_PORT, .dev = DEV_VM1, .kind = IN_IP, .src = VM1_IP,
	 .dst = "10.0.0.200", TC(SHOT), CNT(DROP_NO_ROUTE), .same_output = true},
	{.name = "drop_policy", .desc = "tc_port: peer endpoint the peer does not export",
	 .group = "drop", .prog = PR_TC_PORT, .dev = DEV_VM3, .kind = IN_IP, .smac = VM3_MAC,
	 .src = VM3_IP, .dst = "10.0.1.7", TC(SHOT), CNT(DROP_POLICY), .same_output = true},
	{.name = "drop_rpf_xdp", .desc = "xdp_uplink: inner source not behind the outer source",
	 .group = "drop", .prog = PR_XDP_UPLINK, .kind = IN_VXLAN, .src = "10.0.0.5",
	 .dst = VM1_IP, .outer_src = HOST3, XDP(DROP), CNT(DROP_RPF), .same_output = true},
	{.name = "drop_rpf_tc", .desc = "tc_uplink: inner source not behind the outer source",
	 .group = "drop", .prog = PR_TC_UPLINK, .dev = DEV_UPL, .kind = IN_VXLAN, .src = "10.0.0.5",
	 .dst = VM1_IP, .outer_src = HOST3, TC(SHOT), CNT(DROP_RPF), .same_output = true},
	{.name = "drop_malformed_xdp", .desc = "xdp_uplink: VXLAN header without the I flag",
	 .group = "drop", .prog = PR_XDP_UPLINK, .kind = IN_VXLAN, .src = "10.0.0.5",
	 .dst = VM1_IP, .outer_src = HOST2, .vxlan_no_i = true, XDP(DROP), CNT(DROP_MALFORMED),
	 .same_output = true},
	{.name = "drop_malformed_tc", .desc = "tc_uplink: VXLAN header without the I flag",
	 .group = "drop", .prog = PR_TC_UPLINK, .dev = DEV_UPL, .kind = IN_VXLAN, .src = "10.0.0.5",
	 .dst = VM1_IP, .outer_src = HOST2, .vxlan_no_i = true, TC(SHOT), CNT(DROP_MALFORMED),
	 .same_output = true},
};
#define NPATHS (sizeof(paths) / sizeof(paths[0]))

/* Build each path's input: a 64-byte frame, or a tunnel frame around one. */
static void build_inputs(void)
{
	size_t i;

	for (i = 0; i < NPATHS; i++) {
		struct path *p = &paths[i];
		struct pkt_ip ip = {.src = p->src, .dst = p->dst, .sport = 4321,
				    .dport = p->dport ? p->dport : 9, .payload = UDP_PAYLOAD};
		bool fabric = p->smac == FABRIC_MAC;
		uint8_t inner[256];
		size_t n;

		switch (p->kind) {
		case IN_IP:
			p->len = pkt_ip_frame(p->in, fabric ? UPL_MAC : ROUTER_MAC,
					      p->smac ? p->smac : VM1_MAC, &ip);
			break;
		case IN_ARP: {
			struct pkt_arp a = {.spa = p->src, .tpa = p->dst};

			p->len = pkt_arp_frame(p->in, VM1_MAC, &a);
			break;
		}
		case IN_VXLAN:
		case IN_GENEVE: {
			struct pkt_tunnel t = {.type = p->kind == IN_GENEVE ? PKT_GENEVE : PKT_VXLAN,
					       .src = p->outer_src, .dst = UNDERLAY,
					       .vni = p->vni ? p->vni : VNI_A,
					       .vxlan_no_i = p->vxlan_no_i};

			n = pkt_eth(inner, ROUTER_MAC, REMOTE_MAC, ETH_P_IP);
			n += pkt_ipv4(inner + n, &ip);
			p->len = pkt_tunnel_frame(p->in, UPL_MAC, FABRIC_MAC, &t, inner, n);
			break;
		}
		}
	}
}

/* --- running ---------------------------------------------------------------- */

static int load_empty(enum bpf_prog_type type, int ret)
{
	/* r0 = ret; exit */
	struct bpf_insn insns[2] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = ret},
		{.code = BPF_JMP | BPF_EXIT},
	};
	int fd = bpf_prog_load(type, type == BPF_PROG_TYPE_XDP ? "zh_empty_xdp" : "zh_empty_tc",
			       "GPL", insns, 2, NULL);

	if (fd < 0)
		die("cannot load an empty program: %s", strerror(errno));
	return fd;
}

static bool is_xdp(enum prog p)
{
	return p == PR_EMPTY_XDP || p == PR_XDP_UPLINK;
}

/* Empty HOST2's zh_nexthops slot on every CPU (outside the timed run). */
static void nexthops_clear(void)
{
	static struct zh_nexthop_entry zero[1024];
	__u32 slot = zh_nexthop_slot(pkt_addr(HOST2), 0);

	if (ncpu > 1024)
		die("too many CPUs for the zh_nexthops clearing buffer");
	if (bpf_map_update_elem(nexthops_fd, &slot, zero, BPF_ANY))
		die("zh_nexthops update: %s", strerror(errno));
}

/* One BPF_PROG_TEST_RUN: returns duration (ns per repeat); retval out. */
static uint32_t run_once(const struct path *p, uint32_t repeat, int *retval, uint8_t *out,
			 uint32_t *out_len)
{
	struct __sk_buff skb = {.ifindex = ifindex[p->dev]};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->in, .data_size_in = p->len,
		    .data_out = out, .data_size_out = out ? 2048 : 0, .repeat = repeat);

	if (!is_xdp(p->prog)) {
		o.ctx_in = &skb;
		o.ctx_size_in = sizeof(skb);
	}
	if (p->nh_cold)
		nexthops_clear();
	if (bpf_prog_test_run_opts(prog_fd[p->prog], &o))
		die("BPF_PROG_TEST_RUN of %s: %s", p->name, strerror(errno));
	if (retval)
		*retval = (int)o.retval;
	if (out_len)
		*out_len = o.data_size_out;
	return o.duration;
}

static uint64_t counter_packets(int id)
{
	struct zh_counter vals[ncpu];
	uint64_t sum = 0;
	__u32 key = id;
	int c;

	if (bpf_map_lookup_elem(stats_fd, &key, vals))
		die("zh_stats lookup: %s", strerror(errno));
	for (c = 0; c < ncpu; c++)
		sum += vals[c].packets;
	return sum;
}

/* Each path once: the verdict and its counter must be right. */
static void check_paths(void)
{
	static uint8_t out[2048];
	size_t i;

	for (i = 0; i < NPATHS; i++) {
		struct path *p = &paths[i];
		uint64_t before = p->counter >= 0 ? counter_packets(p->counter) : 0;
		uint32_t out_len;
		int ret;

		run_once(p, 1, &ret, out, &out_len);
		if (ret != p->want_ret)
			die("path %s: verdict %d, want %d (the bench would time the wrong path)",
			    p->name, ret, p->want_ret);
		if (p->counter >= 0 && counter_packets(p->counter) != before + 1)
			die("path %s: counter %s did not move by one", p->name,
			    zh_counter_name(p->counter));
		if (p->same_output && (out_len != p->len || memcmp(out, p->in, p->len)))
			die("path %s: output differs from input; it must not use repeat > 1",
			    p->name);
	}
}

/* The kernel's accumulated run time and count of a program. */
static void prog_stats(int fd, uint64_t *ns, uint64_t *cnt)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_prog_get_info_by_fd(fd, &info, &len))
		die("bpf_prog_get_info_by_fd: %s", strerror(errno));
	*ns = info.run_time_ns;
	*cnt = info.run_cnt;
}

/* Method "stats": run_time_ns / run_cnt over `calls` single runs. */
static double measure_stats(const struct path *p, int calls)
{
	uint64_t ns0, cnt0, ns1, cnt1;
	int i;

	prog_stats(prog_fd[p->prog], &ns0, &cnt0);
	for (i = 0; i < calls; i++)
		run_once(p, 1, NULL, NULL, NULL);
	prog_stats(prog_fd[p->prog], &ns1, &cnt1);
	return cnt1 > cnt0 ? (double)(ns1 - ns0) / (double)(cnt1 - cnt0) : 0;
}

static void print_prog_info(FILE *js)
{
	int p;

	fprintf(js, "  \"programs\": {");
	for (p = 0; p <= PR_XDP_UPLINK; p++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_prog_get_info_by_fd(prog_fd[p], &info, &len))
			die("bpf_prog_get_info_by_fd: %s", strerror(errno));
		fprintf(js, "%s\"%s\": {\"xlated_bytes\": %u, \"xlated_insns\": %u, "
			    "\"jited_bytes\": %u, \"verified_insns\": %u}",
			p ? ", " : "", prog_label[p], info.xlated_prog_len, info.xlated_prog_len / 8,
			info.jited_prog_len, info.verified_insns);
	}
	fprintf(js, "},\n");
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Method "single": `calls` calls of repeat 1; mean of the fastest 90%. */
static double measure_single(const struct path *p, uint32_t *buf, int calls)
{
	int i, keep = calls - calls / 10;
	double sum = 0;

	for (i = 0; i < calls; i++)
		buf[i] = run_once(p, 1, NULL, NULL, NULL);
	qsort(buf, calls, sizeof(*buf), cmp_u32);
	for (i = 0; i < keep; i++)
		sum += buf[i];
	return sum / keep;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"runs", required_argument, NULL, 'r'}, {"calls", required_argument, NULL, 'c'},
		{"repeat", required_argument, NULL, 'n'}, {"cpu", required_argument, NULL, 'C'},
		{"json", required_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
		{"profile", required_argument, NULL, 'p'}, {"seconds", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	int runs = 9, calls = 2000, repeat = 20000, cpu = -1, seconds = 10, opt, r, stats_fd_;
	const char *json_path = NULL, *profile = NULL;
	double single[NPATHS][64], rep[NPATHS][64], st[NPATHS][64];
	double s_med[NPATHS], r_med[NPATHS], st_med[NPATHS];
	uint32_t *buf;
	FILE *js = stdout;
	size_t i;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r': runs = atoi(optarg); break;
		case 'c': calls = atoi(optarg); break;
		case 'n': repeat = atoi(optarg); break;
		case 'C': cpu = atoi(optarg); break;
		case 'j': json_path = optarg; break;
		case 'p': profile = optarg; break;
		case 's': seconds = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [--runs N] [--calls N] [--repeat N] [--cpu N] "
					"[--json FILE]\n"
					"       %s --profile PATH [--seconds N] [--cpu N]\n",
				argv[0], argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (runs < 1 || runs > 64 || calls < 10 || repeat < 1)
		die("bad --runs (1-64), --calls (>= 10) or --repeat (>= 1)");
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			die("cannot pin to CPU %d: %s", cpu, strerror(errno));
	}
	zh_log_set_prefix("bench_paths");
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);

	netns_setup();
	load_programs();
	scene();
	prog_fd[PR_EMPTY_TC] = load_empty(BPF_PROG_TYPE_SCHED_CLS, TC_ACT_OK);
	prog_fd[PR_EMPTY_XDP] = load_empty(BPF_PROG_TYPE_XDP, XDP_PASS);
	prog_fd[PR_TC_PORT] = progs[ZH_PROG_TC_PORT].prog_fd;
	prog_fd[PR_TC_UPLINK] = progs[ZH_PROG_TC_UPLINK].prog_fd;
	prog_fd[PR_XDP_UPLINK] = progs[ZH_PROG_XDP_UPLINK].prog_fd;
	build_inputs();
	check_paths();

	buf = calloc(calls, sizeof(*buf));
	if (!buf)
		die("out of memory");
	if (profile) {
		struct timespec t0, t;

		for (i = 0; i < NPATHS && strcmp(paths[i].name, profile); i++)
			;
		if (i == NPATHS)
			die("no path named %s", profile);
		if (seconds < 1 || seconds > 600)
			die("--seconds: 1-600");
		fprintf(stderr, "bench_paths: running %s for %d s (pid %d)\n", profile, seconds,
			getpid());
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			measure_single(&paths[i], buf, calls);
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (t.tv_sec - t0.tv_sec < seconds);
		return 0;
	}
	/* Warm-up: caches, branch predictors, the skb slab. */
	for (i = 0; i < NPATHS; i++)
		measure_single(&paths[i], buf, calls / 4 + 10 < calls ? calls / 4 + 10 : calls);
	/* Interleaved: every run measures every path and both empty programs. */
	for (r = 0; r < runs; r++) {
		for (i = 0; i < NPATHS; i++) {
			single[i][r] = measure_single(&paths[i], buf, calls);
			rep[i][r] = paths[i].same_output ? run_once(&paths[i], repeat, NULL, NULL, NULL)
							 : 0;
		}
	}
	free(buf);
	/* Cross-check with the kernel's per-program run time. */
	stats_fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
	for (r = 0; r < runs; r++)
		for (i = 0; i < NPATHS; i++)
			st[i][r] = stats_fd_ >= 0 ? measure_stats(&paths[i], calls) : 0;
	if (stats_fd_ >= 0)
		close(stats_fd_);
	for (i = 0; i < NPATHS; i++) {
		s_med[i] = median(single[i], runs);
		r_med[i] = paths[i].same_output ? median(rep[i], runs) : 0;
		st_med[i] = median(st[i], runs);
	}

	if (json_path && !(js = fopen(json_path, "w")))
		die("cannot write %s: %s", json_path, strerror(errno));
	fprintf(js, "{\n  \"method\": {\"single\": \"one BPF_PROG_TEST_RUN per packet (repeat=1, "
		    "fresh input every call); per run the mean of %d calls without the slowest "
		    "10%%; median of %d runs\", \"repeat\": \"repeat=%d on one buffer, only for "
		    "paths whose output equals their input; median of %d runs\", \"stats\": \"the "
		    "kernel's run_time_ns / run_cnt (BPF_ENABLE_STATS) over %d single calls; "
		    "median of %d runs\"},\n",
		calls, runs, repeat, runs, calls, runs);
	fprintf(js, "  \"runs\": %d, \"calls\": %d, \"repeat\": %d, \"frame_len\": %d,\n", runs,
		calls, repeat, FRAME_LEN);
	print_prog_info(js);
	fprintf(js, "  \"paths\": [\n");
	for (i = 0; i < NPATHS; i++) {
		const struct path *p = &paths[i];
		size_t e = is_xdp(p->prog) ? 1 : 0; /* paths[0]: empty_tc, [1]: empty_xdp */

		fprintf(js,
			"    {\"name\": \"%s\", \"desc\": \"%s\", \"group\": \"%s\", \"prog\": \"%s\", "
			"\"type\": \"%s\", \"frame_len\": %u, \"ns\": %.1f, \"empty_ns\": %.1f, "
			"\"ratio\": %.2f, \"net_ns\": %.1f, \"runs_ns\": [",
			p->name, p->desc, p->group, prog_label[p->prog], is_xdp(p->prog) ? "xdp" : "tc",
			p->len, s_med[i], s_med[e], s_med[i] / s_med[e], s_med[i] - s_med[e]);
		for (r = 0; r < runs; r++)
			fprintf(js, "%s%.1f", r ? ", " : "", single[i][r]);
		fprintf(js, "]");
		if (st_med[i] > 0)
			fprintf(js, ", \"stats_ns\": %.1f, \"stats_ratio\": %.2f", st_med[i],
				st_med[e] > 0 ? st_med[i] / st_med[e] : 0);
		if (p->same_output)
			fprintf(js, ", \"repeat_ns\": %.1f, \"repeat_empty_ns\": %.1f, "
				    "\"repeat_ratio\": %.2f",
				r_med[i], r_med[e], r_med[e] > 0 ? r_med[i] / r_med[e] : 0);
		fprintf(js, "}%s\n", i + 1 < NPATHS ? "," : "");
	}
	fprintf(js, "  ]\n}\n");
	if (js != stdout)
		fclose(js);

	fprintf(stderr, "%-20s %-11s %9s %7s %8s %9s %7s %10s %7s\n", "path", "program", "ns/pkt",
		"x empty", "net ns", "stats ns", "x empty", "repeat ns", "x empty");
	for (i = 0; i < NPATHS; i++) {
		const struct path *p = &paths[i];
		size_t e = is_xdp(p->prog) ? 1 : 0;

		fprintf(stderr, "%-20s %-11s %9.1f %7.2f %8.1f %9.1f %7.2f", p->name,
			prog_label[p->prog], s_med[i], s_med[i] / s_med[e], s_med[i] - s_med[e],
			st_med[i], st_med[e] > 0 ? st_med[i] / st_med[e] : 0);
		if (p->same_output)
			fprintf(stderr, " %10.1f %7.2f", r_med[i], r_med[i] / r_med[e]);
		fputc('\n', stderr);
	}
	return 0;
}
