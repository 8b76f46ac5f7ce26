// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "zerohop.h"

static const char port_usage[] =
	"Usage: zerohop port add [--instance NAME] IFNAME --vni N --mac MAC --ip ADDR [-v|-vv]\n"
	"       zerohop port del [--instance NAME] IFNAME [-v|-vv]\n"
	"\n"
	"add: make IFNAME (the host side of a VM's veth or tap) a VM port of instance NAME\n"
	"     (default: " ZH_DEFAULT_INSTANCE "): the VM with MAC and IPv4 ADDR in VNI N becomes a\n"
	"     local endpoint, tc_port is attached, and frames with another source MAC or\n"
	"     address are dropped (drop_spoof). Re-running it updates the port and replaces\n"
	"     the program.\n"
	"del: detach tc_port and remove the port and its endpoint.\n";

int cmd_port(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"vni", required_argument, NULL, OPT_VNI},
		{"mac", required_argument, NULL, OPT_MAC},
		{"ip", required_argument, NULL, OPT_IP},
		{},
	};
	const char *instance = ZH_DEFAULT_INSTANCE, *sub, *ifname;
	struct zh_port_opts p = {0};
	bool vni = false, mac = false, ip = false;
	int opt, r, err;

	while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		r = cli_common_opt(opt, "port", port_usage, &instance);
		if (r >= 2)
			return r - 2;
		if (r)
			continue;
		switch (opt) {
		case OPT_VNI:
			if (cli_opt_vni("port", "--vni", optarg, &p.vni))
				return ZH_EXIT_USAGE;
			vni = true;
			break;
		case OPT_MAC:
			if (cli_opt_mac("port", "--mac", optarg, p.mac))
				return ZH_EXIT_USAGE;
			mac = true;
			break;
		case OPT_IP:
			if (cli_opt_host_ipv4("port", "--ip", optarg, &p.ip))
				return ZH_EXIT_USAGE;
			ip = true;
			break;
		default:
			return ZH_EXIT_USAGE;
		}
	}
	r = cli_add_or_del("port", argc, argv, true, &sub);
	if (r)
		return r;
	if (optind >= argc)
		return cli_usage_error("port", "%s needs an interface name", sub);
	ifname = argv[optind++];
	if (optind < argc)
		return cli_usage_error("port", "unexpected argument '%s'", argv[optind]);

	if (!strcmp(sub, "del")) {
		if (vni || mac || ip)
			return cli_usage_error("port", "port del takes only the interface name");
		err = zh_port_del(instance, ifname);
		if (!err)
			printf("port %s detached from instance '%s'\n", ifname, instance);
		return cli_exit(err);
	}
	if (!vni)
		return cli_missing("port", "--vni N");
	if (!mac)
		return cli_missing("port", "--mac MAC");
	if (!ip)
		return cli_missing("port", "--ip ADDR");
	err = zh_port_add(instance, ifname, &p);
	if (!err)
		printf("port %s attached to instance '%s' (vni %u)\n", ifname, instance, p.vni);
	return cli_exit(err);
}
