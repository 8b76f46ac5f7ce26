// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>
#include <json-c/json.h>

#include "agent_client.h"
#include "cli.h"
#include "stats.h"
#include "zerohop.h"

static const char status_usage[] =
	"Usage: zerohop status [--instance NAME [--agent-socket PATH]] [--json] [-v|-vv]\n"
	"\n"
	"Show, per instance (all attached instances when --instance is not given):\n"
	"interfaces and the attach modes in use, program ids, pinned maps with\n"
	"entries/capacity, the kernel features detected, counters summed over CPUs,\n"
	"and what the instance's zerohop-agent reports through its status socket\n"
	"(" ZH_AGENT_SOCK_DIR "/agent-NAME.sock, or --agent-socket PATH).\n";

/* Local: the option ids of cli.h are shared by every command. */
#define OPT_AGENT_SOCKET 0x200

struct feature_row {
	const char *name;
	size_t offset;
};

#define FEATURE(f) {#f, offsetof(struct zh_features, f)}
static const struct feature_row feature_rows[] = {
	FEATURE(btf),          FEATURE(tcx),      FEATURE(redirect_peer),
	FEATURE(redirect_neigh), FEATURE(fib_lookup), FEATURE(ringbuf), FEATURE(xdp_frags),
};
#define N_FEATURES (sizeof(feature_rows) / sizeof(feature_rows[0]))

static bool feature_on(const struct zh_features *f, size_t i)
{
	return *(const bool *)((const char *)f + feature_rows[i].offset);
}

static const char *map_type_str(uint32_t type)
{
	const char *s = libbpf_bpf_map_type_str(type);

	return s ? s : "unknown";
}

static void mac_str(const uint8_t *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void print_text(const struct zh_status *st)
{
	char ip[INET_ADDRSTRLEN], mac[18], xdp[32], tc[32];
	size_t i;
	int k;

	inet_ntop(AF_INET, &st->cfg.underlay_ip, ip, sizeof(ip));
	mac_str(st->cfg.router_mac, mac, sizeof(mac));
	printf("instance %s  (pins %s)\n", st->instance, st->pin_dir);
	printf("  underlay-ip %s  router-mac %s  mtu %u  encap %s  tc-mode %s  netns-cookie %llu\n",
	       ip, mac, st->cfg.mtu, zh_encap_str(st->cfg.encap), zh_tc_mode_str(st->cfg.tc_mode),
	       (unsigned long long)st->cfg.netns_cookie);
	printf("  kernel %s:", st->features.kernel);
	for (i = 0; i < N_FEATURES; i++)
		printf(" %s=%s", feature_rows[i].name, feature_on(&st->features, i) ? "yes" : "no");
	printf("\n  interfaces:\n    %-16s %-7s %-7s %-22s %s\n", "IFACE", "IFINDEX", "ROLE",
	       "XDP", "TC");
	for (k = 0; k < st->n_ifaces; k++) {
		const struct zh_iface_status *s = &st->ifaces[k];

		if (s->xdp_mode)
			snprintf(xdp, sizeof(xdp), "%s prog %u", zh_xdp_mode_str(s->xdp_mode),
				 s->xdp_prog_id);
		else
			snprintf(xdp, sizeof(xdp), "-");
		snprintf(tc, sizeof(tc), "%s prog %u", zh_tc_mode_str(s->tc_mode), s->tc_prog_id);
		printf("    %-16s %-7u %-7s %-22s %s%s\n", s->name, s->ifindex, zh_role_str(s->role),
		       xdp, tc, s->present ? "" : "  (interface gone)");
	}
	printf("  maps:\n");
	for (k = 0; k < st->n_maps; k++)
		printf("    %-16s %-14s id %-6u %u/%u entries\n", st->maps[k].name,
		       map_type_str(st->maps[k].type), st->maps[k].id, st->maps[k].entries,
		       st->maps[k].max_entries);
	printf("  counters:\n");
	for (k = 0; k < ZH_CNT_MAX; k++)
		printf("    %-16s %12llu packets %14llu bytes\n", zh_counter_name(k),
		       (unsigned long long)st->counters[k].packets,
		       (unsigned long long)st->counters[k].bytes);
}

static json_object *status_json(const struct zh_status *st)
{
	json_object *o = json_object_new_object(), *a, *x;
	char ip[INET_ADDRSTRLEN], mac[18];
	size_t i;
	int k;

	inet_ntop(AF_INET, &st->cfg.underlay_ip, ip, sizeof(ip));
	mac_str(st->cfg.router_mac, mac, sizeof(mac));
	json_object_object_add(o, "instance", json_object_new_string(st->instance));
	json_object_object_add(o, "pin_dir", json_object_new_string(st->pin_dir));
	json_object_object_add(o, "underlay_ip", json_object_new_string(ip));
	json_object_object_add(o, "router_mac", json_object_new_string(mac));
	json_object_object_add(o, "mtu", json_object_new_int(st->cfg.mtu));
	json_object_object_add(o, "encap", json_object_new_string(zh_encap_str(st->cfg.encap)));
	json_object_object_add(o, "tc_mode", json_object_new_string(zh_tc_mode_str(st->cfg.tc_mode)));
	json_object_object_add(o, "netns_cookie", json_object_new_uint64(st->cfg.netns_cookie));

	x = json_object_new_object();
	json_object_object_add(x, "kernel", json_object_new_string(st->features.kernel));
	for (i = 0; i < N_FEATURES; i++)
		json_object_object_add(x, feature_rows[i].name,
				       json_object_new_boolean(feature_on(&st->features, i)));
	json_object_object_add(o, "features", x);

	a = json_object_new_array();
	for (k = 0; k < st->n_ifaces; k++) {
		const struct zh_iface_status *s = &st->ifaces[k];

		x = json_object_new_object();
		json_object_object_add(x, "name", json_object_new_string(s->name));
		json_object_object_add(x, "ifindex", json_object_new_int64(s->ifindex));
		json_object_object_add(x, "role", json_object_new_string(zh_role_str(s->role)));
		json_object_object_add(x, "xdp_mode", json_object_new_string(zh_xdp_mode_str(s->xdp_mode)));
		json_object_object_add(x, "xdp_prog_id", json_object_new_int64(s->xdp_prog_id));
		json_object_object_add(x, "tc_mode", json_object_new_string(zh_tc_mode_str(s->tc_mode)));
		json_object_object_add(x, "tc_prog_id", json_object_new_int64(s->tc_prog_id));
		json_object_object_add(x, "present", json_object_new_boolean(s->present));
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "interfaces", a);

	a = json_object_new_array();
	for (k = 0; k < st->n_maps; k++) {
		x = json_object_new_object();
		json_object_object_add(x, "name", json_object_new_string(st->maps[k].name));
		json_object_object_add(x, "type", json_object_new_string(map_type_str(st->maps[k].type)));
		json_object_object_add(x, "id", json_object_new_int64(st->maps[k].id));
		json_object_object_add(x, "entries", json_object_new_int64(st->maps[k].entries));
		json_object_object_add(x, "max_entries", json_object_new_int64(st->maps[k].max_entries));
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "maps", a);

	x = json_object_new_object();
	for (k = 0; k < ZH_CNT_MAX; k++) {
		json_object *c = json_object_new_object();

		json_object_object_add(c, "packets", json_object_new_uint64(st->counters[k].packets));
		json_object_object_add(c, "bytes", json_object_new_uint64(st->counters[k].bytes));
		json_object_object_add(x, zh_counter_name(k), c);
	}
	json_object_object_add(o, "counters", x);
	return o;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"json", no_argument, NULL, OPT_JSON},
		{"agent-socket", required_argument, NULL, OPT_AGENT_SOCKET},
		{},
	};
	static char names[256][ZH_INSTANCE_NAME_MAX + 1];
	const char *instance = NULL, *agent_socket = NULL;
	json_object *root = NULL, *arr = NULL;
	struct agent_reply agent;
	char sock[PATH_MAX];
	struct zh_status st;
	bool json = false;
	int opt, r, n, i, err = 0;

	while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		r = cli_common_opt(opt, "status", status_usage, &instance);
		if (r >= 2)
			return r - 2;
		if (r)
			continue;
		if (opt == OPT_AGENT_SOCKET)
			agent_socket = optarg;
		else if (opt == OPT_JSON)
			json = true;
		else
			return ZH_EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage_error("status", "unexpected argument '%s'", argv[optind]);
	if (agent_socket && !instance)
		return cli_usage_error("status", "--agent-socket needs --instance");
	if (zh_check_privileges())
		return ZH_EXIT_FAIL;

	if (instance) {
		if (!zh_instance_exists(instance)) {
			fprintf(stderr, "zerohop: instance '%s' is not attached\n", instance);
			return ZH_EXIT_FAIL;
		}
		snprintf(names[0], sizeof(names[0]), "%s", instance);
		n = 1;
	} else {
		n = zh_list_instances(names, 256);
		if (n < 0) {
			fprintf(stderr, "zerohop: Couldn't list instances in %s: %s\n", zh_pin_base(),
				strerror(-n));
			return ZH_EXIT_FAIL;
		}
	}
	if (json) {
		root = json_object_new_object();
		arr = json_object_new_array();
		json_object_object_add(root, "instances", arr);
	} else if (n == 0) {
		printf("no zerohop instances attached (%s is empty)\n", zh_pin_base());
	}
	for (i = 0; i < n; i++) {
		r = zh_status_read(names[i], &st);
		if (r) {
			fprintf(stderr, "zerohop: Couldn't read status of instance '%s': %s\n",
				names[i], strerror(-r));
			err = r;
			zh_status_free(&st);
			continue;
		}
		if (agent_socket)
			snprintf(sock, sizeof(sock), "%s", agent_socket);
		else
			snprintf(sock, sizeof(sock), ZH_AGENT_SOCK_FMT, names[i]);
		agent_query(sock, AGENT_QUERY_TIMEOUT_MS, &agent);
		if (json) {
			json_object *o = status_json(&st);

			json_object_object_add(o, "agent", agent_json(&agent));
			json_object_array_add(arr, o);
		} else {
			print_text(&st);
			agent_print_text(stdout, &agent, names[i], time(NULL));
		}
		agent_reply_free(&agent);
		zh_status_free(&st);
	}
	if (json) {
		puts(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
							  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(root);
	}
	return cli_exit(err);
}
