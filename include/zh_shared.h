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
#define ZH_MAP_CONFIG "zh_config"
#define ZH_MAP_STATS  "zh_stats"
#define ZH_MAP_IFACES "zh_ifaces"

/* Default capacities; the loader may resize before load. */
#define ZH_IFACES_MAX 1024

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

/* zh_config[0]: the instance's configuration. The loader writes it at attach
 * time and copies it into every program's .rodata before load, so the data
 * path reads constants while the pinned map records what the instance runs.
 */
struct zh_config {
	__u32 underlay_ip; /* network byte order */
	__u32 flags;       /* reserved, 0 */
	__u8 router_mac[6];
	__u16 mtu;         /* uplink MTU */
	enum zh_tc_mode tc_mode;   /* chosen for the whole instance */
	enum zh_xdp_mode xdp_mode; /* in use on the uplink */
	__u64 netns_ino;   /* network namespace of the instance's interfaces */
};

/* zh_ifaces[ifindex]: every interface this instance has programs on. */
struct zh_iface {
	char name[ZH_IFNAMSIZ];
	enum zh_role role;
	enum zh_xdp_mode xdp_mode;
	enum zh_tc_mode tc_mode;
	__u32 pad;
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
		       sizeof(enum zh_tc_mode) == 4,
	       "enum fields are 4 bytes");
_Static_assert(sizeof(struct zh_config) == 32, "zh_config layout");
_Static_assert(sizeof(struct zh_iface) == 32, "zh_iface layout");
_Static_assert(sizeof(struct zh_counter) == 16, "zh_counter layout");

#endif /* ZH_SHARED_H */
