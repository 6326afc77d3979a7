/* One request's memory: every allocation of a Recommend comes from its arena, one block that
 * grows by chunks (each at least twice the last) and is freed at once by arena_free at the end.
 * Nothing is freed on its own; a scope may hand its temporaries back (arena_mark/arena_release).
 * Not thread-safe: one arena per request, used by the thread that runs it. */
#ifndef MIXTAPE_RECO_ARENA_H
#define MIXTAPE_RECO_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
    struct arena_chunk *chunk; /* the newest chunk (each links to the one before), or NULL */
    size_t used, cap;          /* bytes of the newest chunk handed out, and its size */
    size_t first;              /* the size of the first chunk */
};

/* Where the arena stands, for arena_release. */
struct arena_mark {
    struct arena_chunk *chunk;
    size_t used;
};

/* An empty arena whose first chunk (allocated on first use) holds at least `first` bytes.
 * Never fails. */
void arena_init(struct arena *a, size_t first);

/* n * size bytes aligned for any type (16), uninitialised; NULL when out of memory or when
 * n * size overflows. The memory lives until arena_free. n == 0 gives a valid pointer. */
void *arena_alloc(struct arena *a, size_t n, size_t size);
/* The same, zero-filled. */
void *arena_calloc(struct arena *a, size_t n, size_t size);
/* A new block of n * size bytes holding the first old_bytes of old (a block of this arena or
 * NULL): the old block is not reused. NULL when out of memory (old is left as it was). */
void *arena_grow(struct arena *a, const void *old, size_t old_bytes, size_t n, size_t size);

/* arena_release(a, arena_mark(a)) hands back everything allocated after the mark, when it all
 * came from the chunk the mark was taken in (otherwise it keeps it until arena_free). The
 * caller must not use those blocks afterwards. */
struct arena_mark arena_mark(const struct arena *a);
void arena_release(struct arena *a, struct arena_mark mark);

/* Frees every chunk; the arena is empty again (and may be used again). */
void arena_free(struct arena *a);

#endif
