/* SPDX-License-Identifier: GPL-2.0-only */
/* libzerohop: the loader library. Opens the BPF skeletons, probes the kernel,
 * sizes and pins maps under <bpffs>/zerohop/<instance>/, attaches, replaces
 * and detaches programs. Used by the `zerohop` CLI and by zerohop-agent.
 *
 * Every function returns 0 or a negative errno and logs one line naming the
 * object and the cause on failure; none of them exits the process.
 */
#ifndef ZEROHOP_H
#define ZEROHOP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zh_shared.h"
#include "parse.h"
#include "probe.h"

#define ZH_DEFAULT_INSTANCE "default"

/* Capacities of the maps that grow with the virtual networks (0: default).
 * They are set when an instance's maps are created, on its first attach.
 */
struct zh_map_sizes {
	uint32_t endpoints;
	uint32_t routes;
	uint32_t policies;
};

struct zh_attach_opts {
	const char *instance;
	const char *uplink;
	uint32_t underlay_ip;          /* network byte order */
	enum zh_xdp_request xdp;
	enum zh_tc_request tc;
	bool has_router_mac;
	uint8_t router_mac[6];
	uint32_t mtu;                  /* 0: the uplink's MTU */
	enum zh_encap encap;           /* default for endpoints: vxlan unless geneve */
	struct zh_map_sizes sizes;
};

/* A VM port: the VM's VNI, MAC and IPv4 address. */
struct zh_port_opts {
	uint32_t vni;
	uint8_t mac[6];
	uint32_t ip;                   /* network byte order */
};

struct zh_attach_result {
	bool replaced;       /* the instance was attached already */
	uint32_t xdp_mode;   /* enum zh_xdp_mode in use */
	uint32_t tc_mode;    /* enum zh_tc_mode in use */
};

/* Attach xdp_uplink/tc_uplink to the uplink, or, on an attached instance,
 * atomically replace every program of the instance (uplink and ports)
 * keeping the pinned maps. res may be NULL.
 */
int zh_attach(const struct zh_attach_opts *opts, struct zh_attach_result *res);

/* Make IFNAME a VM port: record it (zh_ports), make the VM a local endpoint
 * of its VNI (zh_endpoints), and attach tc_port. Re-running it replaces
 * the program and updates the records. port_del undoes all of it.
 */
int zh_port_add(const char *instance, const char *ifname, const struct zh_port_opts *p);
int zh_port_del(const char *instance, const char *ifname);

/* Remote and peer endpoints, and prefix routes (static programming). */
struct zh_endpoint_opts {
	uint32_t vni;
	uint32_t ip;                   /* network byte order */
	uint8_t mac[6];
	uint32_t host_ip;              /* underlay address of its host */
	uint32_t dest_vni;             /* 0: same VNI; else the peer network's */
	enum zh_encap encap;
};
int zh_endpoint_add(const char *instance, const struct zh_endpoint_opts *o);
int zh_endpoint_del(const char *instance, uint32_t vni, uint32_t ip);

struct zh_route_opts {
	uint32_t vni;
	uint32_t prefix;               /* network byte order, host bits zero */
	uint8_t prefix_len;
	bool drop;
	uint32_t host_ip;
	uint32_t dest_vni;
	enum zh_encap encap;
};
int zh_route_add(const char *instance, const struct zh_route_opts *o);
int zh_route_del(const char *instance, uint32_t vni, uint32_t prefix, uint8_t prefix_len);

/* Export policies of peerings (zh_policy): network vni exports the prefix
 * to network peer_vni for the protocols (ZH_PROTO_* bits). The data plane
 * lets a packet from one network into another only when an entry of the
 * destination's network toward the source's covers the destination address
 * and has its protocol; the sending and the receiving host both check.
 * Adding an existing (vni, peer_vni, prefix) replaces its protocols.
 */
int zh_policy_add(const char *instance, uint32_t vni, uint32_t peer_vni, uint32_t prefix,
		  uint8_t prefix_len, uint32_t protocols);
int zh_policy_del(const char *instance, uint32_t vni, uint32_t peer_vni, uint32_t prefix,
		  uint8_t prefix_len);

/* One zh_policy entry, decoded. */
struct zh_policy_entry {
	uint32_t vni;                  /* exporting network (owns the prefix) */
	uint32_t peer_vni;             /* network allowed to reach it */
	uint32_t prefix;               /* network byte order */
	uint8_t prefix_len;
	uint32_t protocols;            /* ZH_PROTO_* bits */
};
typedef int (*zh_policy_cb)(const struct zh_policy_entry *e, void *ctx);
/* Every entry of the instance's zh_policy; cb returns 0 to go on. */
int zh_policy_foreach(const char *instance, zh_policy_cb cb, void *ctx);
/* The map element of an entry, for batched writes through zh_maps.policy
 * (zh_map_update_many), and back for zh_map_iterate. Checks nothing;
 * zh_policy_check() does, and logs why an entry is refused.
 */
void zh_policy_encode(const struct zh_policy_entry *e, struct zh_policy_key *key,
		      struct zh_policy *val);
void zh_policy_decode(const struct zh_policy_key *key, const struct zh_policy *val,
		      struct zh_policy_entry *e);
int zh_policy_check(const struct zh_policy_entry *e);

/* Iterate a data-plane map of an instance: cb gets each key and value and
 * returns 0 to go on. Returns 0 or -errno.
 */
typedef int (*zh_entry_cb)(const void *key, const void *value, void *ctx);
int zh_map_foreach(const char *instance, const char *map, zh_entry_cb cb, void *ctx);

/* Detach everything of the instance and remove its pins.
 * -ENOENT (nothing logged) when the instance is not attached.
 */
int zh_detach(const char *instance);

/* Checks every command runs first: root, kernel BTF, a valid instance name. */
int zh_check_privileges(void);
int zh_check_kernel_btf(void);

/* Directory holding every instance: <bpffs>/zerohop (ZEROHOP_BPFFS sets
 * <bpffs>, default /sys/fs/bpf).
 */
const char *zh_pin_base(void);
/* <pin base>/<instance>; 0 or -EINVAL/-ENAMETOOLONG. */
int zh_instance_dir(const char *instance, char *buf, size_t len);
/* One element of a pinned map of an instance directory; 0 or -errno. */
int zh_map_lookup(const char *inst_dir, const char *name, const void *key, void *val);
bool zh_instance_exists(const char *instance);
/* Names of attached instances, sorted; returns the count or -errno. */
int zh_list_instances(char (*names)[ZH_INSTANCE_NAME_MAX + 1], int max);

struct zh_iface_status {
	uint32_t ifindex;
	char name[ZH_IFNAMSIZ];
	uint32_t role;
	uint32_t xdp_mode;
	uint32_t tc_mode;
	uint32_t xdp_prog_id;   /* 0: none */
	uint32_t tc_prog_id;
	bool present;           /* the interface still exists */
};

struct zh_map_status {
	char name[16];
	uint32_t id;
	uint32_t type;
	uint32_t entries;
	uint32_t max_entries;
};

#define ZH_STATUS_MAX_MAPS 32

struct zh_status {
	char instance[ZH_INSTANCE_NAME_MAX + 1];
	char pin_dir[PATH_MAX];
	struct zh_config cfg;
	int n_ifaces;
	struct zh_iface_status *ifaces;
	int n_maps;
	struct zh_map_status maps[ZH_STATUS_MAX_MAPS];
	struct zh_features features;
	struct zh_counter counters[ZH_CNT_MAX];
};

int zh_status_read(const char *instance, struct zh_status *st);
void zh_status_free(struct zh_status *st);

/* Counter name and help text by id (NULL past the end). */
const char *zh_counter_name(unsigned int id);
const char *zh_counter_help(unsigned int id);
/* Per-CPU counters summed over CPUs. */
int zh_counters_read(const char *instance, struct zh_counter out[ZH_CNT_MAX]);

/* --- batched map access (for zerohop-agent) ------------------------------ */

/* One opened map and what the kernel says about it. batch is learnt on
 * first use: 1 when the kernel takes batched updates/deletes on this map,
 * -1 when it does not (then every element goes on its own).
 */
struct zh_map_fd {
	int fd;                        /* -1: not open */
	char name[16];
	uint32_t type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	int batch;
	uint64_t syscalls;             /* update/delete system calls made */
};

/* The maps of an instance that programming writes, opened once. */
struct zh_maps {
	char dir[PATH_MAX];            /* "" when made from fds */
	struct zh_config cfg;
	struct zh_map_fd endpoints;
	struct zh_map_fd routes;
	struct zh_map_fd ports;
	struct zh_map_fd ifaces;
	struct zh_map_fd policy;       /* zh_policy; fd -1 on an instance attached
					* by a zerohop without export policies */
};

/* Open the maps of an attached instance in this netns (logs why not). */
int zh_maps_open(const char *instance, struct zh_maps *m);
/* The same over maps the caller made (tests): the fds are dup'ed. Any fd
 * may be -1 (that map is then not available). policy starts at -1; a test
 * gives it one with zh_map_fd_init(&m->policy, fd).
 */
int zh_maps_from_fds(struct zh_maps *m, int endpoints, int routes, int ports, int ifaces);
void zh_maps_close(struct zh_maps *m);
/* Take over fd (dup'ed) and read its type and sizes. */
int zh_map_fd_init(struct zh_map_fd *m, int fd);
void zh_map_fd_close(struct zh_map_fd *m);

/* Called for an element that could not be written: its index in the
 * arrays and -errno (-E2BIG: the map is full).
 */
typedef void (*zh_map_err_cb)(uint32_t index, int err, void *ctx);

/* Write n elements (keys and values packed at key_size / value_size),
 * BPF_ANY, in batches where the map type allows, else one by one. A
 * failing element is reported through err_cb (may be NULL) and the rest
 * is still written. Returns how many were written.
 */
uint32_t zh_map_update_many(struct zh_map_fd *m, const void *keys, const void *vals, uint32_t n,
			    zh_map_err_cb err_cb, void *ctx);
/* Delete n keys the same way; a key that is not there is no error (and
 * not counted). */
uint32_t zh_map_delete_many(struct zh_map_fd *m, const void *keys, uint32_t n,
			    zh_map_err_cb err_cb, void *ctx);
/* Every element (batched lookups where the map type allows, else
 * get_next_key): cb returns 0 to go on. 0 or -errno (or cb's value).
 */
int zh_map_iterate(struct zh_map_fd *m, zh_entry_cb cb, void *ctx);
/* Id of the TC program on a port of the instance (0: none attached). */
uint32_t zh_maps_port_prog_id(const struct zh_maps *m, uint32_t ifindex);

#endif /* ZEROHOP_H */
