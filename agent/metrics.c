// SPDX-License-Identifier: GPL-2.0-only
/* Prometheus text format (version 0.0.4) of the agent's stats and of its
 * instance's maps and data-plane counters. docs/metrics.md lists every
 * metric; keep the two in step.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "zerohop.h"

void zh_metrics_label_value(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

/* HELP text escaping: only backslash and newline. */
static void help_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s ", name);
	help_text(out, help);
	fprintf(out, "\n# TYPE %s %s\n", name, type);
}

/* name{label="value"} as the start of a sample line. */
static void labelled(FILE *out, const char *name, const char *label, const char *value)
{
	fprintf(out, "%s{%s=\"", name, label);
	zh_metrics_label_value(out, value);
	fputs("\"} ", out);
}

static void u64_sample(FILE *out, const char *name, const char *type, const char *help,
		       uint64_t v)
{
	family(out, name, type, help);
	fprintf(out, "%s %llu\n", name, (unsigned long long)v);
}

/* A bucket bound in seconds as the shortest plain decimal: 0.00005, 1. */
static void seconds_str(double us, char *buf, size_t len)
{
	char *p;

	snprintf(buf, len, "%.6f", us / 1e6);
	p = buf + strlen(buf) - 1;
	while (*p == '0')
		*p-- = 0;
	if (*p == '.')
		*p = 0;
}

/* name{network="a",peer="b"[,kind="k"]} as the start of a sample line. */
static void peer_labelled(FILE *out, const char *name, const struct zh_agent_peer_stat *p,
			  const char *kind)
{
	fprintf(out, "%s{network=\"", name);
	zh_metrics_label_value(out, p->network);
	fputs("\",peer=\"", out);
	zh_metrics_label_value(out, p->peer);
	if (kind)
		fprintf(out, "\",kind=\"%s", kind);
	fputs("\"} ", out);
}

/* Peerings of the programmed networks: one series per peering. */
static void render_peers(FILE *out, const struct zh_agent_stats *st)
{
	static const char *const states[] = {"active", "one-sided", "listing", "not-published",
					      "vni-clash", "unknown"};
	uint32_t i, n;
	size_t k;

	family(out, "zerohop_agent_peerings", "gauge",
	       "Peerings of the networks programmed on this host, by state (active: both sides "
	       "configured and the peer's view programmed).");
	for (k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		for (i = n = 0; i < st->n_peers; i++)
			n += !strcmp(st->peers[i].state, states[k]);
		fprintf(out, "zerohop_agent_peerings{state=\"%s\"} %u\n", states[k], n);
	}
	family(out, "zerohop_agent_peer_connected", "gauge",
	       "1 while the peer's shard answers the agent's watches of the peering, else 0.");
	for (i = 0; i < st->n_peers; i++) {
		peer_labelled(out, "zerohop_agent_peer_connected", &st->peers[i], NULL);
		fprintf(out, "%d\n", st->peers[i].connected ? 1 : 0);
	}
	family(out, "zerohop_agent_peer_active", "gauge",
	       "1 while the peering is programmed (both sides configured, the peer's view read).");
	for (i = 0; i < st->n_peers; i++) {
		peer_labelled(out, "zerohop_agent_peer_active", &st->peers[i], NULL);
		fprintf(out, "%d\n", st->peers[i].active ? 1 : 0);
	}
	family(out, "zerohop_agent_peer_entries", "gauge",
	       "Map entries a peering programs, by kind (endpoints, routes, policies).");
	for (i = 0; i < st->n_peers; i++) {
		peer_labelled(out, "zerohop_agent_peer_entries", &st->peers[i], "endpoints");
		fprintf(out, "%u\n", st->peers[i].endpoints);
		peer_labelled(out, "zerohop_agent_peer_entries", &st->peers[i], "routes");
		fprintf(out, "%u\n", st->peers[i].routes);
		peer_labelled(out, "zerohop_agent_peer_entries", &st->peers[i], "policies");
		fprintf(out, "%u\n", st->peers[i].policies);
	}
}

int zh_metrics_render_agent(FILE *out, const struct zh_agent_stats *st)
{
	char le[32];
	int i;

	family(out, "zerohop_agent_info", "gauge",
	       "Always 1; the labels name the agent's version, instance and host.");
	fputs("zerohop_agent_info{version=\"", out);
	zh_metrics_label_value(out, ZH_VERSION);
	fputs("\",zerohop_instance=\"", out);
	zh_metrics_label_value(out, st->instance);
	fputs("\",host=\"", out);
	zh_metrics_label_value(out, st->host);
	fputs("\"} 1\n", out);
	u64_sample(out, "zerohop_agent_start_time_seconds", "gauge",
		   "When the agent started, in seconds since the Unix epoch.", st->started);

	family(out, "zerohop_agent_source_connected", "gauge",
	       "1 while the agent has a working connection to its source (etcd or file), else 0.");
	labelled(out, "zerohop_agent_source_connected", "source", st->source);
	fprintf(out, "%d\n", st->connected ? 1 : 0);
	family(out, "zerohop_agent_source_state_since_seconds", "gauge",
	       "When the source connection last changed state, in seconds since the Unix epoch.");
	labelled(out, "zerohop_agent_source_state_since_seconds", "source", st->source);
	fprintf(out, "%lld\n", (long long)st->state_since);

	family(out, "zerohop_agent_revision", "gauge",
	       "The last source revision applied to the maps (file source: a load counter).");
	fprintf(out, "zerohop_agent_revision %lld\n", (long long)st->revision);
	u64_sample(out, "zerohop_agent_events_total", "counter",
		   "Source records applied (puts and deletes).", st->events);
	u64_sample(out, "zerohop_agent_resyncs_total", "counter",
		   "Full listings of the source (start, compaction, re-list after an outage).",
		   st->resyncs);
	u64_sample(out, "zerohop_agent_reconciles_total", "counter",
		   "Reconciles: batches of changes flushed to the maps.", st->reconciles);
	u64_sample(out, "zerohop_agent_map_ops_total", "counter",
		   "Map updates and deletes written.", st->map_ops);

	family(out, "zerohop_agent_errors_total", "counter",
	       "Errors by kind (bad_record, source, map_full, map_update, port_attach).");
	for (i = 0; i < ZH_AERR_MAX; i++) {
		labelled(out, "zerohop_agent_errors_total", "kind", zh_agent_error_name(i));
		fprintf(out, "%llu\n", (unsigned long long)st->errors[i]);
	}
	u64_sample(out, "zerohop_agent_last_error_time_seconds", "gauge",
		   "When the last error happened, in seconds since the Unix epoch; 0: none yet.",
		   st->last_error_time);

	family(out, "zerohop_agent_reconcile_latency_seconds", "histogram",
	       "From a source event received to the maps written.");
	for (i = 0; i < ZH_LAT_BUCKETS; i++) {
		seconds_str(zh_lat_bucket_us[i], le, sizeof(le));
		fprintf(out, "zerohop_agent_reconcile_latency_seconds_bucket{le=\"%s\"} %llu\n", le,
			(unsigned long long)st->lat_bucket[i]);
	}
	fprintf(out, "zerohop_agent_reconcile_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
		(unsigned long long)st->lat_count);
	fprintf(out, "zerohop_agent_reconcile_latency_seconds_sum %.6f\n", st->lat_sum_us / 1e6);
	fprintf(out, "zerohop_agent_reconcile_latency_seconds_count %llu\n",
		(unsigned long long)st->lat_count);

	family(out, "zerohop_agent_ports", "gauge",
	       "VM ports: desired (in the source for this host) and attached (tc_port on them).");
	fprintf(out, "zerohop_agent_ports{state=\"desired\"} %u\n", st->ports_desired);
	fprintf(out, "zerohop_agent_ports{state=\"attached\"} %u\n", st->ports_attached);
	render_peers(out, st);
	return ferror(out) ? -EIO : 0;
}

int zh_metrics_render_instance(FILE *out, const char *instance)
{
	struct zh_status *st = NULL;
	int i, err = 0;

	family(out, "zerohop_datapath_attached", "gauge",
	       "1 when the agent's instance is attached and its maps could be read, else 0.");
	if (!instance || !*instance || !zh_instance_exists(instance)) {
		fputs("zerohop_datapath_attached 0\n", out);
		goto cleanup;
	}
	st = malloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	err = zh_status_read(instance, st);
	if (err) {
		/* Detached while we looked, or unreadable: say so, not fail. */
		fputs("zerohop_datapath_attached 0\n", out);
		err = 0;
		goto cleanup;
	}
	fputs("zerohop_datapath_attached 1\n", out);

	family(out, "zerohop_map_entries", "gauge",
	       "Entries in each pinned map of the instance (arrays: their size).");
	for (i = 0; i < st->n_maps; i++) {
		labelled(out, "zerohop_map_entries", "map", st->maps[i].name);
		fprintf(out, "%u\n", st->maps[i].entries);
	}
	family(out, "zerohop_map_capacity", "gauge",
	       "Capacity (max_entries) of each pinned map of the instance.");
	for (i = 0; i < st->n_maps; i++) {
		labelled(out, "zerohop_map_capacity", "map", st->maps[i].name);
		fprintf(out, "%u\n", st->maps[i].max_entries);
	}

	family(out, "zerohop_datapath_packets_total", "counter",
	       "Packets counted by the BPF programs, by counter (docs/datapath.md), summed over CPUs.");
	for (i = 0; i < ZH_CNT_MAX; i++) {
		labelled(out, "zerohop_datapath_packets_total", "counter", zh_counter_name(i));
		fprintf(out, "%llu\n", (unsigned long long)st->counters[i].packets);
	}
	family(out, "zerohop_datapath_bytes_total", "counter",
	       "Bytes of those packets, by counter, summed over CPUs.");
	for (i = 0; i < ZH_CNT_MAX; i++) {
		labelled(out, "zerohop_datapath_bytes_total", "counter", zh_counter_name(i));
		fprintf(out, "%llu\n", (unsigned long long)st->counters[i].bytes);
	}
cleanup:
	if (st)
		zh_status_free(st);
	free(st);
	if (!err && ferror(out))
		err = -EIO;
	return err;
}

int zh_metrics_render(FILE *out, const struct zh_agent_stats *st)
{
	int err = zh_metrics_render_agent(out, st);

	return err ? err : zh_metrics_render_instance(out, st->instance);
}

int zh_metrics_httpd_render(FILE *out, void *ctx)
{
	return zh_metrics_render(out, ctx);
}
