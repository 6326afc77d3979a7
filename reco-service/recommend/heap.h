/* The top-k heap the rankings keep their candidates in: a min-heap on (score, -row) of at most
 * `cap` entries, so its root is the worst kept and a better candidate replaces it. */
#ifndef MIXTAPE_RECO_HEAP_H
#define MIXTAPE_RECO_HEAP_H

#include <stdint.h>

struct candidate {
    float score;
    uint32_t row;
};

/* Adds c to heap (holding *n of at most cap): appended while there is room, else it replaces
 * the worst when better. */
void heap_push(struct candidate *heap, uint32_t *n, uint32_t cap, struct candidate c);

/* qsort order of candidates: best first (higher score, then lower row). */
int by_rank(const void *a, const void *b);

#endif
