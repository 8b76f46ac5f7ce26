// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "zerohop.h"

static const char route_usage[] =
	"Usage: zerohop route add [--instance NAME] --vni N --prefix CIDR\n"
	"                         (--host UNDERLAY_ADDR [--dest-vni M] [--encap vxlan|geneve] | --drop)\n"
	"       zerohop route del [--instance NAME] --vni N --prefix CIDR\n"
	"\n"
	"add: VMs in VNI N reach CIDR (when no exact endpoint matches; longest prefix wins)\n"
	"     by encapsulation to UNDERLAY_ADDR, with VNI M for a peer network's prefix;\n"
	"     or --drop: such packets are dropped (drop_no_route).\n"
	"del: remove it.\n";

int cmd_route(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"vni", required_argument, NULL, OPT_VNI},
		{"prefix", required_argument, NULL, OPT_PREFIX},
		{"host", required_argument, NULL, OPT_HOST},
		{"dest-vni", required_argument, NULL, OPT_DEST_VNI},
		{"encap", required_argument, NULL, OPT_ENCAP},
		{"drop", no_argument, NULL, OPT_DROP},
		{},
	};
	const char *instance = ZH_DEFAULT_INSTANCE, *sub;
	struct zh_route_opts o = {0};
	bool vni = false, prefix = false, host = false, extra = false;
	int opt, r, err;

	while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		r = cli_common_opt(opt, "route", route_usage, &instance);
		if (r >= 2)
			return r - 2;
		if (r)
			continue;
		switch (opt) {
		case OPT_VNI:
			if (cli_opt_vni("route", "--vni", optarg, &o.vni))
				return ZH_EXIT_USAGE;
			vni = true;
			break;
		case OPT_PREFIX:
			if (zh_parse_prefix(optarg, &o.prefix, &o.prefix_len))
				return cli_usage_error("route", "invalid --prefix '%s': need a.b.c.d/len "
						       "with the host bits zero, like 10.1.0.0/16",
						       optarg);
			prefix = true;
			break;
		case OPT_HOST:
			if (cli_opt_host_ipv4("route", "--host", optarg, &o.host_ip))
				return ZH_EXIT_USAGE;
			host = extra = true;
			break;
		case OPT_DEST_VNI:
			if (cli_opt_vni("route", "--dest-vni", optarg, &o.dest_vni))
				return ZH_EXIT_USAGE;
			extra = true;
			break;
		case OPT_ENCAP:
			if (cli_opt_encap("route", optarg, &o.encap))
				return ZH_EXIT_USAGE;
			extra = true;
			break;
		case OPT_DROP:
			o.drop = extra = true;
			break;
		default:
			return ZH_EXIT_USAGE;
		}
	}
	r = cli_add_or_del("route", argc, argv, false, &sub);
	if (r)
		return r;
	if (!vni)
		return cli_missing("route", "--vni N");
	if (!prefix)
		return cli_missing("route", "--prefix CIDR");
	if (!strcmp(sub, "del")) {
		if (extra)
			return cli_usage_error("route", "route del takes only --vni and --prefix");
		err = zh_route_del(instance, o.vni, o.prefix, o.prefix_len);
		if (!err)
			printf("route removed\n");
		return cli_exit(err);
	}
	if (o.drop && (host || o.dest_vni || o.encap))
		return cli_usage_error("route", "--drop takes no --host, --dest-vni or --encap");
	if (!o.drop && !host)
		return cli_missing("route", "--host UNDERLAY_ADDR or --drop");
	err = zh_route_add(instance, &o);
	if (!err)
		printf("route added\n");
	return cli_exit(err);
}
