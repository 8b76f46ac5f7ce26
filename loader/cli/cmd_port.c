// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "zerohop.h"

static const char port_usage[] =
	"Usage: zerohop port add [--instance NAME] IFNAME [-v|-vv]\n"
	"       zerohop port del [--instance NAME] IFNAME [-v|-vv]\n"
	"\n"
	"add: attach tc_port (TC ingress) to the host side of a VM port of instance NAME\n"
	"     (default: " ZH_DEFAULT_INSTANCE "); re-running it replaces the program.\n"
	"del: detach it.\n";

int cmd_port(int argc, char **argv)
{
	static const struct option longopts[] = {CLI_COMMON_LONGOPTS, {}};
	const char *instance = ZH_DEFAULT_INSTANCE, *sub, *ifname;
	int opt, r, err;

	while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		r = cli_common_opt(opt, "port", port_usage, &instance);
		if (r >= 2)
			return r - 2;
		if (!r)
			return ZH_EXIT_USAGE;
	}
	if (optind >= argc)
		return cli_usage_error("port", "missing subcommand: add or del");
	sub = argv[optind++];
	if (strcmp(sub, "add") && strcmp(sub, "del"))
		return cli_usage_error("port", "unknown subcommand '%s': use add or del", sub);
	if (optind >= argc)
		return cli_usage_error("port", "%s needs an interface name", sub);
	ifname = argv[optind++];
	if (optind < argc)
		return cli_usage_error("port", "unexpected argument '%s'", argv[optind]);
	if (!strcmp(sub, "add")) {
		err = zh_port_add(instance, ifname);
		if (!err)
			printf("port %s attached to instance '%s'\n", ifname, instance);
	} else {
		err = zh_port_del(instance, ifname);
		if (!err)
			printf("port %s detached from instance '%s'\n", ifname, instance);
	}
	return cli_exit(err);
}
