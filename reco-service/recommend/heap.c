/* The top-k heap of candidates (heap.h) and the ranking order shared by every ranking: a
 * higher score first, a lower row on a tie, so results never depend on the order of a pass. */
#include "heap.h"

int by_rank(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    if (better(x, y))
        return -1;
    if (better(y, x))
        return 1;
    return 0;
}
