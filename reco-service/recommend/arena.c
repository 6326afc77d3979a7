/* The request arena (arena.h): chunks from malloc, each a header and its bytes, linked newest
 * first; an allocation bumps an offset, a chunk too small for it is followed by a new one of at
 * least twice its size, and arena_free walks the list once. */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16u

/* AddressSanitizer (gcc defines __SANITIZE_ADDRESS__, clang has the feature): a redzone after
 * every block, and everything not handed out poisoned. */
#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_REDZONE ARENA_ALIGN
#else
#define ASAN_POISON_MEMORY_REGION(addr, size)   ((void)(addr), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#define ARENA_REDZONE                           0u
#endif

struct reco_arena_chunk {
    struct reco_arena_chunk *prev;
    size_t cap; /* bytes[]'s size */
    alignas(ARENA_ALIGN) unsigned char bytes[];
};

void reco_arena_init(struct reco_arena *a, size_t first)
{
    *a = (struct reco_arena){.first = first < 4096 ? 4096 : first};
}

static size_t round_up(size_t n)
{
    return (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

void *reco_arena_alloc(struct reco_arena *a, size_t n, size_t size)
{
    if (size != 0 && n > (SIZE_MAX / 2) / size)
        return NULL;
    size_t bytes = round_up(n * size) + ARENA_REDZONE;
    if (!a->chunk || a->cap - a->used < bytes) {
        size_t cap = a->chunk ? 2 * a->cap : a->first;
        if (cap < bytes)
            cap = bytes;
        struct reco_arena_chunk *chunk = malloc(sizeof *chunk + cap);
        if (!chunk)
            return NULL;
        ASAN_POISON_MEMORY_REGION(chunk->bytes, cap);
        chunk->prev = a->chunk;
        chunk->cap = cap;
        a->chunk = chunk;
        a->cap = cap;
        a->used = 0;
    }
    void *p = a->chunk->bytes + a->used;
    ASAN_UNPOISON_MEMORY_REGION(p, n * size);
    a->used += bytes;
    return p;
}

void *reco_arena_calloc(struct reco_arena *a, size_t n, size_t size)
{
    void *p = reco_arena_alloc(a, n, size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *reco_arena_grow(struct reco_arena *a, const void *old, size_t old_bytes, size_t n,
                      size_t size)
{
    void *p = reco_arena_alloc(a, n, size);
    if (p && old && old_bytes)
        memcpy(p, old, old_bytes < n * size ? old_bytes : n * size);
    return p;
}

struct reco_arena_mark reco_arena_mark(const struct reco_arena *a)
{
    return (struct reco_arena_mark){.chunk = a->chunk, .used = a->used};
}

void reco_arena_release(struct reco_arena *a, struct reco_arena_mark mark)
{
    if (a->chunk == mark.chunk && mark.chunk) {
        ASAN_POISON_MEMORY_REGION(a->chunk->bytes + mark.used, a->used - mark.used);
        a->used = mark.used;
    }
}

void reco_arena_free(struct reco_arena *a)
{
    struct reco_arena_chunk *chunk = a->chunk;
    while (chunk) {
        struct reco_arena_chunk *prev = chunk->prev;
        ASAN_UNPOISON_MEMORY_REGION(chunk->bytes, chunk->cap);
        free(chunk);
        chunk = prev;
    }
    a->chunk = NULL;
    a->used = a->cap = 0;
}
