/* SPDX-License-Identifier: GPL-2.0-only */
/* zerohop-agent's configuration file (JSON, docs/agent.md):
 *
 * {"instance":"h1", "host":"h1", "uplink":"upl", "underlay_ip":"198.18.0.1",
 *  "source":"etcd:http://198.18.0.200:2379[,URL...]" | "file:/path/intent.json",
 *  "etcd":{"user":..,"password":..|"password_file":..,"cacert":..,"cert":..,"key":..},
 *  "attach":{"xdp_mode":"auto|native|generic|off","tc_mode":"auto|tcx|clsact",
 *            "router_mac":..,"encap":"vxlan|geneve","mtu":0,
 *            "max_endpoints":N,"max_routes":N,"max_policies":N},
 *  "metrics":"127.0.0.1:9465", "status_socket":"/run/zerohop/agent-h1.sock"}
 */
#ifndef ZH_AGENT_CONFIG_H
#define ZH_AGENT_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "zerohop.h"

enum zh_source_kind {
	ZH_SOURCE_FILE = 1,
	ZH_SOURCE_ETCD = 2,
};

struct zh_agent_config {
	char instance[ZH_INSTANCE_NAME_MAX + 1];
	char host[ZH_NAME_MAX + 1];
	char uplink[ZH_IFNAMSIZ];
	uint32_t underlay_ip;          /* network byte order */

	char source[512];              /* as written */
	enum zh_source_kind source_kind;
	char file[PATH_MAX];           /* file: */
	char etcd_endpoints[512];      /* etcd: "http://a:2379,http://b:2379" */

	char etcd_user[128];
	char *etcd_password;           /* malloc'ed (from password or password_file) */
	char etcd_cacert[PATH_MAX];
	char etcd_cert[PATH_MAX];
	char etcd_key[PATH_MAX];

	enum zh_xdp_request xdp;
	enum zh_tc_request tc;
	bool has_router_mac;
	uint8_t router_mac[6];
	enum zh_encap encap;           /* 0: default (vxlan, or the instance's) */
	uint32_t mtu;
	struct zh_map_sizes sizes;

	char metrics[128];             /* "" = no metrics listener */
	char status_socket[PATH_MAX];
};

/* Parse a config document; on error -EINVAL and one line naming the field
 * and the reason in err ("attach.xdp_mode: must be auto, native, generic
 * or off"). Release with zh_agent_config_free.
 */
int zh_agent_config_parse(const char *json, size_t len, struct zh_agent_config *c, char *err,
			  size_t errlen);
/* The same from a file ("cannot read: reason" when it cannot). */
int zh_agent_config_load(const char *path, struct zh_agent_config *c, char *err, size_t errlen);
void zh_agent_config_free(struct zh_agent_config *c);

#endif /* ZH_AGENT_CONFIG_H */
