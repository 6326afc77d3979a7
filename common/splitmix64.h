/* splitmix64, the small deterministic generator the model builder, the synthetic catalogs, the
 * emulator and the tests draw from: the same seed gives the same numbers on every machine. */
#ifndef MIXTAPE_SPLITMIX64_H
#define MIXTAPE_SPLITMIX64_H

#include <stdint.h>

/* Advances *state and returns the next 64-bit value. Not for secrets; not thread-safe for a
 * shared state (give each thread its own). */
static inline uint64_t splitmix64_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Advances *state and returns a double in [0, 1) made of the next value's top 53 bits. */
static inline double splitmix64_uniform(uint64_t *state)
{
    return (double)(splitmix64_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

#endif
