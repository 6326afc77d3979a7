/* One request's memory: every allocation of a Recommend comes from its arena, one block that
 * grows by chunks (each at least twice the last) and is freed at once by reco_arena_free at the
 * end. Nothing is freed on its own; a scope may hand its temporaries back with a mark.
 * Not thread-safe: one arena per request, used by the thread that runs it. */
#ifndef MIXTAPE_RECO_ARENA_H
#define MIXTAPE_RECO_ARENA_H

#include <stddef.h>

struct reco_arena_chunk;

struct reco_arena {
    struct reco_arena_chunk *chunk; /* the newest chunk (each links to the one before), or NULL */
    size_t used, cap;               /* bytes of the newest chunk handed out, and its size */
    size_t first;                   /* the size of the first chunk */
};

/* Where the arena stands, for reco_arena_release. */
struct reco_arena_mark {
    struct reco_arena_chunk *chunk;
    size_t used;
};

/* An empty arena whose first chunk (allocated on first use) holds at least `first` bytes.
 * Never fails. */
void reco_arena_init(struct reco_arena *a, size_t first);

/* n * size bytes aligned for any type (16), uninitialised; NULL when out of memory or when
 * n * size overflows. The memory lives until reco_arena_free. n == 0 gives a valid pointer.
 * The block's size is declared (alloc_size), so _FORTIFY_SOURCE checks copies into it as it
 * does for malloc; under AddressSanitizer every block is followed by a poisoned redzone and
 * what is not handed out is poisoned, so an overflow is caught as it is with malloc. */
void *reco_arena_alloc(struct reco_arena *a, size_t n, size_t size)
    __attribute__((alloc_size(2, 3)));
/* The same, zero-filled. */
void *reco_arena_calloc(struct reco_arena *a, size_t n, size_t size)
    __attribute__((alloc_size(2, 3)));
/* A new block of n * size bytes holding the first old_bytes of old (a block of this arena or
 * NULL): the old block is not reused. NULL when out of memory (old is left as it was). */
void *reco_arena_grow(struct reco_arena *a, const void *old, size_t old_bytes, size_t n,
                      size_t size) __attribute__((alloc_size(4, 5)));

/* reco_arena_release(a, reco_arena_mark(a)) hands back everything allocated after the mark,
 * when it all came from the chunk the mark was taken in (otherwise it is kept until
 * reco_arena_free). The caller must not use those blocks afterwards. */
struct reco_arena_mark reco_arena_mark(const struct reco_arena *a);
void reco_arena_release(struct reco_arena *a, struct reco_arena_mark mark);

/* Frees every chunk; the arena is empty again (and may be used again). */
void reco_arena_free(struct reco_arena *a);

#endif
