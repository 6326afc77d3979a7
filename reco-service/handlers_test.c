/* Tests of the RPC methods without the network: each limit on a Recommend request gives its
 * code and names the field and the limit; Recommend, Info and Health answer on a small model;
 * unknown methods and bad payloads are refused. */
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
            }
            mixtape__reco__recommend_reply__free_unpacked(reply, NULL);
        } else {
            assert_null(out.payload);
        }
        /* The log line's count: the saved tracks once the payload decoded. */
        assert_true(out.saved == variants[i].n_saved || (out.code != RPC_OK && out.saved == 0));
        free(out.payload);
        free(payload);
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
        cmocka_unit_test(test_other_methods),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
