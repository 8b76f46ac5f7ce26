// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "zerohop.h"

static const char policy_usage[] =
	"Usage: zerohop policy add [--instance NAME] --vni N --peer-vni M --prefix CIDR\n"
	"                          [--protocols LIST]\n"
	"       zerohop policy del [--instance NAME] --vni N --peer-vni M --prefix CIDR\n"
	"\n"
	"add: network N exports CIDR to peer network M: M's VMs may reach the addresses of\n"
	"     N inside CIDR with the protocols in LIST, a comma-separated list of tcp, udp,\n"
	"     icmp and other (any other IP protocol), or any (the default). Packets between\n"
	"     two networks need such an entry of the destination's network toward the\n"
	"     source's; the sending and the receiving host both check (drop_policy).\n"
	"     Traffic within one VNI is never checked. Adding the same N, M and CIDR\n"
	"     again replaces its protocols.\n"
	"del: remove it.\n";

int cmd_policy(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"vni", required_argument, NULL, OPT_VNI},
		{"peer-vni", required_argument, NULL, OPT_PEER_VNI},
		{"prefix", required_argument, NULL, OPT_PREFIX},
		{"protocols", required_argument, NULL, OPT_PROTOCOLS},
		{},
	};
	const char *instance = ZH_DEFAULT_INSTANCE, *sub;
	uint32_t vni = 0, peer_vni = 0, prefix = 0, protocols = ZH_PROTO_ANY;
	bool has_prefix = false, has_protocols = false;
	uint8_t prefix_len = 0;
	int opt, r, err;

	while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		r = cli_common_opt(opt, "policy", policy_usage, &instance);
		if (r >= 2)
			return r - 2;
		if (r)
			continue;
		switch (opt) {
		case OPT_VNI:
			if (cli_opt_vni("policy", "--vni", optarg, &vni))
				return ZH_EXIT_USAGE;
			break;
		case OPT_PEER_VNI:
			if (cli_opt_vni("policy", "--peer-vni", optarg, &peer_vni))
				return ZH_EXIT_USAGE;
			break;
		case OPT_PREFIX:
			if (zh_parse_prefix(optarg, &prefix, &prefix_len))
				return cli_usage_error("policy", "invalid --prefix '%s': need a.b.c.d/len "
						       "with the host bits zero, like 10.1.0.0/16",
						       optarg);
			has_prefix = true;
			break;
		case OPT_PROTOCOLS:
			if (zh_parse_protocols(optarg, &protocols))
				return cli_usage_error("policy", "invalid --protocols '%s': use a "
						       "comma-separated list of tcp, udp, icmp, other, "
						       "or any", optarg);
			has_protocols = true;
			break;
		default:
			return ZH_EXIT_USAGE;
		}
	}
	r = cli_add_or_del("policy", argc, argv, false, &sub);
	if (r)
		return r;
	if (!vni)
		return cli_missing("policy", "--vni N");
	if (!peer_vni)
		return cli_missing("policy", "--peer-vni M");
	if (!has_prefix)
		return cli_missing("policy", "--prefix CIDR");
	if (vni == peer_vni)
		return cli_usage_error("policy", "--vni and --peer-vni are both %u: a network needs "
				       "no policy toward itself", vni);
	if (!strcmp(sub, "del")) {
		if (has_protocols)
			return cli_usage_error("policy", "policy del takes no --protocols");
		err = zh_policy_del(instance, vni, peer_vni, prefix, prefix_len);
		if (!err)
			printf("policy removed\n");
		return cli_exit(err);
	}
	err = zh_policy_add(instance, vni, peer_vni, prefix, prefix_len, protocols);
	if (!err)
		printf("policy added\n");
	return cli_exit(err);
}
