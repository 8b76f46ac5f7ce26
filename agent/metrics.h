/* SPDX-License-Identifier: GPL-2.0-only */
/* The agent's metrics in the Prometheus text format (version 0.0.4).
 * Every metric is listed in docs/metrics.md.
 */
#ifndef ZH_METRICS_H
#define ZH_METRICS_H

#include <stdio.h>

#include "stats.h"

/* Everything: the agent's own metrics, then the maps and data-plane
 * counters of st->instance read through the loader library. When that
 * instance is not attached (or cannot be read) only
 * zerohop_datapath_attached 0 stands for it. 0 or -errno.
 */
int zh_metrics_render(FILE *out, const struct zh_agent_stats *st);

/* The two parts on their own. */
int zh_metrics_render_agent(FILE *out, const struct zh_agent_stats *st);
int zh_metrics_render_instance(FILE *out, const char *instance);

/* zh_metrics_render as a zh_httpd_render_fn: ctx is the
 * const struct zh_agent_stats *.
 */
int zh_metrics_httpd_render(FILE *out, void *ctx);

/* Label value escaping of the text format: \ -> \\, " -> \", newline -> \n. */
void zh_metrics_label_value(FILE *out, const char *s);

#endif /* ZH_METRICS_H */
