/* The small sets and maps of one request, sized for it when it starts: model rows and song
 * keys (row_set), picks per primary artist (artist_map), the saved artists with their bitmap
 * filter (saved_artists) and genre-label hashes (label_set). Not thread-safe; one per request. */
#ifndef MIXTAPE_RECO_SET_H
#define MIXTAPE_RECO_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "model.h"

static inline uint32_t hash32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline size_t capacity_for(size_t entries)
{
    size_t cap = 16;
    while (cap < entries * 2)
        cap <<= 1;
    return cap;
}

/* A set of model rows (open addressing; MODEL_NO_ROW marks a free slot). */
struct row_set {
    uint32_t *slots;
    size_t mask;
};

/* Sized for `entries` inserts, empty, its table from arena. False when out of memory. */
bool row_set_init(struct row_set *set, struct reco_arena *arena, size_t entries);

static inline bool row_set_has(const struct row_set *set, uint32_t row)
{
    for (size_t i = hash32(row) & set->mask;; i = (i + 1) & set->mask) {
        if (set->slots[i] == row)
            return true;
        if (set->slots[i] == MODEL_NO_ROW)
            return false;
    }
}

/* Returns true if the row was new. The caller sized the set for every insert. */
bool row_set_add(struct row_set *set, uint32_t row);

/* Per primary artist: how many picks it has. */
struct artist_entry {
    uint32_t key;
    bool used;
    uint32_t n_picks;
};

struct artist_map {
    struct artist_entry *slots;
    size_t mask;
};

/* Sized for `entries` artists, empty. False when out of memory. */
bool artist_map_init(struct artist_map *map, struct reco_arena *arena, size_t entries);
/* The entry of key; with create, a new zeroed one when absent (the caller sized the map for
 * every artist it creates), else NULL when absent. */
struct artist_entry *artist_map_get(struct artist_map *map, uint32_t key, bool create);

/* The primary artists of the user's saved catalog songs, asked about every row of a cluster
 * pass by the artist rankings. A bitmap indexed by the artist key's low bits (a few kilobytes
 * for a thousand saved songs, so it stays in the first-level cache) turns most rows away with
 * one load; the few that pass are confirmed in an exact open-addressing set. The keys are
 * small integers numbered in catalog order (model_write.c), so their low bits spread well
 * without hashing (a hash measured slower on the hot loop); any other numbering is only slower,
 * never wrong. Keys are below the model's n_artists, so never MODEL_NO_ROW. n == 0 when the
 * user saved no catalog song, and the rankings then skip the test. */
struct saved_artists {
    uint64_t *bits;
    uint32_t bit_mask;
    struct row_set keys;
    uint32_t *list; /* the n keys, in the order they were added */
    uint32_t n;
};

/* Sized for `entries` keys, empty. False when out of memory. */
bool saved_artists_init(struct saved_artists *set, struct reco_arena *arena, size_t entries);
/* The caller sized the set for every insert. */
void saved_artists_add(struct saved_artists *set, uint32_t key);

static inline bool saved_artists_has(const struct saved_artists *set, uint32_t key)
{
    if (!(set->bits[(key & set->bit_mask) >> 6] & (1ull << (key & 63u))))
        return false;
    return row_set_has(&set->keys, key);
}

/* A set of 64-bit hashes of genre labels (open addressing; 0 marks a free slot). */
struct label_set {
    uint64_t *slots; /* 0 = free */
    size_t mask;
};

/* The hash a label is kept under (FNV-1a, never 0). */
uint64_t label_hash(const char *label);
bool label_set_has(const struct label_set *set, uint64_t h);

#endif
