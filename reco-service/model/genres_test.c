/* Tests of genre information: the artist -> genres file (the 160k companion's columns and the
 * 2024 set's, quoting, empty and broken lists, first list wins, normalised names, a header
 * without the columns, a missing file), list joins, and the embedding (unit length, shared
 * labels close, no labels at the origin, deterministic, bad sizes, every allocation failing
 * in turn). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "genres.h"

/* Allocation faults: the link wraps malloc, calloc and realloc (CMakeLists.txt), so every
 * allocation of this test and of the library code it calls comes here. fail_at counts down to
 * the one that fails; -1 fails none. */
static long fail_at = -1;
void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
static int fail_now(void)
{
    return fail_at >= 0 && fail_at-- == 0;
}
void *__wrap_malloc(size_t size)
{
    return fail_now() ? NULL : __real_malloc(size);
}
void *__wrap_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t size)
{
    return fail_now() ? NULL : __real_realloc(p, size);
}

static const char *write_temp(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/genres_test_%d_%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void expect_list(const char *list, const char *const *want, int n)
{
    assert_non_null(list);
    for (int i = 0; i < n; i++) {
        assert_string_equal(list, want[i]);
        list += strlen(list) + 1;
    }
    assert_string_equal(list, "");
}

static void test_load_160k_file(void **state)
{
    (void)state;
    const char *path =
        write_temp("w_genres.csv",
                   "artists,acousticness,danceability,count,genres\n"
                   "\"\"\"Cats\"\" 1981 Original London Cast\",0.5,0.4,12,['show tunes']\n"
                   "Ada Lane,0.1,0.2,3,\"['jazz', \"\"bossa nova\"\"]\"\n"
                   "ADA  LANE,0.1,0.2,3,['rock']\n" /* the same artist normalised: first wins */
                   "Nobody Special,0.1,0.2,3,[]\n"  /* no genres: not added */
                   "Broken,0.1,0.2,3,['unclosed\n"  /* not a list: malformed */
                   "Short row\n"                    /* too few fields: malformed */
                   "\"['Björk', 'Someone']\",0.1,0.2,3,\"['icelandic pop', '']\"\n");
    struct genre_map *map = NULL;
    uint32_t added = 0, malformed = 0;
    char err[256];
    assert_int_equal(genre_map_new(&map), GENRES_OK);
    assert_int_equal(genre_map_load(map, path, &added, &malformed, err, sizeof err), GENRES_OK);
    assert_int_equal(added, 3);
    assert_int_equal(malformed, 2);
    assert_int_equal(genre_map_size(map), 3);
    static const char *const ADA[] = {"jazz", "bossa nova"};
    expect_list(genre_map_find(map, "Ada Lane"), ADA, 2);
    expect_list(genre_map_find(map, "ada lane"), ADA, 2);
    static const char *const CATS[] = {"show tunes"};
    expect_list(genre_map_find(map, "\"Cats\" 1981 Original London Cast"), CATS, 1);
    static const char *const BJORK[] = {"icelandic pop"};
    expect_list(genre_map_find(map, "Bjork"), BJORK, 1);
    assert_null(genre_map_find(map, "Nobody Special"));
    assert_null(genre_map_find(map, "Someone"));
    assert_null(genre_map_find(map, ""));
    assert_null(genre_map_find(map, NULL));

    /* The 2024 set's columns (artist_name, artist_genres) load too, after: first still wins. */
    path = write_temp("search.csv", "search_genre,track_name,artist_name,artist_genres\n"
                                    "acid jazz,X,Solsonics,\"['acid jazz', 'instrumental funk']\"\n"
                                    "rock,Y,Ada Lane,['rock']\n");
    assert_int_equal(genre_map_load(map, path, &added, &malformed, err, sizeof err), GENRES_OK);
    assert_int_equal(added, 1);
    expect_list(genre_map_find(map, "Ada Lane"), ADA, 2);
    static const char *const SOLSONICS[] = {"acid jazz", "instrumental funk"};
    expect_list(genre_map_find(map, "solsonics"), SOLSONICS, 2);

    /* Added in code: empty lists ignored, first wins. */
    assert_int_equal(genre_map_add(map, "New Artist", ""), GENRES_OK);
    assert_null(genre_map_find(map, "New Artist"));
    assert_int_equal(genre_map_add(map, "New Artist", "folk\0"), GENRES_OK);
    assert_int_equal(genre_map_add(map, "new artist", "metal\0"), GENRES_OK);
    static const char *const FOLK[] = {"folk"};
    expect_list(genre_map_find(map, "New Artist"), FOLK, 1);
    genre_map_free(map);
    genre_map_free(NULL);
}

static void test_load_errors(void **state)
{
    (void)state;
    struct genre_map *map = NULL;
    uint32_t added = 0, malformed = 0;
    char err[256];
    assert_int_equal(genre_map_new(&map), GENRES_OK);
    const char *path = write_temp("nogenres.csv", "artists,energy\nAda,0.5\n");
    assert_int_equal(genre_map_load(map, path, &added, &malformed, err, sizeof err),
                     GENRES_ERR_SCHEMA);
    assert_non_null(strstr(err, "no genres column"));
    path = write_temp("noartist.csv", "name,genres\nAda,['x']\n");
    assert_int_equal(genre_map_load(map, path, &added, &malformed, err, sizeof err),
                     GENRES_ERR_SCHEMA);
    assert_non_null(strstr(err, "no artist column"));
    path = write_temp("empty.csv", "");
    assert_int_equal(genre_map_load(map, path, &added, &malformed, err, sizeof err), GENRES_ERR_IO);
    assert_non_null(strstr(err, "empty file"));
    assert_int_equal(
        genre_map_load(map, "/nonexistent/genres.csv", &added, &malformed, err, sizeof err),
        GENRES_ERR_IO);
    assert_non_null(strstr(err, "--artist-genres /nonexistent/genres.csv"));
    assert_int_equal(genre_map_size(map), 0);
    genre_map_free(map);
}

static void test_join(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(genres_join("jazz\0pop\0", "pop\0rock\0", out, sizeof out),
                     strlen("jazz") + strlen("pop") + strlen("rock") + 4);
    static const char *const JOINED[] = {"jazz", "pop", "rock"};
    expect_list(out, JOINED, 3);
    assert_int_equal(genres_join(NULL, "", out, sizeof out), 1);
    assert_string_equal(out, "");
    assert_int_equal(genres_join("a long label\0", NULL, out, 6), 0);
    assert_string_equal(out, "");
    assert_int_equal(genres_join("x\0", NULL, out, 0), 0);
}

static double dot(const float *a, const float *b, uint32_t n)
{
    double s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += (double)a[i] * b[i];
    return s;
}

static void test_embed(void **state)
{
    (void)state;
    enum { ROWS = 6, DIMS = 16 };
    const char *labels[ROWS] = {
        "jazz\0bossa nova\0", "jazz\0bossa nova\0jazz\0", "jazz\0", "death metal\0", NULL, ""};
    float a[ROWS * DIMS], b[ROWS * DIMS];
    char err[256];
    assert_int_equal(genres_embed(labels, ROWS, DIMS, 7, a, err, sizeof err), GENRES_OK);
    for (int r = 0; r < 4; r++)
        assert_true(fabs(dot(a + r * DIMS, a + r * DIMS, DIMS) - 1.0) < 1e-5);
    /* A label repeated in a row counts once: rows 0 and 1 are the same point. */
    assert_true(fabs(dot(a, a + DIMS, DIMS) - 1.0) < 1e-5);
    /* Sharing jazz brings rows 0 and 2 closer than row 0 and the metal row. */
    assert_true(dot(a, a + 2 * DIMS, DIMS) > dot(a, a + 3 * DIMS, DIMS));
    for (int d = 0; d < DIMS; d++) {
        assert_true(a[4 * DIMS + d] == 0.0f);
        assert_true(a[5 * DIMS + d] == 0.0f);
    }
    /* The same seed, the same embedding; another seed, another one. */
    assert_int_equal(genres_embed(labels, ROWS, DIMS, 7, b, err, sizeof err), GENRES_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(genres_embed(labels, ROWS, DIMS, 8, b, err, sizeof err), GENRES_OK);
    assert_memory_not_equal(a, b, sizeof a);
    assert_int_equal(genres_embed(labels, ROWS, 0, 7, b, err, sizeof err), GENRES_ERR_INVALID);
    assert_non_null(strstr(err, "want 1..64"));
    assert_int_equal(genres_embed(labels, ROWS, 65, 7, b, err, sizeof err), GENRES_ERR_INVALID);
    assert_string_equal(genres_strerror(GENRES_ERR_SCHEMA), "not an artist genres file");
}

/* Every allocation of the embedding failing in turn: each is refused as out of memory, with
 * nothing leaked (LeakSanitizer). The 512 labels, the last one new, leave the label table's
 * first slot array exactly half full, where the next intern grows it: the passes after the
 * first must look labels up without allocating (they once grew the table there and, on
 * failure, used UINT32_MAX as an index and went on to GENRES_OK). */
static void test_embed_out_of_memory(void **state)
{
    (void)state;
    enum { ROWS = 600, LABELS = 512, DIMS = 4 };
    static char text[ROWS][16]; /* "genre r\0\0" for the first LABELS rows, then "" */
    static const char *labels[ROWS];
    static float out[ROWS * DIMS];
    char err[256];
    for (int r = 0; r < ROWS; r++) {
        if (r < LABELS)
            snprintf(text[r], sizeof text[r], "genre %d", r);
        labels[r] = text[r];
    }
    int failures = 0;
    for (long k = 0;; k++) {
        fail_at = k;
        enum genres_status status = genres_embed(labels, ROWS, DIMS, 7, out, err, sizeof err);
        bool failed = fail_at < 0; /* the k-th allocation happened and failed */
        fail_at = -1;
        if (!failed) {
            assert_int_equal(status, GENRES_OK);
            break;
        }
        assert_int_equal(status, GENRES_ERR_NOMEM);
        assert_string_equal(err, "genre embedding: out of memory");
        failures++;
    }
    assert_true(failures >= 10); /* the table, the matrix and the SVD's arrays */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_160k_file),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_join),
        cmocka_unit_test(test_embed),
        cmocka_unit_test(test_embed_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
