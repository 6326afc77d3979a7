/* Unit tests of the emulator's catalog reader and users: the fixture's columns (list-literal
 * artists with quotes inside, ISRCs, genres), determinism of libraries from a seed, the mix of
 * kinds (catalog, other releases, fresh, local), and the demo user's uneven genre shares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "catalog.h"
#include "harness.h"
#include "library.h"

static struct emu_catalog catalog;

static int load(void **state)
{
    (void)state;
    return emu_catalog_load(harness_source("tests/emulator/testdata/catalog.csv"), &catalog) ==
                   EMU_CATALOG_OK
               ? 0
               : -1;
}

static int unload(void **state)
{
    (void)state;
    emu_catalog_free(&catalog);
    return 0;
}

static void test_catalog_columns(void **state)
{
    (void)state;
    assert_int_equal(catalog.n_tracks, 384);
    assert_int_equal(catalog.skipped_rows, 0);
    const struct emu_track *first = emu_catalog_find(&catalog, "wYYh6CaZipkGgpdh5sRL5N");
    assert_non_null(first);
    assert_string_equal(first->name, "Blue Blue 0");
    assert_int_equal(first->n_artists, 1);
    assert_string_equal(first->artists[0], "Hana Reyes");
    assert_string_equal(first->release_date, "2010-10-16");
    assert_string_equal(first->isrc, "QZMAB1000000");
    assert_string_equal(first->genre, "jazz");
    assert_true(first->has_features);
    assert_true(first->explicit_lyrics);
    assert_int_equal(first->duration_ms, 196324);
    /* An artist name with an apostrophe arrives as a double-quoted Python string. */
    size_t with_apostrophe = 0;
    for (size_t i = 0; i < catalog.n_tracks; i++)
        for (int a = 0; a < catalog.tracks[i].n_artists; a++)
            with_apostrophe += strncmp(catalog.tracks[i].artists[a], "O'Neil ", 7) == 0;
    assert_true(with_apostrophe > 0);
    assert_null(emu_catalog_find(&catalog, "0000000000000000000000"));
}

static void test_missing_and_bad_files(void **state)
{
    (void)state;
    struct emu_catalog other;
    assert_int_equal(emu_catalog_load("/nonexistent/catalog.csv", &other), EMU_CATALOG_ERR_IO);
    char path[] = "/tmp/emu-catalog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *file = fdopen(fd, "w");
    fputs("title,artist\nA,B\n", file);
    fclose(file);
    assert_int_equal(emu_catalog_load(path, &other), EMU_CATALOG_ERR_HEADER);
    file = fopen(path, "w");
    fputs("id,name,artists\nnot-an-id,A,B\n", file);
    fclose(file);
    assert_int_equal(emu_catalog_load(path, &other), EMU_CATALOG_ERR_EMPTY);
    /* The Kaggle 114k schema: track_id, track_name, artists joined by ';', no year. */
    file = fopen(path, "w");
    fputs("track_id,artists,album_name,track_name,duration_ms,explicit,danceability,track_genre\n"
          "5SuOikwiRyPMVoIQDJUgSV,Gen Hoshino;Other One,Comedy,Comedy,230666,False,0.676,"
          "acoustic\n",
          file);
    fclose(file);
    assert_int_equal(emu_catalog_load(path, &other), EMU_CATALOG_OK);
    assert_int_equal(other.tracks[0].n_artists, 2);
    assert_string_equal(other.tracks[0].artists[1], "Other One");
    assert_string_equal(other.tracks[0].album, "Comedy");
    assert_int_equal(strlen(other.tracks[0].release_date), 4);
    assert_false(other.tracks[0].has_features);
    emu_catalog_free(&other);
    remove(path);
}

static void test_libraries_are_deterministic_and_mixed(void **state)
{
    (void)state;
    struct emu_library a, b, c;
    emu_library_build(&catalog, 200, 7, &a);
    emu_library_build(&catalog, 200, 7, &b);
    emu_library_build(&catalog, 200, 8, &c);
    const struct emu_user *demo = emu_library_user(&a, "demo");
    assert_non_null(demo);
    assert_string_equal(demo->display_name, "Demo Listener");
    assert_ptr_equal(demo, &a.users[0]);
    assert_int_equal(demo->n_saved, 200);
    assert_int_equal(emu_library_user(&a, "newcomer")->n_saved, 0);
    assert_false(emu_library_user(&a, "outsider")->allow_listed);
    bool same = true, differs = false;
    size_t kinds[4] = {0};
    for (size_t i = 0; i < demo->n_saved; i++) {
        same = same && strcmp(demo->saved[i].track.id, b.users[0].saved[i].track.id) == 0;
        differs = differs || strcmp(demo->saved[i].track.id, c.users[0].saved[i].track.id) != 0;
        kinds[demo->saved[i].kind]++;
        if (i > 0)
            assert_true(demo->saved[i].added_at < demo->saved[i - 1].added_at);
        const struct emu_track *track = &demo->saved[i].track;
        switch (demo->saved[i].kind) {
        case EMU_SAVED_CATALOG:
            assert_non_null(emu_catalog_find(&catalog, track->id));
            break;
        case EMU_SAVED_DUPLICATE: {
            assert_null(emu_catalog_find(&catalog, track->id));
            assert_true(emu_id_valid(track->id));
            /* Same song as some catalog row: same ISRC and title. */
            bool found = false;
            for (size_t k = 0; k < catalog.n_tracks && !found; k++)
                found = strcmp(catalog.tracks[k].isrc, track->isrc) == 0 &&
                        strcmp(catalog.tracks[k].name, track->name) == 0;
            assert_true(found);
            break;
        }
        case EMU_SAVED_FRESH:
            assert_true(emu_id_valid(track->id));
            assert_null(emu_catalog_find(&catalog, track->id));
            break;
        case EMU_SAVED_LOCAL:
            assert_string_equal(track->id, "");
            break;
        }
    }
    assert_true(same);
    assert_true(differs);
    for (int k = 0; k < 4; k++)
        assert_true(kinds[k] > 0);
    emu_library_free(&a);
    emu_library_free(&b);
    emu_library_free(&c);
}

static void test_demo_taste_is_uneven(void **state)
{
    (void)state;
    struct emu_library library;
    emu_library_build(&catalog, 100, 1, &library);
    const struct emu_user *demo = &library.users[0];
    const char *names[8] = {0};
    size_t counts[8] = {0}, n = 0, total = 0;
    for (size_t i = 0; i < demo->n_saved; i++) {
        const char *genre = demo->saved[i].track.genre;
        if (!genre)
            continue;
        size_t g = 0;
        while (g < n && strcmp(names[g], genre) != 0)
            g++;
        if (g == n)
            names[n++] = genre;
        counts[g]++;
        total++;
    }
    assert_int_equal(n, 3);
    size_t largest = 0, smallest = total;
    for (size_t g = 0; g < n; g++) {
        largest = counts[g] > largest ? counts[g] : largest;
        smallest = counts[g] < smallest ? counts[g] : smallest;
    }
    /* Shares are 60/30/10: the largest genre is clearly ahead, the smallest clearly behind. */
    assert_true(largest * 100 >= total * 45);
    assert_true(smallest * 100 <= total * 20);
    emu_library_free(&library);
}

static void test_small_genres_hand_over_instead_of_inventing(void **state)
{
    (void)state;
    /* 150 tracks at 60/30/10 need 90 songs of one genre; the fixture's genres have 64 each.
     * The overflow goes to the user's other genres, not to invented songs. */
    struct emu_library library;
    emu_library_build(&catalog, 150, 3, &library);
    const struct emu_user *demo = &library.users[0];
    size_t fresh = 0;
    for (size_t i = 0; i < demo->n_saved; i++)
        fresh += demo->saved[i].kind == EMU_SAVED_FRESH;
    assert_true(fresh * 100 <= demo->n_saved * 8);
    emu_library_free(&library);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalog_columns),
        cmocka_unit_test(test_missing_and_bad_files),
        cmocka_unit_test(test_libraries_are_deterministic_and_mixed),
        cmocka_unit_test(test_demo_taste_is_uneven),
        cmocka_unit_test(test_small_genres_hand_over_instead_of_inventing),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
