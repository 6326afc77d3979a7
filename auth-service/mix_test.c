/* The RecommendRequest built from saved tracks: every field Spotify gave us is carried, local
 * files go by title, and an empty library is refused before any call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mix.h"
#include "reco.pb-c.h"

static void test_request_fields(void **state)
{
    (void)state;
    struct saved_track tracks[2] = {0};
    memcpy(tracks[0].id, "4uLU6hMCjMI75M1A2tKUQC", 23);
    memcpy(tracks[0].isrc, "GBARL8700123", 13);
    tracks[0].name = "Never Gonna";
    tracks[0].artists[0] = "Ada Lane";
    tracks[0].artists[1] = "The Quiet Hours";
    tracks[0].n_artists = 2;
    tracks[0].duration_ms = 213000;
    tracks[0].year = 1987;
    tracks[0].explicit_lyrics = true;
    tracks[0].has_features = true;
    for (int k = 0; k < SPOTIFY_N_FEATURES; k++)
        tracks[0].features[k] = k * 0.1;
    tracks[1].name = "home demo"; /* a local file: no id */
    tracks[1].is_local = true;
    struct saved_library lib = {.tracks = tracks, .count = 2};
    struct mix_params params = {.n = 50, .variety = 7};
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(mix_build_request(&lib, &params, &bytes, &len), MIX_OK);
    Mixtape__Reco__RecommendRequest *req =
        mixtape__reco__recommend_request__unpack(NULL, len, bytes);
    assert_non_null(req);
    assert_int_equal(req->n_saved, 2);
    assert_int_equal(req->n, 50);
    assert_int_equal(req->variety, 7);
    const Mixtape__Reco__SavedTrack *a = req->saved[0];
    assert_string_equal(a->id, "4uLU6hMCjMI75M1A2tKUQC");
    assert_string_equal(a->isrc, "GBARL8700123");
    assert_string_equal(a->name, "Never Gonna");
    assert_int_equal(a->n_artists, 2);
    assert_string_equal(a->artists[0], "Ada Lane");
    assert_int_equal(a->duration_ms, 213000);
    assert_int_equal(a->year, 1987);
    assert_true(a->explicit_);
    assert_int_equal(a->n_features, SPOTIFY_N_FEATURES);
    assert_string_equal(a->features[10]->name, "tempo");
    const Mixtape__Reco__SavedTrack *b = req->saved[1];
    assert_null(b->id);
    assert_null(b->isrc);
    assert_string_equal(b->name, "home demo");
    assert_false(b->has_year);
    assert_int_equal(b->n_features, 0);
    mixtape__reco__recommend_request__free_unpacked(req, NULL);

    /* Nothing steered: no steering field is sent. */
    req = mixtape__reco__recommend_request__unpack(NULL, len, bytes);
    free(bytes);
    assert_non_null(req);
    assert_false(req->has_discover || req->has_explicit_ || req->has_max_per_artist);
    assert_null(req->target);
    assert_null(req->years);
    mixtape__reco__recommend_request__free_unpacked(req, NULL);

    /* Every steering field reaches the request. */
    struct mix_params steered = {.n = 20,
                                 .max_per_artist = 1,
                                 .has_discover = true,
                                 .discover = 0.5f,
                                 .energy = {true, 0.9f},
                                 .valence = {true, 0.1f},
                                 .danceability = {true, 0.7f},
                                 .tempo = {true, 100.0f},
                                 .year_from = 1980,
                                 .year_to = 1989,
                                 .no_explicit = true};
    assert_int_equal(mix_build_request(&lib, &steered, &bytes, &len), MIX_OK);
    req = mixtape__reco__recommend_request__unpack(NULL, len, bytes);
    assert_non_null(req);
    assert_true(req->has_max_per_artist && req->max_per_artist == 1);
    assert_true(req->has_discover && req->discover == 0.5f);
    assert_true(req->target && req->target->energy == 0.9f && req->target->valence == 0.1f &&
                req->target->danceability == 0.7f && req->target->tempo == 100.0f);
    assert_true(req->years && req->years->from == 1980 && req->years->to == 1989);
    assert_true(req->has_explicit_ && !req->explicit_);
    mixtape__reco__recommend_request__free_unpacked(req, NULL);
    free(bytes);

    struct saved_library empty = {0};
    bytes = NULL;
    assert_int_equal(mix_build_request(&empty, &params, &bytes, &len), MIX_ERR_EMPTY_LIBRARY);
    assert_null(bytes);
}

/* ISRCs from the compute service: kept when they are one, normalised, else dropped. */
static void test_isrc_copy(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } CASES[] = {
        {"USRC17607839", "USRC17607839"},
        {"us-rc1-76-07839", "USRC17607839"},
        {"GB AAA 00 00002", "GBAAA0000002"},
        {NULL, ""},
        {"", ""},
        {"USRC1760783", ""},   /* 11 */
        {"USRC176078390", ""}, /* 13 */
        {"USRC1760783\"", ""}, /* not a letter or digit */
        {"<script>x</script>", ""},
        {"USRC17607839\xc3\xa9", ""},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char out[13];
        memset(out, 'x', sizeof out);
        mix_isrc_copy(CASES[i].in, out);
        if (strcmp(out, CASES[i].out) != 0)
            fail_msg("'%s': '%s', expected '%s'", CASES[i].in ? CASES[i].in : "(null)", out,
                     CASES[i].out);
    }
}

static void test_result_json(void **state)
{
    (void)state;
    struct mix_pick picks[1] = {{.id = "0000000000000000000001",
                                 .name = "Song",
                                 .artists = "A, B",
                                 .year = 1999,
                                 .score = 0.5f,
                                 .cluster = 3,
                                 .because = "Never Gonna",
                                 .style = "jazz · bossa nova",
                                 .reason = RECO_RPC_REASON_SAME_ARTIST,
                                 .isrc = "USRC17607839"}};
    struct mix_style styles[2] = {
        {.name = "jazz · bossa nova", .library_share = 0.8f, .playlist_share = 1.0f},
        {.name = "metal", .library_share = 0.2f}};
    struct mix_cluster clusters[1] = {{.cluster = 3, .saved = 10, .slots = 1}};
    struct mix_result r = {.picks = picks,
                           .n_picks = 1,
                           .clusters = clusters,
                           .n_clusters = 1,
                           .styles = styles,
                           .n_styles = 2,
                           .short_reason = "only 1 songs from 1990-1991",
                           .stats = {.saved = 12,
                                     .by_id = 10,
                                     .by_artist = 1,
                                     .unmatched = 1,
                                     .by_decade = {{"1990s", 12, 10, 1}},
                                     .n_by_decade = 1}};
    cJSON *obj = cJSON_CreateObject();
    mix_result_to_json(&r, obj);
    const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(obj, "tracks"), 0);
    assert_string_equal(cJSON_GetObjectItem(t, "id")->valuestring, "0000000000000000000001");
    assert_string_equal(cJSON_GetObjectItem(t, "because")->valuestring, "Never Gonna");
    assert_int_equal(cJSON_GetObjectItem(t, "year")->valueint, 1999);
    assert_string_equal(cJSON_GetObjectItem(t, "isrc")->valuestring, "USRC17607839");
    const cJSON *stats = cJSON_GetObjectItem(obj, "stats");
    assert_int_equal(cJSON_GetObjectItem(stats, "matched")->valueint, 11);
    assert_string_equal(cJSON_GetObjectItem(t, "style")->valuestring, "jazz · bossa nova");
    assert_string_equal(cJSON_GetObjectItem(t, "reason")->valuestring, "same_artist");
    const cJSON *st = cJSON_GetObjectItem(obj, "styles");
    assert_int_equal(cJSON_GetArraySize(st), 2);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(st, 0), "name")->valuestring,
                        "jazz · bossa nova");
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(st, 0), "library_share")->valuedouble ==
                0.8);
    assert_true(cJSON_GetObjectItem(cJSON_GetArrayItem(st, 1), "playlist_share")->valuedouble ==
                0.0);
    const cJSON *match = cJSON_GetObjectItem(obj, "match");
    assert_int_equal(cJSON_GetObjectItem(match, "saved")->valueint, 12);
    assert_int_equal(cJSON_GetObjectItem(match, "songs")->valueint, 10);
    assert_int_equal(cJSON_GetObjectItem(match, "artists_only")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(match, "unmatched")->valueint, 1);
    const cJSON *decade = cJSON_GetArrayItem(cJSON_GetObjectItem(match, "by_decade"), 0);
    assert_string_equal(cJSON_GetObjectItem(decade, "decade")->valuestring, "1990s");
    assert_int_equal(cJSON_GetObjectItem(decade, "songs")->valueint, 10);
    assert_string_equal(cJSON_GetObjectItem(obj, "short_reason")->valuestring,
                        "only 1 songs from 1990-1991");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(obj, "clusters")), 1);
    cJSON_Delete(obj);
}

/* Regenerate after songs were shown: the first `want` are new where the picks allow, each style
 * keeps its share, and the shown ones only fill a style that runs short. */
static void test_prefer_new(void **state)
{
    (void)state;
    enum { N = 20 };
    struct mix_pick picks[N];
    char ids[N][23];
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "%022d", i);
        picks[i] = (struct mix_pick){.cluster = i < 14 ? 0 : 1, .style = i < 14 ? "a" : "b"};
        memcpy(picks[i].id, ids[i], 23);
    }
    struct mix_result r = {.picks = picks, .n_picks = N};
    /* shown before: picks 0..6 (style a) and 14..16 (style b) */
    char before[10][23];
    for (int i = 0; i < 7; i++)
        memcpy(before[i], ids[i], 23);
    for (int i = 0; i < 3; i++)
        memcpy(before[7 + i], ids[14 + i], 23);
    mix_prefer_new(&r, (const char(*)[23])before, 10, 10);
    /* 10 of 20: style a (14) gets 7, style b (6) gets 3; a has 7 new ones, b has 3 */
    int a = 0, shown_again = 0;
    for (int i = 0; i < 10; i++) {
        a += strcmp(r.picks[i].style, "a") == 0;
        for (int k = 0; k < 10; k++)
            shown_again += strcmp(r.picks[i].id, before[k]) == 0;
    }
    assert_int_equal(a, 7);
    assert_int_equal(shown_again, 0);
    /* every pick is still there once */
    for (int i = 0; i < N; i++) {
        int seen = 0;
        for (int k = 0; k < N; k++)
            seen += strcmp(r.picks[k].id, ids[i]) == 0;
        assert_int_equal(seen, 1);
    }
    /* a style short of new songs fills up with shown ones */
    struct mix_result again = {.picks = picks, .n_picks = N};
    char all_b[6][23];
    for (int i = 0; i < 6; i++)
        memcpy(all_b[i], ids[14 + i], 23);
    for (int i = 0; i < N; i++) /* restore the order */
        for (int k = i; k < N; k++)
            if (strcmp(picks[k].id, ids[i]) == 0) {
                struct mix_pick t = picks[i];
                picks[i] = picks[k];
                picks[k] = t;
            }
    mix_prefer_new(&again, (const char(*)[23])all_b, 6, 10);
    int b = 0;
    for (int i = 0; i < 10; i++)
        b += strcmp(again.picks[i].style, "b") == 0;
    assert_int_equal(b, 3);
    /* nothing to choose: left as is */
    mix_prefer_new(&again, (const char(*)[23])all_b, 6, N);
}

static void test_playlist_text(void **state)
{
    (void)state;
    char name[128], description[300];
    const char *styles[] = {"jazz \xc2\xb7 bossa nova", "metal", "folk", "pop"};
    mix_playlist_text("mixtape", styles, 4, 1796472000, name, description); /* 2026-12-05 */
    assert_string_equal(name, "mixtape \xc2\xb7 5 Dec 2026");
    assert_string_equal(description, "Made by mixtape from your Liked Songs on 5 Dec 2026. "
                                     "Styles: jazz \xc2\xb7 bossa nova, metal, folk.");
    mix_playlist_text("mixtape", NULL, 0, 1796472000, name, description);
    assert_string_equal(description, "Made by mixtape from your Liked Songs on 5 Dec 2026.");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_fields), cmocka_unit_test(test_prefer_new),
        cmocka_unit_test(test_playlist_text),  cmocka_unit_test(test_isrc_copy),
        cmocka_unit_test(test_result_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
