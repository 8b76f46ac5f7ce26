/* SPDX-License-Identifier: GPL-2.0-only */
/* Map keys and values shared by the BPF programs and user space.
 *
 * Fixed-width types, explicit padding, and a size check on both sides: the
 * layouts below are the ABI of the pinned maps under
 * /sys/fs/bpf/zerohop/<instance>/ and must not change silently.
 */
#ifndef ZH_SHARED_H
#define ZH_SHARED_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "zh_counters.h"

#define ZH_IFNAMSIZ 16

/* Map names: at most 15 characters, zh_ prefix (BPF_OBJ_NAME_LEN). */
#define ZH_MAP_CONFIG    "zh_config"
#define ZH_MAP_STATS     "zh_stats"
#define ZH_MAP_IFACES    "zh_ifaces"
#define ZH_MAP_PORTS     "zh_ports"
#define ZH_MAP_ENDPOINTS "zh_endpoints"
#define ZH_MAP_ROUTES    "zh_routes"
#define ZH_MAP_DEVMAP    "zh_devmap"
#define ZH_MAP_POLICY    "zh_policy"

/* Default capacities; the loader may resize before load. */
#define ZH_IFACES_MAX    1024
#define ZH_PORTS_MAX     1024
#define ZH_ENDPOINTS_MAX 65536
#define ZH_ROUTES_MAX    16384
#define ZH_POLICIES_MAX  16384

#define ZH_VNI_MAX 0xffffff

/* An IPv4 address field (network byte order): code uses NAME as a __u32;
 * the overlaid NAME_octets make `bpftool map dump` print it readably, as
 * [10,0,0,1].
 */
#define ZH_IPV4(name)                                                                      \
	union {                                                                            \
		__u32 name;                                                                \
		__u8 name##_octets[4];                                                     \
	}

/* Tunnel UDP ports (IANA). */
#define ZH_VXLAN_PORT  4789
#define ZH_GENEVE_PORT 6081

/* What encapsulation adds to an inner IPv4 packet and the uplink MTU must
 * absorb: outer IPv4 20, UDP 8, VXLAN or option-less Geneve 8, inner
 * Ethernet 14. A VM's usable MTU is the uplink MTU minus this.
 */
#define ZH_ENCAP_OVERHEAD (20 + 8 + 8 + 14)

enum zh_role {
	ZH_ROLE_UPLINK = 1,
	ZH_ROLE_PORT = 2,
};

/* How XDP is attached to an interface (what is in use, not what was asked). */
enum zh_xdp_mode {
	ZH_XDP_OFF = 0,
	ZH_XDP_NATIVE = 1,
	ZH_XDP_GENERIC = 2,
};

/* How TC programs are attached: tcx links (6.6+) or a clsact filter. */
enum zh_tc_mode {
	ZH_TC_NONE = 0,
	ZH_TC_TCX = 1,
	ZH_TC_CLSACT = 2,
};

/* Tunnel encapsulation; ZH_ENCAP_DEFAULT defers to the instance's. */
enum zh_encap {
	ZH_ENCAP_DEFAULT = 0,
	ZH_ENCAP_VXLAN = 1,
	ZH_ENCAP_GENEVE = 2,
};

/* What a route does with a packet. */
enum zh_route_action {
	ZH_ROUTE_REMOTE = 1, /* encapsulate to host_ip with dest_vni */
	ZH_ROUTE_DROP = 2,   /* drop (drop_no_route) */
};

/* zh_config[0]: the instance's configuration. The loader writes it at attach
 * time and copies it into every program's .rodata before load, so the data
 * path reads constants while the pinned map records what the instance runs.
 */
struct zh_config {
	ZH_IPV4(underlay_ip);      /* this host on the fabric */
	__u32 uplink_ifindex;      /* where encapsulated packets leave */
	__u8 router_mac[6];        /* the MAC VMs see as their gateway's */
	__u16 mtu;                 /* uplink MTU */
	enum zh_tc_mode tc_mode;   /* chosen for the whole instance */
	enum zh_xdp_mode xdp_mode; /* in use on the uplink */
	enum zh_encap encap;       /* default encapsulation (vxlan or geneve) */
	__u32 flags;               /* reserved, 0 */
	__u64 netns_cookie;        /* network namespace of the instance's interfaces */
};

/* zh_ifaces[ifindex]: every interface this instance has programs on. */
struct zh_iface {
	char name[ZH_IFNAMSIZ];
	enum zh_role role;
	enum zh_xdp_mode xdp_mode;
	enum zh_tc_mode tc_mode;
	__u32 pad;
};

/* zh_ports[ifindex]: a VM port. Frames from it must carry this MAC and IPv4
 * source (anti-spoofing); it belongs to exactly one VNI.
 */
struct zh_port {
	__u32 vni;
	ZH_IPV4(ip);
	__u8 mac[6];
	__u16 flags;   /* reserved, 0 */
};



/* zh_endpoints key: an IPv4 address inside a virtual network. */
struct zh_ep_key {
	__u32 vni;
	ZH_IPV4(ip);
};

/* Bits of zh_endpoint.flags (local endpoints; the loader sets them at
 * port add and re-attach).
 */
#define ZH_EP_F_PEER_NETNS 0x1u /* the port is a veth whose peer is in another
				 * network namespace: TC delivers with
				 * bpf_redirect_peer(), straight into the VM */

/* zh_endpoints value. Local endpoints (VMs on this host) have ifindex set
 * and host_ip 0; remote ones have the underlay address of their host. A
 * dest_vni other than 0 and the key's VNI makes it a peer endpoint: packets
 * leave with the peer network's VNI (proxyless peering), and the entry also
 * lets the peer's traffic pass this host's reverse-path check.
 */
struct zh_endpoint {
	ZH_IPV4(host_ip);  /* 0 for a local endpoint */
	__u32 dest_vni;    /* VNI on the wire; 0 = the key's VNI */
	__u32 ifindex;     /* local port; 0 for a remote endpoint */
	__u8 mac[6];       /* the VM's MAC (inner destination MAC) */
	__u16 flags;       /* ZH_EP_F_* bits; 0 for remote endpoints */
	enum zh_encap encap;
};

/* zh_routes key (LPM trie): prefixlen counts the 32 VNI bits too, so a /24
 * inside a VNI has prefixlen 56.
 */
struct zh_route_key {
	__u32 prefixlen;
	__u32 vni;         /* host order: always matched in full, so order is moot */
	ZH_IPV4(ip);
};

struct zh_route {
	ZH_IPV4(host_ip);
	__u32 dest_vni;    /* 0 = the key's VNI */
	enum zh_route_action action;
	enum zh_encap encap;
};

/* Protocol classes of an export policy: the bits of zh_policy.protocols.
 * controller/model.h defines them for export records with the very same
 * replacement text, so where both are included the compiler checks that
 * they agree.
 */
#define ZH_PROTO_TCP  0x1u
#define ZH_PROTO_UDP  0x2u
#define ZH_PROTO_ICMP 0x4u
#define ZH_PROTO_OTHER 0x8u /* every other IP protocol */
#define ZH_PROTO_ANY   (ZH_PROTO_TCP | ZH_PROTO_UDP | ZH_PROTO_ICMP | ZH_PROTO_OTHER)

/* zh_policy key (LPM trie): network vni exports addr to network peer_vni.
 * vni is the network that owns the address (the destination's), peer_vni
 * the one allowed to reach it. prefixlen counts the 64 VNI bits too, so a
 * /24 has prefixlen 88; the lookup key has 96.
 */
struct zh_policy_key {
	__u32 prefixlen;
	__u32 vni;         /* exporting network; host order, matched in full */
	__u32 peer_vni;    /* importing network; host order, matched in full */
	ZH_IPV4(addr);
};

/* zh_policy value: the protocols the export allows (ZH_PROTO_* bits). The
 * overlaid bit-fields only make `bpftool map dump` name them.
 */
struct zh_policy {
	union {
		__u32 protocols;
		struct {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			__u32 tcp : 1, udp : 1, icmp : 1, other : 1, reserved : 28;
#else
			__u32 reserved : 28, other : 1, icmp : 1, udp : 1, tcp : 1;
#endif
		} allow;
	};
};

/* zh_stats[counter id], per CPU. */
struct zh_counter {
	__u64 packets;
	__u64 bytes;
};

/* Enum fields make `bpftool map dump` print names instead of numbers; they
 * are 4 bytes on every ABI zerohop builds for.
 */
_Static_assert(sizeof(enum zh_role) == 4 && sizeof(enum zh_xdp_mode) == 4 &&
		       sizeof(enum zh_tc_mode) == 4 && sizeof(enum zh_encap) == 4 &&
		       sizeof(enum zh_route_action) == 4,
	       "enum fields are 4 bytes");
_Static_assert(sizeof(struct zh_config) == 40, "zh_config layout");
_Static_assert(sizeof(struct zh_port) == 16, "zh_port layout");
_Static_assert(sizeof(struct zh_ep_key) == 8, "zh_ep_key layout");
_Static_assert(sizeof(struct zh_endpoint) == 24, "zh_endpoint layout");
_Static_assert(sizeof(struct zh_route_key) == 12, "zh_route_key layout");
_Static_assert(sizeof(struct zh_route) == 16, "zh_route layout");
_Static_assert(sizeof(struct zh_iface) == 32, "zh_iface layout");
_Static_assert(sizeof(struct zh_policy_key) == 16, "zh_policy_key layout");
_Static_assert(sizeof(struct zh_policy) == 4, "zh_policy layout");
_Static_assert(sizeof(struct zh_counter) == 16, "zh_counter layout");

#endif /* ZH_SHARED_H */
