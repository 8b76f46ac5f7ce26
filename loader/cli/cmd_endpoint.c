// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "zerohop.h"

static const char endpoint_usage[] =
	"Usage: zerohop endpoint add [--instance NAME] --vni N --ip ADDR --mac MAC\n"
	"                            --host UNDERLAY_ADDR [--dest-vni M] [--encap vxlan|geneve]\n"
	"       zerohop endpoint del [--instance NAME] --vni N --ip ADDR\n"
	"\n"
	"add: VMs in VNI N reach ADDR (MAC) by encapsulation to the host UNDERLAY_ADDR. With\n"
	"     --dest-vni M the endpoint lives in peer network M: packets leave with VNI M,\n"
	"     straight to its host (proxyless peering), and M's traffic from ADDR passes this\n"
	"     host's reverse-path check in VNI N.\n"
	"del: remove it.\n";

int cmd_endpoint(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"vni", required_argument, NULL, OPT_VNI},
		{"ip", required_argument, NULL, OPT_IP},
		{"mac", required_argument, NULL, OPT_MAC},
		{"host", required_argument, NULL, OPT_HOST},
		{"dest-vni", required_argument, NULL, OPT_DEST_VNI},
		{"encap", required_argument, NULL, OPT_ENCAP},
		{},
	};
	const char *instance = ZH_DEFAULT_INSTANCE, *sub;
	struct zh_endpoint_opts o = {0};
	bool vni = false, ip = false, mac = false, host = false, extra = false;
	int opt, r, err;

	while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		r = cli_common_opt(opt, "endpoint", endpoint_usage, &instance);
		if (r >= 2)
			return r - 2;
		if (r)
			continue;
		switch (opt) {
		case OPT_VNI:
			if (cli_opt_vni("endpoint", "--vni", optarg, &o.vni))
				return ZH_EXIT_USAGE;
			vni = true;
			break;
		case OPT_IP:
			if (cli_opt_host_ipv4("endpoint", "--ip", optarg, &o.ip))
				return ZH_EXIT_USAGE;
			ip = true;
			break;
		case OPT_MAC:
			if (cli_opt_mac("endpoint", "--mac", optarg, o.mac))
				return ZH_EXIT_USAGE;
			mac = extra = true;
			break;
		case OPT_HOST:
			if (cli_opt_host_ipv4("endpoint", "--host", optarg, &o.host_ip))
				return ZH_EXIT_USAGE;
			host = extra = true;
			break;
		case OPT_DEST_VNI:
			if (cli_opt_vni("endpoint", "--dest-vni", optarg, &o.dest_vni))
				return ZH_EXIT_USAGE;
			extra = true;
			break;
		case OPT_ENCAP:
			if (cli_opt_encap("endpoint", optarg, &o.encap))
				return ZH_EXIT_USAGE;
			extra = true;
			break;
		default:
			return ZH_EXIT_USAGE;
		}
	}
	r = cli_add_or_del("endpoint", argc, argv, false, &sub);
	if (r)
		return r;
	if (!vni)
		return cli_missing("endpoint", "--vni N");
	if (!ip)
		return cli_missing("endpoint", "--ip ADDR");
	if (!strcmp(sub, "del")) {
		if (extra)
			return cli_usage_error("endpoint", "endpoint del takes only --vni and --ip");
		err = zh_endpoint_del(instance, o.vni, o.ip);
		if (!err)
			printf("endpoint removed\n");
		return cli_exit(err);
	}
	if (!mac)
		return cli_missing("endpoint", "--mac MAC");
	if (!host)
		return cli_missing("endpoint", "--host UNDERLAY_ADDR");
	err = zh_endpoint_add(instance, &o);
	if (!err)
		printf("endpoint added\n");
	return cli_exit(err);
}
