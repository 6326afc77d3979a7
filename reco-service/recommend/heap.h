/* The top-k heap the rankings keep their candidates in: a min-heap on (score, -row) of at most
 * `cap` entries, so its root is the worst kept and a better candidate replaces it. */
#ifndef MIXTAPE_RECO_HEAP_H
#define MIXTAPE_RECO_HEAP_H

#include <stdbool.h>
#include <stdint.h>

struct candidate {
    float score;
    uint32_t row;
};

/* True when a is a better candidate than b: higher score, then lower row. */
static inline bool better(const struct candidate *a, const struct candidate *b)
{
    return a->score > b->score || (a->score == b->score && a->row < b->row);
}

static inline void heap_sift_down(struct candidate *heap, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t worst = i, l = 2 * i + 1, r = 2 * i + 2;
        if (l < n && better(&heap[worst], &heap[l]))
            worst = l;
        if (r < n && better(&heap[worst], &heap[r]))
            worst = r;
        if (worst == i)
            return;
        struct candidate t = heap[i];
        heap[i] = heap[worst];
        heap[worst] = t;
        i = worst;
    }
}

/* Adds c to heap (holding *n of at most cap): appended while there is room, else it replaces
 * the worst when better. Static inline, as the rankings' passes call it for every row that
 * could enter: the compiler sees what it writes (only the heap). */
static inline void heap_push(struct candidate *heap, uint32_t *n, uint32_t cap, struct candidate c)
{
    if (*n < cap) {
        uint32_t i = (*n)++;
        heap[i] = c;
        while (i > 0) {
            uint32_t parent = (i - 1) / 2;
            if (!better(&heap[parent], &heap[i]))
                break;
            struct candidate t = heap[i];
            heap[i] = heap[parent];
            heap[parent] = t;
            i = parent;
        }
        return;
    }
    if (better(&c, &heap[0])) {
        heap[0] = c;
        heap_sift_down(heap, *n, 0);
    }
}

/* qsort order of candidates: best first (higher score, then lower row). */
int by_rank(const void *a, const void *b);

#endif
