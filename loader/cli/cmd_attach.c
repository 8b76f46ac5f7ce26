// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "zerohop.h"

static const char attach_usage[] =
	"Usage: zerohop attach [--instance NAME] --uplink IFNAME --underlay-ip ADDR\n"
	"                      [--xdp-mode auto|native|generic|off] [--tc-mode auto|tcx|clsact]\n"
	"                      [--router-mac MAC] [--encap vxlan|geneve] [--mtu N]\n"
	"                      [--max-endpoints N] [--max-routes N] [--max-policies N] [-v|-vv]\n"
	"\n"
	"Attach xdp_uplink (XDP) and tc_uplink (TC ingress) to the uplink of instance NAME\n"
	"(default: " ZH_DEFAULT_INSTANCE "). On an attached instance, replace every program\n"
	"of the instance atomically and keep its pinned maps.\n"
	"\n"
	"  --instance NAME     instance name, 1-32 of [A-Za-z0-9_-]\n"
	"  --uplink IFNAME     the interface facing the fabric\n"
	"  --underlay-ip ADDR  this host's IPv4 address on the fabric\n"
	"  --xdp-mode MODE     auto (native, else generic), native, generic, or off\n"
	"  --tc-mode MODE      auto (tcx where the kernel has it, else clsact), tcx, clsact\n"
	"  --router-mac MAC    MAC the host answers VMs' ARP with (default 02:7a + underlay IP)\n"
	"  --encap ENCAP       default encapsulation for endpoints: vxlan (default) or geneve\n"
	"  --mtu N             uplink MTU (default: the interface's); VMs get N - 50\n"
	"  --max-endpoints N   capacity of zh_endpoints (default 65536), set on first attach\n"
	"  --max-routes N      capacity of zh_routes (default 16384), set on first attach\n"
	"  --max-policies N    capacity of zh_policy (default 16384), set on first attach\n"
	"  -v, -vv             more output; -vv includes libbpf's own messages\n";

int cmd_attach(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"uplink", required_argument, NULL, OPT_UPLINK},
		{"underlay-ip", required_argument, NULL, OPT_UNDERLAY_IP},
		{"xdp-mode", required_argument, NULL, OPT_XDP_MODE},
		{"tc-mode", required_argument, NULL, OPT_TC_MODE},
		{"router-mac", required_argument, NULL, OPT_ROUTER_MAC},
		{"mtu", required_argument, NULL, OPT_MTU},
		{"encap", required_argument, NULL, OPT_ENCAP},
		{"max-endpoints", required_argument, NULL, OPT_MAX_ENDPOINTS},
		{"max-routes", required_argument, NULL, OPT_MAX_ROUTES},
		{"max-policies", required_argument, NULL, OPT_MAX_POLICIES},
		{},
	};
	struct zh_attach_opts o = {.instance = ZH_DEFAULT_INSTANCE};
	struct zh_attach_result res;
	const char *underlay = NULL;
	int opt, r, err;

	while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		r = cli_common_opt(opt, "attach", attach_usage, &o.instance);
		if (r >= 2)
			return r - 2;
		if (r)
			continue;
		switch (opt) {
		case OPT_UPLINK:
			o.uplink = optarg;
			break;
		case OPT_UNDERLAY_IP:
			underlay = optarg;
			break;
		case OPT_XDP_MODE:
			if (zh_parse_xdp_request(optarg, &o.xdp))
				return cli_usage_error("attach", "invalid --xdp-mode '%s': use auto, native, generic or off", optarg);
			break;
		case OPT_TC_MODE:
			if (zh_parse_tc_request(optarg, &o.tc))
				return cli_usage_error("attach", "invalid --tc-mode '%s': use auto, tcx or clsact", optarg);
			break;
		case OPT_ROUTER_MAC:
			if (zh_parse_mac(optarg, o.router_mac))
				return cli_usage_error("attach", "invalid --router-mac '%s': need a unicast MAC like 02:00:00:00:00:01", optarg);
			o.has_router_mac = true;
			break;
		case OPT_MTU:
			if (zh_parse_u32(optarg, 576, 65535, &o.mtu))
				return cli_usage_error("attach", "invalid --mtu '%s': need a number from 576 to 65535", optarg);
			break;
		case OPT_MAX_ENDPOINTS:
			if (zh_parse_u32(optarg, 1, 1u << 26, &o.sizes.endpoints))
				return cli_usage_error("attach", "invalid --max-endpoints '%s': need a number from 1 to %u", optarg, 1u << 26);
			break;
		case OPT_MAX_ROUTES:
			if (zh_parse_u32(optarg, 1, 1u << 24, &o.sizes.routes))
				return cli_usage_error("attach", "invalid --max-routes '%s': need a number from 1 to %u", optarg, 1u << 24);
			break;
		case OPT_MAX_POLICIES:
			if (zh_parse_u32(optarg, 1, 1u << 24, &o.sizes.policies))
				return cli_usage_error("attach", "invalid --max-policies '%s': need a number from 1 to %u", optarg, 1u << 24);
			break;
		case OPT_ENCAP:
			if (cli_opt_encap("attach", optarg, &o.encap))
				return ZH_EXIT_USAGE;
			break;
		default:
			return ZH_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage_error("attach", "unexpected argument '%s'", argv[optind]);
	if (!o.uplink)
		return cli_usage_error("attach", "--uplink IFNAME is required");
	if (!underlay)
		return cli_usage_error("attach", "--underlay-ip ADDR is required");
	if (zh_parse_ipv4(underlay, &o.underlay_ip) || zh_check_unicast_ipv4(o.underlay_ip))
		return cli_usage_error("attach", "invalid --underlay-ip '%s': need a unicast IPv4 address like 198.18.0.1", underlay);
	err = zh_attach(&o, &res);
	if (!err)
		printf("%s instance '%s' on %s (xdp %s, tc %s)\n",
		       res.replaced ? "replaced programs of" : "attached", o.instance, o.uplink,
		       zh_xdp_mode_str(res.xdp_mode), zh_tc_mode_str(res.tc_mode));
	return cli_exit(err);
}
