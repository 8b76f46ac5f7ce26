// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "zerohop.h"

static const char show_usage[] =
	"Usage: zerohop show ports|endpoints|routes|policies|stats [--instance NAME] [--json]\n"
	"\n"
	"ports      VM ports: interface, VNI, MAC, IPv4, and which uplink program delivers\n"
	"           to it (xdp: xdp_uplink redirects through zh_devmap; tc: tc_uplink)\n"
	"endpoints  exact endpoints per VNI: local ports, remote and peer endpoints\n"
	"routes     prefix routes per VNI\n"
	"policies   export policies of peerings: which prefixes of VNI a peer VNI may reach,\n"
	"           and with which protocols\n"
	"stats      every counter summed over CPUs (--json: {\"name\": packets, ...})\n"
	"conflicts  route conflicts on a controller shard's etcd, not an instance's maps\n"
	"           (see 'zerohop show conflicts --help')\n";

struct show_ctx {
	json_object *arr; /* NULL: text */
	int rows;
	char dir[PATH_MAX]; /* the instance's pins */
};

static void ip_str(uint32_t ip, char *buf)
{
	inet_ntop(AF_INET, &ip, buf, INET_ADDRSTRLEN);
}

static void mac_str(const uint8_t *m, char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void ifname_str(uint32_t ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "(gone:%u)", ifindex);
}

static int show_port(const void *k, const void *v, void *c)
{
	const struct zh_port *p = v;
	struct show_ctx *ctx = c;
	char name[IF_NAMESIZE], ip[INET_ADDRSTRLEN], mac[18];
	uint32_t ifindex = *(const uint32_t *)k;

	uint32_t dev;
	bool xdp;

	ifname_str(ifindex, name);
	ip_str(p->ip, ip);
	mac_str(p->mac, mac);
	/* In zh_devmap: xdp_uplink delivers to it, else tc_uplink does. */
	xdp = zh_map_lookup(ctx->dir, ZH_MAP_DEVMAP, &ifindex, &dev) == 0;
	if (ctx->arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "ifname", json_object_new_string(name));
		json_object_object_add(o, "ifindex", json_object_new_int64(ifindex));
		json_object_object_add(o, "vni", json_object_new_int64(p->vni));
		json_object_object_add(o, "mac", json_object_new_string(mac));
		json_object_object_add(o, "ip", json_object_new_string(ip));
		json_object_object_add(o, "delivery", json_object_new_string(xdp ? "xdp" : "tc"));
		json_object_array_add(ctx->arr, o);
	} else {
		if (!ctx->rows++)
			printf("%-16s %-8s %-9s %-18s %-16s %s\n", "PORT", "IFINDEX", "VNI", "MAC",
			       "IP", "DELIVERY");
		printf("%-16s %-8u %-9u %-18s %-16s %s\n", name, ifindex, p->vni, mac, ip,
		       xdp ? "xdp" : "tc");
	}
	return 0;
}

static int show_endpoint(const void *k, const void *v, void *c)
{
	const struct zh_ep_key *key = k;
	const struct zh_endpoint *e = v;
	struct show_ctx *ctx = c;
	char ip[INET_ADDRSTRLEN], mac[18], where[64], host[INET_ADDRSTRLEN];
	uint32_t dest = e->dest_vni ? e->dest_vni : key->vni;

	ip_str(key->ip, ip);
	mac_str(e->mac, mac);
	if (e->ifindex) {
		char name[IF_NAMESIZE];

		ifname_str(e->ifindex, name);
		snprintf(where, sizeof(where), "port %s", name);
	} else {
		ip_str(e->host_ip, host);
		snprintf(where, sizeof(where), "host %s", host);
	}
	if (ctx->arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "vni", json_object_new_int64(key->vni));
		json_object_object_add(o, "ip", json_object_new_string(ip));
		json_object_object_add(o, "mac", json_object_new_string(mac));
		json_object_object_add(o, "local", json_object_new_boolean(e->ifindex != 0));
		if (e->ifindex) {
			json_object_object_add(o, "port", json_object_new_string(where + 5));
		} else {
			json_object_object_add(o, "host", json_object_new_string(host));
			json_object_object_add(o, "dest_vni", json_object_new_int64(dest));
			json_object_object_add(o, "encap", json_object_new_string(zh_encap_str(e->encap)));
		}
		json_object_array_add(ctx->arr, o);
	} else {
		if (!ctx->rows++)
			printf("%-9s %-16s %-18s %-24s %-9s %s\n", "VNI", "IP", "MAC", "AT", "DEST-VNI",
			       "ENCAP");
		printf("%-9u %-16s %-18s %-24s %-9s %s\n", key->vni, ip, mac, where,
		       e->ifindex ? "-" : (snprintf(host, sizeof(host), "%u", dest), host),
		       e->ifindex ? "-" : zh_encap_str(e->encap));
	}
	return 0;
}

static int show_route(const void *k, const void *v, void *c)
{
	const struct zh_route_key *key = k;
	const struct zh_route *r = v;
	struct show_ctx *ctx = c;
	char prefix[INET_ADDRSTRLEN + 4], ip[INET_ADDRSTRLEN], host[INET_ADDRSTRLEN];
	uint32_t dest = r->dest_vni ? r->dest_vni : key->vni;
	bool drop = r->action == ZH_ROUTE_DROP;

	ip_str(key->ip, ip);
	snprintf(prefix, sizeof(prefix), "%s/%u", ip, key->prefixlen - 32);
	ip_str(r->host_ip, host);
	if (ctx->arr) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "vni", json_object_new_int64(key->vni));
		json_object_object_add(o, "prefix", json_object_new_string(prefix));
		json_object_object_add(o, "action", json_object_new_string(drop ? "drop" : "remote"));
		if (!drop) {
			json_object_object_add(o, "host", json_object_new_string(host));
			json_object_object_add(o, "dest_vni", json_object_new_int64(dest));
			json_object_object_add(o, "encap", json_object_new_string(zh_encap_str(r->encap)));
		}
		json_object_array_add(ctx->arr, o);
	} else {
		if (!ctx->rows++)
			printf("%-9s %-19s %-7s %-16s %-9s %s\n", "VNI", "PREFIX", "ACTION", "HOST",
			       "DEST-VNI", "ENCAP");
		if (drop)
			printf("%-9u %-19s %-7s\n", key->vni, prefix, "drop");
		else
			printf("%-9u %-19s %-7s %-16s %-9u %s\n", key->vni, prefix, "remote", host, dest,
			       zh_encap_str(r->encap));
	}
	return 0;
}

static int show_policy(const void *k, const void *v, void *c)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} protos[] = {{ZH_PROTO_TCP, "tcp"}, {ZH_PROTO_UDP, "udp"}, {ZH_PROTO_ICMP, "icmp"},
		      {ZH_PROTO_OTHER, "other"}};
	struct show_ctx *ctx = c;
	struct zh_policy_entry e;
	char prefix[INET_ADDRSTRLEN + 4], ip[INET_ADDRSTRLEN], list[32];
	size_t i;

	zh_policy_decode(k, v, &e);
	ip_str(e.prefix, ip);
	snprintf(prefix, sizeof(prefix), "%s/%u", ip, e.prefix_len);
	if (ctx->arr) {
		json_object *o = json_object_new_object(), *a = json_object_new_array();

		json_object_object_add(o, "vni", json_object_new_int64(e.vni));
		json_object_object_add(o, "peer_vni", json_object_new_int64(e.peer_vni));
		json_object_object_add(o, "prefix", json_object_new_string(prefix));
		for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
			if (e.protocols & protos[i].bit)
				json_object_array_add(a, json_object_new_string(protos[i].name));
		json_object_object_add(o, "protocols", a);
		json_object_array_add(ctx->arr, o);
	} else {
		if (!ctx->rows++)
			printf("%-9s %-9s %-19s %s\n", "VNI", "PEER-VNI", "PREFIX", "PROTOCOLS");
		printf("%-9u %-9u %-19s %s\n", e.vni, e.peer_vni, prefix,
		       zh_policy_protocols_str(e.protocols, list, sizeof(list)));
	}
	return 0;
}

static int show_stats(const char *instance, bool json)
{
	struct zh_counter c[ZH_CNT_MAX];
	int err = zh_counters_read(instance, c), i;

	if (err) {
		fprintf(stderr, "zerohop: Couldn't read counters of instance '%s': %s\n", instance,
			strerror(-err));
		return ZH_EXIT_FAIL;
	}
	if (json) {
		json_object *o = json_object_new_object();

		for (i = 0; i < ZH_CNT_MAX; i++)
			json_object_object_add(o, zh_counter_name(i),
					       json_object_new_uint64(c[i].packets));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		return ZH_EXIT_OK;
	}
	printf("%-18s %12s %14s  %s\n", "COUNTER", "PACKETS", "BYTES", "MEANING");
	for (i = 0; i < ZH_CNT_MAX; i++)
		printf("%-18s %12llu %14llu  %s\n", zh_counter_name(i),
		       (unsigned long long)c[i].packets, (unsigned long long)c[i].bytes,
		       zh_counter_help(i));
	return ZH_EXIT_OK;
}

int cmd_show(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"json", no_argument, NULL, OPT_JSON},
		{},
	};
	static const struct {
		const char *what, *map;
		zh_entry_cb cb;
	} tables[] = {
		{"ports", ZH_MAP_PORTS, show_port},
		{"endpoints", ZH_MAP_ENDPOINTS, show_endpoint},
		{"routes", ZH_MAP_ROUTES, show_route},
		{"policies", ZH_MAP_POLICY, show_policy},
	};
	const char *instance = ZH_DEFAULT_INSTANCE, *what;
	struct show_ctx ctx = {0};
	bool json = false;
	size_t t;
	int opt, r, err;

	/* conflicts come from etcd, with options of their own */
	for (r = 1; r < argc; r++) {
		if (argv[r][0] == '-') {
			r += !strcmp(argv[r], "--instance");
			continue;
		}
		if (!strcmp(argv[r], "conflicts"))
			return cmd_show_conflicts(argc, argv);
		break;
	}
	while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		r = cli_common_opt(opt, "show", show_usage, &instance);
		if (r >= 2)
			return r - 2;
		if (r)
			continue;
		if (opt != OPT_JSON)
			return ZH_EXIT_USAGE;
		json = true;
	}
	if (optind >= argc)
		return cli_usage_error("show", "missing what to show: ports, endpoints, routes, "
				       "policies or stats");
	what = argv[optind++];
	if (optind < argc)
		return cli_usage_error("show", "unexpected argument '%s'", argv[optind]);
	for (t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		if (!strcmp(what, tables[t].what))
			break;
	if (t == sizeof(tables) / sizeof(tables[0]) && strcmp(what, "stats"))
		return cli_usage_error("show", "unknown table '%s': use ports, endpoints, routes, "
				       "policies or stats", what);
	if (zh_check_privileges())
		return ZH_EXIT_FAIL;
	if (!zh_instance_exists(instance)) {
		fprintf(stderr, "zerohop: instance '%s' is not attached\n", instance);
		return ZH_EXIT_FAIL;
	}
	zh_instance_dir(instance, ctx.dir, sizeof(ctx.dir));
	if (!strcmp(what, "stats"))
		return show_stats(instance, json);
	if (json)
		ctx.arr = json_object_new_array();
	err = zh_map_foreach(instance, tables[t].map, tables[t].cb, &ctx);
	if (json) {
		if (!err)
			puts(json_object_to_json_string_ext(ctx.arr, JSON_C_TO_STRING_PRETTY |
								     JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(ctx.arr);
	} else if (!err && !ctx.rows) {
		printf("no %s\n", what);
	}
	return cli_exit(err);
}
