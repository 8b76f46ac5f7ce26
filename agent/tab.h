/* SPDX-License-Identifier: GPL-2.0-only */
/* The agent state's tables (state.c, state_peer.c): fixed-size records
 * keyed by their first klen bytes, in one array (ids stay valid while a
 * record lives; a pointer does not survive an insert into the same table),
 * with an open-addressing index. Header-only so lookups inline.
 */
#ifndef ZH_AGENT_TAB_H
#define ZH_AGENT_TAB_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef NONE
#define NONE UINT32_MAX
#endif

#define SLOT_EMPTY 0u
#define SLOT_TOMB  UINT32_MAX

struct tab {
	uint8_t *recs;
	uint32_t stride, klen;
	uint32_t n;         /* records handed out (high-water mark) */
	uint32_t cap;
	uint32_t free_head; /* a freed record's first 4 bytes link the next */
	uint32_t live;
	uint64_t *used;     /* bit per record */
	uint32_t *slots;    /* id + 1, SLOT_EMPTY or SLOT_TOMB */
	uint32_t nslots;    /* power of two or 0 */
	uint32_t tombs;
};

static inline void tab_init(struct tab *t, uint32_t stride, uint32_t klen)
{
	memset(t, 0, sizeof(*t));
	t->stride = stride;
	t->klen = klen;
	t->free_head = NONE;
}

static inline void tab_free(struct tab *t)
{
	free(t->recs);
	free(t->used);
	free(t->slots);
	tab_init(t, t->stride, t->klen);
}

/* Empty the table but keep its memory (dirty sets are cleared often). */
static inline void tab_reset(struct tab *t)
{
	if (!t->live && !t->tombs)
		return;
	if (t->nslots)
		memset(t->slots, 0, t->nslots * sizeof(*t->slots));
	if (t->cap)
		memset(t->used, 0, (t->cap + 63) / 64 * sizeof(uint64_t));
	t->n = t->live = t->tombs = 0;
	t->free_head = NONE;
}

static inline void *tab_rec(const struct tab *t, uint32_t id)
{
	return t->recs + (size_t)id * t->stride;
}

static inline bool tab_used(const struct tab *t, uint32_t id)
{
	return t->used[id / 64] & (1ull << (id % 64));
}

static inline uint32_t hash_key(const void *key, uint32_t len)
{
	const uint8_t *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
	uint32_t w, i;

	/* Keys are 4-byte multiples (addresses, ids, names padded with 0). */
	for (i = 0; i + 4 <= len; i += 4) {
		memcpy(&w, p + i, 4);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	for (; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	h ^= h >> 29;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 32;
	return (uint32_t)h;
}

static inline uint32_t tab_find(const struct tab *t, const void *key)
{
	uint32_t mask, i, s;

	if (!t->nslots)
		return NONE;
	mask = t->nslots - 1;
	for (i = hash_key(key, t->klen) & mask;; i = (i + 1) & mask) {
		s = t->slots[i];
		if (s == SLOT_EMPTY)
			return NONE;
		if (s != SLOT_TOMB && !memcmp(tab_rec(t, s - 1), key, t->klen))
			return s - 1;
	}
}

static inline void slot_place(struct tab *t, uint32_t id)
{
	uint32_t mask = t->nslots - 1, i;

	for (i = hash_key(tab_rec(t, id), t->klen) & mask;; i = (i + 1) & mask) {
		if (t->slots[i] == SLOT_EMPTY || t->slots[i] == SLOT_TOMB) {
			if (t->slots[i] == SLOT_TOMB)
				t->tombs--;
			t->slots[i] = id + 1;
			return;
		}
	}
}

/* Keep the load (live + tombstones) under 3/4. */
static inline int tab_reserve(struct tab *t)
{
	uint32_t want, id, *old;

	if (t->nslots && (uint64_t)(t->live + t->tombs + 1) * 4 <= (uint64_t)t->nslots * 3)
		return 0;
	want = t->nslots ? t->nslots : 16;
	while ((uint64_t)(t->live + 1) * 2 > want)
		want *= 2;
	old = t->slots;
	t->slots = calloc(want, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -ENOMEM;
	}
	free(old);
	t->nslots = want;
	t->tombs = 0;
	for (id = 0; id < t->n; id++)
		if (tab_used(t, id))
			slot_place(t, id);
	return 0;
}

/* The record with this key, made (zeroed but for the key) if missing. */
static inline uint32_t tab_insert(struct tab *t, const void *key, bool *created)
{
	uint32_t id = tab_find(t, key);

	*created = false;
	if (id != NONE)
		return id;
	if (tab_reserve(t))
		return NONE;
	if (t->free_head != NONE) {
		id = t->free_head;
		memcpy(&t->free_head, tab_rec(t, id), sizeof(uint32_t));
	} else {
		if (t->n == t->cap) {
			uint32_t cap = t->cap ? t->cap * 2 : 64;
			uint8_t *recs = realloc(t->recs, (size_t)cap * t->stride);
			uint64_t *used;

			if (!recs)
				return NONE;
			t->recs = recs;
			used = realloc(t->used, (cap + 63) / 64 * sizeof(uint64_t));
			if (!used)
				return NONE;
			memset(used + (t->cap + 63) / 64, 0,
			       ((cap + 63) / 64 - (t->cap + 63) / 64) * sizeof(uint64_t));
			t->used = used;
			t->cap = cap;
		}
		id = t->n++;
	}
	memset(tab_rec(t, id), 0, t->stride);
	memcpy(tab_rec(t, id), key, t->klen);
	t->used[id / 64] |= 1ull << (id % 64);
	t->live++;
	slot_place(t, id);
	*created = true;
	return id;
}

static inline void tab_remove(struct tab *t, uint32_t id)
{
	uint32_t mask = t->nslots - 1, i;

	for (i = hash_key(tab_rec(t, id), t->klen) & mask;; i = (i + 1) & mask) {
		if (t->slots[i] == id + 1) {
			t->slots[i] = SLOT_TOMB;
			t->tombs++;
			break;
		}
		if (t->slots[i] == SLOT_EMPTY)
			return; /* not indexed: cannot happen */
	}
	t->used[id / 64] &= ~(1ull << (id % 64));
	t->live--;
	memcpy(tab_rec(t, id), &t->free_head, sizeof(uint32_t));
	t->free_head = id;
}

static inline size_t tab_memory(const struct tab *t)
{
	return (size_t)t->cap * t->stride + (t->cap + 63) / 64 * 8 + (size_t)t->nslots * 4;
}

#define tab_foreach(t, id) for ((id) = 0; (id) < (t)->n; (id)++) if (tab_used((t), (id)))

#endif /* ZH_AGENT_TAB_H */
