/* Tests of the model file: a small hand-built model round-trips through model_write and
 * model_open with every lookup, transform and accessor; a corpus of truncated, corrupted and
 * foreign files made from it is refused with the right status; normalisation cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "model.h"
#include "model_build.h"
#include "model_format.h"

static const char *const ARTISTS_A[] = {"Ada Lane", "The Quiet Hours"};
static const char *const ARTISTS_B[] = {"Björk"};
static const char *const ARTISTS_C[] = {"Nina Park"};

/* Six songs in two clusters given out of cluster order, three dimensions: valence (linear),
 * key (sin, cos). */
/* Row 0 gives its raw values (valence, key, energy, explicit, year; from source 1); the others
 * leave them to the writer, which inverts their scaled vectors. */
static const struct model_build_row ROWS[] = {
    {"id0aaaaaaaaaaaaaaaaaaa",
     "Morning Song",
     "pop",
     "USAAA0000001",
     ARTISTS_A,
     2,
     1999,
     50,
     200000,
     1,
     {[FEAT_VALENCE] = 0.2,
      [FEAT_KEY] = 0,
      [FEAT_ENERGY] = 0.75,
      [FEAT_EXPLICIT] = 1,
      [FEAT_YEAR] = 1999},
     (1u << FEAT_VALENCE) | (1u << FEAT_KEY) | (1u << FEAT_ENERGY) | (1u << FEAT_EXPLICIT) |
         (1u << FEAT_YEAR),
     1,
     "art pop\0chamber pop\0"},
    {"id1aaaaaaaaaaaaaaaaaaa",
     "Jóga",
     "electronic",
     "GBAAA0000002",
     ARTISTS_B,
     1,
     1997,
     70,
     305000,
     0,
     {0},
     0,
     0,
     "icelandic pop\0"},
    {"id2aaaaaaaaaaaaaaaaaaa",
     "Evening",
     "pop",
     NULL,
     ARTISTS_C,
     1,
     0,
     255,
     180000,
     1,
     {0},
     0,
     0,
     NULL},
    {"id3aaaaaaaaaaaaaaaaaaa",
     "Evening",
     "pop",
     NULL,
     ARTISTS_C,
     1,
     2001,
     10,
     240000,
     0,
     {0},
     0,
     0,
     "neo soul\0"},
    {"id4aaaaaaaaaaaaaaaaaaa",
     "Quiet (Live)",
     "",
     "",
     ARTISTS_A,
     2,
     2010,
     0,
     100000,
     0,
     {0},
     0,
     1,
     NULL},
    {"id5aaaaaaaaaaaaaaaaaaa", NULL, NULL, NULL, NULL, 0, 1950, 100, 0, 1, {0}, 0, 0, NULL},
};
#define N_ROWS (sizeof ROWS / sizeof ROWS[0])

static const struct model_build_alias ALIASES[] = {
    {"alias0aaaaaaaaaaaaaaaa", "USAAA0000009", 0},
    {"id1aaaaaaaaaaaaaaaaaaa", NULL, 2}, /* repeats a canonical id: the first keeps it */
    {"alias1aaaaaaaaaaaaaaaa", NULL, 1},
};

static const double VALENCE[N_ROWS] = {0.2, 0.9, 0.4, 0.6, 0.1, 0.8};
static const double KEY[N_ROWS] = {0, 3, 6, 9, 11, 5};

struct fixture {
    char path[256];
    unsigned char *bytes;
    size_t len;
};

static void fill_build(struct model_build *b, float *scaled, float *centroids)
{
    memset(b, 0, sizeof *b);
    b->n_rows = N_ROWS;
    b->n_dims = 3;
    b->k = 2;
    b->dims[0] = (struct model_build_dim){FEAT_VALENCE, MODEL_DIM_LINEAR, 0.5, 0.25, 1.0};
    b->dims[1] = (struct model_build_dim){FEAT_KEY, MODEL_DIM_SIN, 0.0, 0.5, 2.0};
    b->dims[2] = (struct model_build_dim){FEAT_KEY, MODEL_DIM_COS, 0.0, 0.5, 2.0};
    for (size_t r = 0; r < N_ROWS; r++) {
        double angle = 6.283185307179586 * KEY[r] / 12.0;
        scaled[r * 3 + 0] = (float)((VALENCE[r] - 0.5) / 0.25);
        scaled[r * 3 + 1] = (float)(sin(angle) / 0.5 * 2.0);
        scaled[r * 3 + 2] = (float)(cos(angle) / 0.5 * 2.0);
    }
    static const float CENTROIDS[] = {0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f};
    memcpy(centroids, CENTROIDS, sizeof CENTROIDS);
    b->centroids = centroids;
    b->scaled = scaled;
    b->rows = ROWS;
    b->aliases = ALIASES;
    b->n_aliases = sizeof ALIASES / sizeof ALIASES[0];
    b->seed = 42;
    b->built_unix = 1700000000;
    b->source = "hand-built.csv";
    b->schema = "test";
    b->k_choice = "fixed";
    b->restarts = 3;
    b->iterations = 7;
    b->tolerance_ms = 5000;
    b->n_input_rows = 9;
    b->n_malformed = 1;
    b->n_collapsed = 2;
    b->inertia = 12.5;
    b->binary_weight = 1.0;
    static const struct model_build_source SOURCES[] = {
        {"first.csv", "tracks-114k", 7, 1, 0, 2, (1u << FEAT_VALENCE) | (1u << FEAT_KEY), 3},
        {"second.csv.gz", "tidytuesday-2020", 4, 0, 2, 0, 0x7fff, 1},
    };
    b->sources = SOURCES;
    b->n_sources = 2;
    b->genres = "artist genres: hand-made";
    b->n_genre_rows = 2;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    struct model_build b;
    float scaled[N_ROWS * 3], centroids[6];
    char err[256];
    fill_build(&b, scaled, centroids);
    snprintf(f->path, sizeof f->path, "/tmp/model_test_%d.model", (int)getpid());
    if (model_write(&b, f->path, err, sizeof err) != MODEL_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    FILE *in = fopen(f->path, "rb");
    fseek(in, 0, SEEK_END);
    f->len = (size_t)ftell(in);
    fseek(in, 0, SEEK_SET);
    f->bytes = malloc(f->len);
    if (fread(f->bytes, 1, f->len, in) != f->len)
        return -1;
    fclose(in);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    remove(f->path);
    free(f->bytes);
    free(f);
    return 0;
}

static enum model_status open_bytes(const unsigned char *bytes, size_t len, struct model **out,
                                    char *err, size_t err_len)
{
    char path[256];
    snprintf(path, sizeof path, "/tmp/model_test_bad_%d.model", (int)getpid());
    FILE *w = fopen(path, "wb");
    assert_non_null(w);
    assert_int_equal(fwrite(bytes, 1, len, w), len);
    fclose(w);
    enum model_status status = model_open(path, out, err, err_len);
    remove(path);
    return status;
}

static uint32_t row_of(const struct model *m, const char *id)
{
    uint32_t row = model_find_id(m, id);
    assert_int_not_equal(row, MODEL_NO_ROW);
    return row;
}

static void test_round_trip(void **state)
{
    struct fixture *f = *state;
    struct model *m = NULL;
    char err[256];
    assert_int_equal(model_open(f->path, &m, err, sizeof err), MODEL_OK);
    assert_int_equal(m->n_rows, N_ROWS);
    assert_int_equal(m->n_dims, 3);
    assert_int_equal(m->k, 2);
    assert_int_equal(m->n_features, 2);
    assert_int_equal(m->features[0], FEAT_VALENCE);
    assert_int_equal(m->features[1], FEAT_KEY);
    assert_int_equal(m->cluster_start[0], 0);
    assert_int_equal(m->cluster_start[1], 3);
    assert_int_equal(m->cluster_start[2], N_ROWS);
    assert_int_equal(m->n_ids, N_ROWS + 2);
    assert_int_equal(strlen(m->version), 16);
    assert_int_equal(m->seed, 42);
    assert_int_equal(m->built_unix, 1700000000);
    assert_string_equal(m->source, "hand-built.csv");

    const struct model_params *p = model_get_params(m);
    assert_int_equal(p->restarts, 3);
    assert_int_equal(p->iterations, 7);
    assert_int_equal(p->tolerance_ms, 5000);
    assert_int_equal(p->n_input_rows, 9);
    assert_int_equal(p->n_malformed, 1);
    assert_int_equal(p->n_collapsed, 2);
    assert_true(p->key_circle);
    assert_true(fabs(p->inertia - 12.5) < 1e-12);
    assert_string_equal(p->schema, "test");
    assert_string_equal(p->k_choice, "fixed");

    /* Every row: metadata, cluster block, scaled values and norm as written. */
    for (size_t r = 0; r < N_ROWS; r++) {
        uint32_t row = row_of(m, ROWS[r].id);
        assert_string_equal(model_row_id(m, row), ROWS[r].id);
        assert_string_equal(model_row_name(m, row), ROWS[r].name ? ROWS[r].name : "");
        assert_string_equal(model_row_genre(m, row), ROWS[r].genre ? ROWS[r].genre : "");
        assert_int_equal(model_row_year(m, row), ROWS[r].year);
        assert_int_equal(model_row_popularity(m, row), ROWS[r].popularity);
        assert_int_equal(model_row_duration_ms(m, row), ROWS[r].duration_ms);
        uint32_t c = model_row_cluster(m, row);
        assert_int_equal(c, ROWS[r].cluster);
        assert_true(row >= m->cluster_start[c] && row < m->cluster_start[c + 1]);
        const char *a = model_row_artists(m, row);
        for (uint32_t i = 0; i < ROWS[r].n_artists; i++) {
            assert_string_equal(a, ROWS[r].artists[i]);
            a += strlen(a) + 1;
        }
        assert_string_equal(a, "");

        struct model_raw raw;
        model_row_raw(m, row, &raw);
        assert_true(fabs(raw.value[FEAT_VALENCE] - VALENCE[r]) < 1e-5);
        assert_true(fabs(raw.value[FEAT_KEY] - KEY[r]) < 1e-9);
        float scaled[3];
        model_transform(m, &raw, scaled);
        double norm = 0;
        for (int d = 0; d < 3; d++) {
            assert_true(fabsf(scaled[d] - m->rows[row * 3 + d]) < 1e-4f);
            norm += (double)scaled[d] * scaled[d];
        }
        assert_true(fabs(sqrt(norm) - m->row_norms[row]) < 1e-4);
    }
    /* Raw values: row 0 gave its own (and only those are present); the others come from their
     * scaled vectors plus year / popularity / duration. */
    uint32_t r0 = row_of(m, ROWS[0].id);
    assert_true(fabsf(model_row_feature(m, r0, FEAT_ENERGY) - 0.75f) < 1e-6f);
    assert_true(model_row_has_feature(m, r0, FEAT_ENERGY));
    assert_true(model_row_explicit(m, r0));
    assert_false(model_row_has_feature(m, r0, FEAT_POPULARITY));
    assert_int_equal(model_row_source(m, r0), 1);
    uint32_t r1 = row_of(m, ROWS[1].id);
    assert_false(model_row_has_feature(m, r1, FEAT_ENERGY));
    assert_false(model_row_explicit(m, r1));
    /* An absent feature reads as the mean of the rows that have it (only row 0 has energy). */
    assert_true(fabsf(model_row_feature(m, r1, FEAT_ENERGY) - 0.75f) < 1e-6f);
    assert_true(fabsf(model_row_feature(m, r1, FEAT_VALENCE) - 0.9f) < 1e-5f);
    assert_true(model_row_has_feature(m, r1, FEAT_POPULARITY));
    assert_true(fabsf(model_row_feature(m, r1, FEAT_POPULARITY) - 70.0f) < 1e-6f);
    assert_false(model_row_has_feature(m, r1, FEAT_COUNT));
    assert_int_equal(model_row_source(m, r1), 0);
    /* Popularity: rows 0 (absent: not given) and 2 (255) unknown; mean of 70, 10, 0, 100. */
    uint32_t r2 = row_of(m, ROWS[2].id);
    assert_false(model_row_has_feature(m, r2, FEAT_POPULARITY));
    assert_false(model_row_has_feature(m, r2, FEAT_YEAR));
    assert_true(fabsf(model_row_feature(m, r2, FEAT_POPULARITY) - 45.0f) < 1e-4f);

    /* Sources: as given, with row counts from the rows. */
    assert_int_equal(m->n_sources, 2);
    assert_string_equal(model_source(m, 0)->name, "first.csv");
    assert_string_equal(model_source(m, 1)->schema, "tidytuesday-2020");
    assert_int_equal(model_source(m, 0)->n_rows, N_ROWS - 2);
    assert_int_equal(model_source(m, 1)->n_rows, 2);
    assert_int_equal(model_source(m, 1)->n_merged, 2);
    assert_int_equal(model_source(m, 0)->n_collapsed, 2);
    assert_int_equal(model_source(m, 0)->features, (1u << FEAT_VALENCE) | (1u << FEAT_KEY));
    assert_int_equal(model_source(m, 0)->n_genre_rows, 3);
    assert_string_equal(p->genres, "artist genres: hand-made");
    assert_int_equal(p->n_genre_rows, 2);
    assert_int_equal(m->n_genre_dims, 0);

    /* Names: no labels given, so each centroid's ("balanced" at the mean; the other one's two
     * deviations), unique, not empty. */
    assert_string_equal(model_cluster_name(m, 0), "balanced");
    assert_string_equal(model_cluster_name(m, 1), "bright");
    assert_int_equal(model_cluster_size(m, 0), 3);
    assert_int_equal(model_cluster_size(m, 1), 3);

    /* Artists: by name, normalised; their genre lists from the first row that had one. */
    uint32_t ada = model_find_artist(m, "ada lane");
    assert_int_equal(ada, model_row_artist_key(m, r0));
    assert_int_equal(model_find_artist(m, "  ADA LANE "), ada);
    assert_int_equal(model_find_artist(m, "Bjork"), model_row_artist_key(m, r1));
    assert_int_equal(model_find_artist(m, "The Quiet Hours"), MODEL_NO_ROW); /* not primary */
    assert_int_equal(model_find_artist(m, "nobody"), MODEL_NO_ROW);
    assert_int_equal(model_find_artist(m, ""), MODEL_NO_ROW);
    assert_int_equal(model_find_artist(m, NULL), MODEL_NO_ROW);
    const char *genres = model_artist_genres(m, ada);
    assert_string_equal(genres, "art pop");
    genres += strlen(genres) + 1;
    assert_string_equal(genres, "chamber pop");
    genres += strlen(genres) + 1;
    assert_string_equal(genres, "");
    assert_string_equal(model_artist_genres(m, model_row_artist_key(m, r1)), "icelandic pop");
    /* Nina Park's first row has none, her second some. */
    uint32_t nina = model_find_artist(m, "Nina Park");
    assert_string_equal(model_artist_genres(m, nina), "neo soul");

    /* Same primary artist, same key. */
    assert_int_equal(model_row_artist_key(m, row_of(m, ROWS[0].id)),
                     model_row_artist_key(m, row_of(m, ROWS[4].id)));
    assert_int_not_equal(model_row_artist_key(m, row_of(m, ROWS[0].id)),
                         model_row_artist_key(m, row_of(m, ROWS[1].id)));
    /* The artist index lists each row once, under its own artist, ascending. */
    assert_int_equal(m->n_artists, 4); /* A, B, C and the row without artists */
    assert_int_equal(m->artist_start[0], 0);
    assert_int_equal(m->artist_start[m->n_artists], N_ROWS);
    uint32_t listed[N_ROWS] = {0};
    for (uint32_t a = 0; a < m->n_artists; a++) {
        for (uint32_t i = m->artist_start[a]; i < m->artist_start[a + 1]; i++) {
            uint32_t row = m->artist_rows[i];
            assert_true(row < N_ROWS);
            assert_int_equal(model_row_artist_key(m, row), a);
            assert_int_equal(m->artist_keys[row], a);
            if (i > m->artist_start[a])
                assert_true(row > m->artist_rows[i - 1]);
            listed[row]++;
        }
    }
    for (size_t r = 0; r < N_ROWS; r++)
        assert_int_equal(listed[r], 1);
    /* Same song: same artist and normalised title ("Evening" twice by Nina Park, whatever the
     * duration); the same artist with another title, or the same title by another, is not. */
    assert_int_equal(model_row_song_key(m, row_of(m, ROWS[2].id)),
                     model_row_song_key(m, row_of(m, ROWS[3].id)));
    assert_int_not_equal(model_row_song_key(m, row_of(m, ROWS[0].id)),
                         model_row_song_key(m, row_of(m, ROWS[4].id)));
    for (size_t r = 0; r < N_ROWS; r++) {
        assert_true(model_row_song_key(m, (uint32_t)r) < N_ROWS);
        for (size_t q = 0; q < N_ROWS; q++) {
            bool same = q == r || (q + r == 5 && (q == 2 || q == 3));
            uint32_t rr = row_of(m, ROWS[r].id), rq = row_of(m, ROWS[q].id);
            assert_int_equal(model_row_song_key(m, rr) == model_row_song_key(m, rq), same);
        }
    }
    model_close(m);
}

static void test_lookups(void **state)
{
    struct fixture *f = *state;
    struct model *m = NULL;
    char err[256];
    assert_int_equal(model_open(f->path, &m, err, sizeof err), MODEL_OK);
    uint32_t r0 = row_of(m, ROWS[0].id), r1 = row_of(m, ROWS[1].id);
    uint32_t r2 = row_of(m, ROWS[2].id), r3 = row_of(m, ROWS[3].id);
    uint32_t r4 = row_of(m, ROWS[4].id);

    static const struct {
        const char *id;
        int row; /* index into ROWS, -1 = none */
    } IDS[] = {
        {"alias0aaaaaaaaaaaaaaaa", 0},
        {"alias1aaaaaaaaaaaaaaaa", 1},
        {"id1aaaaaaaaaaaaaaaaaaa", 1},
        {"nope", -1},
        {"", -1},
        {NULL, -1},
    };
    for (size_t i = 0; i < sizeof IDS / sizeof IDS[0]; i++) {
        uint32_t want = IDS[i].row < 0 ? MODEL_NO_ROW : row_of(m, ROWS[IDS[i].row].id);
        assert_int_equal(model_find_id(m, IDS[i].id), want);
    }
    assert_int_equal(model_find_isrc(m, "USAAA0000001"), r0);
    assert_int_equal(model_find_isrc(m, "USAAA0000009"), r0);
    assert_int_equal(model_find_isrc(m, "GBAAA0000002"), r1);
    assert_int_equal(model_find_isrc(m, "XX"), MODEL_NO_ROW);
    /* and back: a row's own ISRC, "" for none (NULL and "" in the build) */
    assert_string_equal(model_row_isrc(m, r0), "USAAA0000001");
    assert_string_equal(model_row_isrc(m, r1), "GBAAA0000002");
    assert_string_equal(model_row_isrc(m, r2), "");
    assert_string_equal(model_row_isrc(m, r4), "");

    static const struct {
        const char *title, *artist;
        uint32_t duration_ms;
        int which; /* 0: r0, 1: r1, 2: r2, 3: r3, 4: r4, -1 none */
    } SONGS[] = {
        {"Morning Song", "Ada Lane", 0, 0},
        {"MORNING SONG - Remastered 2011", "ada lane", 201000, 0},
        {"Morning Song (feat. Someone)", "Ada Lane", 0, 0},
        {"Morning Song", "Ada Lane", 260000, -1}, /* beyond the 5 s tolerance */
        {"Joga", "Bjork", 0, 1},
        {"Evening", "Nina Park", 181000, 2},
        {"Evening", "Nina Park", 239000, 3},
        {"Evening", "Nina Park", 0, 2}, /* unknown duration: lowest row of the two */
        {"Quiet", "Ada Lane", 100000, 4},
        {"Nothing", "Nobody", 0, -1},
        {"", "Ada Lane", 0, -1},
    };
    uint32_t rows[5] = {r0, r1, r2, r3, r4};
    for (size_t i = 0; i < sizeof SONGS / sizeof SONGS[0]; i++) {
        uint32_t want = SONGS[i].which < 0 ? MODEL_NO_ROW : rows[SONGS[i].which];
        if (SONGS[i].which == 2 && SONGS[i].duration_ms == 0)
            want = r2 < r3 ? r2 : r3;
        assert_int_equal(model_find_song(m, SONGS[i].title, SONGS[i].artist, SONGS[i].duration_ms),
                         want);
    }

    /* Transform with a missing feature uses the mean; nearest centroid. */
    struct model_raw raw = {.present = 1u << FEAT_VALENCE};
    raw.value[FEAT_VALENCE] = 0.75;
    float scaled[3];
    model_transform(m, &raw, scaled);
    assert_true(fabsf(scaled[0] - 1.0f) < 1e-6f);
    assert_true(scaled[1] == 0.0f && scaled[2] == 0.0f);
    float d2 = -1;
    assert_int_equal(model_nearest_centroid(m, scaled, &d2), 0);
    assert_true(fabsf(d2 - 1.0f) < 1e-6f);
    /* Spotify's key -1 ("no key") counts as unknown. */
    raw.present |= 1u << FEAT_KEY;
    raw.value[FEAT_KEY] = -1;
    model_transform(m, &raw, scaled);
    assert_true(scaled[1] == 0.0f && scaled[2] == 0.0f);
    float far[3] = {2, 2, 2};
    assert_int_equal(model_nearest_centroid(m, far, NULL), 1);
    model_close(m);
}

static void test_writer_refuses_bad_input(void **state)
{
    (void)state;
    struct model_build b;
    float scaled[N_ROWS * 3], centroids[6];
    char err[256];
    static const char *const EXPECT[] = {
        "cluster", "k ",      "n_dims", "scaler",     "alias",      "n_genre_dims", "scaler",
        "source",  "present", "energy", "both named", "name empty", "n_sources",    "genre_weight"};
    static const char *const SAME_NAMES[] = {"jazz", "jazz"};
    static const char *const EMPTY_NAME[] = {"jazz", ""};
    for (int c = 0; c < (int)(sizeof EXPECT / sizeof EXPECT[0]); c++) {
        fill_build(&b, scaled, centroids);
        struct model_build_row rows[N_ROWS];
        struct model_build_alias alias = {"x", NULL, 99};
        memcpy(rows, ROWS, sizeof rows);
        b.rows = rows;
        if (c == 0) {
            rows[2].cluster = 2;
            b.rows = rows;
        } else if (c == 1) {
            b.k = 0;
        } else if (c == 2) {
            b.n_dims = MODEL_MAX_DIMS + 1;
        } else if (c == 3) {
            b.dims[0].std = 0;
        } else if (c == 4) {
            b.aliases = &alias;
            b.n_aliases = 1;
        } else if (c == 5) {
            b.n_genre_dims = 3; /* every dimension: no audio left */
        } else if (c == 6) {
            b.n_genre_dims = 1; /* the last dimension is key cos, not a genre component */
        } else if (c == 7) {
            rows[3].source = 2; /* two sources */
        } else if (c == 8) {
            rows[3].present = 1u << FEAT_COUNT;
        } else if (c == 9) {
            rows[3].present = 1u << FEAT_ENERGY;
            rows[3].value[FEAT_ENERGY] = NAN;
        } else if (c == 10) {
            b.cluster_names = SAME_NAMES;
        } else if (c == 11) {
            b.cluster_names = EMPTY_NAME;
        } else if (c == 12) {
            b.n_sources = MODEL_MAX_SOURCES + 1;
        } else {
            b.genre_weight = -1;
        }
        assert_int_equal(model_write(&b, "/tmp/never-written.model", err, sizeof err),
                         MODEL_ERR_INVALID);
        assert_non_null(strstr(err, EXPECT[c]));
    }
    assert_int_equal(access("/tmp/never-written.model", F_OK), -1);
}

/* The status a single flipped byte at offset must give. */
static void expect_flip(size_t at, enum model_status got)
{
    if (at < 8)
        assert_int_equal(got, MODEL_ERR_FOREIGN);
    else if (at < 12 || (at >= 20 && at < 24))
        assert_int_equal(got, MODEL_ERR_VERSION);
    else if (at >= 24 && at < 32)
        assert_true(got == MODEL_ERR_TRUNCATED || got == MODEL_ERR_CORRUPT);
    else
        assert_int_equal(got, MODEL_ERR_CORRUPT);
}

static void test_corrupt_corpus_is_refused(void **state)
{
    struct fixture *f = *state;
    unsigned char *copy = malloc(f->len + 16);
    char err[256];
    struct model *m = NULL;

    /* Truncated at every length from 0 to the full size minus one. */
    for (size_t len = 0; len < f->len; len += (len < 512 ? 1 : 37)) {
        err[0] = '\0';
        assert_int_equal(open_bytes(f->bytes, len, &m, err, sizeof err), MODEL_ERR_TRUNCATED);
        assert_non_null(strstr(err, "model /tmp/"));
    }
    /* Every byte flipped, one at a time. */
    for (size_t at = 0; at < f->len; at++) {
        memcpy(copy, f->bytes, f->len);
        copy[at] ^= (unsigned char)(1u << (at % 8));
        expect_flip(at, open_bytes(copy, f->len, &m, err, sizeof err));
    }
    /* Extra bytes after the end, a foreign file, an old and a future version. */
    memcpy(copy, f->bytes, f->len);
    memset(copy + f->len, 0, 16);
    assert_int_equal(open_bytes(copy, f->len + 16, &m, err, sizeof err), MODEL_ERR_CORRUPT);
    assert_int_equal(
        open_bytes((const unsigned char *)"PK\3\4 a zip file, not ours", 26, &m, err, sizeof err),
        MODEL_ERR_FOREIGN);
    assert_non_null(strstr(err, "magic"));
    /* 1: before the artist index; 2: before raw values, names, sources and genres. */
    static const uint32_t VERSIONS[] = {0, 1, 2, 4, 0xffffffffu};
    for (size_t i = 0; i < sizeof VERSIONS / sizeof VERSIONS[0]; i++) {
        memcpy(copy, f->bytes, f->len);
        memcpy(copy + 8, &VERSIONS[i], 4);
        assert_int_equal(open_bytes(copy, f->len, &m, err, sizeof err), MODEL_ERR_VERSION);
        assert_non_null(strstr(err, "version"));
        if (VERSIONS[i] == 2)
            assert_non_null(strstr(err, "format version 2, this build reads version 3 (rebuild "
                                        "it with reco-model build)"));
    }
    assert_int_equal(model_open("/nonexistent/dir/x.model", &m, err, sizeof err), MODEL_ERR_IO);
    assert_non_null(strstr(err, "No such file"));
    assert_int_equal(model_open("/tmp", &m, err, sizeof err), MODEL_ERR_IO);
    free(copy);
}

/* Mutations re-sealed with a fresh checksum reach the structural checks: each either opens
 * (and then every accessor stays in bounds) or is refused as corrupt; never a crash. */
static void test_resealed_mutations_stay_in_bounds(void **state)
{
    struct fixture *f = *state;
    unsigned char *copy = malloc(f->len);
    char err[256];
    uint64_t rng = 0x2545f4914f6cdd1dull;
    int refused = 0;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, f->bytes, f->len);
        for (int e = 0; e < 1 + round % 4; e++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t at = MODEL_HEADER_LEN + rng % (f->len - MODEL_HEADER_LEN);
            copy[at] = (unsigned char)(rng >> 32);
        }
        uint64_t sum = model_checksum(copy + MODEL_HEADER_LEN, f->len - MODEL_HEADER_LEN);
        memcpy(copy + MODEL_HEADER_CHECKSUM_OFFSET, &sum, sizeof sum);
        struct model *m = NULL;
        enum model_status status = open_bytes(copy, f->len, &m, err, sizeof err);
        if (status != MODEL_OK) {
            assert_int_equal(status, MODEL_ERR_CORRUPT);
            refused++;
            continue;
        }
        for (uint32_t r = 0; r < m->n_rows; r++) {
            struct model_raw raw;
            model_row_raw(m, r, &raw);
            size_t total = strlen(model_row_id(m, r)) + strlen(model_row_name(m, r)) +
                           strlen(model_row_genre(m, r));
            for (const char *a = model_row_artists(m, r); *a; a += strlen(a) + 1)
                total++;
            assert_true(model_row_cluster(m, r) < m->k || total == 0);
            model_find_id(m, model_row_id(m, r));
            model_find_song(m, model_row_name(m, r), model_row_artists(m, r), 0);
        }
        model_close(m);
    }
    assert_true(refused > 100);
    free(copy);
}

/* The artist index is checked whole: a row listed out of order, under another artist or
 * twice, or an artist key out of range, is refused as corrupt even with a valid checksum; so
 * is a row norm that is not its vector's, and a song key shared by two artists' songs. */
static void test_artist_index_is_checked(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct model *m = NULL;
    assert_int_equal(open_bytes(f->bytes, f->len, &m, err, sizeof err), MODEL_OK);
    const unsigned char *base = m->map;
    size_t keys_at = (size_t)((const unsigned char *)m->artist_keys - base);
    size_t rows_at = (size_t)((const unsigned char *)m->artist_rows - base);
    size_t norms_at = (size_t)((const unsigned char *)m->row_norms - base);
    struct mf_section meta_section;
    memcpy(&meta_section, f->bytes + MF_HEADER_LEN + (MF_SEC_ROW_META - 1) * sizeof meta_section,
           sizeof meta_section);
    uint32_t row_a = row_of(m, ROWS[0].id), row_b = row_of(m, ROWS[1].id); /* two artists */
    uint32_t n_artists = m->n_artists;
    /* An artist with two rows (Ada Lane: ROWS[0] and ROWS[4]). */
    uint32_t a = model_row_artist_key(m, row_of(m, ROWS[0].id));
    uint32_t first = m->artist_start[a];
    assert_int_equal(m->artist_start[a + 1] - first, 2);
    uint32_t other_row = row_of(m, ROWS[1].id);
    model_close(m);

    unsigned char *copy = malloc(f->len);
    for (int c = 0; c < 6; c++) {
        memcpy(copy, f->bytes, f->len);
        uint32_t *rows = (uint32_t *)(void *)(copy + rows_at);
        uint32_t *keys = (uint32_t *)(void *)(copy + keys_at);
        if (c == 0) { /* the artist's two rows swapped */
            uint32_t t = rows[first];
            rows[first] = rows[first + 1];
            rows[first + 1] = t;
        } else if (c == 1) { /* the same row twice */
            rows[first + 1] = rows[first];
        } else if (c == 2) { /* another artist's row */
            rows[first] = other_row;
        } else if (c == 3) { /* a key past the last artist */
            keys[other_row] = n_artists;
        } else if (c == 4) { /* a norm far from its vector's */
            float *norms = (float *)(void *)(copy + norms_at);
            norms[row_a] *= 0.5f;
        } else { /* row b's song key made row a's: one song, two artists */
            uint32_t song_a;
            size_t at_a = meta_section.offset + row_a * sizeof(struct mf_row) +
                          offsetof(struct mf_row, song_key);
            size_t at_b = meta_section.offset + row_b * sizeof(struct mf_row) +
                          offsetof(struct mf_row, song_key);
            memcpy(&song_a, copy + at_a, sizeof song_a);
            memcpy(copy + at_b, &song_a, sizeof song_a);
        }
        uint64_t sum = model_checksum(copy + MODEL_HEADER_LEN, f->len - MODEL_HEADER_LEN);
        memcpy(copy + MODEL_HEADER_CHECKSUM_OFFSET, &sum, sizeof sum);
        err[0] = '\0';
        assert_int_equal(open_bytes(copy, f->len, &m, err, sizeof err), MODEL_ERR_CORRUPT);
        assert_non_null(strstr(err, c == 4 ? "norm" : "artist"));
    }
    free(copy);
}

/* A model with a genre embedding block: the dims, n_genre_dims, the transform leaving the block
 * at 0 (a track known by raw features only), the raw values of the audio dims. */
static void test_genre_dims_round_trip(void **state)
{
    (void)state;
    struct model_build b;
    float scaled3[N_ROWS * 3], centroids3[6];
    fill_build(&b, scaled3, centroids3);
    float scaled[N_ROWS * 5], centroids[10];
    for (size_t r = 0; r < N_ROWS; r++) {
        memcpy(scaled + r * 5, scaled3 + r * 3, 3 * sizeof(float));
        scaled[r * 5 + 3] = (float)r * 0.5f;
        scaled[r * 5 + 4] = -1.0f;
    }
    for (size_t c = 0; c < 2; c++) {
        memcpy(centroids + c * 5, centroids3 + c * 3, 3 * sizeof(float));
        centroids[c * 5 + 3] = centroids[c * 5 + 4] = (float)c;
    }
    b.n_dims = 5;
    b.n_genre_dims = 2;
    b.genre_weight = 2.0;
    b.dims[3] = (struct model_build_dim){(enum model_feature)0, MODEL_DIM_GENRE, 0.0, 1.0, 3.0};
    b.dims[4] = (struct model_build_dim){(enum model_feature)1, MODEL_DIM_GENRE, 0.0, 1.0, 3.0};
    b.scaled = scaled;
    b.centroids = centroids;
    char path[256], err[256];
    snprintf(path, sizeof path, "/tmp/model_test_genre_%d.model", (int)getpid());
    assert_int_equal(model_write(&b, path, err, sizeof err), MODEL_OK);
    struct model *m = NULL;
    assert_int_equal(model_open(path, &m, err, sizeof err), MODEL_OK);
    remove(path);
    assert_int_equal(m->n_dims, 5);
    assert_int_equal(m->n_genre_dims, 2);
    assert_int_equal(m->n_features, 2); /* valence, key: genre components are not features */
    assert_true(fabs(model_get_params(m)->genre_weight - 2.0) < 1e-12);
    uint32_t r1 = row_of(m, ROWS[1].id);
    assert_true(fabsf(m->rows[r1 * 5 + 3] - 0.5f) < 1e-6f);
    /* Raw values come from the audio dims only. */
    struct model_raw raw;
    model_row_raw(m, r1, &raw);
    assert_true(fabs(raw.value[FEAT_VALENCE] - VALENCE[1]) < 1e-5);
    float out[5] = {9, 9, 9, 9, 9};
    model_transform(m, &raw, out);
    assert_true(out[3] == 0.0f && out[4] == 0.0f);
    assert_true(fabsf(out[0] - m->rows[r1 * 5]) < 1e-4f);
    float near_one[5] = {1, 1, 1, 1, 1};
    assert_int_equal(model_nearest_centroid(m, near_one, NULL), 1);
    /* Centroid names skip the genre block. */
    assert_string_equal(model_cluster_name(m, 1), "bright");
    model_close(m);
}

/* Each new section of format 3 is validated: a re-sealed file with one field of it wrong is
 * refused as corrupt, with a message naming what. */
static void test_format3_sections_are_checked(void **state)
{
    struct fixture *f = *state;
    char err[256];
    struct model *m = NULL;
    struct mf_section sec[MF_SEC_COUNT + 1];
    for (uint32_t id = 1; id <= MF_SEC_COUNT; id++)
        memcpy(&sec[id], f->bytes + MF_HEADER_LEN + (id - 1) * sizeof sec[id], sizeof sec[id]);
    struct mf_params params;
    memcpy(&params, f->bytes + sec[MF_SEC_PARAMS].offset, sizeof params);
    static const struct {
        const char *what, *says;
    } CASES[] = {
        {"raw value NaN", "raw feature value"},
        {"cluster name offset past the strings", "cluster 1: name"},
        {"cluster name empty", "cluster 0: name"},
        {"source row count", "source 1"},
        {"source name offset", "source 0"},
        {"row source out of range", "source or present"},
        {"present bit past the features", "source or present"},
        {"artist table entry past the artists", "artist_table"},
        {"artist genre list offset", "artist 0: genre list"},
        {"n_sources 0", "n_sources 0"},
        {"n_genre_dims = n_dims", "n_genre_dims 3"},
        {"genre weight negative", "genre_weight"},
        {"genres string offset", "params string offset"},
        {"an audio dimension counted as genre", "dimension 1 is not genre embedding component 0"},
    };
    unsigned char *copy = malloc(f->len);
    for (size_t c = 0; c < sizeof CASES / sizeof CASES[0]; c++) {
        memcpy(copy, f->bytes, f->len);
        struct mf_params p = params;
        uint32_t u32;
        switch (c) {
        case 0: {
            float nan = NAN;
            memcpy(copy + sec[MF_SEC_ROW_RAW].offset + 5 * sizeof(float), &nan, sizeof nan);
            break;
        }
        case 1:
            u32 = (uint32_t)sec[MF_SEC_STRINGS].length;
            memcpy(copy + sec[MF_SEC_CLUSTER_NAMES].offset + 4, &u32, 4);
            break;
        case 2:
            u32 = 0; /* offset 0 is the empty string */
            memcpy(copy + sec[MF_SEC_CLUSTER_NAMES].offset, &u32, 4);
            break;
        case 3:
            u32 = 5;
            memcpy(copy + sec[MF_SEC_SOURCES].offset + sizeof(struct mf_source) +
                       offsetof(struct mf_source, n_rows),
                   &u32, 4);
            break;
        case 4:
            u32 = (uint32_t)sec[MF_SEC_STRINGS].length + 7;
            memcpy(copy + sec[MF_SEC_SOURCES].offset + offsetof(struct mf_source, name_off), &u32,
                   4);
            break;
        case 5:
            copy[sec[MF_SEC_ROW_META].offset + offsetof(struct mf_row, source)] = 2;
            break;
        case 6:
            u32 = 1u << FEAT_COUNT;
            memcpy(copy + sec[MF_SEC_ROW_META].offset + offsetof(struct mf_row, present), &u32, 4);
            break;
        case 7: {
            struct mf_slot *slots =
                (struct mf_slot *)(void *)(copy + sec[MF_SEC_ARTIST_TABLE].offset);
            uint64_t n = sec[MF_SEC_ARTIST_TABLE].length / sizeof *slots;
            for (uint64_t i = 0; i < n; i++)
                if (slots[i].row != MF_EMPTY_SLOT) {
                    slots[i].row = params.n_artists;
                    break;
                }
            break;
        }
        case 8:
            u32 = (uint32_t)sec[MF_SEC_STRINGS].length;
            memcpy(copy + sec[MF_SEC_ARTIST_GENRES].offset, &u32, 4);
            break;
        case 9:
            p.n_sources = 0;
            break;
        case 10:
            p.n_genre_dims = p.n_dims;
            break;
        case 11:
            p.genre_weight = -1;
            break;
        case 12:
            p.genres_off = (uint32_t)sec[MF_SEC_STRINGS].length;
            break;
        default:
            p.n_genre_dims = p.n_dims - 1; /* key sin and cos are not genre components */
            break;
        }
        if (c >= 9)
            memcpy(copy + sec[MF_SEC_PARAMS].offset, &p, sizeof p);
        uint64_t sum = model_checksum(copy + MODEL_HEADER_LEN, f->len - MODEL_HEADER_LEN);
        memcpy(copy + MODEL_HEADER_CHECKSUM_OFFSET, &sum, sizeof sum);
        err[0] = '\0';
        enum model_status got = open_bytes(copy, f->len, &m, err, sizeof err);
        if (got != MODEL_ERR_CORRUPT || !strstr(err, CASES[c].says))
            fail_msg("%s: status %d, '%s' lacks '%s'", CASES[c].what, got, err, CASES[c].says);
    }
    free(copy);
}

static void test_normalize(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        bool title;
        const char *want;
    } CASES[] = {
        {"Hello,   World!", false, "hello world"},
        {"  Don't Stop Me Now ", true, "dont stop me now"},
        {"Beyoncé", false, "beyonce"},
        {"Sigur Rós", false, "sigur ros"},
        {"Motörhead", false, "motorhead"},
        {"Straße", false, "strasse"},
        {"Łódź", false, "lodz"},
        {"Simon & Garfunkel", false, "simon and garfunkel"},
        {"Bohemian Rhapsody - Remastered 2011", true, "bohemian rhapsody"},
        {"Bohemian Rhapsody – Remastered 2011", true, "bohemian rhapsody"},
        {"Song (Live)", true, "song"},
        {"Song [Live at Wembley]", true, "song"},
        {"Song (feat. Other Artist)", true, "song"},
        {"Song feat. Other Artist", true, "song"},
        {"(I Can't Get No) Satisfaction", true, "i cant get no satisfaction"},
        {"Part 1 - The Beginning", true, "part 1 the beginning"},
        {"Song (Live)", false, "song live"},
        {"Love Me Do - Mono Version", true, "love me do"},
        {"Olivia", true, "olivia"},
        {"東京", false, "東京"},
        {"", true, ""},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char out[128];
        size_t n = model_normalize(CASES[i].in, CASES[i].title, out, sizeof out);
        if (strcmp(out, CASES[i].want) != 0)
            fail_msg("case %zu: '%s' -> '%s', want '%s'", i, CASES[i].in, out, CASES[i].want);
        assert_int_equal(n, strlen(out));
    }
    char small[6];
    assert_int_equal(model_normalize("abcdefghij", false, small, sizeof small), 5);
    assert_string_equal(small, "abcde");
}

static void test_feature_names(void **state)
{
    (void)state;
    for (int f = 0; f < FEAT_COUNT; f++) {
        enum model_feature back;
        assert_int_equal(model_feature_from_name(model_feature_name((enum model_feature)f), &back),
                         0);
        assert_int_equal(back, f);
    }
    enum model_feature unused;
    assert_int_equal(model_feature_from_name("loudnes", &unused), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lookups, setup, teardown),
        cmocka_unit_test(test_writer_refuses_bad_input),
        cmocka_unit_test_setup_teardown(test_corrupt_corpus_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resealed_mutations_stay_in_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_artist_index_is_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format3_sections_are_checked, setup, teardown),
        cmocka_unit_test(test_genre_dims_round_trip),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_feature_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
