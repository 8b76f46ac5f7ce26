/* SPDX-License-Identifier: GPL-2.0-only */
/* Table-driven BPF_PROG_TEST_RUN harness for the data plane.
 *
 * Every test binary runs in a private network namespace of its own
 * (netns_enter(): unshare(CLONE_NEWNET) in main()), where it creates what
 * the programs look at: the uplink veth "upl" with the underlay address and
 * permanent neighbours for bpf_fib_lookup(), and VM port veths for the
 * ifindex the skb runs carry. The fixture loads tc_port (twice: VXLAN and
 * Geneve as the instance default), tc_uplink and xdp_uplink against one
 * fresh pin directory under /sys/fs/bpf, so they share zh_stats and the
 * lookup maps exactly as an attached instance does.
 *
 * A row is one packet through one program: the input (struct pkt_desc),
 * the expected verdict, the counters that must move by one (all others must
 * not move), and what the output must look like (enum out_check).
 * run_table() runs every row and reports each mismatch by row and field
 * before failing the test, so one run shows every broken row.
 */
#ifndef ZH_TEST_HARNESS_H
#define ZH_TEST_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include "internal.h"
#include "pkt.h"
#include "../../bpf/lib/nexthops.h"

#define HX_UNUSED __attribute__((unused))

/* --- the test network ---------------------------------------------------- */

#define UNDERLAY   "198.18.0.1"  /* this host, on upl */
#define HOST2      "198.18.0.2"  /* a host with a permanent neighbour entry */
#define HOST3      "198.18.0.3"  /* another, with another MAC */
#define HOST_NONEIGH "198.18.0.77" /* on-link, no neighbour entry */
#define HOST_NOROUTE "203.0.113.9" /* no underlay route at all */

#define VNI_A 100   /* vm1, vm2 */
#define VNI_B 200   /* vm3: the peer network served on this host too */
#define VNI_C 300   /* a peer network behind other hosts */

#define VM1_IP "10.0.0.1"
#define VM2_IP "10.0.0.2"
#define VM3_IP "10.1.0.3"

static const uint8_t ROUTER_MAC[6] HX_UNUSED = {0x02, 0x00, 0x00, 0x00, 0xfe, 0xfe};
static const uint8_t UPL_MAC[6] HX_UNUSED = {0x02, 0x00, 0x00, 0x00, 0xff, 0x01};
static const uint8_t HOST2_MAC[6] HX_UNUSED = {0x02, 0x00, 0x00, 0x00, 0x00, 0xaa};
static const uint8_t HOST3_MAC[6] HX_UNUSED = {0x02, 0x00, 0x00, 0x00, 0x00, 0xbb};
static const uint8_t VM1_MAC[6] HX_UNUSED = {0x02, 0x00, 0x00, 0x00, 0x01, 0x01};
static const uint8_t VM2_MAC[6] HX_UNUSED = {0x02, 0x00, 0x00, 0x00, 0x01, 0x02};
static const uint8_t VM3_MAC[6] HX_UNUSED = {0x02, 0x00, 0x00, 0x00, 0x02, 0x03};
static const uint8_t REMOTE_MAC[6] HX_UNUSED = {0x02, 0x00, 0x00, 0x00, 0x03, 0x05};
static const uint8_t FABRIC_MAC[6] HX_UNUSED = {0x02, 0x00, 0x00, 0x00, 0x00, 0xcc};
static const uint8_t OTHER_MAC[6] HX_UNUSED = {0x02, 0x00, 0x00, 0x00, 0x09, 0x09};

/* Interfaces of the private namespace: the uplink, VM ports (host side),
 * and "vmx", an interface without a port record.
 */
enum hx_dev { DEV_NONE, DEV_UPL, DEV_VM1, DEV_VM2, DEV_VM3, DEV_VMX, DEV_MAX };

static const char *const dev_names[DEV_MAX] HX_UNUSED = {
	[DEV_UPL] = "upl", [DEV_VM1] = "vm1", [DEV_VM2] = "vm2",
	[DEV_VM3] = "vm3", [DEV_VMX] = "vmx",
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a command in the private namespace; 0 or -1 (output in the log). */
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc) {
		print_error("command failed (%d): %s\n", rc, cmd);
		return -1;
	}
	return 0;
}

/* Make this process's network namespace a private one. Returns 0, or -1
 * when that is not possible (then the caller skips).
 */
static HX_UNUSED int netns_enter(void)
{
	if (geteuid() != 0)
		return -1;
	return unshare(CLONE_NEWNET) ? -1 : 0;
}

static int netns_populate(void)
{
	static const char *const vms[] = {"vm1", "vm2", "vm3", "vmx"};
	size_t i;

	if (sh("ip link set lo up") ||
	    sh("ip link add upl address 02:00:00:00:ff:01 type veth peer name upl2") ||
	    sh("ip addr add " UNDERLAY "/24 dev upl") || sh("ip link set upl up") ||
	    sh("ip link set upl2 up") ||
	    sh("ip neigh add " HOST2 " lladdr 02:00:00:00:00:aa dev upl nud permanent") ||
	    sh("ip neigh add " HOST3 " lladdr 02:00:00:00:00:bb dev upl nud permanent"))
		return -1;
	for (i = 0; i < sizeof(vms) / sizeof(vms[0]); i++)
		if (sh("ip link add %s type veth peer name %sp", vms[i], vms[i]) ||
		    sh("ip link set %s up", vms[i]) || sh("ip link set %sp up", vms[i]))
			return -1;
	return 0;
}

/* bpf_fib_lookup() answers BPF_FIB_LKUP_RET_FWD_DISABLED unless the uplink
 * forwards; the encapsulation path has a fallback for that, so both
 * settings are tested.
 */
static int set_uplink_forwarding(bool on)
{
	int fd = open("/proc/sys/net/ipv4/conf/upl/forwarding", O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, on ? "1\n" : "0\n", 2);
	close(fd);
	return n == 2 ? 0 : -EIO;
}

/* --- fixture --------------------------------------------------------------- */

/* The programs under test; tc_port is loaded twice to test both instance
 * default encapsulations.
 */
enum hx_prog {
	P_TC_PORT,         /* instance default: VXLAN */
	P_TC_PORT_GENEVE,  /* instance default: Geneve */
	P_TC_UPLINK,
	P_XDP_UPLINK,
	P_MAX,
	P_UPLINKS = P_MAX, /* a row for tc_uplink and xdp_uplink both */
};

static const char *const prog_names[P_MAX] HX_UNUSED = {
	[P_TC_PORT] = "tc_port",
	[P_TC_PORT_GENEVE] = "tc_port(default geneve)",
	[P_TC_UPLINK] = "tc_uplink",
	[P_XDP_UPLINK] = "xdp_uplink",
};

struct fixture {
	char dir[PATH_MAX];
	struct zh_loaded progs[P_MAX];
	uint32_t ifindex[DEV_MAX];
	int stats_fd, ports_fd, endpoints_fd, routes_fd, devmap_fd, nexthops_fd, policy_fd;
	int ncpu;
};

static HX_UNUSED int fixture_teardown(void **state)
{
	struct fixture *f = *state;
	int p;

	if (!f)
		return 0;
	for (p = 0; p < P_MAX; p++)
		zh_prog_unload(&f->progs[p]);
	if (f->stats_fd >= 0)
		close(f->stats_fd);
	if (f->ports_fd >= 0)
		close(f->ports_fd);
	if (f->endpoints_fd >= 0)
		close(f->endpoints_fd);
	if (f->routes_fd >= 0)
		close(f->routes_fd);
	if (f->devmap_fd >= 0)
		close(f->devmap_fd);
	if (f->nexthops_fd >= 0)
		close(f->nexthops_fd);
	if (f->policy_fd >= 0)
		close(f->policy_fd);
	if (f->dir[0])
		zh_inst_dir_remove(f->dir);
	free(f);
	*state = NULL;
	return 0;
}

static HX_UNUSED int fixture_setup(void **state)
{
	static const enum zh_prog_kind kinds[P_MAX] = {
		[P_TC_PORT] = ZH_PROG_TC_PORT,
		[P_TC_PORT_GENEVE] = ZH_PROG_TC_PORT,
		[P_TC_UPLINK] = ZH_PROG_TC_UPLINK,
		[P_XDP_UPLINK] = ZH_PROG_XDP_UPLINK,
	};
	struct fixture *f = calloc(1, sizeof(*f));
	struct zh_config cfg = {
		.mtu = 1500,
		.encap = ZH_ENCAP_VXLAN,
		.tc_mode = ZH_TC_TCX,
		.xdp_mode = ZH_XDP_GENERIC,
	};
	int d, p;

	*state = f;
	if (!f)
		return -1;
	f->stats_fd = f->ports_fd = f->endpoints_fd = f->routes_fd = f->devmap_fd = -1;
	f->nexthops_fd = f->policy_fd = -1;
	/* zh_inst_dir_remove() also tries to remove <bpffs>/zerohop; point
	 * that at a place no real instance lives.
	 */
	setenv("ZEROHOP_BPFFS", "/nonexistent-zh-test", 1);
	if (netns_populate())
		goto fail;
	for (d = DEV_UPL; d < DEV_MAX; d++) {
		f->ifindex[d] = if_nametoindex(dev_names[d]);
		if (!f->ifindex[d]) {
			print_error("no interface %s in the test netns\n", dev_names[d]);
			goto fail;
		}
	}
	snprintf(f->dir, sizeof(f->dir), "/sys/fs/bpf/zh-test-%d", getpid());
	if (mkdir(f->dir, 0700)) {
		print_error("cannot create %s (is bpffs mounted?): %s\n", f->dir, strerror(errno));
		f->dir[0] = '\0';
		goto fail;
	}
	cfg.underlay_ip = pkt_addr(UNDERLAY);
	cfg.uplink_ifindex = f->ifindex[DEV_UPL];
	memcpy(cfg.router_mac, ROUTER_MAC, 6);
	for (p = 0; p < P_MAX; p++) {
		cfg.encap = p == P_TC_PORT_GENEVE ? ZH_ENCAP_GENEVE : ZH_ENCAP_VXLAN;
		if (zh_prog_load(kinds[p], f->dir, &cfg, &f->progs[p])) {
			print_error("cannot load %s\n", prog_names[p]);
			goto fail;
		}
	}
	f->stats_fd = zh_map_open(f->dir, ZH_MAP_STATS);
	f->ports_fd = zh_map_open(f->dir, ZH_MAP_PORTS);
	f->endpoints_fd = zh_map_open(f->dir, ZH_MAP_ENDPOINTS);
	f->routes_fd = zh_map_open(f->dir, ZH_MAP_ROUTES);
	f->devmap_fd = zh_map_open(f->dir, ZH_MAP_DEVMAP);
	f->nexthops_fd = zh_map_open(f->dir, ZH_MAP_NEXTHOPS);
	f->policy_fd = zh_map_open(f->dir, ZH_MAP_POLICY);
	if (f->stats_fd < 0 || f->ports_fd < 0 || f->endpoints_fd < 0 || f->routes_fd < 0 ||
	    f->devmap_fd < 0 || f->nexthops_fd < 0 || f->policy_fd < 0) {
		print_error("cannot open the pinned maps under %s\n", f->dir);
		goto fail;
	}
	f->ncpu = libbpf_num_possible_cpus();
	if (f->ncpu <= 0)
		goto fail;
	return 0;
fail:
	fixture_teardown(state);
	return -1;
}

/* --- map state ------------------------------------------------------------- */

/* Empty a map through its fd (hash, LPM trie and devmap all iterate). */
static void map_clear(int fd, size_t key_size)
{
	uint8_t key[64], next[64];

	assert_true(key_size <= sizeof(key));
	while (!bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, key_size);
		if (bpf_map_delete_elem(fd, key))
			fail_msg("cannot delete from a map: %s", strerror(errno));
	}
}

/* Empty the next-hop cache (every slot on every CPU). */
static HX_UNUSED void nexthops_clear(struct fixture *f)
{
	struct zh_nexthop_entry zero[f->ncpu];
	__u32 slot;

	memset(zero, 0, sizeof(zero));
	for (slot = 0; slot < ZH_NH_SLOTS; slot++)
		if (bpf_map_update_elem(f->nexthops_fd, &slot, zero, BPF_ANY))
			fail_msg("cannot clear zh_nexthops: %s", strerror(errno));
}

/* Start a group from empty zh_ports, zh_endpoints, zh_routes, zh_devmap,
 * zh_policy and zh_nexthops.
 */
static HX_UNUSED void maps_reset(struct fixture *f)
{
	map_clear(f->ports_fd, sizeof(__u32));
	map_clear(f->endpoints_fd, sizeof(struct zh_ep_key));
	map_clear(f->routes_fd, sizeof(struct zh_route_key));
	map_clear(f->devmap_fd, sizeof(__u32));
	map_clear(f->policy_fd, sizeof(struct zh_policy_key));
	nexthops_clear(f);
}

/* A VM port: zh_ports plus its local endpoint, as `zerohop port add` does. */
static HX_UNUSED void add_port(struct fixture *f, enum hx_dev dev, uint32_t vni, const char *ip,
			       const uint8_t mac[6])
{
	struct zh_port port = {.vni = vni, .ip = pkt_addr(ip)};
	struct zh_ep_key key = {.vni = vni, .ip = pkt_addr(ip)};
	struct zh_endpoint ep = {.ifindex = f->ifindex[dev]};

	memcpy(port.mac, mac, 6);
	memcpy(ep.mac, mac, 6);
	assert_int_equal(zh_map_update(f->dir, ZH_MAP_PORTS, &f->ifindex[dev], &port), 0);
	assert_int_equal(zh_map_update(f->dir, ZH_MAP_ENDPOINTS, &key, &ep), 0);
}

/* Set or clear ZH_EP_F_PEER_NETNS on the local endpoint (vni, ip), as port
 * add does for a veth whose peer is in another namespace.
 */
static HX_UNUSED void set_peer_netns(struct fixture *f, uint32_t vni, const char *ip, bool on)
{
	struct zh_ep_key key = {.vni = vni, .ip = pkt_addr(ip)};
	struct zh_endpoint ep;

	assert_int_equal(zh_map_lookup(f->dir, ZH_MAP_ENDPOINTS, &key, &ep), 0);
	assert_true(ep.ifindex != 0);
	ep.flags = on ? ep.flags | ZH_EP_F_PEER_NETNS : ep.flags & ~ZH_EP_F_PEER_NETNS;
	assert_int_equal(zh_map_update(f->dir, ZH_MAP_ENDPOINTS, &key, &ep), 0);
}

static HX_UNUSED void add_devmap(struct fixture *f, enum hx_dev dev)
{
	__u32 ifindex = f->ifindex[dev];

	if (bpf_map_update_elem(f->devmap_fd, &ifindex, &ifindex, BPF_ANY))
		fail_msg("zh_devmap update for %s: %s", dev_names[dev], strerror(errno));
}

/* A remote or peer endpoint (dest_vni 0: the key's VNI). */
static HX_UNUSED void add_endpoint(struct fixture *f, uint32_t vni, const char *ip,
				   const char *host, uint32_t dest_vni, enum zh_encap encap,
				   const uint8_t mac[6])
{
	struct zh_ep_key key = {.vni = vni, .ip = pkt_addr(ip)};
	struct zh_endpoint ep = {.host_ip = pkt_addr(host), .dest_vni = dest_vni,
				 .encap = (__u8)encap};

	memcpy(ep.mac, mac, 6);
	assert_int_equal(zh_map_update(f->dir, ZH_MAP_ENDPOINTS, &key, &ep), 0);
}

static HX_UNUSED void add_route(struct fixture *f, uint32_t vni, const char *prefix, int len,
				enum zh_route_action action, const char *host, uint32_t dest_vni,
				enum zh_encap encap)
{
	struct zh_route_key key = {.prefixlen = 32 + len, .vni = vni, .ip = pkt_addr(prefix)};
	struct zh_route rt = {.host_ip = pkt_addr(host), .dest_vni = dest_vni,
			      .action = (__u8)action, .encap = (__u8)encap};

	assert_int_equal(zh_map_update(f->dir, ZH_MAP_ROUTES, &key, &rt), 0);
}

/* An export policy: network vni lets network peer_vni reach prefix/len
 * with the ZH_PROTO_* protocols (as `zerohop policy add` writes it).
 */
static HX_UNUSED void add_policy(struct fixture *f, uint32_t vni, uint32_t peer_vni,
				 const char *prefix, int len, uint32_t protocols)
{
	struct zh_policy_key key = {.prefixlen = 64 + len, .vni = vni, .peer_vni = peer_vni,
				    .addr = pkt_addr(prefix)};
	struct zh_policy val = {.protocols = protocols};

	assert_int_equal(zh_map_update(f->dir, ZH_MAP_POLICY, &key, &val), 0);
}

/* --- rows -------------------------------------------------------------- */

enum pkt_kind {
	PK_IP = 1,   /* Ethernet + IPv4 (ip) */
	PK_ARP,      /* Ethernet + ARP (arp) */
	PK_ETH,      /* Ethernet with eth_proto and 46 bytes of payload */
	PK_TUNNEL,   /* outer Ethernet/IPv4/UDP + tunnel (tun) + inner Ethernet + ip */
};

/* An input packet. Zero fields take the default in brackets. */
struct pkt_desc {
	enum pkt_kind kind;
	const uint8_t *smac;     /* [VM1_MAC; tunnels: FABRIC_MAC] */
	const uint8_t *dmac;     /* [ROUTER_MAC; tunnels: UPL_MAC] */
	uint16_t eth_proto;      /* PK_ETH */
	struct pkt_ip ip;        /* PK_IP; the inner packet of PK_TUNNEL */
	struct pkt_arp arp;
	struct pkt_tunnel tun;   /* [dst: UNDERLAY] */
	const uint8_t *inner_smac; /* [REMOTE_MAC] */
	const uint8_t *inner_dmac; /* [ROUTER_MAC] */
	uint16_t inner_proto;    /* [ETH_P_IP] */
	size_t truncate;         /* cut the frame to this many bytes (0: don't) */
};

/* Where the parts of a built packet are. */
struct pkt_layout {
	size_t len;
	size_t ip_off;       /* the (inner) IPv4 header */
	size_t inner_eth;    /* tunnels: the inner Ethernet header */
};

static HX_UNUSED void pkt_build(const struct pkt_desc *d, uint8_t *buf, struct pkt_layout *lay)
{
	const uint8_t *smac = d->smac ? d->smac : VM1_MAC;
	const uint8_t *dmac = d->dmac ? d->dmac : ROUTER_MAC;
	uint8_t inner[2048];
	size_t n;

	memset(lay, 0, sizeof(*lay));
	switch (d->kind) {
	case PK_IP:
		lay->len = pkt_ip_frame(buf, dmac, smac, &d->ip);
		lay->ip_off = ETH_HLEN;
		break;
	case PK_ARP:
		lay->len = pkt_arp_frame(buf, smac, &d->arp);
		break;
	case PK_ETH:
		n = pkt_eth(buf, dmac, smac, d->eth_proto);
		memset(buf + n, 0x5a, 46);
		lay->len = n + 46;
		break;
	case PK_TUNNEL: {
		struct pkt_tunnel t = d->tun;

		if (!t.dst)
			t.dst = UNDERLAY;
		n = pkt_eth(inner, d->inner_dmac ? d->inner_dmac : ROUTER_MAC,
			    d->inner_smac ? d->inner_smac : REMOTE_MAC,
			    d->inner_proto ? d->inner_proto : ETH_P_IP);
		n += pkt_ipv4(inner + n, &d->ip);
		lay->len = pkt_tunnel_frame(buf, d->dmac ? d->dmac : UPL_MAC,
					    d->smac ? d->smac : FABRIC_MAC, &t, inner, n);
		lay->inner_eth = lay->len - n;
		lay->ip_off = lay->inner_eth + ETH_HLEN;
		break;
	}
	default:
		fail_msg("pkt_build: no packet kind %d", d->kind);
	}
	if (d->truncate && d->truncate < lay->len)
		lay->len = d->truncate;
}

/* Verdicts independent of the program type, so one uplink row serves both
 * tc_uplink (TC_ACT_*) and xdp_uplink (XDP_*).
 */
enum verdict {
	V_PASS = 1,     /* TC_ACT_OK / XDP_PASS */
	V_DROP,         /* TC_ACT_SHOT / XDP_DROP */
	V_REDIRECT,     /* TC_ACT_REDIRECT / XDP_REDIRECT */
};

static int verdict_value(enum hx_prog p, enum verdict v)
{
	bool xdp = p == P_XDP_UPLINK;

	switch (v) {
	case V_PASS:
		return xdp ? XDP_PASS : TC_ACT_OK;
	case V_DROP:
		return xdp ? XDP_DROP : TC_ACT_SHOT;
	case V_REDIRECT:
		return xdp ? XDP_REDIRECT : TC_ACT_REDIRECT;
	}
	return -1;
}

static const char *verdict_name(enum hx_prog p, int v)
{
	if (p == P_XDP_UPLINK) {
		switch (v) {
		case XDP_ABORTED: return "XDP_ABORTED";
		case XDP_DROP: return "XDP_DROP";
		case XDP_PASS: return "XDP_PASS";
		case XDP_TX: return "XDP_TX";
		case XDP_REDIRECT: return "XDP_REDIRECT";
		}
		return "XDP_?";
	}
	switch (v) {
	case TC_ACT_OK: return "TC_ACT_OK";
	case TC_ACT_SHOT: return "TC_ACT_SHOT";
	case TC_ACT_REDIRECT: return "TC_ACT_REDIRECT";
	case TC_ACT_UNSPEC: return "TC_ACT_UNSPEC";
	}
	return "TC_ACT_?";
}

static enum zh_counter_id rx_counter(enum hx_prog p)
{
	switch (p) {
	case P_TC_UPLINK:
		return ZH_CNT_TC_UPLINK_RX;
	case P_XDP_UPLINK:
		return ZH_CNT_XDP_UPLINK_RX;
	default:
		return ZH_CNT_TC_PORT_RX;
	}
}

/* Counter set: C(ENCAP_VXLAN) | C(ENCAP_PEER). The program's own rx
 * counter is always expected too and need not be listed.
 */
#define C(name) (1ull << ZH_CNT_##name)
_Static_assert(ZH_CNT_MAX <= 64, "counter sets are 64-bit masks");

/* What the output packet must be. */
enum out_check {
	OUT_ANY = 0,   /* not checked (drops: the packet is gone anyway) */
	OUT_SAME,      /* byte for byte the input */
	OUT_LOCAL,     /* routed one hop: MACs rewritten, TTL-1, checksum valid */
	OUT_ENCAP,     /* outer Ethernet/IPv4/UDP/tunnel + inner Ethernet + the input's IPv4 */
	OUT_ARP_REPLY, /* the input ARP request answered with the router MAC */
	OUT_ICMP_FRAG, /* ICMP fragmentation needed back to the sender */
	OUT_DECAP,     /* Ethernet to the VM + the inner IPv4 packet unchanged */
};

struct expect {
	enum verdict verdict;
	uint64_t counters;     /* C(...) set, each +1 packet; all others +0 */
	enum out_check out;
	const uint8_t *eth_dst; /* LOCAL, DECAP: the VM; ENCAP: the inner destination MAC */
	/* OUT_ENCAP */
	const char *host;      /* outer destination */
	uint32_t vni;          /* on the wire */
	enum zh_encap encap;   /* VXLAN or GENEVE */
	const uint8_t *nh_mac; /* outer destination MAC from the FIB; NULL: the
				* outer MACs are left for bpf_redirect_neigh()
				* (the input's stay in place) */
	/* OUT_ICMP_FRAG */
	uint16_t mtu;
};

struct row {
	const char *desc;
	enum hx_prog prog;     /* or P_UPLINKS */
	enum hx_dev dev;       /* skb ingress device [tc_port: vm1; tc_uplink: upl] */
	bool fwd_off;          /* run with forwarding off on upl */
	uint32_t gso_size;     /* skb GSO size (ctx), 0: not GSO */
	struct pkt_desc in;
	struct expect want;
};

/* --- running --------------------------------------------------------------- */

struct result {
	int retval;
	uint8_t out[4096];
	uint32_t out_len;
	int64_t delta[ZH_CNT_MAX];        /* packets */
	int64_t delta_bytes[ZH_CNT_MAX];
};

static void counters_read(struct fixture *f, struct zh_counter out[ZH_CNT_MAX])
{
	struct zh_counter vals[f->ncpu];
	__u32 id;
	int c;

	for (id = 0; id < ZH_CNT_MAX; id++) {
		if (bpf_map_lookup_elem(f->stats_fd, &id, vals))
			fail_msg("zh_stats lookup %u: %s", id, strerror(errno));
		out[id].packets = out[id].bytes = 0;
		for (c = 0; c < f->ncpu; c++) {
			out[id].packets += vals[c].packets;
			out[id].bytes += vals[c].bytes;
		}
	}
}

/* One BPF_PROG_TEST_RUN of `in` through program p, with the skb arriving on
 * ifindex (0: the runner's default, lo) and GSO size gso_size. Returns 0 or
 * -errno from the run.
 */
static HX_UNUSED int prog_run(struct fixture *f, enum hx_prog p, uint32_t ifindex,
			      uint32_t gso_size, const uint8_t *in, size_t len, struct result *r)
{
	struct zh_counter before[ZH_CNT_MAX], after[ZH_CNT_MAX];
	struct __sk_buff skb = {.ifindex = ifindex, .gso_size = gso_size};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = (__u32)len,
		    .data_out = r->out, .data_size_out = sizeof(r->out), .repeat = 1);
	int err, id;

	if (p != P_XDP_UPLINK && (ifindex || gso_size)) {
		opts.ctx_in = &skb;
		opts.ctx_size_in = sizeof(skb);
	}
	counters_read(f, before);
	err = bpf_prog_test_run_opts(f->progs[p].prog_fd, &opts) ? -errno : 0;
	counters_read(f, after);
	r->retval = (int)opts.retval;
	r->out_len = opts.data_size_out;
	for (id = 0; id < ZH_CNT_MAX; id++) {
		r->delta[id] = (int64_t)(after[id].packets - before[id].packets);
		r->delta_bytes[id] = (int64_t)(after[id].bytes - before[id].bytes);
	}
	return err;
}

/* Failure reporting: every mismatch is one line naming the row, the program
 * and the field; the row fails if any line was printed.
 */
struct rowctx {
	const char *desc;
	const char *prog;
	int errors;
};

static void mismatch(struct rowctx *rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mismatch(struct rowctx *rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	print_error("[%s] %s: %s\n", rc->prog, rc->desc, msg);
	rc->errors++;
}

static const char *mac_str(const uint8_t *m, char buf[18])
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	return buf;
}

static const char *ip_str(uint32_t a, char buf[16])
{
	return inet_ntop(AF_INET, &a, buf, 16);
}

static void want_mac(struct rowctx *rc, const char *field, const uint8_t *got, const uint8_t *want)
{
	char g[18], w[18];

	if (memcmp(got, want, 6))
		mismatch(rc, "%s = %s, want %s", field, mac_str(got, g), mac_str(want, w));
}

static void want_ip(struct rowctx *rc, const char *field, uint32_t got, uint32_t want)
{
	char g[16], w[16];

	if (got != want)
		mismatch(rc, "%s = %s, want %s", field, ip_str(got, g), ip_str(want, w));
}

static void want_u(struct rowctx *rc, const char *field, unsigned long got, unsigned long want)
{
	if (got != want)
		mismatch(rc, "%s = %lu (0x%lx), want %lu (0x%lx)", field, got, got, want, want);
}

/* The first differing byte of two ranges, reported as a mismatch. */
static void want_bytes(struct rowctx *rc, const char *field, const uint8_t *got,
		       const uint8_t *want, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] != want[i]) {
			mismatch(rc, "%s differs at byte %zu of %zu: 0x%02x, want 0x%02x", field, i,
				 len, got[i], want[i]);
			return;
		}
}

static bool want_len(struct rowctx *rc, uint32_t got, size_t want)
{
	if (got == want)
		return true;
	mismatch(rc, "output length %u, want %zu", got, want);
	return false;
}

static void check_local(struct rowctx *rc, const struct expect *w, const uint8_t *in,
			const struct pkt_layout *lay, const struct result *r)
{
	const struct ethhdr *eth = (const void *)r->out;
	const struct iphdr *ip = (const void *)(r->out + ETH_HLEN);
	const struct iphdr *iip = (const void *)(in + ETH_HLEN);
	struct iphdr a, b;

	if (!want_len(rc, r->out_len, lay->len))
		return;
	want_mac(rc, "eth.dst", eth->h_dest, w->eth_dst);
	want_mac(rc, "eth.src", eth->h_source, ROUTER_MAC);
	want_u(rc, "eth.proto", ntohs(eth->h_proto), ETH_P_IP);
	want_u(rc, "ip.ttl", ip->ttl, iip->ttl - 1u);
	if (pkt_csum16(ip, sizeof(*ip)))
		mismatch(rc, "ip.check 0x%04x is not valid", ntohs(ip->check));
	a = *ip;
	b = *iip;
	a.ttl = b.ttl = 0;
	a.check = b.check = 0;
	want_bytes(rc, "ip header (but ttl, check)", (void *)&a, (void *)&b, sizeof(a));
	want_bytes(rc, "bytes after the ip header", r->out + ETH_HLEN + sizeof(*ip),
		   in + ETH_HLEN + sizeof(*ip), lay->len - ETH_HLEN - sizeof(*ip));
}

static void check_encap(struct rowctx *rc, const struct expect *w, const uint8_t *in,
			const struct pkt_layout *lay, const struct result *r)
{
	const uint8_t *o = r->out;
	const struct ethhdr *eth = (const void *)o;
	const struct iphdr *ip = (const void *)(o + ETH_HLEN);
	const struct udphdr *udp = (const void *)(o + ETH_HLEN + sizeof(*ip));
	const uint8_t *tun = o + ETH_HLEN + sizeof(*ip) + sizeof(*udp);
	const struct ethhdr *ieth = (const void *)(tun + 8);
	const struct iphdr *in_ip = (const void *)(in + ETH_HLEN);
	uint16_t sport;
	uint32_t vni;

	if (!want_len(rc, r->out_len, lay->len + ZH_ENCAP_OVERHEAD))
		return;
	if (w->nh_mac) {
		want_mac(rc, "outer eth.dst (FIB neighbour)", eth->h_dest, w->nh_mac);
		want_mac(rc, "outer eth.src (upl)", eth->h_source, UPL_MAC);
	} else {
		/* bpf_redirect_neigh() fills them when the packet leaves. */
		want_bytes(rc, "outer eth addresses (left for bpf_redirect_neigh)", o, in, 12);
	}
	want_u(rc, "outer eth.proto", ntohs(eth->h_proto), ETH_P_IP);
	want_u(rc, "outer ip.version", ip->version, 4);
	want_u(rc, "outer ip.ihl", ip->ihl, 5);
	want_u(rc, "outer ip.tos", ip->tos, in_ip->tos);
	want_u(rc, "outer ip.tot_len", ntohs(ip->tot_len), r->out_len - ETH_HLEN);
	want_u(rc, "outer ip.frag_off", ntohs(ip->frag_off), PKT_IP_DF);
	if (!ip->ttl)
		mismatch(rc, "outer ip.ttl is 0");
	want_u(rc, "outer ip.protocol", ip->protocol, IPPROTO_UDP);
	if (pkt_csum16(ip, sizeof(*ip)))
		mismatch(rc, "outer ip.check 0x%04x is not valid", ntohs(ip->check));
	want_ip(rc, "outer ip.saddr", ip->saddr, pkt_addr(UNDERLAY));
	want_ip(rc, "outer ip.daddr", ip->daddr, pkt_addr(w->host));
	sport = ntohs(udp->source);
	if (sport < 49152)
		mismatch(rc, "outer udp.source %u is below 49152", sport);
	want_u(rc, "outer udp.dest", ntohs(udp->dest),
	       w->encap == ZH_ENCAP_GENEVE ? ZH_GENEVE_PORT : ZH_VXLAN_PORT);
	want_u(rc, "outer udp.len", ntohs(udp->len), r->out_len - ETH_HLEN - sizeof(*ip));
	want_u(rc, "outer udp.check", ntohs(udp->check), 0);
	vni = (uint32_t)tun[4] << 16 | (uint32_t)tun[5] << 8 | tun[6];
	if (w->encap == ZH_ENCAP_GENEVE) {
		want_u(rc, "geneve version", tun[0] >> 6, 0);
		want_u(rc, "geneve optlen", tun[0] & 0x3f, 0);
		want_u(rc, "geneve flags (O, C)", tun[1], 0);
		want_u(rc, "geneve proto", (unsigned long)tun[2] << 8 | tun[3], PKT_ETH_P_TEB);
	} else {
		want_u(rc, "vxlan flags", tun[0], PKT_VXLAN_I);
		want_u(rc, "vxlan reserved1", (unsigned long)tun[1] << 16 | tun[2] << 8 | tun[3], 0);
	}
	want_u(rc, "tunnel vni", vni, w->vni);
	want_u(rc, "tunnel reserved byte", tun[7], 0);
	want_mac(rc, "inner eth.dst", ieth->h_dest, w->eth_dst);
	want_mac(rc, "inner eth.src", ieth->h_source, ROUTER_MAC);
	want_u(rc, "inner eth.proto", ntohs(ieth->h_proto), ETH_P_IP);
	want_bytes(rc, "inner packet after the inner eth header", (const uint8_t *)(ieth + 1),
		   in + ETH_HLEN, lay->len - ETH_HLEN);
}

static void check_arp_reply(struct rowctx *rc, const struct expect *w, const uint8_t *in,
			    const struct pkt_layout *lay, const struct result *r)
{
	const struct ethhdr *eth = (const void *)r->out;
	const struct pkt_arphdr *arp = (const void *)(r->out + ETH_HLEN);
	const struct pkt_arphdr *req = (const void *)(in + ETH_HLEN);
	const uint8_t *vm_mac = ((const struct ethhdr *)in)->h_source;

	if (!want_len(rc, r->out_len, lay->len))
		return;
	want_mac(rc, "eth.dst (the VM)", eth->h_dest, vm_mac);
	want_mac(rc, "eth.src", eth->h_source, ROUTER_MAC);
	want_u(rc, "eth.proto", ntohs(eth->h_proto), ETH_P_ARP);
	want_u(rc, "arp.htype", ntohs(arp->htype), 1);
	want_u(rc, "arp.ptype", ntohs(arp->ptype), ETH_P_IP);
	want_u(rc, "arp.hlen", arp->hlen, 6);
	want_u(rc, "arp.plen", arp->plen, 4);
	want_u(rc, "arp.op", ntohs(arp->op), 2);
	want_mac(rc, "arp.sha", arp->sha, ROUTER_MAC);
	want_bytes(rc, "arp.spa (the address asked for)", arp->spa, req->tpa, 4);
	want_mac(rc, "arp.tha", arp->tha, vm_mac);
	want_bytes(rc, "arp.tpa (the VM's address)", arp->tpa, req->spa, 4);
}

static void check_icmp_frag(struct rowctx *rc, const struct expect *w, const uint8_t *in,
			    const struct pkt_layout *lay, const struct result *r)
{
	const size_t icmp_len = 8 + 20 + 8;
	const struct ethhdr *eth = (const void *)r->out, *in_eth = (const void *)in;
	const struct iphdr *ip = (const void *)(r->out + ETH_HLEN);
	const struct iphdr *in_ip = (const void *)(in + ETH_HLEN);
	const uint8_t *icmp = r->out + ETH_HLEN + sizeof(*ip);

	if (!want_len(rc, r->out_len, ETH_HLEN + sizeof(*ip) + icmp_len))
		return;
	want_mac(rc, "eth.dst (the VM)", eth->h_dest, in_eth->h_source);
	want_mac(rc, "eth.src", eth->h_source, ROUTER_MAC);
	want_u(rc, "eth.proto", ntohs(eth->h_proto), ETH_P_IP);
	want_u(rc, "ip.version", ip->version, 4);
	want_u(rc, "ip.ihl", ip->ihl, 5);
	want_u(rc, "ip.tot_len", ntohs(ip->tot_len), sizeof(*ip) + icmp_len);
	want_u(rc, "ip.protocol", ip->protocol, IPPROTO_ICMP);
	if (!ip->ttl)
		mismatch(rc, "ip.ttl is 0");
	if (pkt_csum16(ip, sizeof(*ip)))
		mismatch(rc, "ip.check 0x%04x is not valid", ntohs(ip->check));
	want_ip(rc, "ip.saddr (the destination asked for)", ip->saddr, in_ip->daddr);
	want_ip(rc, "ip.daddr (the VM)", ip->daddr, in_ip->saddr);
	want_u(rc, "icmp.type", icmp[0], 3);
	want_u(rc, "icmp.code", icmp[1], 4);
	if (pkt_csum16(icmp, icmp_len))
		mismatch(rc, "icmp checksum 0x%02x%02x is not valid", icmp[2], icmp[3]);
	want_u(rc, "icmp unused", (unsigned long)icmp[4] << 8 | icmp[5], 0);
	want_u(rc, "icmp next-hop mtu", (unsigned long)icmp[6] << 8 | icmp[7], w->mtu);
	want_bytes(rc, "icmp quote (ip header + 8 bytes)", icmp + 8, in + ETH_HLEN, 28);
}

static void check_decap(struct rowctx *rc, const struct expect *w, const uint8_t *in,
			const struct pkt_layout *lay, const struct result *r)
{
	const struct ethhdr *eth = (const void *)r->out;

	if (!want_len(rc, r->out_len, lay->len - lay->inner_eth))
		return;
	want_mac(rc, "eth.dst (the VM)", eth->h_dest, w->eth_dst);
	want_mac(rc, "eth.src", eth->h_source, ROUTER_MAC);
	want_u(rc, "eth.proto", ntohs(eth->h_proto), ETH_P_IP);
	want_bytes(rc, "inner packet after the inner eth header", r->out + ETH_HLEN,
		   in + lay->ip_off, lay->len - lay->ip_off);
}

/* Run one row against one program; returns the number of mismatches. */
static HX_UNUSED int run_row_on(struct fixture *f, const struct row *row, enum hx_prog p,
				struct result *r)
{
	struct rowctx rc = {.desc = row->desc, .prog = prog_names[p]};
	const struct expect *w = &row->want;
	uint8_t in[4096];
	struct pkt_layout lay;
	enum hx_dev dev = row->dev;
	int want_v, err, id;

	pkt_build(&row->in, in, &lay);
	if (!dev)
		dev = p == P_TC_UPLINK ? DEV_UPL : p == P_XDP_UPLINK ? DEV_NONE : DEV_VM1;
	if (p == P_TC_PORT || p == P_TC_PORT_GENEVE) {
		err = set_uplink_forwarding(!row->fwd_off);
		if (err)
			fail_msg("cannot set forwarding on upl: %s", strerror(-err));
		/* Every row is a first packet: the next hop comes from the FIB
		 * (test_port_next_hop_cache covers the cache).
		 */
		nexthops_clear(f);
	}
	err = prog_run(f, p, f->ifindex[dev], row->gso_size, in, lay.len, r);
	if (err) {
		mismatch(&rc, "BPF_PROG_TEST_RUN failed: %s", strerror(-err));
		return rc.errors;
	}

	want_v = verdict_value(p, w->verdict);
	if (r->retval != want_v)
		mismatch(&rc, "verdict %s (%d), want %s (%d)", verdict_name(p, r->retval),
			 r->retval, verdict_name(p, want_v), want_v);
	for (id = 0; id < ZH_CNT_MAX; id++) {
		int64_t want = (id == (int)rx_counter(p) || (w->counters & (1ull << id))) ? 1 : 0;

		if (r->delta[id] != want)
			mismatch(&rc, "counter %s moved by %lld, want %lld", zh_counter_name(id),
				 (long long)r->delta[id], (long long)want);
	}
	if (r->delta_bytes[rx_counter(p)] != (int64_t)lay.len)
		mismatch(&rc, "counter %s counted %lld bytes, want %zu",
			 zh_counter_name(rx_counter(p)), (long long)r->delta_bytes[rx_counter(p)],
			 lay.len);

	switch (w->out) {
	case OUT_ANY:
		break;
	case OUT_SAME:
		if (want_len(&rc, r->out_len, lay.len))
			want_bytes(&rc, "output (must be the input)", r->out, in, lay.len);
		break;
	case OUT_LOCAL:
		check_local(&rc, w, in, &lay, r);
		break;
	case OUT_ENCAP:
		check_encap(&rc, w, in, &lay, r);
		break;
	case OUT_ARP_REPLY:
		check_arp_reply(&rc, w, in, &lay, r);
		break;
	case OUT_ICMP_FRAG:
		check_icmp_frag(&rc, w, in, &lay, r);
		break;
	case OUT_DECAP:
		check_decap(&rc, w, in, &lay, r);
		break;
	}
	return rc.errors;
}

/* Run every row (P_UPLINKS rows against both uplink programs); fail the
 * test after the last row if any row had a mismatch.
 */
static HX_UNUSED void run_table(struct fixture *f, const struct row *rows, size_t n)
{
	struct result *r = malloc(sizeof(*r));
	int bad = 0, runs = 0;
	size_t i;

	assert_non_null(r);
	for (i = 0; i < n; i++) {
		if (rows[i].prog == P_UPLINKS) {
			bad += run_row_on(f, &rows[i], P_TC_UPLINK, r) != 0;
			bad += run_row_on(f, &rows[i], P_XDP_UPLINK, r) != 0;
			runs += 2;
		} else {
			bad += run_row_on(f, &rows[i], rows[i].prog, r) != 0;
			runs++;
		}
	}
	free(r);
	if (bad)
		fail_msg("%d of %d row runs failed (details above)", bad, runs);
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* ZH_TEST_HARNESS_H */
