/* SPDX-License-Identifier: GPL-2.0-only */
/* `zerohop status` asks an instance's zerohop-agent how it is doing through
 * the agent's status socket (agent/statsock.h, docs/metrics.md). The CLI
 * does not link the agent library, so this small client stands alone.
 */
#ifndef ZH_AGENT_CLIENT_H
#define ZH_AGENT_CLIENT_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#define AGENT_QUERY_TIMEOUT_MS 1000
#define AGENT_REPLY_MAX        65536

enum agent_state {
	AGENT_NOT_RUNNING,   /* no socket file */
	AGENT_NOT_ANSWERING, /* a socket, but no (valid) answer: see error */
	AGENT_ANSWERED,      /* doc holds the agent's document */
};

struct agent_reply {
	enum agent_state state;
	char socket[PATH_MAX];
	char error[256];     /* AGENT_NOT_ANSWERING: the reason */
	json_object *doc;    /* AGENT_ANSWERED */
};

/* Query the socket at path within timeout_ms; the outcome is in r (free
 * it with agent_reply_free). Never fails otherwise.
 */
void agent_query(const char *path, int timeout_ms, struct agent_reply *r);
/* An agent's reply text -> a JSON object; 0 or -EINVAL with *why set. */
int agent_parse(const char *text, size_t len, json_object **doc, const char **why);
/* "source S, connected since T (5m ago), revision N, last error: none" */
void agent_summary(json_object *doc, time_t now, char *buf, size_t len);
/* The "  agent: ..." lines of `zerohop status` for one instance. */
void agent_print_text(FILE *out, const struct agent_reply *r, const char *instance, time_t now);
/* The "agent" value of `zerohop status --json`: null, the agent's document
 * with "socket" added, or {"socket": .., "error": ..}. A new reference.
 */
json_object *agent_json(const struct agent_reply *r);
void agent_reply_free(struct agent_reply *r);

#endif /* ZH_AGENT_CLIENT_H */
