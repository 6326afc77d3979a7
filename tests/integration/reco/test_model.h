/* A small synthetic model for the reco-service integration tests and benchmarks: rows around
 * k random centres in four audio dimensions, even rows with an ISRC ("QZTST" and the row),
 * written with the model writer, so the tests need no catalog file. Deterministic for a given
 * seed. */
#ifndef MIXTAPE_TEST_MODEL_H
#define MIXTAPE_TEST_MODEL_H

#include <stdint.h>

/* The Spotify-like id of row `row` (22 base62 characters and a NUL). */
void test_model_id(uint32_t row, char id[23]);

/* Writes a model of n_rows songs in k clusters to path (through a temporary file and a
 * rename). Returns 0, or -1 with the reason on stderr. */
int test_model_write(const char *path, uint32_t n_rows, uint32_t k, uint64_t seed);

#endif
