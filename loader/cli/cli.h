/* SPDX-License-Identifier: GPL-2.0-only */
/* The zerohop command line: one file per command, a table in main.c. */
#ifndef ZH_CLI_H
#define ZH_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "zh_shared.h"

/* Exit codes: 0 done, 1 failed, 2 bad usage. */
#define ZH_EXIT_OK    0
#define ZH_EXIT_FAIL  1
#define ZH_EXIT_USAGE 2

struct cli_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int cmd_attach(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_port(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_endpoint(int argc, char **argv);
int cmd_route(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_apply(int argc, char **argv);
/* zerohop show conflicts (cmd_conflicts.c), reached through cmd_show. */
int cmd_show_conflicts(int argc, char **argv);

/* Option parsers shared by commands: on bad input they print the one-line
 * usage error and return 2 (ZH_EXIT_USAGE), else 0.
 */
int cli_opt_vni(const char *cmd, const char *opt, const char *arg, uint32_t *vni);
int cli_opt_ipv4(const char *cmd, const char *opt, const char *arg, uint32_t *ip);
/* A unicast host address (VM, endpoint, underlay host). */
int cli_opt_host_ipv4(const char *cmd, const char *opt, const char *arg, uint32_t *ip);
int cli_opt_mac(const char *cmd, const char *opt, const char *arg, uint8_t mac[6]);
int cli_opt_encap(const char *cmd, const char *arg, enum zh_encap *encap);
/* A required option that was not given: usage error naming it. */
int cli_missing(const char *cmd, const char *what);

/* Options every command takes, with getopt_long ids. */
enum {
	OPT_HELP = 'h',
	OPT_VERBOSE = 'v',
	OPT_INSTANCE = 0x100,
	OPT_JSON,
	OPT_UPLINK,
	OPT_UNDERLAY_IP,
	OPT_XDP_MODE,
	OPT_TC_MODE,
	OPT_ROUTER_MAC,
	OPT_MTU,
	OPT_ENCAP,
	OPT_VNI,
	OPT_MAC,
	OPT_IP,
	OPT_HOST,
	OPT_DEST_VNI,
	OPT_PREFIX,
	OPT_DROP,
	OPT_MAX_ENDPOINTS,
	OPT_MAX_ROUTES,
	OPT_PEER_VNI,
	OPT_PROTOCOLS,
	OPT_MAX_POLICIES,
};

#define CLI_COMMON_LONGOPTS                                                                \
	{"help", no_argument, NULL, OPT_HELP}, {"verbose", no_argument, NULL, OPT_VERBOSE}, \
	{                                                                                  \
		"instance", required_argument, NULL, OPT_INSTANCE                          \
	}

/* Handle -v/-h/--instance; returns 1 if handled, 0 if not, or an exit code
 * + 2 (>= 2) when the command should stop (help printed).
 */
int cli_common_opt(int opt, const char *cmd, const char *usage, const char **instance);
/* One line "zerohop CMD: message" and a pointer to --help; returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_print_usage(const char *usage);
/* After the options: the subcommand "add" or "del" at argv[optind] into
 * *SUB (optind moves past it), and, unless ARGS_FOLLOW, nothing after it.
 * 0, or the usage error's exit code.
 */
int cli_add_or_del(const char *cmd, int argc, char **argv, bool args_follow, const char **sub);
/* -errno from the library -> exit code (the library already said why). */
int cli_exit(int err);

#endif /* ZH_CLI_H */
