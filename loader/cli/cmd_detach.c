// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "zerohop.h"

static const char detach_usage[] =
	"Usage: zerohop detach [--instance NAME] [-v|-vv]\n"
	"\n"
	"Detach every program of instance NAME (default: " ZH_DEFAULT_INSTANCE ") from its\n"
	"interfaces and remove its pins. An instance that is not attached is not an error.\n";

int cmd_detach(int argc, char **argv)
{
	static const struct option longopts[] = {CLI_COMMON_LONGOPTS, {}};
	const char *instance = ZH_DEFAULT_INSTANCE;
	int opt, r, err;

	while ((opt = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		r = cli_common_opt(opt, "detach", detach_usage, &instance);
		if (r >= 2)
			return r - 2;
		if (!r)
			return ZH_EXIT_USAGE;
	}
	if (optind < argc)
		return cli_usage_error("detach", "unexpected argument '%s'", argv[optind]);
	err = zh_detach(instance);
	if (err == -ENOENT) {
		printf("instance '%s' is not attached\n", instance);
		return ZH_EXIT_OK;
	}
	if (!err)
		printf("detached instance '%s'\n", instance);
	return cli_exit(err);
}
