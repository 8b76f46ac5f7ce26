// SPDX-License-Identifier: GPL-2.0-only
/* zerohop-controller: logging, password files, and the two tables it
 * keeps state in (ctl.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"

int ctl_log_level = CTL_INFO;

void ctl_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > ctl_log_level)
		return;
	fprintf(stderr, "zerohop-controller: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

uint64_t ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ctl_read_password(const char *path, char **out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int err = 0;

	*out = NULL;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = getline(&line, &cap, f);
	if (n < 0) {
		err = ferror(f) ? -EIO : -ENODATA;
		free(line);
		goto cleanup;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	if (!n) {
		err = -ENODATA;
		free(line);
		goto cleanup;
	}
	*out = line;
cleanup:
	fclose(f);
	return err;
}

void ctl_free_password(char *pw)
{
	if (!pw)
		return;
	explicit_bzero(pw, strlen(pw));
	free(pw);
}

/* --- dtab ------------------------------------------------------------------------ */

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	return k ^ (k >> 33);
}

void dtab_init(struct dtab *t, size_t item_size)
{
	memset(t, 0, sizeof(*t));
	t->size = item_size;
}

void dtab_free(struct dtab *t)
{
	free(t->items);
	free(t->keys);
	free(t->gens);
	free(t->slots);
	dtab_init(t, t->size);
}

/* The slot of key, or of the free slot where it would go. */
static size_t dtab_slot(const struct dtab *t, uint64_t key)
{
	size_t i = mix(key) & (t->n_slots - 1);

	while (t->slots[i] && t->keys[t->slots[i] - 1] != key)
		i = (i + 1) & (t->n_slots - 1);
	return i;
}

void *dtab_get(const struct dtab *t, uint64_t key)
{
	size_t i;

	if (!t->n_slots)
		return NULL;
	i = dtab_slot(t, key);
	return t->slots[i] ? dtab_at(t, t->slots[i] - 1) : NULL;
}

static int dtab_rehash(struct dtab *t, size_t n_slots)
{
	uint32_t *slots = calloc(n_slots, sizeof(*slots));
	size_t i;

	if (!slots)
		return -ENOMEM;
	free(t->slots);
	t->slots = slots;
	t->n_slots = n_slots;
	for (i = 0; i < t->n; i++)
		t->slots[dtab_slot(t, t->keys[i])] = i + 1;
	return 0;
}

int dtab_put(struct dtab *t, uint64_t key, const void *item, unsigned int gen)
{
	size_t i;

	if ((t->n + 1) * 2 > t->n_slots && dtab_rehash(t, t->n_slots ? t->n_slots * 2 : 64))
		return -ENOMEM;
	i = dtab_slot(t, key);
	if (t->slots[i]) {
		memcpy(dtab_at(t, t->slots[i] - 1), item, t->size);
		t->gens[t->slots[i] - 1] = gen;
		return 0;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char *items = realloc(t->items, cap * t->size);
		uint64_t *keys;
		unsigned int *gens;

		if (!items)
			return -ENOMEM;
		t->items = items;
		keys = realloc(t->keys, cap * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		t->keys = keys;
		gens = realloc(t->gens, cap * sizeof(*gens));
		if (!gens)
			return -ENOMEM;
		t->gens = gens;
		t->cap = cap;
	}
	memcpy(dtab_at(t, t->n), item, t->size);
	t->keys[t->n] = key;
	t->gens[t->n] = gen;
	t->slots[i] = ++t->n;
	return 0;
}

/* Remove slot i (linear probing: shift the cluster back). */
static void slot_remove(struct dtab *t, size_t i)
{
	size_t j = i, mask = t->n_slots - 1;

	t->slots[i] = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!t->slots[j])
			return;
		home = mix(t->keys[t->slots[j] - 1]) & mask;
		/* can the item at j move back to i? (home not in (i, j]) */
		if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
			t->slots[i] = t->slots[j];
			t->slots[j] = 0;
			i = j;
		}
	}
}

int dtab_del(struct dtab *t, uint64_t key)
{
	size_t i, idx, last;

	if (!t->n_slots)
		return 0;
	i = dtab_slot(t, key);
	if (!t->slots[i])
		return 0;
	idx = t->slots[i] - 1;
	slot_remove(t, i);
	last = --t->n;
	if (idx != last) {
		memcpy(dtab_at(t, idx), dtab_at(t, last), t->size);
		t->keys[idx] = t->keys[last];
		t->gens[idx] = t->gens[last];
		t->slots[dtab_slot(t, t->keys[idx])] = idx + 1;
	}
	return 1;
}

size_t dtab_sweep(struct dtab *t, unsigned int gen)
{
	size_t i = 0, n = 0;

	while (i < t->n) {
		if (t->gens[i] != gen) {
			dtab_del(t, t->keys[i]);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

/* --- shash ------------------------------------------------------------------------- */

static uint64_t str_hash(const char *s);

static size_t sh_slot(const struct shash *h, const char *key)
{
	size_t i = str_hash(key) & (h->cap - 1);

	while (h->e[i].key && strcmp(h->e[i].key, key))
		i = (i + 1) & (h->cap - 1);
	return i;
}

void *shash_get(const struct shash *h, const char *key)
{
	size_t i;

	if (!h->cap)
		return NULL;
	i = sh_slot(h, key);
	return h->e[i].key ? h->e[i].val : NULL;
}

int shash_put(struct shash *h, const char *key, void *val)
{
	size_t i;

	if ((h->n + 1) * 2 > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64, old_cap = h->cap;
		struct shash_ent *e = calloc(cap, sizeof(*e)), *old = h->e;

		if (!e)
			return -ENOMEM;
		h->e = e;
		h->cap = cap;
		for (i = 0; i < old_cap; i++)
			if (old[i].key)
				h->e[sh_slot(h, old[i].key)] = old[i];
		free(old);
	}
	i = sh_slot(h, key);
	if (!h->e[i].key) {
		h->e[i].key = strdup(key);
		if (!h->e[i].key)
			return -ENOMEM;
		h->n++;
	}
	h->e[i].val = val;
	return 0;
}

void shash_del(struct shash *h, const char *key)
{
	size_t i, j, mask = h->cap - 1;

	if (!h->cap)
		return;
	i = sh_slot(h, key);
	if (!h->e[i].key)
		return;
	free(h->e[i].key);
	h->e[i].key = NULL;
	h->n--;
	/* linear probing: move the rest of the cluster back */
	for (j = (i + 1) & mask; h->e[j].key; j = (j + 1) & mask) {
		size_t home = str_hash(h->e[j].key) & mask;

		if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
			h->e[i] = h->e[j];
			h->e[j].key = NULL;
			i = j;
		}
	}
}

void shash_free(struct shash *h)
{
	size_t i;

	for (i = 0; i < h->cap; i++)
		free(h->e[i].key);
	free(h->e);
	memset(h, 0, sizeof(*h));
}

/* --- kvmap ------------------------------------------------------------------------- */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return mix(h);
}

static size_t kv_slot(const struct kvmap *m, const char *key)
{
	size_t i = str_hash(key) & (m->cap - 1);

	while (m->e[i].key && strcmp(m->e[i].key, key))
		i = (i + 1) & (m->cap - 1);
	return i;
}

struct kv_entry *kvmap_find(const struct kvmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return NULL;
	i = kv_slot(m, key);
	return m->e[i].key ? &m->e[i] : NULL;
}

static int kv_grow(struct kvmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i;
	struct kv_entry *e = calloc(cap, sizeof(*e)), *old = m->e;
	size_t old_cap = m->cap;

	if (!e)
		return -ENOMEM;
	m->e = e;
	m->cap = cap;
	for (i = 0; i < old_cap; i++)
		if (old[i].key)
			m->e[kv_slot(m, old[i].key)] = old[i];
	free(old);
	return 0;
}

int kvmap_set(struct kvmap *m, const char *key, const char *value, int64_t rev, unsigned int gen)
{
	struct kv_entry *e;
	char *v = NULL;
	bool was, changed;

	if ((m->n + 1) * 2 > m->cap && kv_grow(m))
		return -ENOMEM;
	e = &m->e[kv_slot(m, key)];
	if (e->key && rev && e->rev > rev) {
		e->gen = gen; /* we wrote a newer value meanwhile: that one stands */
		return 0;
	}
	if (value && !(v = strdup(value)))
		return -ENOMEM;
	if (!e->key) {
		e->key = strdup(key);
		if (!e->key) {
			free(v);
			return -ENOMEM;
		}
		m->n++;
	}
	was = e->value != NULL;
	changed = was != (v != NULL) || (v && strcmp(e->value, v));
	if (!was && !v)
		changed = false;
	free(e->value);
	e->value = v;
	if (rev)
		e->rev = rev;
	e->gen = gen;
	return changed;
}

size_t kvmap_sweep(struct kvmap *m, unsigned int gen, int64_t rev)
{
	struct kvmap fresh = {0};
	size_t i, gone = 0;

	for (i = 0; i < m->cap; i++) {
		struct kv_entry *e = &m->e[i];
		bool keep = e->value ? e->gen == gen : e->rev > rev;

		if (!e->key)
			continue;
		if (keep) {
			struct kv_entry *f;

			if (kvmap_set(&fresh, e->key, e->value, e->rev, gen) < 0) {
				kvmap_free(&fresh);
				return 0; /* out of memory: keep the old map */
			}
			f = kvmap_find(&fresh, e->key);
			f->gen = e->gen;
		} else if (e->value) {
			gone++;
		}
	}
	kvmap_free(m);
	*m = fresh;
	return gone;
}

void kvmap_prune(struct kvmap *m, int64_t rev)
{
	struct kvmap fresh = {0};
	size_t i;

	for (i = 0; i < m->cap; i++) {
		struct kv_entry *e = &m->e[i];
		struct kv_entry *f;

		if (!e->key || (!e->value && e->rev <= rev))
			continue;
		if (kvmap_set(&fresh, e->key, e->value, e->rev, e->gen) < 0) {
			kvmap_free(&fresh);
			return; /* out of memory: keep them */
		}
		f = kvmap_find(&fresh, e->key);
		f->rev = e->rev;
	}
	kvmap_free(m);
	*m = fresh;
}

void kvmap_free(struct kvmap *m)
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		free(m->e[i].key);
		free(m->e[i].value);
	}
	free(m->e);
	memset(m, 0, sizeof(*m));
}
