/* SPDX-License-Identifier: GPL-2.0-only */
/* Maps shared by every zerohop program of an instance.
 *
 * Each program object declares the same maps; LIBBPF_PIN_BY_NAME plus the
 * loader's pin_root_path (/sys/fs/bpf/zerohop/<instance>/) make all objects of
 * one instance share one copy, which survives re-attach (detach removes it).
 */
#ifndef ZH_BPF_MAPS_H
#define ZH_BPF_MAPS_H

#include "common.h"
#include "nexthops.h"

/* The instance configuration, as last written by `zerohop attach`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct zh_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zh_config SEC(".maps");

/* Per-CPU packet/byte counters indexed by enum zh_counter_id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZH_CNT_MAX);
	__type(key, __u32);
	__type(value, struct zh_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zh_stats SEC(".maps");

/* Interfaces the instance has programs on (ifindex -> role and attach
 * modes); written by the loader, read by `zerohop status` and bpftool.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZH_IFACES_MAX);
	__type(key, __u32);
	__type(value, struct zh_iface);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} zh_ifaces SEC(".maps");

/* VM ports on this host: ifindex -> VNI, MAC, IPv4 (anti-spoofing). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZH_PORTS_MAX);
	__type(key, __u32);
	__type(value, struct zh_port);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zh_ports SEC(".maps");

/* Exact /32 endpoints per VNI: local VMs, remote VMs, peer endpoints. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZH_ENDPOINTS_MAX);
	__type(key, struct zh_ep_key);
	__type(value, struct zh_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zh_endpoints SEC(".maps");

/* Prefix routes per VNI, looked up when no exact endpoint matches. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, ZH_ROUTES_MAX);
	__type(key, struct zh_route_key);
	__type(value, struct zh_route);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zh_routes SEC(".maps");

/* Export policies of peerings: which addresses of a network (and which
 * protocols) another network may reach. Only packets between two networks
 * look here (policy.h).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, ZH_POLICIES_MAX);
	__type(key, struct zh_policy_key);
	__type(value, struct zh_policy);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zh_policy SEC(".maps");

/* Ports xdp_uplink may redirect decapsulated frames to: ifindex -> ifindex. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, ZH_PORTS_MAX);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zh_devmap SEC(".maps");

/* Underlay next hops resolved by the FIB (see nexthops.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZH_NH_SLOTS);
	__type(key, __u32);
	__type(value, struct zh_nexthop_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} zh_nexthops SEC(".maps");

#endif /* ZH_BPF_MAPS_H */
