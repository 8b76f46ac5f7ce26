// SPDX-License-Identifier: GPL-2.0-only
/* Names and help of the agent's error kinds, and the reconcile latency
 * histogram (agent/stats.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "stats.h"

/* 50 us .. 1 s: a reconcile normally takes well under a millisecond; the
 * upper buckets catch a stalled map write or a slow source.
 */
const double zh_lat_bucket_us[ZH_LAT_BUCKETS] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 250000, 1000000,
};

static const char *const error_names[] = {
#define ZH_AERR_NAME(name, help) [ZH_AERR_##name] = #name,
	ZH_AGENT_ERRORS(ZH_AERR_NAME)
#undef ZH_AERR_NAME
};

static const char *const error_help[] = {
#define ZH_AERR_HELP(name, help) [ZH_AERR_##name] = help,
	ZH_AGENT_ERRORS(ZH_AERR_HELP)
#undef ZH_AERR_HELP
};

const char *zh_agent_error_name(enum zh_agent_error e)
{
	return (unsigned int)e < ZH_AERR_MAX ? error_names[e] : NULL;
}

const char *zh_agent_error_help(enum zh_agent_error e)
{
	return (unsigned int)e < ZH_AERR_MAX ? error_help[e] : NULL;
}

void zh_agent_stats_latency(struct zh_agent_stats *st, double us)
{
	int i;

	if (us < 0)
		us = 0;
	st->lat_count++;
	st->lat_sum_us += us;
	for (i = 0; i < ZH_LAT_BUCKETS; i++)
		if (us <= zh_lat_bucket_us[i])
			st->lat_bucket[i]++;
}

void zh_agent_stats_error(struct zh_agent_stats *st, enum zh_agent_error kind, const char *fmt,
			  ...)
{
	va_list ap;

	if ((unsigned int)kind < ZH_AERR_MAX)
		st->errors[kind]++;
	va_start(ap, fmt);
	vsnprintf(st->last_error, sizeof(st->last_error), fmt, ap);
	va_end(ap);
	st->last_error_time = time(NULL);
}

void zh_agent_stats_connected(struct zh_agent_stats *st, bool connected)
{
	if (st->connected == connected && st->state_since)
		return;
	st->connected = connected;
	st->state_since = time(NULL);
}
