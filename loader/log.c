// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>

#include <bpf/libbpf.h>

#include "log.h"

static int log_level;
static const char *log_prefix = "zerohop";

void zh_log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

/* libbpf's messages are one level below ours: with -vv only, so that a
 * failure shows the one line zerohop prints and the detail on request.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (log_level < ZH_LOG_DEBUG)
		return 0;
	(void)level;
	fprintf(stderr, "libbpf: ");
	return vfprintf(stderr, fmt, args);
}

void zh_log_set_level(int level)
{
	log_level = level;
	libbpf_set_print(libbpf_print);
}

int zh_log_get_level(void)
{
	return log_level;
}

void zh_log(enum zh_log_level level, const char *fmt, ...)
{
	va_list args;

	if ((int)level > log_level)
		return;
	fprintf(stderr, "%s: ", log_prefix);
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
}
