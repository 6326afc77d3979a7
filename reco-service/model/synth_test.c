/* Tests of the synthetic catalog: the same seed gives the same bytes and another seed other
 * bytes; the file loads as the Kaggle schema with every row well-formed, the requested number
 * of rows, at least twelve genres, duplicate releases that collapse and share an ISRC, and
 * gzip output when the name ends in .gz. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "catalog.h"
#include "synth.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *bytes = malloc(*len + 1);
    assert_int_equal(fread(bytes, 1, *len, f), *len);
    bytes[*len] = '\0';
    fclose(f);
    return bytes;
}

static void path_for(char *out, size_t len, const char *tag)
{
    snprintf(out, len, "/tmp/synth_test_%d_%s", (int)getpid(), tag);
}

static void test_deterministic(void **state)
{
    (void)state;
    char a[128], b[128], c[128], err[256];
    path_for(a, sizeof a, "a.csv");
    path_for(b, sizeof b, "b.csv");
    path_for(c, sizeof c, "c.csv");
    assert_int_equal(synth_write(a, 2000, 9, NULL, NULL, err, sizeof err), SYNTH_OK);
    assert_int_equal(synth_write(b, 2000, 9, NULL, NULL, err, sizeof err), SYNTH_OK);
    assert_int_equal(synth_write(c, 2000, 10, NULL, NULL, err, sizeof err), SYNTH_OK);
    size_t la, lb, lc;
    char *ba = slurp(a, &la), *bb = slurp(b, &lb), *bc = slurp(c, &lc);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    assert_true(la != lc || memcmp(ba, bc, la) != 0);
    size_t lines = 0;
    for (size_t i = 0; i < la; i++)
        lines += ba[i] == '\n';
    assert_int_equal(lines, 2001);
    free(ba);
    free(bb);
    free(bc);
    remove(a);
    remove(b);
    remove(c);
}

static void test_loads_as_a_realistic_catalog(void **state)
{
    (void)state;
    static const struct {
        uint32_t rows;
        const char *tag;
    } CASES[] = {{1, "one.csv"}, {5000, "five.csv"}, {5000, "five.csv.gz"}};
    for (size_t t = 0; t < sizeof CASES / sizeof CASES[0]; t++) {
        char path[128], err[256];
        path_for(path, sizeof path, CASES[t].tag);
        assert_int_equal(synth_write(path, CASES[t].rows, 1, NULL, NULL, err, sizeof err),
                         SYNTH_OK);
        struct catalog *c = NULL;
        if (catalog_load(path, &c, err, sizeof err) != CATALOG_OK)
            fail_msg("%s: %s", path, err);
        remove(path);
        assert_string_equal(c->schema, "kaggle-1921-2020");
        assert_int_equal(c->n_tracks, CASES[t].rows);
        assert_int_equal(c->n_malformed, 0);
        assert_int_equal(c->available, (1u << FEAT_COUNT) - 1);
        if (CASES[t].rows < 1000) {
            catalog_free(c);
            continue;
        }
        /* Genres, names and ISRCs look real. */
        const char *genres[64];
        uint32_t n_genres = 0, with_feature = 0, with_quote = 0;
        for (uint32_t i = 0; i < c->n_tracks; i++) {
            const struct catalog_track *x = &c->tracks[i];
            assert_int_equal(strlen(x->id), 22);
            assert_int_equal(strlen(x->isrc), 12);
            assert_true(x->n_artists >= 1 && x->n_artists <= 2);
            assert_true(x->year >= 1921 && x->year <= 2020);
            with_feature += x->n_artists == 2;
            with_quote += strchr(x->artists[0], '\'') != NULL;
            bool seen = false;
            for (uint32_t g = 0; g < n_genres; g++)
                seen = seen || strcmp(genres[g], x->genre) == 0;
            if (!seen && n_genres < 64)
                genres[n_genres++] = x->genre;
        }
        assert_true(n_genres >= 12);
        assert_true(with_feature > c->n_tracks / 20);
        assert_true(with_quote > 0);
        /* Duplicate releases: about SYNTH_DUP_RATE of songs, sharing title, artist and ISRC. */
        assert_int_equal(catalog_collapse(c, CATALOG_DEFAULT_TOLERANCE_MS), CATALOG_OK);
        assert_true(c->n_collapsed > c->n_tracks * SYNTH_DUP_RATE * 0.6);
        assert_true(c->n_collapsed < c->n_tracks * SYNTH_DUP_RATE * 2.0);
        uint32_t same_isrc = 0;
        for (uint32_t i = 0; i < c->n_tracks; i++) {
            const struct catalog_track *x = &c->tracks[i];
            if (x->canonical != i)
                same_isrc += strcmp(x->isrc, c->tracks[x->canonical].isrc) == 0;
        }
        assert_true(same_isrc > c->n_collapsed * 0.8);
        catalog_free(c);
    }
}

static void test_refuses_bad_requests(void **state)
{
    (void)state;
    char err[256] = "";
    assert_int_equal(synth_write("/tmp/x.csv", 0, 1, NULL, NULL, err, sizeof err),
                     SYNTH_ERR_INVALID);
    assert_non_null(strstr(err, "--rows"));
    assert_int_equal(synth_write("/nonexistent/dir/x.csv", 10, 1, NULL, NULL, err, sizeof err),
                     SYNTH_ERR_IO);
    assert_non_null(strstr(err, "cannot create"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_loads_as_a_realistic_catalog),
        cmocka_unit_test(test_refuses_bad_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
