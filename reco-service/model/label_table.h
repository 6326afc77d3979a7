/* Distinct strings interned to dense indices 0, 1, 2, ... in the order first seen: an
 * open-addressing table (linear probing, at most half full) over pointers into the caller's
 * strings, as the genre embedding (genres.c) and the style names (style.c) count labels. Also
 * the FNV-1a hash that it and the build's other string tables (catalog ids, merged ids and
 * ISRCs, the artist -> genres map) use. */
#ifndef MIXTAPE_LABEL_TABLE_H
#define MIXTAPE_LABEL_TABLE_H

#include <stdint.h>

/* Zero-initialise ({0}) before the first label_table_intern; free with label_table_free. */
struct label_table {
    const char **text; /* n: each index's string (the caller's, not copied) */
    uint32_t n, cap;
    uint32_t *slots; /* n_slots (a power of two): index + 1, 0 = free */
    uint64_t n_slots;
};

/* FNV-1a (64-bit) over a NUL-terminated string. */
static inline uint64_t label_table_hash(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    return h;
}

/* The index of text: its own when an equal string was interned before, else the next one
 * (text is kept by pointer, so it must outlive the table). UINT32_MAX when out of memory (the
 * table is unchanged and still usable). Not thread-safe. */
uint32_t label_table_intern(struct label_table *t, const char *text);

/* The index of a string equal to text, or UINT32_MAX when none was interned. Never allocates
 * (so it cannot fail as interning can). */
uint32_t label_table_find(const struct label_table *t, const char *text);

/* Frees the table's arrays (not the strings) and zeroes it. */
void label_table_free(struct label_table *t);

#endif
