// SPDX-License-Identifier: GPL-2.0-only
/* zerohop COMMAND [options]: the operator front end of the loader library. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "parse.h"

static const struct cli_cmd commands[] = {
	{"attach", cmd_attach, "attach the data plane to an uplink, or replace it"},
	{"port", cmd_port, "add or remove a VM port (tc_port)"},
	{"endpoint", cmd_endpoint, "add or remove a remote or peer endpoint"},
	{"route", cmd_route, "add or remove a prefix route in a VNI"},
	{"policy", cmd_policy, "add or remove an export policy of a peering"},
	{"show", cmd_show, "show ports, endpoints, routes, counters or route conflicts"},
	{"status", cmd_status, "show interfaces, programs, maps, features, counters"},
	{"detach", cmd_detach, "detach an instance and remove its pins"},
	{"apply", cmd_apply, "write an intent file's networks, hosts and ports to etcd"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: zerohop [-v|-vv] COMMAND [options]\n"
		     "       zerohop -V|--version | -h|--help\n\nCommands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nRun 'zerohop COMMAND --help' for a command's options.\n"
		     "Instances live under /sys/fs/bpf/zerohop/<instance>/ "
		     "(ZEROHOP_BPFFS overrides /sys/fs/bpf).\n");
}

void cli_print_usage(const char *text)
{
	fputs(text, stdout);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zerohop %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'zerohop %s --help')\n", cmd);
	return ZH_EXIT_USAGE;
}

int cli_add_or_del(const char *cmd, int argc, char **argv, bool args_follow, const char **sub)
{
	if (optind >= argc)
		return cli_usage_error(cmd, "missing subcommand: add or del");
	*sub = argv[optind++];
	if (strcmp(*sub, "add") && strcmp(*sub, "del"))
		return cli_usage_error(cmd, "unknown subcommand '%s': use add or del", *sub);
	if (!args_follow && optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return 0;
}

int cli_common_opt(int opt, const char *cmd, const char *text, const char **instance)
{
	switch (opt) {
	case OPT_HELP:
		cli_print_usage(text);
		return 2 + ZH_EXIT_OK;
	case OPT_VERBOSE:
		zh_log_set_level(zh_log_get_level() + 1);
		return 1;
	case OPT_INSTANCE:
		if (zh_check_instance_name(optarg)) {
			cli_usage_error(cmd, "invalid instance name '%s': use 1-%d characters of "
					"[A-Za-z0-9_-]", optarg, ZH_INSTANCE_NAME_MAX);
			return 2 + ZH_EXIT_USAGE;
		}
		*instance = optarg;
		return 1;
	case '?':
		/* getopt already printed what was wrong, on one line */
		return 2 + ZH_EXIT_USAGE;
	}
	return 0;
}

int cli_opt_vni(const char *cmd, const char *opt, const char *arg, uint32_t *vni)
{
	if (zh_parse_u32(arg, 1, ZH_VNI_MAX, vni))
		return cli_usage_error(cmd, "invalid %s '%s': need a VNI from 1 to %u", opt, arg,
				       ZH_VNI_MAX);
	return 0;
}

int cli_opt_ipv4(const char *cmd, const char *opt, const char *arg, uint32_t *ip)
{
	if (zh_parse_ipv4(arg, ip))
		return cli_usage_error(cmd, "invalid %s '%s': need an IPv4 address like 10.0.0.1",
				       opt, arg);
	return 0;
}

int cli_opt_host_ipv4(const char *cmd, const char *opt, const char *arg, uint32_t *ip)
{
	if (zh_parse_ipv4(arg, ip) || zh_check_unicast_ipv4(*ip))
		return cli_usage_error(cmd, "invalid %s '%s': need a unicast IPv4 address like "
				       "10.0.0.1", opt, arg);
	return 0;
}

int cli_opt_mac(const char *cmd, const char *opt, const char *arg, uint8_t mac[6])
{
	if (zh_parse_mac(arg, mac))
		return cli_usage_error(cmd, "invalid %s '%s': need a unicast MAC like "
				       "02:00:00:00:00:01", opt, arg);
	return 0;
}

int cli_opt_encap(const char *cmd, const char *arg, enum zh_encap *encap)
{
	if (zh_parse_encap(arg, encap))
		return cli_usage_error(cmd, "invalid --encap '%s': use vxlan or geneve", arg);
	return 0;
}

int cli_missing(const char *cmd, const char *what)
{
	return cli_usage_error(cmd, "%s is required", what);
}

int cli_exit(int err)
{
	return err ? ZH_EXIT_FAIL : ZH_EXIT_OK;
}

int main(int argc, char **argv)
{
	int verbose = 0, i = 1;
	size_t c;

	zh_log_set_prefix("zerohop");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose++;
		} else if (!strcmp(argv[i], "-vv")) {
			verbose += 2;
		} else if (!strcmp(argv[i], "--version") || !strcmp(argv[i], "-V")) {
			printf("zerohop %s\n", ZH_VERSION);
			return ZH_EXIT_OK;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return ZH_EXIT_OK;
		} else {
			fprintf(stderr, "zerohop: unknown option '%s' (see 'zerohop --help')\n",
				argv[i]);
			return ZH_EXIT_USAGE;
		}
	}
	zh_log_set_level(verbose);
	if (i >= argc) {
		usage(stderr);
		return ZH_EXIT_USAGE;
	}
	for (c = 0; c < N_COMMANDS; c++) {
		if (!strcmp(argv[i], commands[c].name)) {
			char prog[64];

			/* getopt's own messages then read "zerohop CMD: ...". */
			snprintf(prog, sizeof(prog), "zerohop %s", commands[c].name);
			argv[i] = prog;
			optind = 0;
			return commands[c].run(argc - i, argv + i);
		}
	}
	fprintf(stderr, "zerohop: unknown command '%s' (see 'zerohop --help')\n", argv[i]);
	return ZH_EXIT_USAGE;
}
