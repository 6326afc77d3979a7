/* Tests of the RPC methods without the network: each limit on a Recommend request gives its
 * code and names the field and the limit; Recommend, Info and Health answer on a small model,
 * Recommend the same bytes with the model's artist index as without; unknown methods and bad
 * payloads are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artist_index.h"
#include "handlers.h"
#include "reco.pb-c.h"
#include "test_model.h"

#define ROWS 2000u

static struct model *model;
static char ids[8][23];

static int setup(void **state)
{
    (void)state;
    char path[64], err[256];
    snprintf(path, sizeof path, "/tmp/handlers_test_%d.model", (int)getpid());
    if (test_model_write(path, ROWS, 6, 9) != 0 ||
        model_open(path, &model, err, sizeof err) != MODEL_OK)
        return -1;
    unlink(path);
    for (uint32_t i = 0; i < 8; i++)
        test_model_id(i * 37, ids[i]);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    model_close(model);
    return 0;
}

/* How a test request differs from a valid one with 8 saved ids. */
struct variant {
    const char *what;
    uint32_t n_saved;
    int n;              /* -1: leave unset */
    int max_per_artist; /* -1: leave unset */
    int ranking;        /* -1: leave unset */
    double feature;     /* value of a "tempo" feature on the first track, or 0 for none */
    enum rpc_code want;
    const char *says;
};

static uint8_t *encode(const struct variant *v, size_t *len)
{
    static Mixtape__Reco__SavedTrack tracks[100];
    static Mixtape__Reco__SavedTrack *ptrs[100];
    static Mixtape__Reco__Feature feature;
    static Mixtape__Reco__Feature *feature_ptr = &feature;
    for (uint32_t i = 0; i < v->n_saved; i++) {
        mixtape__reco__saved_track__init(&tracks[i]);
        tracks[i].id = ids[i % 8];
        ptrs[i] = &tracks[i];
    }
    if (v->feature != 0) {
        mixtape__reco__feature__init(&feature);
        feature.name = "tempo";
        feature.value = v->feature;
        tracks[0].features = &feature_ptr;
        tracks[0].n_features = 1;
    }
    Mixtape__Reco__RecommendRequest req = MIXTAPE__RECO__RECOMMEND_REQUEST__INIT;
    req.saved = ptrs;
    req.n_saved = v->n_saved;
    req.has_n = v->n >= 0;
    req.n = v->n >= 0 ? (uint32_t)v->n : 0;
    req.has_max_per_artist = v->max_per_artist >= 0;
    req.max_per_artist = v->max_per_artist >= 0 ? (uint32_t)v->max_per_artist : 0;
    req.has_ranking = v->ranking >= 0;
    req.ranking = (Mixtape__Reco__Ranking)(v->ranking >= 0 ? v->ranking : 0);
    *len = mixtape__reco__recommend_request__get_packed_size(&req);
    uint8_t *bytes = malloc(*len + 1);
    mixtape__reco__recommend_request__pack(&req, bytes);
    return bytes;
}

static void test_recommend_limits(void **state)
{
    (void)state;
    static const struct handler_limits limits = {.max_saved = 50, .max_n = 40};
    static const struct handler_state hs = {.serving = true};
    const struct variant variants[] = {
        {"valid", 8, 20, -1, -1, 0, RPC_OK, ""},
        {"default n over max-n is clamped", 8, -1, -1, -1, 0, RPC_OK, ""},
        {"saved over max-saved", 51, 20, -1, -1, 0, RPC_RESOURCE_EXHAUSTED,
         "saved: 51 tracks exceeds the limit of 50 (--max-saved)"},
        {"saved at max-saved", 50, 20, -1, -1, 0, RPC_OK, ""},
        {"n over max-n", 8, 41, -1, -1, 0, RPC_INVALID_ARGUMENT, "n: 41 is outside 1..40"},
        {"n zero", 8, 0, -1, -1, 0, RPC_INVALID_ARGUMENT, "n: 0 is outside 1..40"},
        {"max_per_artist zero", 8, 20, 0, -1, 0, RPC_INVALID_ARGUMENT,
         "max_per_artist: must be at least 1"},
        {"unknown ranking", 8, 20, -1, 8, 0, RPC_INVALID_ARGUMENT, "ranking: 8 is not a known"},
        {"feature not finite", 8, 20, -1, -1, INFINITY, RPC_INVALID_ARGUMENT,
         "saved[0].features.tempo: not a finite number"},
        {"no saved", 0, 20, -1, -1, 0, RPC_FAILED_PRECONDITION, "no saved tracks"},
        {"centroid ranking", 8, 20, -1, 2, 0, RPC_OK, ""},
        {"neighbours ranking", 8, 20, -1, 3, 0, RPC_OK, ""},
        {"mean-artists ranking", 8, 20, -1, 6, 0, RPC_OK, ""},
        {"flat ranking", 8, 20, -1, 7, 0, RPC_OK, ""},
    };
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        size_t len;
        uint8_t *payload = encode(&variants[i], &len);
        struct handler_outcome out;
        handle_method("Recommend", payload, len, model, &limits, &hs, &out);
        if (out.code != variants[i].want || !strstr(out.message, variants[i].says))
            fail_msg("%s: got %s '%s'", variants[i].what, rpc_code_name(out.code), out.message);
        if (out.code == RPC_OK) {
            Mixtape__Reco__RecommendReply *reply =
                mixtape__reco__recommend_reply__unpack(NULL, out.payload_len, out.payload);
            assert_non_null(reply);
            uint32_t want_n = variants[i].n >= 0 ? (uint32_t)variants[i].n : limits.max_n;
            assert_int_equal(reply->n_picks, want_n);
            assert_int_equal(reply->stats->by_id, variants[i].n_saved);
            assert_string_equal(reply->model_version, model->version);
            for (size_t p = 0; p < reply->n_picks; p++) {
                assert_true(reply->picks[p]->has_because);
                assert_non_null(reply->picks[p]->because_name); /* from the model: no names sent */
                assert_true(strncmp(reply->picks[p]->because_name, "Track ", 6) == 0);
                assert_true(reply->picks[p]->n_artists >= 1);
                /* the catalog's ISRC where it has one (even rows of the test model) */
                uint32_t row = model_find_id(model, reply->picks[p]->id);
                assert_int_not_equal(row, MODEL_NO_ROW);
                if (model_row_isrc(model, row)[0])
                    assert_string_equal(reply->picks[p]->isrc, model_row_isrc(model, row));
                else
                    assert_null(reply->picks[p]->isrc);
            }
            mixtape__reco__recommend_reply__free_unpacked(reply, NULL);
        } else {
            assert_null(out.payload);
        }
        /* The log line's count: the saved tracks once the payload decoded. */
        assert_true(out.saved == variants[i].n_saved || (out.code != RPC_OK && out.saved == 0));
        /* With the model's artist index (as the service runs): the same reply, byte for byte. */
        struct handler_state indexed = hs;
        struct reco_artist_index *index = NULL;
        assert_int_equal(reco_artist_index_open(model, &index), RECO_OK);
        indexed.artist_index = index;
        struct handler_outcome again;
        handle_method("Recommend", payload, len, model, &limits, &indexed, &again);
        assert_int_equal(again.code, out.code);
        assert_string_equal(again.message, out.message);
        assert_int_equal(again.payload_len, out.payload_len);
        if (out.payload_len > 0)
            assert_memory_equal(again.payload, out.payload, out.payload_len);
        free(again.payload);
        reco_artist_index_close(index);
        free(out.payload);
        free(payload);
    }
}

/* A Recommend request with steering: how it differs from 8 saved ids and n 40. */
struct steer_case {
    const char *what;
    bool has_discover;
    float discover;
    int target; /* 0: none; 1 energy, 2 valence, 3 danceability, 4 tempo */
    float target_value;
    bool has_from, has_to;
    uint32_t from, to;
    int explicit_; /* -1: unset */
    enum rpc_code want;
    const char *says;
};

static uint8_t *encode_steer(const struct steer_case *c, size_t *len)
{
    Mixtape__Reco__SavedTrack tracks[8], *ptrs[8];
    for (uint32_t i = 0; i < 8; i++) {
        mixtape__reco__saved_track__init(&tracks[i]);
        tracks[i].id = ids[i];
        ptrs[i] = &tracks[i];
    }
    Mixtape__Reco__RecommendRequest req = MIXTAPE__RECO__RECOMMEND_REQUEST__INIT;
    req.saved = ptrs;
    req.n_saved = 8;
    req.has_n = 1;
    req.n = 40;
    req.has_discover = c->has_discover;
    req.discover = c->discover;
    Mixtape__Reco__Target target = MIXTAPE__RECO__TARGET__INIT;
    protobuf_c_boolean *has[] = {&target.has_energy, &target.has_valence, &target.has_danceability,
                                 &target.has_tempo};
    float *value[] = {&target.energy, &target.valence, &target.danceability, &target.tempo};
    if (c->target) {
        *has[c->target - 1] = 1;
        *value[c->target - 1] = c->target_value;
        req.target = &target;
    }
    Mixtape__Reco__Years years = MIXTAPE__RECO__YEARS__INIT;
    if (c->has_from || c->has_to) {
        years.has_from = c->has_from;
        years.from = c->from;
        years.has_to = c->has_to;
        years.to = c->to;
        req.years = &years;
    }
    req.has_explicit_ = c->explicit_ >= 0;
    req.explicit_ = c->explicit_ == 1;
    *len = mixtape__reco__recommend_request__get_packed_size(&req);
    uint8_t *bytes = malloc(*len + 1);
    mixtape__reco__recommend_request__pack(&req, bytes);
    return bytes;
}

/* The steering fields reach recommend(): each bad value is refused naming the field, a year
 * range filters the picks (a short playlist says why), and every pick names its style, which
 * is one of the reply's styles. */
static void test_recommend_steering(void **state)
{
    (void)state;
    static const struct handler_limits limits = {.max_saved = 50, .max_n = 40};
    static const struct handler_state hs = {.serving = true};
    const struct steer_case cases[] = {
        {"nothing steered", false, 0, 0, 0, false, false, 0, 0, -1, RPC_OK, ""},
        {"discover 0.5", true, 0.5f, 0, 0, false, false, 0, 0, -1, RPC_OK, ""},
        {"discover 1", true, 1.0f, 0, 0, false, false, 0, 0, -1, RPC_OK, ""},
        {"discover -0.1", true, -0.1f, 0, 0, false, false, 0, 0, -1, RPC_INVALID_ARGUMENT,
         "discover: -0.1 is outside 0..1"},
        {"discover 1.5", true, 1.5f, 0, 0, false, false, 0, 0, -1, RPC_INVALID_ARGUMENT,
         "discover: 1.5 is outside 0..1"},
        {"discover NaN", true, NAN, 0, 0, false, false, 0, 0, -1, RPC_INVALID_ARGUMENT,
         "discover: "},
        {"energy 0.9", false, 0, 1, 0.9f, false, false, 0, 0, -1, RPC_OK, ""},
        {"energy 1.1", false, 0, 1, 1.1f, false, false, 0, 0, -1, RPC_INVALID_ARGUMENT,
         "target.energy: 1.1 is outside 0..1"},
        {"valence -1", false, 0, 2, -1.0f, false, false, 0, 0, -1, RPC_INVALID_ARGUMENT,
         "target.valence: -1 is outside 0..1"},
        {"danceability inf", false, 0, 3, INFINITY, false, false, 0, 0, -1, RPC_INVALID_ARGUMENT,
         "target.danceability: inf is outside 0..1"},
        {"tempo 120", false, 0, 4, 120.0f, false, false, 0, 0, -1, RPC_OK, ""},
        {"tempo 0", false, 0, 4, 0.0f, false, false, 0, 0, -1, RPC_INVALID_ARGUMENT,
         "target.tempo: 0 is outside 1..300"},
        {"tempo 301", false, 0, 4, 301.0f, false, false, 0, 0, -1, RPC_INVALID_ARGUMENT,
         "target.tempo: 301 is outside 1..300"},
        {"years 1990-1999", false, 0, 0, 0, true, true, 1990, 1999, -1, RPC_OK, ""},
        {"years from 2000", false, 0, 0, 0, true, false, 2000, 0, -1, RPC_OK, ""},
        {"years to 1970", false, 0, 0, 0, false, true, 0, 1970, -1, RPC_OK, ""},
        {"years 1960-1960: short", false, 0, 0, 0, true, true, 1960, 1960, -1, RPC_OK, ""},
        {"years 1899", false, 0, 0, 0, true, false, 1899, 0, -1, RPC_INVALID_ARGUMENT,
         "years: 1899 is outside 1900..2100"},
        {"years to 2101", false, 0, 0, 0, false, true, 0, 2101, -1, RPC_INVALID_ARGUMENT,
         "years: 2101 is outside 1900..2100"},
        {"years to 70000", false, 0, 0, 0, false, true, 0, 70000, -1, RPC_INVALID_ARGUMENT,
         "years: 70000 is outside 1900..2100"},
        {"years reversed", false, 0, 0, 0, true, true, 2000, 1990, -1, RPC_INVALID_ARGUMENT,
         "years: from 2000 is after to 1990"},
        {"explicit false", false, 0, 0, 0, false, false, 0, 0, 0, RPC_OK, ""},
        {"explicit true", false, 0, 0, 0, false, false, 0, 0, 1, RPC_OK, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct steer_case *c = &cases[i];
        size_t len;
        uint8_t *payload = encode_steer(c, &len);
        struct handler_outcome out;
        handle_method("Recommend", payload, len, model, &limits, &hs, &out);
        free(payload);
        if (out.code != c->want || !strstr(out.message, c->says))
            fail_msg("%s: got %s '%s'", c->what, rpc_code_name(out.code), out.message);
        if (out.code != RPC_OK) {
            assert_null(out.payload);
            continue;
        }
        Mixtape__Reco__RecommendReply *reply =
            mixtape__reco__recommend_reply__unpack(NULL, out.payload_len, out.payload);
        free(out.payload);
        assert_non_null(reply);
        if (c->explicit_ == 0) {
            /* The test model does not say which songs are explicit: none is known clean, so
             * none is picked, and the reply says why rather than breaking the filter. */
            assert_int_equal(reply->n_picks, 0);
            assert_non_null(strstr(reply->short_reason, "without explicit lyrics"));
            mixtape__reco__recommend_reply__free_unpacked(reply, NULL);
            continue;
        }
        if (reply->n_picks == 0)
            fail_msg("%s: no picks (%s)", c->what, reply->short_reason ? reply->short_reason : "");
        assert_true(reply->n_styles > 0);
        float library = 0, playlist = 0;
        for (size_t s = 0; s < reply->n_styles; s++) {
            const Mixtape__Reco__Style *st = reply->styles[s];
            assert_true(st->name && st->name[0]);
            assert_string_equal(st->name, model_cluster_name(model, st->cluster));
            library += st->library_share;
            playlist += st->playlist_share;
            if (s > 0) /* most saved first */
                assert_true(reply->styles[s - 1]->saved >= st->saved);
        }
        assert_true(fabsf(library - 1.0f) < 1e-4f && fabsf(playlist - 1.0f) < 1e-4f);
        for (size_t p = 0; p < reply->n_picks; p++) {
            const Mixtape__Reco__Pick *pick = reply->picks[p];
            assert_true(pick->has_style_index && pick->style_index < reply->n_styles);
            assert_string_equal(pick->style, reply->styles[pick->style_index]->name);
            assert_int_equal(pick->cluster, reply->styles[pick->style_index]->cluster);
            assert_true(pick->has_reason);
            if (c->has_discover && c->discover >= 1.0f)
                assert_int_equal(pick->reason, MIXTAPE__RECO__REASON__REASON_NEW_ARTIST);
            if (c->has_from)
                assert_true(pick->year >= c->from);
            if (c->has_to)
                assert_true(pick->has_year && pick->year <= c->to);
        }
        /* 8 saved, by id, sent without a year: one decade row, "unknown year". */
        assert_int_equal(reply->stats->by_artist, 0);
        assert_int_equal(reply->stats->n_by_decade, 1);
        const Mixtape__Reco__DecadeMatch *dm = reply->stats->by_decade[0];
        assert_string_equal(dm->decade, "unknown year");
        assert_false(dm->has_year_from || dm->has_year_to);
        assert_int_equal(dm->saved, 8);
        assert_int_equal(dm->songs, 8);
        assert_int_equal(dm->artists_only, 0);
        if (reply->n_picks < 40)
            assert_true(reply->short_reason && strstr(reply->short_reason, "only "));
        else
            assert_null(reply->short_reason);
        if (c->has_from && c->from == 1960) /* 1 year in 70: 29 songs of 2,000 */
            assert_true(reply->n_picks < 40 && strstr(reply->short_reason, "1960-1960"));
        mixtape__reco__recommend_reply__free_unpacked(reply, NULL);
    }
}

static void test_other_methods(void **state)
{
    (void)state;
    static const struct handler_limits limits = {.max_saved = 50, .max_n = 40};
    static const struct handler_state hs = {.serving = true, .uptime_ms = 1234, .requests = 7};
    struct handler_outcome out;

    handle_method("Info", NULL, 0, model, &limits, &hs, &out);
    assert_int_equal(out.code, RPC_OK);
    Mixtape__Reco__InfoReply *info =
        mixtape__reco__info_reply__unpack(NULL, out.payload_len, out.payload);
    assert_non_null(info);
    assert_int_equal(info->tracks, ROWS);
    assert_int_equal(info->k, 6);
    assert_int_equal(info->ids, ROWS);
    assert_int_equal(info->n_features, 4);
    assert_string_equal(info->features[0], "valence");
    assert_int_equal(info->n_styles, 6);
    uint32_t sizes = 0;
    for (size_t c = 0; c < info->n_styles; c++) {
        assert_string_equal(info->styles[c]->name, model_cluster_name(model, (uint32_t)c));
        assert_int_equal(info->styles[c]->size, model_cluster_size(model, (uint32_t)c));
        sizes += info->styles[c]->size;
    }
    assert_int_equal(sizes, ROWS);
    mixtape__reco__info_reply__free_unpacked(info, NULL);
    free(out.payload);

    handle_method("Health", NULL, 0, model, &limits, &hs, &out);
    assert_int_equal(out.code, RPC_OK);
    Mixtape__Reco__HealthReply *health =
        mixtape__reco__health_reply__unpack(NULL, out.payload_len, out.payload);
    assert_non_null(health);
    assert_true(health->serving);
    assert_int_equal(health->uptime_ms, 1234);
    assert_int_equal(health->requests, 7);
    mixtape__reco__health_reply__free_unpacked(health, NULL);
    free(out.payload);

    static const uint8_t garbage[] = {0xff, 0xff, 0xff};
    static const struct {
        const char *method;
        const uint8_t *payload;
        size_t len;
        enum rpc_code want;
        const char *says;
    } refusals[] = {
        {"Recommend", garbage, sizeof garbage, RPC_INVALID_ARGUMENT,
         "not a mixtape.reco.RecommendRequest"},
        {"Info", garbage, sizeof garbage, RPC_INVALID_ARGUMENT, "not a mixtape.reco.InfoRequest"},
        {"Health", garbage, sizeof garbage, RPC_INVALID_ARGUMENT,
         "not a mixtape.reco.HealthRequest"},
        {"recommend", NULL, 0, RPC_UNIMPLEMENTED, "'recommend' is not a reco-service method"},
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        handle_method(refusals[i].method, refusals[i].payload, refusals[i].len, model, &limits, &hs,
                      &out);
        if (out.code != refusals[i].want || !strstr(out.message, refusals[i].says))
            fail_msg("%s: got %s '%s'", refusals[i].method, rpc_code_name(out.code), out.message);
        assert_null(out.payload);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recommend_limits),
        cmocka_unit_test(test_recommend_steering),
        cmocka_unit_test(test_other_methods),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
