/* The saved artists' songs of one state (artist_pool.h): one scoring pass over their runs in
 * the artist index, then the best handed out by selecting (quickselect) and sorting (merge
 * sort) only as far as asked, so a pool of 20,000 songs of which the phase reads 800 is never
 * sorted whole. */
#include "artist_pool.h"

#include <math.h>
#include <string.h>

/* Rows scored at a time (the cosine kernel's output buffer). */
#define POOL_BLOCK 256u
/* Runs this short are sorted by insertion (and ranges this short selected that way). */
#define SMALL_RUN 16u
/* A round of take() sorts about this many times the songs still asked for (the phase asks for
 * four times as many when it needs more), and finds them with a threshold read from a sample of
 * POOL_SAMPLE songs when they are less than half of what is left. */
#define TAKE_AHEAD  4u
#define POOL_SAMPLE 1024u
/* While one artist's run is scored, the first bytes of the next are asked for. */
#define PREFETCH_BYTES 512u

static inline bool better(const struct artist_candidate *a, const struct artist_candidate *b)
{
    return a->score > b->score || (a->score == b->score && a->row < b->row);
}

static inline void swap(struct artist_candidate *a, struct artist_candidate *b)
{
    struct artist_candidate t = *a;
    *a = *b;
    *b = t;
}

void artist_pool_reset(struct artist_pool *pool)
{
    pool->n = pool->n_sorted = 0;
    pool->filled = false;
}

/* *buf with room for need items (*cap of them now), a new block of arena when it has not: its
 * content is not kept (the old block stays the arena's until the request ends; the pool's sizes
 * are counted before they are reserved, and the sort's grows by fourfold asks, so that is at
 * most a third more). */
static bool reserve(struct reco_arena *arena, struct artist_candidate **buf, uint32_t *cap,
                    uint32_t need)
{
    if (need <= *cap && *buf)
        return true;
    *buf = reco_arena_alloc(arena, (size_t)need + 1, sizeof **buf);
    *cap = *buf ? need : 0;
    return *buf != NULL;
}

enum reco_status artist_pool_fill(struct artist_pool *pool, struct reco_arena *arena,
                                  const struct reco_artist_index *index, const uint32_t *artists,
                                  uint32_t n_artists, uint32_t start, uint32_t end, const float *u,
                                  float inv_u, float bonus, uint32_t max_songs)
{
    artist_pool_reset(pool);
    const uint32_t *artist_rows = index->model->artist_rows;
    const uint32_t nd = index->n_dims;
    float score[POOL_BLOCK];
    /* One allocation of the right size: the songs are counted first. */
    uint64_t total = 0;
    for (uint32_t a = 0; a < n_artists; a++) {
        uint32_t first, last;
        reco_artist_index_range(index, artists[a], start, end, &first, &last);
        total += last - first;
    }
    if (total > max_songs)
        return RECO_ERR_TOO_LARGE;
    if (!reserve(arena, &pool->items, &pool->cap, (uint32_t)total))
        return RECO_ERR_NOMEM;
    uint32_t first = 0, last = 0;
    if (n_artists > 0)
        reco_artist_index_range(index, artists[0], start, end, &first, &last);
    for (uint32_t a = 0; a < n_artists; a++) {
        uint32_t next_first = 0, next_last = 0;
        if (a + 1 < n_artists) {
            /* The next run's first lines load while this one is scored. */
            reco_artist_index_range(index, artists[a + 1], start, end, &next_first, &next_last);
            const char *v = (const char *)(index->vecs + (size_t)next_first * nd);
            size_t bytes = (size_t)(next_last - next_first) * nd * sizeof(float);
            for (size_t off = 0; off < bytes && off < PREFETCH_BYTES; off += 64)
                __builtin_prefetch(v + off);
            __builtin_prefetch(index->norms + next_first);
            __builtin_prefetch(artist_rows + next_first);
        }
        for (uint32_t at = first; at < last; at += POOL_BLOCK) {
            uint32_t len = last - at < POOL_BLOCK ? last - at : POOL_BLOCK;
            reco_cosines_rows(index->vecs + (size_t)at * nd, index->norms + at, nd, len, u, inv_u,
                              score);
            struct artist_candidate *out = pool->items + pool->n;
            for (uint32_t j = 0; j < len; j++)
                out[j] = (struct artist_candidate){score[j] + bonus, artist_rows[at + j]};
            pool->n += len;
        }
        first = next_first;
        last = next_last;
    }
    pool->filled = true;
    return RECO_OK;
}

static void insertion_sort(struct artist_candidate *a, uint32_t n)
{
    for (uint32_t i = 1; i < n; i++) {
        struct artist_candidate x = a[i];
        uint32_t j = i;
        while (j > 0 && better(&x, &a[j - 1])) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/* Sorts a[0 .. n) best first: insertion-sorted runs of SMALL_RUN, then bottom-up merges through
 * spare (n entries). Stable and O(n log n) on any input. */
static void merge_sort(struct artist_candidate *a, uint32_t n, struct artist_candidate *spare)
{
    for (uint32_t i = 0; i < n; i += SMALL_RUN)
        insertion_sort(a + i, n - i < SMALL_RUN ? n - i : SMALL_RUN);
    struct artist_candidate *from = a, *to = spare;
    for (uint32_t width = SMALL_RUN; width < n; width *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * width) {
            uint32_t mid = lo + width < n ? lo + width : n;
            uint32_t hi = mid + width < n ? mid + width : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                to[k++] = better(&from[j], &from[i]) ? from[j++] : from[i++];
            while (i < mid)
                to[k++] = from[i++];
            while (j < hi)
                to[k++] = from[j++];
        }
        struct artist_candidate *t = from;
        from = to;
        to = t;
    }
    if (from != a)
        memcpy(a, from, (size_t)n * sizeof *a);
}

/* Heap sort of a[0 .. n), best first, in place (select_best's way out of a bad run of pivots):
 * a heap with the worst on top, whose top goes to the end each round. */
static void sift_down(struct artist_candidate *a, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t worst = i, l = 2 * i + 1, r = 2 * i + 2;
        if (l < n && better(&a[worst], &a[l]))
            worst = l;
        if (r < n && better(&a[worst], &a[r]))
            worst = r;
        if (worst == i)
            return;
        swap(&a[i], &a[worst]);
        i = worst;
    }
}

static void heap_sort(struct artist_candidate *a, uint32_t n)
{
    for (uint32_t i = n / 2; i-- > 0;)
        sift_down(a, n, i);
    for (uint32_t end = n; end > 1; end--) {
        swap(&a[0], &a[end - 1]);
        sift_down(a, end - 1, 0);
    }
}

void artist_select_best(struct artist_candidate *a, uint32_t n, uint32_t m, uint32_t rounds)
{
    uint32_t lo = 0, hi = n; /* the boundary m lies in [lo, hi]; a[0 .. lo) are among the best */
    while (hi - lo > SMALL_RUN) {
        if (rounds-- == 0) {
            heap_sort(a + lo, hi - lo);
            return;
        }
        struct artist_candidate *x = &a[lo], *y = &a[lo + (hi - lo) / 2], *z = &a[hi - 1];
        /* The median of x, y, z under better(). */
        struct artist_candidate *mid = better(x, y) ? (better(y, z) ? y : (better(x, z) ? z : x))
                                                    : (better(x, z) ? x : (better(y, z) ? z : y));
        swap(mid, &a[hi - 1]);
        const struct artist_candidate pivot = a[hi - 1];
        uint32_t i = lo;
        for (uint32_t j = lo; j < hi - 1; j++)
            if (better(&a[j], &pivot))
                swap(&a[i++], &a[j]);
        swap(&a[i], &a[hi - 1]); /* the pivot: better than everything after it */
        /* a[lo .. i) are better than the pivot at a[i], a[i + 1 .. hi) worse. */
        if (i + 1 == m || i == m)
            return;
        if (i > m)
            hi = i;
        else
            lo = i + 1;
    }
    insertion_sort(a + lo, hi - lo);
}

/* Moves a set of the best of a[0 .. n) to its front and returns its size: every song at least as
 * good as a threshold, the sample's best `target * POOL_SAMPLE / n` plus a margin of two
 * standard deviations, so usually a little over target songs (fewer only by bad luck: take()
 * then goes another round). n >= 2 * POOL_SAMPLE. One pass over a, and a quickselect of the
 * sample. */
/* artist_select_best with about twice log2(n) rounds before its way out. */
static void select_best(struct artist_candidate *a, uint32_t n, uint32_t m)
{
    uint32_t rounds = 16;
    for (uint32_t x = n; x > 1; x >>= 1)
        rounds += 2;
    artist_select_best(a, n, m, rounds);
}

static uint32_t gather_best(struct artist_candidate *a, uint32_t n, uint32_t target)
{
    struct artist_candidate sample[POOL_SAMPLE];
    for (uint32_t i = 0; i < POOL_SAMPLE; i++)
        sample[i] = a[(uint64_t)i * n / POOL_SAMPLE];
    double expect = (double)target * POOL_SAMPLE / n;
    uint32_t rank = (uint32_t)(expect + 2.0 * sqrt(expect)) + 2;
    if (rank >= POOL_SAMPLE)
        return n;
    select_best(sample, POOL_SAMPLE, rank);
    struct artist_candidate threshold = sample[0];
    for (uint32_t i = 1; i < rank; i++)
        if (better(&threshold, &sample[i]))
            threshold = sample[i];
    uint32_t at = 0;
    for (uint32_t j = 0; j < n; j++)
        if (!better(&threshold, &a[j]))
            swap(&a[at++], &a[j]);
    return at;
}

enum reco_status artist_pool_take(struct artist_pool *pool, struct reco_arena *arena, uint32_t want,
                                  bool (*accept)(const void *ctx, uint32_t row), const void *ctx,
                                  const struct artist_candidate **best, uint32_t *n_best)
{
    while (pool->n_sorted < want && pool->n_sorted < pool->n) {
        struct artist_candidate *a = pool->items + pool->n_sorted;
        uint32_t rest = pool->n - pool->n_sorted, need = want - pool->n_sorted;
        /* Ahead of what is asked, for the songs accept refuses and the phase's next ask. */
        uint64_t ahead = (uint64_t)need * TAKE_AHEAD + SMALL_RUN;
        uint32_t m = rest;
        if (ahead * 2 < rest && rest >= 2 * POOL_SAMPLE)
            m = gather_best(a, rest, (uint32_t)ahead);
        if (!reserve(arena, &pool->spare, &pool->spare_cap, m))
            return RECO_ERR_NOMEM;
        merge_sort(a, m, pool->spare);
        uint32_t kept = 0;
        for (uint32_t i = 0; i < m; i++)
            if (accept(ctx, a[i].row))
                a[kept++] = a[i];
        /* The refused leave: the unordered rest's last items fill their places. */
        uint32_t gap = m - kept, tail = rest - m;
        uint32_t move = gap < tail ? gap : tail;
        memcpy(a + kept, a + rest - move, (size_t)move * sizeof *a);
        pool->n -= gap;
        pool->n_sorted += kept;
    }
    *best = pool->items;
    *n_best = pool->n_sorted < want ? pool->n_sorted : want;
    return RECO_OK;
}
