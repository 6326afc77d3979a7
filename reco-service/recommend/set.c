/* The small sets and maps of one request (set.h): open addressing over power-of-two tables
 * sized for every insert, and the saved artists' bitmap filter in front of an exact set. */
#include "set.h"

#include <string.h>

/* The saved-artist filter's bits per saved artist (about 3% of other artists pass it and are
 * then looked up exactly), and its largest size in bits (256 KiB). */
#define ARTIST_FILTER_BITS_PER_KEY 32u
#define ARTIST_FILTER_MAX_BITS     (1u << 21)

bool row_set_init(struct row_set *set, struct reco_arena *arena, size_t entries)
{
    size_t cap = capacity_for(entries);
    set->slots = reco_arena_alloc(arena, cap, sizeof *set->slots);
    set->mask = cap - 1;
    if (!set->slots)
        return false;
    memset(set->slots, 0xff, cap * sizeof *set->slots);
    return true;
}

bool row_set_add(struct row_set *set, uint32_t row)
{
    for (size_t i = hash32(row) & set->mask;; i = (i + 1) & set->mask) {
        if (set->slots[i] == row)
            return false;
        if (set->slots[i] == MODEL_NO_ROW) {
            set->slots[i] = row;
            return true;
        }
    }
}

bool artist_map_init(struct artist_map *map, struct reco_arena *arena, size_t entries)
{
    size_t cap = capacity_for(entries);
    map->slots = reco_arena_calloc(arena, cap, sizeof *map->slots);
    map->mask = cap - 1;
    return map->slots != NULL;
}

struct artist_entry *artist_map_get(struct artist_map *map, uint32_t key, bool create)
{
    for (size_t i = hash32(key) & map->mask;; i = (i + 1) & map->mask) {
        struct artist_entry *e = &map->slots[i];
        if (e->used && e->key == key)
            return e;
        if (!e->used) {
            if (!create)
                return NULL;
            *e = (struct artist_entry){.key = key, .used = true};
            return e;
        }
    }
}

bool saved_artists_init(struct saved_artists *set, struct reco_arena *arena, size_t entries)
{
    size_t bits = 64;
    while (bits < entries * ARTIST_FILTER_BITS_PER_KEY && bits < ARTIST_FILTER_MAX_BITS)
        bits <<= 1;
    set->bits = reco_arena_calloc(arena, bits / 64, sizeof *set->bits);
    set->bit_mask = (uint32_t)bits - 1;
    set->n = 0;
    set->list = reco_arena_alloc(arena, entries + 1, sizeof *set->list);
    if (!set->bits || !set->list)
        return false;
    return row_set_init(&set->keys, arena, entries);
}

void saved_artists_add(struct saved_artists *set, uint32_t key)
{
    set->bits[(key & set->bit_mask) >> 6] |= 1ull << (key & 63u);
    if (row_set_add(&set->keys, key))
        set->list[set->n++] = key;
}

uint64_t label_hash(const char *label)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *c = (const unsigned char *)label; *c; c++)
        h = (h ^ *c) * 1099511628211ull;
    return h ? h : 1;
}

bool label_set_has(const struct label_set *set, uint64_t h)
{
    for (size_t i = (size_t)mix64(h) & set->mask;; i = (i + 1) & set->mask) {
        if (set->slots[i] == h)
            return true;
        if (set->slots[i] == 0)
            return false;
    }
}
