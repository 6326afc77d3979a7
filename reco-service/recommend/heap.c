/* The top-k heap of candidates (heap.h) and the ranking order shared by every ranking: a
 * higher score first, a lower row on a tie, so results never depend on the order of a pass. */
#include "heap.h"

#include <stdbool.h>

/* True when a is a better candidate than b: higher score, then lower row. */
static bool better(const struct candidate *a, const struct candidate *b)
{
    return a->score > b->score || (a->score == b->score && a->row < b->row);
}

static void heap_sift_down(struct candidate *heap, uint32_t n, uint32_t i)
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

void heap_push(struct candidate *heap, uint32_t *n, uint32_t cap, struct candidate c)
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

int by_rank(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    if (better(x, y))
        return -1;
    if (better(y, x))
        return 1;
    return 0;
}
