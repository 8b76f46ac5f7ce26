// SPDX-License-Identifier: GPL-2.0-only
/* zerohop-agent --config FILE [-v|-vv]: the on-host controller. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"

static const char usage_text[] =
	"Usage: zerohop-agent --config FILE [-v|-vv] [--check]\n"
	"       zerohop-agent -V|--version | -h|--help\n"
	"\n"
	"Keeps the pinned maps of a zerohop instance equal to this host's programming\n"
	"from the controller store (etcd) or a local intent file.\n"
	"\n"
	"  -c, --config FILE   the agent's JSON configuration (docs/agent.md)\n"
	"  -v, --verbose       info messages; -vv also debug and libbpf messages\n"
	"      --check         check the configuration and exit\n"
	"  -V, --version       print the version and exit\n"
	"  -h, --help          print this help and exit\n"
	"\n"
	"SIGTERM/SIGINT stop the agent (the data plane stays attached and forwarding);\n"
	"SIGHUP lists the source again (a full resync).\n";

enum { OPT_CHECK = 256 };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"verbose", no_argument, NULL, 'v'},
		{"check", no_argument, NULL, OPT_CHECK},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{},
	};
	struct zh_agent_config cfg;
	struct zh_agent agent;
	const char *config = NULL;
	char err[512];
	int opt, verbose = 0, rc;
	bool check = false;

	zh_log_set_prefix("zerohop-agent");
	while ((opt = getopt_long(argc, argv, "c:vVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case OPT_CHECK:
			check = true;
			break;
		case 'V':
			printf("zerohop-agent %s\n", ZH_VERSION);
			return 0;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			fprintf(stderr, "Run 'zerohop-agent --help' for the options.\n");
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "zerohop-agent: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return 1;
	}
	if (!config) {
		fprintf(stderr, "zerohop-agent: --config FILE is required (see --help)\n");
		return 1;
	}
	zh_log_set_level(verbose);
	if (zh_agent_config_load(config, &cfg, err, sizeof(err))) {
		fprintf(stderr, "zerohop-agent: %s: %s\n", config, err);
		return 1;
	}
	if (check) {
		printf("%s: ok\n", config);
		zh_agent_config_free(&cfg);
		return 0;
	}
	rc = zh_agent_init(&agent, &cfg);
	zh_agent_config_free(&cfg);
	if (!rc)
		rc = zh_agent_run(&agent);
	zh_agent_fini(&agent);
	return rc ? 1 : 0;
}
