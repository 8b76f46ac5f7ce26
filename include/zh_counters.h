/* SPDX-License-Identifier: GPL-2.0-only */
/* Counter ids shared by the BPF programs and user space.
 *
 * One X-macro list keeps the enum (used by BPF), the names printed by
 * `zerohop status` and their help text in one place.
 * Append new counters at the end: the id is the index into the pinned
 * zh_stats map, so reordering would mislabel counters of a running instance.
 */
#ifndef ZH_COUNTERS_H
#define ZH_COUNTERS_H

#define ZH_COUNTERS(X)                                                                     \
	X(XDP_UPLINK_RX, "xdp_uplink_rx", "packets seen by xdp_uplink on the uplink")      \
	X(TC_UPLINK_RX, "tc_uplink_rx", "packets seen by tc_uplink (TC ingress, uplink)")  \
	X(TC_PORT_RX, "tc_port_rx", "packets seen by tc_port (TC ingress, VM ports)")

enum zh_counter_id {
#define ZH_COUNTER_ENUM(id, name, help) ZH_CNT_##id,
	ZH_COUNTERS(ZH_COUNTER_ENUM)
#undef ZH_COUNTER_ENUM
	ZH_CNT_MAX,
};

#endif /* ZH_COUNTERS_H */
