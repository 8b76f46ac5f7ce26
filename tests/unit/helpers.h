/* SPDX-License-Identifier: GPL-2.0-only */
/* Small helpers the unit tests share: addresses, JSON written readably in
 * C strings, and (with agent/state.h included first) records into a
 * desired state. Include after cmocka.h and controller/model.h.
 */
#ifndef ZH_TEST_HELPERS_H
#define ZH_TEST_HELPERS_H

#include <arpa/inet.h>
#include <string.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define R ZH_KEY_ROOT

/* A dotted IPv4 address, network order. */
static inline uint32_t ip4(const char *s)
{
	uint32_t a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

/* s with ' -> " (JSON written readably in C strings); the last four
 * results stay valid.
 */
static inline const char *J(const char *s)
{
	static char bufs[4][8192];
	static int next;
	char *b = bufs[next++ % 4];
	size_t i;

	assert_true(strlen(s) < sizeof(bufs[0]));
	for (i = 0; s[i]; i++)
		b[i] = s[i] == '\'' ? '"' : s[i];
	b[i] = 0;
	return b;
}

/* A record that must parse (key, JSON with ' for "). */
static inline void rec_parse(const char *key, const char *json, struct zh_record *rec)
{
	char err[ZH_ERR_MAX];
	const char *v = J(json);

	if (zh_record_parse(key, strlen(key), v, strlen(v), rec, err, sizeof(err)))
		fail_msg("test record %s does not parse: %s", key, err);
}

#ifdef ZH_AGENT_STATE_H
/* Put a record into the state: zh_state_put's result. */
static inline int put(struct zh_state *s, const char *key, const char *json)
{
	struct zh_record rec;
	char err[ZH_ERR_MAX];

	rec_parse(key, json, &rec);
	return zh_state_put(s, &rec, err, sizeof(err));
}
#endif

#endif /* ZH_TEST_HELPERS_H */
